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

// releasedCalls are the calls the provider's server passes on with a context it lets go of. The framework keeps a
// request's context from its first line on, so a type name it does not know is enough.
var releasedCalls = map[string]func(context.Context, tfprotov6.ProviderServer){
	"ValidateResourceConfig": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "remoteaccess_none"})
	},
	"UpgradeResourceState": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{TypeName: "remoteaccess_none"})
	},
	"UpgradeResourceIdentity": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.UpgradeResourceIdentity(ctx, &tfprotov6.UpgradeResourceIdentityRequest{TypeName: "remoteaccess_none"})
	},
	"ReadResource": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "remoteaccess_none"})
	},
	"PlanResourceChange": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{TypeName: "remoteaccess_none"})
	},
	"ApplyResourceChange": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{TypeName: "remoteaccess_none"})
	},
	"ImportResourceState": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.ImportResourceState(ctx, &tfprotov6.ImportResourceStateRequest{TypeName: "remoteaccess_none"})
	},
	"MoveResourceState": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.MoveResourceState(ctx, &tfprotov6.MoveResourceStateRequest{TargetTypeName: "remoteaccess_none"})
	},
	"GenerateResourceConfig": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.GenerateResourceConfig(ctx, &tfprotov6.GenerateResourceConfigRequest{TypeName: "remoteaccess_none"})
	},
	"ValidateDataResourceConfig": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.ValidateDataResourceConfig(ctx, &tfprotov6.ValidateDataResourceConfigRequest{TypeName: "remoteaccess_none"})
	},
	"ReadDataSource": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.ReadDataSource(ctx, &tfprotov6.ReadDataSourceRequest{TypeName: "remoteaccess_none"})
	},
	"ValidateListResourceConfig": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.(tfprotov6.ListResourceServer).ValidateListResourceConfig(ctx, &tfprotov6.ValidateListResourceConfigRequest{TypeName: "remoteaccess_none"})
	},
	"ValidateActionConfig": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.(tfprotov6.ActionServer).ValidateActionConfig(ctx, &tfprotov6.ValidateActionConfigRequest{ActionType: "remoteaccess_none"})
	},
	"PlanAction": func(ctx context.Context, s tfprotov6.ProviderServer) {
		_, _ = s.(tfprotov6.ActionServer).PlanAction(ctx, &tfprotov6.PlanActionRequest{ActionType: "remoteaccess_none"})
	},
}

// The provider's server lets go of a request's context once each per-block call has returned: the framework alone
// keeps every request's context (and the SDK's loggers in it) for the life of the plugin, so that a plan's memory
// grew with its number of blocks. The request's context is a cancel context, as tf6server's is.
func TestARequestsContextIsReleasedWhenTheCallReturns(t *testing.T) {
	for name, call := range releasedCalls {
		t.Run(name, func(t *testing.T) {
			server, err := NewServer("test")()
			if err != nil {
				t.Fatal(err)
			}
			released := make(chan struct{})
			callWithMarkedContext(server, call, released)
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
		})
	}
}

// callWithMarkedContext makes the call with a context that carries a value whose clean-up closes released once
// nothing reaches it any more; the request's context is cancelled after the call, as gRPC's is.
func callWithMarkedContext(server tfprotov6.ProviderServer, call func(context.Context, tfprotov6.ProviderServer), released chan struct{}) {
	marker := new([256]byte)
	runtime.AddCleanup(marker, func(ch chan struct{}) { close(ch) }, released)
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), requestValueKey{}, marker))
	defer cancel()
	call(ctx, server)
}

// blockingFramework stands for the framework's server in a call that runs until its context ends: it derives its
// own context as the framework does, hands it out and waits.
type blockingFramework struct {
	fullProviderServer // nil: only ReadResource is called
	started            chan context.Context
}

func (f blockingFramework) ReadResource(ctx context.Context, _ *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.started <- ctx
	<-ctx.Done()
	return &tfprotov6.ReadResourceResponse{}, nil
}

// A request cancelled while its call runs (tf6server cancels every request's context at StopProvider, Terraform's
// Ctrl-C) is cancelled for the framework and the resource too, through the released-on-return context.
func TestCancellingARequestReachesTheCallInFlight(t *testing.T) {
	framework := blockingFramework{started: make(chan context.Context, 1)}
	server := releaseContexts(framework)
	request, cancel := context.WithCancel(context.Background())
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		_, _ = server.ReadResource(request, &tfprotov6.ReadResourceRequest{TypeName: "remoteaccess_blocked_device"})
	}()
	inFlight := <-framework.started
	if inFlight.Err() != nil {
		t.Fatal("the call's context ended before its request was cancelled")
	}
	cancel()
	poll.Until(t, "the call's context ends with its request", func() bool { return inFlight.Err() != nil })
	<-returned
}
