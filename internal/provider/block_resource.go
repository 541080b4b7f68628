package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
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
	HoldID            types.String   `tfsdk:"hold_id"`
	Ticket            types.String   `tfsdk:"ticket"`
	AllowPrivileged   types.Bool     `tfsdk:"allow_privileged"`
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
	// accountValues are the kind-specific attributes that setAccount sets from the account, by name.
	accountValues(directory.Account) map[string]attr.Value
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
			Optional: true,
			MarkdownDescription: "Why the " + r.kind.noun + " is blocked, kept in state for reviewers and written to the " +
				"account's block record (see the provider's `ldap.record_blocks`) for administrators who look at the account.",
		},
		"ticket": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "The change or incident ticket of the block, written with the reason.",
		},
		"allow_privileged": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(false),
			MarkdownDescription: "Allow blocking a privileged account: a member of a protected group such as Domain Admins " +
				"(`adminCount = 1`). Defaults to `false`: such a block is refused when the plan is made.",
		},
		"hold_id": computed("Identifies this block in the account's block record, so that two blocks of one account " +
			"(two configurations, two teams) never undo each other. Null while the block is not recorded (after an import, " +
			"until the next apply, or with `ldap.record_blocks = false`)."),
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
			MarkdownDescription: "Servers where the purge or its verification has not succeeded yet. While it is not empty, " +
				"every plan shows an update that completes the block in place (the account stays disabled); a server " +
				"removed from `servers` leaves the list.",
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
	return &block.Blocker{
		Directory: dir,
		Cluster:   r.clients.Cluster,
		Verify:    r.clients.verify,
		Progress:  func(ctx context.Context, msg string, fields map[string]any) { tflog.Info(ctx, msg, fields) },
	}
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

// guard is what protects accounts in this block: the Remote Access servers of the operation however they are
// named, the provider's protected_computers and own accounts (in the directory client), and privileged accounts
// unless allow_privileged. A device block whose servers include an address DNS cannot name is refused.
func (r *blockResource[T, PT]) guard(ctx context.Context, m *blockModel, diags *diag.Diagnostics) directory.GuardOptions {
	servers := r.servers(ctx, m, diags)
	protected, unresolved := r.clients.protection(ctx, servers)
	if r.kind.kind == directory.KindComputer && len(unresolved) > 0 {
		diags.AddAttributeError(path.Root("servers"), "Cannot tell which computer accounts are the Remote Access servers",
			fmt.Sprintf("servers lists %s by IP address, and DNS has no name for that address, so the provider cannot make "+
				"sure that this block does not disable a Remote Access server. List the servers' computer names in the provider's "+
				"protected_computers, or list the servers by name.", strings.Join(unresolved, ", ")))
	}
	return directory.GuardOptions{AllowPrivileged: m.AllowPrivileged.ValueBool(), Protected: protected}
}

func (r *blockResource[T, PT]) options(ctx context.Context, state PT, diags *diag.Diagnostics) block.Options {
	m := state.common()
	servers := r.servers(ctx, m, diags)
	purge := m.PurgeSessions.ValueBool()
	if purge && len(servers) == 0 {
		diags.AddAttributeError(path.Root("servers"), "No Remote Access server to purge",
			"purge_sessions is true but neither the resource nor the provider lists servers; set servers, or purge_sessions = false.")
	}
	reason := m.Reason.ValueString()
	if t := m.Ticket.ValueString(); t != "" {
		reason = strings.TrimSpace("[" + t + "] " + reason)
	}
	return block.Options{
		Servers:              servers,
		Purge:                purge,
		ShutdownViaManageOut: state.shutdownViaManageOut(),
		ShutdownCredential:   r.shutdownCredential(state, diags),
		Verify:               time.Duration(m.VerifySeconds.ValueInt64()) * time.Second,
		WaitVisible:          len(r.clients.settings.LDAP.DomainControllers) > 0,
		Hold:                 directory.Hold{ID: m.HoldID.ValueString(), Since: time.Now().UTC(), By: r.clients.settings.LDAP.BindUsername, Reason: reason},
		Record:               r.clients.settings.LDAP.RecordBlocks,
		Guard:                r.guard(ctx, m, diags),
	}
}

