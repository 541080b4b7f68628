package provider

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

const deviceAddr = "remoteaccess_blocked_device.test"

func blockedDeviceConfig(name string) string {
	return fmt.Sprintf(`
resource "remoteaccess_blocked_device" "test" {
  computer_name  = %q
  reason         = "INC-1: reported stolen"
  verify_seconds = 1
}
`, name)
}

// identitiesOf are a lab device's exact IPsec identities, as the lab's clients present them.
func identitiesOf(name string) []string {
	return []string{`CORP\` + name + `$`}
}

func checkAccountEnabled(l *testLab, t *testing.T, sam string, want bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := l.accountEnabled(t, sam); got != want {
			return fmt.Errorf("%s enabled = %v in the directory, want %v", sam, got, want)
		}
		return nil
	}
}

// checkBlockedAtIsHoldTime checks that blocked_at is the time of the block's hold in the account's block record
// (since=): when the account was disabled, which an import reads back, not when the apply ended.
func checkBlockedAtIsHoldTime(l *testLab, t *testing.T, addr, computer string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		acct, err := labclient.Directory(t, l.info).FindComputer(ctx, computer)
		if err != nil {
			return err
		}
		rec := acct.BlockRecord()
		if rec == nil || len(rec.Holds) != 1 {
			return fmt.Errorf("%s's block record %+v: want one hold", computer, rec)
		}
		if want := rec.Holds[0].Since.UTC().Format(time.RFC3339); rs.Primary.Attributes["blocked_at"] != want {
			return fmt.Errorf("blocked_at = %q, want %s, the hold's time in the record", rs.Primary.Attributes["blocked_at"], want)
		}
		return nil
	}
}

// terraformState is the state a check function receives.
type terraformState = terraform.State

// expectSAs checks that no server holds a main-mode SA for the identities (wantGone) or that some server does.
func expectSAs(l *testLab, t *testing.T, identities []string, wantGone bool) error {
	total := 0
	counts := l.mainModeSAs(t, identities...)
	for _, n := range counts {
		total += n
	}
	if gone := total == 0; gone != wantGone {
		return fmt.Errorf("main-mode SAs for %q: %v, want gone=%v", identities, counts, wantGone)
	}
	return nil
}

// checkSAs compares the number of main-mode SAs each server holds for a device with want (server address -> count);
// a nil want means "at least one on some server".
func checkSAs(l *testLab, t *testing.T, device string, want map[string]int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got := l.mainModeSAs(t, identitiesOf(device)...)
		if want == nil {
			total := 0
			for _, n := range got {
				total += n
			}
			if total == 0 {
				return fmt.Errorf("%s has no main-mode SA left on any server, want it still connected", device)
			}
			return nil
		}
		for server, n := range want {
			if got[server] != n {
				return fmt.Errorf("%s has %d main-mode SAs on %s, want %d (all: %v)", device, got[server], server, n, got)
			}
		}
		return nil
	}
}

func atLeastOne(value string) error {
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 {
		return fmt.Errorf("got %q, want at least 1", value)
	}
	return nil
}

// driftAndImportSteps are the steps every block goes through after its creation: someone re-enables the account out of
// band and the plan shows it; the next apply blocks again and keeps was_enabled from the first block; an import by
// importID finds the same block.
func driftAndImportSteps(l *testLab, t *testing.T, addr, config, sam, importID string) []resource.TestStep {
	return []resource.TestStep{
		{
			PreConfig:          func() { l.setEnabled(t, sam, true) },
			Config:             config,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		},
		{
			Config: config,
			Check: resource.ComposeAggregateTestCheckFunc(
				checkAccountEnabled(l, t, sam, false),
				resource.TestCheckResourceAttr(addr, "account_enabled", "false"),
				resource.TestCheckResourceAttr(addr, "was_enabled", "true"),
			),
		},
		{
			ResourceName:      addr,
			ImportState:       true,
			ImportStateId:     importID,
			ImportStateVerify: true,
			// was_enabled comes back from the block record on the account. The import adopts no entry of the record
			// (hold_id), and the arguments and what the purge did are not in the directory.
			ImportStateVerifyIgnore: []string{"reason", "hold_id", "blocked_at", "purged", "verify_seconds"},
		},
	}
}

func TestAccBlockedDevice_lifecycle(t *testing.T) {
	l := startLab(t)
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	config := l.providerConfig(blockedDeviceConfig("CLIENT1"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT1$", true),
		Steps: append([]resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(deviceAddr, "was_enabled", "true"),
					resource.TestCheckResourceAttr(deviceAddr, "account_enabled", "false"),
					resource.TestCheckResourceAttr(deviceAddr, "distinguished_name", "CN=CLIENT1,OU=Workstations,DC=corp,DC=example"),
					resource.TestCheckResourceAttr(deviceAddr, "dns_host_name", "client1.corp.example"),
					resource.TestCheckTypeSetElemAttr(deviceAddr, "identities.*", `CORP\CLIENT1$`),
					resource.TestMatchResourceAttr(deviceAddr, "object_guid", regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)),
					resource.TestMatchResourceAttr(deviceAddr, "object_sid", regexp.MustCompile(`^S-1-5-21-\d+-\d+-\d+-\d+$`)),
					checkBlockedAtIsHoldTime(l, t, deviceAddr, "CLIENT1"),
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "0"),
					resource.TestCheckResourceAttr(deviceAddr, "purged.%", "2"),
					resource.TestCheckResourceAttrWith(deviceAddr, "purged."+ras1+".main_mode_sas", atLeastOne),
					resource.TestCheckResourceAttrWith(deviceAddr, "purged."+ras1+".quick_mode_sas", atLeastOne),
					resource.TestCheckResourceAttr(deviceAddr, "purged."+ras2+".main_mode_sas", "0"),
					checkAccountEnabled(l, t, "CLIENT1$", false),
					checkSAs(l, t, "CLIENT1", map[string]int{ras1: 0, ras2: 0}),
					// An exact match: client10 shares client1's prefix and stays connected.
					checkSAs(l, t, "CLIENT10", nil),
					checkAccountEnabled(l, t, "CLIENT10$", true),
				),
			},
		}, driftAndImportSteps(l, t, deviceAddr, config, "CLIENT1$", "CLIENT1")...),
	})
}

func TestAccBlockedDevice_alreadyDisabledStaysDisabled(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "RETIRED1$", false),
		Steps: []resource.TestStep{{
			Config: l.providerConfig(blockedDeviceConfig("RETIRED1")),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(deviceAddr, "was_enabled", "false"),
				checkAccountEnabled(l, t, "RETIRED1$", false),
			),
		}},
	})
}

func TestAccBlockedDevice_purgedFromEveryServer(t *testing.T) {
	l := startLab(t)
	l.revokeDeviceCertificate("CLIENT2")
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			// CLIENT2 is connected through both servers, with a VPN device tunnel on the second.
			Config: l.providerConfig(blockedDeviceConfig("CLIENT2")),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttrWith(deviceAddr, "purged."+ras1+".main_mode_sas", atLeastOne),
				resource.TestCheckResourceAttrWith(deviceAddr, "purged."+ras2+".main_mode_sas", atLeastOne),
				resource.TestCheckResourceAttr(deviceAddr, "purged."+ras2+".vpn_connections", "1"),
				checkSAs(l, t, "CLIENT2", map[string]int{ras1: 0, ras2: 0}),
			),
		}},
	})
}

func TestAccBlockedDevice_namesAreCheckedOrMatchedLiterally(t *testing.T) {
	l := startLab(t)
	cases := map[string]string{
		`CLIENT"1`:  `(?s)Invalid account name.*contains`,
		`CLIENT*`:   `(?s)Invalid account name.*contains`,
		`CLI$ENT1`:  `(?s)Invalid account name.*contains "\$"`,
		"CLI`ENT1":  "No computer named",
		`CLI;ENT1`:  `(?s)Invalid account name.*contains ';'`,
		`CLI[ENT]1`: `(?s)Invalid account name.*contains '\['`,
		"CLIENT1\t": `(?s)Invalid account name.*control character`,
		// A server's DNS name, typed for its computer name: the error says which name to give.
		"ras2.corp.example": `(?s)Invalid account name.*looks\s+like\s+a\s+DNS\s+name.*such\s+as\s+"RAS2"`,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      l.providerConfig(blockedDeviceConfig(name)),
					ExpectError: regexp.MustCompile(want),
				}},
			})
		})
	}
	// Nothing else was touched by those attempts.
	for _, sam := range []string{"CLIENT1$", "CLIENT10$", "CLIENT2$"} {
		if !l.accountEnabled(t, sam) {
			t.Errorf("%s was disabled by an attempt with another name", sam)
		}
	}
}

