package provider

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/labtls"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
)

// enableWatch records, from the lab's directory itself, every value an account's userAccountControl took during a
// test, so that an enable undone a moment later (a replacement that re-enables, then disables again) is seen.
type enableWatch struct {
	l     *testLab
	sam   string
	start int
}

func (l *testLab) watchEnables(sam string) *enableWatch {
	return &enableWatch{l: l, sam: sam, start: len(l.Directory().AccountControlHistory(sam))}
}

// enables counts the writes that enabled the account since the watch started.
func (w *enableWatch) enables() int {
	n := 0
	for _, uac := range w.l.Directory().AccountControlHistory(w.sam)[w.start:] {
		if uac&directory.UFAccountDisable == 0 {
			n++
		}
	}
	return n
}

// noEnable fails when the account was enabled at any moment since the watch started.
func (w *enableWatch) noEnable() resource.TestCheckFunc {
	return func(*terraform.State) error {
		if n := w.enables(); n > 0 {
			return fmt.Errorf("%s was enabled %d times while a block held it (userAccountControl history %v)", w.sam, n,
				w.l.Directory().AccountControlHistory(w.sam)[w.start:])
		}
		return nil
	}
}

// A purge that cannot reach a server leaves the block applied and recorded, with the server pending: the apply
// warns, the next plan is an in-place update (never a replacement), and the next apply completes it. The account
// is never enabled on the way.
func TestAccBlockedDevice_unreachableServerIsCompletedInPlace(t *testing.T) {
	l := startLab(t)
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	config := l.providerConfig(blockedDeviceConfig("CLIENT2"))
	failing := l.Server("RAS2")
	watch := l.watchEnables("CLIENT2$")
	l.revokeDeviceCertificate("CLIENT2")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT2$", true),
		Steps: []resource.TestStep{
			{
				PreConfig: func() { failing.Faults().SetDropConnections(true) },
				Config:    config,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "1"),
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.0", ras2),
					resource.TestCheckResourceAttr(deviceAddr, "was_enabled", "true"),
					checkAccountEnabled(l, t, "CLIENT2$", false),
					resource.TestCheckResourceAttrWith(deviceAddr, "purged."+ras1+".main_mode_sas", atLeastOne),
				),
				// A pipeline sees the block is incomplete: the plan after the apply is not empty.
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				// Still unreachable: another in-place attempt, still pending, still disabled.
				Check:              resource.ComposeAggregateTestCheckFunc(resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "1"), watch.noEnable()),
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() { failing.Faults().Reset() },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "0"),
					resource.TestCheckResourceAttr(deviceAddr, "was_enabled", "true"),
					checkAccountEnabled(l, t, "CLIENT2$", false),
					checkSAs(l, t, "CLIENT2", map[string]int{ras1: 0, ras2: 0}),
					watch.noEnable(),
				),
			},
			{
				Config:   config,
				PlanOnly: true, // complete: nothing left to do
			},
		},
	})
}

// A server added to the provider's servers after a block was applied is one the block never purged: the next plan is
// an update that purges it, and the account's sessions there end. The same holds for a block imported, whose purged
// map is empty.
func TestAccBlockedDevice_serverAddedToTheProviderIsPurged(t *testing.T) {
	l := startLab(t)
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	both := l.providerConfig(blockedDeviceConfig("CLIENT2"))
	one := strings.Replace(both, fmt.Sprintf("servers             = [%q, %q]", ras1, ras2), fmt.Sprintf("servers             = [%q]", ras1), 1)
	if one == both {
		t.Fatalf("the configuration does not list both servers as expected:\n%s", both)
	}
	l.revokeDeviceCertificate("CLIENT2") // its device tunnel on RAS2 would come back on a valid certificate
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: one, Check: checkSAs(l, t, "CLIENT2", map[string]int{ras1: 0})},
			{
				Config: both,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "0"),
					resource.TestCheckResourceAttrSet(deviceAddr, "purged."+ras2+".main_mode_sas"),
					checkSAs(l, t, "CLIENT2", map[string]int{ras1: 0, ras2: 0}),
				),
			},
			{Config: both, PlanOnly: true},
		},
	})
}