// shutdownCredential is the credential Stop-Computer needs to reach the device: the command runs in a WinRM session,
// so the device is a second hop, which Windows refuses with the session's own logon (internal/lab/WINDOWS.md,
// Manage-out shutdown and the second hop). The WinRM
// account's password is passed explicitly, in the script's JSON input; with a keytab there is none to pass.
func (r *blockResource[T, PT]) shutdownCredential(state PT, diags *diag.Diagnostics) *remoteaccess.Credential {
	if !state.shutdownViaManageOut() {
		return nil
	}
	w := r.clients.settings.WinRM
	if w.Password == "" {
		diags.AddAttributeError(path.Root("shutdown_via_manage_out"), "Manage-out shutdown needs the WinRM password",
			"Stop-Computer runs in the WinRM session on a Remote Access server and reaches the device on a second hop, which "+
				"Windows refuses unless a credential is passed explicitly. The provider passes the WinRM account's password "+
				"(winrm.password), and there is none with a Kerberos keytab. Set winrm.password, or shutdown_via_manage_out = false.")
		return nil
	}
	return &remoteaccess.Credential{UserName: w.Username, Password: w.Password}
}

// newHoldID returns a random identifier for a block's entry in the account's block record.
func newHoldID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
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
	if r.clients.settings.LDAP.RecordBlocks {
		m.HoldID = types.StringValue(newHoldID())
	} else {
		m.HoldID = types.StringNull()
	}
	opts := r.options(ctx, state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.accountName().ValueString()
	target, err := blocker.Resolve(ctx, r.kind.kind, name, opts.Guard)
	if err != nil {
		addBlockError(&resp.Diagnostics, r.kind.noun, name, err)
		return
	}
	tflog.Info(ctx, "blocking account", map[string]any{"dn": target.Account.DN, "servers": opts.Servers})
	outcome, err := blocker.Block(ctx, target, opts)
	if !outcome.Disabled {
		// Nothing was changed: no state to record.
		addBlockError(&resp.Diagnostics, r.kind.noun, name, err)
		return
	}
	m.WasEnabled = types.BoolValue(outcome.WasEnabled)
	m.BlockedAt = types.StringValue(outcome.BlockedAt.Format(time.RFC3339))
	if !outcome.Recorded {
		m.HoldID = types.StringNull()
	}
	r.record(ctx, state, outcome, &resp.Diagnostics)
	// The state is recorded even when a later step failed, so that the next apply completes the block and destroy can
	// still re-enable the account. A failure after the account is disabled is a warning, not an error: an error would
	// taint the block, and replacing a tainted block re-enables the account in between.
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: m.ObjectGUID})...)
	r.warnIncomplete(&resp.Diagnostics, name, outcome, err)
}

// warnIncomplete tells the operator that a block holds in the directory but is not complete on every server. The
// next plan is not empty (pending_servers), so `plan -detailed-exitcode` exits 2 until the block is complete.
func (r *blockResource[T, PT]) warnIncomplete(diags *diag.Diagnostics, name string, outcome block.Outcome, err error) {
	if len(outcome.Lagging) > 0 {
		diags.AddWarning(fmt.Sprintf("Domain controllers do not show the block of %s yet", name),
			fmt.Sprintf("%s did not show the account disabled within ldap.timeout; sessions were purged meanwhile, and again "+
				"where they had come back when the read-back ended. Check replication to them.", strings.Join(outcome.Lagging, ", ")))
	}
	if err == nil && len(outcome.Pending) == 0 {
		return
	}
	pending := "none"
	if len(outcome.Pending) > 0 {
		pending = strings.Join(outcome.Pending, ", ")
	}
	detail := fmt.Sprintf("BLOCK INCOMPLETE. The %s account %s is disabled and the block is recorded, but it is not complete "+
		"on: %s.\n\n", r.kind.noun, name, pending)
	if err != nil {
		detail += err.Error() + "\n\n"
	}
	detail += "The account stays disabled. pending_servers lists the servers to complete: every plan shows an in-place " +
		"update until they are done (terraform plan -detailed-exitcode exits 2), and the next apply completes the block " +
		"without re-enabling the account."
	diags.AddWarning(fmt.Sprintf("The block of %s is not complete on every Remote Access server", name), detail)
}

