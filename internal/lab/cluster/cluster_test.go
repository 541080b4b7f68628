package cluster

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGetConnectionsListsThisServerOnly(t *testing.T) {
	l := newLab(t)
	tests := []struct {
		server string
		filter map[string]any
		want   []string
	}{
		{"RAS1", map[string]any{}, []string{
			`DirectAccess:client1.corp.example:CORP\alice`, `DirectAccess:client10.corp.example:CORP\bob`,
			`DirectAccess:client2.corp.example:CORP\carol`,
		}},
		{"RAS2", map[string]any{}, []string{
			`DirectAccess:client2.corp.example:CORP\carol`, `DirectAccess:laptop-äö.corp.example:CORP\mallory`,
			`Vpn::CORP\bob`, `Vpn::CORP\carol`, `Vpn:client2.corp.example:client2.corp.example`,
		}},
		// Filters are exact and case-insensitive: client1 never matches client10.
		{"RAS1", map[string]any{"host_name": "CLIENT1.corp.example"}, []string{`DirectAccess:client1.corp.example:CORP\alice`}},
		{"RAS1", map[string]any{"host_name": "client1"}, nil},
		{"RAS2", map[string]any{"user_name": `corp\CAROL`}, []string{`DirectAccess:client2.corp.example:CORP\carol`, `Vpn::CORP\carol`}},
		{"RAS2", map[string]any{"user_name": `CORP\car`}, nil},
		{"RAS2", map[string]any{"user_name": `CORP\carol`, "host_name": "client2.corp.example"}, []string{`DirectAccess:client2.corp.example:CORP\carol`}},
	}
	for _, tt := range tests {
		got := describe(succeed[connectionsResult](t, l, tt.server, "get-connections/v1", tt.filter).Connections)
		if !slices.Equal(got, tt.want) {
			t.Errorf("get-connections on %s %v = %q, want %q", tt.server, tt.filter, got, tt.want)
		}
	}
}

func TestConnectionStatisticsGrowWithTime(t *testing.T) {
	l := newLab(t)
	before := l.connections(t, "RAS2")
	l.clock.Advance(time.Minute)
	after := l.connections(t, "RAS2")
	for i := range before {
		b, a := before[i], after[i]
		if a.ConnectionDurationSeconds != b.ConnectionDurationSeconds+60 || a.TotalBytesIn <= b.TotalBytesIn || a.TotalBytesOut <= b.TotalBytesOut {
			t.Errorf("%s: duration %d -> %d, bytes in %d -> %d, out %d -> %d: want 60 s more and more bytes",
				a.HostName, b.ConnectionDurationSeconds, a.ConnectionDurationSeconds, b.TotalBytesIn, a.TotalBytesIn, b.TotalBytesOut, a.TotalBytesOut)
		}
		if a.ConnectionStartTime != b.ConnectionStartTime || a.Server != "RAS2" || a.ClientIPAddress == "" {
			t.Errorf("connection %+v: start time must not move, server must be RAS2, address set", a)
		}
	}
	vpn := after[2]
	// The values are those the RemoteAccessConnection class documents (rows.go).
	if vpn.ConnectionType != "Vpn" || vpn.TunnelType != "Ikev2" || vpn.AuthMethod != "Eap Tls" || vpn.TransitionTechnology != "" {
		t.Errorf("VPN user tunnel = %+v", vpn)
	}
	if da := after[0]; da.TransitionTechnology != "IPHttps" || da.TunnelType != "Esp" || da.AuthMethod != "Machine Certificate & User Kerberos" {
		t.Errorf("DirectAccess connection = %+v", da)
	}
	if device := after[4]; device.AuthMethod != "Machine Certificate" || device.TunnelType != "Ikev2" {
		t.Errorf("VPN device tunnel = %+v", device)
	}
}

