package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// maxWriteAttempts bounds the compare-and-swap retries of one change when others keep changing the account.
const maxWriteAttempts = 5

// GuardOptions relax the guards for one change.
type GuardOptions struct {
	// AllowPrivileged permits disabling members of protected groups (adminCount=1, or a membership, nested or direct).
	AllowPrivileged bool
	// Protected are more computers never to disable (such as the servers of one operation), by NetBIOS name or DNS
	// host name, each with the reason a refusal gives.
	Protected []Protected
}

// HoldRequest is a block to place on an account.
type HoldRequest struct {
	Hold Hold
	// Record writes the block record (info and description); without it only userAccountControl changes.
	Record bool
	Guard  GuardOptions
}

// HoldResult says what placing a hold found and did.
type HoldResult struct {
	// PriorEnabled is the account's state before the first block: the recorded one when a record exists, else the
	// state just read.
	PriorEnabled bool
	// Recorded is set when the hold is in the account's block record.
	Recorded bool
	// RecordErr says why the hold is not recorded although the account is disabled: the record does not fit
	// (*RecordTooLongError), the record on the account cannot be read (*UnreadableRecordError), or the directory
	// refused to write it. The record never stops a block.
	RecordErr error
	Account   Account
}

// ReleaseResult says what releasing a hold did.
type ReleaseResult struct {
	// Enabled is set when the account was enabled again.
	Enabled bool
	// OtherHolds are the blocks that still hold the account; it stays disabled for them.
	OtherHolds []Hold
	// DialIn is what the release did with msNPAllowDialin, for a hold whose line says it denies dial-in.
	DialIn DialInRelease
	// Lifted is set when a release sent before, whose answer was lost, is taken to have taken effect: the hold's line
	// is not in the account's block record (any more), or there is no record. Nothing was written; Enabled says
	// whether the account is enabled now, and DialIn what the lost modify of this call did with dial-in (Recorded:
	// the line it released denied dial-in, so that modify restored or kept it), zero for an earlier call's.
	Lifted bool
	// LeftDisabled is set when a Lifted account was to be enabled by the lost release (by wasEnabled without a record,
	// or by the record when the holds left keep it enabled) and is disabled: the lost release did not enable it, or
	// something disabled it since. It is left disabled: enabling it could undo a block placed by hand or by another
	// tool.
	LeftDisabled bool
}

// DialInRelease is what releasing a hold that denies dial-in did with msNPAllowDialin. It is decided and written in
// the modify that removes the hold line: a block placed meanwhile changes the notes, which makes that modify fail
// and the release decide again, so that a restore never lands under a new deny.
type DialInRelease struct {
	// Recorded is set when the released hold line said that it denies dial-in (and what was there before).
	Recorded bool
	// Prior is what the line said was there before the first block that denied dial-in.
	Prior DialIn
	// Restored is set when msNPAllowDialin was set back to Prior now.
	Restored bool
	// DeniedFor is another hold that denies dial-in too: msNPAllowDialin stays FALSE, and its release restores Prior.
	DeniedFor string
	// Changed is set when msNPAllowDialin no longer held the deny: someone changed it since (to Found), and their
	// value stays.
	Changed bool
	Found   DialIn
}

// OtherHoldsError refuses a block that does not record itself on an account whose record holds other blocks: the
// last of those, released, would enable the account while the unrecorded block still wants it disabled.
//
// It also refuses a recording block whose record cannot be written there (Cause says why: it does not fit, or the
// directory refused it), for the same reason: disabled without its hold in the record, the account would be enabled
// by the release of the last recorded hold.
type OtherHoldsError struct {
	DN    string
	Holds []Hold
	Cause error // why the block's record could not be written; nil when the block does not record itself
}

func (e *OtherHoldsError) Error() string {
	ids := make([]string, len(e.Holds))
	for i, h := range e.Holds {
		ids[i] = h.ID
	}
	if e.Cause != nil {
		return fmt.Sprintf("directory: %s carries the block record of other blocks (holds %s), and this block's hold cannot be "+
			"added to it (%v): the account is disabled without it, and releasing those blocks enables it; the next plan then "+
			"shows this block's account enabled and the next apply disables it again. Make room in the account's Notes",
			e.DN, strings.Join(ids, ", "), e.Cause)
	}
	return fmt.Sprintf("%s carries the block record of other blocks (holds %s), and this provider does not record blocks "+
		"(ldap.record_blocks = false): releasing those blocks would enable the account while this block still holds it. "+
		"Set ldap.record_blocks = true so that every block of the account is in its record", e.DN, strings.Join(ids, ", "))
}

