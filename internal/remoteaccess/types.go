package remoteaccess

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// NodeState is an NLB node state as Get-NlbClusterNode prints it. internal/lab/WINDOWS.md, NLB: the documented states include
// Converged, Converged(default), Converging, Stopped, Suspended and draining states, so they are compared by
// prefix (see the methods in drain.go), never by equality.
type NodeState string

// Node state prefixes the provider acts on; Windows may report others, which are kept as they are.
const (
	NodeConverged  NodeState = "Converged"
	NodeConverging NodeState = "Converging"
	NodeDraining   NodeState = "Draining"
	NodeStopped    NodeState = "Stopped"
	NodeSuspended  NodeState = "Suspended"
)

// Node is one NLB node object: a node of the cluster of Remote Access servers on one interface. A host with NLB
// bound on several interfaces (internal and external) has one Node per interface (internal/lab/WINDOWS.md, NLB).
type Node struct {
	Name          string    `json:"name"`
	InterfaceName string    `json:"interface_name"`
	State         NodeState `json:"state"`
	HostPriority  int       `json:"host_priority"`
	IsLocal       bool      `json:"is_local"` // the node is the server that answered
}

// Connection is one row of Get-RemoteAccessConnectionStatistics. Fields a connection type does not have are empty.
// The value sets are those of the RemoteAccessConnection WMI class the cmdlet returns (see scripts/CONTRACT.md).
type Connection struct {
	UserNames                 []string `json:"user_names"` // NETBIOS\user or dns.domain\user
	HostName                  string   `json:"host_name"`
	ClientIPAddress           string   `json:"client_ip_address"`   // the first of ClientIPAddresses
	ClientIPAddresses         []string `json:"client_ip_addresses"` // every address property, flattened
	ClientExternalAddress     string   `json:"client_external_address"`
	ConnectionType            string   `json:"connection_type"`       // DirectAccess, Vpn or Unknown
	TunnelType                string   `json:"tunnel_type"`           // Unknown, Pptp, L2tp, Sstp, Ikev2, Esp
	TransitionTechnology      string   `json:"transition_technology"` // None, Other, Native IPv6, 6to4, Isatap, Teredo, IPHttps
	AuthMethod                string   `json:"auth_method"`           // e.g. Eap Tls, Machine Certificate, Machine Certificate & User Kerberos
	ConnectionDurationSeconds int64    `json:"connection_duration_seconds"`
	ConnectionStartTime       string   `json:"connection_start_time"` // RFC 3339
	TotalBytesIn              int64    `json:"total_bytes_in"`
	TotalBytesOut             int64    `json:"total_bytes_out"`
	UserActivityState         string   `json:"user_activity_state"`
	Server                    string   `json:"server"`
}

// ConnectionFilter selects connections by exact, case-insensitive user name (DOMAIN\user) and host name.
// Empty fields select everything.
type ConnectionFilter struct {
	UserName string `json:"user_name,omitempty"`
	HostName string `json:"host_name,omitempty"`
}

// MainModeSA is an IPsec main-mode security association (MSFT_NetMainModeSA) with the number of quick-mode SAs
// under it.
type MainModeSA struct {
	Name             string `json:"name"`
	LocalEndpoint    string `json:"local_endpoint"`
	RemoteEndpoint   string `json:"remote_endpoint"`
	RemoteFirstID    string `json:"remote_first_id"`
	RemoteSecondID   string `json:"remote_second_id"`
	AuthMethodFirst  string `json:"auth_method_first"`
	AuthMethodSecond string `json:"auth_method_second"`
	CipherAlgorithm  string `json:"cipher_algorithm"`
	HashAlgorithm    string `json:"hash_algorithm"`
	// MatchedBy is MatchedByIdentity, or MatchedByEndpoint for an SA that shares its IPv6 remote endpoint with one
	// that matched by identity (certificate-authenticated DirectAccess).
	MatchedBy      string `json:"matched_by"`
	QuickModeCount int    `json:"quick_mode_count"`
}

// How a main-mode SA was found.
const (
	MatchedByIdentity = "identity"
	MatchedByEndpoint = "endpoint"
)

// Verdict is how sure a server is of what it reported. Indeterminate means it cannot tell whether the target still
// has sessions there (the server lists SAs but none carries a readable identity, or the target's DirectAccess
// address is on SAs that match none of its identities): a count of zero is then no proof, and callers must not
// count it as success.
type Verdict struct {
	Indeterminate       bool   `json:"indeterminate"`
	IndeterminateReason string `json:"indeterminate_reason"`
}

// carriesVerdict marks the results that embed a Verdict (the method is promoted to them): run refuses such a result
// whose answer leaves "indeterminate" out, which would decode as a certain answer.
func (Verdict) carriesVerdict() {}

// verdictRequired decodes a result that carries a Verdict into out, and refuses one without "indeterminate".
type verdictRequired struct{ out any }

func (v *verdictRequired) UnmarshalJSON(b []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	if v, ok := keys["indeterminate"]; !ok || string(v) == "null" {
		return errors.New(`the result has no "indeterminate"`)
	}
	return json.Unmarshal(b, v.out)
}

