package provider

import (
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// What the hold cannot reach: a published certificate no CA lists, of a configured template, or of one that cannot be
// told (an OID, none) from an unknown CA. A listed one, and one of another named template or of a known CA's OID
// template, are not.
func TestUnholdable(t *testing.T) {
	templates, authorities := []string{"AOVPNDeviceTunnel"}, []string{`ca1.corp.example\Corp Issuing CA`}
	// The CA database writes bytes (a leading zero), the directory the certificate's integer (none).
	listed := []ca.Certificate{{Serial: "0a"}, {Serial: "0B2c"}}
	for _, c := range []struct {
		p    directory.PublishedCertificate
		want bool
	}{
		{directory.PublishedCertificate{Serial: "0A", Template: "AOVPNDeviceTunnel", Issuer: "Corp Issuing CA"}, false},
		{directory.PublishedCertificate{Serial: "B2C", Template: "AOVPNDeviceTunnel", Issuer: "Corp Issuing CA"}, false},
		{directory.PublishedCertificate{Serial: "0B", Template: "aovpndevicetunnel", Issuer: "Corp Issuing CA"}, true},
		{directory.PublishedCertificate{Serial: "0C", Template: "AOVPNDeviceTunnel", Issuer: "Partner CA"}, true},
		{directory.PublishedCertificate{Serial: "0D", Template: "Workstation", Issuer: "Partner CA"}, false},
		{directory.PublishedCertificate{Serial: "0E", Template: "1.3.6.1.4.1.311.21.8.1.2", Issuer: "Partner CA"}, true},
		{directory.PublishedCertificate{Serial: "0F", Template: "1.3.6.1.4.1.311.21.8.1.2", Issuer: "corp issuing ca"}, false},
		{directory.PublishedCertificate{Serial: "10", Issuer: "Partner CA"}, true},
	} {
		if got := len(unholdable([]directory.PublishedCertificate{c.p}, listed, templates, authorities)) == 1; got != c.want {
			t.Errorf("%+v: unholdable %v, want %v", c.p, got, c.want)
		}
	}
}