func (e *OtherHoldsError) Unwrap() error { return e.Cause }

// UnrecordableBlockError refuses a block that leaves the account enabled (a remote-access-only block) where its hold
// cannot be recorded: such a block exists only in the account's block record, so nothing is written without it.
// Cause says why: the record does not fit, cannot be read, or the directory refused it.
type UnrecordableBlockError struct {
	DN    string
	Cause error
}

func (e *UnrecordableBlockError) Error() string {
	return fmt.Sprintf("directory: a block that leaves %s enabled exists only in the account's block record, and its hold "+
		"cannot be recorded there: %v. Nothing was changed", e.DN, e.Cause)
}

func (e *UnrecordableBlockError) Unwrap() error { return e.Cause }

// unrecordedKeepEnabled is the UnrecordableBlockError of a remote-access-only block whose record cannot be written:
// the provider does not record blocks (record false), the record cannot be read (recErr), or the directory refused it.
func unrecordedKeepEnabled(dn string, record bool, recErr error, refused *writeRefusedError) error {
	var unreadable *UnreadableRecordError
	switch {
	case !record:
		return &UnrecordableBlockError{DN: dn, Cause: errors.New("this provider does not record blocks (ldap.record_blocks = false)")}
	case errors.As(recErr, &unreadable):
		return &UnrecordableBlockError{DN: dn, Cause: fmt.Errorf("the block record in its Notes (info) cannot be read (%s): "+
			"restore the section as it was written", unreadable.Reason)}
	case recErr != nil:
		return &UnrecordableBlockError{DN: dn, Cause: recErr}
	default:
		return &UnrecordableBlockError{DN: dn, Cause: fmt.Errorf("the directory refused to write the block record: %w", refused.err)}
	}
}

// HeldByOthers lists the recorded holds on the account other than holdID; an unreadable record is an error.
func (a Account) HeldByOthers(holdID string) ([]Hold, error) {
	rec, err := a.ReadBlockRecord()
	if err != nil || rec == nil {
		return nil, err
	}
	return rec.Others(holdID), nil
}

