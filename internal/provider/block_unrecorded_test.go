package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// labProviderServer is the provider's protocol server configured for the lab's directory, recording blocks or not,
// and with the lab's Remote Access servers when withServers is set; and the type of a device block's state.
func labProviderServer(t *testing.T, l *testLab, record, withServers bool) (tfprotov6.ProviderServer, tftypes.Type) {
	t.Helper()
	config := map[string]any{
		"ldap": map[string]any{
			"urls": []string{l.info.LDAPSURL}, "ca_certificate": l.info.CACertificatePEM,
			"bind_username": l.info.LDAPBindUsername, "bind_password": l.info.LDAPBindPassword, "record_blocks": record,
		},
	}
	if withServers {
		var names []string
		for _, s := range l.info.Servers {
			names = append(names, s.Address+"="+s.Name)
		}
		config["servers"], config["protected_computers"] = l.info.ServerAddresses, names
		config["winrm"] = map[string]any{"port": l.info.WinRMPort, "ca_certificate": l.info.CACertificatePEM,
			"username": l.info.WinRMUsername, "password": l.info.WinRMPassword}
	}
	server, schemas := configuredProvider(t, config)
	return server, schemas.ResourceSchemas["remoteaccess_blocked_device"].ValueType()
}

// planNewBlock plans a new device block of name, with no servers to purge, as Terraform plans a create, and returns
// the summaries of its warnings.
func planNewBlock(t *testing.T, server tfprotov6.ProviderServer, typ tftypes.Type, name string) []string {
	t.Helper()
	var summaries []string
	for _, w := range planNewBlockWarnings(t, server, typ, name, false) {
		summaries = append(summaries, w.Summary)
	}
	return summaries
}

// planNewBlockWarnings plans a new device block of name as Terraform plans a create, purging the provider's servers
// when purge is set, and returns its warnings.
func planNewBlockWarnings(t *testing.T, server tfprotov6.ProviderServer, typ tftypes.Type, name string, purge bool) []*tfprotov6.Diagnostic {
	t.Helper()
	config := deviceConfigValue(t, typ, map[string]tftypes.Value{
		"computer_name": tftypes.NewValue(tftypes.String, name), "purge_sessions": tftypes.NewValue(tftypes.Bool, purge)})
	prior, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
		TypeName: "remoteaccess_blocked_device", PriorState: &prior, ProposedNewState: config, Config: config,
	})
	if err != nil || hasErrors(resp.Diagnostics) {
		t.Fatalf("plan of %s: %v %v", name, err, diagnosticsText(resp.Diagnostics))
	}
	var warnings []*tfprotov6.Diagnostic
	for _, d := range resp.Diagnostics {
		if d.Severity == tfprotov6.DiagnosticSeverityWarning {
			warnings = append(warnings, d)
		}
	}
	return warnings
}

func warnsOfAnotherBlock(warnings []string, name string) bool {
	for _, w := range warnings {
		if strings.HasPrefix(w, "Another block may hold "+name) {
			return true
		}
	}
	return false
}

// A block the provider does not record (ldap.record_blocks = false) knows only its own state, so destroying the one
// that disabled the account enables it under any other: the plan of a new one warns when another block may hold its
// account, that is when another new block of the plan resolved to it (in another spelling, here), or when the account
// is disabled already. A plan that records blocks does not warn: their records keep them apart.
func TestUnrecordedBlockWarnsWhenAnotherMayHoldItsAccount(t *testing.T) {
	l := startLab(t)
	server, typ := labProviderServer(t, l, false, false)
	if w := planNewBlock(t, server, typ, "CLIENT1"); warnsOfAnotherBlock(w, "CLIENT1") {
		t.Errorf("the first block of an enabled CLIENT1 warns %q", w)
	}
	if w := planNewBlock(t, server, typ, "client1"); !warnsOfAnotherBlock(w, "client1") {
		t.Errorf("a second block of CLIENT1 in the same plan warns %q; want it told another block holds it", w)
	}
	if w := planNewBlock(t, server, typ, "CLIENT10"); warnsOfAnotherBlock(w, "CLIENT10") {
		t.Errorf("a block of another account (CLIENT10) warns %q", w)
	}
	if w := planNewBlock(t, server, typ, "RETIRED1"); !warnsOfAnotherBlock(w, "RETIRED1") {
		t.Errorf("a block of the disabled RETIRED1 warns %q; want it told another block may hold it", w)
	}

	recorded, typ := labProviderServer(t, l, true, false)
	for _, name := range []string{"CLIENT1", "client1", "RETIRED1"} {
		if w := planNewBlock(t, recorded, typ, name); warnsOfAnotherBlock(w, name) {
			t.Errorf("a recorded block of %s warns %q", name, w)
		}
	}
}

