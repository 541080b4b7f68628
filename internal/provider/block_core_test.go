package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

// configWith is the lab's provider configuration with extra lines in its ldap block, then the resources.
func (l *testLab) configWith(ldapExtra, resources string) string {
	saved := l.ldapExtra
	defer func() { l.ldapExtra = saved }()
	l.ldapExtra = ldapExtra
	return l.providerConfig(resources)
}

// setNotes writes a computer account's Notes (info) directly in the directory, as an administrator would.
func (l *testLab) setNotes(t *testing.T, sam, notes string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acct, err := labclient.Directory(t, l.info).FindComputer(ctx, strings.TrimSuffix(sam, "$"))
	if err != nil {
		t.Fatalf("looking %s up: %v", sam, err)
	}
	conn := labclient.LDAP(t, l.info)
	mod := ldap.NewModifyRequest(acct.DN, nil)
	mod.Replace("info", []string{notes})
	if err := conn.Modify(mod); err != nil {
		t.Fatalf("writing the Notes of %s: %v", sam, err)
	}
}

// noEnableCheck fails a step when the account was enabled at any moment since the watch started, read from the
// lab's directory itself.
type noEnableCheck struct{ w *enableWatch }

func (c noEnableCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if n := c.w.enables(); n > 0 {
		resp.Error = fmt.Errorf("%s was enabled %d times while a block held it (userAccountControl history %v)", c.w.sam, n,
			c.w.l.Directory().AccountControlHistory(c.w.sam)[c.w.start:])
	}
}

// Naming one computer in protected_computers does not name the Remote Access servers given by IP address: a device
// block stays refused at plan time, on computer_name, until each such server is named (ADDRESS=NAME).
func TestAccBlockedDevice_protectedComputersAddToTheServersNames(t *testing.T) {
	testProtectedComputersAdd(t, startLab(t), "RAS1")
}

// On Samba AD, as the issue ran it: any device block is refused while a server given by address is not named.
func TestAccBlockedDevice_protectedComputersAddToTheServersNamesOnSamba(t *testing.T) {
	l, _ := startSambaLab(t)
	testProtectedComputersAdd(t, l, "CLIENT1")
}

func testProtectedComputersAdd(t *testing.T, l *testLab, device string) {
	t.Helper()
	config := strings.Replace(l.providerConfig(fmt.Sprintf(`
resource "remoteaccess_blocked_device" "test" {
  reason        = "the guard must hold"
  computer_name = %q
}`, device)), fmt.Sprintf("%q, %q", l.info.ServerAddresses[0]+"=RAS1", l.info.ServerAddresses[1]+"=RAS2"), `"RAS2"`, 1)
	if !strings.Contains(config, `protected_computers = ["RAS2"]`) {
		t.Fatalf("the configuration does not name RAS2 alone:\n%s", config)
	}
	enabled := l.accountEnabled(t, device+"$")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      config,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Cannot tell which computer accounts are the Remote Access servers.*computer_name = "` + device + `"`),
		}},
	})
	if l.accountEnabled(t, device+"$") != enabled {
		t.Fatalf("%s was changed although the guard refused the block", device)
	}
}

// A Remote Access server that the configuration names by an alias (an address given a name that is not its host
// name, as a DNS alias or a reverse name would be) is still recognised by the name it gives itself: a block of its
// account is refused when the plan is made, also when the block purges nothing, or purges only another server.
func TestAccBlockedDevice_serverNamedByAnAliasIsGuardedByItsOwnName(t *testing.T) {
	l := startLab(t)
	aliased := func(block string) string {
		config := l.providerConfig(block)
		for _, s := range l.info.Servers {
			config = strings.Replace(config, fmt.Sprintf("%q", s.Address+"="+s.Name), fmt.Sprintf("%q", s.Address+"=vpn-"+strings.ToLower(s.Name)), 1)
		}
		if !strings.Contains(config, "=vpn-ras2") || strings.Contains(config, "=RAS2") {
			t.Fatalf("the configuration does not name the servers by aliases alone:\n%s", config)
		}
		return config
	}
	refused := regexp.MustCompile(`(?s)Refusing to block the computer "RAS2".*Remote Access server \S+ \(the server's own\s+computer\s+name is RAS2`)
	step := func(block string) resource.TestStep {
		return resource.TestStep{Config: aliased(block), PlanOnly: true, ExpectNonEmptyPlan: true, ExpectError: refused}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			step(`
resource "remoteaccess_blocked_device" "test" {
  computer_name = "RAS2"
}`),
			step(fmt.Sprintf(`
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "RAS2"
  servers        = [%q]
  purge_sessions = false
}`, l.info.ServerAddresses[0])),
		},
	})
	if !l.accountEnabled(t, "RAS2$") {
		t.Fatal("RAS2's account was disabled")
	}
}

