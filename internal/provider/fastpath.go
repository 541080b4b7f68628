package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/defaults"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// A plan upgrades, validates, refreshes and plans every block in state, and most blocks are unchanged: the account
// is still disabled, the configuration is the same. The framework's protocol layer decodes, walks and encodes all
// of a block's attributes several times for each of those calls, which cost several times what the provider itself
// does (README, Performance). fastServer answers them from the few attributes that decide, and hands every other
// call, and any block that is not plainly unchanged, to the framework as it is.

// unchangedBlock is what a block resource tells the fast path.
type unchangedBlock interface {
	resource.Resource
	asInDirectory(ctx context.Context, c *clients, state map[string]tftypes.Value) bool
}

var (
	_ tfprotov6.ProviderServer     = (*fastServer)(nil)
	_ tfprotov6.ActionServer       = (*fastServer)(nil)
	_ tfprotov6.ListResourceServer = (*fastServer)(nil)
)

// frameworkServer is the framework's protocol server as Terraform reaches it: terraform-plugin-go finds actions and
// list resources by asserting their methods on the server it serves.
type frameworkServer interface {
	tfprotov6.ProviderServer
	tfprotov6.ActionServer
	tfprotov6.ListResourceServer
}

// fastServer is the provider's protocol server: the framework's, with the upgrade, validation, refresh and plan of
// unchanged blocks answered first.
type fastServer struct {
	frameworkServer
	provider *remoteAccessProvider
	blocks   map[string]func() unchangedBlock

	typesOnce sync.Once
	typesErr  error // the fast path stays off when it is set
	// By resource type name: the schema, the types of the state and the identity, a null identity, and the
	// attributes' defaults.
	schemas      map[string]schema.Schema
	stateType    map[string]tftypes.Type
	identType    map[string]tftypes.Type
	nullIdentity map[string]*tfprotov6.ResourceIdentityData
	defaults     map[string]map[string]tftypes.Value
}

// NewServer returns a constructor of the provider's protocol server, for tf6server.Serve and the acceptance tests.
func NewServer(version string) func() (tfprotov6.ProviderServer, error) {
	return func() (tfprotov6.ProviderServer, error) {
		p := &remoteAccessProvider{version: version, lookupEnv: os.LookupEnv}
		server, err := providerserver.NewProtocol6WithError(p)()
		if err != nil {
			return nil, err
		}
		framework, ok := server.(frameworkServer)
		if !ok {
			return nil, fmt.Errorf("the framework's server %T does not serve actions and list resources", server)
		}
		return &fastServer{frameworkServer: framework, provider: p, blocks: map[string]func() unchangedBlock{
			typeName + "_blocked_device": func() unchangedBlock { return newBlockedDevice() },
			typeName + "_blocked_user":   func() unchangedBlock { return newBlockedUser() },
		}}, nil
	}
}

// types learns the state and identity types of the block resources from the framework's schemas, and the defaults
// from the resources' schemas, once.
func (s *fastServer) types(ctx context.Context) error {
	s.typesOnce.Do(func() {
		states, err := s.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
		if err != nil {
			s.typesErr = err
			return
		}
		ids, err := s.GetResourceIdentitySchemas(ctx, &tfprotov6.GetResourceIdentitySchemasRequest{})
		if err != nil {
			s.typesErr = err
			return
		}
		s.stateType, s.identType, s.defaults = map[string]tftypes.Type{}, map[string]tftypes.Type{}, map[string]map[string]tftypes.Value{}
		s.nullIdentity, s.schemas = map[string]*tfprotov6.ResourceIdentityData{}, map[string]schema.Schema{}
		for name, newBlock := range s.blocks {
			if states.ResourceSchemas[name] == nil || ids.IdentitySchemas[name] == nil {
				s.typesErr = fmt.Errorf("the framework serves no schema or no identity schema for %s", name)
				return
			}
			s.stateType[name] = states.ResourceSchemas[name].ValueType()
			s.identType[name] = ids.IdentitySchemas[name].ValueType()
			null, err := tfprotov6.NewDynamicValue(s.identType[name], tftypes.NewValue(s.identType[name], nil))
			if err != nil {
				s.typesErr = err
				return
			}
			s.nullIdentity[name] = &tfprotov6.ResourceIdentityData{IdentityData: &null}
			var schemaResp resource.SchemaResponse
			newBlock().Schema(ctx, resource.SchemaRequest{}, &schemaResp)
			s.schemas[name] = schemaResp.Schema
			if s.defaults[name], err = schemaDefaults(ctx, schemaResp.Schema); err != nil {
				s.typesErr = err
				return
			}
		}
	})
	return s.typesErr
}

