package provider

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
)

// A user whose VPN connection the statistics print as dns.domain\user, on a cluster whose servers print SAs in
// different shapes (internal/lab/cluster/testdata/cluster-mixed-shapes.json): Disconnect-VpnUser -UserName with that
// name answers ObjectNotFound in the lab, as Windows may, which would be a silent miss; the block disconnects the
// connection by its tunnel address, and the lab holds no connection of hers afterwards.
func TestAccBlockedUser_dnsFormVPNUserOnMixedShapes(t *testing.T) {
	l := startLabWith(t, lab.Config{ClusterSeed: "../lab/cluster/testdata/cluster-mixed-shapes.json", ReestablishDelay: 300 * time.Millisecond})
	ras2 := l.info.ServerAddresses[1]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(blockedUserConfig("bob")),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(userAddr, "purged."+ras2+".vpn_connections", "1"),
				checkUserSessions(l, t, "bob", false),
				func(*terraform.State) error {
					for _, v := range l.snapshot().VPN {
						if strings.HasSuffix(strings.ToLower(v.UserName), `\bob`) {
							return fmt.Errorf("bob is still connected in the lab: %+v", v)
						}
					}
					return nil
				},
			),
		}},
	})
}
