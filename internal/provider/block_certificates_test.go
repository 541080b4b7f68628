package provider

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/enterpriseca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
)

// client2Tunnel is the row of CLIENT2's Always On VPN device tunnel in the lab's connections (it is carried by RAS2).
const client2Tunnel = "Vpn:client2.corp.example:"

func heldDeviceConfig(name, extra string) string {
	return fmt.Sprintf(`
resource "remoteaccess_blocked_device" %q {
  computer_name  = "CLIENT2"
  verify_seconds = 2
  certificate_hold = {
    templates = ["AOVPNDeviceTunnel", "DirectAccess"]
    %s
  }
}
`, name, extra)
}

// secondHeldDeviceConfig is a second block of CLIENT2 with certificate_hold, applied after the first (test), so that
// it finds the first one's holds.
func secondHeldDeviceConfig() string {
	return strings.Replace(heldDeviceConfig("second", ""), `verify_seconds = 2`, `verify_seconds = 0
  depends_on     = [remoteaccess_blocked_device.test]`, 1)
}

// loseOneRevokeReply makes the CA's next hold or revocation take effect and its answer be lost (the lab's CA answers
// through host's WinRM service).
func loseOneRevokeReply(host *wsman.Server) func() {
	return func() {
		host.Faults().SetLoseReplyScript("ca-revoke/v1")
		host.Faults().SetLoseReplyNext(1)
	}
}

// certSerial is CLIENT2's only certificate of a template in the lab CA's database.
func certSerial(t *testing.T, l *testLab, template string) string {
	t.Helper()
	rows := l.EnterpriseCA().Rows(`CORP\CLIENT2$`, []string{template})
	if len(rows) != 1 {
		t.Fatalf("the lab CA has %d %s certificates for CLIENT2", len(rows), template)
	}
	return rows[0].Serial
}

// checkDisposition checks the lab CA's database: the certificate issued (reason 0) or revoked with reason.
func checkDisposition(t *testing.T, l *testLab, serial string, revoked bool, reason int) resource.TestCheckFunc {
	return func(*terraformState) error {
		r, err := l.EnterpriseCA().Row(serial)
		if err != nil {
			return err
		}
		want := enterpriseca.DispositionIssued
		if revoked {
			want = enterpriseca.DispositionRevoked
		}
		if r.Disposition != want || (revoked && r.RevocationReason != reason) {
			return fmt.Errorf("certificate %s: disposition %d reason %d in the CA database, want %d reason %d",
				serial, r.Disposition, r.RevocationReason, want, reason)
		}
		return nil
	}
}

// tunnelUp asks the lab's model whether CLIENT2's device tunnel is up on RAS2.
func tunnelUp(t *testing.T, l *testLab) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := l.Cluster().ConnectionsOn(ctx, "RAS2")
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(rows, func(r string) bool { return strings.HasPrefix(r, client2Tunnel) })
}

func enforceEverywhere(t *testing.T, l *testLab) {
	four := 4
	for _, s := range []string{"RAS1", "RAS2"} {
		if !l.Cluster().SetRevocationEnforcement(s, cluster.ServerEnforcement{CertAuthFlags: &four, CertValidationLevel: "RequireCrlCheck"}) {
			t.Fatalf("enforcing revocation on %s refused", s)
		}
	}
}

func heldCount(n int) statecheck.StateCheck {
	return statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("held_certificates"), knownvalue.ListSizeExact(n))
}

func noPendingCA() statecheck.StateCheck {
	return statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_certificate_authorities"), knownvalue.ListSizeExact(0))
}

// With revocation enforced on every server, the hold keeps the device tunnel out after the purge (the verify window
// sees nothing come back); the office's Workstation certificate is not touched; destroying the block takes exactly
// the held certificates off hold, and the tunnel comes back.
func TestAccBlockedDevice_certificateHoldEnforced(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, da, office := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess), certSerial(t, l, cluster.TemplateWorkstation)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", ""))),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionCreate)},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				heldCount(2), noPendingCA(),
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_revocation_flush"), knownvalue.ListSizeExact(0)),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6), checkDisposition(t, l, office, false, 0),
				checkAccountEnabled(l, t, "CLIENT2$", false),
				func(*terraformState) error {
					if tunnelUp(t, l) {
						return fmt.Errorf("CLIENT2's device tunnel is up on RAS2 although its certificate is on hold and revocation is enforced")
					}
					return nil
				},
			),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, false, 0), checkDisposition(t, l, da, false, 0),
				checkAccountEnabled(l, t, "CLIENT2$", true),
				func(*terraformState) error {
					poll.Until(t, "CLIENT2's device tunnel comes back after the unblock", func() bool { return tunnelUp(t, l) })
					return nil
				},
			),
		}},
	})
}

