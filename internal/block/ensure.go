package block

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

// The steps of a block, as failures name them.
const (
	StepPreflight = "preflight"
	StepDisable   = "disable"
	StepRecord    = "record"
	// StepRecordCertificates is the record of which certificates a block holds (the certs= of its hold line).
	StepRecordCertificates = "record-certificates"
	StepShutdown           = "shutdown"
	StepReadBack           = "read-back"
	StepPurge              = "purge"
	StepVerify             = "verify"
)

// Failure is one step that failed, on one server when Server is set.
type Failure struct {
	Step   string
	Server string
	Err    error
}

func (f Failure) Error() string {
	if f.Server == "" {
		return fmt.Sprintf("%s: %v", f.Step, f.Err)
	}
	return fmt.Sprintf("%s on %s: %v", f.Step, f.Server, f.Err)
}

func (f Failure) Unwrap() error { return f.Err }

// Err joins every failure; nil when every step succeeded.
func (o *Outcome) Err() error {
	errs := make([]error, len(o.Failures))
	for i, f := range o.Failures {
		errs[i] = f
	}
	return errors.Join(errs...)
}

// Cause joins the failures' own errors, for a block that stopped before changing anything: they say what failed.
func (o *Outcome) Cause() error {
	errs := make([]error, len(o.Failures))
	for i, f := range o.Failures {
		errs[i] = f.Err
	}
	return errors.Join(errs...)
}

// fail adds err as failures of step: one per server for a fan-out's errors, else one.
func (o *Outcome) fail(step string, err error) {
	if err == nil {
		return
	}
	perServer := remoteaccess.ServerErrors(err)
	if len(perServer) == 0 {
		o.Failures = append(o.Failures, Failure{Step: step, Err: err})
		return
	}
	for _, se := range perServer {
		o.Failures = append(o.Failures, Failure{Step: step, Server: se.Server, Err: se.Err})
	}
}

// Prior is what earlier applies of the same block left.
type Prior struct {
	// Held is set when the block is in state already: its hold was placed before.
	Held bool
	// Pending are the servers where an earlier purge or verification has not succeeded.
	Pending []string
	// Certificates is what earlier applies left of the certificate lever.
	Certificates CertificatePrior
}

// CheckRecordConflict refuses a new unrecorded block of an account that carries another block's record.
func CheckRecordConflict(acct directory.Account, record bool) error {
	if record {
		return nil
	}
	others, err := acct.HeldByOthers("") // an unreadable record is an error: nobody can tell who holds the account
	if err != nil || len(others) == 0 {
		return err
	}
	return &directory.OtherHoldsError{DN: acct.DN, Holds: others}
}

// Ensure makes the block hold, idempotently: the account disabled and this block's hold recorded, the sessions
// purged where needed (every server for a new block or after a new disable, else the servers still pending), the
// change read back on the domain controllers, and the purged servers watched. Create, Update and the completion of
// a pending block all call it; the outcome reports every step, also when a step fails.
func (b *Blocker) Ensure(ctx context.Context, t Target, opts Options, prior Prior) Outcome {
	keep := opts.Hold.KeepsEnabled
	// Disabled says the block is in effect: for a block that keeps the account enabled, once its hold is recorded.
	out := Outcome{Target: t, Disabled: !t.Account.Enabled() || (keep && prior.Held)}
	if !prior.Held {
		if err := CheckRecordConflict(t.Account, opts.Record); err != nil {
			out.Disabled = false
			out.fail(StepDisable, err)
			return out
		}
	}
	needHold := !prior.Held || (t.Account.Enabled() && !keep) || (opts.Record && !holdRecorded(t.Account, opts.Hold))
	if needHold && !b.hold(ctx, &out, opts) {
		switch {
		case out.HoldUnknown:
			// The account may be disabled: the block is kept, and the next apply completes it on every server.
			if opts.Purge {
				out.Pending = slices.Clone(opts.Servers)
			}
			if opts.Certificates != nil {
				out.PendingAuthorities = authorityConfigs(opts.Certificates.Authorities)
			}
		case !prior.Held:
			// Nothing was written: an account disabled before (by hand, say) is not this block's, which holds nothing
			// yet, has purged nothing and is recorded nowhere.
			out.Disabled = false
		default:
			// A block in state whose hold could not be placed again keeps everything it had still to do.
			if opts.Purge {
				out.Pending = inServers(prior.Pending, opts.Servers)
			}
			out.PendingAuthorities = slices.Clone(prior.Certificates.PendingAuthorities)
			out.PendingFlush = inServers(prior.Certificates.PendingFlush, opts.Servers)
		}
		return out
	}
	// A hold found in the record (placed by a write whose answer was lost, say) is this block's as much as one written now.
	out.Recorded = out.Recorded || (opts.Record && holdRecorded(out.Target.Account, opts.Hold))
	if opts.Purge {
		out.Pending = inServers(prior.Pending, opts.Servers)
		// A new block purges every server also when the account was disabled already (by hand, say): disabling it
		// ended none of its sessions, which stay up until they are purged.
		if out.NewlyDisabled || !prior.Held {
			out.Pending = slices.Clone(opts.Servers)
		}
	}
	if opts.Certificates != nil {
		// Held, published and flushed before the purge, so that the device tunnel cannot come straight back.
		b.holdCertificates(ctx, &out, opts, prior)
	}
	wroteLever := opts.BeforePurge != nil && opts.BeforePurge(ctx, out.Target.Account)
	if wroteLever && opts.Purge {
		out.Pending = slices.Clone(opts.Servers)
	}
	if out.NewlyDisabled && opts.ShutdownViaManageOut && t.Account.Kind == directory.KindComputer {
		// A device that could not be shut down is still purged: the shutdown only adds to the block.
		out.fail(StepShutdown, b.shutdown(ctx, t.Account, opts.Servers, opts.ShutdownCredential))
	}
	b.complete(ctx, &out, opts, directory.Visible{Disabled: !keep, DialInDenied: wroteLever && opts.Hold.DeniesDialIn})
	return out
}

