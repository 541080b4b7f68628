package provider

import (
	"context"
	"runtime"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
)

// requestValueKey marks a request's context as tf6server's loggers do.
type requestValueKey struct{}

// The provider's server lets go of a request's context once the call has returned: the framework alone keeps every
// request's context (and the SDK's loggers in it) for the life of the plugin, so that a plan's memory grew with its
// number of blocks.
func TestARequestsContextIsReleasedWhenTheCallReturns(t *testing.T) {
	server, err := NewServer("test")()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	config := deviceConfigValue(t, schemas.ResourceSchemas["remoteaccess_blocked_device"].ValueType(), "LAPTOP-0042")
	released := make(chan struct{})
	validateWithMarkedContext(t, server, config, released)
	poll.Until(t, "the request's context is released", func() bool {
		runtime.GC()
		select {
		case <-released:
			return true
		default:
			return false
		}
	})
	runtime.KeepAlive(server) // the plugin's server lives as long as the plugin
}

// validateWithMarkedContext validates config with a context that carries a value whose clean-up closes released
// once nothing reaches it any more.
func validateWithMarkedContext(t *testing.T, server tfprotov6.ProviderServer, config *tfprotov6.DynamicValue, released chan struct{}) {
	marker := new([256]byte)
	runtime.AddCleanup(marker, func(ch chan struct{}) { close(ch) }, released)
	ctx := context.WithValue(context.Background(), requestValueKey{}, marker)
	resp, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{
		TypeName: "remoteaccess_blocked_device", Config: config,
	})
	if err != nil || hasErrors(resp.Diagnostics) {
		t.Fatalf("validate: %v %v", err, diagnosticsText(resp.Diagnostics))
	}
}
