package cluster

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// The lab answers the provider's scripts in two layers, as Windows does: the model (clients, tunnels, VPN
// connections) produces the rows the cmdlets print (Get-NetIPsecMainModeSA, Get-RemoteAccessConnectionStatistics),
// and each script's emulation selects from those rows with the script's own rules. Rows loaded from a capture of
// a real server (capture.go) join the model's rows; they have no client behind them, so once removed they stay
// gone.

// saRow is one MSFT_NetMainModeSA as the lab's cmdlets print it.
type saRow struct {
	name, localEndpoint, remoteEndpoint string
	// first, second, cipher and hash are as the server prints them (shapes.go): read them through
	// firstID, secondID, idMethod and algorithmName, as the scripts do.
	first, second any
	cipher, hash  any
	quickMode     int
	tunnel        *tunnel // nil for a captured row
}

// statRow is one row of Get-RemoteAccessConnectionStatistics (the RemoteAccessConnection WMI class).
type statRow struct {
	userNames      []string
	hostName       string
	addresses      []string // ClientIPAddress, ClientIPv4Address and ClientIPv6Address, flattened
	external       string
	connectionType string // DirectAccess, Vpn
	tunnelType     string
	transition     string
	authMethod     string
	start          time.Time
	duration       int64
	bytesIn        int64
	bytesOut       int64
	activity       string
	vpn            *vpnConn // the live VPN connection; nil for DirectAccess, lingering or captured rows
	captured       bool     // loaded from a capture of a real server
}

// Documented values of the RemoteAccessConnection WMI class that Get-RemoteAccessConnectionStatistics returns
// (https://learn.microsoft.com/previous-versions/windows/desktop/ramgmtpsprov/remoteaccessconnection); the cmdlet
// page adds that TunnelType is the VPN tunnel, or Esp for DirectAccess.
const (
	authMachineCertificate     = "Machine Certificate"
	authMachineCertUserKerb    = "Machine Certificate & User Kerberos"
	authEapTLS                 = "Eap Tls"
	tunnelEsp                  = "Esp"
	connectionTypeDirectAccess = "DirectAccess"
	connectionTypeVpn          = "Vpn"
)

// transitionTechnologies maps the accepted spellings of a seed to the value the class documents.
var transitionTechnologies = map[string]string{
	"iphttps": "IPHttps", "teredo": "Teredo", "6to4": "6to4", "native ipv6": "Native IPv6", "isatap": "Isatap",
}

// vpnTunnelTypes are the documented TunnelType values a VPN connection can have.
var vpnTunnelTypes = map[string]string{"ikev2": "Ikev2", "sstp": "Sstp", "l2tp": "L2tp", "pptp": "Pptp"}

// mainModeSAs is Get-NetIPsecMainModeSA on one server.
func (c *Cluster) mainModeSAs(server string) []saRow {
	var rows []saRow
	shape := c.saShape(server)
	cipher, hash := printedAlgorithms(shape)
	c.tunnelsOn(server, func(s *session, t *tunnel) {
		rows = append(rows, saRow{
			name: t.mainMode, localEndpoint: fmt.Sprintf("2001:db8:1::%d", c.node(server).priority),
			remoteEndpoint: s.client.address(), first: printedIdentity(t.first, shape), second: printedIdentity(t.second, shape),
			cipher: cipher, hash: hash, quickMode: t.quickMode, tunnel: t,
		})
	})
	return append(rows, c.captured[server].sas...)
}

