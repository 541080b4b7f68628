package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// NodeState is the State that Get-NlbClusterNode reports for one node on one interface.
type NodeState string

// The node states the lab knows. WINDOWS.md, NLB: the documented states include Converged, Converged(default),
// Converging, Stopped, Suspended and draining states, so the provider compares them by prefix; the lab prints
// Converged(default) for the default host (see defaultHostState).
const (
	Converged  NodeState = "Converged"
	Converging NodeState = "Converging"
	Draining   NodeState = "Draining"
	Stopped    NodeState = "Stopped"
	Suspended  NodeState = "Suspended"
)

// defaultInterface is the interface NLB is bound to when the seed names none.
const defaultInterface = "Ethernet"

// longOperations emulate scripts that wait for something to happen on the server: they take the cluster's lock
// themselves, between looks at the model, and end when ctx does.
var longOperations = map[string]func(ctx context.Context, c *Cluster, server string, input []byte) (any, error){
	"drain-node/v1": drainNode,
}

// drainPoll is how often a running drain looks at the model again.
const drainPoll = 50 * time.Millisecond

// node is one Remote Access server as the load balancers see it.
type node struct {
	name     string
	priority int
	// bindings are the node's NLB node objects, one per interface NLB is bound to. WINDOWS.md, NLB: a Remote Access
	// cluster can have NLB on more than one interface, so one host shows several node objects.
	bindings []*binding
	// outOfPool marks a node an administrator took out of an external load balancer's pool (SetInExternalPool):
	// the lab's stand-in for a balancer it does not run.
	outOfPool bool
}

// binding is one NLB node object: the node's state on one interface.
type binding struct {
	iface     string
	state     NodeState
	drainEnds time.Time // when a running Stop-NlbClusterNode -Drain stops the node; zero when no cmdlet waits
	converged time.Time // when a Converging binding reports Converged
}

func newNode(name string, priority int, interfaces []string) *node {
	n := &node{name: name, priority: priority}
	for _, iface := range interfaces {
		n.bindings = append(n.bindings, &binding{iface: iface, state: Converged})
	}
	return n
}

// takesNewConnections reports whether the load balancers send new connections to the node. Microsoft documents
// that a draining node "disables all new traffic to that node" (Stop-NlbClusterNode -Drain) and that a stopped node
// handles none. Whether a node converged on one interface but not the other takes new DirectAccess clients is not
// documented: the lab fails safe and counts such a node as out of rotation.
func (n *node) takesNewConnections() bool {
	if n.outOfPool {
		return false
	}
	for _, b := range n.bindings {
		if b.state != Converged {
			return false
		}
	}
	return true
}

// draining reports whether any of the node's NLB node objects is still draining.
func (n *node) draining() bool {
	for _, b := range n.bindings {
		if b.state == Draining {
			return true
		}
	}
	return false
}

// SetNodeState forces every NLB node object of a node into a state, as an administrator on the node's console would
// (fault injection, or a node started out of band). Stopping or suspending a node drops the connections it carries:
// "client connections that are already in progress are interrupted" (Stop-NlbClusterNode).
func (c *Cluster) SetNodeState(name string, state NodeState) error {
	return c.withNode(name, func(n *node) {
		for _, b := range n.bindings {
			b.state, b.drainEnds, b.converged = state, time.Time{}, time.Time{}
		}
		if state == Stopped || state == Suspended {
			c.dropLinksOn(n.name, c.opts.Clock())
		}
	})
}

// SetInExternalPool puts a node in or out of the pool of an external load balancer (one managed elsewhere, such as
// a hardware balancer): out of the pool, the node keeps its connections but gets no new ones.
func (c *Cluster) SetInExternalPool(name string, in bool) error {
	return c.withNode(name, func(n *node) { n.outOfPool = !in })
}

// NodeStates returns a node's state per interface, for tests that check the lab's model directly.
func (c *Cluster) NodeStates(name string) (map[string]NodeState, error) {
	states := map[string]NodeState{}
	err := c.withNode(name, func(n *node) {
		for _, b := range n.bindings {
			states[b.iface] = b.state
		}
	})
	return states, err
}

