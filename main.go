// Command terraform-provider-remoteaccess serves the Remote Access provider to Terraform and OpenTofu.
package main

import (
	"context"
	"flag"
	"log"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/plugin"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/provider"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers such as delve")
	flag.Parse()
	if !debug {
		plugin.QuietLogs()
	}
	plugin.LimitMemory()

	server, err := provider.NewServer(version)()
	if err != nil {
		log.Fatal(err)
	}
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	err = tf6server.Serve(provider.Address, func() tfprotov6.ProviderServer { return server }, opts...)
	// Serve returns when Terraform stops the plugin, which it kills about two seconds later: delete the WinRM
	// shells still pooled before that.
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	closeErr := provider.CloseWinRMClients(ctx)
	cancel()
	if closeErr != nil {
		log.Printf("[WARN] deleting WinRM shells at exit: %v", closeErr)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// shutdownTimeout bounds the clean-up at exit, within the two seconds go-plugin waits before it kills a plugin.
const shutdownTimeout = 1500 * time.Millisecond