// Every guard refusal points at the attribute that names the account, not at the resource's first line.
func TestAccBlocked_guardRefusalsPointAtTheAccountName(t *testing.T) {
	l := startLab(t)
	cases := []struct{ config, want string }{
		{"remoteaccess_blocked_device\" \"test\" {\n  reason = \"x\"\n  computer_name = \"DC2\"\n}", `(?s)Refusing to block.*computer_name = "DC2"`},
		{"remoteaccess_blocked_user\" \"test\" {\n  reason = \"x\"\n  user_name = \"erin\"\n}", `(?s)Refusing to block.*user_name = "erin"`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      l.providerConfig("resource \"" + tc.config),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

// purge_sessions = false never keeps servers pending: a block left pending by an earlier purge settles with the
// next apply, and the plan after it is empty.
func TestAccBlockedDevice_noPurgeNeverStaysPending(t *testing.T) {
	l := startLab(t)
	ras2 := l.info.ServerAddresses[1]
	watch := l.watchEnables("CLIENT1$")
	noPurge := l.providerConfig(`
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "CLIENT1"
  purge_sessions = false
}`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				PreConfig:          func() { l.Server("RAS2").Faults().SetDropConnections(true) },
				Config:             l.providerConfig(blockedDeviceConfig("CLIENT1")),
				ConfigStateChecks:  []statecheck.StateCheck{statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_servers"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(ras2)}))},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: noPurge,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("account_enabled"), knownvalue.Bool(false)),
					noEnableCheck{watch},
				},
			},
			{Config: noPurge, PlanOnly: true},
		},
	})
}

// An account name unknown at plan time is an update in place, resolved at apply; a name that resolves to another
// account is refused at apply and changes nothing.
func TestAccBlockedDevice_nameUnknownAtPlanIsNoReplacement(t *testing.T) {
	l := startLab(t)
	watch := l.watchEnables("CLIENT1$")
	named := func(name, trigger string) string {
		return l.providerConfig(fmt.Sprintf(`
resource "terraform_data" "name" {
  input            = %q
  triggers_replace = [%q]
}
resource "remoteaccess_blocked_device" "test" {
  computer_name  = terraform_data.name.output
  verify_seconds = 1
}`, name, trigger))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: named("CLIENT1", "1")},
			{
				// Another spelling, known only once terraform_data is replaced: an update, never a replacement.
				Config: named("client1", "2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("computer_name"), knownvalue.StringExact("client1")),
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("account_enabled"), knownvalue.Bool(false)),
					noEnableCheck{watch},
				},
			},
			{
				// Another account, known only at apply: the plan showed an update, and the apply stops before any
				// change with the provider's own refusal, on the attribute.
				Config: named("CLIENT2", "3"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				ExpectError: regexp.MustCompile(`(?s)CLIENT2 names another computer account than the block.*computer_name\s*=\s*terraform_data.name.output.*declare\s+a\s+second\s+block.*Nothing\s+was\s+changed`),
			},
		},
	})
	if !l.accountEnabled(t, "CLIENT2$") {
		t.Error("CLIENT2 was disabled although the block holds CLIENT1")
	}
	if n := len(l.Directory().AccountControlHistory("CLIENT2$")); n != 0 {
		t.Errorf("CLIENT2's userAccountControl was written %d times; want no change", n)
	}
}

// Import accepts an objectGUID in braces, as Windows tools print it.
func TestAccBlockedDevice_importGUIDInBraces(t *testing.T) {
	l := startLab(t)
	_, guid, _ := l.directoryEntry(t, "RETIRED1$")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:             l.providerConfig(`resource "remoteaccess_blocked_device" "test" { computer_name = "RETIRED1" }`),
			ResourceName:       deviceAddr,
			ImportState:        true,
			ImportStateId:      "{" + strings.ToUpper(guid) + "}",
			ImportStatePersist: true,
		}, {
			Config:            l.providerConfig(`resource "remoteaccess_blocked_device" "test" { computer_name = "RETIRED1" }`),
			ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("object_guid"), knownvalue.StringExact(guid))},
		}},
	})
}