// record copies an outcome into the model.
func (r *blockResource[T, PT]) record(ctx context.Context, state PT, outcome block.Outcome, diags *diag.Diagnostics) {
	m := state.common()
	r.setAccount(state, outcome.Target.Account)
	ids, d := types.ListValueFrom(ctx, types.StringType, outcome.Target.Identities)
	diags.Append(d...)
	m.Identities = ids
	m.PendingServers = stringList(ctx, outcome.Pending, diags)
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

// stringList is a known list of strings, empty rather than null.
func stringList(ctx context.Context, values []string, diags *diag.Diagnostics) types.List {
	if values == nil {
		values = []string{}
	}
	l, d := types.ListValueFrom(ctx, types.StringType, values)
	diags.Append(d...)
	return l
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

// Read asks LDAP only: the account's state is the block's truth; sessions are checked by the verify window. It reads
// the object GUID and writes only the attributes the directory decides that changed, usually none: a plan refreshes
// every block in state, and the framework's work per attribute written is most of its cost.
func (r *blockResource[T, PT]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	current, err := rawAttributes(req.State.Raw)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the state of the block", err.Error())
		return
	}
	guid := rawString(current["object_guid"])
	// The object GUID never changes: the identity holds whatever the directory answers.
	r.keepIdentity(ctx, req.Identity, resp.Identity, guid, &resp.Diagnostics)
	dir, err := r.directory()
	if err != nil {
		resp.Diagnostics.AddError("Active Directory is not configured", err.Error())
		return
	}
	acct, err := dir.FindByGUID(ctx, r.kind.kind, guid)
	if errors.Is(err, directory.ErrNotFound) {
		resp.Diagnostics.AddWarning(fmt.Sprintf("The blocked %s no longer exists", r.kind.noun),
			fmt.Sprintf("No %s account has objectGUID %s any more (deleted or moved out of the search base). The block stays "+
				"in state; destroy it to forget it.", r.kind.noun, guid))
		return
	}
	if err != nil {
		addBlockError(&resp.Diagnostics, r.kind.noun, rawString(current[r.kind.nameAttr]), err)
		return
	}
	for name, value := range r.changedAccountValues(ctx, current, acct) {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), value)...)
	}
}

// changedAccountValues are the attributes that follow the account whose value in state differs from the directory's.
func (r *blockResource[T, PT]) changedAccountValues(ctx context.Context, current map[string]tftypes.Value, acct directory.Account) map[string]attr.Value {
	changed := map[string]attr.Value{}
	for name, value := range r.accountValues(acct) {
		if tv, err := value.ToTerraformValue(ctx); err != nil || !tv.Equal(current[name]) {
			changed[name] = value
		}
	}
	return changed
}

// asInDirectory reads the account of a block in state and reports whether every attribute that follows it is as in
// state (fastpath.go). Any doubt, an error or an account not found, is false: Read then reports it.
func (r *blockResource[T, PT]) asInDirectory(ctx context.Context, c *clients, state map[string]tftypes.Value) bool {
	dir, err := c.Directory()
	if err != nil {
		return false
	}
	acct, err := dir.FindByGUID(ctx, r.kind.kind, rawString(state["object_guid"]))
	return err == nil && len(r.changedAccountValues(ctx, state, acct)) == 0
}

// accountValues are the attributes that follow the account in the directory, by name: what setAccount sets, but
// for the account name, which the configuration decides.
func (r *blockResource[T, PT]) accountValues(acct directory.Account) map[string]attr.Value {
	var model T
	values := PT(&model).accountValues(acct)
	values["id"] = types.StringValue(acct.ObjectGUID)
	values["object_guid"] = types.StringValue(acct.ObjectGUID)
	values["object_sid"] = types.StringValue(acct.ObjectSID)
	values["distinguished_name"] = types.StringValue(acct.DN)
	values["account_enabled"] = types.BoolValue(acct.Enabled())
	return values
}

