package cluster

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/strictjson"
)

// operation emulates one script on one server. It runs with the cluster locked and the model advanced to now.
type operation func(c *Cluster, call call) (any, error)

type call struct {
	server string
	now    time.Time
	input  []byte
}

// operations maps a script identifier (its first line) to its emulation. A script missing here fails loudly.
var operations = map[string]operation{
	"get-nodes/v1":       getNodes,
	"get-connections/v1": getConnections,
	"get-ipsec-sas/v1":   getIPsecSAs,
	"purge-device/v1":    purgeDevice,
	"purge-user/v1":      purgeUser,
	"disconnect-vpn/v1":  disconnectVPN,
	"stop-computer/v1":   stopComputer,
	"drain-node/v1":      drainNode,
	"resume-node/v1":     resumeNode,

	"disconnect-vpn-users/v1": disconnectVPNUsers,
	"purge-sas/v1":            purgeSAs,
}

// scriptError is the {"error":{...}} document a script writes before exiting with code 1.
type scriptError struct {
	Category string `json:"category"`
	Message  string `json:"message"`
	Target   string `json:"target"`
}

func (e *scriptError) Error() string { return e.Category + ": " + e.Message }

func invalidArgument(target, format string, args ...any) error {
	return &scriptError{Category: "InvalidArgument", Message: fmt.Sprintf(format, args...), Target: target}
}

// decodeInput reads a script's JSON input strictly, so that a field the provider misspells is an error here rather
// than a silently ignored value.
func decodeInput(input []byte, v any) error {
	if err := strictjson.Decode(input, v); err != nil {
		return invalidArgument("InputJson", "cannot read the input document: %v", err)
	}
	return nil
}

// identitySet compares identities exactly and case-insensitively, like the scripts' OrdinalIgnoreCase HashSet.
// FACTS part 5: never a substring, since *client1* also matches client10.
type identitySet map[string]bool

func newIdentitySet(ids []string) identitySet {
	s := identitySet{}
	for _, id := range ids {
		if id != "" {
			s[strings.ToLower(id)] = true
		}
	}
	return s
}

func (s identitySet) has(id string) bool { return id != "" && s[strings.ToLower(id)] }

func (s identitySet) hasAny(ids []string) bool { return slices.ContainsFunc(ids, s.has) }

type nodeView struct {
	Name         string    `json:"name"`
	State        NodeState `json:"state"`
	HostPriority int       `json:"host_priority"`
	IsLocal      bool      `json:"is_local"`
}

func (n *node) view(server string) nodeView {
	return nodeView{Name: n.name, State: n.state, HostPriority: n.priority, IsLocal: strings.EqualFold(n.name, server)}
}

// getNodes emulates Get-NlbClusterNode: every node of the cluster, whichever node answers.
func getNodes(c *Cluster, call call) (any, error) {
	if err := decodeInput(call.input, &struct{}{}); err != nil {
		return nil, err
	}
	nodes := []nodeView{}
	for _, n := range c.nodes {
		nodes = append(nodes, n.view(call.server))
	}
	return map[string]any{"nodes": nodes}, nil
}

type connection struct {
	UserNames                 []string `json:"user_names"`
	HostName                  string   `json:"host_name"`
	ClientIPAddress           string   `json:"client_ip_address"`
	ClientExternalAddress     string   `json:"client_external_address"`
	ConnectionType            string   `json:"connection_type"`
	TunnelType                string   `json:"tunnel_type"`
	TransitionTechnology      string   `json:"transition_technology"`
	AuthMethod                string   `json:"auth_method"`
	ConnectionDurationSeconds int64    `json:"connection_duration_seconds"`
	ConnectionStartTime       string   `json:"connection_start_time"`
	TotalBytesIn              int64    `json:"total_bytes_in"`
	TotalBytesOut             int64    `json:"total_bytes_out"`
	UserActivityState         string   `json:"user_activity_state"`
	Server                    string   `json:"server"`
}

