package lab_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// The tests reach the lab only as the provider does: WinRM with the provider's client and LDAP with go-ldap, with
// the addresses, credentials and CA bundle from Info.

const reestablishDelay = 300 * time.Millisecond

var (
	// The identities the lab's clients present in their main-mode SAs (computer NTLM).
	client1  = []string{`CORP\CLIENT1$`}
	client10 = []string{`CORP\CLIENT10$`}
)

func startLab(t *testing.T, cfg lab.Config) *lab.Lab {
	t.Helper()
	l, err := lab.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// connect opens the WinRM clients of every server and their fan-out, keyed by server name.
func connect(t *testing.T, info lab.Info) (*remoteaccess.Cluster, map[string]*winrm.Client) {
	t.Helper()
	clients := labclient.Clients(t, info)
	runners := map[string]remoteaccess.Runner{}
	for name, c := range clients {
		runners[name] = c
	}
	ra, err := remoteaccess.NewCluster(runners)
	if err != nil {
		t.Fatal(err)
	}
	return ra, clients
}

// cameBack watches the servers for five re-establishment delays, as a block's verify window does, and names the
// servers where the device's SAs came back or that could not be asked.
func cameBack(t *testing.T, ra *remoteaccess.Cluster, identities []string) ([]string, error) {
	t.Helper()
	hub := &remoteaccess.VerifyHub{Interval: reestablishDelay / 3}
	verdicts, err := hub.Watch(deadline(t, 2*time.Minute), ra, identities, true, 5*reestablishDelay)
	var seen []string
	for _, server := range ra.Servers() {
		if v := verdicts[server]; len(v.Returned) > 0 || v.Polls == 0 {
			seen = append(seen, server)
		}
	}
	return seen, err
}

func deadline(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func saNames(sas remoteaccess.IPsecSAs) []string {
	var names []string
	for _, sa := range sas.MainMode {
		names = append(names, sa.Name)
	}
	return names
}

func TestLabServesEveryServerOnItsOwnAddressAndOnePort(t *testing.T) {
	l := startLab(t, lab.Config{})
	info := l.Info()

	if !slices.Equal(info.ServerAddresses, []string{"127.0.0.11", "127.0.0.12"}) || info.WinRMPort == 0 {
		t.Fatalf("server addresses %q, port %d; want 127.0.0.11 and 127.0.0.12 on one port", info.ServerAddresses, info.WinRMPort)
	}
	for i, s := range info.Servers {
		want := lab.ServerInfo{Name: []string{"RAS1", "RAS2"}[i], Address: info.ServerAddresses[i], Port: info.WinRMPort,
			URL: "https://" + info.ServerAddresses[i] + ":" + strconv.Itoa(info.WinRMPort) + "/wsman"}
		if s != want {
			t.Errorf("server %d = %+v, want %+v", i, s, want)
		}
	}
	if info.WinRMUsername != `CORP\labadmin` || info.WinRMPassword != lab.DefaultPassword || info.Domain != "corp.example" ||
		info.NetBIOSDomain != "CORP" || info.BaseDN != "DC=corp,DC=example" || info.LDAPBindUsername != "svc-remoteaccess@corp.example" {
		t.Errorf("Info = %+v", info)
	}
	if l.Server("ras2") == nil || l.Server("RAS9") != nil || l.Cluster() == nil || l.Directory() == nil {
		t.Error("Server, Cluster or Directory accessors do not match the lab")
	}

	ra, clients := connect(t, info)
	ctx := deadline(t, 2*time.Minute)
	nodes, err := ra.GetNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, server := range []string{"RAS1", "RAS2"} {
		var want []remoteaccess.Node
		for _, iface := range []string{"Internet", "Corpnet"} {
			want = append(want,
				remoteaccess.Node{Name: "RAS1", InterfaceName: iface, State: "Converged(default)", HostPriority: 1, IsLocal: server == "RAS1"},
				remoteaccess.Node{Name: "RAS2", InterfaceName: iface, State: remoteaccess.NodeConverged, HostPriority: 2, IsLocal: server == "RAS2"})
		}
		if !slices.Equal(nodes[server], want) {
			t.Errorf("nodes seen from %s = %+v, want %+v", server, nodes[server], want)
		}
	}

	conns, err := ra.GetConnections(ctx, remoteaccess.ConnectionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	hosts := func(server, connectionType string) []string {
		var names []string
		for _, c := range conns[server] {
			if c.ConnectionType == connectionType && c.Server == server {
				names = append(names, c.HostName)
			}
		}
		slices.Sort(names)
		return names
	}
	if got := hosts("RAS1", "DirectAccess"); !slices.Equal(got, []string{"client1.corp.example", "client10.corp.example", "client2.corp.example"}) {
		t.Errorf("DirectAccess clients on RAS1 = %q", got)
	}
	if got := hosts("RAS2", "DirectAccess"); !slices.Equal(got, []string{"client2.corp.example", "laptop-äö.corp.example"}) {
		t.Errorf("DirectAccess clients on RAS2 = %q", got)
	}
	if got := hosts("RAS2", "Vpn"); len(got) != 3 {
		t.Errorf("VPN connections on RAS2 = %q, want bob's, carol's and CLIENT2's device tunnel", got)
	}
	if stats := clients["RAS1"].Stats(); stats.Commands == 0 {
		t.Errorf("RAS1's client ran no command: %+v", stats)
	}
}

// The certificates name the address the provider dials, and only that server's.
func TestLabCertificatesVerifyForEachServerAddress(t *testing.T) {
	info := startLab(t, lab.Config{}).Info()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(info.CACertificatePEM))
	dial := func(address, serverName string) error {
		d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}}
		conn, err := d.DialContext(deadline(t, 2*time.Minute), "tcp", net.JoinHostPort(address, strconv.Itoa(info.WinRMPort)))
		if err == nil {
			_ = conn.Close()
		}
		return err
	}
	for _, s := range info.Servers {
		if err := dial(s.Address, s.Address); err != nil {
			t.Errorf("%s at %s: %v", s.Name, s.Address, err)
		}
		if err := dial(s.Address, strings.ToLower(s.Name)+".corp.example"); err != nil {
			t.Errorf("%s by name: %v", s.Name, err)
		}
	}
	var hostnameErr x509.HostnameError
	if err := dial(info.ServerAddresses[0], info.ServerAddresses[1]); !errors.As(err, &hostnameErr) {
		t.Errorf("RAS1's certificate checked for RAS2's address: %v; want a host name mismatch", err)
	}
}