// hold places the hold: the servers' settings checked first when the account is about to be disabled, the record
// written with it. A record that cannot be written never stops the disable. It returns false when the block cannot
// go on (nothing changed, or an outcome that is unknown).
func (b *Blocker) hold(ctx context.Context, out *Outcome, opts Options) bool {
	acct := out.Target.Account
	if acct.Enabled() && opts.Purge {
		if err := b.checkServers(ctx, opts.Servers); err != nil {
			out.fail(StepPreflight, err)
			return false
		}
	}
	req := directory.HoldRequest{Hold: opts.Hold, Record: opts.Record, Guard: opts.Guard}
	res, err := b.Directory.Hold(ctx, acct, req)
	var unknown *directory.OutcomeUnknownError
	if err == nil && req.Record && !res.Recorded {
		// The record exists to help; it never stops an emergency block: the directory disabled the account without
		// it, and RecordErr says why (the attribute and its size, or the other blocks whose release enables it).
		recordErr := res.RecordErr
		if recordErr == nil {
			recordErr = errors.New("the directory gave no reason")
		}
		out.fail(StepRecord, fmt.Errorf("the block record was not written on %s: %w", acct.DN, recordErr))
	}
	switch {
	case errors.As(err, &unknown):
		out.HoldUnknown, out.WasEnabled = true, acct.Enabled()
		out.fail(StepDisable, err)
		return false
	case err != nil:
		out.fail(StepDisable, fmt.Errorf("disabling %s: %w", acct.DN, err))
		return false
	}
	out.Disabled, out.Wrote, out.WasEnabled, out.Recorded = true, true, res.PriorEnabled, res.Recorded
	out.NewlyDisabled = acct.Enabled() && !opts.Hold.KeepsEnabled
	out.BlockedAt = time.Now().UTC()
	out.Target.Account = res.Account
	b.progress(ctx, "held", map[string]any{"account": acct.SAMAccountName, "newly_disabled": out.NewlyDisabled, "recorded": res.Recorded})
	return true
}

// holdRecorded reports whether the account's block record holds the hold as the block places it: a block that
// denies dial-in says so in its line (deny_dial_in set on a block in state adds it).
func holdRecorded(acct directory.Account, hold directory.Hold) bool {
	rec := acct.BlockRecord()
	if hold.ID == "" || rec == nil {
		return false
	}
	i := slices.IndexFunc(rec.Holds, func(h directory.Hold) bool { return h.ID == hold.ID })
	return i >= 0 && (rec.Holds[i].DeniesDialIn || !hold.DeniesDialIn)
}

// inServers keeps the servers of list that are still among servers.
func inServers(list, servers []string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(p string) bool {
		return !slices.ContainsFunc(servers, func(s string) bool { return strings.EqualFold(s, p) })
	})
}