// Where revocation is not enforced: require_revocation_enforcement refuses the plan, naming the command; without
// it the hold is placed but the device tunnel comes back, and the apply says the block is incomplete there.
func TestAccBlockedDevice_certificateHoldNotEnforced(t *testing.T) {
	l := startLab(t)
	tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
	ras2 := l.info.ServerAddresses[1]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "require_revocation_enforcement = true"))),
			ExpectError: regexp.MustCompile(`(?s)Revocation is not enforced on every Remote Access server.*CertAuthFlags`),
		}, {
			PreConfig: func() {
				if r, _ := l.EnterpriseCA().Row(tunnel); r.Disposition != enterpriseca.DispositionIssued || !l.accountEnabled(t, "CLIENT2$") {
					t.Fatal("a refused plan changed the CA or the account")
				}
			},
			Config: l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", ""))),
			ConfigStateChecks: []statecheck.StateCheck{
				heldCount(2), noPendingCA(),
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_servers"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(ras2)})),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, true, 6),
				func(*terraformState) error {
					poll.Until(t, "the held device tunnel comes back where revocation is not enforced", func() bool { return tunnelUp(t, l) })
					return nil
				},
			),
			ExpectNonEmptyPlan: true,
		}},
	})
}

// The CA's faults, each on during a create and during a destroy: unreachable (the CA host or its service down) and
// access denied (the account may read the CA database but not change it). The create disables the account, holds
// nothing and records the CA as pending; the next apply, once the CA answers, completes the hold in place. The
// destroy under the fault fails and takes nothing off hold (the block stays in state); the next one releases all.
func TestFaultMatrix_certificateAuthority(t *testing.T) {
	for name, fault := range map[string][2]bool{"unreachable": {true, false}, "access denied": {false, true}} {
		t.Run(name, func(t *testing.T) {
			l := startLab(t)
			enforceEverywhere(t, l)
			tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
			config := l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "")))
			inject := func() { l.Cluster().SetCAFaults(fault[0], fault[1]) }
			heal := func() { l.Cluster().SetCAFaults(false, false) }
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					PreConfig: inject,
					Config:    config,
					ConfigStateChecks: []statecheck.StateCheck{
						heldCount(0),
						statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_certificate_authorities"),
							knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(l.info.CertificateAuthority)})),
					},
					Check: resource.ComposeAggregateTestCheckFunc(
						checkDisposition(t, l, tunnel, false, 0), checkAccountEnabled(l, t, "CLIENT2$", false),
					),
					ExpectNonEmptyPlan: true,
				}, {
					PreConfig: heal,
					Config:    config,
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
					},
					ConfigStateChecks: []statecheck.StateCheck{heldCount(2), noPendingCA()},
					Check: resource.ComposeAggregateTestCheckFunc(
						checkDisposition(t, l, tunnel, true, 6), checkAccountEnabled(l, t, "CLIENT2$", false),
					),
				}, {Config: config, PlanOnly: true}, {
					PreConfig:   inject,
					Config:      l.withCertificateAuthority(l.providerConfig("")),
					ExpectError: regexp.MustCompile(`not all taken off hold`),
				}, {
					PreConfig: func() {
						heal()
						// A step that expects an error runs no checks: what the failed destroy left, checked here.
						if err := checkDisposition(t, l, tunnel, true, 6)(nil); err != nil {
							t.Errorf("after the destroy under the fault: %v", err)
						}
					},
					Config: l.withCertificateAuthority(l.providerConfig("")),
					Check: resource.ComposeAggregateTestCheckFunc(
						checkDisposition(t, l, tunnel, false, 0), checkAccountEnabled(l, t, "CLIENT2$", true),
					),
				}},
			})
		})
	}
}