// Notes that leave no room for the block record never stop the block: the account is disabled, the hold is kept in
// state, and the apply warns naming the attribute.
func TestAccBlockedDevice_fullNotesNeverStopTheBlock(t *testing.T) {
	l := startLab(t)
	testFullNotes(t, l, noEnableCheck{l.watchEnables("CLIENT1$")})
}

// On Samba AD, which counts the length of info as Active Directory does.
func TestAccBlockedDevice_fullNotesNeverStopTheBlockOnSamba(t *testing.T) {
	l, _ := startSambaLab(t)
	testFullNotes(t, l)
}

func testFullNotes(t *testing.T, l *testLab, checks ...statecheck.StateCheck) {
	t.Helper()
	l.setNotes(t, "CLIENT1$", strings.Repeat("Asset tag and history. ", 40)) // 920 characters
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(blockedDeviceConfig("CLIENT1")),
			ConfigStateChecks: append([]statecheck.StateCheck{
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("account_enabled"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("hold_id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{16}$`))),
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(0)),
				stateCheck(func(map[string]any) error {
					if l.accountEnabled(t, "CLIENT1$") {
						return fmt.Errorf("CLIENT1 is enabled in the directory")
					}
					return nil
				}),
			}, checks...),
		}},
	})
}

// With ldap.record_blocks = false, a block of an account that carries another block's record is refused at plan
// time, with the remedy: releasing the recorded block would otherwise enable the account under this one. The other
// block is another team's, written on the account with the directory client as its provider would.
func TestAccBlockedDevice_unrecordedBlockOverARecordIsRefused(t *testing.T) {
	testUnrecordedOverRecord(t, startLab(t))
}

func TestAccBlockedDevice_unrecordedBlockOverARecordIsRefusedOnSamba(t *testing.T) {
	l, _ := startSambaLab(t)
	testUnrecordedOverRecord(t, l)
}

func testUnrecordedOverRecord(t *testing.T, l *testLab) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := labclient.Directory(t, l.info)
	l.holdAs(t, "CLIENT1", directory.Hold{ID: "team-a", Since: time.Now(), By: "team-a", Reason: "INC-7"})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.configWith("record_blocks = false", `
resource "remoteaccess_blocked_device" "test" {
  reason         = "INC-8"
  computer_name  = "CLIENT1"
  purge_sessions = false
}`),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Refusing an unrecorded block of the computer "CLIENT1".*computer_name\s*=\s*"CLIENT1".*record_blocks = true`),
		}},
	})
	after, err := dir.FindComputer(ctx, "CLIENT1")
	if err != nil || after.Enabled() || after.BlockRecord() == nil || !slices.Equal(after.BlockRecord().HoldIDs(), []string{"team-a"}) {
		t.Errorf("CLIENT1 after the refused block: %+v, %v; want it disabled with only team-a's hold", after, err)
	}
}

// stateCheck is a state check written as a function of the state's values, for properties that compare state with
// the lab.
type stateCheck func(values map[string]any) error

func (c stateCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		resp.Error = fmt.Errorf("no state")
		return
	}
	for _, r := range req.State.Values.RootModule.Resources {
		if r.Address == deviceAddr {
			resp.Error = c(r.AttributeValues)
			return
		}
	}
	resp.Error = fmt.Errorf("%s not in state", deviceAddr)
}

// Switching ldap.record_blocks on while a server is still pending completes the pending server and records the
// block in one pass: a server where a purge was tried in that apply and hung is pending afterwards, never dropped
// by a second pass over the old pending list.
func TestAccBlockedDevice_recordSwitchedOnWhilePendingDropsNoServer(t *testing.T) {
	l := startLab(t)
	ras1 := l.info.ServerAddresses[0]
	l.winrmExtra = `timeout = "4s"`
	watch := l.watchEnables("CLIENT1$")
	var ras2Commands int64
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				PreConfig:          func() { l.Server("RAS1").Faults().SetDropConnections(true) },
				Config:             l.configWith("record_blocks = false", blockedDeviceConfig("CLIENT1")),
				ConfigStateChecks:  []statecheck.StateCheck{statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_servers"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(ras1)}))},
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() {
					l.Server("RAS1").Faults().Reset()
					l.Server("RAS2").Faults().SetHangCommands(true)
					ras2Commands = l.Server("RAS2").Counters().CommandsStarted
				},
				Config: l.providerConfig(blockedDeviceConfig("CLIENT1")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("hold_id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{16}$`))),
					stateCheck(func(values map[string]any) error {
						pending, _ := values["pending_servers"].([]any)
						ras2 := l.info.ServerAddresses[1]
						tried := l.Server("RAS2").Counters().CommandsStarted > ras2Commands
						if tried && !slices.Contains(pending, any(ras2)) {
							return fmt.Errorf("a command hung on %s in this apply, but pending_servers = %v", ras2, pending)
						}
						return nil
					}),
					noEnableCheck{watch},
				},
			},
		},
	})
	l.Server("RAS2").Faults().Reset()
}

