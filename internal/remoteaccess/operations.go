// Package remoteaccess runs the Remote Access operations (DirectAccess and Always On VPN) on Windows servers: list
// nodes, connections and IPsec SAs, purge a device's or a user's sessions, disconnect VPN users, shut a client down,
// drain and resume NLB nodes. Each operation is one embedded PowerShell script (scripts/*.ps1) run through a Runner,
// with its input as JSON; Cluster runs an operation on every server at once.
package remoteaccess

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// Runner runs one script with a JSON input and decodes its {"result": ...} into output. *winrm.Client is one.
type Runner interface {
	Run(ctx context.Context, s winrm.Script, input, output any) error
	// Check proves that the server answers and accepts the connection's TLS settings and logon, without running a
	// script.
	Check(ctx context.Context) error
}

// ErrInvalidArgument is wrapped by every error about an argument refused before anything is sent.
var ErrInvalidArgument = errors.New("invalid argument")

// maxNameLength bounds names and identities; the longest Windows name (a UPN or an FQDN) is well under it.
const maxNameLength = 512

// run sends one script and decodes its result.
func run[T any](ctx context.Context, r Runner, s winrm.Script, input any) (T, error) {
	var out T
	err := r.Run(ctx, s, input, &out)
	return out, err
}

// GetNodes lists the nodes of the server's NLB cluster.
func GetNodes(ctx context.Context, r Runner) ([]Node, error) {
	out, err := run[struct {
		Nodes []Node `json:"nodes"`
	}](ctx, r, scriptGetNodes, struct{}{})
	return out.Nodes, err
}

// GetConnections lists the server's connections that match the filter.
func GetConnections(ctx context.Context, r Runner, filter ConnectionFilter) ([]Connection, error) {
	if err := filter.validate(); err != nil {
		return nil, err
	}
	return getConnections(ctx, r, filter)
}

func getConnections(ctx context.Context, r Runner, filter ConnectionFilter) ([]Connection, error) {
	out, err := run[struct {
		Connections []Connection `json:"connections"`
	}](ctx, r, scriptGetConnections, filter)
	return out.Connections, err
}

func (f ConnectionFilter) validate() error {
	return errors.Join(optionalName("user_name", f.UserName), optionalName("host_name", f.HostName))
}

// GetIPsecSAs lists the server's main-mode SAs whose first or second remote identity is one of identities
// (exact, case-insensitive); no identities lists them all.
func GetIPsecSAs(ctx context.Context, r Runner, identities []string) (IPsecSAs, error) {
	in, err := newIdentitiesInput(identities, false)
	if err != nil {
		return IPsecSAs{}, err
	}
	return run[IPsecSAs](ctx, r, scriptGetIPsecSAs, in)
}

type identitiesInput struct {
	Identities []string `json:"identities"`
}

func newIdentitiesInput(identities []string, required bool) (identitiesInput, error) {
	if err := validateIdentities(identities, required); err != nil {
		return identitiesInput{}, err
	}
	return identitiesInput{Identities: identities}, nil
}

type purgeDeviceInput struct {
	Identities    []string `json:"identities"`
	ComputerName  string   `json:"computer_name,omitempty"`
	DisconnectVPN bool     `json:"disconnect_vpn"`
}

func newPurgeDeviceInput(identities []string, computerName string, disconnectVPN bool) (purgeDeviceInput, error) {
	if err := errors.Join(validateIdentities(identities, true), optionalName("computer_name", computerName)); err != nil {
		return purgeDeviceInput{}, err
	}
	return purgeDeviceInput{Identities: identities, ComputerName: computerName, DisconnectVPN: disconnectVPN}, nil
}

// PurgeDevice removes, on one server, the IPsec SAs of a device (quick-mode SAs first, then their main-mode SA)
// whose first or second identity is one of identities, and with disconnectVPN its VPN device tunnels (user name one
// of identities, or host name computerName).
func PurgeDevice(ctx context.Context, r Runner, identities []string, computerName string, disconnectVPN bool) (PurgeDeviceResult, error) {
	in, err := newPurgeDeviceInput(identities, computerName, disconnectVPN)
	if err != nil {
		return PurgeDeviceResult{}, err
	}
	return run[PurgeDeviceResult](ctx, r, scriptPurgeDevice, in)
}

type purgeUserInput struct {
	Identities []string `json:"identities"`
	UserName   string   `json:"user_name,omitempty"`
}

func newPurgeUserInput(identities []string, userName string) (purgeUserInput, error) {
	err := errors.Join(validateIdentities(identities, userName == ""), optionalName("user_name", userName))
	if err != nil {
		return purgeUserInput{}, err
	}
	return purgeUserInput{Identities: identities, UserName: userName}, nil
}