// The CA goes down in the middle of the apply, after it put the first certificate on hold: the block keeps that
// certificate on hold (nothing is released on a failure path), answers for it in held_certificates and records the
// CA as pending; the next apply, once the CA answers, holds the other certificate and publishes, in place.
func TestAccBlockedDevice_certificateAuthorityDownMidApply(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, da := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess)
	config := l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "")))
	var first string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			PreConfig: func() { l.Cluster().SetCAOutageAfter(1) },
			Config:    config,
			ConfigStateChecks: []statecheck.StateCheck{
				heldCount(1),
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_certificate_authorities"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(l.info.CertificateAuthority)})),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkAccountEnabled(l, t, "CLIENT2$", false),
				resource.TestCheckResourceAttrWith(deviceAddr, "held_certificates.0.serial", func(v string) error {
					if v != tunnel && v != da {
						return fmt.Errorf("held %s, which is neither of CLIENT2's certificates", v)
					}
					first = v
					return nil
				}),
				func(s *terraformState) error {
					if unreachable, _ := l.Cluster().CAFaults(); !unreachable {
						return fmt.Errorf("the CA never went down: the test does not test an outage")
					}
					return checkDisposition(t, l, first, true, 6)(s)
				},
			),
			ExpectNonEmptyPlan: true,
		}, {
			PreConfig: func() { l.Cluster().SetCAFaults(false, false) },
			Config:    config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
			},
			ConfigStateChecks: []statecheck.StateCheck{heldCount(2), noPendingCA()},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6), checkAccountEnabled(l, t, "CLIENT2$", false),
				func(*terraformState) error {
					if tunnelUp(t, l) {
						return fmt.Errorf("CLIENT2's device tunnel is up after the hold was completed")
					}
					return nil
				},
			),
		}, {Config: config, PlanOnly: true}},
	})
}

// Two blocks of one device, and a certificate held by hand before either: the first block destroyed leaves every
// certificate on hold (the other block still holds the device); the last takes off hold what the blocks held, and
// never the certificate that was on hold before them.
func TestAccBlockedDevice_twoCertificateHolds(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, da := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess)
	first := heldDeviceConfig("test", "")
	second := secondHeldDeviceConfig()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			PreConfig: func() {
				r, err := l.EnterpriseCA().Revoke(da, enterpriseca.ReasonCertificateHold)
				if err != nil {
					t.Fatal(err)
				}
				// The blocks' record keeps whole seconds: the hand-made hold is in an earlier second than either block.
				time.Sleep(time.Until(r.RevokedAt.Truncate(time.Second).Add(time.Second)))
			},
			Config:            l.withCertificateAuthority(l.providerConfig(first + second)),
			ConfigStateChecks: []statecheck.StateCheck{heldCount(1)},
			Check:             resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6)),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig(strings.Replace(second, "depends_on     = [remoteaccess_blocked_device.test]", "", 1))),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6),
				checkAccountEnabled(l, t, "CLIENT2$", false),
			),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, false, 0), checkDisposition(t, l, da, true, 6),
				checkAccountEnabled(l, t, "CLIENT2$", true),
			),
		}},
	})
}

// permanent_reason revokes permanently (reason key compromise in the CA's database); destroying the block leaves the
// certificate revoked, and the account enabled again.
func TestAccBlockedDevice_permanentRevocationIsNeverUndone(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", `permanent_reason = "key_compromise"`))),
			ConfigStateChecks: []statecheck.StateCheck{
				heldCount(2),
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("held_certificates").AtSliceIndex(0).AtMapKey("permanent"), knownvalue.Bool(true)),
			},
			Check: checkDisposition(t, l, tunnel, true, 1),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 1), checkAccountEnabled(l, t, "CLIENT2$", true)),
		}},
	})
}

