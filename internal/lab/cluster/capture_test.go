package cluster

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func newLabFromFile(t *testing.T, path string) *lab {
	t.Helper()
	seed, err := LoadSeed(path)
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{dir: &fakeDirectory{}, clock: &manualClock{now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}}
	opts := seed.Options()
	opts.Directory, opts.Clock, opts.ReestablishDelay = l.dir, l.clock.Now, testDelay
	if l.Cluster, err = New(opts); err != nil {
		t.Fatal(err)
	}
	return l
}

// The documented example of Get-RemoteAccessConnectionStatistics prints ClientIPAddress as an array and the user in
// its DNS-domain form; its next step disconnects the connection by its IPv4 address, and the statistics are empty.
func TestDocumentedExampleAsSeed(t *testing.T) {
	l := newLabFromFile(t, "testdata/capture-documented.json")
	nodes := succeed[struct{ Nodes []nodeView }](t, l, "node1", "get-nodes/v1", map[string]any{}).Nodes
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"node1", "node2", "Node01"}) || l.opts.Domain.NetBIOSName != "CORP" {
		t.Errorf("nodes of the documented examples = %q", names)
	}
	conns := l.connections(t, "node1")
	if len(conns) != 1 {
		t.Fatalf("connections = %+v, want the example's one", conns)
	}
	c := conns[0]
	if c.ClientIPAddress != "10.1.1.11" || !slices.Equal(c.ClientIPAddresses, []string{"10.1.1.11", "2002:836b:2:2000:7407:f734:9281:f9a3"}) ||
		!slices.Equal(c.UserNames, []string{`corp.contoso.com\remoteuser1`}) || c.ConnectionDurationSeconds != 220 || c.ConnectionType != "Vpn" {
		t.Errorf("the example's connection = %+v", c)
	}
	got := succeed[struct{ Disconnected []string }](t, l, "node1", "disconnect-vpn/v1", map[string]any{"host_ip_address": "10.1.1.11"})
	if !slices.Equal(got.Disconnected, []string{"10.1.1.11"}) {
		t.Errorf("Disconnect-VpnUser -HostIPAddress 10.1.1.11 -PassThru = %q, want the address as in the example", got.Disconnected)
	}
	if left := l.connections(t, "node1"); len(left) != 0 {
		t.Errorf("after the disconnect the statistics list %q", describe(left))
	}
}

func TestCaptureAsSeed(t *testing.T) {
	l := newLabFromFile(t, "testdata/capture-synthetic.json")
	all := l.sas(t, "HOST1")
	if len(all.MainMode) != 3 || all.QuickModeCount != 3 || all.MainMode[1].RemoteFirstID != "CN=host2.domain1.example" {
		t.Fatalf("captured SAs = %+v", all)
	}
	host2 := map[string]any{"identities": []string{`DOMAIN1\HOST2$`, "host2.domain1.example"}, "computer_name": "HOST2", "disconnect_vpn": true}
	got := succeed[sasVerdict](t, l, "HOST1", "get-ipsec-sas/v1", map[string]any{"identities": host2["identities"], "device": true})
	if len(got.MainMode) != 2 || got.MainMode[1].MatchedBy != "endpoint" || got.Indeterminate {
		t.Errorf("HOST2's captured SAs = %+v", got)
	}
	purged := succeed[verdictResult](t, l, "HOST1", "purge-device/v1", host2)
	if purged.MainModeRemoved != 2 || purged.QuickModeRemoved != 3 || purged.MainModeMatchedByEndpoint != 1 {
		t.Errorf("purge-device HOST2 on the capture = %+v", purged)
	}
	// Captured rows have no client behind them: what is removed stays gone.
	l.clock.Advance(time.Hour)
	if left := l.sas(t, "HOST1"); len(left.MainMode) != 1 || left.MainMode[0].Name != "9" {
		t.Errorf("SAs left = %+v, want HOST20's only", left.MainMode)
	}
	device := succeed[sasVerdict](t, l, "HOST1", "get-ipsec-sas/v1", map[string]any{"identities": []string{"host3.domain1.example"}})
	if len(device.VPNConnections) != 1 || !device.VPNConnections[0].DeviceTunnel || !slices.Equal(device.VPNConnections[0].ClientIPAddresses, []string{"192.0.2.30"}) {
		t.Errorf("HOST3's device tunnel = %+v", device.VPNConnections)
	}
	conns := l.connections(t, "HOST1")
	if len(conns) != 3 || conns[0].ConnectionStartTime != "2026-11-30T08:00:00Z" || conns[2].ClientIPAddress != "192.0.2.31" {
		t.Errorf("captured connections = %+v", conns)
	}
}

