package provider

import (
	"context"
	"encoding/json"
	"maps"
	"math/big"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tfsdklog"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// Benchmarks of what a plan costs per block in state: the provider's server (the framework's protocol layer and the
// resource) driven in-process as Terraform drives it, one ReadResource and one PlanResourceChange per instance, against
// the lab's directory. `make bench` runs them; no test asserts a time. Profile with
//
//	go test -run '^$' -bench PlanRefresh -cpuprofile cpu.out -memprofile mem.out ./internal/provider
//
// Each request's context carries the SDK's loggers as Terraform's plugin server (tf6server) sets them up, turned off
// as the provider's main does when the CLI discards the logs: what the framework does with them even then (a copy
// of the loggers' options for every attribute path it touches) is part of the cost.

// planBench is a configured provider server and the state of one blocked device, as Terraform holds them.
type planBench struct {
	lab    *testLab
	server tfprotov6.ProviderServer
	typ    tftypes.Type // of the block's state
	state  *tfprotov6.DynamicValue
	config *tfprotov6.DynamicValue
	// stateJSON and version are the state as Terraform keeps it in its state file, with the schema's version.
	stateJSON []byte
	version   int64
}

func jsonValue(tb testing.TB, v any) *tfprotov6.DynamicValue {
	tb.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return &tfprotov6.DynamicValue{JSON: data}
}

// configuredProvider is the provider's protocol server and its schemas, configured with config (the provider block,
// as Terraform sends it in JSON) unless config is nil.
func configuredProvider(tb testing.TB, config map[string]any) (tfprotov6.ProviderServer, *tfprotov6.GetProviderSchemaResponse) {
	tb.Helper()
	ctx := context.Background()
	server, err := NewServer("test")()
	if err != nil {
		tb.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil || hasErrors(schemas.Diagnostics) {
		tb.Fatalf("schemas: %v %v", err, diagnosticsText(schemas.Diagnostics))
	}
	if config != nil {
		configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: jsonValue(tb, config)})
		if err != nil || hasErrors(configured.Diagnostics) {
			tb.Fatalf("configure: %v %v", err, diagnosticsText(configured.Diagnostics))
		}
	}
	return server, schemas
}

// newPlanBench configures the provider for a lab and imports the block of RETIRED1, a computer account the lab's seed
// has disabled, then gives it a hold_id as an applied block has, so that the plan is the common empty one.
func newPlanBench(tb testing.TB) *planBench {
	tb.Helper()
	l := startLab(tb)
	ctx := context.Background()
	server, schemas := configuredProvider(tb, map[string]any{
		"ldap": map[string]any{
			"urls": []string{l.info.LDAPSURL}, "ca_certificate": l.info.CACertificatePEM,
			"bind_username": l.info.LDAPBindUsername, "bind_password": l.info.LDAPBindPassword,
		},
	})
	imported, err := server.ImportResourceState(ctx, &tfprotov6.ImportResourceStateRequest{
		TypeName: "remoteaccess_blocked_device", ID: "RETIRED1",
	})
	if err != nil || hasErrors(imported.Diagnostics) || len(imported.ImportedResources) != 1 {
		tb.Fatalf("import: %v %v", err, diagnosticsText(imported.Diagnostics))
	}
	typ := schemas.ResourceSchemas["remoteaccess_blocked_device"].ValueType()
	value, err := imported.ImportedResources[0].State.Unmarshal(typ)
	if err != nil {
		tb.Fatal(err)
	}
	value, err = tftypes.Transform(value, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if p.Equal(tftypes.NewAttributePath().WithAttributeName("hold_id")) {
			return tftypes.NewValue(tftypes.String, "0123456789abcdef"), nil
		}
		return v, nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	state, err := tfprotov6.NewDynamicValue(typ, value)
	if err != nil {
		tb.Fatal(err)
	}
	config := deviceConfigValue(tb, typ, map[string]tftypes.Value{"computer_name": tftypes.NewValue(tftypes.String, "RETIRED1")})
	return &planBench{lab: l, server: server, typ: typ, state: &state, config: config,
		stateJSON: jsonValue(tb, plainValue(tb, value)).JSON, version: schemas.ResourceSchemas["remoteaccess_blocked_device"].Version}
}

// deviceConfigValue is the configuration of a device block, as Terraform sends it: the schema's type (typ), null but
// for the values given (computer_name, at least).
func deviceConfigValue(tb testing.TB, typ tftypes.Type, values map[string]tftypes.Value) *tfprotov6.DynamicValue {
	tb.Helper()
	obj := typ.(tftypes.Object)
	attrs := map[string]tftypes.Value{}
	for name, t := range obj.AttributeTypes {
		attrs[name] = tftypes.NewValue(t, nil)
	}
	maps.Copy(attrs, values)
	config, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(obj, attrs))
	if err != nil {
		tb.Fatal(err)
	}
	return &config
}

