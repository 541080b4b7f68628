package remoteaccess

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// hasPrefix compares NLB states by prefix, case-insensitively (internal/lab/WINDOWS.md, NLB): Converged(default) is converged,
// and draining states may carry more text than "Draining".
func (s NodeState) hasPrefix(prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(string(s[:len(prefix)]), prefix)
}

// Converged reports a node object that takes its share of new connections: Converged or Converged(default).
// Converging is not: the node is not in rotation until it converged.
func (s NodeState) Converged() bool { return s.hasPrefix(string(NodeConverged)) }

// Draining reports a node object that serves its existing connections and takes no new ones.
func (s NodeState) Draining() bool { return s.hasPrefix("Drain") }

// Out reports a node object that handles no cluster traffic: Stopped or Suspended.
func (s NodeState) Out() bool {
	return s.hasPrefix(string(NodeStopped)) || s.hasPrefix(string(NodeSuspended))
}

// NodeStatus is one node of the NLB cluster with its node objects, one per interface NLB is bound to.
type NodeStatus struct {
	Name       string
	Interfaces []Node
}

// InRotation reports a node that takes new connections on every interface. A node converged on one interface and
// not on another is not counted as in rotation: how NLB spreads clients then is not documented, so the guards
// that count the nodes left to carry the clients fail safe.
func (n NodeStatus) InRotation() bool {
	return len(n.Interfaces) > 0 && !slices.ContainsFunc(n.Interfaces, func(i Node) bool { return !i.State.Converged() })
}

// BackInRotation reports a node that takes new connections on at least one interface: after a drain, that is
// drift.
func (n NodeStatus) BackInRotation() bool {
	return slices.ContainsFunc(n.Interfaces, func(i Node) bool { return i.State.Converged() })
}

// Drained reports a node that handles no cluster traffic on any interface.
func (n NodeStatus) Drained() bool {
	return len(n.Interfaces) > 0 && !slices.ContainsFunc(n.Interfaces, func(i Node) bool { return !i.State.Out() })
}

// State summarises the node's state: the state when every interface agrees, else "INTERFACE: STATE" pairs.
func (n NodeStatus) State() string {
	if len(n.Interfaces) == 0 {
		return ""
	}
	same := !slices.ContainsFunc(n.Interfaces, func(i Node) bool { return i.State != n.Interfaces[0].State })
	if same {
		return string(n.Interfaces[0].State)
	}
	parts := make([]string, len(n.Interfaces))
	for i, node := range n.Interfaces {
		parts[i] = node.InterfaceName + ": " + string(node.State)
	}
	return strings.Join(parts, ", ")
}

// Topology is the cluster as its servers see it: every node's state and which server is which node.
type Topology struct {
	// Nodes are sorted by name. A node's state is its own server's view when that server answered, else another's.
	Nodes []NodeStatus
	// Local maps each server that answered to the name of the node it is.
	Local map[string]string
}

// Topology asks every server for the NLB nodes. It fails only when no server answers; the error of a partial
// answer is returned with the topology the others gave.
func (c *Cluster) Topology(ctx context.Context) (Topology, error) {
	views, err := c.GetNodes(ctx)
	if len(views) == 0 {
		if err == nil {
			err = errors.New("no server answered")
		}
		return Topology{}, err
	}
	return topologyOf(views), err
}

