package provider

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
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

// Two blocks of bob that deny dial-in: the second finds the first one's deny and takes over what it restores (its
// hold line in the record says so), so the first one released leaves dial-in denied for the second, and the last
// release restores what was there before both (absent).
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
				statecheck.ExpectKnownValue("remoteaccess_blocked_user.second", tfjsonpath.New("prior_dial_in"), knownvalue.StringExact("absent")),
			},
			Check: resource.ComposeAggregateTestCheckFunc(checkDialIn(l, []string{"FALSE"})),
		}, {
			Config: l.providerConfig(deniedUserConfig("second", "")),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDialIn(l, []string{"FALSE"}), checkAccountEnabled(l, t, "bob", false)),
		}, {
			Config: l.providerConfig(""),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDialIn(l, nil), checkAccountEnabled(l, t, "bob", true)),
		}},
	})
}

// A block that denies dial-in released while a block that only disables bob holds him restores dial-in at once:
// the other block does not deny it, so nothing would restore it later. The account stays disabled for that block.
func TestAccBlockedUser_denyDialInReleasedUnderADisablingBlockRestores(t *testing.T) {
	l := startLab(t)
	disabling := deniedUserConfig("second", "")
	disabling = strings.Replace(disabling, "deny_dial_in   = true", "deny_dial_in   = false", 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(deniedUserConfig("test", "") + disabling),
			Check:  checkDialIn(l, []string{"FALSE"}),
		}, {
			Config: l.providerConfig(disabling),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDialIn(l, nil), checkAccountEnabled(l, t, "bob", false)),
		}, {
			Config: l.providerConfig(""),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDialIn(l, nil), checkAccountEnabled(l, t, "bob", true)),
		}},
	})
}

// A create whose disable's reply is lost keeps the block in state (the account may be disabled) without having
// written the deny, which runs only once the hold is known to be in place: prior_dial_in is recorded null, not left
// unknown (Terraform refuses an unknown value after apply with an error, which taints the block, and replacing a
// tainted block lifts it). The next apply writes the deny in place, and the account is never enabled in between.
func TestAccBlockedUser_lostDisableReplyLeavesTheDenyPending(t *testing.T) {
	l := startLab(t)
	t.Cleanup(func() { directoryHook = func(d block.Directory) block.Directory { return d } })
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

// setBobsDialIn writes bob's msNPAllowDialin directly in the directory, as an administrator would in the Dial-in tab.
func setBobsDialIn(t *testing.T, l *testLab, value string) {
	t.Helper()
	e, ok := l.Directory().Lookup("bob")
	if !ok {
		t.Fatal("bob is not in the lab's directory")
	}
	mod := ldap.NewModifyRequest(e.DN, nil)
	mod.Replace("msNPAllowDialin", []string{value})
	if err := labclient.LDAP(t, l.info).Modify(mod); err != nil {
		t.Fatalf("writing bob's msNPAllowDialin: %v", err)
	}
}

// A remote-access-only block exists only in the account's block record: over a record that cannot be read, its apply
// is refused with an error that says so, and nothing is changed (bob's dial-in and Notes stay as they were).
func TestAccBlockedUser_remoteAccessOnlyBlockOverAnUnreadableRecordChangesNothing(t *testing.T) {
	l := startLab(t)
	const notes = "-----BEGIN remoteaccess-block/v2-----\nhold: typed by hand"
	if err := l.Directory().SetAttribute("bob", "info", notes); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(`
resource "remoteaccess_blocked_user" "test" {
  user_name       = "bob"
  deny_dial_in    = true
  disable_account = false
}`),
			ExpectError: regexp.MustCompile(`(?s)The block of the user "bob" cannot be recorded on the account.*cannot be read`),
		}},
	})
	if err := checkDialIn(l, nil)(nil); err != nil {
		t.Error(err)
	}
	if e, _ := l.Directory().Lookup("bob"); !slices.Equal(e.Attributes["info"], []string{notes}) {
		t.Errorf("bob's Notes are %q after the refused block; want them as they were", e.Attributes["info"])
	}
}