// statistics is Get-RemoteAccessConnectionStatistics on one server: live connections, VPN rows that outlive their
// disconnect for a while (lingering), and captured rows.
func (c *Cluster) statistics(server string, now time.Time) []statRow {
	var rows []statRow
	for _, s := range c.sessions {
		if s.server != server || !s.anyUp() {
			continue
		}
		users := s.userNames()
		auth := authMachineCertificate
		if len(users) > 0 {
			auth = authMachineCertUserKerb
		}
		rows = append(rows, statRow{
			userNames: users, hostName: s.client.fqdn, addresses: []string{s.client.address()},
			external: s.client.externalAddress(), connectionType: connectionTypeDirectAccess, tunnelType: tunnelEsp,
			transition: s.client.transition(), authMethod: auth,
		}.withTraffic(s.started(), now, s.client.index))
	}
	for _, v := range c.vpn {
		if v.server == server && v.up {
			rows = append(rows, v.row(now))
		}
	}
	for _, l := range c.lingering {
		if l.server == server && now.Before(l.until) {
			rows = append(rows, l.row)
		}
	}
	return append(rows, c.captured[server].stats...)
}

// withTraffic fills the duration and byte counters of a connection up since start: they grow with time, as the
// statistics of a live connection do.
func (r statRow) withTraffic(start, now time.Time, index int) statRow {
	secs := int64(now.Sub(start) / time.Second)
	r.start, r.duration = start, secs
	r.bytesIn = 40_000 + secs*int64(1500*(index%4+1))
	r.bytesOut = r.bytesIn / 3
	r.activity = "Active"
	return r
}

func (v *vpnConn) row(now time.Time) statRow {
	auth := authEapTLS
	if v.seed.User == "" {
		auth = authMachineCertificate // WINDOWS.md, Always On VPN device tunnels
	}
	return statRow{
		userNames: []string{v.userName}, hostName: v.hostName, addresses: []string{v.address},
		external: v.externalAddress(), connectionType: connectionTypeVpn, tunnelType: v.seed.TunnelType, authMethod: auth,
		vpn: v,
	}.withTraffic(v.since, now, v.index)
}

// lingeringRow is a VPN statistics row kept after its connection was disconnected.
type lingeringRow struct {
	server string
	row    statRow
	until  time.Time
}

// disconnect drops a VPN connection as Disconnect-VpnUser does. Administrators report that the connection's row
// can stay in Get-RemoteAccessConnectionStatistics for a while after a disconnect; Microsoft's documentation is
// silent on it and on how long, so the lab keeps the row, frozen, for Options.StatisticsLinger (0: not at all), and
// the scripts must neither count such a row as a live connection nor fail on it.
func (c *Cluster) disconnect(v *vpnConn, now time.Time) {
	if !v.up {
		return
	}
	if c.opts.StatisticsLinger > 0 {
		row := v.row(now)
		row.vpn = nil
		c.lingering = append(c.lingering, lingeringRow{server: v.server, row: row, until: now.Add(c.opts.StatisticsLinger)})
	}
	v.drop(now)
}

// readable reports whether an SA carries a readable remote identity.
func (r saRow) readable() bool { return r.firstID() != "" || r.secondID() != "" }

// selection is what the device rules of purge-device and get-ipsec-sas find on one server.
type selection struct {
	byIdentity, byEndpoint []saRow
	reason                 string   // why the server cannot tell; empty when it can
	hosts                  []string // the devices the address rule concerns
}