// A server removed from a block's servers and listed again is purged again: sessions made while it was not listed
// are up there, although the block purged it once.
func TestAccBlockedDevice_serverListedAgainIsPurgedAgain(t *testing.T) {
	l := startLab(t)
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	const device = "LAPTOP-ÄÖ" // connected through RAS2, with no VPN device tunnel
	withServers := func(servers ...string) string {
		quoted := make([]string, len(servers))
		for i, s := range servers {
			quoted[i] = fmt.Sprintf("%q", s)
		}
		return l.providerConfig(strings.Replace(blockedDeviceConfig(device), "verify_seconds = 1",
			"verify_seconds = 1\n  servers        = ["+strings.Join(quoted, ", ")+"]", 1))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: withServers(ras1, ras2), Check: checkSAs(l, t, device, map[string]int{ras1: 0, ras2: 0})},
			{Config: withServers(ras1)},
			{
				// Meanwhile the device connected to RAS2 again: its account enabled by hand for a while, then disabled.
				PreConfig: func() {
					l.setEnabled(t, device+"$", true)
					poll.Until(t, device+" connects to RAS2 again", func() bool { return l.mainModeSAs(t, identitiesOf(device)...)[ras2] > 0 })
					l.setEnabled(t, device+"$", false)
				},
				Config: withServers(ras1, ras2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				Check: checkSAs(l, t, device, map[string]int{ras1: 0, ras2: 0}),
			},
		},
	})
}

// A block made by hand and imported has purged nothing: the apply after the import purges every server, so that the
// device's sessions end as a block's do, and the block is complete only then.
func TestAccBlockedDevice_importedBlockIsPurgedByTheNextApply(t *testing.T) {
	l := startLab(t)
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	config := l.providerConfig(blockedDeviceConfig("CLIENT10"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				PreConfig:          func() { l.setEnabled(t, "CLIENT10$", false) }, // disabled by hand, sessions left up
				Config:             config,
				ResourceName:       deviceAddr,
				ImportState:        true,
				ImportStateId:      "CLIENT10",
				ImportStatePersist: true,
				Check:              checkSAs(l, t, "CLIENT10", nil),
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "0"),
					checkSAs(l, t, "CLIENT10", map[string]int{ras1: 0, ras2: 0}),
				),
			},
			{Config: config, PlanOnly: true},
		},
	})
}

// A server that refuses the provider's logon stops the block before the account is touched, naming the setting.
func TestAccBlockedDevice_wrongWinRMSettingsChangeNothing(t *testing.T) {
	l := startLab(t)
	watch := l.watchEnables("CLIENT2$")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			PreConfig:   func() { l.Server("RAS2").Faults().SetAuthFailure(true) },
			Config:      l.providerConfig(blockedDeviceConfig("CLIENT2")),
			ExpectError: regexp.MustCompile(`(?s)refused the provider's WinRM settings.*nothing was changed.*winrm\.username`),
		}},
	})
	if !l.accountEnabled(t, "CLIENT2$") || len(l.Directory().AccountControlHistory("CLIENT2$")) != watch.start {
		t.Fatal("CLIENT2 was changed although a server refused the provider's settings")
	}
}

// Another spelling of the same account is an update, not a replacement that would lift the block in between.
func TestAccBlockedUser_otherSpellingOfTheSameAccountIsNoReplacement(t *testing.T) {
	l := startLab(t)
	watch := l.watchEnables("alice")
	step := func(name string) resource.TestStep {
		return resource.TestStep{
			Config: l.providerConfig(blockedUserConfig(name)),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(userAddr, plancheck.ResourceActionUpdate)},
			},
			Check: resource.ComposeAggregateTestCheckFunc(resource.TestCheckResourceAttr(userAddr, "user_name", name),
				checkAccountEnabled(l, t, "alice", false), watch.noEnable()),
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "alice", true),
		Steps: []resource.TestStep{
			{Config: l.providerConfig(blockedUserConfig("alice"))},
			step("ALICE"),
			step("alice@corp.example"),
			step("Alice@CORP.example"),
			{
				// A name of another account is refused in the plan: a replacement would lift alice's block first.
				Config:      l.providerConfig(blockedUserConfig("bob")),
				ExpectError: regexp.MustCompile(`(?s)bob names another user account than the block.*user_name\s*=\s*"bob".*declare a second block`),
			},
			{
				// So is a name of no account.
				Config:      l.providerConfig(blockedUserConfig("nobody-such")),
				ExpectError: regexp.MustCompile(`(?s)nobody-such names no user account.*user_name\s*=\s*"nobody-such".*declare a second block`),
			},
		},
	})
	if !l.accountEnabled(t, "bob") || len(l.Directory().AccountControlHistory("bob")) != 0 {
		t.Error("bob's account was changed although the rename to bob was refused")
	}
}