// plainValue is a value as Go's encoding/json writes it in Terraform's state file.
func plainValue(tb testing.TB, v tftypes.Value) any {
	tb.Helper()
	if v.IsNull() {
		return nil
	}
	var out any
	var err error
	switch {
	case v.Type().Is(tftypes.String):
		var s string
		err, out = v.As(&s), &s
	case v.Type().Is(tftypes.Bool):
		var b bool
		err, out = v.As(&b), &b
	case v.Type().Is(tftypes.Number):
		var n big.Float
		err = v.As(&n)
		out = json.Number(n.Text('g', -1))
	case v.Type().Is(tftypes.List{}):
		var elems []tftypes.Value
		err = v.As(&elems)
		list := []any{}
		for _, e := range elems {
			list = append(list, plainValue(tb, e))
		}
		out = list
	default: // objects and maps
		var attrs map[string]tftypes.Value
		err = v.As(&attrs)
		obj := map[string]any{}
		for k, e := range attrs {
			obj[k] = plainValue(tb, e)
		}
		out = obj
	}
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// refresh is what one instance costs in a plan, in the calls Terraform makes for each: its state upgraded (to the
// same version), its configuration validated, Read, then a plan of the unchanged configuration.
func (p *planBench) refresh(tb testing.TB) {
	ctx := sdkLoggingContext(context.Background())
	upgraded, err := p.server.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{
		TypeName: "remoteaccess_blocked_device", Version: p.version, RawState: &tfprotov6.RawState{JSON: p.stateJSON},
	})
	if err != nil || hasErrors(upgraded.Diagnostics) {
		tb.Fatalf("upgrade: %v %v", err, diagnosticsText(upgraded.Diagnostics))
	}
	validated, err := p.server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{
		TypeName: "remoteaccess_blocked_device", Config: p.config,
	})
	if err != nil || hasErrors(validated.Diagnostics) {
		tb.Fatalf("validate: %v %v", err, diagnosticsText(validated.Diagnostics))
	}
	read, err := p.server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "remoteaccess_blocked_device", CurrentState: upgraded.UpgradedState})
	if err != nil || hasErrors(read.Diagnostics) {
		tb.Fatalf("read: %v %v", err, diagnosticsText(read.Diagnostics))
	}
	plan, err := p.server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName: "remoteaccess_blocked_device", PriorState: read.NewState, ProposedNewState: read.NewState, Config: p.config,
	})
	if err != nil || hasErrors(plan.Diagnostics) {
		tb.Fatalf("plan: %v %v", err, diagnosticsText(plan.Diagnostics))
	}
	if len(plan.RequiresReplace) > 0 {
		tb.Fatalf("plan requires replacing %v", plan.RequiresReplace)
	}
}

// quietSDKLogs turns the SDK's loggers off as the provider's main does when the CLI discards the logs.
func quietSDKLogs(tb testing.TB) {
	for _, name := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_REMOTEACCESS"} {
		tb.Setenv(name, "OFF")
	}
}

// sdkLoggingContext is the context tf6server gives a request: the SDK's root and protocol loggers, the provider's
// root logger, and the fields of the request.
func sdkLoggingContext(ctx context.Context) context.Context {
	ctx = tfsdklog.NewRootSDKLogger(ctx, tfsdklog.WithLevelFromEnv("TF_LOG_SDK"))
	ctx = tfsdklog.NewSubsystem(ctx, "proto", tfsdklog.WithLevelFromEnv("TF_LOG_SDK_PROTO"))
	ctx = tfsdklog.NewRootProviderLogger(ctx, tfsdklog.WithLevelFromEnv("TF_LOG_PROVIDER_REMOTEACCESS"))
	for key, value := range map[string]string{
		"tf_req_id": "00000000-0000-0000-0000-000000000000", "tf_provider_addr": Address, "tf_proto_version": "6.10",
		"tf_rpc": "PlanResourceChange", "tf_resource_type": "remoteaccess_blocked_device",
	} {
		ctx = tfsdklog.SetField(ctx, key, value)
		ctx = tfsdklog.SubsystemSetField(ctx, "proto", key, value)
	}
	return ctx
}

