package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

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

// A certificate of the device tunnel's template that a CA the provider does not know issued, published on the
// computer (userCertificate): remoteaccess_device lists it among unholdable_certificates, and the plan of a hold
// warns of it (the block goes ahead: it cannot hold it). The foreign CA's Workstation certificate (the office's) and
// the known CA's own published certificates are not listed.
func TestAccDevice_unholdableCertificates(t *testing.T) {
	l := startLab(t)
	foreign, err := enterpriseca.New(enterpriseca.Options{Config: `ca9.partner.example\Partner CA`, CDPURL: "http://ca9.partner.example/Partner%20CA.crl"})
	if err != nil {
		t.Fatal(err)
	}
	var tunnel string
	for _, template := range []string{cluster.TemplateDeviceTunnel, cluster.TemplateWorkstation} {
		row, err := foreign.Issue(`CORP\CLIENT2$`, "client2.corp.example", template, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Directory().PublishCertificate("CLIENT2$", row.Certificate.Raw); err != nil {
			t.Fatal(err)
		}
		if template == cluster.TemplateDeviceTunnel {
			tunnel = row.Serial
		}
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
				resource.TestCheckResourceAttr(d, "unholdable_certificates.#", "1"),
				resource.TestCheckResourceAttr(d, "unholdable_certificates.0.serial", tunnel),
				resource.TestCheckResourceAttr(d, "unholdable_certificates.0.issuer", "Partner CA"),
				resource.TestCheckResourceAttr(d, "unholdable_certificates.0.template", "AOVPNDeviceTunnel"),
			),
		}},
	})
	r := newCLIRun(t, l.withCertificateAuthority(l.providerConfig(heldDeviceConfig("test", ""))))
	// The CLI wraps the warning's lines: compare with the whitespace folded.
	out := strings.Join(strings.Fields(string(r.run("plan", "-input=false", "-no-color"))), " ")
	for _, want := range []string{"Warning: Certificates of CLIENT2 that no configured CA can hold", "serial " + tunnel, `issued by "Partner CA"`, "1 to add"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q:\n%s", want, out)
		}
	}
}
