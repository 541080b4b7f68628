package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// planReadTimeout bounds what the plan reads from the servers: the guards and the impact.
const planReadTimeout = 15 * time.Second

// impactLines bounds the sessions a plan lists one by one.
const impactLines = 25

// ModifyPlan plans a new drain when the last one is not complete, and refuses at plan time what the apply would
// refuse: an unknown node, too few nodes left in rotation, a create timeout the drain cannot fit in. For a drain
// being created it shows the impact: the sessions on the node and the nodes that will take them.
func (r *nodeDrainResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan nodeDrainModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	creating := req.State.Raw.IsNull()
	needsDrain := creating
	// drained stays unknown while a drain is planned: an interrupted drain records false, which a planned true
	// would forbid.
	if creating {
		plan.Drained = types.BoolUnknown()
	} else {
		var prior nodeDrainModel
		resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
		if resp.Diagnostics.HasError() {
			return
		}
		plan.copyOutcome(&prior)
		if needsDrain = !prior.Drained.ValueBool(); needsDrain {
			// Interrupted, or drifted: the update drains again.
			plan.Drained = types.BoolUnknown()
			plan.LoadBalancerStateAfter, plan.SessionsAtEnd, plan.DrainedAt = types.StringUnknown(), types.Int64Unknown(), types.StringUnknown()
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	if !needsDrain || r.clients == nil || resp.Diagnostics.HasError() {
		return // nothing to drain: only arguments change, or the provider is not configured yet
	}
	if plan.Node.IsUnknown() || plan.LoadBalancer.IsUnknown() || plan.DrainTimeout.IsUnknown() ||
		plan.AllowLastNode.IsUnknown() || plan.MinNodesInRotation.IsUnknown() {
		return // checked at apply time
	}
	r.checkPlan(ctx, &plan, creating, &resp.Diagnostics)
}

// checkPlan reads the cluster, briefly, to refuse a bad drain at plan time and to show the impact of a new one.
// A drain that is already in state (interrupted, or drifted) is only warned about here and refused by the apply:
// terraform destroy first plans the configuration to refresh the state, and a refusal there would block the destroy
// that puts the nodes back.
func (r *nodeDrainResource) checkPlan(ctx context.Context, plan *nodeDrainModel, creating bool, diags *diag.Diagnostics) {
	c, err := r.clients.Cluster(nil)
	if err != nil {
		diags.AddError("No Remote Access server", err.Error())
		return
	}
	readCtx, cancel := context.WithTimeout(ctx, planReadTimeout)
	defer cancel()
	topo, topoErr := c.Topology(readCtx)
	server, node, found := locateNode(c, topo, topoErr, plan.Node.ValueString())
	switch {
	case !found && topoErr == nil:
		diags.AddAttributeError(path.Root("node"), "Unknown node", unknownNodeDetail(plan.Node.ValueString(), topo, nil))
		return
	case !found:
		diags.AddWarning("The drain could not be checked at plan time",
			fmt.Sprintf("%s\n\nThe apply checks the node and the nodes left in rotation again before it drains.",
				unknownNodeDetail(plan.Node.ValueString(), topo, topoErr)))
		return
	}
	err = r.clients.drains.reserve(node, func(planned []string) error {
		return checkRotation(c, topo, node, plan, planned)
	})
	if err != nil {
		refuseRotation(diags, creating, err.Error())
		return
	}
	r.checkTimeout(ctx, plan, topo, node, diags)
	if creating {
		// Only a new drain: a refusal of a drain in state would also stop the plan that terraform destroy runs first.
		r.clients.refuseUnready(ctx, []string{server}, path.Root("node"), diags)
		impact(readCtx, c, topo, server, node, diags)
	}
}

// refuseRotation fails the plan of a new drain that leaves too few nodes in rotation. For a drain already in state
// it warns instead, and the apply refuses: the plan that terraform destroy runs first must not fail on a drain it
// is about to undo.
func refuseRotation(diags *diag.Diagnostics, creating bool, detail string) {
	at := path.Root("allow_last_node")
	if creating {
		diags.AddAttributeError(at, "Draining this node leaves too few nodes in rotation", detail+destroyHint)
		return
	}
	diags.AddAttributeWarning(at, "Draining this node leaves too few nodes in rotation: the apply will refuse to drain again", detail+
		"\n\nThe drain is in state with drained = false; destroy it to put the node back, or fix the cause and apply again.")
}

// destroyHint explains the one refusal that reaches terraform destroy: Terraform plans the whole configuration to
// refresh the state before it destroys, and a drain that was never applied is planned (and refused) there too.
const destroyHint = "\n\nIf this stops terraform destroy: this drain was never applied, and Terraform plans the " +
	"configuration before it destroys. Run terraform destroy -refresh=false, or remove this drain from the " +
	"configuration first."

// plannedDrains are the nodes that the drains planned by this provider process (one Terraform plan or apply) will
// take out of rotation. Each drain's plan sees only itself, so the plan of the second drain counts the first one
// here. It cannot see drains planned by another provider configuration (an alias), another Terraform run, or a
// drain whose node is unknown until apply; the apply checks the cluster again in its drain turn (takeDrainTurn) before it drains.
type plannedDrains struct {
	mu    sync.Mutex
	nodes map[string]string // upper-case node name: node name
}

// reserve runs check with the nodes other drains of this plan take out, and records node when check passes. The
// check and the record are one step, so that of two drains planned at once exactly the second one is refused.
func (p *plannedDrains) reserve(node string, check func(planned []string) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var others []string
	for key, name := range p.nodes {
		if key != strings.ToUpper(node) {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	if err := check(others); err != nil {
		return err
	}
	if p.nodes == nil {
		p.nodes = map[string]string{}
	}
	p.nodes[strings.ToUpper(node)] = node
	return nil
}

// serverFailures lists how each server of a failed read failed, one line each: a refusal of TLS, of the logon or of
// the connection is named as such, never as a server that did not answer.
func serverFailures(err error) string {
	var lines []string
	for _, se := range remoteaccess.ServerErrors(err) {
		lines = append(lines, fmt.Sprintf("- %s %s: %s", se.Server, failureVerb(se.Err, planReadTimeout), se.Err))
	}
	if len(lines) == 0 {
		return err.Error()
	}
	return strings.Join(lines, "\n")
}

// refusedByServer reports a read that a server refused (TLS or logon): a configuration error, not a silence.
func refusedByServer(err error) bool {
	for _, se := range remoteaccess.ServerErrors(err) {
		var we *winrm.Error
		if errors.As(se.Err, &we) && (we.Kind == winrm.KindTLS || we.Kind == winrm.KindAuth) {
			return true
		}
	}
	return false
}

// serverFailure says how server failed in a fan-out's error (see failureVerb): for plan messages that list servers.
func serverFailure(err error, server string, timeout time.Duration) string {
	for _, se := range remoteaccess.ServerErrors(err) {
		if se.Server == server {
			return failureVerb(se.Err, timeout)
		}
	}
	return fmt.Sprintf("did not answer within %s", timeout)
}

// failureVerb says how a server failed: a refusal of TLS, of the logon or of the connection is not a silence.
func failureVerb(err error, timeout time.Duration) string {
	var we *winrm.Error
	if !errors.As(err, &we) {
		return "failed"
	}
	switch we.Kind {
	case winrm.KindTLS:
		return "refused the TLS handshake"
	case winrm.KindAuth:
		return "refused the logon"
	case winrm.KindUnreachable:
		return "could not be reached (connection refused, dropped or no route)"
	case winrm.KindTimeout:
		return fmt.Sprintf("did not answer within %s", timeout)
	default:
		return "failed"
	}
}

// checkTimeout refuses a create timeout shorter than the drain command may run.
func (r *nodeDrainResource) checkTimeout(ctx context.Context, plan *nodeDrainModel, topo remoteaccess.Topology, node string, diags *diag.Diagnostics) {
	opts := plan.options()
	if opts.Balancer != remoteaccess.BalancerNLB {
		return
	}
	interfaces := 1
	if status, ok := topo.Node(node); ok {
		interfaces = len(status.Interfaces)
	}
	create, d := plan.Timeouts.Create(ctx, defaultDrainCreate)
	diags.Append(d...)
	if need := remoteaccess.DrainDeadline(opts.Timeout, interfaces); create < need {
		diags.AddAttributeError(path.Root("drain_timeout"), "The create timeout is too short for this drain",
			fmt.Sprintf("Stop-NlbClusterNode waits up to drain_timeout (%s) on each of %s's %d NLB interface(s); with a "+
				"margin that is %s, more than the create timeout (%s). Shorten drain_timeout or raise timeouts.create.",
				opts.Timeout, node, interfaces, need, create))
	}
}

// locateNode finds the server that is the node: by the node name its server reports, or by its entry in the
// provider's servers (a cluster behind an external balancer may have no NLB to ask). A server entry whose server did
// not answer (topoErr names it) is no node: its node name is not known, and the rotation guard, which counts nodes by
// name, could not tell that it counts this one.
func locateNode(c *remoteaccess.Cluster, topo remoteaccess.Topology, topoErr error, name string) (server, node string, ok bool) {
	if server, node, ok := topo.ServerOf(name); ok {
		return server, node, true
	}
	for _, s := range c.Servers() {
		label, _, _ := strings.Cut(s, ".")
		if strings.EqualFold(s, name) || strings.EqualFold(label, name) {
			if local, ok := topo.Local[s]; ok {
				return s, local, true
			}
			if slices.Contains(remoteaccess.FailedServers(topoErr), s) {
				return "", "", false
			}
			return s, name, true
		}
	}
	return "", "", false
}

func unknownNodeDetail(name string, topo remoteaccess.Topology, err error) string {
	var known []string
	for _, s := range slices.Sorted(mapKeys(topo.Local)) {
		known = append(known, fmt.Sprintf("%s (server %s)", topo.Local[s], s))
	}
	detail := fmt.Sprintf("No server of the provider is the node %q.", name)
	if len(known) > 0 {
		detail += " The servers answer as: " + strings.Join(known, ", ") + "."
	}
	if err != nil {
		detail += fmt.Sprintf(" Not every server answered the question:\n%s\n\nThe node may be one of them: make it "+
			"answer WinRM (or fix the cause above), then apply again.", serverFailures(err))
	}
	return detail
}

// unknownNodeSummary tells a node that no server is from one that may be behind a server that did not answer, or
// that refused the provider.
func unknownNodeSummary(err error) string {
	switch {
	case refusedByServer(err):
		return "Cannot find the node: a server refused the provider"
	case err != nil:
		return "Cannot find the node: not every server answered"
	}
	return "Unknown node"
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// plannedDrainState is the state the rotation check gives a node that another drain of this plan takes out: it
// starts with Stopped, so it counts as out of rotation, and it says why in the refusal.
const plannedDrainState remoteaccess.NodeState = "Stopped: another remoteaccess_node_drain of this plan drains it"

// withPlannedDrains is the topology with the nodes that other drains of this plan take out marked as stopped.
func withPlannedDrains(t remoteaccess.Topology, planned []string) remoteaccess.Topology {
	out := remoteaccess.Topology{Local: t.Local, Nodes: slices.Clone(t.Nodes)}
	for i, n := range out.Nodes {
		if !slices.ContainsFunc(planned, func(p string) bool { return strings.EqualFold(p, n.Name) }) {
			continue
		}
		interfaces := slices.Clone(n.Interfaces)
		for j := range interfaces {
			interfaces[j].State = plannedDrainState
		}
		out.Nodes[i].Interfaces = interfaces
	}
	return out
}

// checkRotation applies allow_last_node and min_nodes_in_rotation, counting the nodes that other drains of this
// plan take out (planned) as out of rotation. Without an NLB view (a cluster behind an external balancer), the
// other servers of the provider are the nodes that can take the clients.
func checkRotation(c *remoteaccess.Cluster, topo remoteaccess.Topology, node string, m *nodeDrainModel, planned []string) error {
	minimum, allowLast := int(m.MinNodesInRotation.ValueInt64()), m.AllowLastNode.ValueBool()
	if len(topo.Nodes) == 0 {
		others := len(c.Servers()) - 1 - len(planned)
		if others <= 0 && !allowLast || others > 0 && others < minimum {
			return fmt.Errorf("%w: %d other server(s) for %s (%d drained by other drains of this plan), and no NLB "+
				"answered to tell which are in rotation", remoteaccess.ErrTooFewNodes, max(others, 0), node, len(planned))
		}
		return nil
	}
	err := withPlannedDrains(topo, planned).CheckDrain(node, minimum, allowLast)
	if err != nil {
		return fmt.Errorf("%w. Set allow_last_node = true to drain the last node anyway, or put another node back first", err)
	}
	return nil
}

// impact warns, for a drain being created, which sessions the node carries now and which nodes will take them. It
// reads with the plan's short timeout and says so when the node does not answer.
func impact(ctx context.Context, c *remoteaccess.Cluster, topo remoteaccess.Topology, server, node string, diags *diag.Diagnostics) {
	takers := topo.Takers(node)
	if len(topo.Nodes) == 0 {
		takers = slices.DeleteFunc(c.Servers(), func(s string) bool { return s == server })
	}
	summary := fmt.Sprintf("Draining %s", node)
	conns, err := c.Sessions(ctx, server)
	if err != nil {
		diags.AddWarning(summary+": impact not shown",
			fmt.Sprintf("%s %s, so the plan cannot list its sessions: %s", node, failureVerb(err, planReadTimeout), err))
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s carries %d session(s) now. ", node, len(conns))
	if len(takers) > 0 {
		fmt.Fprintf(&b, "Their clients will reconnect through %s.", strings.Join(takers, ", "))
	} else {
		b.WriteString("No other node is in rotation to take them.")
	}
	for i, conn := range conns {
		if i == impactLines {
			fmt.Fprintf(&b, "\n  ... and %d more", len(conns)-impactLines)
			break
		}
		who := conn.HostName
		if len(conn.UserNames) > 0 {
			who = strings.TrimPrefix(who+" ", " ") + "(" + strings.Join(conn.UserNames, ", ") + ")"
		}
		fmt.Fprintf(&b, "\n  - %s %s from %s", conn.ConnectionType, who, conn.ClientExternalAddress)
	}
	diags.AddWarning(summary+": sessions that will move", b.String())
}