// The impact preview of a new block says what it does to the account as it is now: disables an enabled one; keeps
// one disabled already, naming the other blocks of its record that hold it; and otherwise says it was disabled by
// hand or by an unrecorded block. It said "disables" in every case.
func TestImpactPreviewSaysWhatTheBlockDoesToTheAccount(t *testing.T) {
	l := startLab(t)
	l.holdAs(t, "CLIENT10", directory.Hold{ID: "team-a", Since: time.Now(), By: "team-a", Reason: "INC-7", Certificates: []string{}})
	server, typ := labProviderServer(t, l, true, true)
	for name, want := range map[string]string{
		"CLIENT1":  "Blocking CLIENT1 disables the account CN=CLIENT1,",
		"CLIENT10": "Blocking CLIENT10 keeps the account CN=CLIENT10,OU=Workstations,DC=corp,DC=example disabled (it is disabled already, held by 1 other block(s)",
		"RETIRED1": "Blocking RETIRED1 keeps the account CN=RETIRED1,OU=Workstations,DC=corp,DC=example disabled (it is disabled already, by hand",
	} {
		var impact []string
		for _, w := range planNewBlockWarnings(t, server, typ, name, true) {
			if w.Summary == "Impact of blocking "+name {
				impact = append(impact, w.Detail)
			}
		}
		if len(impact) != 1 || !strings.HasPrefix(impact[0], want) {
			t.Errorf("impact of blocking %s: %q; want one beginning %q", name, impact, want)
		}
	}
}

// impactOf is the detail of the impact preview of a new device block of name.
func impactOf(t *testing.T, server tfprotov6.ProviderServer, typ tftypes.Type, name string) string {
	t.Helper()
	for _, w := range planNewBlockWarnings(t, server, typ, name, true) {
		if w.Summary == "Impact of blocking "+name {
			return w.Detail
		}
	}
	t.Fatalf("no impact preview of %s", name)
	return ""
}

// The impact preview counts what the purge ends on each server, the VPN device tunnel included, and names how a
// server that could not be asked failed (not a bare "did not answer"), saying that the apply goes on without it.
func TestImpactPreviewCountsTunnelsAndNamesUnreachableServers(t *testing.T) {
	l := startLab(t)
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	server, typ := labProviderServer(t, l, true, true)
	if _, line, _ := strings.Cut(impactOf(t, server, typ, "CLIENT2"), "- "+ras2+": "); !strings.Contains(line, "VPN device tunnels: 1") {
		t.Errorf("impact of blocking CLIENT2 on %s: %q; want its device tunnel there counted", ras2, line)
	}
	l.Server("RAS1").Faults().SetDropConnections(true)
	t.Cleanup(func() { l.Server("RAS1").Faults().Reset() })
	server, typ = labProviderServer(t, l, true, true) // a new process: no poll of RAS1 kept
	detail := impactOf(t, server, typ, "CLIENT1")
	if !strings.Contains(detail, "- "+ras1+": could not be reached") || !strings.Contains(detail, "The apply goes on without the servers not shown") {
		t.Errorf("impact of blocking CLIENT1 with RAS1 dropping connections: %q; want RAS1 named as unreachable", detail)
	}
}
