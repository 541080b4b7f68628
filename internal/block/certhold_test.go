package block_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// fakeCA is a CA database of a few rows whose publication can fail, counting what it was asked.
type fakeCA struct {
	rows         []ca.Certificate
	failPublish  int
	published    int
	holds, revok []string
}

func (f *fakeCA) Config() string { return `ca1.corp.example\Corp Issuing CA` }

func (f *fakeCA) Certificates(context.Context, string, []string) ([]ca.Certificate, error) {
	return slices.Clone(f.rows), nil
}

func (f *fakeCA) set(serial string, disposition, reason int) ca.Change {
	for i := range f.rows {
		if f.rows[i].Serial == serial {
			changed := f.rows[i].Disposition != disposition || f.rows[i].RevocationReason != reason
			f.rows[i].Disposition, f.rows[i].RevocationReason = disposition, reason
			f.rows[i].RevokedAt = time.Now().UTC().Format(time.RFC3339Nano)
			return ca.Change{Changed: changed, Certificate: f.rows[i]}
		}
	}
	return ca.Change{}
}

func (f *fakeCA) Hold(_ context.Context, serial string) (ca.Change, error) {
	f.holds = append(f.holds, serial)
	return f.set(serial, ca.DispositionRevoked, int(ca.ReasonCertificateHold)), nil
}

func (f *fakeCA) Revoke(_ context.Context, serial string, r ca.Reason) (ca.Change, error) {
	f.revok = append(f.revok, serial)
	return f.set(serial, ca.DispositionRevoked, int(r)), nil
}

func (f *fakeCA) Unrevoke(_ context.Context, serial string) (ca.Change, error) {
	for _, r := range f.rows {
		if r.Serial == serial && r.RevokedPermanently() {
			return ca.Change{}, ca.ErrPermanentRevocation
		}
	}
	return f.set(serial, ca.DispositionIssued, 0), nil
}

func (f *fakeCA) PublishCRL(context.Context) (ca.Published, error) {
	if f.failPublish > 0 {
		f.failPublish--
		return ca.Published{}, errors.New("publication failed")
	}
	f.published++
	return ca.Published{Base: true}, nil
}

// A hold whose CRL could not be published leaves the CA pending, and the next apply publishes although the hold
// itself has nothing left to change: a hold that no server can see does not hold.
func TestCertificateHoldPublishFailureIsRetried(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	f := &fakeCA{failPublish: 1, rows: []ca.Certificate{{Serial: "0A", Template: "AOVPNDeviceTunnel", Disposition: ca.DispositionIssued}}}
	opts := block.Options{Servers: l.Info().ServerAddresses, Purge: true, Record: true,
		Hold:         directory.Hold{ID: "h1", Since: time.Now()},
		Certificates: &block.CertificateHold{Authorities: []block.Authority{f}, Templates: []string{"AOVPNDeviceTunnel"}}}
	out := b.Ensure(ctx, resolve(t, ctx, b, "CLIENT1"), opts, block.Prior{})
	if !out.Disabled || !slices.Equal(out.PendingAuthorities, []string{f.Config()}) || len(out.Certificates) != 1 || f.published != 0 {
		t.Fatalf("first Ensure: pending CAs %v, certificates %+v, published %d; want the CA pending and 0A held",
			out.PendingAuthorities, out.Certificates, f.published)
	}
	prior := block.Prior{Held: true, Certificates: block.CertificatePrior{PendingAuthorities: out.PendingAuthorities, Known: out.Certificates}}
	out = b.Ensure(ctx, resolve(t, ctx, b, "CLIENT1"), opts, prior)
	if len(out.PendingAuthorities) != 0 || f.published != 1 || len(out.Certificates) != 0 || len(out.PendingFlush) != 0 {
		t.Fatalf("completion: pending CAs %v, published %d, certificates %+v, flush pending %v; want one publication, nothing new",
			out.PendingAuthorities, f.published, out.Certificates, out.PendingFlush)
	}
}