// A permanent revocation whose answer is lost is the block's all the same: the next apply, which finds the
// certificate revoked, does not take it for one revoked before the block, and held_certificates lists it as permanent.
func TestAccBlockedDevice_permanentRevocationWhoseAnswerIsLostIsListed(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, direct := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess)
	config := l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", `permanent_reason = "key_compromise"`)))
	caHost := l.Server("RAS1") // the lab's CA answers through RAS1's WinRM service
	// The revocation whose answer was lost is the one the CA's database shows, the other not sent yet.
	lostOneListed := func(s *terraformState) error {
		var revoked []string
		for _, serial := range []string{tunnel, direct} {
			if r, err := l.EnterpriseCA().Row(serial); err == nil && r.Disposition == enterpriseca.DispositionRevoked && r.RevocationReason == 1 {
				revoked = append(revoked, serial)
			}
		}
		attrs := s.RootModule().Resources[deviceAddr].Primary.Attributes
		if len(revoked) != 1 || attrs["held_certificates.#"] != "1" || attrs["held_certificates.0.serial"] != revoked[0] ||
			attrs["held_certificates.0.permanent"] != "true" {
			return fmt.Errorf("revoked in the CA database: %v; held_certificates %v %v permanent %v; want that one listed as permanent",
				revoked, attrs["held_certificates.#"], attrs["held_certificates.0.serial"], attrs["held_certificates.0.permanent"])
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			PreConfig:          loseOneRevokeReply(caHost),
			Config:             config,
			Check:              lostOneListed,
			ExpectNonEmptyPlan: true,
		}, {
			PreConfig: func() { caHost.Faults().Reset() },
			Config:    config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
			},
			ConfigStateChecks: []statecheck.StateCheck{heldCount(2), noPendingCA(),
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("held_certificates"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"permanent": knownvalue.Bool(true)}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"permanent": knownvalue.Bool(true)}),
				}))},
			Check: resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 1), checkDisposition(t, l, direct, true, 1)),
		}},
	})
}

// certificate_hold added to a block in state: the plan reads the servers' enforcement (require_revocation_enforcement
// refuses it here), and the hold is then placed in place, never by replacing the block.
func TestAccBlockedDevice_certificateHoldAddedInPlace(t *testing.T) {
	l := startLab(t)
	tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
	plain := l.withCertificateAuthority(l.providerConfig(`
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "CLIENT2"
  verify_seconds = 0
}`))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: plain,
		}, {
			Config:      l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "require_revocation_enforcement = true"))),
			ExpectError: regexp.MustCompile(`Revocation is not enforced on every Remote Access server`),
		}, {
			PreConfig: func() { enforceEverywhere(t, l) },
			Config:    l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "require_revocation_enforcement = true"))),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
			},
			ConfigStateChecks: []statecheck.StateCheck{heldCount(2), noPendingCA()},
			Check:             resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 6), checkAccountEnabled(l, t, "CLIENT2$", false)),
		}},
	})
}

// expectDrift checks that the plan's refresh found the resource changed outside Terraform, with want as the refreshed
// value of the attribute.
type expectDrift struct {
	addr, attr string
	want       any
}

var _ plancheck.PlanCheck = expectDrift{}

func (e expectDrift) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceDrift {
		if rc.Address != e.addr || rc.Change == nil {
			continue
		}
		after, _ := rc.Change.After.(map[string]any)
		if got := fmt.Sprint(after[e.attr]); got != fmt.Sprint(e.want) {
			resp.Error = fmt.Errorf("%s drifted, with %s %s after the refresh, want %v", e.addr, e.attr, got, e.want)
		}
		return
	}
	resp.Error = fmt.Errorf("the refresh found no drift of %s", e.addr)
}

// A certificate the block holds taken off hold out of band (certutil -revoke SERIAL unrevoke): the refresh shows
// drift (its CA pending again, with a warning naming the serial), and the next plan is an update in place that holds
// it again and purges the device, never a replacement that would lift the block first.
func TestAccBlockedDevice_certificateUnrevokedOutOfBand(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, da := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess)
	config := l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "")))
	watch := l.watchEnables("CLIENT2$")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:            config,
			ConfigStateChecks: []statecheck.StateCheck{heldCount(2), noPendingCA()},
		}, {
			PreConfig: func() {
				if _, err := l.EnterpriseCA().Revoke(tunnel, enterpriseca.ReasonUnrevoke); err != nil {
					t.Fatal(err)
				}
			},
			Config: config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					expectDrift{deviceAddr, "pending_certificate_authorities", []any{l.info.CertificateAuthority}},
					plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate),
				},
			},
			ConfigStateChecks: []statecheck.StateCheck{heldCount(2), noPendingCA(), noEnableCheck{watch}},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6),
				checkAccountEnabled(l, t, "CLIENT2$", false),
				func(*terraformState) error {
					if tunnelUp(t, l) {
						return fmt.Errorf("CLIENT2's device tunnel is up after its certificate was held again")
					}
					return nil
				},
			),
		}, {Config: config, PlanOnly: true}},
	})
}