// keepIdentity sets the resource identity to the object GUID unless it holds it already.
func (r *blockResource[T, PT]) keepIdentity(ctx context.Context, current, next *tfsdk.ResourceIdentity, guid string, diags *diag.Diagnostics) {
	if next == nil {
		return
	}
	if current != nil {
		if attrs, err := rawAttributes(current.Raw); err == nil && attrs["object_guid"].Equal(tftypes.NewValue(tftypes.String, guid)) {
			return
		}
	}
	obj, ok := next.Schema.Type().TerraformType(ctx).(tftypes.Object)
	if !ok {
		diags.AddError("Cannot set the resource identity", "The identity schema is not an object.")
		return
	}
	// Built directly, not through the framework's reflection over a struct, which costs more than the rest of Read.
	attrs := make(map[string]tftypes.Value, len(obj.AttributeTypes))
	for name, t := range obj.AttributeTypes {
		attrs[name] = tftypes.NewValue(t, nil)
	}
	attrs["object_guid"] = tftypes.NewValue(tftypes.String, guid)
	next.Raw = tftypes.NewValue(obj, attrs)
}

func (r *blockResource[T, PT]) directory() (*directory.Client, error) {
	if r.clients == nil {
		return nil, fmt.Errorf("the provider is not configured yet")
	}
	return r.clients.Directory()
}

// ModifyPlan resolves the account and applies every guard when a block is planned, so that a reviewer sees a
// refusal in the plan; shows the sessions the block will end; keeps another spelling of the same account from
// replacing the block; and plans an in-place update that completes the block when the account was re-enabled out of
// band, a purge is pending, or the block is not recorded yet.
func (r *blockResource[T, PT]) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.clients == nil {
		return
	}
	if req.State.Raw.IsNull() {
		r.planCreate(ctx, req, resp)
		return
	}
	if req.Plan.Raw.Equal(req.State.Raw) {
		attrs, err := rawAttributes(req.State.Raw)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read the state of the block", err.Error())
			return
		}
		if !needsCompletion(r.clients.settings, attrs) {
			return // the common case of a refresh-only plan: nothing to do, nothing to read
		}
	}
	var prior, plan T
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	before, after := PT(&prior).common(), PT(&plan).common()
	r.planAccountName(ctx, PT(&prior), PT(&plan), resp)
	if resp.Diagnostics.HasError() || len(resp.RequiresReplace) > 0 {
		return
	}
	pending := r.pendingInConfig(ctx, before, after, &resp.Diagnostics)
	reblock := before.AccountEnabled.ValueBool()
	after.AccountEnabled = types.BoolValue(false)
	after.PendingServers = stringList(ctx, pending, &resp.Diagnostics)
	after.Purged, after.BlockedAt, after.Identities, after.HoldID = before.Purged, before.BlockedAt, before.Identities, before.HoldID
	if reblock || len(pending) > 0 {
		after.PendingServers = types.ListUnknown(types.StringType)
		after.Purged = types.MapUnknown(purgedType)
		if reblock {
			after.BlockedAt = types.StringUnknown()
		}
	}
	if r.clients.settings.LDAP.RecordBlocks && before.HoldID.IsNull() {
		after.HoldID = types.StringUnknown() // the next apply records the block on the account
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// needsCompletion reads the three attributes of a block in state that decide whether an unchanged configuration
// still needs an apply: an out-of-band re-enable, a pending purge, a block not recorded on the account yet.
func needsCompletion(s settings, state map[string]tftypes.Value) bool {
	return rawBool(state["account_enabled"]) || rawLen(state["pending_servers"]) > 0 ||
		(s.LDAP.RecordBlocks && state["hold_id"].IsNull())
}

// pendingInConfig is the prior pending_servers that are still among the block's servers; a server removed from the
// configuration leaves the list with a warning, so that an incomplete block can always be completed or destroyed.
func (r *blockResource[T, PT]) pendingInConfig(ctx context.Context, before, after *blockModel, diags *diag.Diagnostics) []string {
	var pending []string
	diags.Append(before.PendingServers.ElementsAs(ctx, &pending, false)...)
	if after.Servers.IsUnknown() {
		return pending
	}
	servers := r.servers(ctx, after, diags)
	kept := slices.DeleteFunc(slices.Clone(pending), func(p string) bool {
		return !slices.ContainsFunc(servers, func(s string) bool { return strings.EqualFold(s, p) })
	})
	if dropped := len(pending) - len(kept); dropped > 0 {
		var gone []string
		for _, p := range pending {
			if !slices.Contains(kept, p) {
				gone = append(gone, p)
			}
		}
		diags.AddWarning("Pending servers no longer configured",
			fmt.Sprintf("%s still had to be purged but is no longer in servers: it leaves pending_servers. Sessions the "+
				"account may still have there are not purged by this block.", strings.Join(gone, ", ")))
	}
	return kept
}

// planAccountName keeps another spelling of the same account (letter case, NAME$, a UPN) from replacing the block:
// only a name of another account does, and that is decided by asking the directory.
func (r *blockResource[T, PT]) planAccountName(ctx context.Context, prior, plan PT, resp *resource.ModifyPlanResponse) {
	before, after := prior.accountName(), plan.accountName()
	if after.IsUnknown() {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root(r.kind.nameAttr))
		return
	}
	if before.Equal(after) {
		return
	}
	dir, err := r.directory()
	if err != nil {
		resp.Diagnostics.AddError("Active Directory is not configured", err.Error())
		return
	}
	acct, err := r.find(ctx, dir, after.ValueString())
	switch {
	case errors.Is(err, directory.ErrNotFound):
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root(r.kind.nameAttr))
	case err != nil:
		resp.Diagnostics.AddAttributeError(path.Root(r.kind.nameAttr), "Cannot tell whether the new name is the same account",
			fmt.Sprintf("Looking up %q failed, so the provider cannot tell whether it names the blocked account (an update) "+
				"or another one (a replacement, which lifts this block): %v", after.ValueString(), err))
	case !strings.EqualFold(acct.ObjectGUID, prior.common().ObjectGUID.ValueString()):
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root(r.kind.nameAttr))
	}
}