// A block whose record cannot be written (the domain controller refuses every write as busy) keeps hold_id null, so
// that every plan shows the update that records it, and the next apply writes its line on the account.
func TestAccBlockedDevice_recordThatFailsIsWrittenByTheNextApply(t *testing.T) {
	l := startLab(t)
	watch := l.watchEnables("CLIENT1$")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: l.configWith("record_blocks = false", blockedDeviceConfig("CLIENT1"))},
			{
				PreConfig: func() { l.Directory().RefuseModifiesAsBusy(1000) },
				Config:    l.providerConfig(blockedDeviceConfig("CLIENT1")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("hold_id"), knownvalue.Null()),
					noEnableCheck{watch},
				},
				ExpectNonEmptyPlan: true, // the block is not recorded yet
			},
			{
				PreConfig: func() { l.Directory().RefuseModifiesAsBusy(0) },
				Config:    l.providerConfig(blockedDeviceConfig("CLIENT1")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					stateCheck(func(values map[string]any) error {
						id, ok := values["hold_id"].(string)
						if !ok || id == "" {
							return fmt.Errorf("hold_id = %v; want the block's id", values["hold_id"])
						}
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						defer cancel()
						acct, err := labclient.Directory(t, l.info).FindComputer(ctx, "CLIENT1")
						if err != nil {
							return err
						}
						if rec := acct.BlockRecord(); rec == nil || !slices.Equal(rec.HoldIDs(), []string{id}) {
							return fmt.Errorf("CLIENT1's block record is %+v; want the hold %s", rec, id)
						}
						return nil
					}),
					noEnableCheck{watch},
				},
			},
			{Config: l.providerConfig(blockedDeviceConfig("CLIENT1")), PlanOnly: true},
		},
	})
}

// ras2Pending is a step that blocks with RAS2 unreachable: RAS2 is pending, and the next step's plan an update that
// completes the block.
func ras2Pending(l *testLab, config string) resource.TestStep {
	return resource.TestStep{
		PreConfig:          func() { l.Server("RAS2").Faults().SetDropConnections(true) },
		Config:             config,
		ExpectNonEmptyPlan: true,
	}
}

// A hold whose answer was lost (the directory then unreachable) leaves hold_id null; when the next apply finds the
// hold's line in the record (the write had landed), it writes the reason changed since into that line, as it does
// for a recorded block.
func TestAccBlockedDevice_reasonChangedAfterALostHoldIsRecorded(t *testing.T) {
	l := startLab(t)
	config := l.providerConfig(blockedDeviceConfig("CLIENT1"))
	changed := strings.Replace(config, "INC-1: reported stolen", "INC-2: not found after all", 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { l.Directory().LoseModifyReplies(1, true) },
				Config:    config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("hold_id"), knownvalue.Null()),
				},
				// Reachable again once the apply has ended, for the plans that follow it.
				Check:              func(*terraformState) error { l.Directory().SetReachable(); return nil },
				ExpectNonEmptyPlan: true,
			},
			{
				Config: changed,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					stateCheck(func(values map[string]any) error {
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						defer cancel()
						acct, err := labclient.Directory(t, l.info).FindComputer(ctx, "CLIENT1")
						if err != nil {
							return err
						}
						rec := acct.BlockRecord()
						if rec == nil || len(rec.Holds) != 1 || rec.Holds[0].ID != values["hold_id"] || !strings.Contains(rec.Holds[0].Reason, "INC-2") {
							return fmt.Errorf("CLIENT1's record is %+v; want the block's one line, with the new reason", rec)
						}
						return nil
					}),
				},
			},
		},
	})
}