// VPNConnection is a VPN connection of the target, as get-ipsec-sas reports it beside the SAs.
type VPNConnection struct {
	UserNames           []string `json:"user_names"`
	HostName            string   `json:"host_name"`
	ClientIPAddresses   []string `json:"client_ip_addresses"`
	TunnelType          string   `json:"tunnel_type"`
	AuthMethod          string   `json:"auth_method"`
	ConnectionStartTime string   `json:"connection_start_time"` // RFC 3339, the server's clock
	// DeviceTunnel marks an Always On VPN device tunnel (AuthMethod "Machine Certificate"): it authenticates with
	// the device's certificate, not its computer account, so disabling the account does not stop it.
	DeviceTunnel bool `json:"device_tunnel"`
}

// IPsecSAs are the SAs and VPN connections one server holds for the identities asked about.
type IPsecSAs struct {
	MainMode       []MainModeSA    `json:"main_mode"`
	QuickModeCount int             `json:"quick_mode_count"`
	VPNConnections []VPNConnection `json:"vpn_connections"`
	Verdict
	// IndeterminateHostNames are the devices an Indeterminate verdict concerns (their DirectAccess address is on
	// SAs that match none of their identities); empty when it concerns every target.
	IndeterminateHostNames []string `json:"indeterminate_host_names"`
}

// For picks out of one poll for many targets (identities of several devices and users at once) what concerns one
// target: the SAs that name one of its identities, for a device also those found by the endpoint they share with
// one of those, its VPN connections, and the verdict when it concerns this target.
func (s IPsecSAs) For(identities []string, device bool) IPsecSAs {
	ids := map[string]bool{}
	for _, id := range identities {
		ids[strings.ToLower(id)] = true
	}
	var out IPsecSAs
	endpoints := map[string]bool{}
	for _, sa := range s.MainMode {
		if ids[strings.ToLower(sa.RemoteFirstID)] || ids[strings.ToLower(sa.RemoteSecondID)] {
			sa.MatchedBy = MatchedByIdentity
			out.MainMode = append(out.MainMode, sa)
			endpoints[strings.ToLower(sa.RemoteEndpoint)] = device
		}
	}
	for _, sa := range s.MainMode {
		if sa.MatchedBy == MatchedByEndpoint && endpoints[strings.ToLower(sa.RemoteEndpoint)] &&
			!ids[strings.ToLower(sa.RemoteFirstID)] && !ids[strings.ToLower(sa.RemoteSecondID)] {
			out.MainMode = append(out.MainMode, sa)
		}
	}
	for _, sa := range out.MainMode {
		out.QuickModeCount += sa.QuickModeCount
	}
	for _, c := range s.VPNConnections {
		if ids[strings.ToLower(c.HostName)] || slices.ContainsFunc(c.UserNames, func(n string) bool { return ids[strings.ToLower(n)] }) {
			out.VPNConnections = append(out.VPNConnections, c)
		}
	}
	for _, host := range s.IndeterminateHostNames {
		if ids[strings.ToLower(host)] {
			out.IndeterminateHostNames = append(out.IndeterminateHostNames, host)
		}
	}
	if s.Indeterminate && (len(s.IndeterminateHostNames) == 0 || len(out.IndeterminateHostNames) > 0) {
		out.Verdict = s.Verdict
	}
	return out
}

// DeviceTunnels returns the VPN device tunnels among the connections.
func (s IPsecSAs) DeviceTunnels() []VPNConnection {
	var tunnels []VPNConnection
	for _, c := range s.VPNConnections {
		if c.DeviceTunnel {
			tunnels = append(tunnels, c)
		}
	}
	return tunnels
}

// PurgeDeviceResult counts what purging a device removed on one server.
type PurgeDeviceResult struct {
	MainModeRemoved              int `json:"main_mode_removed"`
	MainModeMatchedByEndpoint    int `json:"main_mode_matched_by_endpoint"` // of those found, found by shared endpoint
	QuickModeRemoved             int `json:"quick_mode_removed"`
	VPNDeviceTunnelsDisconnected int `json:"vpn_device_tunnels_disconnected"`
	Verdict
}

// PurgeUserResult counts what purging a user removed on one server.
type PurgeUserResult struct {
	MainModeRemoved            int `json:"main_mode_removed"`
	QuickModeRemoved           int `json:"quick_mode_removed"`
	VPNConnectionsDisconnected int `json:"vpn_connections_disconnected"`
	Verdict
}

// ItemFailure is one name or address a script could not act on while it went on with the others.
type ItemFailure struct {
	Target   string `json:"target"`
	Category string `json:"category"`
	Message  string `json:"message"`
}

// Credential is an account passed explicitly to a script that must reach a third machine (the second hop).
type Credential struct {
	UserName string `json:"user_name"`
	Password string `json:"password"`
}

// VPNTarget names what Disconnect-VpnUser disconnects: exactly one of a user or a tunnel address.
// Build it with ByUser or ByHostIP.
type VPNTarget struct {
	UserName      string `json:"user_name,omitempty"`
	HostIPAddress string `json:"host_ip_address,omitempty"`
}

// ByUser disconnects every VPN connection of a user, named as the statistics print it (NETBIOS\user or
// dns.domain\user); each connection is disconnected by its tunnel address (scripts/CONTRACT.md, disconnect-vpn).
func ByUser(userName string) VPNTarget { return VPNTarget{UserName: userName} }

// ByHostIP disconnects the VPN connection that holds a tunnel address the server assigned.
func ByHostIP(address string) VPNTarget { return VPNTarget{HostIPAddress: address} }
