package provider

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

// TestAccWhoIsConnectedExample runs examples/who-is-connected against the lab: its data sources and outputs, with
// the lab's provider block instead of the example's.
func TestAccWhoIsConnectedExample(t *testing.T) {
	l := startLab(t)
	example, err := os.ReadFile("../../examples/who-is-connected/main.tf")
	if err != nil {
		t.Fatal(err)
	}
	_, body, found := strings.Cut(string(example), "\ndata ")
	if !found {
		t.Fatal("the example has no data source")
	}
	snap := l.snapshot()
	var users []string
	for _, da := range snap.DirectAccess {
		users = append(users, da.Users...)
	}
	for _, v := range snap.VPN {
		users = append(users, v.UserName)
	}
	slices.Sort(users)
	wantUsers := []knownvalue.Check{}
	for _, u := range slices.Compact(users) {
		wantUsers = append(wantUsers, knownvalue.StringExact(u))
	}
	ras1DA, ras1VPN := snap.ConnectionsOn("RAS1")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig("data " + body),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("users", knownvalue.ListExact(wantUsers)),
				statecheck.ExpectKnownOutputValue("unreachable_servers", knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownOutputValue("vpn_connections", knownvalue.ListSizeExact(len(snap.VPN))),
				statecheck.ExpectKnownOutputValue("per_node", knownvalue.MapPartial(map[string]knownvalue.Check{
					"RAS1": knownvalue.ObjectExact(map[string]knownvalue.Check{
						"state": knownvalue.StringExact("Converged(default)"), "in_rotation": knownvalue.Bool(true),
						"directaccess": knownvalue.Int64Exact(int64(ras1DA)), "vpn": knownvalue.Int64Exact(int64(ras1VPN)),
					}),
				})),
			},
		}},
	})
}