// Hold disables acct and adds the hold to its block record (when req.Record), in one modify that changes only bit
// 0x2 of userAccountControl. Placing a hold that is already there changes nothing. Guarded accounts are refused, and
// so is a block without a record (req.Record false) of an account whose record holds other blocks.
//
// The record never stops the block: when it does not fit, cannot be read, or the directory refuses it, the account is
// disabled without it and HoldResult.RecordErr says why; when the record holds other blocks, RecordErr is an
// *OtherHoldsError (with its Cause), because their release will enable the account under this block. The error is
// non-nil only when the account was not disabled (or it is unknown whether it was: *OutcomeUnknownError).
func (c *Client) Hold(ctx context.Context, acct Account, req HoldRequest) (HoldResult, error) {
	var res HoldResult
	if req.Record && !validHoldID(req.Hold.ID) {
		return res, &ValidationError{Field: "hold id", Value: req.Hold.ID, Reason: "want 1 to 64 letters, digits, '-' or '_' " +
			"(the record writes it unquoted)"}
	}
	var refused *writeRefusedError // set when the directory refused the record: the retry disables without it
	decide := func(cur Account) (accountChange, error) {
		if err := c.Guard(cur, req.Guard); err != nil {
			return accountChange{}, err
		}
		ch := accountChange{uac: cur.UserAccountControl | UFAccountDisable}
		if req.Hold.KeepsEnabled {
			ch.uac = cur.UserAccountControl // the record is the whole write
		}
		rec, recErr := cur.ReadBlockRecord()
		res = HoldResult{PriorEnabled: cur.Enabled(), Account: cur}
		if rec != nil {
			res.PriorEnabled = rec.PriorEnabled
		}
		if req.Hold.KeepsEnabled && (!req.Record || recErr != nil || refused != nil) {
			return accountChange{}, unrecordedKeepEnabled(cur.DN, req.Record, recErr, refused)
		}
		if !req.Record {
			if others := rec.othersOf(req.Hold.ID); len(others) > 0 {
				return accountChange{}, &OtherHoldsError{DN: cur.DN, Holds: others}
			}
			return ch, nil
		}
		if recErr != nil {
			res.RecordErr = withDN(recErr, cur.DN)
			return ch, nil
		}
		if refused != nil {
			res.RecordErr = unrecorded(cur.DN, rec, req.Hold.ID, refused.err)
			return ch, nil //nolint:nilerr // the directory refused the record: disable without it, RecordErr says why
		}
		hold := req.Hold
		if hold.DeniesDialIn {
			found, err := cur.DialIn()
			if err != nil {
				found = DialInDeny // unreadable: the last release restores nothing, which fails safe
			}
			hold.PriorDialIn = priorDialIn(rec, hold.ID, found)
		}
		info, descr, err := recordHold(cur, rec, hold)
		if err != nil && req.Hold.KeepsEnabled {
			return accountChange{}, &UnrecordableBlockError{DN: cur.DN, Cause: err}
		}
		if err != nil {
			res.RecordErr = unrecorded(cur.DN, rec, req.Hold.ID, err)
			return ch, nil //nolint:nilerr // a record that cannot be written never stops the block: RecordErr reports it
		}
		ch.info, ch.description = &info, descr
		res.Recorded, res.Account.Info = true, info
		return ch, nil
	}
	err := c.change(ctx, acct, true, decide)
	if errors.As(err, &refused) && refused.withRecord {
		// The directory refused the record (a constraint, a syntax, no right to write info): disable without it.
		if err = c.change(ctx, acct, true, decide); err == nil {
			res.RecordErr = fmt.Errorf("the directory refused to write the block record: %w", refused.err)
		}
	}
	if !req.Hold.KeepsEnabled {
		res.Account.UserAccountControl |= UFAccountDisable
	}
	return res, err
}

// unrecorded is why a block's hold is not in the record (cause). The block still disables the account, as a record
// must never stop a block; when the record holds other blocks and not this one, the error says that the last of them
// released enables the account under this block (the block then sees the account enabled, and its next apply
// disables it again).
func unrecorded(dn string, rec *BlockRecord, holdID string, cause error) error {
	others := rec.othersOf(holdID)
	if len(others) == 0 || rec.hold(holdID) >= 0 {
		return cause
	}
	return &OtherHoldsError{DN: dn, Holds: others, Cause: cause}
}

// validHoldID reports an id the record's hold line reads back as written.
func validHoldID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

func (r *BlockRecord) othersOf(holdID string) []Hold {
	if r == nil {
		return nil
	}
	return r.Others(holdID)
}

func withDN(err error, dn string) error {
	var u *UnreadableRecordError
	if errors.As(err, &u) && u.DN == "" {
		c := *u
		c.DN = dn
		return &c
	}
	return err
}

// RecordCertificates writes, in the hold line of holdID in acct's block record, the serials of the certificates that
// block holds (nil: unknown, which another block's release reads as "may hold any": a block marks its line so before
// it holds more). Only info changes. A record without the hold changes nothing; one that cannot be read, or that would
// not fit, is an error, and the line stays as it was.
func (c *Client) RecordCertificates(ctx context.Context, acct Account, holdID string, serials []string) error {
	for _, s := range serials {
		if !validSerial(s) {
			return &ValidationError{Field: "certificate serial", Value: s, Reason: "want letters and digits"}
		}
	}
	return c.changeHoldLine(ctx, acct, holdID, func(cur Account, rec, next *BlockRecord, h *Hold) (accountChange, error) {
		ch := accountChange{uac: cur.UserAccountControl}
		h.Certificates = slices.Clone(serials)
		info, stored, err := next.format()
		if err == nil && serials != nil && forgetsCertificates(next, stored) {
			// It fits only without the lists: the line stays as it was rather than forget what every block holds
			// (marking it unknown, serials nil, may forget them: that fails safe).
			err = &RecordTooLongError{Attribute: attrInfo, Units: utf16Len(next.withSection(next.section(0))), Limit: maxRecordText}
		}
		if err != nil {
			return ch, err
		}
		ch.info = &info
		return ch, nil
	})
}