// A certificate revoked permanently before the block is left alone, and one on hold before every block of the
// account is never taken as the block's.
func TestCertificateHoldLeavesWhatWasRevokedBefore(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	before := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	later := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339Nano) // held by hand long after the first block began
	f := &fakeCA{rows: []ca.Certificate{
		{Serial: "01", Disposition: ca.DispositionRevoked, RevocationReason: int(ca.ReasonKeyCompromise), RevokedAt: before},
		{Serial: "02", Disposition: ca.DispositionRevoked, RevocationReason: int(ca.ReasonCertificateHold), RevokedAt: before},
		{Serial: "03", Disposition: ca.DispositionIssued},
		{Serial: "04", Disposition: ca.DispositionRevoked, RevocationReason: int(ca.ReasonCertificateHold), RevokedAt: later},
	}}
	opts := block.Options{Servers: l.Info().ServerAddresses, Purge: true, Record: true,
		Hold:         directory.Hold{ID: "h1", Since: time.Now()},
		Certificates: &block.CertificateHold{Authorities: []block.Authority{f}, Templates: []string{"DirectAccess"}}}
	out := b.Ensure(ctx, resolve(t, ctx, b, "CLIENT1"), opts, block.Prior{})
	if len(out.Certificates) != 1 || out.Certificates[0].Serial != "03" || !slices.Equal(f.holds, []string{"03"}) || len(f.revok) != 0 {
		t.Fatalf("certificates %+v, holds %v, revocations %v; want only 03 held", out.Certificates, f.holds, f.revok)
	}
	opts.Hold.ID = "h2"
	out = b.Ensure(ctx, resolve(t, ctx, b, "CLIENT1"), opts, block.Prior{})
	if len(out.Certificates) != 1 || out.Certificates[0].Serial != "03" || !out.Certificates[0].Shared {
		t.Fatalf("a second block's certificates %+v; want 03 shared with the first block, never 02 or 04", out.Certificates)
	}
}

// Releasing takes off hold what the block held, leaves what was revoked permanently since (and what the block revoked
// permanently itself), and publishes the CRL once.
func TestReleaseCertificatesNeverUndoesAPermanentRevocation(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	f := &fakeCA{rows: []ca.Certificate{
		{Serial: "01", Disposition: ca.DispositionRevoked, RevocationReason: int(ca.ReasonCertificateHold)},
		{Serial: "02", Disposition: ca.DispositionRevoked, RevocationReason: int(ca.ReasonKeyCompromise)},
		{Serial: "03", Disposition: ca.DispositionRevoked, RevocationReason: int(ca.ReasonKeyCompromise)},
	}}
	held := []block.HeldCertificate{{Serial: "01", CA: f.Config()}, {Serial: "02", CA: f.Config()}, {Serial: "03", CA: f.Config(), Permanent: true}}
	res, err := b.ReleaseCertificates(ctx, []block.Authority{f}, held, l.Info().ServerAddresses)
	if err != nil || !slices.Equal(res.Unrevoked, []string{"01"}) || len(res.Kept) != 2 || f.published != 1 {
		t.Fatalf("release = %+v, %v, published %d; want 01 off hold, 02 and 03 kept, one publication", res, err, f.published)
	}
	for _, r := range f.rows[1:] {
		if !r.RevokedPermanently() {
			t.Errorf("%s is no longer revoked permanently: %+v", r.Serial, r)
		}
	}
}