// selectDevice mirrors include/device-purge.ps1 and get-ipsec-sas.ps1: SAs by exact identity; the SAs that share an IPv6
// remote endpoint with one of them (certificate-authenticated DirectAccess: the intranet tunnel may carry a
// certificate subject, WINDOWS.md, DirectAccess tunnels); and fail closed when no SA carries a readable identity or when the target's
// DirectAccess address is on SAs that match none of its identities. IPv4 endpoints are never grouped: clients
// behind one NAT share them, and DirectAccess speaks IPv6 only.
func selectDevice(sas []saRow, stats []statRow, ids, hostNames identitySet) selection {
	var sel selection
	addresses := map[string]string{} // address -> host name
	for _, r := range stats {
		if r.connectionType == connectionTypeDirectAccess && hostNames.has(r.hostName) {
			for _, a := range r.addresses {
				addresses[strings.ToLower(a)] = r.hostName
			}
		}
	}
	endpoints := map[string]bool{}
	readable := 0
	var unmatched []saRow
	for _, r := range sas {
		if r.readable() {
			readable++
		}
		if ids.has(r.firstID()) || ids.has(r.secondID()) {
			sel.byIdentity = append(sel.byIdentity, r)
			if a, err := netip.ParseAddr(r.remoteEndpoint); err == nil && a.Is6() && !a.Is4In6() {
				endpoints[strings.ToLower(r.remoteEndpoint)] = true
			}
		} else {
			unmatched = append(unmatched, r)
		}
	}
	var unexplained []saRow
	for _, r := range unmatched {
		switch key := strings.ToLower(r.remoteEndpoint); {
		case endpoints[key]:
			sel.byEndpoint = append(sel.byEndpoint, r)
		case addresses[key] != "":
			unexplained = append(unexplained, r)
			if !slices.Contains(sel.hosts, addresses[key]) {
				sel.hosts = append(sel.hosts, addresses[key])
			}
		}
	}
	switch {
	case len(sas) > 0 && readable == 0:
		sel.reason, sel.hosts = noReadableIdentity(len(sas)), nil // the verdict concerns every target
	case len(unexplained) > 0:
		sel.reason = fmt.Sprintf("the DirectAccess address %s is on %d main-mode SA(s) that match none of the identities",
			unexplained[0].remoteEndpoint, len(unexplained))
	}
	return sel
}

// selectByIdentity is the rule for users: SAs by exact identity, and fail closed only when no SA carries a
// readable identity.
func selectByIdentity(sas []saRow, ids identitySet) selection {
	var sel selection
	for _, r := range sas {
		if ids.has(r.firstID()) || ids.has(r.secondID()) {
			sel.byIdentity = append(sel.byIdentity, r)
		}
	}
	if len(sas) > 0 && !slices.ContainsFunc(sas, saRow.readable) {
		sel.reason = noReadableIdentity(len(sas))
	}
	return sel
}

func noReadableIdentity(n int) string {
	return fmt.Sprintf("none of the %d main-mode SAs on this server carries a readable remote identity", n)
}

// removeListedSA removes an SA the script listed a moment before. With ExpireBeforeRemoval set on the server the SA
// (and its quick-mode SAs) expired in between, as SAs do when their lifetime ends or the client leaves: the removal
// finds nothing (ObjectNotFound), which the scripts count neither as removed nor as a failure.
func (c *Cluster) removeListedSA(server string, r saRow, now time.Time) (quick, removed int) {
	if c.expireBeforeRemoval[strings.ToUpper(server)] {
		c.removeSA(server, r, now)
		return 0, 0
	}
	return c.removeSA(server, r, now), 1
}

// removeSA emulates Remove-NetIPsecQuickModeSA for the SA's quick-mode SAs, then Remove-NetIPsecMainModeSA.
func (c *Cluster) removeSA(server string, r saRow, now time.Time) (quick int) {
	if r.tunnel != nil {
		return removeTunnel(r.tunnel, now)
	}
	rows := c.captured[server]
	rows.sas = slices.DeleteFunc(rows.sas, func(o saRow) bool { return o.name == r.name })
	c.captured[server] = rows
	return r.quickMode
}

// dropCapturedRow emulates Disconnect-VpnUser on a captured VPN row: the row is gone, and nothing brings it back.
func (c *Cluster) dropCapturedRow(server string, r statRow) {
	rows := c.captured[server]
	rows.stats = slices.DeleteFunc(rows.stats, func(o statRow) bool {
		return o.connectionType == r.connectionType && slices.Equal(o.addresses, r.addresses) && slices.Equal(o.userNames, r.userNames)
	})
	c.captured[server] = rows
}

// capturedRows are the rows a capture of a real server adds to that server.
type capturedRows struct {
	sas   []saRow
	stats []statRow
}
