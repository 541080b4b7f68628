package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

var _ datasource.DataSourceWithConfigure = (*userDataSource)(nil)

// userDataSource looks a user account up in Active Directory.
type userDataSource struct {
	clients *clients
}

type userModel struct {
	accountModel
	UserName          types.String `tfsdk:"user_name"`
	UserPrincipalName types.String `tfsdk:"user_principal_name"`
}

func newUserDataSource() datasource.DataSource { return &userDataSource{} }

func (d *userDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_user"
}

func (d *userDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs := accountAttributes("user")
	attrs["user_name"] = schema.StringAttribute{
		Required:            true,
		Validators:          []validator.String{accountNameValidator{kind: directory.KindUser}},
		MarkdownDescription: "The user's sAMAccountName (`alice`) or user principal name (`alice@corp.example`).",
	}
	attrs["user_principal_name"] = schema.StringAttribute{Computed: true,
		MarkdownDescription: "userPrincipalName of the user; null when it has none."}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A user account in Active Directory: whether it is enabled or blocked, its names, " +
			"groups and the identities under which it connects. Reading it asks the directory only.",
		Attributes: attrs,
	}
}

func (d *userDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *userDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m userModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	acct := lookupAccount(ctx, d.clients, directory.KindUser, m.UserName.ValueString(), &m.accountModel, &resp.Diagnostics)
	if acct == nil {
		return
	}
	m.UserPrincipalName = optionalString(acct.UserPrincipalName)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