// complete purges the pending servers while the domain controllers are read back (until they show want), purges
// again what came back while a controller did not show it yet, and verifies the servers purged.
func (b *Blocker) complete(ctx context.Context, out *Outcome, opts Options, want directory.Visible) {
	var wg sync.WaitGroup
	var visibleErr error
	readBack := opts.WaitVisible && want != directory.Visible{}
	if readBack {
		wg.Go(func() { visibleErr = b.Directory.WaitVisible(ctx, out.Target.Account.DN, want) })
	}
	var purgeErr error
	if len(out.Pending) > 0 {
		purgeErr = b.purgePending(ctx, out, opts.vpnOnly(out.Target))
	}
	wg.Wait()
	var lagging *directory.VisibilityError
	if errors.As(visibleErr, &lagging) {
		out.Lagging = lagging.Lagging
	} else {
		out.fail(StepReadBack, visibleErr)
	}
	if !opts.Purge {
		return
	}
	if readBack {
		// Sessions may have come back through a controller that still showed the account enabled (or the user's
		// dial-in allowed): purge again where they did. The servers whose purge failed stay pending with them.
		failed := out.Pending
		if out.Pending = b.cameBack(ctx, out.Target, slices.Sorted(maps.Keys(out.Purged)), opts.vpnOnly(out.Target)); len(out.Pending) > 0 {
			purgeErr = errors.Join(purgeErr, b.purgePending(ctx, out, opts.vpnOnly(out.Target)))
		}
		out.Pending = inServers(opts.Servers, appendNew(out.Pending, failed...))
	}
	out.fail(StepPurge, purgeErr)
	if opts.Verify > 0 {
		out.fail(StepVerify, b.verify(ctx, out, opts))
	}
}

// ReleaseOutcome is what lifting a block did.
type ReleaseOutcome struct {
	// Enabled is set when the account was enabled again.
	Enabled bool
	// OtherHolds are blocks that still hold the account; it stays disabled for them.
	OtherHolds []directory.Hold
	// Lagging are the domain controllers that did not show the account enabled within the LDAP timeout.
	Lagging []string
	// DialIn is what the release did with the user's dial-in, when the hold's line says it denies it.
	DialIn directory.DialInRelease
	// Lifted and LeftDisabled are directory.ReleaseResult's: an earlier release whose answer was lost had lifted the
	// hold, and the account it was to enable is disabled now and left so.
	Lifted, LeftDisabled bool
}

// ReleaseOptions are what a release needs besides the hold.
type ReleaseOptions struct {
	// WasEnabled says whether the account was enabled before the block, for an account without a block record.
	WasEnabled bool
	// WaitVisible waits until the configured domain controllers show an enabled account enabled.
	WaitVisible bool
	// Again says that a release of this hold was sent before and its answer lost (directory.ReleaseAgain).
	Again bool
}

// Release is the mirror of Ensure: it releases the block's hold. The account is enabled again only when no other
// block holds it and it was enabled before the first block (by the account's block record, or by WasEnabled when
// it has none). The directory's errors pass through: directory.ErrDeleted for a deleted account,
// directory.ErrNotFound for one found nowhere, *directory.UnreadableRecordError for a record that cannot be read.
func (b *Blocker) Release(ctx context.Context, kind directory.Kind, guid, holdID string, opts ReleaseOptions) (ReleaseOutcome, error) {
	var out ReleaseOutcome
	acct, err := b.Directory.FindByGUID(ctx, kind, guid)
	if err != nil {
		return out, err
	}
	release := b.Directory.Release
	if opts.Again {
		release = b.Directory.ReleaseAgain
	}
	res, err := release(ctx, acct, holdID, opts.WasEnabled)
	// Also on an error: what the last attempt decided, its modify's answer lost, is what a retry must know (DialIn).
	out.Enabled, out.OtherHolds, out.DialIn, out.Lifted, out.LeftDisabled = res.Enabled, res.OtherHolds, res.DialIn, res.Lifted, res.LeftDisabled
	if err != nil {
		return out, fmt.Errorf("lifting the block of %s: %w", acct.DN, err)
	}
	if out.Enabled && !out.Lifted && opts.WaitVisible {
		var lagging *directory.VisibilityError
		if err := b.Directory.WaitVisible(ctx, acct.DN, directory.Visible{Enabled: true}); errors.As(err, &lagging) {
			out.Lagging = lagging.Lagging
		} else if err != nil {
			return out, fmt.Errorf("reading the change back: %w", err)
		}
	}
	return out, nil
}