func TestAccBlockedDevice_nonASCIIName(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "LAPTOP-ÄÖ$", true),
		Steps: []resource.TestStep{{
			Config: l.providerConfig(blockedDeviceConfig("LAPTOP-ÄÖ")),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkAccountEnabled(l, t, "LAPTOP-ÄÖ$", false),
				checkSAs(l, t, "LAPTOP-ÄÖ", map[string]int{l.info.ServerAddresses[1]: 0}),
			),
		}},
	})
}

func TestAccBlockedDevice_refusesGuardedAccounts(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      l.providerConfig(blockedDeviceConfig("DC1")),
			ExpectError: regexp.MustCompile(`Refusing to block the computer "DC1"`),
		}},
	})
	if !l.accountEnabled(t, "DC1$") {
		t.Error("the domain controller's account was disabled")
	}
}

// A new block is refused at plan time on a server that is not ready, naming it and the fix; nothing is changed.
// With one WinRM slot per server, the readiness read is made before the impact preview rather than beside it.
func TestAccBlockedDevice_refusesAServerThatIsNotReady(t *testing.T) {
	for name, extra := range map[string]string{"at once": "", "one slot": "max_concurrency_per_server = 1"} {
		t.Run(name, func(t *testing.T) {
			l := startLab(t)
			l.winrmExtra = extra
			l.Cluster().SetReadiness("RAS2", cluster.Readiness{HiddenCommands: []string{"Get-NetIPsecMainModeSA"}})
			ras2 := l.info.ServerAddresses[1]
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      l.providerConfig(blockedDeviceConfig("CLIENT1")),
					ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(ras2) + ` is not ready for the provider.*Get-NetIPsecMainModeSA.*VisibleCmdlets`),
				}},
			})
			if !l.accountEnabled(t, "CLIENT1$") {
				t.Error("the refused block disabled CLIENT1")
			}
			if err := expectSAs(l, t, identitiesOf("CLIENT1"), false); err != nil {
				t.Error(err)
			}
		})
	}
}