// An account without a userPrincipalName is found by its implicit UPN, sAMAccountName@dnsdomain.
func TestAccBlockedUser_implicitUPN(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "dave", true),
		Steps: []resource.TestStep{{
			Config: l.providerConfig(blockedUserConfig("dave@corp.example")),
			Check:  checkAccountEnabled(l, t, "dave", false),
		}},
	})
}

// Two blocks of one account (here in one configuration; two workspaces behave the same, through the record on the
// account) never undo each other: destroying one leaves the account disabled, destroying the last restores it.
func TestAccBlockedDevice_twoBlocksOfOneAccount(t *testing.T) {
	l := startLab(t)
	two := l.providerConfig(`
resource "remoteaccess_blocked_device" "incident" {
  computer_name  = "CLIENT1"
  reason         = "INC-1: reported stolen"
  verify_seconds = 0
}
resource "remoteaccess_blocked_device" "audit" {
  computer_name  = "client1"
  ticket         = "AUD-9"
  reason         = "audit hold"
  verify_seconds = 0
  depends_on     = [remoteaccess_blocked_device.incident]
}
`)
	one := l.providerConfig(`
resource "remoteaccess_blocked_device" "audit" {
  computer_name  = "client1"
  ticket         = "AUD-9"
  reason         = "audit hold"
  verify_seconds = 0
}
`)
	watch := l.watchEnables("CLIENT1$")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT1$", true),
		Steps: []resource.TestStep{
			{
				Config: two,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("remoteaccess_blocked_device.incident", "was_enabled", "true"),
					// The second block finds the account disabled, and learns from the record that it was enabled.
					resource.TestCheckResourceAttr("remoteaccess_blocked_device.audit", "was_enabled", "true"),
					checkRecord(l, "CLIENT1$", 2, "INC-1: reported stolen", "[AUD-9] audit hold"),
				),
			},
			{
				Config: one,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("remoteaccess_blocked_device.incident", plancheck.ResourceActionDestroy)},
				},
				Check: resource.ComposeAggregateTestCheckFunc(checkAccountEnabled(l, t, "CLIENT1$", false), watch.noEnable(),
					checkRecord(l, "CLIENT1$", 1, "[AUD-9] audit hold")),
			},
		},
	})
}

// Replacing a block with create_before_destroy (here forced with taint) ends with the account disabled: the new
// block holds it before the old one lets go.
func TestAccBlockedDevice_createBeforeDestroyKeepsTheAccountDisabled(t *testing.T) {
	l := startLab(t)
	config := l.providerConfig(`
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "CLIENT1"
  reason         = "INC-1: reported stolen"
  verify_seconds = 0
  lifecycle {
    create_before_destroy = true
  }
}
`)
	watch := l.watchEnables("CLIENT1$")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT1$", true),
		Steps: []resource.TestStep{
			{Config: config},
			{
				Config: config,
				Taint:  []string{deviceAddr},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionCreateBeforeDestroy)},
				},
				Check: resource.ComposeAggregateTestCheckFunc(checkAccountEnabled(l, t, "CLIENT1$", false), watch.noEnable(),
					resource.TestCheckResourceAttr(deviceAddr, "was_enabled", "true"), checkRecord(l, "CLIENT1$", 1, "INC-1: reported stolen")),
			},
		},
	})
}

