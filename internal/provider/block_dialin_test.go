package provider

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
)

func deniedUserConfig(name, extra string) string {
	return fmt.Sprintf(`
resource "remoteaccess_blocked_user" %q {
  user_name      = "bob"
  verify_seconds = 0
  deny_dial_in   = true
  %s
}
`, name, extra)
}

// checkDialIn checks bob's msNPAllowDialin in the lab's directory: want nil for absent.
func checkDialIn(l *testLab, want []string) resource.TestCheckFunc {
	return func(*terraformState) error {
		e, ok := l.Directory().Lookup("bob")
		if !ok {
			return fmt.Errorf("bob is not in the lab's directory")
		}
		if got := e.Attributes["msNPAllowDialin"]; !slices.Equal(got, want) {
			return fmt.Errorf("bob's msNPAllowDialin is %q in the directory, want %q", got, want)
		}
		return nil
	}
}

// deny_dial_in writes msNPAllowDialin FALSE with the block and keeps that it was absent; destroying the block
// removes it again, exactly as it was.
func TestAccBlockedUser_denyDialInRestoresAbsent(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(deniedUserConfig("test", "")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("prior_dial_in"), knownvalue.StringExact("absent")),
			},
			// The account disabled too (the default): the office logon is refused, the control of the remote-access-only
			// block's check that it still works.
			Check: resource.ComposeAggregateTestCheckFunc(checkDialIn(l, []string{"FALSE"}), checkAccountEnabled(l, t, "bob", false),
				checkOfficeLogon(l, "bob", false)),
		}, {
			Config: l.providerConfig(deniedUserConfig("test", "")), PlanOnly: true,
		}, {
			Config: l.providerConfig(""),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDialIn(l, nil), checkAccountEnabled(l, t, "bob", true)),
		}},
	})
}

// Two blocks of bob that deny dial-in: the first one released while the second holds the account leaves dial-in
// denied (the second found it denied, so it has nothing else to restore: it stays denied, failing safe, and the
// warnings say to set it back by hand).
func TestAccBlockedUser_denyDialInTwoBlocks(t *testing.T) {
	l := startLab(t)
	first := deniedUserConfig("test", "")
	second := deniedUserConfig("second", "depends_on = [remoteaccess_blocked_user.test]")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(first + second),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("prior_dial_in"), knownvalue.StringExact("absent")),
				statecheck.ExpectKnownValue("remoteaccess_blocked_user.second", tfjsonpath.New("prior_dial_in"), knownvalue.StringExact("false")),
			},
			Check: resource.ComposeAggregateTestCheckFunc(checkDialIn(l, []string{"FALSE"})),
		}, {
			Config: l.providerConfig(deniedUserConfig("second", "")),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDialIn(l, []string{"FALSE"}), checkAccountEnabled(l, t, "bob", false)),
		}, {
			Config: l.providerConfig(""),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDialIn(l, []string{"FALSE"}), checkAccountEnabled(l, t, "bob", true)),
		}},
	})
}

// A create whose disable's reply is lost keeps the block in state (the account may be disabled) without having
// written the deny, which runs only once the hold is known to be in place: prior_dial_in is recorded null, not left
// unknown (Terraform refuses an unknown value after apply with an error, which taints the block, and replacing a
// tainted block lifts it). The next apply writes the deny in place, and the account is never enabled in between.
func TestAccBlockedUser_lostDisableReplyLeavesTheDenyPending(t *testing.T) {
	l := startLab(t)
	watch := l.watchEnables("bob")
	config := l.providerConfig(deniedUserConfig("test", ""))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			PreConfig: func() { directoryHook = func(d block.Directory) block.Directory { return replyLost{d} } },
			Config:    config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("prior_dial_in"), knownvalue.Null()),
			},
			ExpectNonEmptyPlan: true,
		}, {
			PreConfig: func() { directoryHook = func(d block.Directory) block.Directory { return d } },
			Config:    config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(userAddr, plancheck.ResourceActionUpdate)},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("prior_dial_in"), knownvalue.StringExact("absent")),
				noEnableCheck{watch},
			},
			Check: resource.ComposeAggregateTestCheckFunc(checkDialIn(l, []string{"FALSE"}), checkAccountEnabled(l, t, "bob", false)),
		}},
	})
	directoryHook = func(d block.Directory) block.Directory { return d }
}

// deny_dial_in set on a block in state is written in place, and every server is purged after it (a VPN connection
// made while the deny was missing would stay up): the plan leaves pending_servers and purged to the apply.
func TestAccBlockedUser_denyDialInWrittenInPlacePurgesEveryServer(t *testing.T) {
	l := startLab(t)
	denied := deniedUserConfig("test", "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(strings.Replace(denied, "deny_dial_in   = true", "deny_dial_in   = false", 1)),
			Check:  checkDialIn(l, nil),
		}, {
			Config: l.providerConfig(denied),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(userAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(userAddr, tfjsonpath.New("purged")),
				},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("prior_dial_in"), knownvalue.StringExact("absent")),
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("purged"), knownvalue.MapSizeExact(len(l.info.ServerAddresses))),
			},
			Check: checkDialIn(l, []string{"FALSE"}),
		}},
	})
}