func TestGetIPsecSAsHasTwoTunnelsPerClient(t *testing.T) {
	l := newLab(t)
	got := l.sas(t, "RAS1", `corp\client1$`)
	if len(got.MainMode) != 2 || got.QuickModeCount != 4 {
		t.Fatalf("SAs of CLIENT1 = %+v, want 2 main-mode SAs with 4 quick-mode SAs", got)
	}
	infra, intranet := got.MainMode[0], got.MainMode[1]
	if infra.RemoteFirstID != `CORP\CLIENT1$` || infra.AuthMethodFirst != "ComputerCert" || infra.AuthMethodSecond != "ComputerNtlm" {
		t.Errorf("infrastructure tunnel = %+v", infra)
	}
	if intranet.RemoteSecondID != `CORP\alice` || intranet.AuthMethodSecond != "UserKerberos" || intranet.QuickModeCount != 2 {
		t.Errorf("intranet tunnel = %+v", intranet)
	}
	if all := l.sas(t, "RAS1"); len(all.MainMode) != 6 {
		t.Errorf("RAS1 has %d main-mode SAs, want 6 (three clients with two tunnels)", len(all.MainMode))
	}
	if none := l.sas(t, "RAS1", "CLIENT1"); len(none.MainMode) != 0 {
		t.Errorf("identity CLIENT1 matched %+v; identities must match exactly", none.MainMode)
	}
}

func TestPurgeDeviceMatchesExactlyAndRemovesQuickModeWithMainMode(t *testing.T) {
	l := newLab(t)
	l.dir.disable("CLIENT1$")
	got := succeed[purgeResult](t, l, "RAS1", "purge-device/v1", map[string]any{
		"identities": []string{`CORP\client1$`, "client1.corp.example"}, "computer_name": "CLIENT1", "disconnect_vpn": true,
	})
	if got != (purgeResult{MainModeRemoved: 2, QuickModeRemoved: 4}) {
		t.Errorf("purge-device CLIENT1 = %+v, want 2 main-mode and 4 quick-mode SAs removed", got)
	}
	if left := l.sas(t, "RAS1", `CORP\CLIENT1$`); len(left.MainMode) != 0 || left.QuickModeCount != 0 {
		t.Errorf("CLIENT1 still has SAs after the purge: %+v", left)
	}
	if kept := l.sas(t, "RAS1", `CORP\CLIENT10$`); len(kept.MainMode) != 2 || kept.QuickModeCount != 4 {
		t.Errorf("purging CLIENT1 touched CLIENT10: %+v", kept)
	}
}

func TestPurgeDeviceOnEveryServerWithDeviceTunnel(t *testing.T) {
	l := newLab(t)
	l.dir.disable("CLIENT2$")
	in := map[string]any{"identities": []string{`CORP\CLIENT2$`, "client2.corp.example"}, "computer_name": "CLIENT2", "disconnect_vpn": true}
	ras1 := succeed[purgeResult](t, l, "RAS1", "purge-device/v1", in)
	ras2 := succeed[purgeResult](t, l, "RAS2", "purge-device/v1", in)
	if ras1 != (purgeResult{MainModeRemoved: 2, QuickModeRemoved: 4}) ||
		ras2 != (purgeResult{MainModeRemoved: 2, QuickModeRemoved: 4, VPNDeviceTunnelsDisconnected: 1}) {
		t.Errorf("purge-device CLIENT2: RAS1 %+v, RAS2 %+v; want the DirectAccess SAs on both and the device tunnel on RAS2", ras1, ras2)
	}
	// The user tunnel of carol, who uses CLIENT2, is not a device tunnel and stays.
	if got := describe(l.connections(t, "RAS2")); !slices.Contains(got, `Vpn::CORP\carol`) || slices.Contains(got, `Vpn:client2.corp.example:client2.corp.example`) {
		t.Errorf("RAS2 connections after the purge = %q", got)
	}
}

