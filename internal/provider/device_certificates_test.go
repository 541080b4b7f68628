package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/enterpriseca"
)

// withCertificateAuthority adds the lab's CA to the provider block, reached on the first lab server (the CA's own
// name does not resolve: the lab answers the CA scripts on every server).
func (l *testLab) withCertificateAuthority(config string) string {
	return strings.Replace(config, `provider "remoteaccess" {`, fmt.Sprintf(`provider "remoteaccess" {
  certificate_authorities = [{ config = %q, host = %q }]`, l.info.CertificateAuthority, l.info.ServerAddresses[0]), 1)
}

// remoteaccess_device lists the device's certificates of the templates named, with their revocation state as the
// CA's database has it; certificates of other templates (the office's 802.1X) are not listed.
func TestAccDevice_certificates(t *testing.T) {
	l := startLab(t)
	a := l.EnterpriseCA()
	serial := func(template string) string {
		rows := a.Rows(`CORP\CLIENT2$`, []string{template})
		if len(rows) != 1 {
			t.Fatalf("the lab CA has %d %s certificates for CLIENT2", len(rows), template)
		}
		return rows[0].Serial
	}
	tunnel, da := serial(cluster.TemplateDeviceTunnel), serial(cluster.TemplateDirectAccess)
	if _, err := a.Revoke(tunnel, enterpriseca.ReasonCertificateHold); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Revoke(serial(cluster.TemplateWorkstation), enterpriseca.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	const d = "data.remoteaccess_device.client2"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.withCertificateAuthority(l.providerConfig(`
data "remoteaccess_device" "client2" {
  computer_name         = "CLIENT2"
  certificate_templates = ["AOVPNDeviceTunnel", "DirectAccess"]
}`)),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(d, "certificates.#", "2"),
				resource.TestCheckTypeSetElemNestedAttrs(d, "certificates.*", map[string]string{
					"serial": tunnel, "template": "AOVPNDeviceTunnel", "state": "held", "revocation_reason": "6",
					"certificate_authority": l.info.CertificateAuthority,
				}),
				resource.TestCheckTypeSetElemNestedAttrs(d, "certificates.*", map[string]string{
					"serial": da, "template": "DirectAccess", "state": "issued",
				}),
			),
		}, {
			Config: l.providerConfig(`
data "remoteaccess_device" "client2" {
  computer_name         = "CLIENT2"
  certificate_templates = ["DirectAccess"]
}`),
			ExpectError: regexp.MustCompile(`No certificate authority is configured`),
		}},
	})
}