// The end-to-end requirement, over WinRM and LDAP only: a purged client whose account is enabled comes
// back; once its computer account is disabled, a purge keeps it out. Exact identities leave CLIENT10 alone.
func TestLabPurgedClientStaysOutOnlyOnceItsAccountIsDisabled(t *testing.T) {
	l := startLab(t, lab.Config{ReestablishDelay: reestablishDelay})
	info := l.Info()
	ra, clients := connect(t, info)
	ctx := deadline(t, 2*time.Minute)
	ras1 := clients["RAS1"]

	before, err := remoteaccess.GetIPsecSAs(ctx, ras1, client1)
	if err != nil || len(before.MainMode) != 2 {
		t.Fatalf("CLIENT1's SAs before the purge = %+v, %v; want its two tunnels", before, err)
	}
	client10Before, err := remoteaccess.GetIPsecSAs(ctx, ras1, client10)
	if err != nil || len(client10Before.MainMode) != 2 {
		t.Fatalf("CLIENT10's SAs = %+v, %v", client10Before, err)
	}

	purged, err := ra.PurgeDevice(ctx, client1, "client1.corp.example", true)
	if err != nil || purged["RAS1"].MainModeRemoved != 2 || purged["RAS1"].QuickModeRemoved != 4 || purged["RAS2"].MainModeRemoved != 0 {
		t.Fatalf("PurgeDevice CLIENT1 = %+v, %v", purged, err)
	}
	client10After, err := remoteaccess.GetIPsecSAs(ctx, ras1, client10)
	if err != nil || !slices.Equal(saNames(client10After), saNames(client10Before)) {
		t.Errorf("CLIENT10's SAs after purging CLIENT1 = %q, %v; want the same SAs %q", saNames(client10After), err, saNames(client10Before))
	}

	// CLIENT1$ and alice are enabled: the client re-establishes new SAs by itself.
	var back remoteaccess.IPsecSAs
	for len(back.MainMode) < 2 {
		time.Sleep(reestablishDelay / 3)
		if back, err = remoteaccess.GetIPsecSAs(ctx, ras1, client1); err != nil {
			t.Fatalf("CLIENT1 did not come back after the purge: %v", err)
		}
	}
	if slices.ContainsFunc(saNames(back), func(name string) bool { return slices.Contains(saNames(before), name) }) {
		t.Errorf("SAs after re-establishment %q reuse the purged ones %q", saNames(back), saNames(before))
	}

	labclient.SetEnabled(t, info, "CLIENT1$", false)
	purged, err = ra.PurgeDevice(ctx, client1, "client1.corp.example", true)
	if err != nil || purged["RAS1"].MainModeRemoved != 2 {
		t.Fatalf("second PurgeDevice CLIENT1 = %+v, %v", purged, err)
	}
	if seen, err := cameBack(t, ra, client1); err != nil || len(seen) != 0 {
		t.Errorf("servers with CLIENT1's SAs after disabling CLIENT1$ and purging = %q, %v; want none", seen, err)
	}
}

