package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
)

// A hold the CA accepted but whose read-back failed (the CA's RPC endpoint gone between the two calls) is a hold
// whose outcome is unknown, not a CA that was not reached: the block answers for the certificate in
// held_certificates and keeps the CA pending, since its other certificate is not held yet; the next apply completes
// the hold in place, and the destroy takes both certificates off hold. Before, the certificate stayed on hold with
// no block listing it, and no destroy ever took it off.
func TestAccBlockedDevice_holdWhoseReadBackFailsIsReleasedByTheDestroy(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel, da := certSerial(t, l, cluster.TemplateDeviceTunnel), certSerial(t, l, cluster.TemplateDirectAccess)
	config := l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", "")))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			PreConfig:          func() { l.Cluster().FailCAReadBacks(1) },
			Config:             config,
			ExpectNonEmptyPlan: true,
			Check: resource.ComposeAggregateTestCheckFunc(
				func(*terraformState) error {
					if n := l.Cluster().CAReadBackFailures(); n != 0 {
						return fmt.Errorf("the lab CA still has %d read-back failures to serve: the test does not test one", n)
					}
					return nil
				},
				// The one certificate listed is one the CA holds.
				resource.TestCheckResourceAttrWith(deviceAddr, "held_certificates.0.serial", func(v string) error {
					if v != tunnel && v != da {
						return fmt.Errorf("held %s, which is neither of CLIENT2's certificates", v)
					}
					return checkDisposition(t, l, v, true, 6)(nil)
				}),
				// The CA stays pending: the other certificate is not held yet, and the CRL not published.
				resource.TestCheckResourceAttr(deviceAddr, "pending_certificate_authorities.#", "1"),
				resource.TestCheckResourceAttr(deviceAddr, "pending_certificate_authorities.0", l.info.CertificateAuthority),
				checkAccountEnabled(l, t, "CLIENT2$", false),
			),
			ConfigStateChecks: []statecheck.StateCheck{heldCount(1)},
		}, {
			Config:            config,
			ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)}},
			ConfigStateChecks: []statecheck.StateCheck{heldCount(2), noPendingCA()},
			Check:             certificatesOnHold(t, l, true, tunnel, da),
		}, {Config: config, PlanOnly: true}, {
			// The destroy, checked here: a test whose final state is empty runs no CheckDestroy.
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check:  resource.ComposeAggregateTestCheckFunc(certificatesOnHold(t, l, false, tunnel, da), checkAccountEnabled(l, t, "CLIENT2$", true)),
		}},
	})
}

// certificatesOnHold checks the lab CA's database: every certificate on hold, or every one issued.
func certificatesOnHold(t *testing.T, l *testLab, held bool, serials ...string) resource.TestCheckFunc {
	checks := make([]resource.TestCheckFunc, len(serials))
	for i, s := range serials {
		checks[i] = checkDisposition(t, l, s, held, 6)
	}
	return resource.ComposeAggregateTestCheckFunc(checks...)
}