// Three blocks of one device: one holds the device tunnel's and DirectAccess's certificates, one DirectAccess's only,
// one holds none (it disables the account). Each hold line records which certificates its block holds, so a release
// takes off hold exactly what no remaining block holds: the first block released frees the device tunnel's
// certificate and keeps DirectAccess's for the second; the second frees it although the plain block still disables
// the account; the account is enabled only with the last.
func TestAccBlockedDevice_releaseTakesOffHoldOnlyWhatNoOtherBlockHolds(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, da := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess)
	first := heldDeviceConfig("test", "")
	second := strings.Replace(strings.Replace(heldDeviceConfig("second", ""), `"AOVPNDeviceTunnel", `, "", 1),
		`verify_seconds = 2`, `verify_seconds = 0
  depends_on     = [remoteaccess_blocked_device.test]`, 1)
	plain := `
resource "remoteaccess_blocked_device" "plain" {
  computer_name  = "CLIENT2"
  verify_seconds = 0
  depends_on     = [remoteaccess_blocked_device.second]
}
`
	independent := func(config string) string {
		return strings.NewReplacer("depends_on     = [remoteaccess_blocked_device.test]", "",
			"depends_on     = [remoteaccess_blocked_device.second]", "").Replace(config)
	}
	// The record lists the device tunnel's certificate in one hold line, DirectAccess's in two, and one line lists none.
	recordLists := func(*terraformState) error {
		e, _ := l.Directory().Lookup("CLIENT2$")
		info := strings.Join(e.Attributes["info"], "")
		if strings.Count(info, tunnel) != 1 || strings.Count(info, da) != 2 || !strings.Contains(info, `certs=""`) {
			return fmt.Errorf("the block record does not list what each block holds:\n%s", info)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.withCertificateAuthority(l.providerConfig(first + second + plain)),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6),
				recordLists,
			),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig(independent(second + plain))),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, false, 0), checkDisposition(t, l, da, true, 6),
				checkAccountEnabled(l, t, "CLIENT2$", false),
			),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig(independent(plain))),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, false, 0), checkDisposition(t, l, da, false, 0),
				checkAccountEnabled(l, t, "CLIENT2$", false),
			),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check:  checkAccountEnabled(l, t, "CLIENT2$", true),
		}},
	})
}

// A hold line's list of serials tidied by hand ("A, B" instead of "A,B") still says which certificates its block
// holds: releasing the other block keeps every one of them on hold, read from the lab CA. Before, the serial after
// the space was misread and taken off hold while the remaining block still held it.
func TestAccBlockedDevice_certsListEditedByHandKeepsItsCertificates(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, da := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess)
	second := secondHeldDeviceConfig()
	tidy := regexp.MustCompile(`certs="[^"]*"`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "") + second)),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6),
				func(*terraformState) error {
					e, _ := l.Directory().Lookup("CLIENT2$")
					info := strings.Join(e.Attributes["info"], "")
					if n := len(tidy.FindAllString(info, -1)); n != 2 || strings.Count(info, tunnel) != 2 || strings.Count(info, da) != 2 {
						return fmt.Errorf("want both hold lines to list both certificates:\n%s", info)
					}
					l.setNotes(t, "CLIENT2$", tidy.ReplaceAllStringFunc(info, func(s string) string { return strings.ReplaceAll(s, ",", ", ") }))
					return nil
				},
			),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig(strings.Replace(second, "depends_on     = [remoteaccess_blocked_device.test]", "", 1))),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6),
				checkAccountEnabled(l, t, "CLIENT2$", false),
			),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, false, 0), checkDisposition(t, l, da, false, 0),
				checkAccountEnabled(l, t, "CLIENT2$", true),
			),
		}},
	})
}