func TestCaptureValidation(t *testing.T) {
	for name, doc := range map[string]string{
		"no computer": `{"format":"remoteaccess-capture/v1","main_mode_sas":[]}`,
		"nameless SA": `{"format":"remoteaccess-capture/v1","computer_name":"H1","main_mode_sas":[{"properties":{}}]}`,
		"bad time":    `{"format":"remoteaccess-capture/v1","computer_name":"H1","connections":[{"ConnectionStartTime":"yesterday"}]}`,
	} {
		if _, err := ParseSeed([]byte(doc)); err == nil {
			t.Errorf("%s: ParseSeed accepted %s", name, doc)
		}
	}
}

func TestCaptureWithByteOrderMark(t *testing.T) {
	data, err := os.ReadFile("testdata/capture-documented.json")
	if err != nil {
		t.Fatal(err)
	}
	if seed, err := ParseSeed(append([]byte("\uFEFF"), data...)); err != nil || len(seed.Nodes) != 3 {
		t.Errorf("ParseSeed of a capture with a BOM = %+v, %v", seed, err)
	}
}

// The bootstrap detects Constrained Language Mode before it builds the script block, and the lab answers as the
// bootstrap does.
func TestConstrainedLanguageModeIsNamed(t *testing.T) {
	bootstrap, err := os.ReadFile("../../winrm/bootstrap.ps1")
	if err != nil {
		t.Fatal(err)
	}
	text := string(bootstrap)
	detect := strings.Index(text, "$ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'")
	if detect < 0 || detect > strings.Index(text, "[ScriptBlock]::Create") || detect > strings.Index(text, "[Console]") ||
		!strings.Contains(text, "category = 'SecurityError'; target = 'LanguageMode'") {
		t.Fatalf("the bootstrap does not detect Constrained Language Mode first:\n%s", text)
	}
	l := newLab(t)
	l.SetLanguageMode("RAS2", "ConstrainedLanguage")
	e := fail(t, l, "RAS2", "get-ipsec-sas/v1", map[string]any{})
	if e.Category != "SecurityError" || e.Target != "LanguageMode" || !strings.Contains(e.Message, "ConstrainedLanguage") {
		t.Errorf("a script on a constrained server: %+v", e)
	}
	if got := l.sas(t, "RAS1"); len(got.MainMode) == 0 {
		t.Errorf("RAS1 is not constrained: %+v", got)
	}
}

// Every address of the flattened array names the connection: the example's IPv6 tunnel address disconnects it too.
func TestDocumentedExampleDisconnectsByEitherAddress(t *testing.T) {
	l := newLabFromFile(t, "testdata/capture-documented.json")
	v6 := "2002:836b:2:2000:7407:f734:9281:f9a3"
	got := succeed[struct{ Disconnected []string }](t, l, "node1", "disconnect-vpn/v1", map[string]any{"host_ip_address": v6})
	if !slices.Equal(got.Disconnected, []string{v6}) || len(l.connections(t, "node1")) != 0 {
		t.Errorf("Disconnect-VpnUser -HostIPAddress %s = %q", v6, got.Disconnected)
	}
}

// The capture script writes exactly the fields Capture reads: a field added on one side only would be lost.
func TestCaptureScriptWritesWhatTheLabReads(t *testing.T) {
	script, err := os.ReadFile("../../../scripts/capture-remoteaccess.ps1")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(script), "$capture = [ordered]@{")
	if !ok {
		t.Fatal("the script builds no $capture")
	}
	block, _, _ = strings.Cut(block, "\n}")
	var written []string
	for _, line := range strings.Split(block, "\n") {
		if name, _, found := strings.Cut(strings.TrimSpace(line), " "); found && name != "" {
			written = append(written, name)
		}
	}
	var read []string
	for f := range reflect.TypeFor[Capture]().Fields() {
		read = append(read, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	slices.Sort(written)
	slices.Sort(read)
	if !slices.Equal(written, read) {
		t.Errorf("the capture script writes %q; capture.go reads %q", written, read)
	}
}