// withTraffic fills the duration and byte counters of a connection up since start: they grow with time, as the
// statistics of a live connection do.
func (conn connection) withTraffic(start, now time.Time, index int) connection {
	secs := int64(now.Sub(start) / time.Second)
	conn.ConnectionStartTime = start.UTC().Format(time.RFC3339)
	conn.ConnectionDurationSeconds = secs
	conn.TotalBytesIn = 40_000 + secs*int64(1500*(index%4+1))
	conn.TotalBytesOut = conn.TotalBytesIn / 3
	conn.UserActivityState = "Active"
	return conn
}

// connectionsOn emulates Get-RemoteAccessConnectionStatistics on one server (FACTS part 5 lists the fields).
// The lab leaves HostName empty for VPN user tunnels: field availability varies by connection type.
func (c *Cluster) connectionsOn(server string, now time.Time) []connection {
	conns := []connection{}
	for _, s := range c.sessions {
		if s.server != server || !s.anyUp() {
			continue
		}
		tech := s.client.seed.TransitionTechnology
		conns = append(conns, connection{
			UserNames: s.userNames(), HostName: s.client.fqdn,
			ClientIPAddress: s.client.address(), ClientExternalAddress: s.client.externalAddress(),
			ConnectionType: "DirectAccess", TunnelType: tech, TransitionTechnology: tech, AuthMethod: "ComputerCert",
			Server: server,
		}.withTraffic(s.started(), now, s.client.index))
	}
	for _, v := range c.vpn {
		if v.server != server || !v.up {
			continue
		}
		auth := "Eap"
		if v.seed.User == "" {
			auth = "MachineCert"
		}
		conns = append(conns, connection{
			UserNames: []string{v.userName}, HostName: v.hostName,
			ClientIPAddress: v.address, ClientExternalAddress: v.externalAddress(),
			ConnectionType: "Vpn", TunnelType: v.seed.TunnelType, AuthMethod: auth, Server: server,
		}.withTraffic(v.since, now, v.index))
	}
	return conns
}