// RecordReason writes reason in the hold line of holdID in acct's block record, and in the one-line summary in
// description when that still shows what the blocks wrote and the hold is the one it names (the first). Only info
// and description change. A record without the hold changes nothing; one that cannot be read, or that would not fit,
// is an error, and the line stays as it was.
func (c *Client) RecordReason(ctx context.Context, acct Account, holdID, reason string) error {
	return c.changeHoldLine(ctx, acct, holdID, func(cur Account, rec, next *BlockRecord, h *Hold) (accountChange, error) {
		ch := accountChange{uac: cur.UserAccountControl}
		if h.Reason == reason {
			return ch, nil
		}
		h.Reason = reason
		info, stored, err := next.format()
		if err != nil {
			return ch, err
		}
		ch.info = &info
		if stored.ManagesDescription && describedByBlock(cur.Description, rec.summary()) {
			ch.description = ptr(stored.summary())
		}
		return ch, nil
	})
}

// changeHoldLine changes the hold line of holdID in acct's block record: decide gets the record as read (rec), a copy
// to change (next) and its line of holdID (h), and returns the change. A record without that hold changes nothing,
// and one that cannot be read is an error.
func (c *Client) changeHoldLine(ctx context.Context, acct Account, holdID string,
	decide func(cur Account, rec, next *BlockRecord, h *Hold) (accountChange, error)) error {
	return c.change(ctx, acct, false, func(cur Account) (accountChange, error) {
		rec, err := cur.ReadBlockRecord()
		i := -1
		if err == nil && rec != nil {
			i = rec.hold(holdID)
		}
		if i < 0 {
			return accountChange{uac: cur.UserAccountControl}, err
		}
		next := *rec
		next.Holds = slices.Clone(rec.Holds)
		return decide(cur, rec, &next, &next.Holds[i])
	})
}

// forgetsCertificates reports whether the stored record (format's) leaves out a list of certificates the record had.
func forgetsCertificates(rec, stored *BlockRecord) bool {
	for i, h := range rec.Holds {
		if h.Certificates != nil && stored.Holds[i].Certificates == nil {
			return true
		}
	}
	return false
}

// recordHold returns the info and description that record hold on cur: the description changes only when it shows
// what the block wrote (an administrator's edit stays).
func recordHold(cur Account, rec *BlockRecord, hold Hold) (string, *string, error) {
	oldSummary := ""
	if rec == nil {
		rec = newRecord(cur)
	} else {
		oldSummary = rec.summary()
	}
	next := *rec
	next.Holds = slices.Clone(rec.Holds)
	switch i := next.hold(hold.ID); {
	case i < 0:
		next.Holds = append(next.Holds, hold)
	case hold.DeniesDialIn && !next.Holds[i].DeniesDialIn: // deny_dial_in set on a block in state
		next.Holds[i].DeniesDialIn, next.Holds[i].PriorDialIn = true, hold.PriorDialIn
	}
	first := len(rec.Holds) == 0
	info, stored, err := next.formatMay(false)
	if err != nil && first {
		// Leave description alone: the record no longer needs the earlier description, so it may fit then.
		next.ManagesDescription, next.PriorDescription = false, ""
		info, stored, err = next.formatMay(false)
	}
	if err != nil {
		// Last, the lists of certificates give way (see format).
		info, stored, err = next.format()
	}
	if err != nil {
		return "", nil, err
	}
	if !stored.ManagesDescription || (!first && !describedByBlock(cur.Description, oldSummary)) {
		return info, nil, nil
	}
	return info, ptr(stored.summary()), nil
}

// describedByBlock reports whether the description is still what the blocks wrote: their summary, or a summary an
// earlier version wrote (it shortened and cleaned it differently, but began it the same way). Anything else is an
// administrator's edit, which stays.
func describedByBlock(description, summary string) bool {
	return description == summary || strings.HasPrefix(description, descriptionPrefix)
}

