package provider

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// The framework's protocol server (terraform-plugin-framework v1.19.0, internal/proto6server's registerContext)
// keeps the cancel function of every request's context, so that StopProvider can cancel them, and lets go of them
// only at StopProvider: every request's context stays reachable for the life of the plugin, with the SDK's
// per-request loggers that tf6server puts in it (about 12 KB a request). A plan of 1,000 blocks (four requests
// each) kept about 50 MB live, which the garbage collector scanned again at every cycle. releasingServer passes the
// calls made per block or per instance (validate, upgrade, read, plan, apply, import, move and generate of
// resources; validate and read of data sources; validate of list resources and actions; plan of actions) on to the
// framework unchanged, each with a context that lets go of the request's own once the call has returned: what the
// framework keeps of a request is then its own cancel function and context, and this one (about 150 bytes). Calls
// whose answer is read after they return (ListResource, InvokeAction, ReadStateBytes) and those made once per
// process are passed on as they are.

// fullProviderServer is every protocol interface the framework's server implements, which tf6server asks for.
type fullProviderServer interface {
	tfprotov6.ProviderServer
	tfprotov6.ListResourceServer
	tfprotov6.ActionServer
	tfprotov6.StateStoreServer
}

// releasingServer is the framework's protocol server, with the contexts of its per-block calls released on return.
type releasingServer struct{ fullProviderServer }

var _ fullProviderServer = releasingServer{}

// releaseContexts wraps the framework's server; a server that does not implement every protocol interface is
// returned as it is, so that tf6server finds what it implements.
func releaseContexts(server tfprotov6.ProviderServer) tfprotov6.ProviderServer {
	full, ok := server.(fullProviderServer)
	if !ok {
		return server
	}
	return releasingServer{full}
}

// callReleasing calls call with a context that stands for ctx until call returns, and after that for a cancelled
// context without values (as the request's own is cancelled once its answer is sent).
func callReleasing[Req, Resp any](ctx context.Context, req Req, call func(context.Context, Req) (Resp, error)) (Resp, error) {
	c := &releasableContext{}
	c.parent.Store(&ctx)
	defer c.parent.Store(&releasedContext)
	return call(c, req)
}

// releasedContext is what a released context stands for: cancelled, with no deadline and no values.
var releasedContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// releasableContext delegates to its parent until released. Work that outlives the call (a shared run that the
// caller's request started, under context.WithoutCancel) keeps working: what it loses are the request's own values,
// the loggers tf6server put there (its log lines through them are dropped; loggers set above, such as a subsystem
// of the provider's, keep writing) and the gRPC request's metadata, which nothing here reads.
type releasableContext struct {
	parent atomic.Pointer[context.Context]
}

func (c *releasableContext) context() context.Context { return *c.parent.Load() }

func (c *releasableContext) Deadline() (time.Time, bool) { return c.context().Deadline() }
func (c *releasableContext) Done() <-chan struct{}       { return c.context().Done() }
func (c *releasableContext) Err() error                  { return c.context().Err() }
func (c *releasableContext) Value(key any) any           { return c.context().Value(key) }

func (s releasingServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.ValidateResourceConfig)
}

func (s releasingServer) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.UpgradeResourceState)
}

func (s releasingServer) UpgradeResourceIdentity(ctx context.Context, req *tfprotov6.UpgradeResourceIdentityRequest) (*tfprotov6.UpgradeResourceIdentityResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.UpgradeResourceIdentity)
}

func (s releasingServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.ReadResource)
}

func (s releasingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.PlanResourceChange)
}

func (s releasingServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.ApplyResourceChange)
}

func (s releasingServer) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.ImportResourceState)
}

func (s releasingServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.ValidateDataResourceConfig)
}

func (s releasingServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.ReadDataSource)
}

func (s releasingServer) MoveResourceState(ctx context.Context, req *tfprotov6.MoveResourceStateRequest) (*tfprotov6.MoveResourceStateResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.MoveResourceState)
}

func (s releasingServer) GenerateResourceConfig(ctx context.Context, req *tfprotov6.GenerateResourceConfigRequest) (*tfprotov6.GenerateResourceConfigResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.GenerateResourceConfig)
}

func (s releasingServer) ValidateListResourceConfig(ctx context.Context, req *tfprotov6.ValidateListResourceConfigRequest) (*tfprotov6.ValidateListResourceConfigResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.ValidateListResourceConfig)
}

func (s releasingServer) ValidateActionConfig(ctx context.Context, req *tfprotov6.ValidateActionConfigRequest) (*tfprotov6.ValidateActionConfigResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.ValidateActionConfig)
}

func (s releasingServer) PlanAction(ctx context.Context, req *tfprotov6.PlanActionRequest) (*tfprotov6.PlanActionResponse, error) {
	return callReleasing(ctx, req, s.fullProviderServer.PlanAction)
}