func (r *blockResource[T, PT]) find(ctx context.Context, dir *directory.Client, name string) (directory.Account, error) {
	if r.kind.kind == directory.KindComputer {
		return dir.FindComputer(ctx, name)
	}
	return dir.FindUser(ctx, name)
}

// planCreate resolves and guards the account of a new block, and shows its impact.
func (r *blockResource[T, PT]) planCreate(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("account_enabled"), false)...)
	var plan T
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	state := PT(&plan)
	m := state.common()
	if resp.Diagnostics.HasError() || state.accountName().IsUnknown() || m.Servers.IsUnknown() || r.clients.settings.unknown {
		return
	}
	blocker := r.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	guard := r.guard(ctx, m, &resp.Diagnostics)
	r.shutdownCredential(state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.accountName().ValueString()
	target, err := blocker.Resolve(ctx, r.kind.kind, name, guard)
	if err != nil {
		addBlockError(&resp.Diagnostics, r.kind.noun, name, err)
		return
	}
	r.showImpact(ctx, blocker, target, r.servers(ctx, m, &resp.Diagnostics), name, &resp.Diagnostics)
}

// impactTimeout bounds the plan-time reading of the sessions a new block will end.
const impactTimeout = 10 * time.Second

// showImpact tells a reviewer which sessions the block will end, per server, as a warning in the plan.
func (r *blockResource[T, PT]) showImpact(ctx context.Context, blocker *block.Blocker, target block.Target, servers []string, name string, diags *diag.Diagnostics) {
	if len(servers) == 0 {
		return
	}
	blocker.PreflightTimeout = impactTimeout
	sas, err := blocker.Preflight(ctx, target, servers)
	var lines []string
	for _, server := range servers {
		if s, ok := sas[server]; ok {
			lines = append(lines, fmt.Sprintf("- %s: %d main-mode and %d quick-mode IPsec SAs", server, len(s.MainMode), s.QuickModeCount))
		} else {
			lines = append(lines, fmt.Sprintf("- %s: did not answer within %s; not shown", server, impactTimeout))
		}
	}
	detail := fmt.Sprintf("Blocking %s disables the account %s and ends, on each Remote Access server, the sessions it "+
		"has now:\n%s", name, target.Account.DN, strings.Join(lines, "\n"))
	if err != nil {
		detail += "\n\nThe apply will stop before changing anything unless this is fixed: " + err.Error()
	}
	diags.AddWarning(fmt.Sprintf("Impact of blocking %s", name), detail)
}

