// Command schemafloor serves the provider's schema and remoteaccess_blocked_device's with no work behind them
// (provider.NewSchemaFloorServer), set up as the provider's own main sets up its process: make bench plans the
// provider's state with it, so that the provider's plan can be divided by what its schema alone costs.
package main

import (
	"log"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/plugin"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/provider"
)

func main() {
	plugin.QuietLogs()
	plugin.LimitMemory()
	server, err := provider.NewSchemaFloorServer()()
	if err != nil {
		log.Fatal(err)
	}
	if err := tf6server.Serve(provider.Address, func() tfprotov6.ProviderServer { return server }); err != nil {
		log.Fatal(err)
	}
}
