package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
)

// The data source reads a device's SAs whichever shape the servers print identities and algorithms in
// (internal/lab/WINDOWS.md, Shapes): the rows are exactly the lab's, and the algorithms read as names.
func TestAccSecurityAssociations_bothShapes(t *testing.T) {
	for _, shape := range []string{cluster.ShapeObject, cluster.ShapeString} {
		t.Run(shape, func(t *testing.T) {
			l := startLab(t)
			for _, s := range l.info.Servers {
				if err := l.Cluster().SetSAShape(s.Name, shape); err != nil {
					t.Fatal(err)
				}
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config: l.providerConfig(`
data "remoteaccess_device" "client1" {
  computer_name = "CLIENT1"
}

data "remoteaccess_security_associations" "client1" {
  identities = data.remoteaccess_device.client1.identities
}
`),
					ConfigStateChecks: []statecheck.StateCheck{
						checkRows("data.remoteaccess_security_associations.client1", "security_associations",
							l.matchesLabSAs(func(da cluster.DirectAccessSnapshot) bool { return da.Computer == "CLIENT1" })),
						checkRows("data.remoteaccess_security_associations.client1", "security_associations", func(rows []map[string]any) error {
							for _, r := range rows {
								if c, _ := r["cipher_algorithm"].(string); c == "" || c == "65003" {
									return fmt.Errorf("row %v: cipher_algorithm %q, want a name", r, c)
								}
							}
							return nil
						}),
					},
				}},
			})
		})
	}
}
