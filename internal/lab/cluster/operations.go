package cluster

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/strictjson"
)

// operation emulates one script on one server. It runs with the cluster locked and the model advanced to now.
type operation func(c *Cluster, call call) (any, error)

type call struct {
	server string
	now    time.Time
	input  []byte
}

// operations maps a script identifier (its first line) to its emulation. A script missing here fails loudly.
var operations = map[string]operation{
	"get-nodes/v1":       getNodes,
	"get-connections/v1": getConnections,
	"get-ipsec-sas/v1":   getIPsecSAs,
	"purge-device/v1":    purgeDevice,
	"purge-user/v1":      purgeUser,
	"disconnect-vpn/v1":  disconnectVPN,
	"stop-computer/v1":   stopComputer,
	"drain-node/v1":      drainNode,
	"resume-node/v1":     resumeNode,
}

// scriptError is the {"error":{...}} document a script writes before exiting with code 1.
type scriptError struct {
	Category string `json:"category"`
	Message  string `json:"message"`
	Target   string `json:"target"`
}

func (e *scriptError) Error() string { return e.Category + ": " + e.Message }

func invalidArgument(target, format string, args ...any) error {
	return &scriptError{Category: "InvalidArgument", Message: fmt.Sprintf(format, args...), Target: target}
}

// decodeInput reads a script's JSON input strictly, so that a field the provider misspells is an error here rather
// than a silently ignored value.
func decodeInput(input []byte, v any) error {
	if err := strictjson.Decode(input, v); err != nil {
		return invalidArgument("InputJson", "cannot read the input document: %v", err)
	}
	return nil
}

// identitySet compares identities exactly and case-insensitively, like the scripts' OrdinalIgnoreCase HashSet.
// WINDOWS.md, Identities: never a substring, since *client1* also matches client10.
type identitySet map[string]bool

func newIdentitySet(ids []string) identitySet {
	s := identitySet{}
	for _, id := range ids {
		if id != "" {
			s[strings.ToLower(id)] = true
		}
	}
	return s
}

func (s identitySet) has(id string) bool { return id != "" && s[strings.ToLower(id)] }

func (s identitySet) hasAny(ids []string) bool { return slices.ContainsFunc(ids, s.has) }

type nodeView struct {
	Name         string    `json:"name"`
	State        NodeState `json:"state"`
	HostPriority int       `json:"host_priority"`
	IsLocal      bool      `json:"is_local"`
}

func (n *node) view(server string) nodeView {
	return nodeView{Name: n.name, State: n.state, HostPriority: n.priority, IsLocal: strings.EqualFold(n.name, server)}
}

// getNodes emulates Get-NlbClusterNode: every node of the cluster, whichever node answers.
func getNodes(c *Cluster, call call) (any, error) {
	if err := decodeInput(call.input, &struct{}{}); err != nil {
		return nil, err
	}
	nodes := []nodeView{}
	for _, n := range c.nodes {
		nodes = append(nodes, n.view(call.server))
	}
	return map[string]any{"nodes": nodes}, nil
}

func (c *Cluster) findNode(name string) (*node, error) {
	if name == "" {
		return nil, invalidArgument("node_name", "node_name must be given")
	}
	n := c.node(name)
	if n == nil {
		return nil, &scriptError{Category: "ObjectNotFound", Target: name, Message: fmt.Sprintf("Cluster node %s was not found.", name)}
	}
	return n, nil
}

// drainNode emulates Stop-NlbClusterNode -Drain -Timeout <minutes>: the node takes no new connections, keeps its
// existing ones, and stops when they are gone or at the timeout, dropping those left (WINDOWS.md, NLB). The lab answers
// at once with the node Draining; a timeout of 0 drains until the connections end.
func drainNode(c *Cluster, call call) (any, error) {
	var in struct {
		NodeName       string `json:"node_name"`
		TimeoutMinutes int    `json:"timeout_minutes"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	n, err := c.findNode(in.NodeName)
	if err != nil {
		return nil, err
	}
	if in.TimeoutMinutes < 0 {
		return nil, invalidArgument("timeout_minutes", "timeout_minutes must not be negative")
	}
	if n.state == Converged {
		n.state = Draining
		if in.TimeoutMinutes > 0 {
			n.drainEnds = call.now.Add(time.Duration(in.TimeoutMinutes) * c.opts.MinuteDuration)
		}
		c.finishDrains(call.now)
	}
	return map[string]any{"node": n.view(call.server)}, nil
}

// resumeNode emulates Resume-NlbClusterNode (Suspended -> Stopped) then Start-NlbClusterNode (-> Converged).
// Clients that were dropped come back through it at their next attempt.
func resumeNode(c *Cluster, call call) (any, error) {
	var in struct {
		NodeName string `json:"node_name"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	n, err := c.findNode(in.NodeName)
	if err != nil {
		return nil, err
	}
	n.state, n.drainEnds = Converged, time.Time{}
	return map[string]any{"node": n.view(call.server)}, nil
}