// Release removes the hold from acct's block record. When no other hold remains, it restores what the blocks
// changed: it removes the record's section from the notes (an administrator's text beside it stays), puts the earlier
// description back unless an administrator changed it during the block, and enables the account when it was enabled
// before the first block. With no record on the account (recording off, or cleared by hand), the account is enabled
// again only when wasEnabled says it was. A record that cannot be read changes nothing: *UnreadableRecordError.
func (c *Client) Release(ctx context.Context, acct Account, holdID string, wasEnabled bool) (ReleaseResult, error) {
	return c.release(ctx, acct, holdID, wasEnabled, false)
}

// ReleaseAgain is Release after an earlier release of the hold was sent and its answer lost (*OutcomeUnknownError):
// an account whose block record has no line of the hold, or that has no record, is taken as released by it, and is
// left as it is now.
func (c *Client) ReleaseAgain(ctx context.Context, acct Account, holdID string, wasEnabled bool) (ReleaseResult, error) {
	return c.release(ctx, acct, holdID, wasEnabled, true)
}

// release takes holdID out of the account's block record. sent says that a release was sent before, its answer
// lost, so that it may have been applied; an attempt of this call whose reply is lost counts as one too, and so does
// a record read by an earlier attempt that is gone now. The account without the hold's line, or without a record, is
// then left as it is: that release took the line off (and enabled the account by the record, or by wasEnabled for a
// block that is not recorded), and whatever disabled it since is not undone. Failing safe, this also leaves disabled
// an account whose record someone removed by hand while the lost release had not landed.
func (c *Client) release(ctx context.Context, acct Account, holdID string, wasEnabled, sent bool) (ReleaseResult, error) {
	var res ReleaseResult
	sawRecord := false // an attempt before this one read the record: one without it now was taken off meanwhile
	err := c.changeDeciding(ctx, acct, false, func(cur Account, lost bool) (accountChange, error) {
		sent = sent || lost
		rec, err := cur.ReadBlockRecord()
		if err != nil {
			return accountChange{}, withDN(err, cur.DN)
		}
		carried := res.DialIn // what an earlier attempt's modify, lost, did with msNPAllowDialin
		res = ReleaseResult{}
		if (sent || sawRecord) && (rec == nil || rec.hold(holdID) < 0) {
			enabled := cur.UserAccountControl&UFAccountDisable == 0
			// The lost release enabled the account when it was to: by wasEnabled without a record, else by the record
			// when every hold left keeps the account enabled.
			toEnable := wasEnabled && (rec == nil || rec.PriorEnabled && !slices.ContainsFunc(rec.Holds, func(h Hold) bool { return !h.KeepsEnabled }))
			res = ReleaseResult{Lifted: true, Enabled: enabled, LeftDisabled: toEnable && !enabled, DialIn: carried}
			if rec != nil {
				res.OtherHolds = rec.Others(holdID)
			}
			return accountChange{uac: cur.UserAccountControl}, nil
		}
		if rec == nil {
			if !wasEnabled {
				return accountChange{uac: cur.UserAccountControl}, nil
			}
			res.Enabled = true
			return accountChange{uac: cur.UserAccountControl &^ UFAccountDisable}, nil
		}
		sawRecord = true
		ch, enable, err := releaseHold(cur, rec, holdID)
		res.Enabled = enable
		res.OtherHolds = rec.Others(holdID)
		if err == nil {
			res.DialIn = releaseDialIn(cur, rec, holdID, &ch)
		}
		return ch, err
	})
	return res, err
}

