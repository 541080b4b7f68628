package lab_test

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

// EnforceRevocation (the lab command's -enforce-revocation, which make demo uses) makes every server enforce
// revocation for IKEv2 and IPsec, as the provider reads it over WinRM; without it none does (the Windows default).
func TestEnforceRevocationEverywhere(t *testing.T) {
	for _, enforce := range []bool{true, false} {
		t.Run(map[bool]string{true: "enforced", false: "default"}[enforce], func(t *testing.T) {
			l, err := lab.Start(lab.Config{EnforceRevocation: enforce})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close() }) // after the clients' own cleanups, registered later
			for name, c := range labclient.Clients(t, l.Info()) {
				e, err := ca.ReadEnforcement(context.Background(), c)
				if err != nil || e.IKEv2Enforced != enforce || e.IPsecEnforced() != enforce {
					t.Errorf("%s reads %+v, %v", name, e, err)
				}
			}
		})
	}
}

// The lab's CA issues each seeded device its certificates, names its distribution point in them, and serves a CRL
// there that the CA's key signed.
func TestEnterpriseCAIssuesDeviceCertificatesAndServesItsCRL(t *testing.T) {
	l := startLab(t, lab.Config{})
	info := l.Info()
	if info.CertificateAuthority != `ca1.corp.example\Corp Issuing CA` {
		t.Fatalf("CA config %q", info.CertificateAuthority)
	}
	a := l.EnterpriseCA()
	for requester, templates := range map[string][]string{
		`CORP\CLIENT1$`: {cluster.TemplateDirectAccess, cluster.TemplateWorkstation},
		`CORP\CLIENT2$`: {cluster.TemplateDirectAccess, cluster.TemplateDeviceTunnel, cluster.TemplateWorkstation},
	} {
		for _, template := range templates {
			rows := a.Rows(requester, []string{template})
			if len(rows) != 1 || rows[0].Certificate.CheckSignatureFrom(a.Certificate()) != nil ||
				len(rows[0].Certificate.CRLDistributionPoints) != 1 || rows[0].Certificate.CRLDistributionPoints[0] != info.CRLURL {
				t.Fatalf("%s %s: %+v", requester, template, rows)
			}
		}
	}
	resp, err := http.Get(info.CRLURL) //nolint:gosec,noctx // the lab's own distribution point
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	der, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", info.CRLURL, resp.Status, err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil || crl.CheckSignatureFrom(a.Certificate()) != nil {
		t.Fatalf("the served CRL: %v", err)
	}
}

// POST /faults switches the CA's faults, lab-wide, and a reset turns them off.
func TestStatusEndpointSetsCAFaults(t *testing.T) {
	l := startLab(t, lab.Config{})
	info := l.Info()
	hc := statusClient(t, info)
	user, password := info.WinRMUsername, info.WinRMPassword
	if code := call(t, hc, info, http.MethodPost, "/faults?server=RAS1", `{"ca_unreachable": true, "ca_access_denied": true}`, user, password, nil); code != http.StatusOK {
		t.Fatalf("POST /faults: %d", code)
	}
	if unreachable, denied := l.Cluster().CAFaults(); !unreachable || !denied {
		t.Fatalf("CA faults after the POST: unreachable %v, denied %v", unreachable, denied)
	}
	if code := call(t, hc, info, http.MethodPost, "/faults", `{"reset": true}`, user, password, nil); code != http.StatusOK {
		t.Fatalf("POST /faults reset: %d", code)
	}
	if unreachable, denied := l.Cluster().CAFaults(); unreachable || denied {
		t.Fatal("a reset left a CA fault on")
	}
	if code := call(t, hc, info, http.MethodPost, "/faults", `{"ca_unreachable": "yes"}`, user, password, nil); code != http.StatusBadRequest {
		t.Fatalf("a bad value: %d", code)
	}
}
