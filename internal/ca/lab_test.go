package ca_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/enterpriseca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

const device = `CORP\CLIENT2$` // the default seed's Always On VPN device tunnel, and a DirectAccess client

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startLab(t *testing.T, cfg lab.Config) (*lab.Lab, map[string]*winrm.Client) {
	t.Helper()
	l, err := lab.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, labclient.Clients(t, l.Info())
}

func newCA(t *testing.T, l *lab.Lab, r ca.Runner) *ca.CA {
	t.Helper()
	c, err := ca.New(l.Info().CertificateAuthority, r)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// row reads the CA's database directly, not through the API under test.
func row(t *testing.T, l *lab.Lab, serial string) enterpriseca.Row {
	t.Helper()
	r, err := l.EnterpriseCA().Row(serial)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// only lists a device's certificates of one template and expects exactly one.
func only(t *testing.T, c *ca.CA, requester, template string) ca.Certificate {
	t.Helper()
	certs, err := c.Certificates(ctx(t), requester, []string{template})
	if err != nil || len(certs) != 1 {
		t.Fatalf("Certificates = %+v, %v; want one", certs, err)
	}
	return certs[0]
}

// Listing is restricted to the requester and the templates named; a hold is reversible, a permanent revocation is
// never undone, and the CA's database says so.
func TestHoldUnrevokeAndPermanentRevocation(t *testing.T) {
	l, clients := startLab(t, lab.Config{})
	c := newCA(t, l, clients["RAS1"])

	tunnel := only(t, c, device, cluster.TemplateDeviceTunnel)
	if tunnel.Template != cluster.TemplateDeviceTunnel || tunnel.Disposition != ca.DispositionIssued || tunnel.CA != l.Info().CertificateAuthority {
		t.Fatalf("device tunnel certificate %+v", tunnel)
	}
	if want := l.EnterpriseCA().Rows(device, []string{cluster.TemplateDeviceTunnel}); len(want) != 1 || want[0].Serial != tunnel.Serial {
		t.Fatalf("the API lists %s; the CA's database has %+v", tunnel.Serial, want)
	}
	if notAfter, err := tunnel.Expiry(); err != nil || notAfter.Before(time.Now()) {
		t.Fatalf("NotAfter %q: %v", tunnel.NotAfter, err)
	}

	got, err := c.Hold(ctx(t), tunnel.Serial)
	if r := row(t, l, tunnel.Serial); err != nil || !got.Changed || !got.Certificate.Held() ||
		r.Disposition != enterpriseca.DispositionRevoked || r.RevocationReason != enterpriseca.ReasonCertificateHold {
		t.Fatalf("Hold = %+v, %v; the database has %+v", got, err, r)
	}
	if again, err := c.Hold(ctx(t), tunnel.Serial); err != nil || again.Changed {
		t.Fatalf("a second Hold = %+v, %v; want no change", again, err)
	}
	if got, err := c.Unrevoke(ctx(t), tunnel.Serial); err != nil || !got.Changed || row(t, l, tunnel.Serial).Disposition != enterpriseca.DispositionIssued {
		t.Fatalf("Unrevoke = %+v, %v", got, err)
	}

	office := only(t, c, device, cluster.TemplateWorkstation)
	if _, err := c.Revoke(ctx(t), office.Serial, ca.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unrevoke(ctx(t), office.Serial); !errors.Is(err, ca.ErrPermanentRevocation) {
		t.Fatalf("Unrevoke of a key compromise = %v; want ErrPermanentRevocation", err)
	}
	if held, err := c.Hold(ctx(t), office.Serial); err != nil || held.Changed || !held.Certificate.RevokedPermanently() {
		t.Fatalf("Hold of a key compromise = %+v, %v; want no change and revoked permanently", held, err)
	}
	if r := row(t, l, office.Serial); r.RevocationReason != enterpriseca.ReasonKeyCompromise {
		t.Fatalf("the key compromise became reason %d", r.RevocationReason)
	}
	if _, err := c.Revoke(ctx(t), office.Serial, ca.ReasonCertificateHold); !errors.Is(err, ca.ErrInvalidArgument) {
		t.Fatalf("Revoke with the hold reason = %v; want ErrInvalidArgument", err)
	}
	if _, err := c.Hold(ctx(t), "0BADC0DE"); !errors.Is(err, ca.ErrNotFound) {
		t.Fatalf("Hold of an unknown serial = %v; want ErrNotFound", err)
	}
}

// PublishCRL puts the CA's revocations on a new CRL, with a higher CRL number.
func TestPublishCRL(t *testing.T) {
	l, clients := startLab(t, lab.Config{})
	c := newCA(t, l, clients["RAS2"])
	before, err := x509.ParseRevocationList(l.EnterpriseCA().CRL())
	if err != nil {
		t.Fatal(err)
	}
	cert := only(t, c, device, cluster.TemplateDirectAccess)
	if _, err := c.Hold(ctx(t), cert.Serial); err != nil {
		t.Fatal(err)
	}
	if pub, err := c.PublishCRL(ctx(t)); err != nil || !pub.Base || pub.Delta {
		t.Fatalf("PublishCRL = %+v, %v; want a base CRL only (the lab CA publishes no deltas by default)", pub, err)
	}
	after, err := x509.ParseRevocationList(l.EnterpriseCA().CRL())
	if err != nil {
		t.Fatal(err)
	}
	if after.Number.Cmp(before.Number) <= 0 || len(after.RevokedCertificateEntries) != 1 ||
		enterpriseca.SerialText(after.RevokedCertificateEntries[0].SerialNumber) != cert.Serial {
		t.Fatalf("CRL %v after %v lists %d entries", after.Number, before.Number, len(after.RevokedCertificateEntries))
	}
}

// Where the CA publishes delta CRLs, PublishCRL publishes one too.
func TestPublishCRLWithDeltas(t *testing.T) {
	l, clients := startLab(t, lab.Config{CRLDeltaPeriod: time.Hour})
	c := newCA(t, l, clients["RAS1"])
	before := l.EnterpriseCA().DeltaCRL()
	if pub, err := c.PublishCRL(ctx(t)); err != nil || !pub.Base || !pub.Delta {
		t.Fatalf("PublishCRL = %+v, %v; want base and delta", pub, err)
	}
	after, err := x509.ParseRevocationList(l.EnterpriseCA().DeltaCRL())
	if err != nil || before == nil {
		t.Fatalf("the delta CRL: %v (published before: %v)", err, before != nil)
	}
	if old, _ := x509.ParseRevocationList(before); old == nil || after.Number.Cmp(old.Number) <= 0 {
		t.Fatalf("the delta CRL's number did not grow: %v", after.Number)
	}
}

// The CA's faults come back typed: unreachable for everything, access denied for the changes only (the account
// can still read the database), and a config the lab does not know is unreachable too.
func TestCAFaultsAreTyped(t *testing.T) {
	l, clients := startLab(t, lab.Config{})
	c := newCA(t, l, clients["RAS1"])
	cert := only(t, c, device, cluster.TemplateDeviceTunnel)

	l.Cluster().SetCAFaults(false, true)
	if _, err := c.Certificates(ctx(t), device, []string{cluster.TemplateDeviceTunnel}); err != nil {
		t.Fatalf("listing with access denied to changes: %v", err)
	}
	for name, op := range map[string]func() error{
		"hold":     func() error { _, err := c.Hold(ctx(t), cert.Serial); return err },
		"unrevoke": func() error { _, err := c.Unrevoke(ctx(t), cert.Serial); return err },
		"publish":  func() error { _, err := c.PublishCRL(ctx(t)); return err },
	} {
		if err := op(); !errors.Is(err, ca.ErrAccessDenied) {
			t.Errorf("%s with access denied = %v; want ErrAccessDenied", name, err)
		}
	}
	if r := row(t, l, cert.Serial); r.Disposition != enterpriseca.DispositionIssued {
		t.Fatalf("a refused hold changed the database: %+v", r)
	}
	l.Cluster().SetCAFaults(true, false)
	if _, err := c.Certificates(ctx(t), device, []string{cluster.TemplateDeviceTunnel}); !errors.Is(err, ca.ErrUnreachable) {
		t.Fatalf("listing with the CA down = %v; want ErrUnreachable", err)
	}
	l.Cluster().SetCAFaults(false, false)
	other, err := ca.New(`ca9.corp.example\Other CA`, clients["RAS1"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Hold(ctx(t), cert.Serial); !errors.Is(err, ca.ErrUnreachable) {
		t.Fatalf("a CA the lab does not run = %v; want ErrUnreachable", err)
	}
}

// A CA host whose WinRM does not answer is the CA unreachable.
func TestUnreachableHostIsUnreachable(t *testing.T) {
	r, err := winrm.NewClient(winrm.Config{Host: "127.0.0.1", Port: 1, HTTPS: true, Username: "u", Password: "p",
		Auth: winrm.AuthNTLM, Timeout: 10 * time.Second, Retry: winrm.RetryPolicy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	c, err := ca.New(`ca1.corp.example\Corp Issuing CA`, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishCRL(ctx(t)); !errors.Is(err, ca.ErrUnreachable) {
		t.Fatalf("PublishCRL through a closed port = %v; want ErrUnreachable", err)
	}
}

// Bad input is refused before anything is sent.
func TestInvalidInputIsRefused(t *testing.T) {
	if _, err := ca.New("no-backslash", nil); !errors.Is(err, ca.ErrInvalidArgument) {
		t.Errorf("config without a CA name: %v", err)
	}
	c, err := ca.New(`ca1.corp.example\Corp Issuing CA`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Hold(context.Background(), "12 ZZ"); !errors.Is(err, ca.ErrInvalidArgument) {
		t.Errorf("serial 12 ZZ: %v", err)
	}
	if _, err := c.Certificates(context.Background(), device, nil); !errors.Is(err, ca.ErrInvalidArgument) {
		t.Errorf("no template: %v", err)
	}
	if _, err := c.Certificates(context.Background(), "CLIENT2$", []string{"DirectAccess"}); !errors.Is(err, ca.ErrInvalidArgument) {
		t.Errorf("a requester without its domain: %v", err)
	}
	if _, err := ca.PermanentReason("certificate_hold"); !errors.Is(err, ca.ErrInvalidArgument) {
		t.Errorf("certificate_hold is not a permanent reason: %v", err)
	}
}

// lostReply answers every run as a connection that dropped after the command was sent.
type lostReply struct{}

func (lostReply) Run(context.Context, winrm.Script, any, any) error {
	return &winrm.Error{Server: "ca1.corp.example", Kind: winrm.KindUnreachable, OutcomeUnknown: true, Err: io.ErrUnexpectedEOF}
}

// A hold whose reply was lost may have been placed: it is reported as outcome unknown, never as a CA that could not
// be reached (which says nothing was done).
func TestLostReplyOfAHoldIsNotUnreachable(t *testing.T) {
	c, err := ca.New(`ca1.corp.example\Corp Issuing CA`, lostReply{})
	if err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{
		"hold":     func() error { _, err := c.Hold(context.Background(), "1A2B"); return err },
		"unrevoke": func() error { _, err := c.Unrevoke(context.Background(), "1A2B"); return err },
	} {
		if err := op(); errors.Is(err, ca.ErrUnreachable) || !errors.Is(err, winrm.ErrOutcomeUnknown) {
			t.Errorf("%s with a lost reply = %v; want outcome unknown, not ErrUnreachable", name, err)
		}
	}
}

// A change whose read-back fails after the CA accepted it (its RPC endpoint gone between RevokeCertificate and the
// read) is outcome unknown, never unreachable, and the CA's database has the change: the hold is there, and a retry
// finds it and changes nothing. An unrevoke the same.
func TestFailedReadBackIsOutcomeUnknown(t *testing.T) {
	l, clients := startLab(t, lab.Config{})
	c := newCA(t, l, clients["RAS1"])
	cert := only(t, c, device, cluster.TemplateDeviceTunnel)
	unknown := func(op string, err error) {
		t.Helper()
		if !ca.IsOutcomeUnknown(err) || !errors.Is(err, ca.ErrReadBackFailed) || errors.Is(err, ca.ErrUnreachable) {
			t.Fatalf("%s whose read-back failed = %v; want outcome unknown (ErrReadBackFailed), not ErrUnreachable", op, err)
		}
		if left := l.Cluster().CAReadBackFailures(); left != 0 {
			t.Fatalf("%s: the lab still has %d read-back failures to serve", op, left)
		}
	}

	l.Cluster().FailCAReadBacks(1)
	_, err := c.Hold(ctx(t), cert.Serial)
	unknown("Hold", err)
	if r := row(t, l, cert.Serial); r.Disposition != enterpriseca.DispositionRevoked || r.RevocationReason != enterpriseca.ReasonCertificateHold {
		t.Fatalf("after a Hold whose read-back failed the database has %+v; want it on hold", r)
	}
	if again, err := c.Hold(ctx(t), cert.Serial); err != nil || again.Changed || !again.Certificate.Held() {
		t.Fatalf("Hold again = %+v, %v; want no change, on hold", again, err)
	}

	l.Cluster().FailCAReadBacks(1)
	_, err = c.Unrevoke(ctx(t), cert.Serial)
	unknown("Unrevoke", err)
	if r := row(t, l, cert.Serial); r.Disposition != enterpriseca.DispositionIssued {
		t.Fatalf("after an Unrevoke whose read-back failed the database has %+v; want it issued", r)
	}
}