// schemaDefaults are the default values of a schema's attributes, by name, as the framework sets them in a plan
// when the configuration leaves them null.
func schemaDefaults(ctx context.Context, sch schema.Schema) (map[string]tftypes.Value, error) {
	values := map[string]tftypes.Value{}
	for name, a := range sch.Attributes {
		var value attr.Value
		switch a := a.(type) {
		case schema.BoolAttribute:
			if a.Default != nil {
				var resp defaults.BoolResponse
				a.Default.DefaultBool(ctx, defaults.BoolRequest{}, &resp)
				value = resp.PlanValue
			}
		case schema.Int64Attribute:
			if a.Default != nil {
				var resp defaults.Int64Response
				a.Default.DefaultInt64(ctx, defaults.Int64Request{}, &resp)
				value = resp.PlanValue
			}
		case schema.StringAttribute:
			if a.Default != nil {
				var resp defaults.StringResponse
				a.Default.DefaultString(ctx, defaults.StringRequest{}, &resp)
				value = resp.PlanValue
			}
		case schema.ListAttribute:
			if a.Default != nil {
				return nil, fmt.Errorf("attribute %s: list defaults are not known to the fast path", name)
			}
		case schema.MapAttribute:
			if a.Default != nil {
				return nil, fmt.Errorf("attribute %s: map defaults are not known to the fast path", name)
			}
		default:
			return nil, fmt.Errorf("attribute %s: %T is not known to the fast path", name, a)
		}
		if value == nil {
			continue
		}
		tv, err := value.ToTerraformValue(ctx)
		if err != nil {
			return nil, err
		}
		values[name] = tv
	}
	return values, nil
}

// decode is the top-level attributes of a msgpack value of the type's state or configuration; false when it is
// null or holds an unknown value.
func (s *fastServer) decode(ctx context.Context, typeName string, v *tfprotov6.DynamicValue) (map[string]tftypes.Value, bool) {
	if v == nil || len(v.MsgPack) == 0 || s.types(ctx) != nil {
		return nil, false
	}
	value, err := v.Unmarshal(s.stateType[typeName])
	if err != nil || value.IsNull() || !value.IsFullyKnown() {
		return nil, false
	}
	attrs, err := rawAttributes(value)
	return attrs, err == nil
}

func (s *fastServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	if resp := s.readUnchanged(ctx, req); resp != nil {
		return resp, nil
	}
	return s.frameworkServer.ReadResource(ctx, req)
}

// readUnchanged answers the refresh of a block whose account is as in state with the state as it is; nil otherwise.
func (s *fastServer) readUnchanged(ctx context.Context, req *tfprotov6.ReadResourceRequest) *tfprotov6.ReadResourceResponse {
	newBlock, ok := s.blocks[req.TypeName]
	c := s.provider.configured()
	if !ok || c == nil {
		return nil
	}
	if len(req.Private) > 0 {
		return nil // the framework keeps its own marks there, such as the one of a read that follows an import
	}
	state, ok := s.decode(ctx, req.TypeName, req.CurrentState)
	if !ok || !newBlock().asInDirectory(ctx, c, state) {
		return nil
	}
	identity, ok := s.identity(req.TypeName, req.CurrentIdentity, rawString(state["object_guid"]))
	if !ok {
		return nil
	}
	return &tfprotov6.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private, NewIdentity: identity}
}

// identity is the block's identity after a Read: the current one when it holds the object GUID, a new one when
// there is none yet (state written before identities, or a Terraform that does not know them, as the framework
// does); false when the current one differs, which the framework reports.
func (s *fastServer) identity(typeName string, current *tfprotov6.ResourceIdentityData, guid string) (*tfprotov6.ResourceIdentityData, bool) {
	typ := s.identType[typeName]
	want := tftypes.NewValue(typ, map[string]tftypes.Value{"object_guid": tftypes.NewValue(tftypes.String, guid)})
	if current != nil && current.IdentityData != nil {
		got, err := current.IdentityData.Unmarshal(typ)
		return current, err == nil && got.Equal(want)
	}
	data, err := tfprotov6.NewDynamicValue(typ, want)
	if err != nil {
		return nil, false
	}
	return &tfprotov6.ResourceIdentityData{IdentityData: &data}, true
}

