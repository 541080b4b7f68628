package cluster

import (
	"fmt"
	"strings"
	"time"
)

// daClient is a DirectAccess computer. off is set once it was shut down through manage-out.
type daClient struct {
	seed  DirectAccessClient
	fqdn  string
	index int
	off   bool
}

// identity is one side of an IPsec authentication: MSFT_NetMainModeSA RemoteFirstId / RemoteSecondId.
type identity struct {
	Identity             string
	AuthenticationMethod string
}

// tunnel is one DirectAccess IPsec tunnel: a main-mode SA and the quick-mode SAs under it.
type tunnel struct {
	link
	first, second identity
	mainMode      string // Name of the main-mode SA while up
	quickMode     int    // quick-mode SAs under it while up
}

// session is a DirectAccess client's presence on one server.
type session struct {
	client  *daClient
	server  string
	tunnels []*tunnel
}

// vpnConn is one Always On VPN connection. userName is what Get-RemoteAccessConnectionStatistics reports as UserName:
// DOMAIN\user for a user tunnel, the machine certificate's name (the FQDN) for a device tunnel.
type vpnConn struct {
	link
	seed     VPNClient
	userName string
	hostName string
	index    int
	server   string
	address  string
	off      bool
}

func newDAClient(seed DirectAccessClient, index int, d Domain) *daClient {
	fqdn := seed.DNSHostName
	if fqdn == "" {
		fqdn = strings.ToLower(seed.Computer) + "." + d.DNSName
	}
	return &daClient{seed: seed, fqdn: fqdn, index: index}
}

func (c *daClient) computerAccount() string { return c.seed.Computer + "$" }

// newTunnels returns the client's tunnels, down (WINDOWS.md, DirectAccess tunnels): the infrastructure tunnel
// (computer certificate + computer NTLM) and the intranet tunnel (computer certificate + user Kerberos);
// identities are DOMAIN\NAME$ for the computer and DOMAIN\user for the user. With sa_identity "certificate" the
// computer side is the certificate's subject (unverified), so only the infrastructure tunnel's NTLM identity names
// the account and the intranet tunnel is found by the endpoint it shares; with "unreadable" the SAs carry no
// identity, which the scripts must fail closed on.
func (c *daClient) newTunnels(d Domain) []*tunnel {
	computerName := d.NetBIOSName + `\` + c.computerAccount()
	computer := identity{Identity: computerName, AuthenticationMethod: "ComputerCert"}
	if c.seed.SAIdentity == "certificate" {
		computer.Identity = "CN=" + c.fqdn
	}
	infra := &tunnel{
		link:   link{accounts: []string{c.computerAccount()}, certificate: c.seed.Computer},
		first:  computer,
		second: identity{Identity: computerName, AuthenticationMethod: "ComputerNtlm"},
	}
	tunnels := []*tunnel{infra}
	if c.seed.User != "" {
		tunnels = append(tunnels, &tunnel{
			link:   link{accounts: []string{c.computerAccount(), c.seed.User}, certificate: c.seed.Computer},
			first:  computer,
			second: identity{Identity: d.NetBIOSName + `\` + c.seed.User, AuthenticationMethod: "UserKerberos"},
		})
	}
	if c.seed.SAIdentity == "unreadable" {
		for _, t := range tunnels {
			t.first.Identity, t.second.Identity = "", ""
		}
	}
	return tunnels
}

// transition is the client's TransitionTechnology as the statistics print it.
func (c *daClient) transition() string {
	return transitionTechnologies[strings.ToLower(c.seed.TransitionTechnology)]
}

func (s *session) anyUp() bool {
	for _, t := range s.tunnels {
		if t.up {
			return true
		}
	}
	return false
}

// userNames lists the users whose intranet tunnel is up: who is using the connection.
func (s *session) userNames() []string {
	names := []string{}
	for _, t := range s.tunnels {
		if t.up && t.second.AuthenticationMethod == "UserKerberos" {
			names = append(names, t.second.Identity)
		}
	}
	return names
}

// started is when the oldest tunnel still up came up.
func (s *session) started() time.Time {
	var first time.Time
	for _, t := range s.tunnels {
		if t.up && (first.IsZero() || t.since.Before(first)) {
			first = t.since
		}
	}
	return first
}

// address is the client's IPv6 address, shaped by its transition technology.
func (c *daClient) address() string {
	switch c.transition() {
	case "Teredo":
		return fmt.Sprintf("2001:0:cb00:7100::%x", c.index+1)
	case "6to4":
		return fmt.Sprintf("2002:cb00:71%02x::cb00:71%02x", c.index+1, c.index+1)
	default:
		return fmt.Sprintf("2001:db8:1:1000::%x", c.index+1)
	}
}

func (c *daClient) externalAddress() string { return fmt.Sprintf("203.0.113.%d", c.index+1) }

func newVPNConn(seed VPNClient, index int, d Domain) *vpnConn {
	v := &vpnConn{seed: seed, index: index}
	if seed.User != "" {
		v.userName = d.NetBIOSName + `\` + seed.User
		if seed.DNSUserName {
			v.userName = d.DNSName + `\` + seed.User // as the cmdlet's own example prints a VPN user
		}
		v.accounts = []string{seed.User}
		v.dialIn = seed.User // NPS checks the user's Network Access Permission (dialin.go)
	} else {
		// WINDOWS.md, Always On VPN device tunnels: a device tunnel authenticates with the machine certificate on
		// the RRAS server, with no NPS and no Active Directory check, so the computer account's state does not
		// matter: only a revoked certificate keeps it out. Its name is the computer's FQDN (the certificate's subject).
		v.hostName = strings.ToLower(seed.Computer) + "." + d.DNSName
		if seed.HostName != "" {
			v.hostName = seed.HostName
		}
		v.userName = v.hostName
		v.certificate = seed.Computer
	}
	v.seed.TunnelType = vpnTunnelTypes[strings.ToLower(v.seed.TunnelType)]
	if v.seed.TunnelType == "" {
		v.seed.TunnelType = "Ikev2"
	}
	return v
}

func (v *vpnConn) externalAddress() string { return fmt.Sprintf("198.51.100.%d", v.index+1) }