// releaseHold decides the change that takes holdID out of rec.
func releaseHold(cur Account, rec *BlockRecord, holdID string) (accountChange, bool, error) {
	next := *rec
	next.Holds = rec.Others(holdID)
	ours := rec.ManagesDescription && describedByBlock(cur.Description, rec.summary())
	ch := accountChange{uac: cur.UserAccountControl}
	// Only the release of a block that disabled the account enables it, and only when no remaining block wants it
	// disabled; a block that kept the account enabled never changes it.
	enable := rec.PriorEnabled && len(next.Holds) == 0
	if released := rec.hold(holdID); released >= 0 {
		enable = rec.PriorEnabled && !rec.Holds[released].KeepsEnabled &&
			!slices.ContainsFunc(next.Holds, func(h Hold) bool { return !h.KeepsEnabled })
	}
	if len(next.Holds) > 0 {
		info, stored, err := next.format()
		if err != nil {
			return accountChange{}, false, err
		}
		ch.info = &info
		if ours {
			ch.description = ptr(stored.summary())
		}
		if enable {
			ch.uac &^= UFAccountDisable
		}
		return ch, enable, nil
	}
	ch.info = ptr(rec.notes())
	if ours {
		ch.description = &rec.PriorDescription
	}
	if enable {
		ch.uac &^= UFAccountDisable
	}
	return ch, enable, nil
}

// releaseDialIn decides, for the release of holdID from rec, what to write in msNPAllowDialin (into ch): the prior
// its line recorded, when it denies dial-in, no other hold does, and the deny is still there.
func releaseDialIn(cur Account, rec *BlockRecord, holdID string, ch *accountChange) DialInRelease {
	i := rec.hold(holdID)
	if i < 0 || !rec.Holds[i].DeniesDialIn {
		return DialInRelease{}
	}
	out := DialInRelease{Recorded: true, Prior: rec.Holds[i].PriorDialIn}
	if j := slices.IndexFunc(rec.Others(holdID), func(h Hold) bool { return h.DeniesDialIn }); j >= 0 {
		out.DeniedFor = rec.Others(holdID)[j].ID
		return out
	}
	found, err := cur.DialIn()
	switch {
	case err != nil || found != DialInDeny:
		out.Changed, out.Found = true, found // changed since (or never denied, its write having failed): it stays
		if err != nil {
			out.Found = DialIn(cur.AllowDialin)
		}
	case out.Prior != DialInDeny:
		ch.dialIn, out.Restored = &out.Prior, true
	}
	return out
}

// ReadBlockRecord reads the account's block record: nil when none is written, *UnreadableRecordError when it cannot
// be read.
func (a Account) ReadBlockRecord() (*BlockRecord, error) {
	rec, err := ReadBlockRecord(a.Info)
	return rec, withDN(err, a.DN)
}

// SetDisabled sets or clears ACCOUNTDISABLE on acct without a block record and reports whether the account was
// enabled before. Guarded accounts are refused when disabling.
func (c *Client) SetDisabled(ctx context.Context, acct Account, disabled bool) (wasEnabled bool, err error) {
	err = c.change(ctx, acct, disabled, func(cur Account) (accountChange, error) {
		wasEnabled = cur.Enabled()
		if !disabled {
			return accountChange{uac: cur.UserAccountControl &^ UFAccountDisable}, nil
		}
		if err := c.Guard(cur, GuardOptions{}); err != nil {
			return accountChange{}, err
		}
		return accountChange{uac: cur.UserAccountControl | UFAccountDisable}, nil
	})
	return wasEnabled, err
}

// accountChange is what one change writes; nil pointers leave an attribute as it is.
type accountChange struct {
	uac               uint32
	info, description *string
	dialIn            *DialIn
}

func ptr(s string) *string { return &s }

// beforeWrite runs between the read and the write of a change; tests use it to change the account in between.
var beforeWrite = func(string) {}

// writeRefusedError is a modify the directory answered with a refusal other than a stale compare-and-swap.
type writeRefusedError struct {
	err        error
	withRecord bool // the modify wrote info or description
}

func (e *writeRefusedError) Error() string { return e.err.Error() }
func (e *writeRefusedError) Unwrap() error { return e.err }

// OutcomeUnknownError is a modify that was sent but whose reply was lost (the connection broke), and whose effect
// could not be read back on a fresh connection either: it may or may not have been applied. It is never sent again
// blindly; the next attempt reads the account and decides on what it finds.
type OutcomeUnknownError struct {
	DN     string
	Writer string // the domain controller the modify went to
	Sent   error  // how the reply was lost
	Reread error  // why the account could not be read back
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("directory: the change of %s was sent to %s but its reply was lost (%v), and reading the account back "+
		"failed (%v): it is not known whether the change was applied; the next apply reads the account and completes it",
		e.DN, e.Writer, e.Sent, e.Reread)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Sent }