// Update records a new spelling or new arguments, blocks again after an out-of-band re-enable, completes a pending
// purge, and records a block that is not recorded yet. It never re-enables the account.
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

	pending := r.pendingInConfig(ctx, before, m, &diag.Diagnostics{}) // ModifyPlan already warned
	reblock := before.AccountEnabled.ValueBool()
	record := r.clients != nil && r.clients.settings.LDAP.RecordBlocks && before.HoldID.IsNull()
	// Copy what the plan left unknown from the prior state; the steps below overwrite what they change.
	m.Purged, m.BlockedAt, m.Identities, m.HoldID = before.Purged, before.BlockedAt, before.Identities, before.HoldID
	m.PendingServers = stringList(ctx, pending, &resp.Diagnostics)
	m.WasEnabled = before.WasEnabled
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: before.ObjectGUID})...)
	if !reblock && len(pending) == 0 && !record {
		resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
		return
	}
	blocker := r.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	if record {
		m.HoldID = types.StringValue(newHoldID())
	}
	opts := r.options(ctx, state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.accountName().ValueString()
	target, err := blocker.ResolveGUID(ctx, r.kind.kind, before.ObjectGUID.ValueString(), opts.Guard)
	if err != nil {
		addBlockError(&resp.Diagnostics, r.kind.noun, name, err)
		return
	}
	var outcome block.Outcome
	if reblock || record {
		if reblock {
			tflog.Warn(ctx, "account was re-enabled out of band; blocking again", map[string]any{"dn": target.Account.DN})
		}
		opts.Purge = opts.Purge && (reblock || len(pending) > 0)
		outcome, err = blocker.Block(ctx, target, opts)
		if outcome.Disabled {
			if reblock {
				m.BlockedAt = types.StringValue(outcome.BlockedAt.Format(time.RFC3339))
			}
			if record {
				// A block recorded later (after an import) learns the state before the first block from the record.
				m.WasEnabled = types.BoolValue(outcome.WasEnabled)
			}
			if !outcome.Recorded {
				m.HoldID = types.StringNull()
			}
			if !reblock && len(pending) > 0 {
				outcome.Pending = pending
				outcome, err = blocker.Complete(ctx, outcome, opts)
			}
		}
	} else {
		outcome = block.Outcome{Target: target, Disabled: true, Pending: slices.Clone(pending)}
		outcome, err = blocker.Complete(ctx, outcome, opts)
	}
	if !outcome.Disabled {
		addBlockError(&resp.Diagnostics, r.kind.noun, name, err)
		return
	}
	r.record(ctx, state, outcome, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	r.warnIncomplete(&resp.Diagnostics, name, outcome, err)
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
	name := state.accountName().ValueString()
	out, err := blocker.Unblock(ctx, r.kind.kind, m.ObjectGUID.ValueString(), m.HoldID.ValueString(), m.WasEnabled.ValueBool(),
		len(r.clients.settings.LDAP.DomainControllers) > 0)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		resp.Diagnostics.AddWarning(fmt.Sprintf("The blocked %s no longer exists", r.kind.noun),
			"There is no account left to re-enable; the block is removed from state.")
	case err != nil:
		addBlockError(&resp.Diagnostics, r.kind.noun, name, err)
	case len(out.OtherHolds) > 0:
		var holds []string
		for _, h := range out.OtherHolds {
			holds = append(holds, fmt.Sprintf("- block %s since %s by %s: %s", h.ID, h.Since.Format(time.RFC3339), h.By, h.Reason))
		}
		resp.Diagnostics.AddWarning(fmt.Sprintf("The %s %s stays disabled: other blocks hold it", r.kind.noun, name),
			"This block is lifted, but the account's block record lists other blocks, from this or another configuration:\n"+
				strings.Join(holds, "\n")+"\nThe account is enabled again when the last of them is destroyed.")
	case !out.Enabled:
		tflog.Info(ctx, "account was disabled before the block; it stays disabled", map[string]any{"dn": m.DistinguishedName.ValueString()})
	}
	if len(out.Lagging) > 0 {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Domain controllers do not show %s enabled yet", name),
			fmt.Sprintf("%s did not show the account enabled within ldap.timeout. Check replication to them.", strings.Join(out.Lagging, ", ")))
	}
}

