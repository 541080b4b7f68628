package directory_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/enterpriseca"
)

// The lab's CA publishes the device certificates to the computer's userCertificate; the client reads each with its
// serial, issuer and template, matching the CA's database.
func TestPublishedCertificatesOnTheLab(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "CLIENT2")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.PublishedCertificates(ctx(t), acct)
	if err != nil {
		t.Fatal(err)
	}
	want := l.EnterpriseCA().Rows(`CORP\CLIENT2$`, nil)
	if len(got) != len(want) || len(want) != 3 {
		t.Fatalf("userCertificate holds %+v; the CA issued %d", got, len(want))
	}
	for _, row := range want {
		if !slices.ContainsFunc(got, func(p directory.PublishedCertificate) bool {
			return p.Serial == row.Serial && p.Template == row.Template && p.Issuer == l.EnterpriseCA().Name() && p.NotAfter.Equal(row.NotAfter)
		}) {
			t.Errorf("the CA's %s certificate %s is not read back from userCertificate: %+v", row.Template, row.Serial, got)
		}
	}
}

// On Samba, a certificate an administrator adds to userCertificate (with a value that is no certificate beside it)
// is read back.
func (e *env) testPublishedCertificates(t *testing.T) {
	a, err := enterpriseca.New(enterpriseca.Options{Config: `ca1.samba.test\Test CA`, CDPURL: "http://ca1.samba.test/CertEnroll/Test%20CA.crl"})
	if err != nil {
		t.Fatal(err)
	}
	row, err := a.Issue(`SAMBA\CLIENT10$`, "client10.samba.test", "AOVPNDeviceTunnel", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	acct, err := c.FindComputer(ctx(t), "client10")
	if err != nil {
		t.Fatal(err)
	}
	mod := ldap.NewModifyRequest(acct.DN, nil)
	mod.Replace("userCertificate", []string{string(row.Certificate.Raw), "not a certificate"})
	if err := e.dc.AdminConn().Modify(mod); err != nil {
		t.Fatal(err)
	}
	got, err := c.PublishedCertificates(ctx(t), acct)
	if err != nil || len(got) != 1 || got[0].Serial != row.Serial || got[0].Template != "AOVPNDeviceTunnel" ||
		!strings.EqualFold(got[0].Issuer, "Test CA") {
		t.Fatalf("PublishedCertificates = %+v, %v; want the one certificate %s", got, err, row.Serial)
	}
}