// sentError marks a modify that may have reached the directory: the pool must not run it again.
type sentError struct{ err error }

func (e *sentError) Error() string { return e.err.Error() }
func (e *sentError) Unwrap() error { return e.err }

// change re-reads the account on the writer domain controller, asks decide what to write, and writes it in one
// modify that deletes the values read and adds the new ones: Active Directory refuses it (noSuchAttribute or
// attributeOrValueExists) when someone else changed the account in between, and the change is decided again on a
// fresh read, so a concurrent change of another bit or of the notes is never lost. Only values that change are
// written. A modify whose reply is lost is never sent again as it was: the account is read on a fresh connection and
// the change decided again on what that read shows (decide finds its own hold there when the lost modify was
// applied).
// guarded changes read the account's privileged memberships for the guard; a release does not need them.
func (c *Client) change(ctx context.Context, acct Account, guarded bool, decide func(cur Account) (accountChange, error)) error {
	return c.changeDeciding(ctx, acct, guarded, func(cur Account, _ bool) (accountChange, error) { return decide(cur) })
}

// changeDeciding is change whose decide is told when the attempt before it sent a modify whose reply was lost (lost).
func (c *Client) changeDeciding(ctx context.Context, acct Account, guarded bool, decide func(cur Account, lost bool) (accountChange, error)) error {
	return c.onWriter(ctx, acct.DN, func(ctx context.Context, w *pool) error {
		return c.changeOn(ctx, w, acct, guarded, decide)
	})
}

// onWriter runs fn on the writer domain controller, within the LDAP timeout, holding the account's lock so that this
// client's changes of one account do not race each other.
func (c *Client) onWriter(ctx context.Context, dn string, fn func(ctx context.Context, w *pool) error) error {
	if dn == "" {
		return &ValidationError{Field: "account", Reason: "no DN (look the account up first)"}
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	lock := c.accountLock(dn)
	lock.Lock()
	defer lock.Unlock()
	w, err := c.writer(ctx)
	if err != nil {
		return err
	}
	return fn(ctx, w)
}

// changeOn is change's compare-and-swap loop on the writer w.
func (c *Client) changeOn(ctx context.Context, w *pool, acct Account, guarded bool, decide func(cur Account, lost bool) (accountChange, error)) error {
	var lost, conflict, busy error
	for attempt := 1; attempt <= maxWriteAttempts; attempt++ {
		cur, err := c.readForChange(ctx, w, acct, guarded)
		if err != nil {
			if lost != nil {
				return &OutcomeUnknownError{DN: acct.DN, Writer: w.name(), Sent: lost, Reread: err}
			}
			return err
		}
		ch, err := decide(cur, lost != nil)
		if err != nil {
			return err
		}
		mod := modifyFor(cur, ch)
		if len(mod.Changes) == 0 {
			return nil
		}
		beforeWrite(cur.DN)
		err = w.do(ctx, func(conn *ldap.Conn) error {
			if err := conn.Modify(mod); err != nil {
				if !isBusy(err) && (isUnreachable(err) || conn.IsClosing()) {
					return &sentError{err}
				}
				return err
			}
			return nil
		})
		var sent *sentError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &sent):
			lost = err
		case ctx.Err() != nil:
			return err
		case isBusy(err):
			// The controller answered that it did nothing, for now: decide again on a fresh read after a pause.
			busy = fmt.Errorf("writing %s of %s to %s: %w", modifiedAttributes(mod), cur.DN, w.name(), err)
			select {
			case <-time.After(time.Duration(attempt) * busyPause):
			case <-ctx.Done():
				return busy
			}
		case !ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultAttributeOrValueExists):
			return &writeRefusedError{err: fmt.Errorf("writing %s of %s to %s: %w", modifiedAttributes(mod), cur.DN, w.name(), err),
				withRecord: (ch.info != nil || ch.description != nil) && refusesTheRecord(err)}
		default:
			conflict = err
		}
	}
	switch {
	case lost != nil:
		return &OutcomeUnknownError{DN: acct.DN, Writer: w.name(), Sent: lost,
			Reread: fmt.Errorf("no read back within %d attempts (the account kept changing, or the last reply was lost)", maxWriteAttempts)}
	case busy != nil && conflict == nil:
		return fmt.Errorf("the domain controller stayed busy (%d attempts), and nothing was written: %w", maxWriteAttempts, busy)
	}
	return fmt.Errorf("%s kept changing while it was written (%d attempts): %w", acct.DN, maxWriteAttempts, conflict)
}

