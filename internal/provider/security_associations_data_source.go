package provider

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

var _ datasource.DataSourceWithConfigure = (*securityAssociationsDataSource)(nil)

// securityAssociationsDataSource lists the IPsec main-mode SAs of every server, with their quick-mode SA counts.
type securityAssociationsDataSource struct {
	dataSourceClients
}

type securityAssociationsModel struct {
	serverReadModel
	Identities           []string `tfsdk:"identities"`
	SecurityAssociations []saRow  `tfsdk:"security_associations"`
}

type saRow struct {
	Server           types.String `tfsdk:"server"`
	Name             types.String `tfsdk:"name"`
	LocalEndpoint    types.String `tfsdk:"local_endpoint"`
	RemoteEndpoint   types.String `tfsdk:"remote_endpoint"`
	RemoteFirstID    types.String `tfsdk:"remote_first_id"`
	RemoteSecondID   types.String `tfsdk:"remote_second_id"`
	AuthMethodFirst  types.String `tfsdk:"auth_method_first"`
	AuthMethodSecond types.String `tfsdk:"auth_method_second"`
	CipherAlgorithm  types.String `tfsdk:"cipher_algorithm"`
	HashAlgorithm    types.String `tfsdk:"hash_algorithm"`
	QuickModeCount   types.Int64  `tfsdk:"quick_mode_count"`
}

func newSecurityAssociationsDataSource() datasource.DataSource {
	return &securityAssociationsDataSource{}
}

func (d *securityAssociationsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_security_associations"
}

func (d *securityAssociationsDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	attrs := serverReadAttributes("security associations")
	attrs["identities"] = schema.ListAttribute{
		Optional: true, ElementType: types.StringType,
		Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(exactNameValidator{field: "identity"})},
		MarkdownDescription: "Only the SAs whose first or second remote identity is one of these, compared exactly and " +
			"case-insensitively (never as a pattern: `CORP\\CLIENT1$` never matches `CORP\\CLIENT10$`). Every SA when omitted. " +
			"The identities of a device or a user are the `identities` of `remoteaccess_device` or `remoteaccess_user`.",
	}
	attrs["security_associations"] = schema.ListNestedAttribute{
		Computed:            true,
		MarkdownDescription: "The matching main-mode SAs of every server, sorted by server and name.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"server":             computed("The Remote Access server that holds the SA, as the provider names it."),
			"name":               computed("The SA's name on that server."),
			"local_endpoint":     computed("The server's address."),
			"remote_endpoint":    computed("The client's address."),
			"remote_first_id":    computed("The identity of the first authentication (the computer)."),
			"remote_second_id":   computed("The identity of the second authentication (the computer for the infrastructure tunnel, the user for the intranet tunnel)."),
			"auth_method_first":  computed("The method of the first authentication; null when the server prints identities as strings."),
			"auth_method_second": computed("The method of the second authentication; null likewise."),
			"cipher_algorithm":   computed("The cipher: a name (`AES-256` for the code 65003 of the MSFT_NetMainModeSA class page), or the code as a number when the page does not name it."),
			"hash_algorithm":     computed("The hash: a name (`SHA-256` for the code 65001), or the code as a number when the page does not name it."),
			"quick_mode_count": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "The quick-mode SAs under this main-mode SA."},
		}},
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The IPsec main-mode security associations of every Remote Access server " +
			"(`Get-NetIPsecMainModeSA`), each with the number of its quick-mode SAs, asked at once.",
		Attributes: attrs,
		Blocks:     serverReadBlocks(ctx),
	}
}

func (d *securityAssociationsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m securityAssociationsModel
	read := startServerRead(ctx, d.clients, req.Config, &m, &m.serverReadModel, &resp.Diagnostics)
	if read == nil {
		return
	}
	results, err := read.cluster.GetIPsecSAs(read.ctx, m.Identities)
	read.finish(&m.serverReadModel, "security associations", &resp.Diagnostics, err)
	if resp.Diagnostics.HasError() {
		return
	}
	m.SecurityAssociations = []saRow{}
	for _, server := range read.cluster.Servers() {
		if sas := results[server]; sas.Indeterminate {
			resp.Diagnostics.AddWarning("Remote Access server "+server+" cannot tell which SAs are the identities'",
				sas.IndeterminateReason+": its rows may be missing SAs of these identities.")
		}
	}
	for server, sas := range results {
		for _, sa := range sas.MainMode {
			m.SecurityAssociations = append(m.SecurityAssociations, newSARow(server, sa))
		}
	}
	slices.SortFunc(m.SecurityAssociations, func(a, b saRow) int {
		return cmp.Or(strings.Compare(a.Server.ValueString(), b.Server.ValueString()), compareSANames(a.Name.ValueString(), b.Name.ValueString()))
	})
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func newSARow(server string, sa remoteaccess.MainModeSA) saRow {
	return saRow{
		Server:           types.StringValue(server),
		Name:             types.StringValue(sa.Name),
		LocalEndpoint:    optionalString(sa.LocalEndpoint),
		RemoteEndpoint:   optionalString(sa.RemoteEndpoint),
		RemoteFirstID:    optionalString(sa.RemoteFirstID),
		RemoteSecondID:   optionalString(sa.RemoteSecondID),
		AuthMethodFirst:  optionalString(sa.AuthMethodFirst),
		AuthMethodSecond: optionalString(sa.AuthMethodSecond),
		CipherAlgorithm:  optionalString(sa.CipherAlgorithm),
		HashAlgorithm:    optionalString(sa.HashAlgorithm),
		QuickModeCount:   types.Int64Value(int64(sa.QuickModeCount)),
	}
}

// compareSANames orders SA names, which Windows numbers, numerically when they are numbers.
func compareSANames(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}
