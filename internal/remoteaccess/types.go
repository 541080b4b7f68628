package remoteaccess

// NodeState is an NLB node state as Get-NlbClusterNode prints it. FACTS.md part 5: the documented states include
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
// bound on several interfaces (internal and external) has one Node per interface (FACTS.md part 5).
type Node struct {
	Name          string    `json:"name"`
	InterfaceName string    `json:"interface_name"`
	State         NodeState `json:"state"`
	HostPriority  int       `json:"host_priority"`
	IsLocal       bool      `json:"is_local"` // the node is the server that answered
}

// Connection is one row of Get-RemoteAccessConnectionStatistics. Fields a connection type does not have are empty.
type Connection struct {
	UserNames                 []string `json:"user_names"`
	HostName                  string   `json:"host_name"`
	ClientIPAddress           string   `json:"client_ip_address"`
	ClientExternalAddress     string   `json:"client_external_address"`
	ConnectionType            string   `json:"connection_type"` // DirectAccess or Vpn
	TunnelType                string   `json:"tunnel_type"`
	TransitionTechnology      string   `json:"transition_technology"` // IPHTTPS, Teredo, 6to4
	AuthMethod                string   `json:"auth_method"`
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
	QuickModeCount   int    `json:"quick_mode_count"`
}

// IPsecSAs are the SAs one server holds for the identities asked about.
type IPsecSAs struct {
	MainMode       []MainModeSA `json:"main_mode"`
	QuickModeCount int          `json:"quick_mode_count"`
}

// PurgeDeviceResult counts what purging a device removed on one server.
type PurgeDeviceResult struct {
	MainModeRemoved              int `json:"main_mode_removed"`
	QuickModeRemoved             int `json:"quick_mode_removed"`
	VPNDeviceTunnelsDisconnected int `json:"vpn_device_tunnels_disconnected"`
}

// PurgeUserResult counts what purging a user removed on one server.
type PurgeUserResult struct {
	MainModeRemoved            int `json:"main_mode_removed"`
	QuickModeRemoved           int `json:"quick_mode_removed"`
	VPNConnectionsDisconnected int `json:"vpn_connections_disconnected"`
}

// VPNTarget names what Disconnect-VpnUser disconnects: exactly one of a user or a tunnel address.
// Build it with ByUser or ByHostIP.
type VPNTarget struct {
	UserName      string `json:"user_name,omitempty"`
	HostIPAddress string `json:"host_ip_address,omitempty"`
}

// ByUser disconnects every VPN connection of a user (DOMAIN\user).
func ByUser(userName string) VPNTarget { return VPNTarget{UserName: userName} }

// ByHostIP disconnects the VPN connection that holds a tunnel address the server assigned.
func ByHostIP(address string) VPNTarget { return VPNTarget{HostIPAddress: address} }
