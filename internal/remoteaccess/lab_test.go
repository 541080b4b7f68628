package remoteaccess_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// These tests run every operation the way the provider does: the real winrm client, over HTTPS and NTLM, to the
// lab's WS-Management servers, whose executor is the emulated cluster, whose clients ask the lab's directory.

const (
	reestablishDelay = 300 * time.Millisecond
	convergenceDelay = 200 * time.Millisecond
)

type lab struct {
	emulated *cluster.Cluster
	cluster  *remoteaccess.Cluster
	clients  map[string]*winrm.Client
	servers  map[string]*wsman.Server
	dir      *ldapserver.Directory
	scripts  map[string]*scriptCounter // commands each server ran, by script
}

func newLab(t *testing.T) *lab {
	t.Helper()
	return newLabWith(t, "../lab/cluster/testdata/cluster.json")
}

// newLabWith builds the lab with a cluster seed (or a capture of a real server).
func newLabWith(t *testing.T, clusterSeed string) *lab {
	t.Helper()
	dirSeed, err := ldapserver.LoadSeed("../lab/testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := ldapserver.New(dirSeed)
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	admin := dir.AdminCredentials()
	checker, err := cluster.NewLDAPChecker(dir.LDAPSURL(), dir.CACertPEM(), admin.UPN, admin.Password)
	if err != nil {
		t.Fatal(err)
	}

	seed, err := cluster.LoadSeed(clusterSeed)
	if err != nil {
		t.Fatal(err)
	}
	opts := seed.Options()
	opts.Directory, opts.ReestablishDelay, opts.ConvergenceDelay = checker, reestablishDelay, convergenceDelay
	emulated, err := cluster.New(opts)
	if err != nil {
		t.Fatal(err)
	}

	l := &lab{emulated: emulated, clients: map[string]*winrm.Client{}, servers: map[string]*wsman.Server{}, dir: dir,
		scripts: map[string]*scriptCounter{}}
	runners := map[string]remoteaccess.Runner{}
	for _, name := range seed.Nodes {
		l.scripts[name] = &scriptCounter{next: emulated.Executor(name), runs: map[string]int{}}
		srv, err := wsman.NewServer(wsman.Options{
			Name: name, Domain: "CORP", Users: map[string]string{admin.DownLevel: admin.Password},
			Executor: l.scripts[name], TLS: true, ReceiveWait: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		host, port := srv.Endpoint()
		client, err := winrm.NewClient(winrm.Config{
			Host: host, Port: port, HTTPS: true, CACertPEM: srv.CACertPEM(),
			Username: admin.DownLevel, Password: admin.Password,
			Timeout: 15 * time.Second, Retry: winrm.RetryPolicy{Attempts: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = client.Close() })
		l.servers[name], l.clients[name], runners[name] = srv, client, client
	}
	if l.cluster, err = remoteaccess.NewCluster(runners); err != nil {
		t.Fatal(err)
	}
	return l
}

// disable sets ACCOUNTDISABLE on an account over LDAP, as the provider's directory side does before a purge.
func (l *lab) disable(t *testing.T, sAMAccountName string) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(l.dir.CACertPEM())
	conn, err := ldap.DialURL(l.dir.LDAPSURL(), ldap.DialWithTLSConfig(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	admin := l.dir.AdminCredentials()
	if err := conn.Bind(admin.UPN, admin.Password); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Search(ldap.NewSearchRequest(l.dir.BaseDN(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
		"(sAMAccountName="+ldap.EscapeFilter(sAMAccountName)+")", []string{"userAccountControl"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("find %s: %v", sAMAccountName, err)
	}
	uac, err := strconv.Atoi(res.Entries[0].GetAttributeValue("userAccountControl"))
	if err != nil {
		t.Fatal(err)
	}
	mod := ldap.NewModifyRequest(res.Entries[0].DN, nil)
	mod.Replace("userAccountControl", []string{strconv.Itoa(uac | 0x2)})
	if err := conn.Modify(mod); err != nil {
		t.Fatalf("disable %s: %v", sAMAccountName, err)
	}
}

func deadline(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// deviceIdentities are a lab device's exact identities, as the provider computes them from the directory.
func deviceIdentities(name string) []string {
	return directory.DeviceIdentities(
		directory.Account{Kind: directory.KindComputer, SAMAccountName: name + "$", DNSHostName: strings.ToLower(name) + ".corp.example"},
		directory.DomainInfo{NetBIOSName: "CORP", DNSRoot: "corp.example"})
}

var client1 = deviceIdentities("CLIENT1")

func TestLabReadOperations(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)

	views, err := l.cluster.GetNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for server, nodes := range views {
		var want []remoteaccess.Node
		for _, iface := range []string{"Internet", "Corpnet"} {
			want = append(want,
				remoteaccess.Node{Name: "RAS1", InterfaceName: iface, State: "Converged(default)", HostPriority: 1, IsLocal: server == "RAS1"},
				remoteaccess.Node{Name: "RAS2", InterfaceName: iface, State: remoteaccess.NodeConverged, HostPriority: 2, IsLocal: server == "RAS2"})
		}
		if !slices.Equal(nodes, want) {
			t.Errorf("nodes seen from %s = %+v, want %+v", server, nodes, want)
		}
	}

	conns, err := l.cluster.GetConnections(ctx, remoteaccess.ConnectionFilter{HostName: "client1.corp.example"})
	if err != nil {
		t.Fatal(err)
	}
	if len(conns["RAS1"]) != 1 || len(conns["RAS2"]) != 0 {
		t.Fatalf("connections of client1.corp.example = %+v; want one on RAS1 (and not CLIENT10's)", conns)
	}
	c := conns["RAS1"][0]
	if c.ConnectionType != "DirectAccess" || c.TransitionTechnology != "IPHttps" || !slices.Equal(c.UserNames, []string{`CORP\alice`}) ||
		c.Server != "RAS1" || c.ConnectionDurationSeconds <= 0 || c.TotalBytesIn <= 0 {
		t.Errorf("CLIENT1's connection = %+v", c)
	}
	if _, err := time.Parse(time.RFC3339, c.ConnectionStartTime); err != nil {
		t.Errorf("connection start time %q: %v", c.ConnectionStartTime, err)
	}
	// A non-ASCII user travels through JSON, stdin and stdout intact.
	mallory, err := remoteaccess.GetConnections(ctx, l.clients["RAS2"], remoteaccess.ConnectionFilter{HostName: "laptop-äö.corp.example"})
	if err != nil || len(mallory) != 1 || mallory[0].UserNames[0] != `CORP\mallory` {
		t.Errorf("LAPTOP-ÄÖ's connection = %+v, %v", mallory, err)
	}

	sas, err := l.cluster.GetIPsecSAs(ctx, client1)
	if err != nil {
		t.Fatal(err)
	}
	if got := sas["RAS1"]; len(got.MainMode) != 2 || got.QuickModeCount != 4 || len(sas["RAS2"].MainMode) != 0 {
		t.Errorf("SAs of CLIENT1 = %+v", sas)
	}
}

func TestLabBlockDevice(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	l.disable(t, "CLIENT1$")

	purged, err := l.cluster.PurgeDevice(ctx, client1, "client1.corp.example", true)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]remoteaccess.PurgeDeviceResult{"RAS1": {MainModeRemoved: 2, QuickModeRemoved: 4}, "RAS2": {}}
	if fmt.Sprint(purged) != fmt.Sprint(want) {
		t.Errorf("PurgeDevice CLIENT1 = %+v, want %+v", purged, want)
	}
	hub := &remoteaccess.VerifyHub{Interval: 100 * time.Millisecond}
	if now, err := hub.Snapshot(ctx, l.cluster, client1, true); err != nil || len(now["RAS1"].MainMode)+len(now["RAS2"].MainMode) != 0 {
		t.Errorf("SAs right after the purge = %+v, %v", now, err)
	}
	// The account is disabled: the client cannot authenticate, so nothing comes back during the window.
	if seen := returnedOn(t, l.cluster, client1, 4*reestablishDelay); len(seen) != 0 {
		t.Errorf("SAs back after blocking CLIENT1 on %q; want none", seen)
	}
	client10, err := l.cluster.GetIPsecSAs(ctx, deviceIdentities("CLIENT10"))
	if err != nil || len(client10["RAS1"].MainMode) != 2 {
		t.Errorf("CLIENT10 after purging CLIENT1 = %+v, %v; exact matching must leave it alone", client10, err)
	}
}

func TestLabPurgedDeviceWithEnabledAccountComesBack(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	client10 := deviceIdentities("CLIENT10")
	if _, err := l.cluster.PurgeDevice(ctx, client10, "", false); err != nil {
		t.Fatal(err)
	}
	if seen := returnedOn(t, l.cluster, client10, 6*reestablishDelay); !slices.Equal(seen, []string{"RAS1"}) {
		t.Errorf("SAs back after purging an enabled CLIENT10 on %q; want RAS1", seen)
	}
}

// returnedOn watches the device for a verify window and names the servers where its main-mode SAs came back. Every
// server must have answered.
func returnedOn(t *testing.T, c *remoteaccess.Cluster, identities []string, window time.Duration) []string {
	t.Helper()
	hub := &remoteaccess.VerifyHub{Interval: 100 * time.Millisecond}
	verdicts, err := hub.Watch(deadline(t, 2*time.Minute), c, identities, true, window)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, server := range c.Servers() {
		v := verdicts[server]
		if v.Polls == 0 {
			t.Errorf("%s never answered during the window: %v", server, v.Err)
		}
		if len(v.Returned) > 0 {
			seen = append(seen, server)
		}
	}
	return seen
}

func TestLabDeviceConnectedThroughBothServers(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	l.disable(t, "CLIENT2$")
	purged, err := l.cluster.PurgeDevice(ctx, deviceIdentities("CLIENT2"), "client2.corp.example", true)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]remoteaccess.PurgeDeviceResult{
		"RAS1": {MainModeRemoved: 2, QuickModeRemoved: 4},
		"RAS2": {MainModeRemoved: 2, QuickModeRemoved: 4, VPNDeviceTunnelsDisconnected: 1},
	}
	if fmt.Sprint(purged) != fmt.Sprint(want) {
		t.Errorf("PurgeDevice CLIENT2 = %+v, want %+v", purged, want)
	}
}

func TestLabPurgeUserAndDisconnectVPN(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	// carol is disabled in the directory seed but still connected, as after a block whose purge never ran.
	purged, err := l.cluster.PurgeUser(ctx, directory.UserIdentities(
		directory.Account{Kind: directory.KindUser, SAMAccountName: "carol", UserPrincipalName: "carol@corp.example"},
		directory.DomainInfo{NetBIOSName: "CORP", DNSRoot: "corp.example"}), `CORP\carol`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]remoteaccess.PurgeUserResult{
		"RAS1": {MainModeRemoved: 1, QuickModeRemoved: 2},
		"RAS2": {MainModeRemoved: 1, QuickModeRemoved: 2, VPNConnectionsDisconnected: 1},
	}
	if fmt.Sprint(purged) != fmt.Sprint(want) {
		t.Errorf("PurgeUser carol = %+v, want %+v", purged, want)
	}

	disconnected, err := l.cluster.DisconnectVPN(ctx, remoteaccess.ByUser(`CORP\bob`))
	if err != nil || !slices.Equal(disconnected["RAS2"], []string{`CORP\bob`}) || len(disconnected["RAS1"]) != 0 {
		t.Fatalf("DisconnectVPN bob = %q, %v", disconnected, err)
	}
	// bob is enabled: Always On VPN reconnects him, with a new tunnel address.
	var address string
	for address == "" {
		time.Sleep(reestablishDelay / 2)
		conns, err := remoteaccess.GetConnections(ctx, l.clients["RAS2"], remoteaccess.ConnectionFilter{UserName: `CORP\bob`})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range conns {
			if c.ConnectionType == "Vpn" {
				address = c.ClientIPAddress
			}
		}
	}
	byAddress, err := remoteaccess.DisconnectVPN(ctx, l.clients["RAS2"], remoteaccess.ByHostIP(address))
	if err != nil || !slices.Equal(byAddress, []string{address}) {
		t.Errorf("DisconnectVPN %s = %q, %v", address, byAddress, err)
	}
	if _, err := l.cluster.DisconnectVPN(ctx, remoteaccess.VPNTarget{UserName: `CORP\bob`, HostIPAddress: address}); !errors.Is(err, remoteaccess.ErrInvalidArgument) {
		t.Errorf("DisconnectVPN with both a user and an address: %v", err)
	}
}

func TestLabStopComputer(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	// From a WinRM session the shutdown is a second hop: refused up front without a credential.
	err := remoteaccess.StopComputer(ctx, l.clients["RAS1"], "client1.corp.example")
	var we *winrm.Error
	if !errors.As(err, &we) || we.Kind != winrm.KindScript || we.Category != "PermissionDenied" || we.Target != "credential" ||
		!strings.Contains(we.Message, "second hop") {
		t.Fatalf("StopComputer without a credential: %v; want PermissionDenied on credential, naming the second hop", err)
	}
	if sas, err := remoteaccess.GetIPsecSAs(ctx, l.clients["RAS1"], client1); err != nil || len(sas.MainMode) != 2 {
		t.Fatalf("CLIENT1 after a refused shutdown = %+v, %v; want it untouched", sas, err)
	}
	admin := remoteaccess.Credential{UserName: l.dir.AdminCredentials().DownLevel, Password: l.dir.AdminCredentials().Password}
	if err := remoteaccess.StopComputerAs(ctx, l.clients["RAS1"], "client1.corp.example", admin); err != nil {
		t.Fatal(err)
	}
	err = remoteaccess.StopComputerAs(ctx, l.clients["RAS1"], "client1.corp.example", admin)
	if !errors.As(err, &we) || we.Kind != winrm.KindScript || we.Category != "ResourceUnavailable" || we.Script != "stop-computer/v1" {
		t.Errorf("stopping a computer that is off: %v; want a script error ResourceUnavailable", err)
	}
}

func TestLabScriptErrorAndPartialFailure(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	_, err := remoteaccess.ResumeNode(ctx, l.clients["RAS1"], "RAS9")
	var we *winrm.Error
	if !errors.As(err, &we) || we.Kind != winrm.KindScript || we.Category != "InvalidOperation" || we.Target != "RAS9" {
		t.Errorf("ResumeNode of another node: %v; want a script error InvalidOperation on RAS9", err)
	}

	if err := l.servers["RAS2"].Close(); err != nil {
		t.Fatal(err)
	}
	sas, err := l.cluster.GetIPsecSAs(ctx, client1)
	if len(sas["RAS1"].MainMode) != 2 {
		t.Errorf("RAS1's answer was lost in the partial failure: %+v", sas)
	}
	if !slices.Equal(remoteaccess.FailedServers(err), []string{"RAS2"}) || !errors.As(err, &we) || we.Kind != winrm.KindUnreachable {
		t.Errorf("GetIPsecSAs with RAS2 down: %v; want RAS2 named as unreachable", err)
	}
}

// A device tunnel authenticates with its certificate: after a purge with the computer account disabled it comes
// back, and the results name the server where it did.
func TestLabDeviceTunnelComesBackAndIsNamed(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	l.disable(t, "CLIENT2$")
	client2 := deviceIdentities("CLIENT2")
	purged, err := l.cluster.PurgeDevice(ctx, client2, "CLIENT2", true)
	if err != nil || purged["RAS2"].VPNDeviceTunnelsDisconnected != 1 || purged["RAS2"].Indeterminate {
		t.Fatalf("PurgeDevice CLIENT2 = %+v, %v", purged, err)
	}
	var back []string
	for len(back) == 0 && ctx.Err() == nil {
		time.Sleep(reestablishDelay / 2)
		sas, err := l.cluster.GetDeviceSAs(ctx, client2)
		if err != nil {
			t.Fatal(err)
		}
		for _, server := range l.cluster.Servers() {
			if len(sas[server].MainMode) > 0 {
				t.Fatalf("CLIENT2's DirectAccess SAs came back on %s with its account disabled: %+v", server, sas[server])
			}
			if tunnels := sas[server].DeviceTunnels(); len(tunnels) > 0 && tunnels[0].AuthMethod == "Machine Certificate" {
				back = append(back, server)
			}
		}
	}
	if !slices.Equal(back, []string{"RAS2"}) {
		t.Errorf("device tunnel back on %q, want RAS2", back)
	}
}

// The documented example of Get-RemoteAccessConnectionStatistics, as the lab's seed, through the real client: the
// address array is flattened and the user, printed in its DNS-domain form, is found by the identities the
// directory package builds.
func TestLabDocumentedExample(t *testing.T) {
	l := newLabWith(t, "../lab/cluster/testdata/capture-documented.json")
	ctx := deadline(t, 2*time.Minute)
	node1 := l.clients["node1"]
	conns, err := remoteaccess.GetConnections(ctx, node1, remoteaccess.ConnectionFilter{})
	if err != nil || len(conns) != 1 {
		t.Fatalf("GetConnections = %+v, %v", conns, err)
	}
	if c := conns[0]; c.ClientIPAddress != "10.1.1.11" || len(c.ClientIPAddresses) != 2 || c.ConnectionType != "Vpn" {
		t.Errorf("the example's connection = %+v", c)
	}
	user := directory.Account{Kind: directory.KindUser, SAMAccountName: "remoteuser1"}
	dom := directory.DomainInfo{NetBIOSName: "CORP", DNSRoot: "corp.contoso.com"}
	ids := append(directory.UserIdentities(user, dom), directory.VPNUserNames(user, dom)...)
	if without, err := remoteaccess.PurgeUser(ctx, node1, directory.UserIdentities(user, dom), ""); err != nil || without.VPNConnectionsDisconnected != 0 {
		t.Fatalf("PurgeUser with the NetBIOS form only = %+v, %v; the example prints the DNS form", without, err)
	}
	purged, err := remoteaccess.PurgeUser(ctx, node1, ids, "")
	if err != nil || purged != (remoteaccess.PurgeUserResult{VPNConnectionsDisconnected: 1}) {
		t.Errorf("PurgeUser remoteuser1 = %+v, %v; want its VPN connection disconnected", purged, err)
	}
}

// Fail closed, through the real client: a server whose SAs carry no readable identity says it cannot tell.
func TestLabIndeterminateVerdict(t *testing.T) {
	l := newLabWith(t, "testdata/cluster-unreadable.json")
	ctx := deadline(t, 2*time.Minute)
	sas, err := l.cluster.GetIPsecSAs(ctx, client1)
	if err != nil || !sas["RAS1"].Indeterminate || !strings.Contains(sas["RAS1"].IndeterminateReason, "readable") || sas["RAS2"].Indeterminate {
		t.Errorf("GetIPsecSAs = %+v, %v; want RAS1 indeterminate and RAS2 not", sas, err)
	}
	purged, err := l.cluster.PurgeDevice(ctx, client1, "CLIENT1", true)
	if err != nil || !purged["RAS1"].Indeterminate || purged["RAS1"].MainModeRemoved != 0 {
		t.Errorf("PurgeDevice = %+v, %v; want RAS1 indeterminate", purged, err)
	}
	users, err := l.cluster.PurgeUser(ctx, []string{`CORP\alice`}, "")
	if err != nil || !users["RAS1"].Indeterminate {
		t.Errorf("PurgeUser = %+v, %v; want RAS1 indeterminate", users, err)
	}
}

// Certificate-authenticated DirectAccess, from a capture: the device's intranet tunnel is found by the endpoint it
// shares with its infrastructure tunnel, and a user's query never takes the device's tunnel.
func TestLabDeviceSAsByEndpoint(t *testing.T) {
	l := newLabWith(t, "../lab/cluster/testdata/capture-synthetic.json")
	ctx := deadline(t, 2*time.Minute)
	host1 := l.clients["HOST1"]
	device, err := remoteaccess.GetDeviceSAs(ctx, host1, []string{`DOMAIN1\HOST2$`, "host2.domain1.example"})
	if err != nil || len(device.MainMode) != 2 || device.MainMode[1].MatchedBy != remoteaccess.MatchedByEndpoint || device.QuickModeCount != 3 {
		t.Errorf("GetDeviceSAs HOST2 = %+v, %v", device, err)
	}
	user, err := remoteaccess.GetIPsecSAs(ctx, host1, []string{`DOMAIN1\user1`})
	if err != nil || len(user.MainMode) != 1 || user.MainMode[0].RemoteFirstID != "CN=host2.domain1.example" {
		t.Errorf("GetIPsecSAs user1 = %+v, %v; want the intranet tunnel only", user, err)
	}
	purged, err := remoteaccess.PurgeDevice(ctx, host1, []string{`DOMAIN1\HOST2$`}, "HOST2", false)
	if err != nil || purged.MainModeRemoved != 2 || purged.MainModeMatchedByEndpoint != 1 {
		t.Errorf("PurgeDevice HOST2 = %+v, %v", purged, err)
	}
}

// One connection Disconnect-VpnUser fails on (by its tunnel address): the error names the address, and the others
// are disconnected all the same.
func TestLabDisconnectFailureIsPerItem(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	bob, err := remoteaccess.GetConnections(ctx, l.clients["RAS2"], remoteaccess.ConnectionFilter{UserName: `CORP\bob`})
	if err != nil || len(bob) != 1 || bob[0].ClientIPAddress == "" {
		t.Fatalf("bob's connections = %+v, %v; want one VPN connection with an address", bob, err)
	}
	l.emulated.FailDisconnect(bob[0].ClientIPAddress)
	_, err = remoteaccess.PurgeUser(ctx, l.clients["RAS2"], []string{`CORP\bob`, `CORP\carol`}, "")
	var items *remoteaccess.ItemsError
	if !errors.As(err, &items) || len(items.Failures) != 1 || items.Failures[0].Target != bob[0].ClientIPAddress {
		t.Fatalf("PurgeUser with bob's address failing: %v; want an ItemsError naming that address only", err)
	}
	conns, err := remoteaccess.GetConnections(ctx, l.clients["RAS2"], remoteaccess.ConnectionFilter{UserName: `CORP\carol`})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if c.ConnectionType == "Vpn" {
			t.Errorf("carol's VPN connection survived bob's failure: %+v", c)
		}
	}
	if _, err := remoteaccess.DisconnectVPN(ctx, l.clients["RAS2"], remoteaccess.ByHostIP("192.0.2.99")); err != nil {
		t.Errorf("disconnecting an address nobody holds: %v; want an empty success", err)
	}
}

// One poll for several targets (as the verify windows share them) is split per target with For: a device whose
// address is on SAs without identity is indeterminate, its neighbour on the same server is not.
func TestLabOnePollForManyTargets(t *testing.T) {
	l := newLabWith(t, "testdata/cluster-mixed.json")
	ctx := deadline(t, 2*time.Minute)
	client2 := deviceIdentities("CLIENT2")
	carol := []string{`CORP\carol`}
	union := append(append(slices.Clone(client1), client2...), carol...)
	poll, err := remoteaccess.GetDeviceSAs(ctx, l.clients["RAS1"], union)
	if err != nil || !poll.Indeterminate || !slices.Equal(poll.IndeterminateHostNames, []string{"client1.corp.example"}) {
		t.Fatalf("the union poll = %+v, %v; want indeterminate for client1.corp.example only", poll, err)
	}
	if got := poll.For(client1, true); !got.Indeterminate || len(got.MainMode) != 0 {
		t.Errorf("CLIENT1 from the union poll = %+v; want indeterminate", got)
	}
	if got := poll.For(client2, true); got.Indeterminate || len(got.MainMode) != 2 || got.QuickModeCount != 4 {
		t.Errorf("CLIENT2 from the union poll = %+v; want its two tunnels, determinate", got)
	}
	if got := poll.For(carol, false); got.Indeterminate || len(got.MainMode) != 1 || got.MainMode[0].RemoteSecondID != `CORP\carol` {
		t.Errorf("carol from the union poll = %+v; want her intranet tunnel only", got)
	}
	all, err := remoteaccess.GetDeviceSAs(ctx, l.clients["RAS2"], union)
	if err != nil || all.Indeterminate || len(all.MainMode) != 0 {
		t.Errorf("RAS2, which holds nothing = %+v, %v", all, err)
	}
}