func getConnections(c *Cluster, call call) (any, error) {
	var in struct {
		UserName string `json:"user_name"`
		HostName string `json:"host_name"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	conns := []connection{}
	for _, conn := range c.connectionsOn(call.server, call.now) {
		if in.UserName != "" && !newIdentitySet([]string{in.UserName}).hasAny(conn.UserNames) {
			continue
		}
		if in.HostName != "" && !strings.EqualFold(conn.HostName, in.HostName) {
			continue
		}
		conns = append(conns, conn)
	}
	return map[string]any{"connections": conns}, nil
}

type mainModeSA struct {
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

// tunnelsOn lists the tunnels up on a server with the session they belong to.
func (c *Cluster) tunnelsOn(server string, fn func(*session, *tunnel)) {
	for _, s := range c.sessions {
		if s.server != server {
			continue
		}
		for _, t := range s.tunnels {
			if t.up {
				fn(s, t)
			}
		}
	}
}

// getIPsecSAs emulates Get-NetIPsecMainModeSA filtered on RemoteFirstId/RemoteSecondId, with the quick-mode SAs
// counted through Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA (FACTS part 5: quick-mode SAs have no identity).
func getIPsecSAs(c *Cluster, call call) (any, error) {
	var in struct {
		Identities []string `json:"identities"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	ids := newIdentitySet(in.Identities)
	mainMode, quick := []mainModeSA{}, 0
	c.tunnelsOn(call.server, func(s *session, t *tunnel) {
		if len(ids) > 0 && !ids.has(t.first.Identity) && !ids.has(t.second.Identity) {
			return
		}
		quick += t.quickMode
		mainMode = append(mainMode, mainModeSA{
			Name: t.mainMode, LocalEndpoint: fmt.Sprintf("2001:db8:1::%d", c.node(call.server).priority),
			RemoteEndpoint: s.client.address(),
			RemoteFirstID:  t.first.Identity, AuthMethodFirst: t.first.AuthenticationMethod,
			RemoteSecondID: t.second.Identity, AuthMethodSecond: t.second.AuthenticationMethod,
			CipherAlgorithm: "AES256", HashAlgorithm: "SHA256", QuickModeCount: t.quickMode,
		})
	})
	return map[string]any{"main_mode": mainMode, "quick_mode_count": quick}, nil
}

// removeTunnel emulates Remove-NetIPsecQuickModeSA for the tunnel's quick-mode SAs, then Remove-NetIPsecMainModeSA.
func removeTunnel(t *tunnel, now time.Time) (quick int) {
	quick, t.quickMode = t.quickMode, 0
	t.mainMode = ""
	t.drop(now)
	return quick
}

func requireIdentities(ids identitySet) error {
	if len(ids) == 0 {
		return invalidArgument("identities", "identities must name at least one identity")
	}
	return nil
}

func purgeDevice(c *Cluster, call call) (any, error) {
	var in struct {
		Identities    []string `json:"identities"`
		ComputerName  string   `json:"computer_name"`
		DisconnectVPN bool     `json:"disconnect_vpn"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	ids := newIdentitySet(in.Identities)
	if err := requireIdentities(ids); err != nil {
		return nil, err
	}
	mainRemoved, quickRemoved := 0, 0
	c.tunnelsOn(call.server, func(_ *session, t *tunnel) {
		if ids.has(t.first.Identity) || ids.has(t.second.Identity) {
			quickRemoved += removeTunnel(t, call.now)
			mainRemoved++
		}
	})
	tunnels := 0
	if in.DisconnectVPN {
		for _, v := range c.vpnOn(call.server) {
			if ids.has(v.userName) || (in.ComputerName != "" && strings.EqualFold(v.hostName, in.ComputerName)) {
				v.drop(call.now)
				tunnels++
			}
		}
	}
	return map[string]any{"main_mode_removed": mainRemoved, "quick_mode_removed": quickRemoved, "vpn_device_tunnels_disconnected": tunnels}, nil
}

// vpnOn lists the VPN connections up on a server.
func (c *Cluster) vpnOn(server string) []*vpnConn {
	var up []*vpnConn
	for _, v := range c.vpn {
		if v.server == server && v.up {
			up = append(up, v)
		}
	}
	return up
}

// purgeUser removes the intranet-tunnel SAs whose RemoteSecondId (user Kerberos) is the user, and disconnects the
// user's VPN connections (Disconnect-VpnUser -UserName, FACTS part 5).
func purgeUser(c *Cluster, call call) (any, error) {
	var in struct {
		Identities []string `json:"identities"`
		UserName   string   `json:"user_name"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	ids := newIdentitySet(append(in.Identities, in.UserName))
	if err := requireIdentities(ids); err != nil {
		return nil, err
	}
	mainRemoved, quickRemoved := 0, 0
	c.tunnelsOn(call.server, func(_ *session, t *tunnel) {
		if ids.has(t.second.Identity) {
			quickRemoved += removeTunnel(t, call.now)
			mainRemoved++
		}
	})
	disconnected := 0
	for _, v := range c.vpnOn(call.server) {
		if ids.has(v.userName) {
			v.drop(call.now)
			disconnected++
		}
	}
	return map[string]any{"main_mode_removed": mainRemoved, "quick_mode_removed": quickRemoved, "vpn_connections_disconnected": disconnected}, nil
}

// disconnectVPN emulates Disconnect-VpnUser with exactly one of -UserName and -HostIPAddress, and -PassThru
// (FACTS part 5). VPN connections only: DirectAccess sessions are not touched.
func disconnectVPN(c *Cluster, call call) (any, error) {
	var in struct {
		UserName      string `json:"user_name"`
		HostIPAddress string `json:"host_ip_address"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	if (in.UserName == "") == (in.HostIPAddress == "") {
		return nil, invalidArgument("user_name,host_ip_address", "exactly one of user_name and host_ip_address must be given")
	}
	disconnected := []string{}
	for _, v := range c.vpnOn(call.server) {
		switch {
		case in.UserName != "" && strings.EqualFold(v.userName, in.UserName):
			if !slices.Contains(disconnected, v.userName) {
				disconnected = append(disconnected, v.userName)
			}
		case in.HostIPAddress != "" && v.address == in.HostIPAddress:
			disconnected = append(disconnected, v.address)
		default:
			continue
		}
		v.drop(call.now)
	}
	return map[string]any{"disconnected": disconnected}, nil
}

// stopComputer emulates Stop-Computer -ComputerName -Force through manage-out: the server reaches a DirectAccess
// client over its infrastructure tunnel, so the client must be connected. A client shut down stays off: its tunnels
// and device tunnel do not come back.
func stopComputer(c *Cluster, call call) (any, error) {
	var in struct {
		ComputerName string `json:"computer_name"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	if in.ComputerName == "" {
		return nil, invalidArgument("computer_name", "computer_name must be given")
	}
	var target *daClient
	for _, s := range c.sessions {
		client := s.client
		if s.anyUp() && (strings.EqualFold(client.fqdn, in.ComputerName) || strings.EqualFold(client.seed.Computer, in.ComputerName)) {
			target = client
		}
	}
	if target == nil {
		return nil, &scriptError{Category: "ResourceUnavailable", Target: in.ComputerName,
			Message: fmt.Sprintf("Failed to stop the computer %s: the RPC server is unavailable.", in.ComputerName)}
	}
	target.off = true
	for _, s := range c.sessions {
		if s.client == target {
			for _, t := range s.tunnels {
				removeTunnel(t, call.now)
			}
		}
	}
	for _, v := range c.vpn {
		if v.seed.User == "" && strings.EqualFold(v.seed.Computer, target.seed.Computer) {
			v.off = true
			v.drop(call.now)
		}
	}
	return map[string]any{"requested": true}, nil
}

func (c *Cluster) findNode(name string) (*node, error) {
	if name == "" {
		return nil, invalidArgument("node_name", "node_name must be given")
	}
	n := c.node(name)
	if n == nil {
		return nil, &scriptError{Category: "ObjectNotFound", Target: name, Message: fmt.Sprintf("Cluster node %s was not found.", name)}
	}
	return n, nil
}

// drainNode emulates Stop-NlbClusterNode -Drain -Timeout <minutes>: the node takes no new connections, keeps its
// existing ones, and stops when they are gone or at the timeout, dropping those left (FACTS part 5). The lab answers
// at once with the node Draining; a timeout of 0 drains until the connections end.
func drainNode(c *Cluster, call call) (any, error) {
	var in struct {
		NodeName       string `json:"node_name"`
		TimeoutMinutes int    `json:"timeout_minutes"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	n, err := c.findNode(in.NodeName)
	if err != nil {
		return nil, err
	}
	if in.TimeoutMinutes < 0 {
		return nil, invalidArgument("timeout_minutes", "timeout_minutes must not be negative")
	}
	if n.state == Converged {
		n.state = Draining
		if in.TimeoutMinutes > 0 {
			n.drainEnds = call.now.Add(time.Duration(in.TimeoutMinutes) * c.opts.MinuteDuration)
		}
		c.finishDrains(call.now)
	}
	return map[string]any{"node": n.view(call.server)}, nil
}

// resumeNode emulates Resume-NlbClusterNode (Suspended -> Stopped) then Start-NlbClusterNode (-> Converged).
// Clients that were dropped come back through it at their next attempt.
func resumeNode(c *Cluster, call call) (any, error) {
	var in struct {
		NodeName string `json:"node_name"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	n, err := c.findNode(in.NodeName)
	if err != nil {
		return nil, err
	}
	n.state, n.drainEnds = Converged, time.Time{}
	return map[string]any{"node": n.view(call.server)}, nil
}
