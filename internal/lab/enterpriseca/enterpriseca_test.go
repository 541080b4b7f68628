package enterpriseca

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testConfig = `ca1.corp.example\Corp Issuing CA`

func newTestCA(t *testing.T, delta time.Duration) (*Authority, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a, err := New(Options{Config: testConfig, CDPURL: srv.URL + "/CertEnroll/Corp.crl", DeltaURL: srv.URL + "/CertEnroll/Corp+.crl",
		DeltaPeriod: delta})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", a.Handler())
	return a, srv
}

// fetchCRL downloads a CRL from the distribution point a certificate names and checks its signature.
func fetchCRL(t *testing.T, a *Authority, url string) *x509.RevocationList {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec,noctx // the test's own server
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	der, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("the CRL does not parse: %v", err)
	}
	if err := crl.CheckSignatureFrom(a.Certificate()); err != nil {
		t.Fatalf("the CRL is not signed by the CA: %v", err)
	}
	return crl
}

func listed(crl *x509.RevocationList, serial string) (int, bool) {
	for _, e := range crl.RevokedCertificateEntries {
		if SerialText(e.SerialNumber) == serial {
			return e.ReasonCode, true
		}
	}
	return 0, false
}

// A hold reaches the CRL only when the CA publishes; unrevoking takes it off the next CRL; CRL numbers grow.
func TestHoldReachesTheCRLOnlyWhenPublished(t *testing.T) {
	a, _ := newTestCA(t, 0)
	row, err := a.Issue(`CORP\CLIENT1$`, "client1.corp.example", "AOVPNDeviceTunnel", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := row.Certificate.CheckSignatureFrom(a.Certificate()); err != nil {
		t.Fatal(err)
	}
	cdp := row.Certificate.CRLDistributionPoints
	if len(cdp) != 1 {
		t.Fatalf("the certificate names CDPs %q", cdp)
	}
	first := fetchCRL(t, a, cdp[0])
	if _, err := a.Revoke(row.Serial, ReasonCertificateHold); err != nil {
		t.Fatal(err)
	}
	if _, ok := listed(fetchCRL(t, a, cdp[0]), row.Serial); ok {
		t.Fatal("the hold is on the CRL before the CA published one")
	}
	if err := a.PublishCRL(); err != nil {
		t.Fatal(err)
	}
	held := fetchCRL(t, a, cdp[0])
	if reason, ok := listed(held, row.Serial); !ok || reason != ReasonCertificateHold {
		t.Fatalf("after publishing, the CRL lists the serial: %v with reason %d, want reason 6", ok, reason)
	}
	if held.Number.Cmp(first.Number) <= 0 || !held.NextUpdate.After(held.ThisUpdate) {
		t.Fatalf("CRL number %v after %v, thisUpdate %v, nextUpdate %v", held.Number, first.Number, held.ThisUpdate, held.NextUpdate)
	}
	if _, err := a.Revoke(row.Serial, ReasonUnrevoke); err != nil {
		t.Fatal(err)
	}
	if err := a.PublishCRL(); err != nil {
		t.Fatal(err)
	}
	if _, ok := listed(fetchCRL(t, a, cdp[0]), row.Serial); ok {
		t.Fatal("the unrevoked certificate is still on the new CRL")
	}
}

// Only a hold can be undone; a permanent revocation stays, even when asked to hold it again.
func TestPermanentRevocationIsNeverUndone(t *testing.T) {
	a, _ := newTestCA(t, 0)
	row, err := a.Issue(`CORP\CLIENT2$`, "client2.corp.example", "DirectAccess", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Revoke(row.Serial, ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Revoke(row.Serial, ReasonUnrevoke); !errors.Is(err, ErrNotOnHold) {
		t.Fatalf("unrevoking a key compromise: %v, want ErrNotOnHold", err)
	}
	if got, _ := a.Revoke(row.Serial, ReasonCertificateHold); got.RevocationReason != ReasonKeyCompromise {
		t.Fatalf("a hold turned a key compromise into reason %d", got.RevocationReason)
	}
	if got, _ := a.Row(strings.ToLower(row.Serial)); got.Disposition != DispositionRevoked {
		t.Fatalf("disposition %d, want revoked", got.Disposition)
	}
	if _, err := a.Revoke("00", ReasonCertificateHold); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown serial: %v", err)
	}
	if _, err := a.Revoke(row.Serial, 2); !errors.Is(err, ErrBadReason) {
		t.Fatalf("reason 2: %v", err)
	}
}

// A hold of a held certificate keeps the first hold's time, which tells whose hold it is (the blocks compare it with
// their hold lines' times), as the provider's script leaves such a row alone.
func TestAHoldAgainKeepsTheHoldsTime(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	a, err := New(Options{Config: testConfig, CDPURL: "http://ca.invalid/Corp.crl", Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	row, err := a.Issue(`CORP\CLIENT2$`, "client2.corp.example", "DirectAccess", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	first, err := a.Revoke(row.Serial, ReasonCertificateHold)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	again, err := a.Revoke(row.Serial, ReasonCertificateHold)
	if err != nil || !again.RevokedAt.Equal(first.RevokedAt) {
		t.Fatalf("held again: %v at %v; want the first hold's time %v kept", err, again.RevokedAt, first.RevokedAt)
	}
}

// A delta CRL lists a hold placed after the base, names its base, and carries removeFromCRL for a released hold.
func TestDeltaCRL(t *testing.T) {
	a, srv := newTestCA(t, time.Hour)
	held, _ := a.Issue(`CORP\CLIENT1$`, "client1.corp.example", "DirectAccess", time.Hour)
	released, _ := a.Issue(`CORP\CLIENT2$`, "client2.corp.example", "DirectAccess", time.Hour)
	if _, err := a.Revoke(released.Serial, ReasonCertificateHold); err != nil {
		t.Fatal(err)
	}
	if err := a.PublishCRL(); err != nil {
		t.Fatal(err)
	}
	_, _ = a.Revoke(held.Serial, ReasonCertificateHold)
	_, _ = a.Revoke(released.Serial, ReasonUnrevoke)
	if err := a.PublishDelta(); err != nil {
		t.Fatal(err)
	}
	delta := fetchCRL(t, a, srv.URL+"/CertEnroll/Corp+.crl")
	if reason, ok := listed(delta, held.Serial); !ok || reason != ReasonCertificateHold {
		t.Fatalf("the delta lists the new hold: %v, reason %d", ok, reason)
	}
	if reason, ok := listed(delta, released.Serial); !ok || reason != 8 {
		t.Fatalf("the delta lists the released hold with removeFromCRL: %v, reason %d", ok, reason)
	}
	var indicator bool
	for _, e := range delta.Extensions {
		indicator = indicator || e.Id.Equal(oidDeltaCRLIndicator) && e.Critical
	}
	if !indicator {
		t.Fatal("the delta CRL has no critical delta CRL indicator")
	}
}

// Debian's openssl reads the lab's CRLs: number, dates, the revoked serial and its reason.
func TestCRLParsesWithOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl is required in CI (apt-get install -y openssl)")
		}
		t.Skip("openssl is not installed")
	}
	a, _ := newTestCA(t, 0)
	row, _ := a.Issue(`CORP\CLIENT1$`, "client1.corp.example", "AOVPNDeviceTunnel", time.Hour)
	if _, err := a.Revoke(row.Serial, ReasonCertificateHold); err != nil {
		t.Fatal(err)
	}
	if err := a.PublishCRL(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.crl")
	if err := os.WriteFile(path, a.CRL(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "crl", "-inform", "DER", "-noout", "-text", "-in", path).CombinedOutput() //nolint:gosec // fixed arguments
	if err != nil {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}
	for _, want := range []string{"CRL Number", "Last Update", "Next Update", "Certificate Hold", row.Serial} {
		if !bytes.Contains(bytes.ToUpper(out), []byte(strings.ToUpper(want))) {
			t.Errorf("openssl's text lacks %q:\n%s", want, out)
		}
	}
}
