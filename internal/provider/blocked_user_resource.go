package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// The framework interfaces remoteaccess_blocked_user implements; a signature mistake must not silently drop one.
var (
	_ resource.Resource                = (*blockedUserResource)(nil)
	_ resource.ResourceWithConfigure   = (*blockedUserResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*blockedUserResource)(nil)
	_ resource.ResourceWithImportState = (*blockedUserResource)(nil)
	_ resource.ResourceWithIdentity    = (*blockedUserResource)(nil)
	_ list.ListResource                = (*blockedUserResource)(nil)
	_ list.ListResourceWithConfigure   = (*blockedUserResource)(nil)
)

type blockedUserModel struct {
	blockModel
	UserName          types.String `tfsdk:"user_name"`
	UserPrincipalName types.String `tfsdk:"user_principal_name"`
	DisplayName       types.String `tfsdk:"display_name"`
	dialInLever
	accountLever
}

func (m *blockedUserModel) common() *blockModel        { return &m.blockModel }
func (m *blockedUserModel) accountName() types.String  { return m.UserName }
func (m *blockedUserModel) shutdownViaManageOut() bool { return false }
func (m *blockedUserModel) dialIn() *dialInLever       { return &m.dialInLever }
func (m *blockedUserModel) account() *accountLever     { return &m.accountLever }

func (m *blockedUserModel) setImportDefaults() {
	m.DenyDialIn = types.BoolValue(false)
	m.DisableAccount = types.BoolValue(true) // only a disabled account can be imported
	m.PriorDialIn = types.StringNull()       // an imported block restores nothing
}
func (m *blockedUserModel) certificates() *certificateLever { return nil }

func (m *blockedUserModel) accountValues(acct directory.Account) map[string]attr.Value {
	return map[string]attr.Value{
		"user_principal_name": types.StringValue(acct.UserPrincipalName),
		"display_name":        types.StringValue(acct.DisplayName),
	}
}

func (m *blockedUserModel) setAccount(acct directory.Account) {
	m.UserPrincipalName = types.StringValue(acct.UserPrincipalName)
	m.DisplayName = types.StringValue(acct.DisplayName)
	if m.UserName.IsNull() || m.UserName.IsUnknown() {
		m.UserName = types.StringValue(acct.SAMAccountName)
	}
}

// blockedUserResource is remoteaccess_blocked_user.
type blockedUserResource struct{ ops blockOps }

func newBlockedUserResource() resource.Resource { return newBlockedUser() }

func newBlockedUserListResource() list.ListResource { return newBlockedUser() }

func newBlockedUser() *blockedUserResource {
	return &blockedUserResource{ops: blockOps{kind: blockKind{
		typeSuffix: "blocked_user", kind: directory.KindUser, nameAttr: "user_name", noun: "user",
		newModel: func() blockState { return &blockedUserModel{} },
	}}}
}

func (r *blockedUserResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_blocked_user"
}

func (r *blockedUserResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = blockSchema(ctx, "user",
		"Blocks a user: disables the user account in Active Directory, disconnects the user's VPN connections "+
			"on every Remote Access server (each by its tunnel address) and purges the DirectAccess intranet-tunnel "+
			"security associations authenticated as that user. Destroying the block re-enables the account only if it was "+
			"enabled before.",
		withAttributes(accountLeverSchema("user", "deny_dial_in"), withAttributes(dialInLeverSchema(), map[string]schema.Attribute{
			"user_name": schema.StringAttribute{
				Required:   true,
				Validators: []validator.String{accountNameValidator{kind: directory.KindUser}},
				MarkdownDescription: "The user's sAMAccountName (such as `alice`) or user principal name (`alice@corp.example`). " +
					"Another name of the same account (letter case, the UPN instead of the sAMAccountName) changes nothing; a " +
					"name of another account, or of none, is refused when the plan is made (a block stays with its account: " +
					"declare a second block instead). A name known only at apply is resolved then: an update in place, " +
					"refused without any change when it names another account.",
			},
			"user_principal_name": computedString("userPrincipalName of the account."),
			"display_name":        computedString("displayName of the account."),
		})))
}

func (r *blockedUserResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = blockIdentitySchema("user")
}

func (r *blockedUserResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.ops.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *blockedUserResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	r.ops.modifyPlan(ctx, &blockedUserModel{}, &blockedUserModel{}, req, resp)
}

func (r *blockedUserResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.ops.create(ctx, &blockedUserModel{}, req, resp)
}

func (r *blockedUserResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	r.ops.read(ctx, req, resp)
}

func (r *blockedUserResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.ops.update(ctx, &blockedUserModel{}, &blockedUserModel{}, req, resp)
}

func (r *blockedUserResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	r.ops.remove(ctx, &blockedUserModel{}, req, resp)
}

func (r *blockedUserResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	r.ops.importState(ctx, req, resp)
}

func (r *blockedUserResource) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	r.ops.listSchema(resp)
}

func (r *blockedUserResource) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	r.ops.list(ctx, req, stream)
}
