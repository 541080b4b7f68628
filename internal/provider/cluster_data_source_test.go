package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
)

// matchesLabNodes checks the nodes against the lab's model: names, priorities, the state on each interface, whether
// NLB gives them new connections (every interface's state begins with Converged: internal/lab/WINDOWS.md, NLB),
// the server each is,
// and the connections each carries.
func (l *testLab) matchesLabNodes(rows []map[string]any) error {
	snap := l.snapshot()
	if len(rows) != len(snap.Nodes) {
		return fmt.Errorf("%d nodes, the lab has %d", len(rows), len(snap.Nodes))
	}
	for i, n := range snap.Nodes { // the lab's nodes are in priority order, as the rows are
		r := rows[i]
		da, vpn := snap.ConnectionsOn(n.Name)
		var want, got []string
		inRotation := true
		for _, itf := range n.Interfaces {
			want = append(want, itf.Name+"="+string(itf.State))
			inRotation = inRotation && strings.HasPrefix(string(itf.State), "Converged")
		}
		interfaces, _ := r["interfaces"].([]any)
		for _, itf := range interfaces {
			m, _ := itf.(map[string]any)
			got = append(got, fmt.Sprint(m["interface"])+"="+fmt.Sprint(m["state"]))
		}
		slices.Sort(want)
		slices.Sort(got)
		if len(want) < 2 || !slices.Equal(got, want) {
			return fmt.Errorf("node %s: interfaces %q, the lab says %q", n.Name, got, want)
		}
		fields := map[string]any{
			"name": n.Name, "host_priority": float64(n.Priority), "in_rotation": inRotation,
			"server": l.serverAddress(n.Name), "reported_by": l.serverAddress(n.Name),
			"connections": float64(da + vpn), "directaccess_connections": float64(da), "vpn_connections": float64(vpn),
		}
		for attr, v := range fields {
			if got := r[attr]; got != v && (num(got) != v || got == nil) {
				return fmt.Errorf("node %s: %s = %v, the lab says %v", n.Name, attr, r[attr], v)
			}
		}
	}
	return nil
}

func TestAccCluster_nodesAndLoad(t *testing.T) {
	l := startLab(t)
	config := l.providerConfig(`data "remoteaccess_cluster" "this" {}`)
	nodes := checkRows("data.remoteaccess_cluster.this", "nodes", l.matchesLabNodes)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config, ConfigStateChecks: []statecheck.StateCheck{nodes}},
			{
				// An administrator stops RAS2 on its console: it drops its connections, which come back through RAS1.
				PreConfig: func() {
					connections := func(server string) int {
						rows, err := l.Cluster().ConnectionsOn(context.Background(), server) // brings the lab's model up to now
						if err != nil {
							t.Fatal(err)
						}
						return len(rows)
					}
					if err := l.Cluster().SetNodeState("RAS2", cluster.Stopped); err != nil {
						t.Fatal(err)
					}
					// The data source's reads of the two servers must not straddle a client's return: once RAS2 has
					// dropped its connections, wait past the lab's reestablish delay (startLab: 300 ms), after which
					// every client that comes back is due, and bring the model up to then.
					poll.Until(t, "RAS2 drops its connections", func() bool { return connections("RAS2") == 0 })
					time.Sleep(time.Second)
					connections("RAS1")
				},
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{nodes, checkRows("data.remoteaccess_cluster.this", "nodes", func(rows []map[string]any) error {
					if rows[1]["state"] != "Stopped" || rows[1]["in_rotation"] != false || num(rows[1]["connections"]) != 0 {
						return fmt.Errorf("RAS2 after a stop: %v", rows[1])
					}
					return nil
				})},
			},
		},
	})
}

// Rows from a topology: a node whose interfaces disagree shows each, and is in rotation only when every interface
// is converged (Converged(default) included); a node whose server did not answer has no server and no load.
func TestClusterNodesFromTopology(t *testing.T) {
	topology := remoteaccess.Topology{
		Local: map[string]string{"ras1.corp.example": "RAS1"},
		Nodes: []remoteaccess.NodeStatus{
			{Name: "RAS1", Interfaces: []remoteaccess.Node{
				{Name: "RAS1", InterfaceName: "Internet", State: "Converged(default)", HostPriority: 1, IsLocal: true},
				{Name: "RAS1", InterfaceName: "Corpnet", State: "Converged", HostPriority: 1, IsLocal: true},
			}},
			{Name: "RAS2", Interfaces: []remoteaccess.Node{
				{Name: "RAS2", InterfaceName: "Internet", State: "Stopped", HostPriority: 2},
				{Name: "RAS2", InterfaceName: "Corpnet", State: "Converged", HostPriority: 2},
			}},
		},
	}
	conns := map[string][]remoteaccess.Connection{"ras1.corp.example": {{ConnectionType: "Vpn"}, {ConnectionType: "DirectAccess"}}}
	rows := clusterNodes(topology, conns)
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	ras1, ras2 := rows[0], rows[1]
	if !ras1.InRotation.ValueBool() || len(ras1.Interfaces) != 2 || ras1.Server.ValueString() != "ras1.corp.example" ||
		ras1.State.ValueString() != "Internet: Converged(default), Corpnet: Converged" {
		t.Errorf("RAS1 = %+v; want both interfaces, in rotation, its own server", ras1)
	}
	if ras1.Connections.ValueInt64() != 2 || ras1.VPNConnections.ValueInt64() != 1 || ras1.DirectAccessConnections.ValueInt64() != 1 {
		t.Errorf("RAS1's counts = %+v", ras1)
	}
	if ras2.InRotation.ValueBool() || !ras2.Server.IsNull() || ras2.ReportedBy.ValueString() != "ras1.corp.example" || !ras2.Connections.IsNull() {
		t.Errorf("RAS2 = %+v; want out of rotation (stopped on one interface), no server, reported by RAS1, no count", ras2)
	}
}

// A server whose commands hang until the read timeout is a server that does not answer: tolerated, it is listed in
// missing_servers, its node is shown from the other server's view, and its load is unknown.
func TestAccCluster_hungServerIsMissing(t *testing.T) {
	l := startLab(t)
	ras1, ras2 := l.serverAddress("RAS1"), l.serverAddress("RAS2")
	l.Server("RAS2").Faults().SetHangCommands(true)
	t.Cleanup(func() { l.Server("RAS2").Faults().SetHangCommands(false) })
	da, vpn := l.snapshot().ConnectionsOn("RAS1")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(`
data "remoteaccess_cluster" "this" {
  tolerate_unreachable_servers = true
  timeouts {
    read = "3s"
  }
}`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.remoteaccess_cluster.this", tfjsonpath.New("missing_servers"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(ras2)})),
				statecheck.ExpectKnownValue("data.remoteaccess_cluster.this", tfjsonpath.New("nodes"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name": knownvalue.StringExact("RAS1"), "reported_by": knownvalue.StringExact(ras1),
						"connections": knownvalue.Int64Exact(int64(da + vpn)),
					}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name": knownvalue.StringExact("RAS2"), "reported_by": knownvalue.StringExact(ras1),
						"server": knownvalue.Null(), "connections": knownvalue.Null(),
					}),
				})),
			},
		}},
	})
}
