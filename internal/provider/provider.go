// Package provider is the Terraform glue of the Remote Access provider: the provider schema and its configuration,
// and one file per resource, data source, action and list resource.
package provider

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Address is the provider's registry address.
const Address = "registry.terraform.io/remoteaccess-iac/remoteaccess"

// typeName is the prefix of every resource, data source, action and list resource type.
const typeName = "remoteaccess"

var (
	_ provider.Provider                   = (*remoteAccessProvider)(nil)
	_ provider.ProviderWithValidateConfig = (*remoteAccessProvider)(nil)
	_ provider.ProviderWithActions        = (*remoteAccessProvider)(nil)
	_ provider.ProviderWithListResources  = (*remoteAccessProvider)(nil)
)

type remoteAccessProvider struct {
	version string
	// lookupEnv reads the REMOTEACCESS_* fallbacks; tests replace it.
	lookupEnv func(string) (string, bool)
}

// NewServer returns a constructor of the framework's protocol server for the provider, for tf6server.Serve and the
// acceptance tests.
func NewServer(version string) func() (tfprotov6.ProviderServer, error) {
	serve := providerserver.NewProtocol6WithError(&remoteAccessProvider{version: version, lookupEnv: os.LookupEnv})
	return func() (tfprotov6.ProviderServer, error) {
		server, err := serve()
		if err != nil {
			return nil, err
		}
		return releaseContexts(server), nil
	}
}

func (p *remoteAccessProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = typeName
	resp.Version = p.version
}

func (p *remoteAccessProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = providerSchema()
}

// ValidateConfig checks the configuration, merged with its environment fallbacks, at plan time.
func (p *remoteAccessProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var model providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &model)...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, diags := resolveSettings(model, p.lookupEnv)
	resp.Diagnostics.Append(diags...)
}

func (p *remoteAccessProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var model providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &model)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settings, diags := resolveSettings(model, p.lookupEnv)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if settings.unknown {
		// Values that depend on other resources are only known at apply time; Terraform configures again then.
		return
	}
	clients, err := newClients(settings)
	if err != nil {
		resp.Diagnostics.AddError("Cannot configure the Remote Access provider", err.Error())
		return
	}
	tflog.Debug(ctx, "configured remoteaccess provider", map[string]any{
		"servers":    settings.Servers,
		"winrm_auth": settings.WinRM.Auth,
		"ldap_urls":  settings.LDAP.URLs,
	})
	resp.ResourceData = clients
	resp.DataSourceData = clients
	resp.ActionData = clients
	resp.ListResourceData = clients
}

func (p *remoteAccessProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newBlockedDeviceResource,
		newBlockedUserResource,
		newNodeDrainResource,
	}
}

func (p *remoteAccessProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newClientConfigDataSource,
		newClusterDataSource,
		newConnectionsDataSource,
		newDeviceDataSource,
		newSecurityAssociationsDataSource,
		newServersDataSource,
		newUserDataSource,
	}
}

func (p *remoteAccessProvider) Actions(context.Context) []func() action.Action {
	return []func() action.Action{
		newDisconnectVPNUsersAction,
		newPurgeSecurityAssociationsAction,
	}
}

func (p *remoteAccessProvider) ListResources(context.Context) []func() list.ListResource {
	return []func() list.ListResource{
		newBlockedDeviceListResource,
		newBlockedUserListResource,
	}
}

// clientsFrom takes the provider's clients out of a Configure request; nil while the provider is not configured yet.
func clientsFrom(data any, diags *diag.Diagnostics) *clients {
	if data == nil {
		return nil
	}
	c, ok := data.(*clients)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *clients, got %T; please report this issue", data))
		return nil
	}
	return c
}