func hasErrors(diags []*tfprotov6.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			return true
		}
	}
	return false
}

func diagnosticsText(diags []*tfprotov6.Diagnostic) []string {
	var out []string
	for _, d := range diags {
		out = append(out, d.Summary+": "+d.Detail)
	}
	return out
}

func BenchmarkPlanRefresh(b *testing.B) {
	quietSDKLogs(b)
	p := newPlanBench(b)
	b.ReportAllocs()
	for b.Loop() {
		p.refresh(b)
	}
}

// BenchmarkPlanRefreshSchemaFloor is BenchmarkPlanRefresh served by a provider that has the block's schema and
// nothing else (Read returns the state, no ModifyPlan, no directory): what terraform-plugin-framework costs for the
// schema itself. The difference from BenchmarkPlanRefresh is the provider's own work, its directory lookup included.
func BenchmarkPlanRefreshSchemaFloor(b *testing.B) {
	quietSDKLogs(b)
	p := newPlanBench(b)
	server, err := NewSchemaFloorServer()()
	if err != nil {
		b.Fatal(err)
	}
	p.server = server
	b.ReportAllocs()
	for b.Loop() {
		p.refresh(b)
	}
}

// blockedDeviceState is the state of an applied device block, in the resource's schema.
func blockedDeviceState(tb testing.TB) (tfsdk.State, blockedDeviceModel) {
	tb.Helper()
	ctx := context.Background()
	r := newBlockedDevice()
	var schemaResp resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &schemaResp)
	var m blockedDeviceModel
	r.ops.importedState(ctx, &m, block.Target{
		Account: directory.Account{
			SAMAccountName: "LAPTOP-0042$", DNSHostName: "laptop-0042.corp.example", DN: "CN=LAPTOP-0042,OU=Laptops,DC=corp,DC=example",
			ObjectGUID: "6f1c1a7e-2b3c-4d5e-8f90-a1b2c3d4e5f6", ObjectSID: "S-1-5-21-1-2-3-1104", UserAccountControl: 4098,
			Kind: directory.KindComputer,
		},
		Identities: []string{`CORP\LAPTOP-0042$`, "LAPTOP-0042$@corp.example", "laptop-0042.corp.example"},
	}, &diag.Diagnostics{})
	m.HoldID = types.StringValue("0123456789abcdef")
	state := tfsdk.State{Schema: schemaResp.Schema, Raw: tftypes.NewValue(schemaResp.Schema.Type().TerraformType(ctx), nil)}
	if diags := state.Set(ctx, &m); diags.HasError() {
		tb.Fatal(diags)
	}
	return state, m
}

// BenchmarkBlockModelGet is the framework's decoding of the whole model, which Read and an unchanged plan avoid.
func BenchmarkBlockModelGet(b *testing.B) {
	state, _ := blockedDeviceState(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var m blockedDeviceModel
		if diags := state.Get(ctx, &m); diags.HasError() {
			b.Fatal(diags)
		}
	}
}

func BenchmarkBlockModelSet(b *testing.B) {
	state, m := blockedDeviceState(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if diags := state.Set(ctx, &m); diags.HasError() {
			b.Fatal(diags)
		}
	}
}

// BenchmarkReadUnchanged is what Read does with the state around its directory lookup when the account did not
// change: read the object GUID, compare the attributes that follow the account.
func BenchmarkReadUnchanged(b *testing.B) {
	state, m := blockedDeviceState(b)
	ctx := context.Background()
	r := newBlockedDevice()
	acct := directory.Account{
		SAMAccountName: "LAPTOP-0042$", DNSHostName: m.DNSHostName.ValueString(), DN: m.DistinguishedName.ValueString(),
		ObjectGUID: m.ObjectGUID.ValueString(), ObjectSID: m.ObjectSID.ValueString(), UserAccountControl: 4098, Kind: directory.KindComputer,
	}
	b.ReportAllocs()
	for b.Loop() {
		var guid types.String
		if diags := state.GetAttribute(ctx, path.Root("object_guid"), &guid); diags.HasError() || guid.ValueString() != acct.ObjectGUID {
			b.Fatalf("object_guid: %v", diags)
		}
		var diags diag.Diagnostics
		for name, value := range r.ops.accountValues(acct) {
			if !stateHolds(ctx, state, name, value, &diags) {
				b.Fatalf("%s changed", name)
			}
		}
	}
}