// An apply that completes a block in place reads the account afresh: a device whose dNSHostName changed since the
// block was placed is purged under its new name, and the result matches the plan (which leaves the identities to
// the apply) instead of failing as inconsistent.
func TestAccBlockedDevice_completionAfterARenamePurgesTheNewName(t *testing.T) {
	l := startLab(t)
	config := l.providerConfig(blockedDeviceConfig("CLIENT2"))
	renamed := "client2-new." + l.info.Domain
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			ras2Pending(l, config),
			{
				PreConfig: func() {
					l.Server("RAS2").Faults().Reset()
					if err := l.Directory().SetAttribute("CLIENT2$", "dNSHostName", renamed); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					stateCheck(func(values map[string]any) error {
						if ids, _ := values["identities"].([]any); !slices.Contains(ids, any(renamed)) {
							return fmt.Errorf("identities = %v; want the new name %s among them", ids, renamed)
						}
						return nil
					}),
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_servers"), knownvalue.ListExact([]knownvalue.Check{})),
				},
			},
			{Config: config, PlanOnly: true},
		},
	})
}

// duringReview runs an action between the plan and its apply, as happens while a saved plan waits for approval.
type duringReview func()

func (f duringReview) CheckPlan(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse) {
	f()
}

// An account re-enabled after the plan of a completion (a saved plan waiting for approval) is blocked again by its
// apply, which finds it enabled, and the result matches the plan: the time of the block and the purges are left to
// the apply.
func TestAccBlockedDevice_reEnabledAfterThePlanIsBlockedAgainByItsApply(t *testing.T) {
	l := startLab(t)
	config := l.providerConfig(blockedDeviceConfig("CLIENT2"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			ras2Pending(l, config),
			{
				PreConfig: func() { l.Server("RAS2").Faults().Reset() },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate),
						duringReview(func() { l.setEnabled(t, "CLIENT2$", true) }),
					},
				},
				Check: checkAccountEnabled(l, t, "CLIENT2$", false),
			},
			{Config: config, PlanOnly: true},
		},
	})
}

// A destroy whose account moved out of the search base finds it by objectGUID in the whole domain and releases the
// hold: the account is enabled again (CheckDestroy), never forgotten with its hold on it.
func TestAccBlockedDevice_destroyFindsAnAccountMovedOutOfTheBase(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT1$", true),
		Steps: []resource.TestStep{
			{Config: l.providerConfig(blockedDeviceConfig("CLIENT1"))},
			{
				// The provider now searches a base without the account, as when it moved out of the search base.
				Config:  l.configWith(`base_dn = "OU=Servers,DC=corp,DC=example"`, ""),
				Destroy: true,
			},
		},
	})
}

// foundNowhere is a directory that finds no account by objectGUID, anywhere: as when the account's tombstone is gone.
type foundNowhere struct{ block.Directory }

func (foundNowhere) FindByGUID(context.Context, directory.Kind, string) (directory.Account, error) {
	return directory.Account{}, directory.ErrNotFound
}

