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
	"unicode"
	"unicode/utf8"

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
	var target any = &out
	if _, ok := target.(interface{ carriesVerdict() }); ok {
		target = &verdictRequired{out: &out}
	}
	err := r.Run(ctx, s, input, target)
	nameLanguageMode(err)
	return out, err
}

// PowerShell's own refusals of a script in RestrictedLanguage and NoLanguage: they come before any statement of the
// bootstrap runs, so no error document does (internal/lab/WINDOWS.md, Language modes).
var languageModeRefusals = []struct{ mode, text string }{
	{"NoLanguage", "no-language mode"},
	{"RestrictedLanguage", "restricted language mode"},
}

// nameLanguageMode gives a script error that is PowerShell's refusal of a restricted language mode the category and
// target the bootstrap gives ConstrainedLanguage (SecurityError on LanguageMode), so that every restricted mode
// reads the same to callers.
func nameLanguageMode(err error) {
	var e *winrm.Error
	if !errors.As(err, &e) || e.Kind != winrm.KindScript || e.Category != "" {
		return
	}
	for _, r := range languageModeRefusals {
		if strings.Contains(e.Stderr, r.text) {
			e.Category, e.Target = "SecurityError", "LanguageMode"
			e.Message = "PowerShell on " + e.Server + " runs in " + r.mode + " mode, which refuses every script before it runs: " +
				"the provider's scripts need FullLanguage"
			return
		}
	}
}

// GetConnections lists the server's connections that match the filter.
func GetConnections(ctx context.Context, r Runner, filter ConnectionFilter) ([]Connection, error) {
	if err := filter.validate(); err != nil {
		return nil, err
	}
	return getConnections(ctx, r, filter)
}

// The outputs of the scripts, as scripts/CONTRACT.md documents them.
type (
	connectionsOutput struct {
		Connections []Connection `json:"connections"`
	}
	purgeDeviceOutput struct {
		PurgeDeviceResult
		Failures []ItemFailure `json:"vpn_disconnect_failures"`
	}
	purgeUserOutput struct {
		PurgeUserResult
		Failures []ItemFailure `json:"vpn_disconnect_failures"`
	}
	disconnectOutput struct {
		Disconnected []string      `json:"disconnected"`
		Failures     []ItemFailure `json:"failures"`
	}
	stopComputerOutput struct {
		ShutdownRequest
	}
)

func getConnections(ctx context.Context, r Runner, filter ConnectionFilter) ([]Connection, error) {
	out, err := run[connectionsOutput](ctx, r, scriptGetConnections, filter)
	return out.Connections, err
}

func (f ConnectionFilter) validate() error {
	return errors.Join(optionalName("user_name", f.UserName), optionalName("host_name", f.HostName))
}

// GetIPsecSAs lists the server's main-mode SAs whose first or second remote identity is one of identities
// (exact, case-insensitive), and the VPN connections of those identities; no identities lists them all. For a
// device, GetDeviceSAs also finds the SAs that share its endpoint.
func GetIPsecSAs(ctx context.Context, r Runner, identities []string) (IPsecSAs, error) {
	in, err := newIdentitiesInput(identities, false)
	if err != nil {
		return IPsecSAs{}, err
	}
	return run[IPsecSAs](ctx, r, scriptGetIPsecSAs, in)
}

type identitiesInput struct {
	Identities []string `json:"identities"`
	// Device applies the device rules (GetDeviceSAs).
	Device bool `json:"device,omitempty"`
}

// GetDeviceSAs is GetIPsecSAs for a device: SAs that share an IPv6 remote endpoint with one that matched by identity
// are the device's too (certificate-authenticated DirectAccess, MatchedByEndpoint), and the device's DirectAccess
// address on SAs that match none of its identities makes the verdict Indeterminate. Never use it for a user: a
// user's intranet tunnel shares its endpoint with the device's infrastructure tunnel.
func GetDeviceSAs(ctx context.Context, r Runner, identities []string) (IPsecSAs, error) {
	in, err := newIdentitiesInput(identities, true)
	if err != nil {
		return IPsecSAs{}, err
	}
	in.Device = true
	return run[IPsecSAs](ctx, r, scriptGetIPsecSAs, in)
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
	return purgeDevice(ctx, r, in)
}

func purgeDevice(ctx context.Context, r Runner, in purgeDeviceInput) (PurgeDeviceResult, error) {
	out, err := run[purgeDeviceOutput](ctx, r, scriptPurgeDevice, in)
	if err != nil {
		return out.PurgeDeviceResult, err
	}
	return deviceOutcome(out)
}

// deviceOutcome is what purging one device on one server gave, alone or in a batch.
func deviceOutcome(out purgeDeviceOutput) (PurgeDeviceResult, error) {
	return out.PurgeDeviceResult, itemsError("disconnecting the VPN device tunnels", out.Failures)
}

// ItemsError lists the names or addresses an operation could not act on. It acted on the others: one failure
// does not hide or stop the rest.
type ItemsError struct {
	Action   string
	Failures []ItemFailure
}

func (e *ItemsError) Error() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = fmt.Sprintf("%s: %s (%s)", f.Target, f.Message, f.Category)
	}
	return e.Action + " failed for " + strings.Join(parts, "; ")
}