// ImportState adopts a block: the account must be disabled. It accepts a sAMAccountName (or UPN for users) or an
// objectGUID, and the resource identity.
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
	// Guards do not apply: importing changes nothing, and a guarded account is refused when the block is applied.
	lenient := directory.GuardOptions{AllowPrivileged: true}
	if isGUID(id) {
		target, err = blocker.ResolveGUID(ctx, r.kind.kind, id, lenient)
	} else {
		target, err = blocker.Resolve(ctx, r.kind.kind, id, lenient)
	}
	if err != nil {
		addBlockError(&resp.Diagnostics, r.kind.noun, id, err)
		return
	}
	if target.Account.Enabled() {
		resp.Diagnostics.AddError(fmt.Sprintf("There is no block of %s to import", id),
			fmt.Sprintf("The %s account %s is enabled, so nothing blocks it. Importing never blocks an account: to block it, "+
				"declare a remoteaccess_%s resource for it and apply.", r.kind.noun, target.Account.DN, r.kind.typeSuffix))
		return
	}
	var imported T
	state := PT(&imported)
	r.importedState(ctx, state, target, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: state.common().ObjectGUID})...)
}

// importedState is the state of a block discovered in the directory rather than created by this configuration. A
// block this provider recorded on the account tells what the account was before; a block made by hand does not,
// and destroying its import leaves the account disabled. The import adopts no entry of the record: the next apply
// adds its own, so that it never lifts a block that another configuration still holds.
func (r *blockResource[T, PT]) importedState(ctx context.Context, state PT, target block.Target, diags *diag.Diagnostics) {
	m := state.common()
	state.setImportDefaults()
	r.setAccount(state, target.Account)
	m.Reason = types.StringNull()
	m.Ticket = types.StringNull()
	m.AllowPrivileged = types.BoolValue(false)
	m.PurgeSessions = types.BoolValue(true)
	m.VerifySeconds = types.Int64Value(defaultVerifySeconds)
	m.Servers = types.ListNull(types.StringType)
	m.WasEnabled = types.BoolValue(false)
	m.BlockedAt = types.StringNull()
	if rec := target.Account.BlockRecord(); rec != nil {
		m.WasEnabled = types.BoolValue(rec.PriorEnabled)
		if len(rec.Holds) > 0 {
			m.BlockedAt = types.StringValue(rec.Holds[0].Since.UTC().Format(time.RFC3339))
		}
	}
	m.HoldID = types.StringNull()
	ids, d := types.ListValueFrom(ctx, types.StringType, target.Identities)
	diags.Append(d...)
	m.Identities = ids
	m.Purged = types.MapValueMust(purgedType, map[string]attr.Value{})
	m.PendingServers = types.ListValueMust(types.StringType, []attr.Value{})
	m.Timeouts = timeouts.Value{Object: types.ObjectNull(timeoutsAttrTypes)}
}

// The block resources implement these framework interfaces; a signature mistake must not silently drop one.
var (
	_ resource.Resource                = (*blockResource[blockedDeviceModel, *blockedDeviceModel])(nil)
	_ resource.ResourceWithConfigure   = (*blockResource[blockedDeviceModel, *blockedDeviceModel])(nil)
	_ resource.ResourceWithModifyPlan  = (*blockResource[blockedDeviceModel, *blockedDeviceModel])(nil)
	_ resource.ResourceWithImportState = (*blockResource[blockedDeviceModel, *blockedDeviceModel])(nil)
	_ resource.ResourceWithIdentity    = (*blockResource[blockedDeviceModel, *blockedDeviceModel])(nil)
	_ resource.Resource                = (*blockResource[blockedUserModel, *blockedUserModel])(nil)
	_ resource.ResourceWithConfigure   = (*blockResource[blockedUserModel, *blockedUserModel])(nil)
	_ resource.ResourceWithModifyPlan  = (*blockResource[blockedUserModel, *blockedUserModel])(nil)
	_ resource.ResourceWithImportState = (*blockResource[blockedUserModel, *blockedUserModel])(nil)
	_ resource.ResourceWithIdentity    = (*blockResource[blockedUserModel, *blockedUserModel])(nil)
)
