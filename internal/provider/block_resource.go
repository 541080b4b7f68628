package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

const (
	defaultVerifySeconds = 30
	maxVerifySeconds     = 3600
	verifyPollInterval   = time.Second
)

// blockModel holds the attributes that remoteaccess_blocked_device and remoteaccess_blocked_user share.
type blockModel struct {
	ID                types.String   `tfsdk:"id"`
	Reason            types.String   `tfsdk:"reason"`
	PurgeSessions     types.Bool     `tfsdk:"purge_sessions"`
	VerifySeconds     types.Int64    `tfsdk:"verify_seconds"`
	Servers           types.List     `tfsdk:"servers"`
	DistinguishedName types.String   `tfsdk:"distinguished_name"`
	ObjectGUID        types.String   `tfsdk:"object_guid"`
	ObjectSID         types.String   `tfsdk:"object_sid"`
	WasEnabled        types.Bool     `tfsdk:"was_enabled"`
	AccountEnabled    types.Bool     `tfsdk:"account_enabled"`
	BlockedAt         types.String   `tfsdk:"blocked_at"`
	Identities        types.List     `tfsdk:"identities"`
	Purged            types.Map      `tfsdk:"purged"`
	PendingServers    types.List     `tfsdk:"pending_servers"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
}

// blockState is implemented by the models of the two block resources.
type blockState interface {
	common() *blockModel
	// accountName is the name the user configured.
	accountName() types.String
	// setAccount copies the kind-specific attributes of the account into the model.
	setAccount(directory.Account)
	// shutdownViaManageOut is the device's manage-out shutdown option; always false for users.
	shutdownViaManageOut() bool
	// setImportDefaults sets the kind-specific defaults of an imported block.
	setImportDefaults()
}

// blockKind describes what differs between the two block resources.
type blockKind struct {
	typeSuffix  string
	kind        directory.Kind
	nameAttr    string
	noun        string
	description string
	nameSchema  schema.StringAttribute
	extra       map[string]schema.Attribute
}

type blockIdentityModel struct {
	ObjectGUID types.String `tfsdk:"object_guid"`
}

// blockResource implements both block resources; T is the model and PT its pointer, which implements blockState.
type blockResource[T any, PT interface {
	*T
	blockState
}] struct {
	kind    blockKind
	clients *clients
}

var purgedType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"main_mode_sas":   types.Int64Type,
	"quick_mode_sas":  types.Int64Type,
	"vpn_connections": types.Int64Type,
}}

func (r *blockResource[T, PT]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.kind.typeSuffix
}

func (r *blockResource[T, PT]) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description, PlanModifiers: keep}
	}
	attrs := map[string]schema.Attribute{
		"id":            computed("The objectGUID of the blocked " + r.kind.noun + " account."),
		r.kind.nameAttr: r.kind.nameSchema,
		"reason": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Why the " + r.kind.noun + " is blocked (ticket, incident), kept in state for reviewers.",
		},
		"purge_sessions": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			MarkdownDescription: "Purge the account's sessions on every Remote Access server after disabling it. Defaults to `true`.",
		},
		"verify_seconds": schema.Int64Attribute{
			Optional: true, Computed: true, Default: int64default.StaticInt64(defaultVerifySeconds),
			Validators: []validator.Int64{int64validator.Between(0, maxVerifySeconds)},
			MarkdownDescription: fmt.Sprintf("After the purge, watch every server this long and fail, naming the servers, "+
				"if an IPsec SA of the %s comes back. `0` skips the check. Defaults to `%d`.", r.kind.noun, defaultVerifySeconds),
		},
		"servers": schema.ListAttribute{
			Optional: true, ElementType: types.StringType,
			Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(), listvalidator.ValueStringsAre(hostValidator{})},
			MarkdownDescription: "Remote Access servers to purge, instead of the provider's `servers`.",
		},
		"distinguished_name": computed("Distinguished name of the account."),
		"object_guid":        computed("objectGUID of the account."),
		"object_sid":         computed("objectSid of the account, as `S-1-5-...`."),
		"was_enabled": schema.BoolAttribute{
			Computed: true, PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			MarkdownDescription: "Whether the account was enabled before the block. Destroying the block re-enables it only then.",
		},
		"account_enabled": schema.BoolAttribute{
			Computed: true,
			MarkdownDescription: "Whether the account is enabled in the directory now: `false` while the block holds. " +
				"When someone re-enables the account out of band, the next plan shows it and apply blocks again.",
		},
		"blocked_at": computed("When the account was disabled, in RFC 3339."),
		"identities": schema.ListAttribute{
			Computed: true, ElementType: types.StringType,
			MarkdownDescription: "The exact IPsec and VPN identities of the account that were purged (never a pattern).",
		},
		"purged": schema.MapAttribute{
			Computed: true, ElementType: purgedType,
			MarkdownDescription: "What the purge removed on each server: `main_mode_sas`, `quick_mode_sas` and `vpn_connections` " +
				"(VPN device tunnels for a device, VPN user connections for a user).",
		},
		"pending_servers": schema.ListAttribute{
			Computed: true, ElementType: types.StringType,
			MarkdownDescription: "Servers where the purge has not succeeded yet; the next apply completes it.",
		},
	}
	for name, a := range r.kind.extra {
		attrs[name] = a
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: r.kind.description,
		Attributes:          attrs,
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *blockResource[T, PT]) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"object_guid": identityschema.StringAttribute{
				RequiredForImport: true,
				Description:       "objectGUID of the " + r.kind.noun + " account.",
			},
		},
	}
}

func (r *blockResource[T, PT]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// blocker builds the orchestration over the provider's clients.
func (r *blockResource[T, PT]) blocker(diags *diag.Diagnostics) *block.Blocker {
	if r.clients == nil {
		diags.AddError("Provider not configured", "The provider configuration is not known yet.")
		return nil
	}
	dir, err := r.clients.Directory()
	if err != nil {
		diags.AddError("Active Directory is not configured", err.Error())
		return nil
	}
	return &block.Blocker{Directory: dir, Cluster: r.clients.Cluster, VerifyInterval: verifyPollInterval}
}

// servers is the resource's server list, or the provider's.
func (r *blockResource[T, PT]) servers(ctx context.Context, m *blockModel, diags *diag.Diagnostics) []string {
	var servers []string
	if !m.Servers.IsNull() && !m.Servers.IsUnknown() {
		diags.Append(m.Servers.ElementsAs(ctx, &servers, false)...)
	}
	if len(servers) == 0 {
		servers = r.clients.settings.Servers
	}
	return servers
}

func (r *blockResource[T, PT]) options(ctx context.Context, state PT, diags *diag.Diagnostics) block.Options {
	m := state.common()
	servers := r.servers(ctx, m, diags)
	purge := m.PurgeSessions.ValueBool()
	if purge && len(servers) == 0 {
		diags.AddAttributeError(path.Root("servers"), "No Remote Access server to purge",
			"purge_sessions is true but neither the resource nor the provider lists servers; set servers, or purge_sessions = false.")
	}
	return block.Options{
		Servers:              servers,
		Purge:                purge,
		ShutdownViaManageOut: state.shutdownViaManageOut(),
		Verify:               time.Duration(m.VerifySeconds.ValueInt64()) * time.Second,
		WaitVisible:          len(r.clients.settings.LDAP.DomainControllers) > 0,
	}
}

func (r *blockResource[T, PT]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan T
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	state := PT(&plan)
	m := state.common()
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := m.Timeouts.Create(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	blocker := r.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	opts := r.options(ctx, state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.accountName().ValueString()
	target, err := blocker.Resolve(ctx, r.kind.kind, name)
	if err != nil {
		addDirectoryError(&resp.Diagnostics, r.kind.noun, name, err)
		return
	}
	tflog.Info(ctx, "blocking account", map[string]any{"dn": target.Account.DN, "servers": opts.Servers})
	outcome, err := blocker.Block(ctx, target, opts)
	if !outcome.Disabled {
		// Nothing was changed: no state to record.
		addDirectoryError(&resp.Diagnostics, r.kind.noun, name, err)
		return
	}
	m.WasEnabled = types.BoolValue(outcome.WasEnabled)
	m.BlockedAt = types.StringValue(outcome.BlockedAt.Format(time.RFC3339))
	r.record(ctx, state, outcome, &resp.Diagnostics)
	// The state is recorded even when a later step failed, so that the next apply completes the block and destroy can
	// still re-enable the account.
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: m.ObjectGUID})...)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("The %s %s is disabled, but the block is not complete", r.kind.noun, name),
			fmt.Sprintf("%s\n\nThe account stays disabled and Terraform has recorded the block. Servers still to purge: %v. "+
				"Fix the cause and run apply again: Terraform replaces the tainted block, or run `terraform untaint` first "+
				"to complete it in place without re-enabling the account in between.", err, outcome.Pending))
	}
}

// record copies an outcome into the model.
func (r *blockResource[T, PT]) record(ctx context.Context, state PT, outcome block.Outcome, diags *diag.Diagnostics) {
	m := state.common()
	r.setAccount(state, outcome.Target.Account)
	ids, d := types.ListValueFrom(ctx, types.StringType, outcome.Target.Identities)
	diags.Append(d...)
	m.Identities = ids
	pending := outcome.Pending
	if pending == nil {
		pending = []string{}
	}
	p, d := types.ListValueFrom(ctx, types.StringType, pending)
	diags.Append(d...)
	m.PendingServers = p
	purged := map[string]attr.Value{}
	if !m.Purged.IsNull() && !m.Purged.IsUnknown() {
		purged = m.Purged.Elements()
	}
	for server, c := range outcome.Purged {
		purged[server] = types.ObjectValueMust(purgedType.AttrTypes, map[string]attr.Value{
			"main_mode_sas":   types.Int64Value(int64(c.MainModeSAs)),
			"quick_mode_sas":  types.Int64Value(int64(c.QuickModeSAs)),
			"vpn_connections": types.Int64Value(int64(c.VPNConnections)),
		})
	}
	pm, d := types.MapValue(purgedType, purged)
	diags.Append(d...)
	m.Purged = pm
}

func (r *blockResource[T, PT]) setAccount(state PT, acct directory.Account) {
	m := state.common()
	m.ID = types.StringValue(acct.ObjectGUID)
	m.ObjectGUID = types.StringValue(acct.ObjectGUID)
	m.ObjectSID = types.StringValue(acct.ObjectSID)
	m.DistinguishedName = types.StringValue(acct.DN)
	m.AccountEnabled = types.BoolValue(acct.Enabled())
	state.setAccount(acct)
}

func (r *blockResource[T, PT]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var current T
	resp.Diagnostics.Append(req.State.Get(ctx, &current)...)
	if resp.Diagnostics.HasError() {
		return
	}
	state := PT(&current)
	m := state.common()
	// The object GUID never changes: the identity holds whatever the directory answers.
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: m.ObjectGUID})...)
	dir, err := r.directory()
	if err != nil {
		resp.Diagnostics.AddError("Active Directory is not configured", err.Error())
		return
	}
	// Read asks LDAP only: the account's state is the block's truth; sessions are checked by the verify window.
	acct, err := dir.FindByGUID(ctx, r.kind.kind, m.ObjectGUID.ValueString())
	if errors.Is(err, directory.ErrNotFound) {
		resp.Diagnostics.AddWarning(fmt.Sprintf("The blocked %s no longer exists", r.kind.noun),
			fmt.Sprintf("No %s account has objectGUID %s any more (deleted or moved out of the search base). The block stays "+
				"in state; destroy it to forget it.", r.kind.noun, m.ObjectGUID.ValueString()))
		return
	}
	if err != nil {
		addDirectoryError(&resp.Diagnostics, r.kind.noun, state.accountName().ValueString(), err)
		return
	}
	r.setAccount(state, acct)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *blockResource[T, PT]) directory() (*directory.Client, error) {
	if r.clients == nil {
		return nil, fmt.Errorf("the provider is not configured yet")
	}
	return r.clients.Directory()
}

// ModifyPlan plans a re-block when the account was re-enabled out of band or a purge is still pending.
func (r *blockResource[T, PT]) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		if req.State.Raw.IsNull() && !req.Plan.Raw.IsNull() {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("account_enabled"), false)...)
		}
		return
	}
	var prior, plan T
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	before, after := PT(&prior).common(), PT(&plan).common()
	var pending []string
	resp.Diagnostics.Append(before.PendingServers.ElementsAs(ctx, &pending, false)...)
	reblock := before.AccountEnabled.ValueBool()
	after.AccountEnabled = types.BoolValue(false)
	after.PendingServers = before.PendingServers
	after.Purged = before.Purged
	after.BlockedAt = before.BlockedAt
	after.Identities = before.Identities
	if reblock || len(pending) > 0 {
		after.PendingServers = types.ListValueMust(types.StringType, []attr.Value{})
		after.Purged = types.MapUnknown(purgedType)
		if reblock {
			after.BlockedAt = types.StringUnknown()
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// Update blocks again after an out-of-band re-enable, completes a pending purge, or only records new arguments.
func (r *blockResource[T, PT]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var prior, plan T
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	before, state := PT(&prior).common(), PT(&plan)
	m := state.common()
	timeout, diags := m.Timeouts.Update(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var pending []string
	resp.Diagnostics.Append(before.PendingServers.ElementsAs(ctx, &pending, false)...)
	reblock := before.AccountEnabled.ValueBool()
	// Copy what the plan left unknown from the prior state; the steps below overwrite what they change.
	m.Purged, m.BlockedAt, m.PendingServers, m.Identities = before.Purged, before.BlockedAt, before.PendingServers, before.Identities
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: before.ObjectGUID})...)
	if !reblock && len(pending) == 0 {
		resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
		return
	}
	blocker := r.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	opts := r.options(ctx, state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	target, err := blocker.ResolveGUID(ctx, r.kind.kind, before.ObjectGUID.ValueString())
	if err != nil {
		addDirectoryError(&resp.Diagnostics, r.kind.noun, state.accountName().ValueString(), err)
		return
	}
	var outcome block.Outcome
	if reblock {
		tflog.Warn(ctx, "account was re-enabled out of band; blocking again", map[string]any{"dn": target.Account.DN})
		outcome, err = blocker.Block(ctx, target, opts)
		if outcome.Disabled {
			m.BlockedAt = types.StringValue(outcome.BlockedAt.Format(time.RFC3339))
			// was_enabled keeps its value from the first block: it says what destroy restores.
		}
	} else {
		outcome = block.Outcome{Target: target, Disabled: true, Pending: slices.Clone(pending)}
		outcome, err = blocker.Complete(ctx, outcome, opts)
	}
	if !outcome.Disabled {
		addDirectoryError(&resp.Diagnostics, r.kind.noun, state.accountName().ValueString(), err)
		return
	}
	r.record(ctx, state, outcome, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("The block of %s is not complete", state.accountName().ValueString()),
			fmt.Sprintf("%s\n\nThe account is disabled. Servers still to purge: %v; run apply again once they answer.", err, outcome.Pending))
	}
}

func (r *blockResource[T, PT]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var current T
	resp.Diagnostics.Append(req.State.Get(ctx, &current)...)
	if resp.Diagnostics.HasError() {
		return
	}
	state := PT(&current)
	m := state.common()
	timeout, diags := m.Timeouts.Delete(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	blocker := r.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	err := blocker.Unblock(ctx, r.kind.kind, m.ObjectGUID.ValueString(), m.WasEnabled.ValueBool())
	switch {
	case errors.Is(err, directory.ErrNotFound):
		resp.Diagnostics.AddWarning(fmt.Sprintf("The blocked %s no longer exists", r.kind.noun),
			"There is no account left to re-enable; the block is removed from state.")
	case err != nil:
		addDirectoryError(&resp.Diagnostics, r.kind.noun, state.accountName().ValueString(), err)
	case !m.WasEnabled.ValueBool():
		tflog.Info(ctx, "account was disabled before the block; it stays disabled", map[string]any{"dn": m.DistinguishedName.ValueString()})
	}
}

// ImportState accepts a sAMAccountName (or UPN for users) or an objectGUID, and the resource identity.
func (r *blockResource[T, PT]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	blocker := r.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	var target block.Target
	var err error
	id := req.ID
	if id == "" && req.Identity != nil {
		var identity blockIdentityModel
		resp.Diagnostics.Append(req.Identity.Get(ctx, &identity)...)
		id = identity.ObjectGUID.ValueString()
	}
	if isGUID(id) {
		target, err = blocker.ResolveGUID(ctx, r.kind.kind, id)
	} else {
		target, err = blocker.Resolve(ctx, r.kind.kind, id)
	}
	if err != nil {
		addDirectoryError(&resp.Diagnostics, r.kind.noun, id, err)
		return
	}
	var imported T
	state := PT(&imported)
	r.importedState(ctx, state, target, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: state.common().ObjectGUID})...)
}

// importedState is the state of a block discovered in the directory rather than created by the provider.
func (r *blockResource[T, PT]) importedState(ctx context.Context, state PT, target block.Target, diags *diag.Diagnostics) {
	m := state.common()
	state.setImportDefaults()
	r.setAccount(state, target.Account)
	m.Reason = types.StringNull()
	m.PurgeSessions = types.BoolValue(true)
	m.VerifySeconds = types.Int64Value(defaultVerifySeconds)
	m.Servers = types.ListNull(types.StringType)
	// The provider did not disable the account itself: destroying the block leaves the account as it is.
	m.WasEnabled = types.BoolValue(false)
	m.BlockedAt = types.StringNull()
	ids, d := types.ListValueFrom(ctx, types.StringType, target.Identities)
	diags.Append(d...)
	m.Identities = ids
	m.Purged = types.MapValueMust(purgedType, map[string]attr.Value{})
	m.PendingServers = types.ListValueMust(types.StringType, []attr.Value{})
	m.Timeouts = timeouts.Value{Object: types.ObjectNull(timeoutsAttrTypes)}
}