// PurgeUser removes, on one server, the DirectAccess intranet-tunnel SAs whose user identity (RemoteSecondId) is
// one of identities or userName, and disconnects the user's VPN connections.
func PurgeUser(ctx context.Context, r Runner, identities []string, userName string) (PurgeUserResult, error) {
	in, err := newPurgeUserInput(identities, userName)
	if err != nil {
		return PurgeUserResult{}, err
	}
	return run[PurgeUserResult](ctx, r, scriptPurgeUser, in)
}

func (t VPNTarget) validate() error {
	switch {
	case (t.UserName == "") == (t.HostIPAddress == ""):
		return fmt.Errorf("%w: exactly one of the user name and the host IP address must be given", ErrInvalidArgument)
	case t.UserName != "":
		return requiredName("user_name", t.UserName)
	}
	if _, err := netip.ParseAddr(t.HostIPAddress); err != nil {
		return fmt.Errorf("%w: host IP address %q: %w", ErrInvalidArgument, t.HostIPAddress, err)
	}
	return nil
}

// DisconnectVPN disconnects, on one server, the VPN connections of a user or of a tunnel address, and returns the
// names or addresses disconnected (none when nothing matched).
func DisconnectVPN(ctx context.Context, r Runner, target VPNTarget) ([]string, error) {
	if err := target.validate(); err != nil {
		return nil, err
	}
	return disconnectVPN(ctx, r, target)
}

func disconnectVPN(ctx context.Context, r Runner, target VPNTarget) ([]string, error) {
	out, err := run[struct {
		Disconnected []string `json:"disconnected"`
	}](ctx, r, scriptDisconnectVPN, target)
	return out.Disconnected, err
}

// StopComputer asks the server to shut a DirectAccess client down through manage-out (Stop-Computer -Force).
func StopComputer(ctx context.Context, r Runner, computerName string) error {
	if err := requiredName("computer_name", computerName); err != nil {
		return err
	}
	_, err := run[struct {
		Requested bool `json:"requested"`
	}](ctx, r, scriptStopComputer, map[string]string{"computer_name": computerName})
	return err
}

// DrainNode starts draining an NLB node: it takes no new connections and stops once its connections are gone or
// the timeout (whole minutes, rounded up, at least one) has passed. The node returned is Draining, or Stopped when
// the drain already ended; poll GetNodes for the end.
func DrainNode(ctx context.Context, r Runner, nodeName string, timeout time.Duration) (Node, error) {
	if err := requiredName("node_name", nodeName); err != nil {
		return Node{}, err
	}
	if timeout < time.Minute {
		return Node{}, fmt.Errorf("%w: drain timeout %s: NLB counts whole minutes, at least one", ErrInvalidArgument, timeout)
	}
	minutes := int64((timeout + time.Minute - 1) / time.Minute)
	out, err := run[struct {
		Node Node `json:"node"`
	}](ctx, r, scriptDrainNode, map[string]any{"node_name": nodeName, "timeout_minutes": minutes})
	return out.Node, err
}

// ResumeNode brings an NLB node back (resumed if Suspended, then started) and returns its state.
func ResumeNode(ctx context.Context, r Runner, nodeName string) (Node, error) {
	if err := requiredName("node_name", nodeName); err != nil {
		return Node{}, err
	}
	out, err := run[struct {
		Node Node `json:"node"`
	}](ctx, r, scriptResumeNode, map[string]string{"node_name": nodeName})
	return out.Node, err
}

// validateIdentities refuses identities that could never match exactly (empty, padded, control characters).
func validateIdentities(identities []string, required bool) error {
	if required && len(identities) == 0 {
		return fmt.Errorf("%w: at least one identity is required", ErrInvalidArgument)
	}
	var errs []error
	for _, id := range identities {
		errs = append(errs, requiredName("identity", id))
	}
	return errors.Join(errs...)
}

func optionalName(field, value string) error {
	if value == "" {
		return nil
	}
	return requiredName(field, value)
}

func requiredName(field, value string) error {
	switch {
	case value == "":
		return fmt.Errorf("%w: %s must not be empty", ErrInvalidArgument, field)
	case len(value) > maxNameLength:
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidArgument, field, maxNameLength)
	case strings.TrimSpace(value) != value:
		return fmt.Errorf("%w: %s %q has leading or trailing spaces", ErrInvalidArgument, field, value)
	case strings.ContainsFunc(value, unicode.IsControl):
		return fmt.Errorf("%w: %s %q contains a control character", ErrInvalidArgument, field, value)
	}
	return nil
}