func TestPurgeDeviceWithoutVPNKeepsTheDeviceTunnel(t *testing.T) {
	l := newLab(t)
	l.dir.disable("CLIENT2$")
	got := succeed[purgeResult](t, l, "RAS2", "purge-device/v1", map[string]any{"identities": []string{"client2.corp.example"}, "computer_name": "client2.corp.example"})
	if got.VPNDeviceTunnelsDisconnected != 0 || got.MainModeRemoved != 0 {
		t.Errorf("purge-device without disconnect_vpn = %+v; the FQDN is not a DirectAccess identity and VPN was not asked for", got)
	}
}

func TestPurgeUserRemovesOnlyTheIntranetTunnelAndVPN(t *testing.T) {
	l := newLab(t)
	l.dir.disable("carol")
	in := map[string]any{"identities": []string{"carol@corp.example"}, "user_name": `CORP\carol`}
	ras2 := succeed[purgeResult](t, l, "RAS2", "purge-user/v1", in)
	if ras2 != (purgeResult{MainModeRemoved: 1, QuickModeRemoved: 2, VPNConnectionsDisconnected: 1}) {
		t.Errorf("purge-user carol on RAS2 = %+v", ras2)
	}
	l.clock.Advance(testDelay)
	left := l.sas(t, "RAS2", `CORP\CLIENT2$`)
	if len(left.MainMode) != 1 || left.MainMode[0].AuthMethodSecond != "ComputerNtlm" {
		t.Errorf("CLIENT2 SAs on RAS2 after purging carol = %+v; want the infrastructure tunnel only", left.MainMode)
	}
	if got := describe(l.connections(t, "RAS2")); slices.Contains(got, `Vpn::CORP\carol`) || !slices.Contains(got, `DirectAccess:client2.corp.example:`) {
		t.Errorf("RAS2 connections after purging carol = %q", got)
	}
}

func TestIdentitiesAreRequired(t *testing.T) {
	l := newLab(t)
	for _, script := range []string{"purge-device/v1", "purge-user/v1"} {
		if e := fail(t, l, "RAS1", script, map[string]any{"identities": []string{""}}); e.Category != "InvalidArgument" {
			t.Errorf("%s without identities: %+v, want InvalidArgument", script, e)
		}
	}
}

func TestClientsReestablishOnlyWhileTheirAccountsAreEnabled(t *testing.T) {
	tests := []struct {
		name     string
		disabled []string
		want     int // main-mode SAs of CLIENT1 once the delay has passed
	}{
		{"both enabled", nil, 2},
		{"computer disabled", []string{"CLIENT1$"}, 0},
		{"user disabled", []string{"alice"}, 1}, // the infrastructure tunnel needs the computer only
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			l.dir.disable(tt.disabled...)
			succeed[purgeResult](t, l, "RAS1", "purge-device/v1", map[string]any{"identities": []string{`CORP\CLIENT1$`}})
			l.clock.Advance(testDelay - time.Second)
			if got := l.sas(t, "RAS1", `CORP\CLIENT1$`); len(got.MainMode) != 0 {
				t.Fatalf("SAs came back before the re-establish delay: %+v", got.MainMode)
			}
			l.clock.Advance(time.Second)
			got := l.sas(t, "RAS1", `CORP\CLIENT1$`)
			if len(got.MainMode) != tt.want {
				t.Fatalf("after the delay CLIENT1 has %d main-mode SAs, want %d", len(got.MainMode), tt.want)
			}
			if tt.want == 2 && got.MainMode[0].Name == "1" {
				t.Errorf("re-established SA kept its old name %q", got.MainMode[0].Name)
			}
		})
	}
}

