package cluster

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// newLabFrom builds a lab from a seed document with a fake directory and a manual clock.
func newLabFrom(t *testing.T, seedJSON string) *lab {
	t.Helper()
	seed, err := ParseSeed([]byte(seedJSON))
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{dir: &fakeDirectory{}, clock: &manualClock{now: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}}
	opts := seed.Options()
	opts.Directory, opts.Clock, opts.ReestablishDelay, opts.ConvergenceDelay = l.dir, l.clock.Now, testDelay, testConvergence
	if l.Cluster, err = New(opts); err != nil {
		t.Fatal(err)
	}
	return l
}

type verdictResult struct {
	MainModeRemoved              int           `json:"main_mode_removed"`
	MainModeMatchedByEndpoint    int           `json:"main_mode_matched_by_endpoint"`
	QuickModeRemoved             int           `json:"quick_mode_removed"`
	VPNDeviceTunnelsDisconnected int           `json:"vpn_device_tunnels_disconnected"`
	VPNConnectionsDisconnected   int           `json:"vpn_connections_disconnected"`
	Failures                     []itemFailure `json:"vpn_disconnect_failures"`
	Indeterminate                bool          `json:"indeterminate"`
	IndeterminateReason          string        `json:"indeterminate_reason"`
}

type sasVerdict struct {
	MainMode       []mainModeSA `json:"main_mode"`
	VPNConnections []vpnView    `json:"vpn_connections"`
	Indeterminate  bool         `json:"indeterminate"`
	Reason         string       `json:"indeterminate_reason"`
}

const domain = `"domain":{"dns_name":"corp.example","netbios_name":"CORP"}`

