package block

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

// The certificate steps of a block, as failures name them.
const (
	StepCertificateHold = "certificate-hold"
	StepPublishCRL      = "publish-crl"
	StepFlushCaches     = "flush-revocation-caches"
)

// Authority is the part of an enterprise CA that blocks use; *ca.CA is one.
type Authority interface {
	Config() string
	Certificates(ctx context.Context, requester string, templates []string) ([]ca.Certificate, error)
	Hold(ctx context.Context, serial string) (ca.Change, error)
	Revoke(ctx context.Context, serial string, reason ca.Reason) (ca.Change, error)
	Unrevoke(ctx context.Context, serial string) (ca.Change, error)
	PublishCRL(ctx context.Context) (ca.Published, error)
}

var _ Authority = (*ca.CA)(nil)

// CertificateHold is the certificate lever of a device block: the device's certificates of Templates, at every
// Authority, put on hold (or revoked with Permanent when it is set), the CRLs published and the servers' revocation
// caches flushed before the purge, so that the device tunnel cannot come straight back where revocation is enforced.
type CertificateHold struct {
	Authorities []Authority
	Templates   []string
	// Permanent revokes with this reason instead of holding: it is never undone.
	Permanent *ca.Reason
}

// HeldCertificate is a certificate a block answers for.
type HeldCertificate struct {
	Serial   string
	CA       string
	Template string
	// Permanent: revoked permanently by this block; never unrevoked.
	Permanent bool
	// Shared: put on hold by another block of the account (its hold line lists it, or the hold began during its
	// apply), found on hold or put there while this block was holding it; the last block released that holds it
	// takes it off hold.
	Shared bool
}

// CertificatePrior is what earlier applies of a block left of its certificate lever.
type CertificatePrior struct {
	// PendingAuthorities are the CAs (configuration strings) whose hold has not succeeded yet.
	PendingAuthorities []string
	// PendingFlush are the servers whose revocation caches have not been flushed since the last hold.
	PendingFlush []string
	// Known are the certificates the block answers for already: found on hold, they are its own, not shared.
	Known []HeldCertificate
}