func itemsError(action string, failures []ItemFailure) error {
	if len(failures) == 0 {
		return nil
	}
	return &ItemsError{Action: action, Failures: failures}
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
// one of identities or userName, and disconnects the user's VPN connections, each by its tunnel address. VPN
// statistics print a user as NETBIOS\user or dns.domain\user: identities must hold both (directory.VPNUserNames).
// Addresses it could not disconnect are an *ItemsError, after the others were disconnected.
func PurgeUser(ctx context.Context, r Runner, identities []string, userName string) (PurgeUserResult, error) {
	in, err := newPurgeUserInput(identities, userName)
	if err != nil {
		return PurgeUserResult{}, err
	}
	return purgeUser(ctx, r, in)
}

func purgeUser(ctx context.Context, r Runner, in purgeUserInput) (PurgeUserResult, error) {
	out, err := run[purgeUserOutput](ctx, r, scriptPurgeUser, in)
	if err != nil {
		return out.PurgeUserResult, err
	}
	return out.PurgeUserResult, itemsError("disconnecting the VPN connections", out.Failures)
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

// DisconnectVPN disconnects, on one server, the VPN connections of a user or of a tunnel address, each by its
// tunnel address, and returns the name (as the statistics print it) or the address once for those disconnected
// (none when nothing matched). Addresses it could not disconnect are an *ItemsError, returned with the list of
// those it did disconnect.
func DisconnectVPN(ctx context.Context, r Runner, target VPNTarget) ([]string, error) {
	if err := target.validate(); err != nil {
		return nil, err
	}
	return disconnectVPN(ctx, r, target)
}

func disconnectVPN(ctx context.Context, r Runner, target VPNTarget) ([]string, error) {
	out, err := run[disconnectOutput](ctx, r, scriptDisconnectVPN, target)
	if err != nil {
		return out.Disconnected, err
	}
	return out.Disconnected, itemsError("Disconnect-VpnUser", out.Failures)
}

// ShutdownRequest is what a manage-out shutdown reports. Stop-Computer does not wait for the shutdown, and from a
// remote machine its result may be indeterminate, so a request is never confirmed: callers report it as "shutdown
// requested, not confirmed" (String), neither as a failure nor as a success.
type ShutdownRequest struct {
	Requested bool   `json:"requested"`
	Confirmed bool   `json:"confirmed"`
	Detail    string `json:"detail"` // what Stop-Computer said
}

// String is the message for the operator.
func (s ShutdownRequest) String() string {
	switch {
	case !s.Requested:
		return "shutdown not requested"
	case s.Confirmed:
		return "shutdown confirmed"
	case s.Detail != "":
		return "shutdown requested, not confirmed (" + s.Detail + ")"
	}
	return "shutdown requested, not confirmed"
}

// RequestShutdown asks the server to shut a DirectAccess client down through manage-out (Stop-Computer -Force),
// with cred passed explicitly when it is not nil. The command runs in a WinRM session, so reaching the client is a
// second hop that Windows refuses with the session's own logon: without a credential the server refuses up front,
// with a script error PermissionDenied on "credential" that says why. The password travels in the script's JSON
// input on stdin, never on a command line.
func RequestShutdown(ctx context.Context, r Runner, computerName string, cred *Credential) (ShutdownRequest, error) {
	if err := requiredName("computer_name", computerName); err != nil {
		return ShutdownRequest{}, err
	}
	if cred != nil {
		if requiredName("credential user name", cred.UserName) != nil || cred.Password == "" {
			return ShutdownRequest{}, fmt.Errorf("%w: a credential needs a user name and a password", ErrInvalidArgument)
		}
		if !utf8.ValidString(cred.Password) {
			return ShutdownRequest{}, fmt.Errorf("%w: the credential's password is not valid UTF-8: it would arrive changed", ErrInvalidArgument)
		}
	}
	out, err := run[stopComputerOutput](ctx, r, scriptStopComputer, stopComputerInput{ComputerName: computerName, Credential: cred})
	return out.ShutdownRequest, err
}

// StopComputer is RequestShutdown without a credential, for callers that need only the error.
func StopComputer(ctx context.Context, r Runner, computerName string) error {
	_, err := RequestShutdown(ctx, r, computerName, nil)
	return err
}

// StopComputerAs is RequestShutdown with an explicit credential, for callers that need only the error.
func StopComputerAs(ctx context.Context, r Runner, computerName string, cred Credential) error {
	_, err := RequestShutdown(ctx, r, computerName, &cred)
	return err
}

type stopComputerInput struct {
	ComputerName string      `json:"computer_name"`
	Credential   *Credential `json:"credential,omitempty"`
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
	case !utf8.ValidString(value):
		// JSON would carry each stray byte as U+FFFD, and the script would match a name that was never given.
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalidArgument, field, value)
	case len(value) > maxNameLength:
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidArgument, field, maxNameLength)
	case strings.TrimSpace(value) != value:
		return fmt.Errorf("%w: %s %q has leading or trailing spaces", ErrInvalidArgument, field, value)
	case strings.ContainsFunc(value, unicode.IsControl):
		return fmt.Errorf("%w: %s %q contains a control character", ErrInvalidArgument, field, value)
	}
	return nil
}