// withNode runs fn on a node with the cluster locked.
func (c *Cluster) withNode(name string, fn func(*node)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.node(name)
	if n == nil {
		return fmt.Errorf("no node %q", name)
	}
	fn(n)
	return nil
}

// ConnectionsOn lists the connections a server carries now as TYPE:HOST:USERS, for tests that check the lab's
// model directly. Like a script, it first brings the model up to the current time.
func (c *Cluster) ConnectionsOn(ctx context.Context, server string) ([]string, error) {
	if err := c.advance(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for _, row := range c.statistics(server, c.opts.Clock()) {
		names = append(names, row.connectionType+":"+row.hostName+":"+strings.Join(row.userNames, ","))
	}
	return names, nil
}

// advanceNLB brings the NLB state up to now: drains that end, nodes that finish converging.
func (c *Cluster) advanceNLB(now time.Time) {
	for _, n := range c.nodes {
		c.finishDrain(n, now)
		for _, b := range n.bindings {
			if b.state == Converging && !now.Before(b.converged) {
				b.state, b.converged = Converged, time.Time{}
			}
		}
	}
}

// finishDrain stops a draining node once its connections are gone or a waiting cmdlet's timeout has passed.
// Stop-NlbClusterNode: -Drain "allows the node to continue servicing active connections but disables all new
// traffic", then the node stops; connections still in progress when it stops "are interrupted", so the lab drops
// them and their clients come back through another node. A drain whose cmdlet was killed has no timeout left
// (drainEnds zero): NLB's DrainStop still stops the node once its connections are gone, but nothing forces it.
func (c *Cluster) finishDrain(n *node, now time.Time) {
	idle := !c.hasLinksOn(n.name)
	for _, b := range n.bindings {
		if b.state != Draining {
			continue
		}
		timedOut := !b.drainEnds.IsZero() && !now.Before(b.drainEnds)
		if !idle && !timedOut {
			continue
		}
		b.state, b.drainEnds = Stopped, time.Time{}
		if !idle {
			c.dropLinksOn(n.name, now)
			idle = true
		}
	}
}

// nodeView is one node object as get-nodes, drain-node and resume-node print it.
type nodeView struct {
	Name          string    `json:"name"`
	InterfaceName string    `json:"interface_name"`
	State         NodeState `json:"state"`
	HostPriority  int       `json:"host_priority"`
	IsLocal       bool      `json:"is_local"`
}

// viewsOf lists the node objects of the given nodes, interface by interface, as seen from server.
func (c *Cluster) viewsOf(server string, nodes []*node) []nodeView {
	views := []nodeView{}
	for i, iface := range c.opts.Interfaces {
		for _, n := range nodes {
			views = append(views, nodeView{
				Name: n.name, InterfaceName: iface, State: c.printedState(n, i), HostPriority: n.priority,
				IsLocal: strings.EqualFold(n.name, server),
			})
		}
	}
	return views
}

// printedState is the State text of a node object. NLB marks the default host, the converged host with the highest
// priority (lowest host priority number), as Converged(default) (Get-NlbClusterNode's example prints
// "node1 Converged(default)" for host 1); WINDOWS.md, NLB lists it among the states to compare by prefix.
func (c *Cluster) printedState(n *node, i int) NodeState {
	state := n.bindings[i].state
	if state != Converged {
		return state
	}
	for _, other := range c.nodes {
		if other.bindings[i].state == Converged && other.priority < n.priority {
			return state
		}
	}
	return Converged + "(default)"
}

// getNodes emulates Get-NlbClusterNode -InterfaceName on every interface Get-NlbClusterNodeNetworkInterface shows
// NlbBound (WINDOWS.md, NLB): every node object of every interface, whichever node answers.
func getNodes(c *Cluster, call call) (any, error) {
	if err := decodeInput(call.input, &struct{}{}); err != nil {
		return nil, err
	}
	return map[string]any{"nodes": c.viewsOf(call.server, c.nodes)}, nil
}

// localNode finds the node a drain or resume names and refuses one that is not the answering server: the WMI
// DrainStop method "will fail if called on an instance ... that represents a remote node" (WINDOWS.md, NLB), so the
// scripts act on the node itself only.
func (c *Cluster) localNode(server, name string) (*node, error) {
	if name == "" {
		return nil, invalidArgument("node_name", "node_name must be given")
	}
	// The scripts pass -NodeName the short node name (every example uses one; an FQDN may be ObjectNotFound).
	short, _, _ := strings.Cut(name, ".")
	if !strings.EqualFold(short, server) {
		return nil, &scriptError{Category: "InvalidOperation", Target: name,
			Message: fmt.Sprintf("node %s is not this server (%s): an NLB node is drained or resumed on the node itself", name, server)}
	}
	n := c.node(short)
	if n == nil {
		return nil, &scriptError{Category: "ObjectNotFound", Target: name, Message: "this server has no NLB node named " + short}
	}
	return n, nil
}

// drainNode emulates Stop-NlbClusterNode -Drain -Timeout <seconds> on every node object of the local node.
// WINDOWS.md, NLB: the timeout counts seconds, and the cmdlet waits for the drain to end, so this emulation runs
// until the node stopped (its connections gone, or the timeout passed) and answers with it Stopped. Node objects
// already stopped or suspended are left alone, as the script does. When the command is cancelled (the client's
// Signal, its deadline, Ctrl-C), the drain goes on without a timeout: see finishDrain.
func drainNode(ctx context.Context, c *Cluster, server string, input []byte) (any, error) {
	var in struct {
		NodeName       string `json:"node_name"`
		TimeoutSeconds int    `json:"timeout_seconds"`
	}
	if err := decodeInput(input, &in); err != nil {
		return nil, err
	}
	if in.TimeoutSeconds < 1 {
		return nil, invalidArgument("timeout_seconds", "timeout_seconds must be at least 1")
	}
	c.mu.Lock()
	n, err := c.localNode(server, in.NodeName)
	if err == nil {
		now := c.opts.Clock()
		ends := now.Add(time.Duration(in.TimeoutSeconds) * time.Second)
		for _, b := range n.bindings {
			switch b.state {
			case Converged, Converging, Draining:
				b.state, b.drainEnds, b.converged = Draining, ends, time.Time{}
			}
		}
	}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	for {
		if err := c.advance(ctx); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if !n.draining() {
			defer c.mu.Unlock()
			return map[string]any{"nodes": c.viewsOf(server, []*node{n})}, nil
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			c.mu.Lock()
			for _, b := range n.bindings {
				b.drainEnds = time.Time{}
			}
			c.mu.Unlock()
			return nil, &scriptError{Category: "OperationStopped", Target: n.name, Message: "the drain was stopped: " + ctx.Err().Error()}
		case <-time.After(drainPoll):
		}
	}
}

// resumeNode emulates Resume-NlbClusterNode on the suspended node objects (Suspended -> Stopped) and then
// Start-NlbClusterNode on those not converged or converging: they report Converging for ConvergenceDelay, then
// Converged; clients that were dropped come back through the node at their next attempt.
func resumeNode(c *Cluster, call call) (any, error) {
	var in struct {
		NodeName string `json:"node_name"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	n, err := c.localNode(call.server, in.NodeName)
	if err != nil {
		return nil, err
	}
	for _, b := range n.bindings {
		if b.state == Suspended {
			b.state = Stopped
		}
		if b.state != Converged && b.state != Converging {
			b.state, b.drainEnds, b.converged = Converging, time.Time{}, call.now.Add(c.opts.ConvergenceDelay)
		}
	}
	c.advanceNLB(call.now)
	return map[string]any{"nodes": c.viewsOf(call.server, []*node{n})}, nil
}