// Requester is the CA database's requester name of a computer account: NETBIOS\NAME$.
func Requester(dom directory.DomainInfo, acct directory.Account) string {
	return dom.NetBIOSName + `\` + acct.SAMAccountName
}

// holdCertificates runs the certificate lever: hold at the CAs still to do, publish where something changed, flush
// the servers, and put those servers among the pending ones so that the purge follows the flush. A CA that fails
// stays pending; nothing is ever undone here.
func (b *Blocker) holdCertificates(ctx context.Context, out *Outcome, opts Options, prior Prior) {
	h := opts.Certificates
	todo := h.Authorities
	if prior.Held {
		todo = slices.DeleteFunc(slices.Clone(h.Authorities), func(a Authority) bool {
			return !slices.Contains(prior.Certificates.PendingAuthorities, a.Config())
		})
	}
	dom, err := b.Directory.Domain(ctx)
	if err != nil {
		out.PendingAuthorities = authorityConfigs(todo)
		out.fail(StepCertificateHold, err)
		return
	}
	requester := Requester(dom, out.Target.Account)
	others := otherHolds(out.Target.Account, opts.Hold.ID)
	record := opts.Record && (out.Recorded || holdRecorded(out.Target.Account, opts.Hold))
	if record && prior.Held && len(todo) > 0 {
		// The hold line may say which certificates this block held before (or none): it says "unknown" while more are
		// put on hold, so that no other block's release takes them off hold in between.
		b.recordCertificates(ctx, out, opts.Hold.ID, nil)
	}
	changed := false
	for _, a := range todo {
		held, anyChange, err := holdAt(ctx, a, requester, h, others, prior.Certificates.Known)
		out.Certificates = append(out.Certificates, held...)
		// A retry publishes again: the hold may have landed before a publish that failed.
		anyChange = anyChange || prior.Held
		if err == nil && anyChange {
			_, err = a.PublishCRL(ctx)
			if err != nil {
				err = Failure{Step: StepPublishCRL, Err: err}
			}
		}
		if err != nil {
			out.PendingAuthorities = append(out.PendingAuthorities, a.Config())
			out.fail(StepCertificateHold, err)
			continue
		}
		changed = changed || anyChange
	}
	if record {
		serials := make([]string, 0, len(prior.Certificates.Known)+len(out.Certificates))
		for _, c := range slices.Concat(prior.Certificates.Known, out.Certificates) {
			if !slices.Contains(serials, c.Serial) {
				serials = append(serials, c.Serial)
			}
		}
		b.recordCertificates(ctx, out, opts.Hold.ID, serials)
	}
	flush := inServers(prior.Certificates.PendingFlush, opts.Servers)
	if changed || !prior.Held {
		flush = slices.Clone(opts.Servers)
	}
	out.PendingFlush = b.flush(ctx, out, flush)
	if !opts.Purge {
		return
	}
	if changed {
		// The tunnels still up presented a certificate that was valid until now: every server is purged.
		out.Pending = slices.Clone(opts.Servers)
	} else {
		out.Pending = appendNew(out.Pending, flush...)
	}
}

// holdAt holds (or revokes) the requester's certificates of the templates at one CA. It returns the certificates
// this block answers for: those it changed, and those found on hold that another recorded block put there.
func holdAt(ctx context.Context, a Authority, requester string, h *CertificateHold, others []directory.Hold, known []HeldCertificate) ([]HeldCertificate, bool, error) {
	certs, err := a.Certificates(ctx, requester, h.Templates)
	if err != nil {
		return nil, false, err
	}
	var held []HeldCertificate
	changed := false
	for _, c := range certs {
		if c.RevokedPermanently() {
			continue // revoked before: never this block's
		}
		if c.Held() {
			mine := slices.ContainsFunc(known, func(k HeldCertificate) bool { return k.CA == a.Config() && k.Serial == c.Serial })
			if h.Permanent == nil && !mine && heldByOther(c, others) {
				held = append(held, HeldCertificate{Serial: c.Serial, CA: a.Config(), Template: c.Template, Shared: true})
			}
			if h.Permanent == nil {
				continue
			}
		}
		var ch ca.Change
		if h.Permanent != nil {
			ch, err = a.Revoke(ctx, c.Serial, *h.Permanent)
		} else {
			ch, err = a.Hold(ctx, c.Serial)
		}
		if err != nil {
			if ca.IsOutcomeUnknown(err) {
				// The hold may have been put in place: the block answers for the certificate, so that its release takes it
				// off hold (an unrevoke of a certificate not on hold changes nothing) rather than leave it to no one. A
				// permanent revocation is listed as the block's too: found revoked by the next apply, it would be taken
				// for one made before the block, and the destroy would not say that it stays.
				held = append(held, HeldCertificate{Serial: c.Serial, CA: a.Config(), Template: c.Template, Permanent: h.Permanent != nil})
			}
			return held, changed, err
		}
		switch {
		case ch.Changed:
			changed = true
			held = append(held, HeldCertificate{Serial: c.Serial, CA: a.Config(), Template: c.Template, Permanent: h.Permanent != nil})
		case h.Permanent == nil && ch.Certificate.Held():
			// Put on hold between the listing and this hold: by another block applied at the same time, whose line may
			// not list it yet. This block holds it too, so that the other block's release keeps it on hold.
			held = append(held, HeldCertificate{Serial: c.Serial, CA: a.Config(), Template: c.Template, Shared: true})
		}
	}
	return held, changed, nil
}

// recordCertificates writes which certificates the block holds into its hold line. A failure is reported and
// changes nothing else: the line then keeps what it said before, and a line that says "unknown" (nil) makes the
// other blocks keep every certificate of the device on hold for this one, which fails safe.
func (b *Blocker) recordCertificates(ctx context.Context, out *Outcome, holdID string, serials []string) {
	if err := b.Directory.RecordCertificates(ctx, out.Target.Account, holdID, serials); err != nil {
		out.fail(StepRecordCertificates, fmt.Errorf("recording the held certificates on %s: %w", out.Target.Account.DN, err))
	}
}

// otherHolds are the other blocks recorded on the account.
func otherHolds(acct directory.Account, id string) []directory.Hold {
	rec := acct.BlockRecord()
	if rec == nil {
		return nil
	}
	return rec.Others(id)
}

// sharedHoldWindow bounds, for a hold line that does not say which certificates its block holds (a record written
// before they were recorded, or a hold still being placed), how long after that block began a hold counts as its
// own: one apply's time, with room. A hold placed later (by hand, or by a block completed after a CA outage) is not
// taken as a block's, so the last block released never unrevokes it: it stays held, which fails safe.
const sharedHoldWindow = 30 * time.Minute

// heldByOther reports whether a certificate on hold was put there by another recorded block: one whose hold line
// lists it, or, for a line that lists none (Hold.Certificates nil), one that began during sharedHoldWindow before
// the hold. A hold placed before every block of the account, or long after, is someone else's.
func heldByOther(c ca.Certificate, others []directory.Hold) bool {
	at, err := time.Parse(time.RFC3339Nano, c.RevokedAt)
	return slices.ContainsFunc(others, func(h directory.Hold) bool {
		if h.Certificates != nil {
			return lists(h, c.Serial)
		}
		return err == nil && !at.Before(h.Since) && at.Before(h.Since.Add(sharedHoldWindow))
	})
}

// HeldElsewhere splits a block's certificates by the other blocks recorded on the account: kept are those another
// block holds, or may hold (its hold line does not say which: Hold.Certificates nil); rest are the others, for
// ReleaseCertificates, which takes them off hold (never one revoked permanently).
func HeldElsewhere(certs []HeldCertificate, others []directory.Hold) (kept, rest []HeldCertificate) {
	for _, c := range certs {
		if !c.Permanent && slices.ContainsFunc(others, func(h directory.Hold) bool { return h.Certificates == nil || lists(h, c.Serial) }) {
			kept = append(kept, c)
		} else {
			rest = append(rest, c)
		}
	}
	return kept, rest
}

// lists reports whether a hold line lists the serial. Serials are hexadecimal numbers: letter case and leading zeros
// (a list typed by hand) do not matter.
func lists(h directory.Hold, serial string) bool {
	return slices.ContainsFunc(h.Certificates, func(s string) bool {
		return strings.EqualFold(strings.TrimLeft(s, "0"), strings.TrimLeft(serial, "0"))
	})
}

// flush flushes the revocation caches of the servers and returns those where it failed.
func (b *Blocker) flush(ctx context.Context, out *Outcome, servers []string) []string {
	if len(servers) == 0 {
		return nil
	}
	cluster, err := b.Cluster(servers)
	if err != nil {
		out.fail(StepFlushCaches, err)
		return slices.Clone(servers)
	}
	done, err := remoteaccess.FanOut(ctx, cluster, func(ctx context.Context, r remoteaccess.Runner) (ca.Flushed, error) {
		return ca.FlushRevocationCaches(ctx, r)
	})
	out.fail(StepFlushCaches, err)
	return slices.DeleteFunc(slices.Clone(servers), func(s string) bool { _, ok := done[s]; return ok })
}

// CertificateRelease is what taking a block's certificates off hold did.
type CertificateRelease struct {
	// Unrevoked are the serials taken off hold.
	Unrevoked []string
	// Kept are certificates left revoked: revoked permanently (by this block or since), with the reason.
	Kept map[string]string
}

// ReleaseCertificates takes off hold the certificates a block answers for, publishes the CRLs of the CAs that
// changed and flushes every server. The caller decides, by the account's record, that no other block holds the
// device. Errors are returned joined; what succeeded is in the result, and a retry repeats only what is left.
func (b *Blocker) ReleaseCertificates(ctx context.Context, authorities []Authority, certs []HeldCertificate, servers []string) (CertificateRelease, error) {
	res := CertificateRelease{Kept: map[string]string{}}
	var errs []error
	changed := false
	for _, a := range authorities {
		ch, err := unrevokeAt(ctx, a, certs, &res)
		errs = append(errs, err)
		if ch {
			if _, err := a.PublishCRL(ctx); err != nil {
				errs = append(errs, fmt.Errorf("publishing the CRL of %s: %w", a.Config(), err))
			}
			changed = true
		}
	}
	for _, c := range certs {
		if !slices.ContainsFunc(authorities, func(a Authority) bool { return a.Config() == c.CA }) && !c.Permanent {
			errs = append(errs, fmt.Errorf("certificate %s was held at %s, which is no longer among certificate_authorities", c.Serial, c.CA))
		}
	}
	if changed && len(servers) > 0 {
		out := Outcome{}
		if failed := b.flush(ctx, &out, servers); len(failed) > 0 {
			errs = append(errs, fmt.Errorf("flushing the revocation caches on %s: %w", strings.Join(failed, ", "), out.Err()))
		}
	}
	return res, errors.Join(errs...)
}

func unrevokeAt(ctx context.Context, a Authority, certs []HeldCertificate, res *CertificateRelease) (bool, error) {
	changed := false
	var errs []error
	for _, c := range certs {
		if c.CA != a.Config() {
			continue
		}
		if c.Permanent {
			res.Kept[c.Serial] = "revoked permanently by this block"
			continue
		}
		ch, err := a.Unrevoke(ctx, c.Serial)
		switch {
		case errors.Is(err, ca.ErrPermanentRevocation):
			res.Kept[c.Serial] = "revoked permanently since the block held it"
		case err != nil:
			errs = append(errs, err)
		default:
			// Published also when it was off hold already: a retry after a publish that failed publishes again.
			changed = true
			if ch.Changed {
				res.Unrevoked = append(res.Unrevoked, c.Serial)
			}
		}
	}
	return changed, errors.Join(errs...)
}

// authorityConfigs are the configuration strings of the authorities.
func authorityConfigs(authorities []Authority) []string {
	out := make([]string, len(authorities))
	for i, a := range authorities {
		out[i] = a.Config()
	}
	return out
}