// checkRecord reads the block record on the account from the lab's directory: the number of holds and their
// reasons, and the summary an administrator sees in the description.
func checkRecord(l *testLab, sam string, holds int, reasons ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		e, ok := l.Directory().Lookup(sam)
		if !ok {
			return fmt.Errorf("%s not in the lab's directory", sam)
		}
		info, descr := strings.Join(e.Attributes["info"], ""), strings.Join(e.Attributes["description"], "")
		rec := directory.ParseBlockRecord(info)
		if rec == nil || len(rec.Holds) != holds {
			return fmt.Errorf("%s: block record %q; want %d holds", sam, info, holds)
		}
		for i, want := range reasons {
			if rec.Holds[i].Reason != want || rec.Holds[i].By != l.info.LDAPBindUsername {
				return fmt.Errorf("%s: hold %d is %+v; want reason %q by %s", sam, i, rec.Holds[i], want, l.info.LDAPBindUsername)
			}
		}
		if !strings.HasPrefix(descr, "Blocked by Terraform (remoteaccess)") || !strings.Contains(descr, reasons[0]) {
			return fmt.Errorf("%s: description %q; want the block's summary", sam, descr)
		}
		return nil
	}
}

// Import adopts a block; it never creates one: an enabled account is refused, and a recorded block's import
// recovers the state before the block.
func TestAccBlockedUser_importOfAnEnabledAccountIsRefused(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:        l.providerConfig(blockedUserConfig("bob")),
			ResourceName:  userAddr,
			ImportState:   true,
			ImportStateId: "bob",
			ExpectError:   regexp.MustCompile(`(?s)There is no block of bob to import.*is enabled`),
		}},
	})
	if !l.accountEnabled(t, "bob") {
		t.Fatal("the refused import disabled bob")
	}
}

// Guards are evaluated when the plan is made: a reviewer sees the refusal in the plan.
func TestAccBlocked_guardsRefuseAtPlanTime(t *testing.T) {
	l := startLab(t)
	cases := []struct{ config, want string }{
		{`resource "remoteaccess_blocked_device" "test" { computer_name = "RAS2" }`, `(?s)Refusing to block.*Remote Access server RAS2 \(servers lists it as`},
		{`resource "remoteaccess_blocked_user" "test" { user_name = "erin" }`, `(?s)Refusing to block.*privileged account.*allow_privileged`},
		{`resource "remoteaccess_blocked_user" "test" { user_name = "` + l.info.LDAPBindUsername + `" }`, `(?s)Refusing to block.*own LDAP bind account.*ldap.bind_username`},
		{`resource "remoteaccess_blocked_device" "test" { computer_name = "DC2" }`, `(?s)Refusing to block.*domain controller`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:             l.providerConfig(tc.config),
					PlanOnly:           true,
					ExpectNonEmptyPlan: true,
					ExpectError:        regexp.MustCompile(tc.want),
				}},
			})
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "erin", true),
		Steps: []resource.TestStep{{
			Config: l.providerConfig(`resource "remoteaccess_blocked_user" "test" {
  user_name        = "erin"
  allow_privileged = true
  verify_seconds   = 0
}`),
			Check: checkAccountEnabled(l, t, "erin", false),
		}},
	})
}