// A new block's plan asks each server for its readiness and for the sessions the block will end at once, not one
// after the other: every command hangs until both are running on every server (or, were they made in a row, until
// the plan's timeouts end them: the plan then succeeds without either, and the peak shows one at a time).
func TestAccBlockedDevice_planReadsReadinessAndImpactAtOnce(t *testing.T) {
	l := startLab(t)
	servers := l.info.Servers
	for _, s := range servers {
		l.Server(s.Name).Faults().SetHangCommands(true)
	}
	stop := make(chan struct{})
	released := make(chan struct{})
	t.Cleanup(func() { close(stop); <-released })
	go func() {
		defer close(released)
		defer func() {
			for _, s := range servers {
				l.Server(s.Name).Faults().SetHangCommands(false)
			}
		}()
		for {
			both := true
			for _, s := range servers {
				both = both && l.Server(s.Name).Counters().RunningCommands >= 2
			}
			if both {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:             l.providerConfig(blockedDeviceConfig("CLIENT1")),
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}},
	})
	for _, s := range servers {
		c, scripts := l.Server(s.Name).Counters(), l.CommandsPerScript(s.Name)
		if c.MaxRunningCommands < 2 || scripts["get-readiness/v1"] == 0 || scripts["get-ipsec-sas/v1"] == 0 {
			t.Errorf("%s: at most %d commands at once (readiness reads %d, SA looks %d): the readiness read and the "+
				"impact preview ran one after the other", s.Name, c.MaxRunningCommands,
				scripts["get-readiness/v1"], scripts["get-ipsec-sas/v1"])
		}
	}
}

func TestAccBlockedDevice_importByIdentity(t *testing.T) {
	l := startLab(t)
	config := l.providerConfig(blockedDeviceConfig("CLIENT10"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		// Resource identities arrived in Terraform 1.12 and OpenTofu 1.12: the OpenTofu run covers this test.
		TerraformVersionChecks: []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		Steps: []resource.TestStep{
			{Config: config},
			{
				Config:          config,
				ResourceName:    deviceAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
				// The import finds the block by its object GUID; only the arguments that live in configuration alone
				// (reason, verify_seconds) are left to update.
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("computer_name"), knownvalue.StringExact("CLIENT10")),
				}},
			},
		},
	})
}

func TestAccBlockedDevice_shutdownViaManageOut(t *testing.T) {
	l := startLab(t)
	config := l.providerConfig(`
resource "remoteaccess_blocked_device" "test" {
  computer_name           = "CLIENT10"
  shutdown_via_manage_out = true
  verify_seconds          = 1
}
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		// A device that was shut down does not come back when its account is enabled again, unlike a purged one.
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			checkAccountEnabled(l, t, "CLIENT10$", true),
			func(*terraform.State) error {
				time.Sleep(3 * 300 * time.Millisecond) // several re-establish delays of the lab's clients
				return expectSAs(l, t, identitiesOf("CLIENT10"), true)
			},
		),
		Steps: []resource.TestStep{{
			Config: config,
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(deviceAddr, "shutdown_via_manage_out", "true"),
				checkSAs(l, t, "CLIENT10", map[string]int{l.info.ServerAddresses[0]: 0}),
			),
		}},
	})
}

func TestAccBlockedDevice_purgedDeviceReturnsAfterUnblock(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		// Without a shutdown, destroying the block lets the device reconnect on its own.
		CheckDestroy: func(*terraform.State) error {
			deadline := time.Now().Add(10 * time.Second)
			for {
				err := expectSAs(l, t, identitiesOf("CLIENT10"), false)
				if err == nil || time.Now().After(deadline) {
					return err
				}
				time.Sleep(200 * time.Millisecond)
			}
		},
		Steps: []resource.TestStep{{Config: l.providerConfig(blockedDeviceConfig("CLIENT10"))}},
	})
}
