package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = (*clientConfigDataSource)(nil)

// clientConfigDataSource exposes the provider's effective settings, after defaults and environment fallbacks,
// without secrets: pipelines use it to show which servers and directories a plan will touch.
type clientConfigDataSource struct {
	clients *clients
}

type clientConfigModel struct {
	Servers       types.List   `tfsdk:"servers"`
	WinRMPort     types.Int64  `tfsdk:"winrm_port"`
	WinRMUseHTTPS types.Bool   `tfsdk:"winrm_use_https"`
	WinRMAuth     types.String `tfsdk:"winrm_auth"`
	WinRMUsername types.String `tfsdk:"winrm_username"`
	LDAPURLs      types.List   `tfsdk:"ldap_urls"`
	LDAPBindUser  types.String `tfsdk:"ldap_bind_username"`
	LDAPBaseDN    types.String `tfsdk:"ldap_base_dn"`
	LDAPKerberos  types.Bool   `tfsdk:"ldap_kerberos"`
}

func newClientConfigDataSource() datasource.DataSource { return &clientConfigDataSource{} }

func (d *clientConfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_client_config"
}

func (d *clientConfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The provider's effective settings after defaults and `REMOTEACCESS_*` environment fallbacks, " +
			"without secrets. Reading it contacts no server.",
		Attributes: map[string]schema.Attribute{
			"servers": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The Remote Access servers that operations fan out to."},
			"winrm_port":      schema.Int64Attribute{Computed: true, MarkdownDescription: "WinRM port."},
			"winrm_use_https": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether WinRM uses HTTPS."},
			"winrm_auth":      computed("WinRM authentication method."),
			"winrm_username":  computed("WinRM account."),
			"ldap_urls": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "LDAP URLs in failover order."},
			"ldap_bind_username": computed("LDAP bind account."),
			"ldap_base_dn":       computed("Configured base DN; empty when it is discovered from the root DSE."),
			"ldap_kerberos":      schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether LDAP binds with Kerberos (GSSAPI)."},
		},
	}
}

func (d *clientConfigDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *clientConfigDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	if d.clients == nil {
		resp.Diagnostics.AddError("Provider not configured", "The provider configuration is not known yet.")
		return
	}
	s := d.clients.settings
	servers, diags := types.ListValueFrom(ctx, types.StringType, s.Servers)
	resp.Diagnostics.Append(diags...)
	urls, diags := types.ListValueFrom(ctx, types.StringType, s.LDAP.URLs)
	resp.Diagnostics.Append(diags...)
	model := clientConfigModel{
		Servers:       servers,
		WinRMPort:     types.Int64Value(int64(s.WinRM.Port)),
		WinRMUseHTTPS: types.BoolValue(s.WinRM.UseHTTPS),
		WinRMAuth:     types.StringValue(s.WinRM.Auth),
		WinRMUsername: types.StringValue(s.WinRM.Username),
		LDAPURLs:      urls,
		LDAPBindUser:  types.StringValue(s.LDAP.BindUsername),
		LDAPBaseDN:    types.StringValue(s.LDAP.BaseDN),
		LDAPKerberos:  types.BoolValue(s.LDAP.Kerberos != nil),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &model)...)
}