func topologyOf(views map[string][]Node) Topology {
	t := Topology{Local: map[string]string{}}
	type entry struct {
		status NodeStatus
		local  bool
	}
	byName := map[string]*entry{}
	for _, server := range slices.Sorted(maps.Keys(views)) {
		seen := map[string][]Node{}
		for _, n := range views[server] {
			key := strings.ToUpper(n.Name)
			seen[key] = append(seen[key], n)
			if n.IsLocal {
				t.Local[server] = n.Name
			}
		}
		for key, objects := range seen {
			local := objects[0].IsLocal
			if e, ok := byName[key]; ok && (e.local || !local) {
				continue
			}
			byName[key] = &entry{status: NodeStatus{Name: objects[0].Name, Interfaces: objects}, local: local}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(byName)) {
		t.Nodes = append(t.Nodes, byName[key].status)
	}
	return t
}

// Node returns a node by its case-insensitive name.
func (t Topology) Node(name string) (NodeStatus, bool) {
	for _, n := range t.Nodes {
		if strings.EqualFold(n.Name, name) {
			return n, true
		}
	}
	return NodeStatus{}, false
}

// ServerOf returns the server that is the named node: the drain and resume scripts must run there (internal/lab/WINDOWS.md,
// NLB: the WMI DrainStop method fails on a remote node). name may also be the server's own name in the provider's
// list.
func (t Topology) ServerOf(name string) (server, node string, ok bool) {
	for _, s := range slices.Sorted(maps.Keys(t.Local)) {
		if strings.EqualFold(t.Local[s], name) || s == name {
			return s, t.Local[s], true
		}
	}
	return "", "", false
}

// ErrTooFewNodes is wrapped by the refusal to drain a node that would leave too few nodes in rotation.
var ErrTooFewNodes = errors.New("too few nodes would stay in rotation")

// CheckDrain refuses to drain node when that leaves fewer than minInRotation other nodes taking new connections,
// or none at all unless allowLastNode. Nodes already drained or draining do not count, so a second drain while one
// node is out is refused when it would go below the minimum.
func (t Topology) CheckDrain(node string, minInRotation int, allowLastNode bool) error {
	var left, out []string
	for _, n := range t.Nodes {
		switch {
		case strings.EqualFold(n.Name, node):
		case n.InRotation():
			left = append(left, n.Name)
		default:
			out = append(out, fmt.Sprintf("%s (%s)", n.Name, n.State()))
		}
	}
	outNote := ""
	if len(out) > 0 {
		outNote = "; out of rotation already: " + strings.Join(out, ", ")
	}
	switch {
	case len(left) == 0 && !allowLastNode:
		return fmt.Errorf("%w: %s is the last node in rotation%s", ErrTooFewNodes, node, outNote)
	case len(left) > 0 && len(left) < minInRotation:
		return fmt.Errorf("%w: draining %s leaves %d node(s) in rotation (%s), fewer than the %d required%s",
			ErrTooFewNodes, node, len(left), strings.Join(left, ", "), minInRotation, outNote)
	}
	return nil
}

// Takers are the nodes other than node that take new connections: where its clients go.
func (t Topology) Takers(node string) []string {
	var names []string
	for _, n := range t.Nodes {
		if !strings.EqualFold(n.Name, node) && n.InRotation() {
			names = append(names, n.Name)
		}
	}
	return names
}

// GetNodes lists the NLB node objects the server sees, one per node and interface.
func GetNodes(ctx context.Context, r Runner) ([]Node, error) {
	out, err := run[nodesOutput](ctx, r, scriptGetNodes, struct{}{})
	return out.Nodes, err
}

type nodesOutput struct {
	Nodes []Node `json:"nodes"`
}

// drainInput is drain-node's input. internal/lab/WINDOWS.md, NLB: Stop-NlbClusterNode -Timeout counts seconds.
type drainInput struct {
	NodeName       string `json:"node_name"`
	TimeoutSeconds int64  `json:"timeout_seconds"`
}

// DrainNode drains an NLB node on every interface and returns its node objects afterwards. r must be the node's
// own server: the script refuses any other node. The timeout is whole seconds (rounded up, at least one); the
// cmdlet waits for the drain to end, so ctx must outlast the timeout once per interface, which DrainDeadline gives.
func DrainNode(ctx context.Context, r Runner, nodeName string, timeout time.Duration) ([]Node, error) {
	if err := requiredName("node_name", nodeName); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("%w: drain timeout %s must be positive", ErrInvalidArgument, timeout)
	}
	seconds := int64((timeout + time.Second - 1) / time.Second)
	out, err := run[nodesOutput](ctx, r, scriptDrainNode, drainInput{NodeName: nodeName, TimeoutSeconds: seconds})
	return out.Nodes, err
}

// drainMargin is what a drain command needs beyond its timeout: starting PowerShell, reading the nodes again.
const drainMargin = time.Minute

// DrainDeadline is how long a drain command may run: the timeout for each interface (whether the cmdlet drains
// node objects one after another is not documented, so the deadline assumes it does) plus a margin.
func DrainDeadline(timeout time.Duration, interfaces int) time.Duration {
	return time.Duration(max(interfaces, 1))*timeout.Round(time.Second) + drainMargin
}

// ResumeNode resumes a suspended node and starts a stopped or draining one, on every interface, and returns its
// node objects, typically Converging. r must be the node's own server.
func ResumeNode(ctx context.Context, r Runner, nodeName string) ([]Node, error) {
	if err := requiredName("node_name", nodeName); err != nil {
		return nil, err
	}
	out, err := run[nodesOutput](ctx, r, scriptResumeNode, map[string]string{"node_name": nodeName})
	return out.Nodes, err
}
