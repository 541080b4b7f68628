package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
)

// dataSourceClients gives a data source the provider's clients; data sources embed it for their Configure.
type dataSourceClients struct {
	clients *clients
}

func (d *dataSourceClients) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// actionClients gives an action the provider's clients; actions embed it for their Configure.
type actionClients struct {
	clients *clients
}

func (a *actionClients) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}