// A destroy whose account release fails (here the directory's reply to the release is lost, and the directory is
// unreachable after it) takes nothing off hold: the certificates stay revoked and the block stays in state. Once
// the directory answers again, the next destroy completes. Before, the certificates came off hold first.
func TestAccBlockedDevice_failedReleaseKeepsTheCertificatesOnHold(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, da := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", ""))),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6)),
		}, {
			PreConfig:   func() { l.Directory().LoseModifyReplies(1, true) },
			Config:      l.withCertificateAuthority(l.providerConfig("")),
			ExpectError: regexp.MustCompile(`CLIENT2`),
		}, {
			PreConfig: func() {
				// What the failed destroy left (a step that expects an error runs no checks): the certificates held.
				held := resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6))
				if err := held(nil); err != nil {
					t.Errorf("after the failed destroy: %v", err)
				}
				l.Directory().SetReachable()
			},
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkDisposition(t, l, tunnel, false, 0), checkDisposition(t, l, da, false, 0),
				checkAccountEnabled(l, t, "CLIENT2$", true),
			),
		}},
	})
}

// A block whose certificate_hold is removed from its configuration still holds the certificates its state lists:
// when it records its hold again (here after an out-of-band re-enable), its line must not say that it holds none,
// or the release of another certificate-holding block takes them off hold under it.
func TestAccBlockedDevice_holdRemovedFromConfigurationStillCountsItsCertificates(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, da := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess)
	second := secondHeldDeviceConfig()
	first := `
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "CLIENT2"
  verify_seconds = 0
}
`
	held := resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, da, true, 6))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "") + second)),
			Check:  held,
		}, {
			// certificate_hold removed from the first block; the account re-enabled by hand, so both record again.
			PreConfig: func() { l.setEnabled(t, "CLIENT2$", true) },
			Config:    l.withCertificateAuthority(l.providerConfig(first + second)),
			Check:     resource.ComposeAggregateTestCheckFunc(held, checkAccountEnabled(l, t, "CLIENT2$", false)),
		}, {
			// The second block goes: the first one's state still lists the certificates, so they stay on hold.
			Config: l.withCertificateAuthority(l.providerConfig(first)),
			Check:  resource.ComposeAggregateTestCheckFunc(held, checkAccountEnabled(l, t, "CLIENT2$", false)),
		}},
	})
}

// A destroy whose certificate release fails (the CA unreachable) says what it left: the account's hold is released
// (the certificates come off hold only after it), so the account is enabled again, while the certificates stay on
// hold with the block in state; the next destroy, once the CA answers, takes them off hold.
func TestAccBlockedDevice_failedCertificateReleaseSaysTheAccountIsReleased(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: append(heldThenReleasedWithTheCADown(t, l, tunnel, `hold\s+of\s+the\s+account\s+is\s+released`), resource.TestStep{
			PreConfig: func() {
				left := resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 6), checkAccountEnabled(l, t, "CLIENT2$", true))
				if err := left(nil); err != nil {
					t.Errorf("after the failed destroy: %v", err)
				}
				l.Cluster().SetCAFaults(false, false)
			},
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, false, 0), checkAccountEnabled(l, t, "CLIENT2$", true)),
		}),
	})
}

// The destroy after one whose certificate release failed does not release the account's hold again: the hold is
// gone from the record, and a second release would enable the account (it was enabled before the block) although
// someone disabled it since. It only takes the certificates off hold.
func TestAccBlockedDevice_destroyAfterAFailedCertificateReleaseLeavesTheAccountAlone(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
	watch := l.watchEnables("CLIENT2$")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: append(heldThenReleasedWithTheCADown(t, l, tunnel, `not all taken off hold`), resource.TestStep{
			PreConfig: func() {
				l.setEnabled(t, "CLIENT2$", false) // an administrator disables the device again
				watch = l.watchEnables("CLIENT2$")
				l.Cluster().SetCAFaults(false, false)
			},
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check: resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, false, 0), checkAccountEnabled(l, t, "CLIENT2$", false),
				func(*terraformState) error {
					if n := watch.enables(); n > 0 {
						return fmt.Errorf("CLIENT2$ was enabled %d times by the second destroy", n)
					}
					return nil
				}),
		}),
	})
}