// A link that goes down while the directory is being asked about its account waits for the next look: the answer
// may predate the disable that came with the purge (a purge check against Samba once failed on a busy machine so).
func TestLinkDroppedWhileTheDirectoryIsAskedWaitsForTheNextLook(t *testing.T) {
	l := newLab(t)
	in := map[string]any{"identities": []string{`CORP\CLIENT2$`}, "computer_name": "CLIENT2"}
	succeed[purgeResult](t, l, "RAS1", "purge-device/v1", in) // due again on RAS1 once the delay has passed
	l.clock.Advance(testDelay)
	l.dir.mu.Lock()
	l.dir.whileAsked = func() {
		// The next look asks whether CLIENT2 may come back on RAS1 (it is still enabled); meanwhile its account is
		// disabled and RAS2 purged, and time passes.
		l.dir.disable("CLIENT2$")
		succeed[purgeResult](t, l, "RAS2", "purge-device/v1", in)
		l.clock.Advance(testDelay)
	}
	l.dir.mu.Unlock()
	l.sas(t, "RAS1", `CORP\CLIENT2$`) // the look whose answer predates the disable
	if got := l.sas(t, "RAS2", `CORP\CLIENT2$`); len(got.MainMode) != 0 {
		t.Errorf("CLIENT2 came back on RAS2 after its account was disabled: %+v", got.MainMode)
	}
}

func TestReenabledClientComesBack(t *testing.T) {
	l := newLab(t)
	l.dir.disable("bob")
	succeed[purgeResult](t, l, "RAS2", "purge-user/v1", map[string]any{"user_name": `CORP\bob`})
	l.clock.Advance(time.Hour)
	if got := describe(l.connections(t, "RAS2")); slices.Contains(got, `Vpn::CORP\bob`) {
		t.Fatalf("bob's VPN came back while disabled: %q", got)
	}
	l.dir.disabled = nil
	if got := describe(l.connections(t, "RAS2")); !slices.Contains(got, `Vpn::CORP\bob`) {
		t.Errorf("bob's VPN did not come back once enabled: %q", got)
	}
}

func TestDisconnectVPN(t *testing.T) {
	l := newLab(t)
	l.dir.disable("bob", "carol")
	for _, in := range []map[string]any{{}, {"user_name": `CORP\bob`, "host_ip_address": "10.10.0.11"}} {
		if e := fail(t, l, "RAS2", "disconnect-vpn/v1", in); e.Category != "InvalidArgument" {
			t.Errorf("disconnect-vpn %v: %+v, want InvalidArgument", in, e)
		}
	}
	got := succeed[struct{ Disconnected []string }](t, l, "RAS2", "disconnect-vpn/v1", map[string]any{"user_name": `corp\BOB`})
	if !slices.Equal(got.Disconnected, []string{`CORP\bob`}) {
		t.Errorf("disconnect bob = %q", got.Disconnected)
	}
	var carolAddress string
	for _, c := range l.connections(t, "RAS2") {
		if slices.Contains(c.UserNames, `CORP\carol`) && c.ConnectionType == "Vpn" {
			carolAddress = c.ClientIPAddress
		}
	}
	got = succeed[struct{ Disconnected []string }](t, l, "RAS2", "disconnect-vpn/v1", map[string]any{"host_ip_address": carolAddress})
	if !slices.Equal(got.Disconnected, []string{carolAddress}) {
		t.Errorf("disconnect %s = %q", carolAddress, got.Disconnected)
	}
	if got := describe(l.connections(t, "RAS2")); slices.Contains(got, `Vpn::CORP\bob`) || slices.Contains(got, `Vpn::CORP\carol`) ||
		!slices.Contains(got, `DirectAccess:client2.corp.example:CORP\carol`) {
		t.Errorf("RAS2 connections after the disconnects = %q; DirectAccess must not be touched", got)
	}
	nobody := succeed[struct{ Disconnected []string }](t, l, "RAS1", "disconnect-vpn/v1", map[string]any{"user_name": `CORP\bob`})
	if len(nobody.Disconnected) != 0 {
		t.Errorf("disconnect on a server bob is not connected to = %q", nobody.Disconnected)
	}
}

var adminCredential = map[string]string{"user_name": `CORP\admin`, "password": "secret"}

