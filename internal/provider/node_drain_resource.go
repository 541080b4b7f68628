package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

var (
	_ resource.Resource               = (*nodeDrainResource)(nil)
	_ resource.ResourceWithConfigure  = (*nodeDrainResource)(nil)
	_ resource.ResourceWithModifyPlan = (*nodeDrainResource)(nil)
)

const (
	defaultDrainTimeout   = "5m"
	maxDrainTimeout       = 24 * time.Hour
	drainPollInterval     = 2 * time.Second
	externalQuietWindow   = 15 * time.Second
	defaultDrainCreate    = 30 * time.Minute
	defaultResumeTimeout  = 10 * time.Minute
	defaultDrainReadLimit = 2 * time.Minute
)

// drainInterval and quietWindow are variables so that the acceptance tests can run against the lab in seconds.
var (
	drainInterval = drainPollInterval
	quietWindow   = externalQuietWindow
)

// drainTurn serializes the drains of this provider process: two drains in one apply run one after the other, so
// that the second one's guard sees the first node out of rotation. A drain takes its turn before its timeout starts:
// the plan checked that the timeout covers the drain itself, not the wait for the drains before it.
var drainTurn = make(chan struct{}, 1)

// takeDrainTurn waits for this process's drain turn, or until ctx ends (Ctrl-C); release gives it back.
func takeDrainTurn(ctx context.Context, diags *diag.Diagnostics) (release func(), ok bool) {
	select {
	case drainTurn <- struct{}{}:
		return func() { <-drainTurn }, true
	case <-ctx.Done():
		diags.AddError("The drain did not start", fmt.Sprintf("It was waiting for the drains before it in this apply "+
			"when it was stopped: %v. Nothing was changed.", ctx.Err()))
		return nil, false
	}
}

type nodeDrainModel struct {
	ID                      types.String   `tfsdk:"id"`
	Node                    types.String   `tfsdk:"node"`
	LoadBalancer            types.String   `tfsdk:"load_balancer"`
	DrainTimeout            types.String   `tfsdk:"drain_timeout"`
	DisconnectSessions      types.Bool     `tfsdk:"disconnect_sessions"`
	WaitForZeroSessions     types.Bool     `tfsdk:"wait_for_zero_sessions"`
	AllowLastNode           types.Bool     `tfsdk:"allow_last_node"`
	MinNodesInRotation      types.Int64    `tfsdk:"min_nodes_in_rotation"`
	Server                  types.String   `tfsdk:"server"`
	Drained                 types.Bool     `tfsdk:"drained"`
	LoadBalancerStateBefore types.String   `tfsdk:"load_balancer_state_before"`
	LoadBalancerStateAfter  types.String   `tfsdk:"load_balancer_state_after"`
	SessionsAtStart         types.Int64    `tfsdk:"sessions_at_start"`
	SessionsAtEnd           types.Int64    `tfsdk:"sessions_at_end"`
	DrainedAt               types.String   `tfsdk:"drained_at"`
	Timeouts                timeouts.Value `tfsdk:"timeouts"`
}

type nodeDrainResource struct {
	clients *clients
}

func newNodeDrainResource() resource.Resource { return &nodeDrainResource{} }

func (r *nodeDrainResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node_drain"
}