// heldThenReleasedWithTheCADown are the steps of a device held at the CA whose destroy fails, with the CA
// unreachable, with an error matching want.
func heldThenReleasedWithTheCADown(t *testing.T, l *testLab, tunnel, want string) []resource.TestStep {
	t.Helper()
	return []resource.TestStep{{
		Config: l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", ""))),
		Check:  checkDisposition(t, l, tunnel, true, 6),
	}, {
		PreConfig:   func() { l.Cluster().SetCAFaults(true, false) },
		Config:      l.withCertificateAuthority(l.providerConfig("")),
		ExpectError: regexp.MustCompile(want),
	}}
}

// A block declared again after a destroy whose certificate release failed holds the account again, and its destroy
// then releases it as any other: the account is enabled again.
func TestAccBlockedDevice_blockHeldAgainAfterAFailedDestroyIsReleasedByItsDestroy(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
	config := l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "")))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: config,
		}, {
			PreConfig:   func() { l.Cluster().SetCAFaults(true, false) },
			Config:      l.withCertificateAuthority(l.providerConfig("")),
			ExpectError: regexp.MustCompile(`not all taken off hold`),
		}, {
			PreConfig: func() { l.Cluster().SetCAFaults(false, false) },
			Config:    config,
			Check:     resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 6), checkAccountEnabled(l, t, "CLIENT2$", false)),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, false, 0), checkAccountEnabled(l, t, "CLIENT2$", true)),
		}},
	})
}

// A destroy that released the account's hold and then failed at the CA is retried after another configuration began
// a block of the same device. That block found the certificates on hold with no hold line listing them, so it took
// them for a hold it must not undo and does not list them: the retried destroy leaves them on hold and says why,
// until that block is destroyed; then it takes them off hold. bBegins says when b begins: after a's release, or
// before it with the CA down, so that b holds the certificates only once the CA answers, after a's release too.
func testRetriedReleaseKeepsCertificatesALaterHoldFoundHeld(t *testing.T, bBeginsFirst bool) {
	tf := newTerraformCLI(t)
	other := *tf // a second configuration: its own working directory and state
	other.dir = t.TempDir()
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
	held := func(when string, want bool) {
		t.Helper()
		if err := checkDisposition(t, l, tunnel, want, 6)(nil); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	apply := func(tf *terraformCLI, blocks string) (string, error) {
		tf.writeConfig(t, l.withCertificateAuthority(l.providerConfig(blocks)))
		var out bytes.Buffer
		err := tf.command(&out, "apply", "-auto-approve", "-input=false", "-no-color").Run()
		return out.String(), err
	}
	if out, err := apply(tf, heldDeviceConfig("a", "")); err != nil {
		t.Fatalf("block a: %v\n%s", err, out)
	}
	held("block a", true)
	l.Cluster().SetCAFaults(true, false)
	if bBeginsFirst {
		if out, err := apply(&other, heldDeviceConfig("b", "")); err != nil {
			t.Fatalf("block b in another configuration, with the CA down: %v\n%s", err, out)
		}
		// b began long before a's release, not within the skew of clocks that a time a little earlier could be.
		e, _ := l.Directory().Lookup("CLIENT2$")
		l.setNotes(t, "CLIENT2$", regexp.MustCompile(`since=\S+`).ReplaceAllString(strings.Join(e.Attributes["info"], ""), "since=2026-01-01T00:00:00Z"))
	}
	if out, err := apply(tf, ""); err == nil || !strings.Contains(out, "not all taken off hold") {
		t.Fatalf("destroy of a with the CA down: %v\n%s", err, out)
	}
	l.Cluster().SetCAFaults(false, false)
	if out, err := apply(&other, heldDeviceConfig("b", "")); err != nil {
		t.Fatalf("block b in another configuration, the CA up: %v\n%s", err, out)
	}
	if out, err := apply(tf, ""); err == nil || !strings.Contains(out, "other blocks of the device may rely on them") {
		t.Fatalf("destroy of a again, with b in place: %v\n%s", err, out)
	}
	held("destroy of a again, with b in place", true)
	if out, err := apply(&other, ""); err != nil {
		t.Fatalf("destroy of b: %v\n%s", err, out)
	}
	held("destroy of b, which did not list the certificate", true)
	if out, err := apply(tf, ""); err != nil {
		t.Fatalf("destroy of a once b is gone: %v\n%s", err, out)
	}
	held("destroy of a once b is gone", false)
	if err := checkAccountEnabled(l, t, "CLIENT2$", true)(nil); err != nil {
		t.Error(err)
	}
}

func TestAccBlockedDevice_retriedReleaseKeepsCertificatesALaterBlockFoundHeld(t *testing.T) {
	testRetriedReleaseKeepsCertificatesALaterHoldFoundHeld(t, false)
}

// A block begun before the release whose CA was down holds the certificates only once the CA answers, after the
// release: it does not list them either, and its start (its hold line's since) is older than the release.
func TestAccBlockedDevice_retriedReleaseKeepsCertificatesABlockCompletedSinceFoundHeld(t *testing.T) {
	testRetriedReleaseKeepsCertificatesALaterHoldFoundHeld(t, true)
}

// A hold whose answer is lost (the CA put the certificate on hold, the reply never came) leaves that CA pending, and
// the block answers for the certificate all the same: the next apply completes the hold, and the destroy takes every
// certificate off hold, that one too, rather than leave it held by no one.
func TestAccBlockedDevice_holdWhoseAnswerIsLostIsReleasedByTheDestroy(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, direct := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess)
	config := l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "")))
	caHost := l.Server("RAS1") // the lab's CA answers through RAS1's WinRM service
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			PreConfig:          loseOneRevokeReply(caHost),
			Config:             config,
			Check:              resource.TestCheckResourceAttr(deviceAddr, "pending_certificate_authorities.#", "1"),
			ExpectNonEmptyPlan: true,
		}, {
			PreConfig: func() { caHost.Faults().Reset() },
			Config:    config,
			Check: resource.ComposeAggregateTestCheckFunc(resource.TestCheckResourceAttr(deviceAddr, "pending_certificate_authorities.#", "0"),
				checkDisposition(t, l, tunnel, true, 6), checkDisposition(t, l, direct, true, 6)),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, false, 0), checkDisposition(t, l, direct, false, 0)),
		}},
	})
}

