package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
)

// matchesLabNodes checks the nodes against the lab's model: names, states, priorities, the server each is, and the
// connections each carries.
func (l *testLab) matchesLabNodes(rows []map[string]any) error {
	snap := l.snapshot()
	if len(rows) != len(snap.Nodes) {
		return fmt.Errorf("%d nodes, the lab has %d", len(rows), len(snap.Nodes))
	}
	for i, n := range snap.Nodes { // the lab's nodes are in priority order, as the rows are
		r := rows[i]
		da, vpn := snap.ConnectionsOn(n.Name)
		want := map[string]any{
			"name": n.Name, "state": string(n.State), "host_priority": float64(n.Priority), "in_rotation": n.State == cluster.Converged,
			"server": l.serverAddress(n.Name), "reported_by": l.serverAddress(n.Name),
			"connections": float64(da + vpn), "directaccess_connections": float64(da), "vpn_connections": float64(vpn),
		}
		for attr, v := range want {
			if got := r[attr]; got != v && (num(got) != v || got == nil) {
				return fmt.Errorf("node %s: %s = %v, the lab says %v", n.Name, attr, r[attr], v)
			}
		}
		interfaces, _ := r["interfaces"].([]any)
		if len(interfaces) != 1 || interfaces[0].(map[string]any)["state"] != string(n.State) || interfaces[0].(map[string]any)["interface"] != nil {
			return fmt.Errorf("node %s: interfaces %v, want one unnamed in state %s", n.Name, interfaces, n.State)
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
					if err := l.Cluster().SetNodeState("RAS2", cluster.Stopped); err != nil {
						t.Fatal(err)
					}
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