func device(name string) map[string]any {
	return map[string]any{"identities": []string{`CORP\` + name + "$", strings.ToLower(name) + ".corp.example"}, "computer_name": name, "disconnect_vpn": true}
}

// With certificate-authenticated DirectAccess the intranet tunnel's SA names the certificate subject and the user,
// not the computer account: it is found by the IPv6 endpoint it shares with the infrastructure tunnel, which the
// computer's NTLM identity names.
func TestCertificateDirectAccessSAsAreFoundByTheirSharedEndpoint(t *testing.T) {
	l := newLabFrom(t, `{`+domain+`,"nodes":["RAS1"],"directaccess":[
		{"computer":"CLIENT3","user":"dave","servers":["RAS1"],"transition_technology":"IPHttps","sa_identity":"certificate"},
		{"computer":"CLIENT30","user":"erin","servers":["RAS1"],"transition_technology":"IPHttps","sa_identity":"certificate"}]}`)
	got := succeed[sasVerdict](t, l, "RAS1", "get-ipsec-sas/v1", map[string]any{"identities": device("CLIENT3")["identities"], "device": true})
	var by []string
	for _, sa := range got.MainMode {
		by = append(by, sa.MatchedBy+":"+sa.RemoteSecondID)
	}
	if !slices.Equal(by, []string{`identity:CORP\CLIENT3$`, `endpoint:CORP\dave`}) || got.Indeterminate {
		t.Fatalf("SAs of CLIENT3 = %q (indeterminate %v %q); want the infrastructure tunnel by identity and the intranet tunnel by endpoint", by, got.Indeterminate, got.Reason)
	}
	// A user's SAs are never grouped by endpoint: dave's query must not take CLIENT3's infrastructure tunnel.
	dave := succeed[sasVerdict](t, l, "RAS1", "get-ipsec-sas/v1", map[string]any{"identities": []string{`CORP\dave`}})
	if len(dave.MainMode) != 1 || dave.MainMode[0].MatchedBy != "identity" || dave.MainMode[0].RemoteSecondID != `CORP\dave` {
		t.Errorf("SAs of the user dave = %+v; want his intranet tunnel only", dave.MainMode)
	}
	l.dir.disable("CLIENT3$")
	purged := succeed[verdictResult](t, l, "RAS1", "purge-device/v1", device("CLIENT3"))
	if purged.MainModeRemoved != 2 || purged.MainModeMatchedByEndpoint != 1 || purged.QuickModeRemoved != 4 || purged.Indeterminate {
		t.Errorf("purge-device CLIENT3 = %+v; want both tunnels removed, one found by endpoint", purged)
	}
	if left := l.sas(t, "RAS1"); len(left.MainMode) != 2 || left.MainMode[0].RemoteSecondID != `CORP\CLIENT30$` {
		t.Errorf("SAs left = %+v; want CLIENT30's two tunnels only", left.MainMode)
	}
}

// Fail closed: a server whose SAs carry no readable identity cannot tell whether the device is there, and a
// device whose DirectAccess address is on SAs that match none of its identities cannot be proven gone.
func TestUnreadableIdentitiesMakeTheVerdictIndeterminate(t *testing.T) {
	l := newLabFrom(t, `{`+domain+`,"nodes":["RAS1","RAS2"],"directaccess":[
		{"computer":"CLIENT4","servers":["RAS1"],"transition_technology":"Teredo","sa_identity":"unreadable"},
		{"computer":"CLIENT5","servers":["RAS2"],"transition_technology":"Teredo","sa_identity":"unreadable"},
		{"computer":"CLIENT6","servers":["RAS2"],"transition_technology":"Teredo"}]}`)
	allUnreadable := succeed[verdictResult](t, l, "RAS1", "purge-device/v1", device("CLIENT9"))
	if !allUnreadable.Indeterminate || !strings.Contains(allUnreadable.IndeterminateReason, "readable remote identity") || allUnreadable.MainModeRemoved != 0 {
		t.Errorf("purge on a server whose SAs carry no identity = %+v; want indeterminate, nothing removed", allUnreadable)
	}
	if got := succeed[sasVerdict](t, l, "RAS1", "get-ipsec-sas/v1", map[string]any{"identities": []string{`CORP\CLIENT9$`}}); !got.Indeterminate {
		t.Errorf("get-ipsec-sas on that server = %+v; want indeterminate", got)
	}
	byAddress := succeed[sasVerdict](t, l, "RAS2", "get-ipsec-sas/v1", map[string]any{"identities": device("CLIENT5")["identities"], "device": true})
	if !byAddress.Indeterminate || !strings.Contains(byAddress.Reason, "2001:0:cb00:7100::2") || len(byAddress.MainMode) != 0 {
		t.Errorf("get-ipsec-sas CLIENT5 = %+v; want indeterminate naming its address", byAddress)
	}
	if other := succeed[sasVerdict](t, l, "RAS2", "get-ipsec-sas/v1", map[string]any{"identities": device("CLIENT6")["identities"], "device": true}); other.Indeterminate || len(other.MainMode) != 1 {
		t.Errorf("get-ipsec-sas CLIENT6 = %+v; a readable device on the same server can be told", other)
	}
}

// WINDOWS.md, Always On VPN device tunnels: a device tunnel authenticates with the device's certificate, not its computer account: it
// comes back after a purge while the certificate is valid, whatever the account's state, and stays out once the
// certificate is revoked.
func TestDeviceTunnelComesBackUntilItsCertificateIsRevoked(t *testing.T) {
	l := newLabFrom(t, `{`+domain+`,"nodes":["RAS1"],"vpn":[{"computer":"CLIENT7","server":"RAS1"}]}`)
	l.dir.disable("CLIENT7$")
	if got := succeed[verdictResult](t, l, "RAS1", "purge-device/v1", device("CLIENT7")); got.VPNDeviceTunnelsDisconnected != 1 {
		t.Fatalf("purge-device CLIENT7 = %+v; want its device tunnel disconnected", got)
	}
	l.clock.Advance(testDelay)
	back := succeed[sasVerdict](t, l, "RAS1", "get-ipsec-sas/v1", map[string]any{"identities": device("CLIENT7")["identities"]})
	if len(back.VPNConnections) != 1 || !back.VPNConnections[0].DeviceTunnel || back.VPNConnections[0].AuthMethod != "Machine Certificate" {
		t.Fatalf("CLIENT7 after the purge, account disabled = %+v; want its device tunnel back", back.VPNConnections)
	}
	l.SetCertificateRevoked("CLIENT7", true)
	succeed[verdictResult](t, l, "RAS1", "purge-device/v1", device("CLIENT7"))
	l.clock.Advance(10 * testDelay)
	if gone := succeed[sasVerdict](t, l, "RAS1", "get-ipsec-sas/v1", map[string]any{"identities": device("CLIENT7")["identities"]}); len(gone.VPNConnections) != 0 {
		t.Errorf("CLIENT7 with its certificate revoked = %+v; want no tunnel", gone.VPNConnections)
	}
	revokedSeed := newLabFrom(t, `{`+domain+`,"nodes":["RAS1"],"vpn":[{"computer":"CLIENT8","server":"RAS1","certificate_revoked":true}]}`)
	succeed[verdictResult](t, revokedSeed, "RAS1", "purge-device/v1", device("CLIENT8"))
	revokedSeed.clock.Advance(10 * testDelay)
	if conns := revokedSeed.connections(t, "RAS1"); len(conns) != 0 {
		t.Errorf("a device tunnel whose certificate the seed revokes came back: %q", describe(conns))
	}
}

// Administrators report statistics rows that outlive a disconnect (documentation silent): the row stays, frozen,
// and disconnecting it again is neither a failure nor a disconnect.
func TestVPNStatisticsRowsOutliveADisconnect(t *testing.T) {
	l := newLabFrom(t, `{`+domain+`,"nodes":["RAS1"],"vpn_statistics_linger_seconds":60,"vpn":[{"user":"bob","server":"RAS1"}]}`)
	l.dir.disable("bob")
	first := succeed[struct {
		Disconnected []string      `json:"disconnected"`
		Failures     []itemFailure `json:"failures"`
	}](t, l, "RAS1", "disconnect-vpn/v1", map[string]any{"user_name": `corp\BOB`})
	if !slices.Equal(first.Disconnected, []string{`CORP\bob`}) || len(first.Failures) != 0 {
		t.Fatalf("disconnect bob = %+v", first)
	}
	l.clock.Advance(30 * time.Second)
	lingering := l.connections(t, "RAS1")
	if len(lingering) != 1 || lingering[0].ConnectionDurationSeconds != 660 {
		t.Fatalf("30 s after the disconnect the statistics list %+v; want bob's row, frozen at 660 s (connected 11 minutes)", lingering)
	}
	again := succeed[verdictResult](t, l, "RAS1", "purge-user/v1", map[string]any{"identities": []string{`CORP\bob`}})
	if again.VPNConnectionsDisconnected != 0 || len(again.Failures) != 0 {
		t.Errorf("purge-user on a lingering row = %+v; want neither a disconnect nor a failure", again)
	}
	l.clock.Advance(31 * time.Second)
	if gone := l.connections(t, "RAS1"); len(gone) != 0 {
		t.Errorf("after the linger the statistics list %q", describe(gone))
	}
}

// One address Disconnect-VpnUser fails on does not hide the others: they are disconnected, and the failure is
// listed with its target.
func TestOneFailedDisconnectDoesNotHideTheOthers(t *testing.T) {
	l := newLabFrom(t, `{`+domain+`,"nodes":["RAS1"],"vpn":[{"user":"frank","server":"RAS1"},{"user":"frank","server":"RAS1","tunnel_type":"Sstp"}]}`)
	l.FailDisconnect("10.10.0.11")
	got := succeed[verdictResult](t, l, "RAS1", "purge-device/v1", map[string]any{"identities": []string{`CORP\frank`}, "disconnect_vpn": true})
	if got.VPNDeviceTunnelsDisconnected != 1 || len(got.Failures) != 1 || got.Failures[0].Target != "10.10.0.11" {
		t.Errorf("purge with one failing address = %+v; want the other disconnected and the failure named", got)
	}
}

// An SA that expires between the listing and the removal is gone, which is what the purge wanted: neither counted
// as removed nor a failure.
func TestSAsThatVanishBeforeRemovalAreNoFailure(t *testing.T) {
	l := newLab(t)
	l.dir.disable("CLIENT1$")
	l.ExpireBeforeRemoval("RAS1")
	got := succeed[verdictResult](t, l, "RAS1", "purge-device/v1", device("CLIENT1"))
	if got.MainModeRemoved != 0 || got.QuickModeRemoved != 0 || got.Indeterminate {
		t.Errorf("purge-device while the SAs expire = %+v; want nothing counted, no failure", got)
	}
	if left := l.sas(t, "RAS1", `CORP\CLIENT1$`); len(left.MainMode) != 0 {
		t.Errorf("CLIENT1's SAs after they expired = %+v", left.MainMode)
	}
}
