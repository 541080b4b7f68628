package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

var _ datasource.DataSourceWithConfigure = (*deviceDataSource)(nil)

// deviceDataSource looks a computer account up in Active Directory.
type deviceDataSource struct {
	clients *clients
}

type deviceModel struct {
	accountModel
	ComputerName types.String `tfsdk:"computer_name"`
	DNSHostName  types.String `tfsdk:"dns_host_name"`
}

func newDeviceDataSource() datasource.DataSource { return &deviceDataSource{} }

func (d *deviceDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device"
}

func (d *deviceDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs := accountAttributes("computer")
	attrs["computer_name"] = schema.StringAttribute{
		Required:            true,
		Validators:          []validator.String{accountNameValidator{kind: directory.KindComputer}},
		MarkdownDescription: "The computer's name: its sAMAccountName without the trailing `$` (`CLIENT1`).",
	}
	attrs["dns_host_name"] = schema.StringAttribute{Computed: true,
		MarkdownDescription: "dNSHostName of the computer; null when it was never joined."}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A computer account in Active Directory: whether it is enabled or blocked, its names, " +
			"groups and the identities under which it connects. Reading it asks the directory only.",
		Attributes: attrs,
	}
}

func (d *deviceDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *deviceDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m deviceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	acct := lookupAccount(ctx, d.clients, directory.KindComputer, m.ComputerName.ValueString(), &m.accountModel, &resp.Diagnostics)
	if acct == nil {
		return
	}
	m.DNSHostName = optionalString(acct.DNSHostName)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
