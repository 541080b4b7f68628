package cluster

import (
	"slices"
	"strings"
)

// Snapshot is the cluster's model as the last script left it: which node is in which state, and which client is
// connected where. Tests compare what the provider reads over WinRM with it, so it is built from the model itself,
// not from the emulated cmdlets' answers. Taking one does not move the model forward (clients due to come back
// come back at the next script).
type Snapshot struct {
	Nodes        []NodeSnapshot
	DirectAccess []DirectAccessSnapshot // one per client and server with at least one tunnel up
	VPN          []VPNSnapshot          // connections that are up
}

// NodeSnapshot is one NLB node with its state on each interface NLB is bound to, as Get-NlbClusterNode prints it.
type NodeSnapshot struct {
	Name       string
	Priority   int
	Interfaces []InterfaceSnapshot
}

// InterfaceSnapshot is one NLB node object: the node's state on one interface.
type InterfaceSnapshot struct {
	Name  string
	State NodeState
}

// DirectAccessSnapshot is a DirectAccess client on one server.
type DirectAccessSnapshot struct {
	Computer    string // NetBIOS name
	DNSHostName string
	Server      string
	Users       []string // DOMAIN\user of the intranet tunnels that are up
	Address     string   // the client's IPv6 address
	MainModeSAs []SASnapshot
}

// SASnapshot is a main-mode SA that is up, with its quick-mode SAs.
type SASnapshot struct {
	Name           string
	RemoteFirstID  string
	RemoteSecondID string
	QuickMode      int
}

// VPNSnapshot is one Always On VPN connection that is up.
type VPNSnapshot struct {
	UserName string // what the statistics print as UserName
	HostName string // empty for a user tunnel
	Server   string
	Address  string // the tunnel address the server assigned
}

// Snapshot returns the model now.
func (c *Cluster) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	var snap Snapshot
	for _, n := range c.nodes {
		node := NodeSnapshot{Name: n.name, Priority: n.priority}
		for i, b := range n.bindings {
			node.Interfaces = append(node.Interfaces, InterfaceSnapshot{Name: b.iface, State: c.printedState(n, i)})
		}
		snap.Nodes = append(snap.Nodes, node)
	}
	for _, s := range c.sessions {
		if !s.anyUp() {
			continue
		}
		da := DirectAccessSnapshot{Computer: s.client.seed.Computer, DNSHostName: s.client.fqdn, Server: s.server,
			Users: s.userNames(), Address: s.client.address()}
		for _, t := range s.tunnels {
			if t.up {
				da.MainModeSAs = append(da.MainModeSAs, SASnapshot{Name: t.mainMode, RemoteFirstID: t.first.Identity,
					RemoteSecondID: t.second.Identity, QuickMode: t.quickMode})
			}
		}
		snap.DirectAccess = append(snap.DirectAccess, da)
	}
	for _, v := range c.vpn {
		if v.up {
			snap.VPN = append(snap.VPN, VPNSnapshot{UserName: v.userName, HostName: v.hostName, Server: v.server, Address: v.address})
		}
	}
	return snap
}

// ConnectionsOn counts the DirectAccess clients and VPN connections a server carries in a snapshot.
func (s Snapshot) ConnectionsOn(server string) (directAccess, vpn int) {
	for _, da := range s.DirectAccess {
		if strings.EqualFold(da.Server, server) {
			directAccess++
		}
	}
	vpn = len(slices.DeleteFunc(slices.Clone(s.VPN), func(v VPNSnapshot) bool { return !strings.EqualFold(v.Server, server) }))
	return directAccess, vpn
}