func (s *fastServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	if s.planUnchanged(ctx, req) {
		identity := req.PriorIdentity
		if identity == nil { // as the framework plans it: a null identity
			identity = s.nullIdentity[req.TypeName]
		}
		return &tfprotov6.PlanResourceChangeResponse{
			PlannedState: req.ProposedNewState, PlannedPrivate: req.PriorPrivate, PlannedIdentity: identity,
		}, nil
	}
	return s.frameworkServer.PlanResourceChange(ctx, req)
}

// planUnchanged reports whether the plan of a block is empty: Terraform proposes the prior state itself (the same
// encoding is the same value), the block needs nothing completed (ModifyPlan), and no attribute that the
// configuration leaves null has a default other than its value (the framework would plan the default).
func (s *fastServer) planUnchanged(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) bool {
	_, ok := s.blocks[req.TypeName]
	c := s.provider.configured()
	if !ok || c == nil || req.PriorState == nil || req.ProposedNewState == nil ||
		!bytes.Equal(req.PriorState.MsgPack, req.ProposedNewState.MsgPack) {
		return false
	}
	prior, ok := s.decode(ctx, req.TypeName, req.PriorState)
	if !ok || needsCompletion(c.settings, prior) {
		return false
	}
	config, ok := s.decode(ctx, req.TypeName, req.Config)
	if !ok {
		return false
	}
	for name, value := range s.defaults[req.TypeName] {
		if config[name].IsNull() && !prior[name].Equal(value) {
			return false
		}
	}
	return true
}

func (s *fastServer) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	if s.stateIsCurrent(ctx, req) {
		return &tfprotov6.UpgradeResourceStateResponse{UpgradedState: &tfprotov6.DynamicValue{JSON: req.RawState.JSON}}, nil
	}
	return s.frameworkServer.UpgradeResourceState(ctx, req)
}

// stateIsCurrent reports whether the state of a block was written with the current schema: its version, and exactly
// its attributes at every level (Terraform refuses an attribute its schema does not have, where the framework would
// drop it). Terraform then reads it back as it is (a DynamicValue may be JSON); the framework would decode and
// encode it again to the same value.
func (s *fastServer) stateIsCurrent(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) bool {
	if _, ok := s.blocks[req.TypeName]; !ok || req.RawState == nil || len(req.RawState.JSON) == 0 ||
		req.RawState.Flatmap != nil || s.types(ctx) != nil || req.Version != s.schemas[req.TypeName].Version {
		return false
	}
	var state any
	if err := json.Unmarshal(req.RawState.JSON, &state); err != nil {
		return false
	}
	return state != nil && jsonFitsType(state, s.stateType[req.TypeName])
}

// jsonFitsType reports whether every object in a decoded JSON value has exactly the attributes of its type.
func jsonFitsType(v any, typ tftypes.Type) bool {
	if v == nil {
		return true
	}
	switch t := typ.(type) {
	case tftypes.Object:
		attrs, ok := v.(map[string]any)
		if !ok || len(attrs) != len(t.AttributeTypes) {
			return false
		}
		for name, at := range t.AttributeTypes {
			a, ok := attrs[name]
			if !ok || !jsonFitsType(a, at) {
				return false
			}
		}
	case tftypes.Map:
		elems, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for _, e := range elems {
			if !jsonFitsType(e, t.ElementType) {
				return false
			}
		}
	case tftypes.List:
		return jsonElementsFit(v, t.ElementType)
	case tftypes.Set:
		return jsonElementsFit(v, t.ElementType)
	}
	return true
}

func jsonElementsFit(v any, elem tftypes.Type) bool {
	elems, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range elems {
		if !jsonFitsType(e, elem) {
			return false
		}
	}
	return true
}

func (s *fastServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	if s.configIsClean(ctx, req) {
		return &tfprotov6.ValidateResourceConfigResponse{}, nil
	}
	return s.frameworkServer.ValidateResourceConfig(ctx, req)
}

