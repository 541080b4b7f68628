package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// The fast path answers only what the framework would answer the same way. Attributes with defaults that the
// configuration no longer sets go back to their defaults, in place, as the framework plans it.
func TestAccBlockedDevice_removedArgumentsReturnToTheirDefaults(t *testing.T) {
	l := startLab(t)
	l.revokeDeviceCertificate("CLIENT2")
	explicit := l.providerConfig(`
resource "remoteaccess_blocked_device" "test" {
  computer_name    = "CLIENT1"
  purge_sessions   = false
  verify_seconds   = 0
}
`)
	defaults := l.providerConfig(`
resource "remoteaccess_blocked_device" "test" {
  computer_name = "CLIENT1"
}
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT1$", true),
		Steps: []resource.TestStep{
			{
				Config: explicit,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("purge_sessions"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("verify_seconds"), knownvalue.Int64Exact(0)),
				},
			},
			{
				Config: defaults,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("purge_sessions"), knownvalue.Bool(true)),
						plancheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("verify_seconds"), knownvalue.Int64Exact(defaultVerifySeconds)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("purge_sessions"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("account_enabled"), knownvalue.Bool(false)),
				},
				Check: checkAccountEnabled(l, t, "CLIENT1$", false),
			},
			{
				Config: defaults,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionNoop)},
				},
			},
		},
	})
}

// An unchanged block in state is refreshed and planned without the framework: the server hands back Terraform's
// own values. Anything else goes to the framework, which reports it: an account re-enabled out of band, a block
// still to complete, a default to restore.
func TestFastPathAnswersOnlyUnchangedBlocks(t *testing.T) {
	p := newPlanBench(t)
	ctx := context.Background()
	const typ = "remoteaccess_blocked_device"

	read, err := p.server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: typ, CurrentState: p.state})
	if err != nil || hasErrors(read.Diagnostics) {
		t.Fatalf("read: %v %v", err, diagnosticsText(read.Diagnostics))
	}
	if read.NewState != p.state {
		t.Error("the refresh of an unchanged block did not take the fast path")
	}
	guid := p.attr(t, read.NewState, "object_guid")
	if read.NewIdentity == nil || !p.identityHolds(t, read.NewIdentity, guid) {
		t.Errorf("identity after the refresh = %+v, want the object GUID %s", read.NewIdentity, guid)
	}
	// With the identity Terraform holds, it is kept; with another one, the framework reports the change.
	again, err := p.server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: typ, CurrentState: p.state, CurrentIdentity: read.NewIdentity})
	if err != nil || again.NewIdentity != read.NewIdentity {
		t.Errorf("refresh with the block's identity: %v, identity %+v", err, again.NewIdentity)
	}
	// The framework's private marks (here the one an import leaves for the read that follows) are its to handle.
	marked, err := p.server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: typ, CurrentState: p.state,
		Private: []byte(`{".import_before_read":"dHJ1ZQ=="}`)})
	if err != nil || hasErrors(marked.Diagnostics) || marked.NewState == p.state || len(marked.Private) != 0 {
		t.Errorf("refresh after an import: %v %v, private %s; want the framework's read, which drops the mark", err,
			diagnosticsText(marked.Diagnostics), marked.Private)
	}
	other := p.identity(t, "00000000-0000-0000-0000-000000000000")
	changed, err := p.server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: typ, CurrentState: p.state, CurrentIdentity: other})
	if err != nil || !hasErrors(changed.Diagnostics) {
		t.Errorf("refresh with another identity: %v %v; want the framework's identity error", err, diagnosticsText(changed.Diagnostics))
	}

	plan := func(prior, proposed, config *tfprotov6.DynamicValue) *tfprotov6.PlanResourceChangeResponse {
		t.Helper()
		resp, err := p.server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
			TypeName: typ, PriorState: prior, ProposedNewState: proposed, Config: config,
		})
		if err != nil || hasErrors(resp.Diagnostics) {
			t.Fatalf("plan: %v %v", err, diagnosticsText(resp.Diagnostics))
		}
		return resp
	}
	if resp := plan(p.state, p.state, p.config); resp.PlannedState != p.state {
		t.Error("the plan of an unchanged block did not take the fast path")
	}

	// purge_sessions false in state, not set in the configuration: the framework plans its default.
	noPurge := p.with(t, p.state, "purge_sessions", tftypes.NewValue(tftypes.Bool, false))
	if resp := plan(noPurge, noPurge, p.config); p.attr(t, resp.PlannedState, "purge_sessions") != "true" {
		t.Errorf("planned purge_sessions %s, want its default true", p.attr(t, resp.PlannedState, "purge_sessions"))
	}
	// A block with a pending server is for ModifyPlan to complete or, as here where the provider lists no server,
	// to drop the server with a warning: either way the plan is not the prior state.
	pending := p.with(t, p.state, "pending_servers", tftypes.NewValue(tftypes.List{ElementType: tftypes.String},
		[]tftypes.Value{tftypes.NewValue(tftypes.String, "ras2.corp.example")}))
	if resp := plan(pending, pending, p.config); p.attr(t, resp.PlannedState, "pending_servers") == p.attr(t, pending, "pending_servers") ||
		len(resp.Diagnostics) == 0 {
		t.Errorf("planned pending_servers %s with %v, want the server dropped with a warning",
			p.attr(t, resp.PlannedState, "pending_servers"), diagnosticsText(resp.Diagnostics))
	}

	// The account re-enabled out of band: the refresh shows it.
	p.lab.setEnabled(t, "RETIRED1$", true)
	drift, err := p.server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: typ, CurrentState: p.state})
	if err != nil || hasErrors(drift.Diagnostics) || p.attr(t, drift.NewState, "account_enabled") != "true" {
		t.Errorf("refresh after a re-enable: %v %v, account_enabled %s", err, diagnosticsText(drift.Diagnostics), p.attr(t, drift.NewState, "account_enabled"))
	}
}

// A state written with the current schema is handed back as it is; an older one (here without hold_id, which came
// later) goes through the framework, which fills what is missing with null.
func TestFastPathUpgradesOnlyCurrentStates(t *testing.T) {
	p := newPlanBench(t)
	ctx := context.Background()
	const typ = "remoteaccess_blocked_device"
	value, err := p.state.Unmarshal(p.typ)
	if err != nil {
		t.Fatal(err)
	}
	current, err := jsonOfState(value)
	if err != nil {
		t.Fatal(err)
	}
	upgrade := func(raw []byte) *tfprotov6.UpgradeResourceStateResponse {
		t.Helper()
		resp, err := p.server.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{TypeName: typ, RawState: &tfprotov6.RawState{JSON: raw}})
		if err != nil || hasErrors(resp.Diagnostics) || resp.UpgradedState == nil {
			t.Fatalf("upgrade: %v %v", err, diagnosticsText(resp.Diagnostics))
		}
		return resp
	}
	if resp := upgrade(current); string(resp.UpgradedState.JSON) != string(current) {
		t.Errorf("a current state was not handed back as it is: %s", resp.UpgradedState.JSON)
	}
	// variant is the current state with some top-level attributes replaced (a nil value removes one).
	variant := func(replace map[string]json.RawMessage) []byte {
		t.Helper()
		var attrs map[string]json.RawMessage
		if err := json.Unmarshal(current, &attrs); err != nil {
			t.Fatal(err)
		}
		for name, v := range replace {
			if v == nil {
				delete(attrs, name)
			} else {
				attrs[name] = v
			}
		}
		out, err := json.Marshal(attrs)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// An attribute the schema does not have, inside the timeouts block: Terraform would refuse it, the framework drops it.
	resp := upgrade(variant(map[string]json.RawMessage{"timeouts": json.RawMessage(`{"create":"5m","update":null,"delete":null,"read":"1m"}`)}))
	if len(resp.UpgradedState.MsgPack) == 0 || !strings.Contains(p.attr(t, resp.UpgradedState, "timeouts"), "5m") {
		t.Errorf("a state with an unknown nested attribute came back as %s / %s; want the framework's upgrade", resp.UpgradedState.JSON,
			p.attr(t, resp.UpgradedState, "timeouts"))
	}
	resp = upgrade(variant(map[string]json.RawMessage{"hold_id": nil}))
	if len(resp.UpgradedState.MsgPack) == 0 || p.attr(t, resp.UpgradedState, "hold_id") != "" || p.attr(t, resp.UpgradedState, "object_guid") == "" {
		t.Errorf("an older state came back as %s / %x; want the framework's upgrade with hold_id null", resp.UpgradedState.JSON, resp.UpgradedState.MsgPack)
	}
}

// jsonOfState is a state as Terraform writes it in its state file: JSON of the attributes.
func jsonOfState(v tftypes.Value) ([]byte, error) {
	return json.Marshal(jsonValueOf(v))
}

// jsonValueOf is a known value in the shape encoding/json writes as Terraform's JSON of it.
func jsonValueOf(v tftypes.Value) any {
	if v.IsNull() {
		return nil
	}
	switch t := v.Type(); {
	case t.Is(tftypes.String):
		return rawString(v)
	case t.Is(tftypes.Bool):
		return rawBool(v)
	case t.Is(tftypes.Number):
		var n big.Float
		_ = v.As(&n)
		return json.Number(n.Text('f', -1))
	case t.Is(tftypes.List{}) || t.Is(tftypes.Set{}) || t.Is(tftypes.Tuple{}):
		var elems []tftypes.Value
		_ = v.As(&elems)
		out := []any{}
		for _, e := range elems {
			out = append(out, jsonValueOf(e))
		}
		return out
	default:
		var attrs map[string]tftypes.Value
		_ = v.As(&attrs)
		out := map[string]any{}
		for name, a := range attrs {
			out[name] = jsonValueOf(a)
		}
		return out
	}
}

// Whatever the fast path answers, it answers as the framework does: the same state, identity and diagnostics,
// for the requests of Terraform versions with and without resource identities.
func TestFastPathAnswersAsTheFrameworkDoes(t *testing.T) {
	p := newPlanBench(t)
	ctx := context.Background()
	const typ = "remoteaccess_blocked_device"
	framework := p.server.(*fastServer).frameworkServer
	identity := p.identity(t, p.attr(t, p.state, "object_guid"))
	for name, id := range map[string]*tfprotov6.ResourceIdentityData{"without identities": nil, "with identities": identity} {
		t.Run(name, func(t *testing.T) {
			readReq := &tfprotov6.ReadResourceRequest{TypeName: typ, CurrentState: p.state, CurrentIdentity: id}
			fast, err := p.server.ReadResource(ctx, readReq)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := framework.ReadResource(ctx, readReq)
			if err != nil {
				t.Fatal(err)
			}
			p.sameAnswer(t, "read", fast.NewState, slow.NewState, fast.NewIdentity, slow.NewIdentity, fast.Diagnostics, slow.Diagnostics)

			planReq := &tfprotov6.PlanResourceChangeRequest{TypeName: typ, PriorState: p.state, ProposedNewState: p.state, Config: p.config, PriorIdentity: id}
			fastPlan, err := p.server.PlanResourceChange(ctx, planReq)
			if err != nil {
				t.Fatal(err)
			}
			slowPlan, err := framework.PlanResourceChange(ctx, planReq)
			if err != nil {
				t.Fatal(err)
			}
			p.sameAnswer(t, "plan", fastPlan.PlannedState, slowPlan.PlannedState, fastPlan.PlannedIdentity, slowPlan.PlannedIdentity,
				fastPlan.Diagnostics, slowPlan.Diagnostics)
			if len(fastPlan.RequiresReplace) != len(slowPlan.RequiresReplace) {
				t.Errorf("plan requires replacing %v; the framework %v", fastPlan.RequiresReplace, slowPlan.RequiresReplace)
			}
		})
	}
}

// sameAnswer compares the state, identity and diagnostics of two answers by value.
func (p *planBench) sameAnswer(t *testing.T, what string, state, wantState *tfprotov6.DynamicValue, id, wantID *tfprotov6.ResourceIdentityData,
	diags, wantDiags []*tfprotov6.Diagnostic) {
	t.Helper()
	got, err := state.Unmarshal(p.typ)
	if err != nil {
		t.Fatal(err)
	}
	want, err := wantState.Unmarshal(p.typ)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Errorf("%s: state %s; the framework's %s", what, got, want)
	}
	if (id == nil) != (wantID == nil) {
		t.Fatalf("%s: identity %v; the framework's %v", what, id, wantID)
	}
	if id != nil {
		gotID, err := id.IdentityData.Unmarshal(blockIdentityType)
		if err != nil {
			t.Fatal(err)
		}
		wantIDValue, err := wantID.IdentityData.Unmarshal(blockIdentityType)
		if err != nil {
			t.Fatal(err)
		}
		if !gotID.Equal(wantIDValue) {
			t.Errorf("%s: identity %s; the framework's %s", what, gotID, wantIDValue)
		}
	}
	if strings.Join(diagnosticsText(diags), "\n") != strings.Join(diagnosticsText(wantDiags), "\n") {
		t.Errorf("%s: diagnostics %v; the framework's %v", what, diagnosticsText(diags), diagnosticsText(wantDiags))
	}
}

// Validation of a configuration is answered in front of the framework only when no validator has anything to say;
// every configuration gets the framework's own diagnostics.
func TestFastPathValidatesAsTheFrameworkDoes(t *testing.T) {
	p := newPlanBench(t)
	server := p.server.(*fastServer)
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	list := func(elems ...string) tftypes.Value {
		var vs []tftypes.Value
		for _, e := range elems {
			vs = append(vs, str(e))
		}
		return tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, vs)
	}
	obj := p.typ.(tftypes.Object)
	timeoutsType := obj.AttributeTypes["timeouts"].(tftypes.Object)
	timeouts := func(create string) tftypes.Value {
		return tftypes.NewValue(timeoutsType, map[string]tftypes.Value{
			"create": str(create), "update": tftypes.NewValue(tftypes.String, nil), "delete": tftypes.NewValue(tftypes.String, nil),
		})
	}
	for name, tc := range map[string]struct {
		set     map[string]tftypes.Value
		clean   bool // answered by the fast path
		invalid bool // the framework reports something
	}{
		"a name":                       {set: map[string]tftypes.Value{}, clean: true},
		"every argument":               {set: map[string]tftypes.Value{"reason": str("stolen"), "ticket": str("INC-1"), "servers": list("ras1.corp.example", "ras2.corp.example"), "verify_seconds": tftypes.NewValue(tftypes.Number, 10), "purge_sessions": tftypes.NewValue(tftypes.Bool, true)}, clean: true},
		"a name not known yet":         {set: map[string]tftypes.Value{"computer_name": tftypes.NewValue(tftypes.String, tftypes.UnknownValue)}, clean: true},
		"a name AD refuses":            {set: map[string]tftypes.Value{"computer_name": str("LAPTOP;42")}, invalid: true},
		"no name":                      {set: map[string]tftypes.Value{"computer_name": tftypes.NewValue(tftypes.String, nil)}, invalid: true},
		"an empty server list":         {set: map[string]tftypes.Value{"servers": list()}, invalid: true},
		"a server twice":               {set: map[string]tftypes.Value{"servers": list("ras1.corp.example", "ras1.corp.example")}, invalid: true},
		"a verify window out of range": {set: map[string]tftypes.Value{"verify_seconds": tftypes.NewValue(tftypes.Number, -1)}, invalid: true},
		"a computed attribute set":     {set: map[string]tftypes.Value{"object_guid": str("x")}, invalid: true},
		"timeouts":                     {set: map[string]tftypes.Value{"timeouts": timeouts("5m")}},
		"timeouts that do not parse":   {set: map[string]tftypes.Value{"timeouts": timeouts("five minutes")}, invalid: true},
	} {
		t.Run(name, func(t *testing.T) {
			config := p.with(t, p.config, "computer_name", str("RETIRED1"))
			for attr, v := range tc.set {
				config = p.with(t, config, attr, v)
			}
			validateBothWays(t, server, &tfprotov6.ValidateResourceConfigRequest{TypeName: "remoteaccess_blocked_device", Config: config},
				tc.clean, tc.invalid)
		})
	}
}

// The plan's fast path answers an unchanged block without the attributes' plan modifiers, which the framework runs
// even then. That holds while every modifier is UseStateForUnknown, which leaves a known value as it is: a new kind
// of modifier must be taught to the fast path first.
func TestFastPathKnowsEveryPlanModifier(t *testing.T) {
	ctx := context.Background()
	keep := map[string]bool{
		stringplanmodifier.UseStateForUnknown().Description(ctx): true,
		boolplanmodifier.UseStateForUnknown().Description(ctx):   true,
	}
	for _, r := range []fwresource.Resource{newBlockedDevice(), newBlockedUser()} {
		var resp fwresource.SchemaResponse
		r.Schema(ctx, fwresource.SchemaRequest{}, &resp)
		attrs := resp.Schema.Attributes
		for blockName, b := range resp.Schema.Blocks {
			for name, a := range b.GetNestedObject().GetAttributes() {
				if a, ok := a.(schema.Attribute); ok {
					attrs[blockName+"."+name] = a
				}
			}
		}
		for name, a := range attrs {
			for _, d := range planModifierDescriptions(ctx, a) {
				if !keep[d] {
					t.Errorf("%s has the plan modifier %q, which the fast path does not run", name, d)
				}
			}
		}
	}
}

// planModifierDescriptions describes an attribute's plan modifiers.
func planModifierDescriptions(ctx context.Context, a schema.Attribute) []string {
	var out []string
	switch a := a.(type) {
	case schema.StringAttribute:
		for _, m := range a.PlanModifiers {
			out = append(out, m.Description(ctx))
		}
	case schema.BoolAttribute:
		for _, m := range a.PlanModifiers {
			out = append(out, m.Description(ctx))
		}
	case schema.Int64Attribute:
		for _, m := range a.PlanModifiers {
			out = append(out, m.Description(ctx))
		}
	case schema.ListAttribute:
		for _, m := range a.PlanModifiers {
			out = append(out, m.Description(ctx))
		}
	case schema.MapAttribute:
		for _, m := range a.PlanModifiers {
			out = append(out, m.Description(ctx))
		}
	default:
		out = append(out, fmt.Sprintf("an attribute of type %T", a))
	}
	return out
}

// The same for the user block, whose name has its own rules (a down-level logon name is refused, a UPN is a name).
func TestFastPathValidatesUsersAsTheFrameworkDoes(t *testing.T) {
	p := newPlanBench(t)
	ctx := context.Background()
	server := p.server.(*fastServer)
	const typ = "remoteaccess_blocked_user"
	if err := server.types(ctx); err != nil {
		t.Fatal(err)
	}
	obj := server.stateType[typ].(tftypes.Object)
	for name, tc := range map[string]struct {
		userName string
		clean    bool
	}{
		"a sAMAccountName":  {"alice", true},
		"a UPN":             {"alice@corp.example", true},
		"a down-level name": {`CORP\alice`, false},
		"a name AD refuses": {"al*ce", false},
		"an empty name":     {"", false},
	} {
		t.Run(name, func(t *testing.T) {
			attrs := map[string]tftypes.Value{}
			for attr, at := range obj.AttributeTypes {
				attrs[attr] = tftypes.NewValue(at, nil)
			}
			attrs["user_name"] = tftypes.NewValue(tftypes.String, tc.userName)
			config, err := tfprotov6.NewDynamicValue(obj, tftypes.NewValue(obj, attrs))
			if err != nil {
				t.Fatal(err)
			}
			validateBothWays(t, server, &tfprotov6.ValidateResourceConfigRequest{TypeName: typ, Config: &config}, tc.clean, !tc.clean)
		})
	}
}

// validateBothWays validates a configuration through the fast path and through the framework alone: the fast path
// answers it itself exactly when clean, the diagnostics are the framework's, and the framework reports something
// exactly when invalid.
func validateBothWays(t *testing.T, server *fastServer, req *tfprotov6.ValidateResourceConfigRequest, clean, invalid bool) {
	t.Helper()
	ctx := context.Background()
	if got := server.configIsClean(ctx, req); got != clean {
		t.Errorf("answered by the fast path: %v, want %v", got, clean)
	}
	fast, err := server.ValidateResourceConfig(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := server.frameworkServer.ValidateResourceConfig(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(diagnosticsText(fast.Diagnostics), "\n"), strings.Join(diagnosticsText(slow.Diagnostics), "\n"); got != want {
		t.Errorf("diagnostics %q; the framework's %q", got, want)
	}
	if reported := len(slow.Diagnostics) > 0; reported != invalid {
		t.Errorf("the framework reports %q; want something reported: %v", diagnosticsText(slow.Diagnostics), invalid)
	}
}