// Each block's hold line records the certificates it holds, and that record, not the CA's revocation time, decides
// what another block shares and what a release may take off hold: a certificate held by hand while the first block
// was being placed (inside the time window an unrecorded line falls back to) is never taken as that block's.
func TestCertificateHoldRecordsWhatEachBlockHolds(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	since := time.Now().UTC()
	byHand := since.Add(time.Minute).Format(time.RFC3339Nano)
	f := &fakeCA{rows: []ca.Certificate{
		{Serial: "03", Disposition: ca.DispositionIssued},
		{Serial: "04", Disposition: ca.DispositionRevoked, RevocationReason: int(ca.ReasonCertificateHold), RevokedAt: byHand},
		{Serial: "05", Disposition: ca.DispositionIssued},
	}}
	opts := block.Options{Servers: l.Info().ServerAddresses, Record: true, Hold: directory.Hold{ID: "h1", Since: since},
		Certificates: &block.CertificateHold{Authorities: []block.Authority{f}, Templates: []string{"DirectAccess"}}}
	holds := func() []directory.Hold {
		t.Helper()
		rec, err := resolve(t, ctx, b, "CLIENT1").Account.ReadBlockRecord()
		if err != nil || rec == nil {
			t.Fatalf("record %+v, %v", rec, err)
		}
		return rec.Holds
	}
	if out := b.Ensure(ctx, resolve(t, ctx, b, "CLIENT1"), opts, block.Prior{}); out.Err() != nil || len(out.Certificates) != 2 {
		t.Fatalf("first block: %+v, %v", out.Certificates, out.Err())
	}
	if h := holds(); !slices.Equal(h[0].Certificates, []string{"03", "05"}) {
		t.Fatalf("the first block's hold line lists %#v; want 03 and 05", h[0].Certificates)
	}
	opts.Hold = directory.Hold{ID: "h2", Since: time.Now().UTC()}
	out := b.Ensure(ctx, resolve(t, ctx, b, "CLIENT1"), opts, block.Prior{})
	if out.Err() != nil || len(out.Certificates) != 2 || slices.ContainsFunc(out.Certificates, func(c block.HeldCertificate) bool {
		return c.Serial == "04" || !c.Shared
	}) {
		t.Fatalf("second block: %+v, %v; want 03 and 05 shared with the first, never 04", out.Certificates, out.Err())
	}
	h := holds()
	if !slices.Equal(h[1].Certificates, []string{"03", "05"}) {
		t.Fatalf("the second block's hold line lists %#v", h[1].Certificates)
	}

	// Releasing the first block: the second still holds both. Releasing it after a block that holds no certificate
	// (certs="") and one whose line says nothing (an earlier version's) keeps both only for the latter.
	mine := []block.HeldCertificate{{Serial: "03"}, {Serial: "05"}, {Serial: "06", Permanent: true}}
	for _, c := range []struct {
		others     []directory.Hold
		kept, rest int
	}{
		{h[1:], 2, 1},
		{[]directory.Hold{{ID: "plain", Certificates: []string{}}}, 0, 3},
		{[]directory.Hold{{ID: "plain", Certificates: []string{}}, {ID: "old"}}, 2, 1},
		// a list typed by hand, the leading zeros left out
		{[]directory.Hold{{ID: "typed", Certificates: []string{"3", "5"}}}, 2, 1},
	} {
		kept, rest := block.HeldElsewhere(mine, c.others)
		if len(kept) != c.kept || len(rest) != c.rest {
			t.Errorf("with the other holds %+v: kept %+v, rest %+v; want %d kept", c.others, kept, rest, c.kept)
		}
	}
}

// racingCA lists the rows as they were, then lets another block run (before) before the caller holds them: another
// block applied at the same time holds the certificate between this block's listing and its hold.
type racingCA struct {
	*fakeCA
	before func()
}

func (r *racingCA) Certificates(ctx context.Context, requester string, templates []string) ([]ca.Certificate, error) {
	rows, err := r.fakeCA.Certificates(ctx, requester, templates)
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	return rows, err
}

// Two blocks of a device applied at the same time: the second lists the certificate as issued, the first holds it,
// and the second's hold finds it held already (no change). The second block holds it all the same, and says so in
// its hold line, so that releasing the first keeps it on hold; before, the second answered for nothing and the first
// block's release freed the device while the second block still stood.
func TestCertificateHeldByAnotherBlockMeanwhileIsShared(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	f := &fakeCA{rows: []ca.Certificate{{Serial: "07", Template: "AOVPNDeviceTunnel", Disposition: ca.DispositionIssued}}}
	options := func(id string, a block.Authority) block.Options {
		return block.Options{Servers: l.Info().ServerAddresses, Record: true,
			Hold:         directory.Hold{ID: id, Since: time.Now().UTC(), KeepsEnabled: true},
			Certificates: &block.CertificateHold{Authorities: []block.Authority{a}, Templates: []string{"AOVPNDeviceTunnel"}}}
	}
	var first block.Outcome
	racing := &racingCA{fakeCA: f, before: func() {
		first = b.Ensure(ctx, resolve(t, ctx, b, "CLIENT2"), options("first", f), block.Prior{})
	}}
	second := b.Ensure(ctx, resolve(t, ctx, b, "CLIENT2"), options("second", racing), block.Prior{})
	if first.Err() != nil || len(first.Certificates) != 1 || first.Certificates[0].Shared {
		t.Fatalf("the first block: %+v, %v; want 07 held by it", first.Certificates, first.Err())
	}
	if second.Err() != nil || len(second.Certificates) != 1 || !second.Certificates[0].Shared {
		t.Fatalf("the second block: %+v, %v; want 07 shared with the first", second.Certificates, second.Err())
	}
	rec, err := resolve(t, ctx, b, "CLIENT2").Account.ReadBlockRecord()
	if err != nil || rec == nil {
		t.Fatalf("record %+v, %v", rec, err)
	}
	kept, rest := block.HeldElsewhere(first.Certificates, rec.Others("first"))
	if len(kept) != 1 || len(rest) != 0 {
		t.Errorf("releasing the first block: kept %+v, taken off hold %+v; want 07 kept for the second (record %+v)", kept, rest, rec.Holds)
	}
}
