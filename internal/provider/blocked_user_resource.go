package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

type blockedUserModel struct {
	blockModel
	UserName          types.String `tfsdk:"user_name"`
	UserPrincipalName types.String `tfsdk:"user_principal_name"`
	DisplayName       types.String `tfsdk:"display_name"`
}

func (m *blockedUserModel) common() *blockModel        { return &m.blockModel }
func (m *blockedUserModel) accountName() types.String  { return m.UserName }
func (m *blockedUserModel) shutdownViaManageOut() bool { return false }
func (m *blockedUserModel) setImportDefaults()         {}

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

func newBlockedUserResource() resource.Resource { return newBlockedUser() }

func newBlockedUserListResource() list.ListResource { return newBlockedUser() }

func newBlockedUser() *blockResource[blockedUserModel, *blockedUserModel] {
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{
			Computed: true, MarkdownDescription: description,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		}
	}
	return &blockResource[blockedUserModel, *blockedUserModel]{kind: blockKind{
		typeSuffix: "blocked_user",
		kind:       directory.KindUser,
		nameAttr:   "user_name",
		noun:       "user",
		description: "Blocks a user: disables the user account in Active Directory, disconnects the user's VPN connections " +
			"on every Remote Access server (each by its tunnel address) and purges the DirectAccess intranet-tunnel " +
			"security associations authenticated as that user. Destroying the block re-enables the account only if it was " +
			"enabled before.",
		nameSchema: schema.StringAttribute{
			Required:   true,
			Validators: []validator.String{accountNameValidator{kind: directory.KindUser}},
			MarkdownDescription: "The user's sAMAccountName (such as `alice`) or user principal name (`alice@corp.example`). " +
				"Another name of the same account (letter case, the UPN instead of the sAMAccountName) changes nothing; a " +
				"name of another account replaces the block.",
		},
		extra: map[string]schema.Attribute{
			"user_principal_name": computed("userPrincipalName of the account."),
			"display_name":        computed("displayName of the account."),
		},
	}}
}