// With ExternalDirectory the clients ask that directory; here it is an ldapserver the lab did not start.
func TestLabWithExternalDirectory(t *testing.T) {
	seed, err := ldapserver.LoadSeed("testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := ldapserver.New(seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	admin := dir.AdminCredentials()
	external := lab.ExternalDirectory{URL: dir.LDAPSURL(), CACertPEM: dir.CACertPEM(), BindUsername: admin.DownLevel, BindPassword: admin.Password}

	wrong := external
	wrong.BindPassword = "not-the-password"
	if l, err := lab.Start(lab.Config{ExternalDirectory: &wrong}); err == nil {
		_ = l.Close()
		t.Error("Start with a wrong bind password for the external directory succeeded")
	}

	l := startLab(t, lab.Config{ExternalDirectory: &external, ReestablishDelay: reestablishDelay})
	info := l.Info()
	if l.Directory() != nil || info.LDAPSURL != dir.LDAPSURL() || info.LDAPURL != "" || info.BaseDN != dir.BaseDN() ||
		info.LDAPBindUsername != admin.DownLevel || !strings.Contains(info.CACertificatePEM, string(dir.CACertPEM())) {
		t.Errorf("Info with an external directory = %+v", info)
	}

	labclient.SetEnabled(t, info, "CLIENT10$", false) // verifies the external directory with Info's bundle
	ra, _ := connect(t, info)                         // and the WinRM servers with the same bundle
	ctx := deadline(t, 2*time.Minute)
	if _, err := ra.PurgeDevice(ctx, client10, "", false); err != nil {
		t.Fatal(err)
	}
	if seen, err := cameBack(t, ra, client10); err != nil || len(seen) != 0 {
		t.Errorf("CLIENT10, disabled in the external directory, came back on %q (%v)", seen, err)
	}
}

func TestLabOnAFixedPortReleasesItOnClose(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.21:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	_ = probe.Close()

	cfg := lab.Config{Servers: []string{"RAS1", "RAS2"}, FirstAddress: "127.0.0.21", Port: port}
	first, err := lab.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := first.Info(); got.WinRMPort != port || got.Servers[1].Port != port || got.Servers[1].Address != "127.0.0.22" {
		t.Errorf("Info on port %d = %+v", port, got)
	}
	if second, err := lab.Start(cfg); err == nil {
		_ = second.Close()
		t.Error("a second lab started on the addresses and port the first one holds")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	again := startLab(t, cfg)
	_, clients := connect(t, again.Info())
	if _, err := remoteaccess.GetNodes(deadline(t, 2*time.Minute), clients["RAS2"]); err != nil {
		t.Errorf("the lab restarted on port %d does not answer: %v", port, err)
	}
}

func TestStartRefusesAWrongConfig(t *testing.T) {
	tests := map[string]struct {
		cfg  lab.Config
		want string
	}{
		"address outside loopback":     {lab.Config{FirstAddress: "192.0.2.10"}, "loopback"},
		"directory address not in SAN": {lab.Config{DirectoryAddress: "127.0.0.10"}, "127.0.0.1"},
		"server not in the cluster":    {lab.Config{Servers: []string{"RAS1"}}, "RAS2"},
		"missing cluster seed":         {lab.Config{ClusterSeed: "testdata/no-such-file.json"}, "no-such-file"},
		"port out of range":            {lab.Config{Port: 70000}, "port"},
		"external directory sans url":  {lab.Config{ExternalDirectory: &lab.ExternalDirectory{}}, "url"},
		"kerberos sans realm":          {lab.Config{Kerberos: &lab.Kerberos{Keytab: "http.keytab"}}, "realm"},
		"kerberos keytab missing":      {lab.Config{Kerberos: &lab.Kerberos{Keytab: "testdata/no-such.keytab", Realm: "SAMBA.TEST"}}, "no-such.keytab"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			l, err := lab.Start(tt.cfg)
			if err == nil {
				_ = l.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// The embedded default cluster seed is a copy (go:embed cannot reach into another package): it must not drift.
func TestEmbeddedClusterSeedIsTheClusterPackages(t *testing.T) {
	copied, err := cluster.LoadSeed("testdata/cluster.json")
	if err != nil {
		t.Fatal(err)
	}
	original, err := cluster.LoadSeed("cluster/testdata/cluster.json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(copied, original) {
		t.Error("internal/lab/testdata/cluster.json differs from internal/lab/cluster/testdata/cluster.json: copy it again")
	}
}

func TestLoadConfig(t *testing.T) {
	cfg, err := lab.LoadConfig("testdata/lab.json")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Servers, []string{"RAS1", "RAS2"}) || cfg.Port != 5986 || cfg.FirstAddress != "127.0.0.11" ||
		cfg.ReestablishDelay != 2*time.Second || cfg.ConvergenceDelay != 3*time.Second || cfg.Username != `CORP\labadmin` ||
		cfg.DirectorySeed != "testdata/seed.json" || cfg.ClusterSeed != "testdata/cluster.json" || cfg.ExternalDirectory != nil {
		t.Errorf("testdata/lab.json = %+v", cfg)
	}

	external, err := lab.ParseConfig([]byte(`{"external_directory": {"url": "ldaps://dc1.samba.test",
		"ca_cert_pem": "-----BEGIN CERTIFICATE-----\n", "bind_username": "SAMBATEST\\Administrator", "bind_password": "p"}}`))
	if err != nil || external.ExternalDirectory == nil || string(external.ExternalDirectory.CACertPEM) != "-----BEGIN CERTIFICATE-----\n" ||
		external.ExternalDirectory.BindUsername != `SAMBATEST\Administrator` {
		t.Errorf("external directory config = %+v, %v", external.ExternalDirectory, err)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lab.json"), []byte(`{"kerberos": {"keytab": "http.keytab", "realm": "SAMBA.TEST"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	withKerberos, err := lab.LoadConfig(filepath.Join(dir, "lab.json"))
	if err != nil || withKerberos.Kerberos == nil || withKerberos.Kerberos.Keytab != filepath.Join(dir, "http.keytab") {
		t.Errorf("kerberos config = %+v, %v; want the keytab next to the file", withKerberos.Kerberos, err)
	}

	for _, bad := range []string{`{"prot": 5986}`, `{"reestablish_delay": "soon"}`, `{"servers": "RAS1"}`} {
		if _, err := lab.ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s) succeeded", bad)
		}
	}
}
