package remoteaccess

import (
	"errors"
	"strings"
	"testing"
)

func TestNodeStatesCompareByPrefix(t *testing.T) {
	tests := []struct {
		state                     NodeState
		converged, draining, down bool
	}{
		{"Converged", true, false, false},
		{"Converged(default)", true, false, false},
		{"converged", true, false, false},
		{"Converging", false, false, false},
		{"Draining", false, true, false},
		{"DrainStop", false, true, false},
		{"Stopped", false, false, true},
		{"Suspended", false, false, true},
		{"Unknown", false, false, false},
	}
	for _, tt := range tests {
		if tt.state.Converged() != tt.converged || tt.state.Draining() != tt.draining || tt.state.Out() != tt.down {
			t.Errorf("%q: converged %v draining %v out %v", tt.state, tt.state.Converged(), tt.state.Draining(), tt.state.Out())
		}
	}
}

// views builds get-nodes answers: node name -> state per interface ("Internet", "Corpnet").
func views(states map[string][2]NodeState) map[string][]Node {
	all := map[string][]Node{}
	for server := range states {
		for _, iface := range []int{0, 1} {
			for name, s := range states {
				all[server] = append(all[server], Node{Name: name, InterfaceName: []string{"Internet", "Corpnet"}[iface],
					State: s[iface], IsLocal: name == server})
			}
		}
	}
	return all
}

func TestNodeStatusOverInterfaces(t *testing.T) {
	topo := topologyOf(views(map[string][2]NodeState{
		"RAS1": {"Converged(default)", "Converged(default)"},
		"RAS2": {"Converged", "Stopped"},
		"RAS3": {"Stopped", "Suspended"},
	}))
	ras1, _ := topo.Node("ras1")
	ras2, _ := topo.Node("RAS2")
	ras3, _ := topo.Node("RAS3")
	if !ras1.InRotation() || ras1.Drained() || ras1.State() != "Converged(default)" {
		t.Errorf("RAS1 = %+v: in rotation on both interfaces", ras1)
	}
	// Converged on one interface only: not counted as in rotation, but back in rotation after a drain.
	if ras2.InRotation() || !ras2.BackInRotation() || ras2.Drained() || ras2.State() != "Internet: Converged, Corpnet: Stopped" {
		t.Errorf("RAS2 = %+v, state %q", ras2, ras2.State())
	}
	if ras3.InRotation() || ras3.BackInRotation() || !ras3.Drained() {
		t.Errorf("RAS3 = %+v: drained on both interfaces", ras3)
	}
	if server, node, ok := topo.ServerOf("ras2"); !ok || server != "RAS2" || node != "RAS2" {
		t.Errorf("ServerOf(ras2) = %s %s %v", server, node, ok)
	}
	if _, _, ok := topo.ServerOf("RAS9"); ok {
		t.Error("ServerOf found a node no server is")
	}
}

func TestTopologyPrefersTheNodesOwnView(t *testing.T) {
	// RAS2 has not converged yet on RAS1's view; RAS2's own view wins.
	topo := topologyOf(map[string][]Node{
		"a": {{Name: "RAS1", State: "Converged", IsLocal: true}, {Name: "RAS2", State: "Converging"}},
		"b": {{Name: "RAS1", State: "Converged"}, {Name: "RAS2", State: "Stopped", IsLocal: true}},
	})
	if n, _ := topo.Node("RAS2"); n.State() != "Stopped" {
		t.Errorf("RAS2 = %q, want its own view Stopped", n.State())
	}
	if topo.Local["a"] != "RAS1" || topo.Local["b"] != "RAS2" {
		t.Errorf("Local = %v", topo.Local)
	}
}

func TestCheckDrainKeepsEnoughNodesInRotation(t *testing.T) {
	two := topologyOf(views(map[string][2]NodeState{"RAS1": {"Converged", "Converged"}, "RAS2": {"Converged", "Converged"}}))
	if err := two.CheckDrain("RAS1", 1, false); err != nil {
		t.Errorf("draining one of two converged nodes: %v", err)
	}
	oneOut := topologyOf(views(map[string][2]NodeState{"RAS1": {"Stopped", "Stopped"}, "RAS2": {"Converged", "Converged"}}))
	err := oneOut.CheckDrain("RAS2", 1, false)
	if !errors.Is(err, ErrTooFewNodes) || !strings.Contains(err.Error(), "RAS2 is the last node in rotation") ||
		!strings.Contains(err.Error(), "RAS1 (Stopped)") {
		t.Errorf("draining the last node: %v", err)
	}
	if err := oneOut.CheckDrain("RAS2", 1, true); err != nil {
		t.Errorf("draining the last node with allow_last_node: %v", err)
	}
	// A node half converged does not carry the clients: draining the other one is draining the last.
	half := topologyOf(views(map[string][2]NodeState{"RAS1": {"Converged", "Converging"}, "RAS2": {"Converged", "Converged"}}))
	if err := half.CheckDrain("RAS2", 1, false); !errors.Is(err, ErrTooFewNodes) {
		t.Errorf("draining next to a half-converged node: %v", err)
	}
	three := topologyOf(views(map[string][2]NodeState{
		"RAS1": {"Stopped", "Stopped"}, "RAS2": {"Converged", "Converged"}, "RAS3": {"Converged", "Converged"},
	}))
	err = three.CheckDrain("RAS2", 2, true)
	if !errors.Is(err, ErrTooFewNodes) || !strings.Contains(err.Error(), "leaves 1 node(s) in rotation (RAS3), fewer than the 2 required") {
		t.Errorf("a second drain below the minimum: %v", err)
	}
	if got := three.Takers("RAS2"); len(got) != 1 || got[0] != "RAS3" {
		t.Errorf("Takers(RAS2) = %v", got)
	}
}
