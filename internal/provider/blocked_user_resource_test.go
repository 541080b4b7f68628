package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

const userAddr = "remoteaccess_blocked_user.test"

func blockedUserConfig(name string) string {
	return fmt.Sprintf(`
resource "remoteaccess_blocked_user" "test" {
  user_name      = %q
  reason         = "HR-7: contract ended"
  verify_seconds = 1
}
`, name)
}

// checkUserSessions checks whether the user still has DirectAccess user-tunnel SAs on any server.
func checkUserSessions(l *testLab, t *testing.T, user string, wantConnected bool) resource.TestCheckFunc {
	return func(*terraform.State) error { return expectSAs(l, t, []string{`CORP\` + user}, !wantConnected) }
}

func TestAccBlockedUser_lifecycle(t *testing.T) {
	l := startLab(t)
	config := l.providerConfig(blockedUserConfig("alice"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "alice", true),
		Steps: append([]resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(userAddr, "was_enabled", "true"),
					resource.TestCheckResourceAttr(userAddr, "account_enabled", "false"),
					resource.TestCheckResourceAttr(userAddr, "user_principal_name", "alice@corp.example"),
					resource.TestCheckTypeSetElemAttr(userAddr, "identities.*", `CORP\alice`),
					resource.TestCheckResourceAttr(userAddr, "pending_servers.#", "0"),
					checkAccountEnabled(l, t, "alice", false),
					checkUserSessions(l, t, "alice", false),
					// Her computer's own tunnel is not the user's: the device stays connected.
					checkSAs(l, t, "CLIENT1", nil),
				),
			},
		}, driftAndImportSteps(l, t, userAddr, config, "alice", "alice@corp.example")...),
	})
}

func TestAccBlockedUser_refusesCriticalAccounts(t *testing.T) {
	l := startLab(t)
	for _, name := range []string{"Administrator", "krbtgt"} {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      l.providerConfig(blockedUserConfig(name)),
					ExpectError: regexp.MustCompile(`Refusing to block the user`),
				}},
			})
		})
	}
	if !l.accountEnabled(t, "Administrator") {
		t.Error("Administrator was disabled")
	}
}

func TestAccBlockedUser_disconnectsVPN(t *testing.T) {
	l := startLab(t)
	ras2 := l.info.ServerAddresses[1]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			// bob has a VPN connection on the second server and a DirectAccess user tunnel on the first.
			Config: l.providerConfig(blockedUserConfig("bob")),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(userAddr, "purged."+ras2+".vpn_connections", "1"),
				checkUserSessions(l, t, "bob", false),
				func(*terraform.State) error {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					conns, err := l.cluster(t).GetConnections(ctx, remoteaccess.ConnectionFilter{UserName: `CORP\bob`})
					if err != nil {
						return err
					}
					for server, list := range conns {
						if len(list) > 0 {
							return fmt.Errorf("bob still has %d connections on %s", len(list), server)
						}
					}
					return nil
				},
			),
		}},
	})
}

// A down-level logon name (DOMAIN\user) is refused when the plan is made, with the name to write instead.
func TestAccBlockedUser_downLevelNameIsRefusedAtPlan(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      l.providerConfig(blockedUserConfig(`CORP\alice`)),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)down-level logon name.*sAMAccountName\s+"alice"`),
		}},
	})
	if !l.accountEnabled(t, "alice") {
		t.Error("alice was disabled by a refused plan")
	}
}

// A block of an account disabled by hand before it (a helpdesk's first reaction) ends the sessions the account still
// has: disabling an account ends none of them. Before, such a block purged nothing and reported itself complete
// while bob's VPN connection stayed up.
func TestAccBlockedUser_accountDisabledBeforeTheBlockIsPurged(t *testing.T) {
	l := startLab(t)
	const vpn = `Vpn::CORP\bob`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			PreConfig: func() {
				if !connectedOn(t, l, "RAS2", vpn) {
					t.Fatal("the lab gives bob no VPN connection on RAS2")
				}
				l.setEnabled(t, "bob", false)
			},
			Config: l.providerConfig(`
resource "remoteaccess_blocked_user" "test" {
  user_name      = "bob"
  verify_seconds = 0
}`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("was_enabled"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("purged").AtMapKey(l.info.ServerAddresses[1]).AtMapKey("vpn_connections"), knownvalue.Int64Exact(1)),
			},
			Check: func(*terraformState) error {
				if connectedOn(t, l, "RAS2", vpn) {
					return fmt.Errorf("bob's VPN connection survives the block of his account disabled by hand")
				}
				return nil
			},
		}},
	})
}