// Dial-in allowed again by hand while a dial-in-only block holds: the refresh shows it, the next plan is an update
// in place that writes the deny again and ends the VPN connection made meanwhile; prior_dial_in keeps what the block
// found first (absent), so the destroy still restores that.
func TestAccBlockedUser_dialInAllowedOutOfBandIsDeniedAgain(t *testing.T) {
	t.Run("with the purge", func(t *testing.T) { dialInAllowedOutOfBandIsDeniedAgain(t, true) })
	t.Run("without it", func(t *testing.T) { dialInAllowedOutOfBandIsDeniedAgain(t, false) })
}

// dialInAllowedOutOfBandIsDeniedAgain: the deny written again, and with purge the VPN connection made meanwhile ended.
func dialInAllowedOutOfBandIsDeniedAgain(t *testing.T, purge bool) {
	l := startLab(t)
	const vpn = `Vpn::CORP\bob`
	config := l.providerConfig(fmt.Sprintf(`
resource "remoteaccess_blocked_user" "test" {
  user_name       = "bob"
  deny_dial_in    = true
  disable_account = false
  verify_seconds  = 1
  purge_sessions  = %v
}`, purge))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: config,
			Check:  resource.ComposeAggregateTestCheckFunc(checkDialIn(l, []string{"FALSE"})),
		}, {
			PreConfig: func() {
				setBobsDialIn(t, l, "TRUE")
				poll.Until(t, "bob's VPN comes back once his dial-in is allowed", func() bool { return connectedOn(t, l, "RAS2", vpn) })
			},
			Config: config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(userAddr, plancheck.ResourceActionUpdate)},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("prior_dial_in"), knownvalue.StringExact("absent")),
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(0)),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDialIn(l, []string{"FALSE"}), checkAccountEnabled(l, t, "bob", true),
				func(*terraformState) error {
					if purge && connectedOn(t, l, "RAS2", vpn) {
						return fmt.Errorf("bob's VPN is still connected after the deny was written again")
					}
					return nil
				},
			),
		}, {
			Config: config, PlanOnly: true,
		}, {
			Config: l.providerConfig(""),
			Check:  checkDialIn(l, nil),
		}},
	})
}

// An unrecorded block's dial-in deny is restored after its release, also when it is destroyed again after that
// release's answer was lost: no hold line carried the restore, so nothing else would set msNPAllowDialin back. Unless
// the account is found disabled meanwhile (a helpdesk): whoever disabled it may have denied dial-in too, so both
// stay, and the warning says what to set back.
func testUnrecordedDenyAfterALostRelease(t *testing.T, disabledMeanwhile bool) {
	l := startLab(t)
	want, enabled := []string(nil), true // restored to absent, the account enabled by the lost release
	if disabledMeanwhile {
		want, enabled = []string{"FALSE"}, false
	}
	config := func(blocks string) string { return l.configWith("record_blocks = false", blocks) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: retriedAfterALostRelease(l, config, deniedUserConfig("test", ""),
			resource.ComposeAggregateTestCheckFunc(checkDialIn(l, []string{"FALSE"}), checkAccountEnabled(l, t, "bob", false)),
			func() {
				if disabledMeanwhile {
					if err := l.Directory().DisableAccount("bob"); err != nil {
						t.Fatal(err)
					}
				}
			},
			resource.ComposeAggregateTestCheckFunc(checkDialIn(l, want), checkAccountEnabled(l, t, "bob", enabled))),
	})
}

func TestAccBlockedUser_unrecordedDenyIsRestoredAfterALostRelease(t *testing.T) {
	testUnrecordedDenyAfterALostRelease(t, false)
}

func TestAccBlockedUser_unrecordedDenyStaysWithADisableMadeAfterALostRelease(t *testing.T) {
	testUnrecordedDenyAfterALostRelease(t, true)
}

// A recorded block's release lifts its dial-in deny in the same modify as its hold line. When that modify's answer
// is lost, the destroy run again finds the line gone and leaves msNPAllowDialin as it is: a deny written since (an
// administrator's, in the Dial-in tab) is not taken for the block's.
func TestAccBlockedUser_recordedDenyReleasedWithALostAnswerLeavesALaterDeny(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: retriedAfterALostRelease(l, l.providerConfig, deniedUserConfig("test", ""), checkDialIn(l, []string{"FALSE"}),
			func() { setBobsDialIn(t, l, "FALSE") }, // restored to absent by the lost release, denied again by hand
			resource.ComposeAggregateTestCheckFunc(checkDialIn(l, []string{"FALSE"}), checkAccountEnabled(l, t, "bob", true))),
	})
}