// Servers given by IP address are protected by the names DNS gives them; an address DNS cannot name makes device
// blocks refuse to run until protected_computers names that server (ADDRESS=NAME): naming other computers does not.
func TestProtectionOfServersGivenByAddress(t *testing.T) {
	c := &clients{settings: settings{Servers: []string{"10.0.0.5", "ras1.corp.example"}}}
	c.serverNames.lookup = func(_ context.Context, addr string) ([]string, error) {
		if addr == "10.0.0.5" {
			return []string{"ras2.corp.example."}, nil
		}
		return nil, fmt.Errorf("no PTR record")
	}
	protected, unresolved := c.protection(context.Background(), []string{"10.0.0.9"})
	names := map[string]bool{}
	for _, p := range protected {
		names[p.Name] = true
	}
	if !names["ras2.corp.example"] || !names["ras1.corp.example"] || len(unresolved) != 1 || unresolved[0] != "10.0.0.9" {
		t.Fatalf("protection = %+v, unresolved %v; want ras1 and ras2 by name, 10.0.0.9 unresolved", protected, unresolved)
	}
	// Naming another computer does not name the server: the guard stays on until the server itself is named.
	c.settings.ProtectedComputers = []string{"RAS3"}
	if _, unresolved := c.protection(context.Background(), []string{"10.0.0.9"}); len(unresolved) != 1 || unresolved[0] != "10.0.0.9" {
		t.Errorf("with protected_computers naming another computer, unresolved = %v; want 10.0.0.9", unresolved)
	}
	c.settings.ServerNames = map[string]string{"10.0.0.9": "RAS9"}
	protected, unresolved = c.protection(context.Background(), []string{"10.0.0.9"})
	if len(unresolved) != 0 || !slices.ContainsFunc(protected, func(p directory.Protected) bool { return p.Name == "RAS9" }) {
		t.Errorf("with 10.0.0.9=RAS9, protection = %+v, unresolved %v; want RAS9 protected and none unresolved", protected, unresolved)
	}
}

// A directory whose certificate the configured CA does not sign is named as an ldap.ca_certificate problem, with
// no doubled "directory:" prefixes, and nothing is changed.
func TestAccBlockedDevice_ldapTLSErrorNamesTheSetting(t *testing.T) {
	l := startLab(t)
	wrongCA := otherCAFile(t)
	config := strings.Replace(l.providerConfig(blockedDeviceConfig("CLIENT1")),
		fmt.Sprintf("urls           = [%q]\n    ca_certificate = file(%q)", l.info.LDAPSURL, l.caFile),
		fmt.Sprintf("urls           = [%q]\n    ca_certificate = file(%q)", l.info.LDAPSURL, wrongCA), 1)
	if !strings.Contains(config, wrongCA) {
		t.Fatal("the test could not swap the LDAP CA in the configuration")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      config,
			ExpectError: regexp.MustCompile(`(?s)Cannot reach Active Directory securely.*ldap\.ca_certificate`),
		}},
	})
	if !l.accountEnabled(t, "CLIENT1$") {
		t.Fatal("CLIENT1 was disabled")
	}
}

// otherCAFile writes the certificate of a CA that is not the lab's, for a provider setting that trusts the wrong one.
func otherCAFile(t *testing.T) string {
	t.Helper()
	other, err := labtls.NewCA("not the lab's CA")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(file, other.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// A pending server that leaves the configuration leaves pending_servers too, so that an incomplete block can always
// be completed or destroyed without editing state; a server added to the block's servers is purged in place.
func TestAccBlockedDevice_pendingFollowsTheConfiguration(t *testing.T) {
	l := startLab(t)
	ras1 := l.info.ServerAddresses[0]
	withServers := func(servers string) string {
		return l.providerConfig(fmt.Sprintf(`
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "CLIENT2"
  verify_seconds = 0
  servers        = %s
}
`, servers))
	}
	both := fmt.Sprintf("[%q, %q]", ras1, l.info.ServerAddresses[1])
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT2$", true),
		Steps: []resource.TestStep{
			{
				PreConfig:          func() { l.Server("RAS2").Faults().SetDropConnections(true) },
				Config:             withServers(both),
				Check:              resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "1"),
				ExpectNonEmptyPlan: true,
			},
			{
				Config: withServers(fmt.Sprintf("[%q]", ras1)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeAggregateTestCheckFunc(resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "0"),
					resource.TestCheckResourceAttr(deviceAddr, "purged.%", "1"), checkAccountEnabled(l, t, "CLIENT2$", false)),
			},
			{
				// A server added to the block is purged: the device may be connected there.
				PreConfig: func() { l.Server("RAS2").Faults().Reset() },
				Config:    withServers(both),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeAggregateTestCheckFunc(resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "0"),
					resource.TestCheckResourceAttr(deviceAddr, "purged.%", "2")),
			},
		},
	})
}

