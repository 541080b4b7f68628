package provider

import (
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
)

// saKey identifies a main-mode SA the same way in the lab's model and in a data source row.
func saKey(server, name, first, second string, quick int) string {
	return fmt.Sprintf("%s|%s|%s|%s|%d", server, name, first, second, quick)
}

// matchesLabSAs checks that the rows are exactly the lab's main-mode SAs of the computers keep accepts.
func (l *testLab) matchesLabSAs(keep func(da cluster.DirectAccessSnapshot) bool) func([]map[string]any) error {
	return func(rows []map[string]any) error {
		var got, want []string
		for _, r := range rows {
			first, _ := r["remote_first_id"].(string)
			second, _ := r["remote_second_id"].(string)
			server, _ := r["server"].(string)
			name, _ := r["name"].(string)
			got = append(got, saKey(server, name, first, second, int(num(r["quick_mode_count"]))))
		}
		for _, da := range l.snapshot().DirectAccess {
			if !keep(da) {
				continue
			}
			for _, sa := range da.MainModeSAs {
				want = append(want, saKey(l.serverAddress(da.Server), sa.Name, sa.RemoteFirstID, sa.RemoteSecondID, sa.QuickMode))
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || len(want) == 0 {
			return fmt.Errorf("rows\n  %q\nwant the lab's\n  %q", got, want)
		}
		return nil
	}
}

func TestAccSecurityAssociations_exactIdentities(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: l.providerConfig(`
data "remoteaccess_security_associations" "all" {}

data "remoteaccess_device" "client1" {
  computer_name = "CLIENT1"
}

# CLIENT1's identities, from the directory: never CLIENT10's.
data "remoteaccess_security_associations" "client1" {
  identities = data.remoteaccess_device.client1.identities
}

# carol's user identity: her intranet tunnels, on both servers.
data "remoteaccess_security_associations" "carol" {
  identities = ["corp\\CAROL"]
}
`),
				ConfigStateChecks: []statecheck.StateCheck{
					checkRows("data.remoteaccess_security_associations.all", "security_associations",
						l.matchesLabSAs(func(cluster.DirectAccessSnapshot) bool { return true })),
					checkRows("data.remoteaccess_security_associations.client1", "security_associations",
						l.matchesLabSAs(func(da cluster.DirectAccessSnapshot) bool { return da.Computer == "CLIENT1" })),
					checkRows("data.remoteaccess_security_associations.carol", "security_associations", func(rows []map[string]any) error {
						servers := map[any]bool{}
						for _, r := range rows {
							if r["remote_second_id"] != `CORP\carol` {
								return fmt.Errorf("row %v is not carol's", r)
							}
							servers[r["server"]] = true
						}
						if len(rows) != 2 || !servers[l.serverAddress("RAS1")] || !servers[l.serverAddress("RAS2")] {
							return fmt.Errorf("rows %v, want carol's intranet tunnel on each server", rows)
						}
						return nil
					}),
				},
			},
		},
	})
}

func TestAccSecurityAssociations_refusesPatternsAtPlan(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      l.providerConfig(`data "remoteaccess_security_associations" "x" { identities = ["CORP\\CLIENT1*"] }`),
			ExpectError: regexp.MustCompile(`never as patterns`),
		}},
	})
}