func (r *nodeDrainResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Drains one Remote Access server for a maintenance window: takes it out of load-balancer rotation, " +
			"ends its DirectAccess and VPN sessions so that clients reconnect through the other nodes, and waits until it " +
			"carries none. Destroying the resource puts the node back (NLB: resume and start it, then wait until it " +
			"converged). Apply before the window, destroy after it. The plan refuses to drain the last node in rotation, " +
			"and shows the sessions on the node and the nodes that will take them.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The node's name, as the cluster knows it.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"node": schema.StringAttribute{
				Required: true, PlanModifiers: replace,
				Validators: []validator.String{stringvalidator.LengthBetween(1, 255)},
				MarkdownDescription: "The node to drain: one of the provider's `servers`, by the name the cluster knows it " +
					"(its NLB node name, such as `RAS1`) or by its entry in `servers`.",
			},
			"load_balancer": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(string(remoteaccess.BalancerNLB)),
				PlanModifiers: replace,
				Validators:    []validator.String{stringvalidator.OneOf(string(remoteaccess.BalancerNLB), string(remoteaccess.BalancerExternal))},
				MarkdownDescription: "`nlb` (Windows Network Load Balancing: the node is drained with `Stop-NlbClusterNode -Drain` " +
					"on the node itself, on every interface NLB is bound to, and stops) or `external` (a balancer managed " +
					"elsewhere: take the node out of its pool first; the resource only ends the node's sessions and checks " +
					"that it receives no new ones). Defaults to `nlb`.",
			},
			"drain_timeout": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(defaultDrainTimeout),
				Validators: []validator.String{drainTimeoutValidator{}},
				MarkdownDescription: "How long the node's sessions may end by themselves, as a duration such as `90s` or `5m`. " +
					"With `nlb` it is `Stop-NlbClusterNode -Timeout`, which counts whole seconds; the node stops at its end and " +
					"NLB interrupts the connections left. With `external`, the time waited before disconnecting what is left. " +
					"Defaults to `" + defaultDrainTimeout + "`.",
			},
			"disconnect_sessions": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "After the drain, purge the node's IPsec security associations and disconnect its VPN " +
					"connections, so that clients reconnect through other nodes. Defaults to `true`.",
			},
			"wait_for_zero_sessions": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Wait, within the create timeout, until the node lists no session. Defaults to `true`.",
			},
			"allow_last_node": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Allow draining the last node in rotation, which leaves no node for the clients. " +
					"Defaults to `false`: the plan refuses it.",
			},
			"min_nodes_in_rotation": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(1),
				Validators: []validator.Int64{int64validator.Between(1, 64)},
				MarkdownDescription: "How many other nodes must stay in rotation: the plan refuses a drain (for example of a " +
					"second node while one is drained) that leaves fewer, except that `allow_last_node` permits leaving none. " +
					"Defaults to `1`.",
			},
			"server": computed("The entry of the provider's `servers` that is the node: where the drain runs."),
			"drained": schema.BoolAttribute{
				Computed: true,
				MarkdownDescription: "Whether the drain is complete: the node out of rotation and, with `wait_for_zero_sessions`, " +
					"without sessions. `false` after an interrupted apply, or when the node came back into rotation or sessions " +
					"returned out of band; the next apply drains it again in place.",
			},
			"load_balancer_state_before": computed("The node's load-balancer state before the drain (NLB: per interface when they differ)."),
			"load_balancer_state_after":  computed("The node's load-balancer state after the drain, refreshed by every read."),
			"sessions_at_start":          schema.Int64Attribute{Computed: true, MarkdownDescription: "Sessions on the node when the drain started."},
			"sessions_at_end":            schema.Int64Attribute{Computed: true, MarkdownDescription: "Sessions on the node when the drain ended."},
			"drained_at":                 computed("When the drain completed, in RFC 3339."),
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true, Read: true}),
		},
	}
}