// A destroy whose own release's answer is lost, and which then finds the hold's line gone on its next read, goes on
// as a destroy that released: the certificates another block lists stay on hold for it, and the destroy completes
// (it is not taken for a destroy run again after an earlier one, which keeps every certificate while any other
// block is recorded).
func TestAccBlockedDevice_releaseWhoseAnswerIsLostInTheDestroyCompletesIt(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
	second := secondHeldDeviceConfig()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "") + second)),
			Check:  checkDisposition(t, l, tunnel, true, 6),
		}, {
			PreConfig: func() { l.Directory().LoseModifyReplies(1, false) },
			Config:    l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("second", ""))),
			Check:     resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 6), checkAccountEnabled(l, t, "CLIENT2$", false)),
		}, {
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, false, 0), checkAccountEnabled(l, t, "CLIENT2$", true)),
		}},
	})
}

// A block declared again after a destroy whose certificate release failed, whose hold's answer is lost although the
// hold landed, is completed by the next apply, which finds its line in the record and writes nothing: its destroy
// then releases the account as any other (the marker of the earlier release is cleared by the line found, not only
// by a hold written).
func TestAccBlockedDevice_blockHeldAgainWhoseAnswerWasLostIsReleasedByItsDestroy(t *testing.T) {
	l := startLab(t)
	t.Cleanup(func() { directoryHook = func(d block.Directory) block.Directory { return d } })
	enforceEverywhere(t, l)
	tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
	config := l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "")))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: append(heldThenReleasedWithTheCADown(t, l, tunnel, `not all taken off hold`), resource.TestStep{
			PreConfig: func() {
				l.Cluster().SetCAFaults(false, false)
				directoryHook = func(d block.Directory) block.Directory { return replyLost{d} } // the hold lands, its answer not
			},
			Config:             config,
			ExpectNonEmptyPlan: true,
		}, resource.TestStep{
			PreConfig: func() { directoryHook = func(d block.Directory) block.Directory { return d } },
			Config:    config,
			Check:     resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, true, 6), checkAccountEnabled(l, t, "CLIENT2$", false)),
		}, resource.TestStep{
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check:  resource.ComposeAggregateTestCheckFunc(checkDisposition(t, l, tunnel, false, 0), checkAccountEnabled(l, t, "CLIENT2$", true)),
		}),
	})
}