func TestStopComputerShutsTheClientDownForGood(t *testing.T) {
	l := newLab(t)
	in := map[string]any{"computer_name": "CLIENT2.corp.example", "credential": adminCredential}
	if got := succeed[struct{ Requested bool }](t, l, "RAS1", "stop-computer/v1", in); !got.Requested {
		t.Errorf("stop-computer = %+v", got)
	}
	l.clock.Advance(time.Hour)
	for _, server := range []string{"RAS1", "RAS2"} {
		for _, c := range l.connections(t, server) {
			if c.HostName == "client2.corp.example" {
				t.Errorf("CLIENT2 is still connected to %s after shutdown: %+v", server, c)
			}
		}
	}
	if e := fail(t, l, "RAS1", "stop-computer/v1", map[string]any{"computer_name": "client2.corp.example", "credential": adminCredential}); e.Category != "ResourceUnavailable" {
		t.Errorf("stop-computer of a computer that is off: %+v", e)
	}
	if e := fail(t, l, "RAS1", "stop-computer/v1", map[string]any{"computer_name": "client", "credential": adminCredential}); e.Category != "ResourceUnavailable" {
		t.Errorf("stop-computer of a name no client has exactly: %+v", e)
	}
}

// From a WinRM session, Stop-Computer reaching the client is a second hop: without a credential the script refuses
// before anything happens, and the client stays connected.
func TestStopComputerWithoutCredentialIsRefusedUpFront(t *testing.T) {
	l := newLab(t)
	e := fail(t, l, "RAS1", "stop-computer/v1", map[string]any{"computer_name": "client2.corp.example"})
	if e.Category != "PermissionDenied" || e.Target != "credential" || !strings.Contains(e.Message, "second hop") {
		t.Errorf("stop-computer without a credential: %+v; want PermissionDenied on credential, naming the second hop", e)
	}
	if got := l.sas(t, "RAS1", `CORP\CLIENT2$`); len(got.MainMode) != 2 {
		t.Errorf("CLIENT2 after a refused shutdown: %+v; want it untouched", got)
	}
}

// A batch's look lists the server after the batch's purges; when the listing fails (FailListing), the look is
// look_error and the devices keep their results, while get-ipsec-sas/v1 fails as a whole.
func TestBatchLookFailsAloneWhenTheListingFails(t *testing.T) {
	l := newLab(t)
	in := map[string]any{
		"devices": []map[string]any{{"identities": []string{`CORP\CLIENT1$`}}},
		"look":    map[string]any{"identities": []string{`CORP\CLIENT1$`, `CORP\CLIENT10$`}, "device": true},
	}
	type batch struct {
		Devices []purgeResult `json:"devices"`
		Look    *sasResult    `json:"look"`
		Error   *scriptError  `json:"look_error"`
	}
	if got := succeed[batch](t, l, "RAS1", "purge-devices/v1", in); got.Look == nil || got.Error != nil ||
		len(got.Look.MainMode) != 2 || got.Look.MainMode[0].RemoteFirstID != `CORP\CLIENT10$` {
		t.Errorf("the look after CLIENT1's purge: %+v; want CLIENT10's two SAs only", got)
	}
	l.FailListing("ras1", true)
	got := succeed[batch](t, l, "RAS1", "purge-devices/v1", in)
	if got.Look != nil || got.Error == nil || got.Error.Category != "ResourceUnavailable" || len(got.Devices) != 1 {
		t.Errorf("a batch whose look fails: %+v; want look_error and the device's result", got)
	}
	if e := fail(t, l, "RAS1", "get-ipsec-sas/v1", map[string]any{"identities": []string{`CORP\CLIENT10$`}}); e.Category != "ResourceUnavailable" {
		t.Errorf("get-ipsec-sas/v1 with the listing failing: %+v", e)
	}
	l.FailListing("RAS1", false)
	succeed[sasResult](t, l, "RAS1", "get-ipsec-sas/v1", map[string]any{"identities": []string{`CORP\CLIENT10$`}})
}