func (r *nodeDrainResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// cluster is the fan-out over the provider's servers.
func (r *nodeDrainResource) cluster(diags *diag.Diagnostics) *remoteaccess.Cluster {
	if r.clients == nil {
		diags.AddError("Provider not configured", "The provider configuration is not known yet.")
		return nil
	}
	c, err := r.clients.Cluster(nil)
	if err != nil {
		diags.AddError("No Remote Access server", err.Error())
		return nil
	}
	return c
}

// prepare bounds ctx by the operation's timeout (limit, with its default) and returns the fan-out over the servers;
// the cluster is nil after an error diagnostic.
func (r *nodeDrainResource) prepare(ctx context.Context, limit func(context.Context, time.Duration) (time.Duration, diag.Diagnostics),
	defaultLimit time.Duration, diags *diag.Diagnostics,
) (context.Context, context.CancelFunc, *remoteaccess.Cluster) {
	timeout, d := limit(ctx, defaultLimit)
	diags.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	if diags.HasError() {
		return ctx, cancel, nil
	}
	return ctx, cancel, r.cluster(diags)
}

func (m *nodeDrainModel) options() remoteaccess.DrainOptions {
	timeout, _ := time.ParseDuration(m.DrainTimeout.ValueString()) // validated at plan time
	return remoteaccess.DrainOptions{
		Balancer:            remoteaccess.Balancer(m.LoadBalancer.ValueString()),
		Timeout:             timeout,
		DisconnectSessions:  m.DisconnectSessions.ValueBool(),
		WaitForZeroSessions: m.WaitForZeroSessions.ValueBool(),
		Interval:            drainInterval,
		QuietWindow:         quietWindow,
	}
}

func (r *nodeDrainResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan nodeDrainModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	release, ok := takeDrainTurn(ctx, &resp.Diagnostics)
	if !ok {
		return
	}
	defer release()
	ctx, cancel, c := r.prepare(ctx, plan.Timeouts.Create, defaultDrainCreate, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	server, node, ok := r.resolve(ctx, c, &plan, &resp.Diagnostics)
	if !ok {
		return
	}
	plan.ID, plan.Server = types.StringValue(node), types.StringValue(server)
	res, err := r.drain(ctx, c, &plan, server, node)
	if res.StateBefore == "" || errors.Is(err, remoteaccess.ErrDrainNotSent) {
		// Nothing was changed (the node's state could not be read, or the drain was refused before it was sent): no
		// state to record, and an error, so that the apply fails with the node still in rotation.
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot drain %s", node), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if err != nil {
		// A warning, not an error: Terraform would taint a created resource that reports an error and replace it at
		// the next apply, which destroys it first and so puts the node back into rotation in the middle of the window.
		resp.Diagnostics.AddWarning(fmt.Sprintf("The drain of %s is not complete", node),
			fmt.Sprintf("%s\n\nTerraform recorded the drain with drained = false. Fix the cause and run apply again: it "+
				"completes the drain in place.", err))
	}
}

// resolve finds the server that is the node and, at apply time, checks again that draining it leaves enough nodes
// in rotation (the plan's view may be old, and other drains may have run since).
func (r *nodeDrainResource) resolve(ctx context.Context, c *remoteaccess.Cluster, m *nodeDrainModel, diags *diag.Diagnostics) (server, node string, ok bool) {
	topo, err := c.Topology(ctx)
	server, node, found := locateNode(c, topo, err, m.Node.ValueString())
	if !found {
		diags.AddAttributeError(path.Root("node"), unknownNodeSummary(err), unknownNodeDetail(m.Node.ValueString(), topo, err))
		return "", "", false
	}
	if err := checkRotation(c, topo, node, m, nil); err != nil {
		diags.AddAttributeError(path.Root("allow_last_node"), "Draining this node leaves too few nodes in rotation", err.Error())
		return "", "", false
	}
	return server, node, true
}

// drain runs the drain and copies its result into m.
func (r *nodeDrainResource) drain(ctx context.Context, c *remoteaccess.Cluster, m *nodeDrainModel, server, node string) (remoteaccess.DrainResult, error) {
	opts := m.options()
	opts.Progress = func(p remoteaccess.Progress) {
		tflog.Info(ctx, "draining node", map[string]any{
			"node": node, "phase": p.Phase, "sessions_left": p.Sessions, "elapsed": p.Elapsed.Round(time.Second).String(),
		})
	}
	tflog.Info(ctx, "draining node", map[string]any{"node": node, "server": server, "load_balancer": string(opts.Balancer)})
	res, err := c.Drain(ctx, server, node, opts)
	if res.StateBefore != "" && (m.LoadBalancerStateBefore.IsNull() || m.LoadBalancerStateBefore.IsUnknown()) {
		m.LoadBalancerStateBefore = types.StringValue(res.StateBefore)
	}
	if m.SessionsAtStart.IsNull() || m.SessionsAtStart.IsUnknown() {
		m.SessionsAtStart = types.Int64Null()
		if res.SessionsAtStart >= 0 {
			m.SessionsAtStart = types.Int64Value(int64(res.SessionsAtStart))
		}
	}
	m.LoadBalancerStateAfter = types.StringValue(res.StateAfter)
	m.SessionsAtEnd = types.Int64Null()
	if res.SessionsAtEnd >= 0 {
		m.SessionsAtEnd = types.Int64Value(int64(res.SessionsAtEnd))
	}
	m.Drained = types.BoolValue(err == nil && res.Complete())
	m.DrainedAt = types.StringNull()
	if err == nil {
		m.DrainedAt = types.StringValue(res.DrainedAt.Format(time.RFC3339))
	} else {
		tflog.Warn(ctx, "drain not complete", map[string]any{"node": node, "error": err.Error()})
	}
	return res, err
}

// Read reports drift: the node back in rotation (NLB started out of band) or sessions back on it. A node that does
// not answer, as during its maintenance, is no drift: the state stays as it was.
func (r *nodeDrainResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state nodeDrainModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.prepare(ctx, state.Timeouts.Read, defaultDrainReadLimit, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	node, server := state.ID.ValueString(), state.Server.ValueString()
	drifted := r.drift(ctx, c, &state, server, node)
	if drifted != "" {
		tflog.Warn(ctx, "drained node drifted", map[string]any{"node": node, "drift": drifted})
		state.Drained = types.BoolValue(false)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// drift says why a drained node no longer is ("" when it still is), refreshing load_balancer_state_after.
func (r *nodeDrainResource) drift(ctx context.Context, c *remoteaccess.Cluster, m *nodeDrainModel, server, node string) string {
	var reasons []string
	if remoteaccess.Balancer(m.LoadBalancer.ValueString()) == remoteaccess.BalancerNLB {
		topo, err := c.Topology(ctx)
		if status, ok := topo.Node(node); ok {
			m.LoadBalancerStateAfter = types.StringValue(status.State())
			if status.BackInRotation() {
				reasons = append(reasons, "back in rotation ("+status.State()+")")
			}
		} else {
			tflog.Warn(ctx, "cannot read the drained node's NLB state", map[string]any{"node": node, "error": fmt.Sprint(err)})
		}
	}
	if m.WaitForZeroSessions.ValueBool() {
		if conns, err := c.Sessions(ctx, server); err == nil && len(conns) > 0 {
			reasons = append(reasons, fmt.Sprintf("%d session(s) returned", len(conns)))
		}
	}
	return strings.Join(reasons, ", ")
}

// Update drains again when the last drain was interrupted or drifted; otherwise it only records new arguments.
func (r *nodeDrainResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var prior, plan nodeDrainModel
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.copyOutcome(&prior)
	if prior.Drained.ValueBool() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	release, ok := takeDrainTurn(ctx, &resp.Diagnostics)
	if !ok {
		resp.Diagnostics.Append(resp.State.Set(ctx, &prior)...)
		return
	}
	defer release()
	ctx, cancel, c := r.prepare(ctx, plan.Timeouts.Update, defaultDrainCreate, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, &prior)...) // the update response starts as the plan: keep drained = false
		return
	}
	server, node, ok := r.resolve(ctx, c, &plan, &resp.Diagnostics)
	if !ok {
		resp.Diagnostics.Append(resp.State.Set(ctx, &prior)...)
		return
	}
	plan.Server = types.StringValue(server)
	_, err := r.drain(ctx, c, &plan, server, node)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("The drain of %s is not complete", node),
			fmt.Sprintf("%s\n\nThe state records drained = false; run apply again once the cause is fixed.", err))
	}
}

// copyOutcome takes what the plan left unknown from the prior state; a drain overwrites what it changes.
func (m *nodeDrainModel) copyOutcome(prior *nodeDrainModel) {
	m.ID, m.Server, m.Drained = prior.ID, prior.Server, prior.Drained
	m.LoadBalancerStateBefore, m.LoadBalancerStateAfter = prior.LoadBalancerStateBefore, prior.LoadBalancerStateAfter
	m.SessionsAtStart, m.SessionsAtEnd, m.DrainedAt = prior.SessionsAtStart, prior.SessionsAtEnd, prior.DrainedAt
}

// Delete puts the node back: NLB resumes and starts it on every interface and waits until it converged.
func (r *nodeDrainResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state nodeDrainModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	node := state.ID.ValueString()
	if remoteaccess.Balancer(state.LoadBalancer.ValueString()) == remoteaccess.BalancerExternal {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Put %s back into the external load balancer's pool", node),
			"The drain is removed from state. The provider does not manage the external balancer: add the node to its "+
				"pool again to end the maintenance window.")
		return
	}
	ctx, cancel, c := r.prepare(ctx, state.Timeouts.Delete, defaultResumeTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	tflog.Info(ctx, "resuming node", map[string]any{"node": node, "server": state.Server.ValueString()})
	status, err := c.Resume(ctx, state.Server.ValueString(), node, drainInterval, func(p remoteaccess.Progress) {
		tflog.Info(ctx, "resuming node", map[string]any{"node": node, "phase": p.Phase, "elapsed": p.Elapsed.Round(time.Second).String()})
	})
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot put %s back into rotation", node),
			fmt.Sprintf("%s\n\nThe drain stays in state; run destroy again once the node answers.", err))
		return
	}
	tflog.Info(ctx, "node back in rotation", map[string]any{"node": node, "state": status.State()})
}

// drainTimeoutValidator accepts a duration of at least one second, as NLB counts whole seconds.
type drainTimeoutValidator struct{}

func (drainTimeoutValidator) Description(context.Context) string {
	return fmt.Sprintf("must be a duration such as \"90s\" or \"5m\", from 1s to %s", maxDrainTimeout)
}

func (v drainTimeoutValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v drainTimeoutValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d < time.Second || d > maxDrainTimeout {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid drain timeout",
			fmt.Sprintf("drain_timeout %q %s.", req.ConfigValue.ValueString(), v.Description(ctx)))
	}
}