// busyPause is the pause before writing again to a controller that answered busy or unavailable, times the attempt.
const busyPause = 200 * time.Millisecond

// isBusy says whether the directory answered that it did not carry out a request for now (busy, unavailable).
func isBusy(err error) bool {
	return ldap.IsErrorAnyOf(err, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable)
}

// refusesTheRecord says whether a refused write may have been refused for its block record (its size or syntax, a
// right to write info or description), so that the block is worth trying without it. A failure of the controller
// itself (an operations error, a time limit, "other") is not, and must not cost the block its record.
func refusesTheRecord(err error) bool {
	return ldap.IsErrorAnyOf(err, ldap.LDAPResultConstraintViolation, ldap.LDAPResultInvalidAttributeSyntax,
		ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultAdminLimitExceeded, ldap.LDAPResultUnwillingToPerform,
		ldap.LDAPResultObjectClassViolation, ldap.LDAPResultUndefinedAttributeType)
}

// readForChange reads the account on the writer, with its privileged memberships when guarded, and checks that it is still the
// same object.
func (c *Client) readForChange(ctx context.Context, w *pool, acct Account, guarded bool) (Account, error) {
	var cur Account
	err := w.do(ctx, func(conn *ldap.Conn) error {
		var err error
		cur, err = readAccount(conn, acct.DN)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	if acct.ObjectGUID != "" && !strings.EqualFold(cur.ObjectGUID, acct.ObjectGUID) {
		return Account{}, fmt.Errorf("%s now has objectGUID %s, not %s: the account was replaced", acct.DN, cur.ObjectGUID, acct.ObjectGUID)
	}
	if guarded {
		if cur.PrivilegedVia, err = c.privilegedVia(ctx, w.do, cur); err != nil {
			return Account{}, err
		}
	}
	return cur, nil
}

// modifyFor builds the compare-and-swap modify from cur to ch.
func modifyFor(cur Account, ch accountChange) *ldap.ModifyRequest {
	mod := ldap.NewModifyRequest(cur.DN, nil)
	if ch.uac != cur.UserAccountControl {
		// The attribute is a signed 32-bit integer: write it as such.
		mod.Delete("userAccountControl", []string{signed(cur.UserAccountControl)})
		mod.Add("userAccountControl", []string{signed(ch.uac)})
	}
	if ch.info != nil && *ch.info != cur.Info {
		if cur.Info != "" {
			mod.Delete(attrInfo, []string{cur.Info})
		}
		if *ch.info != "" {
			mod.Add(attrInfo, []string{*ch.info})
		}
	}
	if ch.dialIn != nil && string(*ch.dialIn) != strings.ToUpper(cur.AllowDialin) {
		if cur.AllowDialin != "" {
			mod.Delete(attrDialIn, []string{cur.AllowDialin})
		}
		if *ch.dialIn != DialInAbsent {
			mod.Add(attrDialIn, []string{string(*ch.dialIn)})
		}
	}
	if ch.description != nil && *ch.description != cur.Description {
		if cur.Description != "" {
			mod.Delete(attrDescription, []string{cur.Description})
		}
		if *ch.description != "" {
			mod.Add(attrDescription, []string{*ch.description})
		}
	}
	return mod
}

// modifiedAttributes names the attributes a modify changes, for an error that says what the directory refused.
func modifiedAttributes(mod *ldap.ModifyRequest) string {
	var names []string
	for _, c := range mod.Changes {
		if !slices.Contains(names, c.Modification.Type) {
			names = append(names, c.Modification.Type)
		}
	}
	return strings.Join(names, ", ")
}

func signed(uac uint32) string {
	return strconv.FormatInt(int64(int32(uac)), 10) //nolint:gosec // the schema's signed 32-bit form
}