// A destroy that finds the account nowhere fails naming the account and the hold, and keeps the block in state:
// a later destroy that finds it releases the hold (CheckDestroy: enabled again).
func TestAccBlockedDevice_destroyOfAnAccountFoundNowhereNamesTheHold(t *testing.T) {
	l := startLab(t)
	config := l.providerConfig(blockedDeviceConfig("CLIENT1"))
	t.Cleanup(func() { directoryHook = func(d block.Directory) block.Directory { return d } })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT1$", true),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig:   func() { directoryHook = func(d block.Directory) block.Directory { return foundNowhere{d} } },
				Config:      config,
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)Cannot find the blocked computer CLIENT1.*the hold [0-9a-f]{16} cannot be released`),
			},
			{
				PreConfig: func() { directoryHook = func(d block.Directory) block.Directory { return d } },
				Config:    config,
				PlanOnly:  true,
			},
		},
	})
}

// replyLost is a directory whose Hold reaches the directory and whose reply is lost: the account is disabled and
// the hold recorded, but the provider cannot know it.
type replyLost struct{ block.Directory }

func (d replyLost) Hold(ctx context.Context, acct directory.Account, req directory.HoldRequest) (directory.HoldResult, error) {
	_, err := d.Directory.Hold(ctx, acct, req)
	return directory.HoldResult{}, &directory.OutcomeUnknownError{DN: acct.DN, Sent: errors.Join(io.ErrUnexpectedEOF, err)}
}

// A disable whose reply is lost leaves no orphan: the block is saved with every server pending and hold_id null (it
// is not known to be recorded), the next apply completes it in place and recognises its own hold (one hold on the
// account, the one in state), and destroy releases it.
func TestAccBlockedDevice_lostReplyLeavesNoOrphanHold(t *testing.T) {
	l := startLab(t)
	watch := l.watchEnables("CLIENT1$")
	config := l.providerConfig(blockedDeviceConfig("CLIENT1"))
	t.Cleanup(func() { directoryHook = func(d block.Directory) block.Directory { return d } })
	holdInRecord := stateCheck(func(values map[string]any) error {
		e, _ := l.Directory().Lookup("CLIENT1$")
		rec := directory.ParseBlockRecord(strings.Join(e.Attributes["info"], ""))
		if rec == nil || !slices.Equal(rec.HoldIDs(), []string{fmt.Sprint(values["hold_id"])}) {
			return fmt.Errorf("block record %+v; want exactly the hold in state, %v", rec, values["hold_id"])
		}
		return nil
	})
	oneHold := stateCheck(func(map[string]any) error {
		e, _ := l.Directory().Lookup("CLIENT1$")
		if rec := directory.ParseBlockRecord(strings.Join(e.Attributes["info"], "")); rec == nil || len(rec.Holds) != 1 {
			return fmt.Errorf("block record %+v; want the one hold whose answer was lost", rec)
		}
		return nil
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT1$", true),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					directoryHook = func(d block.Directory) block.Directory { return replyLost{d} }
				},
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(len(l.info.ServerAddresses))),
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("hold_id"), knownvalue.Null()),
					oneHold,
				},
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() { directoryHook = func(d block.Directory) block.Directory { return d } },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("account_enabled"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("was_enabled"), knownvalue.Bool(true)),
					holdInRecord,
					noEnableCheck{watch},
				},
			},
		},
	})
}

// The apply's own check of a name that was unknown at plan time (Terraform's final plan refuses it first, so the CLI
// never reaches it; it stays as the last guard before any change) refuses on the attribute with the same remedy as the
// plan: a second block, never a replacement, which would lift this block before the other account is held.
func TestSameAccountRefusalGivesTheSafeRemedy(t *testing.T) {
	l := startLab(t)
	c, err := newClients(settings{LDAP: ldapSettings{URLs: []string{l.info.LDAPSURL}, CACertPEM: []byte(l.info.CACertificatePEM),
		BindUsername: l.info.LDAPBindUsername, BindPassword: l.info.LDAPBindPassword, BaseDN: l.info.BaseDN, Timeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	ops := newBlockedDevice().ops
	ops.clients = c
	_, guid, _ := l.directoryEntry(t, "CLIENT1$")
	var diags diag.Diagnostics
	if !ops.sameAccount(context.Background(), "client1", guid, &diags) || diags.HasError() {
		t.Fatalf("another spelling of the blocked account: %v", diags)
	}
	if ops.sameAccount(context.Background(), "CLIENT2", guid, &diags) || diags.ErrorsCount() != 1 {
		t.Fatalf("another account: %v; want one error", diags)
	}
	d, ok := diags.Errors()[0].(diag.DiagnosticWithPath)
	detail := diags.Errors()[0].Detail()
	if !ok || !d.Path().Equal(path.Root("computer_name")) || !strings.Contains(detail, "declare a second block") ||
		strings.Contains(detail, "-replace") || !strings.Contains(detail, "Nothing was changed") {
		t.Errorf("the refusal (on %v) says %q; want it on computer_name with the second-block remedy, never -replace", d, detail)
	}
}