// A destroy whose release's answer is lost stays in state. Destroyed again after someone disabled the account (a
// helpdesk, another tool), it finds that the lost release took the hold's line off, and leaves the account disabled
// rather than enable it by was_enabled. With ldap.record_blocks = false (unrecorded) no record tells whether the lost
// release was applied, so the account it finds disabled stays disabled too, and the destroy says so.
func testDestroyRetriedAfterALostReleaseKeepsALaterDisable(t *testing.T, ldapExtra string) {
	l := startLab(t)
	config := func(blocks string) string { return l.configWith(ldapExtra, blocks) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: retriedAfterALostRelease(l, config, `
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "CLIENT1"
  verify_seconds = 0
}
`, nil, func() {
			if err := l.Directory().DisableAccount("CLIENT1$"); err != nil {
				t.Fatal(err)
			}
		}, checkAccountEnabled(l, t, "CLIENT1$", false)),
	})
}

func TestAccBlockedDevice_destroyRetriedAfterALostReleaseKeepsALaterDisable(t *testing.T) {
	testDestroyRetriedAfterALostReleaseKeepsALaterDisable(t, "")
}

func TestAccBlockedDevice_unrecordedDestroyRetriedAfterALostReleaseKeepsALaterDisable(t *testing.T) {
	testDestroyRetriedAfterALostReleaseKeepsALaterDisable(t, "record_blocks = false")
}

// retriedAfterALostRelease are the steps of a block applied (first checks it), destroyed with the directory's answer
// to the release lost and the directory unreachable after it (the destroy cannot read it back, and stays in state),
// then, after meanwhile, destroyed again (last checks it: the state is empty, so no CheckDestroy runs).
func retriedAfterALostRelease(l *testLab, config func(blocks string) string, block string, first resource.TestCheckFunc,
	meanwhile func(), last resource.TestCheckFunc) []resource.TestStep {
	return []resource.TestStep{{
		Config: config(block),
		Check:  first,
	}, {
		PreConfig:   func() { l.Directory().LoseModifyReplies(1, true) },
		Config:      config(""),
		ExpectError: regexp.MustCompile(`reply was lost`),
	}, {
		PreConfig: func() {
			l.Directory().SetReachable()
			meanwhile()
		},
		Config: config(""),
		Check:  last,
	}}
}

// A domain controller that does not answer does not hold up the block: the purge runs while the controllers are
// read back, the read-back ends at ldap.timeout naming the controller, and the block completes.
func TestAccBlockedDevice_unreachableDomainControllerDoesNotHoldUpThePurge(t *testing.T) {
	l := startLab(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadDC := "ldaps://" + closed.Addr().String()
	_ = closed.Close()
	config := strings.Replace(l.providerConfig(blockedDeviceConfig("CLIENT1")), "  ldap {\n",
		fmt.Sprintf("  ldap {\n    domain_controllers = [%q, %q]\n    timeout            = \"2s\"\n", l.info.LDAPSURL, deadDC), 1)
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT1$", true),
		Steps: []resource.TestStep{{
			Config: config,
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "0"),
				checkAccountEnabled(l, t, "CLIENT1$", false),
				checkSAs(l, t, "CLIENT1", map[string]int{ras1: 0, ras2: 0}),
			),
		}},
	})
}

// An Always On VPN device tunnel authenticates with the device's certificate, not its computer account: it comes
// back after the purge however the account is disabled. The block says so, names the server and keeps it pending;
// once the certificate is revoked, the next apply completes the block.
func TestAccBlockedDevice_deviceTunnelComesBackUntilTheCertificateIsRevoked(t *testing.T) {
	l := startLab(t)
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	config := l.providerConfig(`
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "CLIENT2"
  verify_seconds = 3
}
`)
	watch := l.watchEnables("CLIENT2$")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT2$", true),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					// RAS2 holds the device tunnel; RAS1 only DirectAccess SAs, which the disabled account stops.
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "1"),
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.0", ras2),
					checkAccountEnabled(l, t, "CLIENT2$", false),
					checkSAs(l, t, "CLIENT2", map[string]int{ras1: 0}),
				),
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() { l.revokeDeviceCertificate("CLIENT2") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeAggregateTestCheckFunc(resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "0"),
					watch.noEnable()),
			},
		},
	})
}
