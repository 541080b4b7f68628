package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// The framework interfaces remoteaccess_blocked_device implements; a signature mistake must not silently drop one.
var (
	_ resource.Resource                = (*blockedDeviceResource)(nil)
	_ resource.ResourceWithConfigure   = (*blockedDeviceResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*blockedDeviceResource)(nil)
	_ resource.ResourceWithImportState = (*blockedDeviceResource)(nil)
	_ resource.ResourceWithIdentity    = (*blockedDeviceResource)(nil)
	_ list.ListResource                = (*blockedDeviceResource)(nil)
	_ list.ListResourceWithConfigure   = (*blockedDeviceResource)(nil)
)

type blockedDeviceModel struct {
	blockModel
	ComputerName         types.String `tfsdk:"computer_name"`
	DNSHostName          types.String `tfsdk:"dns_host_name"`
	ShutdownViaManageOut types.Bool   `tfsdk:"shutdown_via_manage_out"`
	certificateLever
	accountLever
}

func (m *blockedDeviceModel) common() *blockModel             { return &m.blockModel }
func (m *blockedDeviceModel) accountName() types.String       { return m.ComputerName }
func (m *blockedDeviceModel) shutdownViaManageOut() bool      { return m.ShutdownViaManageOut.ValueBool() }
func (m *blockedDeviceModel) certificates() *certificateLever { return &m.certificateLever }
func (m *blockedDeviceModel) dialIn() *dialInLever            { return nil }
func (m *blockedDeviceModel) account() *accountLever          { return &m.accountLever }

func (m *blockedDeviceModel) setImportDefaults() {
	m.ShutdownViaManageOut = types.BoolValue(false)
	m.DisableAccount = types.BoolValue(true) // only a disabled account can be imported
	m.CertificateHold = types.ObjectNull(certificateHoldType.AttrTypes)
	m.empty() // an imported block answers for no certificate: it never takes one off hold
}

func (m *blockedDeviceModel) accountValues(acct directory.Account) map[string]attr.Value {
	return map[string]attr.Value{"dns_host_name": types.StringValue(acct.DNSHostName)}
}

func (m *blockedDeviceModel) setAccount(acct directory.Account) {
	m.DNSHostName = types.StringValue(acct.DNSHostName)
	if m.ComputerName.IsNull() || m.ComputerName.IsUnknown() {
		m.ComputerName = types.StringValue(acct.Name())
	}
}

// blockedDeviceResource is remoteaccess_blocked_device.
type blockedDeviceResource struct{ ops blockOps }

func newBlockedDeviceResource() resource.Resource { return newBlockedDevice() }

func newBlockedDeviceListResource() list.ListResource { return newBlockedDevice() }

func newBlockedDevice() *blockedDeviceResource {
	return &blockedDeviceResource{ops: blockOps{kind: blockKind{
		typeSuffix: "blocked_device", kind: directory.KindComputer, nameAttr: "computer_name", noun: "computer",
		newModel: func() blockState { return &blockedDeviceModel{} },
	}}}
}

func (r *blockedDeviceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_blocked_device"
}

func (r *blockedDeviceResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = blockSchema(ctx, "computer",
		"Blocks a lost or stolen device: disables its computer account in Active Directory, then purges its "+
			"IPsec main-mode and quick-mode security associations and its VPN device tunnels on every Remote Access server, "+
			"matching the device's exact identities. Destroying the block re-enables the account only if it was enabled "+
			"before. An out-of-band re-enable shows as drift and the next apply blocks again.",
		withAttributes(accountLeverSchema("computer", "certificate_hold"), withAttributes(certificateLeverSchema(), map[string]schema.Attribute{
			"computer_name": schema.StringAttribute{
				Required:   true,
				Validators: []validator.String{accountNameValidator{kind: directory.KindComputer}},
				MarkdownDescription: "Computer name of the device: its sAMAccountName without the trailing `$`, such as " +
					"`LAPTOP-0042`. Another spelling of the same account (letter case, a trailing `$`) changes nothing; a name " +
					"of another account, or of none, is refused when the plan is made (a block stays with its account: declare " +
					"a second block instead). A name known only at apply is resolved then: an update in place, refused without " +
					"any change when it names another account.",
			},
			"dns_host_name": computedString("dNSHostName of the computer account."),
			"shutdown_via_manage_out": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Before the purge, send `Stop-Computer -Force` to the device through a Remote Access " +
					"server's manage-out path, so that a device still connected powers off. Defaults to `false`.",
			},
		})))
}

func (r *blockedDeviceResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = blockIdentitySchema("computer")
}

func (r *blockedDeviceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.ops.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *blockedDeviceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	r.ops.modifyPlan(ctx, &blockedDeviceModel{}, &blockedDeviceModel{}, req, resp)
}

func (r *blockedDeviceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.ops.create(ctx, &blockedDeviceModel{}, req, resp)
}

func (r *blockedDeviceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	r.ops.read(ctx, req, resp)
}

func (r *blockedDeviceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.ops.update(ctx, &blockedDeviceModel{}, &blockedDeviceModel{}, req, resp)
}

func (r *blockedDeviceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	r.ops.remove(ctx, &blockedDeviceModel{}, req, resp)
}

func (r *blockedDeviceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	r.ops.importState(ctx, req, resp)
}

func (r *blockedDeviceResource) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	r.ops.listSchema(resp)
}

func (r *blockedDeviceResource) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	r.ops.list(ctx, req, stream)
}
