package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// NewSchemaFloorServer serves this provider's schema and remoteaccess_blocked_device's, as NewServer serves the
// provider, and does nothing else: Configure ignores the configuration, Read returns the state as it is, and no
// plan is modified. make bench plans the provider's state with it (internal/benchmark/schemafloor), and
// BenchmarkPlanRefreshSchemaFloor drives it in-process, to tell what terraform-plugin-framework and Terraform cost for
// the block's schema from what the provider's own work costs.
func NewSchemaFloorServer() func() (tfprotov6.ProviderServer, error) {
	serve := providerserver.NewProtocol6WithError(schemaFloorProvider{})
	return func() (tfprotov6.ProviderServer, error) {
		server, err := serve()
		if err != nil {
			return nil, err
		}
		return releaseContexts(server), nil
	}
}

// schemaFloorProvider has the provider's schema, so that a workspace of the provider validates, and serves
// remoteaccess_blocked_device as schemaFloorResource.
type schemaFloorProvider struct{}

var _ provider.Provider = schemaFloorProvider{}

func (schemaFloorProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = typeName
}

func (schemaFloorProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = providerSchema()
}

func (schemaFloorProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (schemaFloorProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{func() resource.Resource { return schemaFloorResource{} }}
}

func (schemaFloorProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

// schemaFloorResource has the blocked device's schema, and a Read that returns the state as it is.
type schemaFloorResource struct{}

var _ resource.Resource = schemaFloorResource{}

func (schemaFloorResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_blocked_device"
}

func (schemaFloorResource) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
	newBlockedDevice().Schema(ctx, req, resp)
}

func (schemaFloorResource) Read(_ context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	resp.State = req.State
}

// The schema-only provider plans refreshes and nothing else: a change it is asked to apply is an error, so that a
// workspace pointed at it by mistake never loses a block from its state.
const schemaFloorRefusal = "The schema-only provider of make bench (internal/benchmark/schemafloor) changes nothing."

func (schemaFloorResource) Create(_ context.Context, _ resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.AddError("Not applied", schemaFloorRefusal)
}

func (schemaFloorResource) Update(_ context.Context, _ resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.AddError("Not applied", schemaFloorRefusal)
}

func (schemaFloorResource) Delete(_ context.Context, _ resource.DeleteRequest, resp *resource.DeleteResponse) {
	resp.Diagnostics.AddError("Not applied", schemaFloorRefusal)
}
