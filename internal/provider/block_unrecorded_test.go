package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// unrecordedServer is the provider's server configured for the lab's directory, recording blocks or not, and the
// type of a device block's state.
func unrecordedServer(t *testing.T, l *testLab, record bool) (tfprotov6.ProviderServer, tftypes.Type) {
	t.Helper()
	ctx := context.Background()
	server, err := NewServer("test")()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: jsonValue(t, map[string]any{
		"ldap": map[string]any{
			"urls": []string{l.info.LDAPSURL}, "ca_certificate": l.info.CACertificatePEM,
			"bind_username": l.info.LDAPBindUsername, "bind_password": l.info.LDAPBindPassword, "record_blocks": record,
		},
	})})
	if err != nil || hasErrors(configured.Diagnostics) {
		t.Fatalf("configure: %v %v", err, diagnosticsText(configured.Diagnostics))
	}
	return server, schemas.ResourceSchemas["remoteaccess_blocked_device"].ValueType()
}

// planNewBlock plans a new device block of name, with no servers to purge, as Terraform plans a create, and returns
// the summaries of its warnings.
func planNewBlock(t *testing.T, server tfprotov6.ProviderServer, typ tftypes.Type, name string) []string {
	t.Helper()
	obj := typ.(tftypes.Object)
	attrs := map[string]tftypes.Value{}
	for attr, at := range obj.AttributeTypes {
		attrs[attr] = tftypes.NewValue(at, nil)
	}
	attrs["computer_name"] = tftypes.NewValue(tftypes.String, name)
	attrs["purge_sessions"] = tftypes.NewValue(tftypes.Bool, false)
	config, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(obj, attrs))
	if err != nil {
		t.Fatal(err)
	}
	prior, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(obj, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
		TypeName: "remoteaccess_blocked_device", PriorState: &prior, ProposedNewState: &config, Config: &config,
	})
	if err != nil || hasErrors(resp.Diagnostics) {
		t.Fatalf("plan of %s: %v %v", name, err, diagnosticsText(resp.Diagnostics))
	}
	var warnings []string
	for _, d := range resp.Diagnostics {
		if d.Severity == tfprotov6.DiagnosticSeverityWarning {
			warnings = append(warnings, d.Summary)
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
	server, typ := unrecordedServer(t, l, false)
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

	recorded, typ := unrecordedServer(t, l, true)
	for _, name := range []string{"CLIENT1", "client1", "RETIRED1"} {
		if w := planNewBlock(t, recorded, typ, name); warnsOfAnotherBlock(w, name) {
			t.Errorf("a recorded block of %s warns %q", name, w)
		}
	}
}