// configIsClean runs the validators of a block's attributes on its configuration, which Terraform asks for every
// instance of every plan, and reports whether none had anything to say. The framework walks every attribute of the
// schema for it; the blocks' schemas are flat, so the validators can be called directly. Anything to report, and
// anything the framework checks besides the validators (a missing required argument, a computed one set, a
// deprecated one, the timeouts block), goes to the framework, which reports it in its own words.
func (s *fastServer) configIsClean(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) bool {
	newBlock, ok := s.blocks[req.TypeName]
	if !ok || req.Config == nil || len(req.Config.MsgPack) == 0 || s.types(ctx) != nil {
		return false
	}
	r := newBlock()
	if _, ok := r.(resource.ResourceWithValidateConfig); ok {
		return false
	}
	if _, ok := r.(resource.ResourceWithConfigValidators); ok {
		return false
	}
	value, err := req.Config.Unmarshal(s.stateType[req.TypeName])
	if err != nil || value.IsNull() || !value.IsKnown() {
		return false
	}
	attrs, err := rawAttributes(value)
	if err != nil {
		return false
	}
	sch := s.schemas[req.TypeName]
	if sch.DeprecationMessage != "" {
		return false // the framework warns about it
	}
	config := tfsdk.Config{Schema: sch, Raw: value}
	for name := range sch.Blocks {
		if !attrs[name].IsNull() {
			return false
		}
	}
	for name, a := range sch.Attributes {
		v := attrs[name]
		switch {
		case a.GetDeprecationMessage() != "" && !v.IsNull(),
			a.IsRequired() && v.IsNull(),
			a.IsComputed() && !a.IsOptional() && !v.IsNull(),
			!a.IsRequired() && !a.IsOptional() && !a.IsComputed(),
			a.IsWriteOnly():
			return false
		}
		if !attributeIsClean(ctx, config, name, a, v) {
			return false
		}
	}
	return true
}

// attributeIsClean runs an attribute's validators on its value and reports whether none returned a diagnostic. An
// attribute of a custom type, whose value the framework also checks, is not clean here.
func attributeIsClean(ctx context.Context, config tfsdk.Config, name string, a schema.Attribute, v tftypes.Value) bool {
	av, err := a.GetType().ValueFromTerraform(ctx, v)
	if err != nil {
		return false
	}
	p, expr := path.Root(name), path.MatchRoot(name)
	var diags diag.Diagnostics
	switch a := a.(type) {
	case schema.StringAttribute:
		value, ok := av.(types.String)
		if !ok || a.CustomType != nil {
			return false
		}
		for _, vd := range a.Validators {
			resp := &validator.StringResponse{}
			vd.ValidateString(ctx, validator.StringRequest{Path: p, PathExpression: expr, Config: config, ConfigValue: value}, resp)
			diags.Append(resp.Diagnostics...)
		}
	case schema.BoolAttribute:
		value, ok := av.(types.Bool)
		if !ok || a.CustomType != nil {
			return false
		}
		for _, vd := range a.Validators {
			resp := &validator.BoolResponse{}
			vd.ValidateBool(ctx, validator.BoolRequest{Path: p, PathExpression: expr, Config: config, ConfigValue: value}, resp)
			diags.Append(resp.Diagnostics...)
		}
	case schema.Int64Attribute:
		value, ok := av.(types.Int64)
		if !ok || a.CustomType != nil {
			return false
		}
		for _, vd := range a.Validators {
			resp := &validator.Int64Response{}
			vd.ValidateInt64(ctx, validator.Int64Request{Path: p, PathExpression: expr, Config: config, ConfigValue: value}, resp)
			diags.Append(resp.Diagnostics...)
		}
	case schema.ListAttribute:
		value, ok := av.(types.List)
		if !ok || a.CustomType != nil {
			return false
		}
		for _, vd := range a.Validators {
			resp := &validator.ListResponse{}
			vd.ValidateList(ctx, validator.ListRequest{Path: p, PathExpression: expr, Config: config, ConfigValue: value}, resp)
			diags.Append(resp.Diagnostics...)
		}
	case schema.MapAttribute:
		value, ok := av.(types.Map)
		if !ok || a.CustomType != nil {
			return false
		}
		for _, vd := range a.Validators {
			resp := &validator.MapResponse{}
			vd.ValidateMap(ctx, validator.MapRequest{Path: p, PathExpression: expr, Config: config, ConfigValue: value}, resp)
			diags.Append(resp.Diagnostics...)
		}
	default:
		return false
	}
	return len(diags) == 0
}
