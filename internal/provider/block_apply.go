package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// privateHoldKey keeps the hold id in the resource's private state: chosen before the account is written, so that
// a retry or the next apply recognises its own hold, also where the state holds none (a record that was not
// written, ldap.record_blocks = false).
const privateHoldKey = "hold"

type privateHold struct {
	ID string `json:"id"`
}

// privateReleasedKey marks, in the private state of a block whose destroy failed, that this destroy released the
// account's hold already (its certificates did not all come off hold after it): the next destroy does not release it
// again. With the hold gone from the record, a second release would enable an account that was enabled before the
// block whatever disabled it since (an administrator, a block that does not record itself); and the certificates
// stay on hold while any other block of the device is recorded (it may have found them on hold since). An apply that
// holds the account again clears it. Its value is JSON true (a time string from earlier versions).
const privateReleasedKey = "released"

// privateReleaseSentKey marks, in the private state of a block whose destroy failed because the answer to the
// release was lost (an outcome unknown), that the release was sent: the next destroy releases again
// (block.ReleaseOptions.Again) only while the account's block record has the hold's line. Without it, the lost
// release took the line off, with the enable it carried if any, and whatever disabled the account since (a
// helpdesk, another tool) keeps it disabled; without a record (a block not recorded), the account is left as it is.
// An apply that holds the account again clears it.
const privateReleaseSentKey = "release_sent"

// privateState is the part of the framework's private state a block uses.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// holdID is the block's hold id: the one in state, else the one in private state, else a new one, which is saved
// in private state before anything is written.
func holdID(ctx context.Context, inState types.String, from privateState, to privateState, diags *diag.Diagnostics) string {
	id := inState.ValueString()
	if id == "" && from != nil {
		raw, d := from.GetKey(ctx, privateHoldKey)
		diags.Append(d...)
		var h privateHold
		if len(raw) > 0 && json.Unmarshal(raw, &h) == nil {
			id = h.ID
		}
	}
	if id == "" {
		id = newHoldID()
	}
	raw, _ := json.Marshal(privateHold{ID: id}) // a struct of one string always encodes
	diags.Append(to.SetKey(ctx, privateHoldKey, raw)...)
	return id
}

// create blocks the account of a new block.
func (o *blockOps) create(ctx context.Context, state blockState, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.Append(req.Plan.Get(ctx, state)...)
	m := state.common()
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := m.Timeouts.Create(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	blocker := o.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	hold := holdID(ctx, types.StringNull(), nil, resp.Private, &resp.Diagnostics)
	opts := o.options(ctx, state, hold, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.accountName().ValueString()
	target, err := blocker.Resolve(ctx, o.kind.kind, name, opts.Guard)
	if err != nil {
		addBlockError(&resp.Diagnostics, o.nameAttr(), o.kind.noun, name, err)
		return
	}
	tflog.Info(ctx, "blocking account", map[string]any{"dn": target.Account.DN, "servers": opts.Servers})
	opts.BeforePurge = o.dialInBeforePurge(state, name, opts.Hold.ID, &resp.Diagnostics)
	out := blocker.Ensure(ctx, target, opts, block.Prior{})
	if !out.Disabled && !out.HoldUnknown {
		// Nothing was changed: no state to record.
		addBlockError(&resp.Diagnostics, o.nameAttr(), o.kind.noun, name, out.Cause())
		return
	}
	if d := state.dialIn(); d != nil && d.PriorDialIn.IsUnknown() {
		// The deny is written only once the hold is in place (BeforePurge): an Ensure that stopped before it (the
		// disable's reply lost) leaves it to the next apply, which the null prior_dial_in plans.
		d.PriorDialIn = types.StringNull()
	}
	m.WasEnabled = types.BoolValue(out.WasEnabled)
	m.BlockedAt = blockedAt(opts.Hold)
	m.HoldID = types.StringNull()
	if opts.Record && (out.Wrote || out.Recorded) {
		// Written (the record with it, or a warning says why not), or found in the record. A hold whose answer was
		// lost leaves it null: the next plan is an update that records the block (with the same id, kept in
		// private state) or finds it recorded.
		m.HoldID = types.StringValue(hold)
	}
	m.Purged = types.MapValueMust(purgedType, map[string]attr.Value{})
	setAccount(state, out.Target.Account)
	o.record(ctx, state, out, &resp.Diagnostics)
	recordLever(ctx, state.certificates(), nil, out, &resp.Diagnostics)
	// With the disable's outcome unknown, account_enabled stays as planned (false): the next refresh reads the
	// directory, and the next apply blocks in place if the disable did not land.
	if state.account().disables() {
		m.AccountEnabled = types.BoolValue(false)
	}
	// The state is recorded even when a later step failed, so that the next apply completes the block and destroy can
	// still release it. A failure after the account is disabled is a warning, not an error: an error would taint the
	// block, and replacing a tainted block re-enables the account in between.
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: m.ObjectGUID})...)
	o.warn(&resp.Diagnostics, name, out)
}

// update completes the block in place: blocks again after an out-of-band re-enable, purges the pending servers,
// records a block not recorded yet. It never re-enables the account.
func (o *blockOps) update(ctx context.Context, prior, state blockState, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.Append(req.State.Get(ctx, prior)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	before, m := prior.common(), state.common()
	timeout, diags := m.Timeouts.Update(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	pending := o.pendingInConfig(ctx, before, m, &diag.Diagnostics{}) // ModifyPlan already warned
	if !m.PurgeSessions.ValueBool() {
		pending = nil
	}
	record := o.clients != nil && o.clients.settings.LDAP.RecordBlocks && before.HoldID.IsNull()
	renamed := !prior.accountName().Equal(state.accountName())
	// What the plan left unknown comes from the prior state; Ensure's outcome overwrites what it changes.
	m.ID, m.ObjectGUID, m.ObjectSID, m.DistinguishedName = before.ID, before.ObjectGUID, before.ObjectSID, before.DistinguishedName
	m.Purged, m.BlockedAt, m.Identities, m.HoldID = before.Purged, before.BlockedAt, before.Identities, before.HoldID
	m.WasEnabled, m.AccountEnabled = before.WasEnabled, before.AccountEnabled
	m.PendingServers = stringList(ctx, pending, &resp.Diagnostics)
	leverPending := leverNeedsCompletion(prior.certificates(), state.certificates())
	if l := state.certificates(); l != nil {
		bl := prior.certificates()
		l.HeldCertificates, l.PendingAuthorities, l.PendingFlush = bl.HeldCertificates, bl.PendingAuthorities, bl.PendingFlush
	}
	dialIn := false
	if d := state.dialIn(); d != nil {
		d.PriorDialIn = prior.dialIn().PriorDialIn
		// Without a purge no server is pending but the ones a refresh named when it found the deny changed out of
		// band (readDialIn): the hold writes it again then.
		dialIn = d.pending() || (!m.PurgeSessions.ValueBool() && len(before.PendingServers.Elements()) > 0)
	}
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: before.ObjectGUID})...)
	blocker := o.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	name := state.accountName().ValueString()
	if renamed && !o.sameAccount(ctx, name, before.ObjectGUID.ValueString(), &resp.Diagnostics) {
		return
	}
	reason := holdReason(m.Reason.ValueString(), m.Ticket.ValueString())
	if o.clients.settings.LDAP.RecordBlocks && !before.HoldID.IsNull() && reason != holdReason(before.Reason.ValueString(), before.Ticket.ValueString()) {
		o.recordReason(ctx, before.ObjectGUID.ValueString(), before.HoldID.ValueString(), reason, &resp.Diagnostics)
	}
	reblock := state.account().disables() && before.AccountEnabled.ValueBool()
	if !reblock && len(pending) == 0 && !record && !leverPending && !dialIn {
		resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
		return
	}
	hold := holdID(ctx, before.HoldID, req.Private, resp.Private, &resp.Diagnostics)
	opts := o.options(ctx, state, hold, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	target, err := blocker.ResolveGUID(ctx, o.kind.kind, before.ObjectGUID.ValueString(), opts.Guard)
	if err != nil {
		addBlockError(&resp.Diagnostics, o.nameAttr(), o.kind.noun, name, err)
		return
	}
	if target.Account.Enabled() {
		tflog.Warn(ctx, "account was re-enabled out of band; blocking again", map[string]any{"dn": target.Account.DN})
	}
	certPrior := o.leverPrior(ctx, prior.certificates(), state.certificates(), opts, &resp.Diagnostics)
	opts.BeforePurge = o.dialInBeforePurge(state, name, opts.Hold.ID, &resp.Diagnostics)
	out := blocker.Ensure(ctx, target, opts, block.Prior{Held: true, Pending: pending, Certificates: certPrior})
	if !out.Disabled && !out.HoldUnknown {
		addBlockError(&resp.Diagnostics, o.nameAttr(), o.kind.noun, name, out.Cause())
		return
	}
	if out.Wrote && out.NewlyDisabled {
		m.BlockedAt = blockedAt(opts.Hold)
	}
	if out.Wrote || out.Recorded {
		// Held again (written now, or its line found in the record: written by a hold whose answer was lost):
		// destroy releases it.
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateReleasedKey, nil)...)
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateReleaseSentKey, nil)...)
	}
	if opts.Record && (out.Wrote || out.Recorded) {
		// Only a hold written or found in the record: one that could not be written leaves hold_id null, so that
		// every plan shows the update that records it.
		m.HoldID = types.StringValue(hold)
	}
	if before.HoldID.IsNull() && out.Recorded {
		// A line found in the record (written by a hold whose answer was lost) has the reason of then.
		if h, ok := heldLine(out.Target.Account, hold); ok && h.Reason != directory.ReasonInRecord(reason) {
			o.recordReason(ctx, before.ObjectGUID.ValueString(), hold, reason, &resp.Diagnostics)
		}
	}
	// The account's attributes stay as planned (the next refresh reads them): the plan took them from the
	// directory, and an account renamed or moved since would make the result differ from the plan.
	o.record(ctx, state, out, &resp.Diagnostics)
	recordLever(ctx, state.certificates(), certPrior.Known, out, &resp.Diagnostics)
	if state.account().disables() {
		m.AccountEnabled = types.BoolValue(false) // as planned; see create
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	o.warn(&resp.Diagnostics, name, out)
}

// heldLine is the hold line of holdID in the account's block record.
func heldLine(acct directory.Account, holdID string) (directory.Hold, bool) {
	if rec := acct.BlockRecord(); rec != nil {
		return rec.HoldWithID(holdID)
	}
	return directory.Hold{}, false
}

// recordReason writes a block's new reason (and ticket) in its hold line of the account's block record, so that an
// administrator who looks at the account reads why it is blocked now. A record that cannot be written is a warning:
// the block holds as it did.
func (o *blockOps) recordReason(ctx context.Context, guid, holdID, reason string, diags *diag.Diagnostics) {
	dir, err := o.directory()
	var acct directory.Account
	if err == nil {
		acct, err = dir.ReadByGUID(ctx, o.kind.kind, guid)
	}
	if err == nil {
		err = dir.RecordReason(ctx, acct, holdID, directory.ReasonInRecord(reason))
	}
	if err != nil {
		diags.AddWarning("The block record still shows the earlier reason",
			fmt.Sprintf("The new reason and ticket are in the state, but the account's block record could not be "+
				"rewritten: %s. The block holds as before. To write them, change the reason again and apply, or correct "+
				"this block's line (hold id=%s) in the account's Notes.", err, holdID))
	}
}

// sameAccount resolves a new account name at apply time (it was unknown or another spelling at plan time) and
// refuses, changing nothing, when it names another account than the block's.
func (o *blockOps) sameAccount(ctx context.Context, name, guid string, diags *diag.Diagnostics) bool {
	dir, err := o.directory()
	if err != nil {
		diags.AddError("Active Directory is not configured", err.Error())
		return false
	}
	acct, err := o.find(ctx, dir, name)
	if err != nil {
		addBlockError(diags, o.nameAttr(), o.kind.noun, name, err)
		return false
	}
	if !strings.EqualFold(acct.ObjectGUID, guid) {
		diags.AddAttributeError(o.nameAttr(), fmt.Sprintf("%s names another %s account than the block", name, o.kind.noun),
			fmt.Sprintf("The name, unknown when the plan was made, resolves to %s (objectGUID %s), while this block holds the "+
				"account with objectGUID %s. A block stays with its account: %s Nothing was changed.", acct.DN, acct.ObjectGUID,
				guid, moveBlockRemedy))
		return false
	}
	return true
}

func (o *blockOps) find(ctx context.Context, dir *directory.Client, name string) (directory.Account, error) {
	if o.kind.kind == directory.KindComputer {
		return dir.FindComputer(ctx, name)
	}
	return dir.FindUser(ctx, name)
}

// blockedAt is when the block disabled the account: the time of its hold, taken just before the disable and written
// in the account's block record (since=), which an import reads back. The apply ends later, after the purge and the
// verify window.
func blockedAt(hold directory.Hold) types.String {
	return types.StringValue(hold.Since.UTC().Format(time.RFC3339))
}

// record copies an outcome into the model: the identities purged, the servers pending, and the purge counts, which
// add to those in state, server by server.
func (o *blockOps) record(ctx context.Context, state blockState, out block.Outcome, diags *diag.Diagnostics) {
	m := state.common()
	ids, d := types.ListValueFrom(ctx, types.StringType, out.Target.Identities)
	diags.Append(d...)
	m.Identities = ids
	m.PendingServers = stringList(ctx, out.Pending, diags)
	purged := map[string]attr.Value{}
	if !m.Purged.IsNull() && !m.Purged.IsUnknown() {
		purged = m.Purged.Elements()
	}
	for server, c := range out.Purged {
		counts := map[string]int{"main_mode_sas": c.MainModeSAs, "quick_mode_sas": c.QuickModeSAs, "vpn_connections": c.VPNConnections}
		if before, ok := purged[server].(types.Object); ok { // a pending server purged again: what each purge removed
			for name, v := range before.Attributes() {
				if n, ok := v.(types.Int64); ok {
					counts[name] += int(n.ValueInt64())
				}
			}
		}
		values := map[string]attr.Value{}
		for name, n := range counts {
			values[name] = types.Int64Value(int64(n))
		}
		purged[server] = types.ObjectValueMust(purgedType.AttrTypes, values)
	}
	pm, d := types.MapValue(purgedType, purged)
	diags.Append(d...)
	m.Purged = pm
}

// warn reports every failure of a block that holds (or may hold) the account: the record as its own warning, the
// rest as BLOCK INCOMPLETE with the servers still pending. The next plan is not empty while servers are pending,
// so `plan -detailed-exitcode` exits 2 until the block is complete.
func (o *blockOps) warn(diags *diag.Diagnostics, name string, out block.Outcome) {
	if len(out.Lagging) > 0 {
		diags.AddWarning(fmt.Sprintf("Domain controllers do not show the block of %s yet", name),
			fmt.Sprintf("%s did not show the block (the account disabled, or the user's dial-in denied) within ldap.timeout; "+
				"sessions were purged meanwhile, and again where they had come back when the read-back ended; NPS and the "+
				"servers that ask those controllers may let the account back in until they do. Check replication to them.",
				strings.Join(out.Lagging, ", ")))
	}
	var failures []string
	for _, f := range out.Failures {
		if f.Step == block.StepRecordCertificates {
			diags.AddWarning(fmt.Sprintf("The certificates held by the block of %s are not recorded on the account", name),
				f.Err.Error()+"\n\nThe certificates are held all the same (held_certificates lists them). The block's hold line "+
					"says nothing about certificates, and the other blocks of the device keep every certificate of it on hold; "+
					"if the line could not be marked either, it still lists what the block held before, and another block's "+
					"release may take a newly held one off hold: the next refresh shows that as drift and the next apply holds "+
					"it again. The next apply that changes the hold records them.")
			continue
		}
		if f.Step == block.StepRecord {
			diags.AddWarning(fmt.Sprintf("The block of %s is not recorded on the account", name),
				f.Err.Error()+"\n\nThe account is disabled all the same and the block is kept in state with its hold_id. "+
					"Destroying it re-enables the account only if it was enabled before and no recorded block holds it.")
			continue
		}
		failures = append(failures, "- "+f.Error())
	}
	if len(failures) == 0 && len(out.Pending) == 0 && len(out.PendingAuthorities) == 0 && len(out.PendingFlush) == 0 {
		return
	}
	pending := "none"
	if len(out.Pending) > 0 {
		pending = strings.Join(out.Pending, ", ")
	}
	state := "is disabled"
	if out.Target.Account.Enabled() {
		state = "stays enabled (disable_account = false)"
	}
	if out.HoldUnknown {
		state = "may not be disabled yet (the directory's answer to the disable was lost)"
	}
	detail := fmt.Sprintf("BLOCK INCOMPLETE. The %s account %s %s, and the block is kept in state, but it is not "+
		"complete on: %s.\n\n", o.kind.noun, name, state, pending)
	if len(out.PendingAuthorities) > 0 {
		detail += fmt.Sprintf("The certificate hold is pending at: %s (the device's certificates there still work).\n\n",
			strings.Join(out.PendingAuthorities, ", "))
	}
	if len(out.PendingFlush) > 0 {
		detail += fmt.Sprintf("The revocation caches are not flushed on: %s (they may accept the held certificate until "+
			"their cached CRL expires).\n\n", strings.Join(out.PendingFlush, ", "))
	}
	if len(failures) > 0 {
		detail += strings.Join(failures, "\n") + "\n\n"
	}
	detail += "Every plan shows an in-place update until the block is complete (terraform plan -detailed-exitcode " +
		"exits 2), and the next apply completes it without re-enabling the account; destroy releases its hold."
	diags.AddWarning(fmt.Sprintf("The block of %s is not complete on every Remote Access server", name), detail)
}

// remove releases the block's hold (Release, the mirror of Ensure). A hold is never forgotten silently: an account
// that is found nowhere is an error naming the account and the hold.
func (o *blockOps) remove(ctx context.Context, state blockState, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := state.common()
	timeout, diags := m.Timeouts.Delete(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	blocker := o.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	name := state.accountName().ValueString()
	hold := holdID(ctx, m.HoldID, req.Private, privateSink{}, &resp.Diagnostics)
	disables := state.account().disables() // a remote-access-only block never enables the account
	released, d := req.Private.GetKey(ctx, privateReleasedKey)
	resp.Diagnostics.Append(d...)
	sent, d := req.Private.GetKey(ctx, privateReleaseSentKey)
	resp.Diagnostics.Append(d...)
	sentCarried := len(sent) > 0 && dialInCarried(sent, !m.HoldID.IsNull())
	var out block.ReleaseOutcome
	var err error
	mark := released // what the next destroy is told, should the certificates' release fail below
	if len(released) == 0 {
		out, err = blocker.Release(ctx, o.kind.kind, m.ObjectGUID.ValueString(), hold, block.ReleaseOptions{
			WasEnabled: m.WasEnabled.ValueBool() && disables, Again: len(sent) > 0,
			WaitVisible: len(o.clients.settings.LDAP.DomainControllers) > 0 && disables,
		})
		mark = []byte("true") // the hold has left the record: the blocks of the device may rely on its certificates
		if out.Lifted && len(sent) > 0 {
			released = mark // by the earlier destroy, at a time not known
		}
		if out.Lifted && (len(sent) > 0 || out.LeftDisabled) {
			liftedEarlier(&resp.Diagnostics, name, len(sent) > 0, out.LeftDisabled, state.dialIn(), out.DialIn.Recorded || sentCarried)
		}
	}
	var unreadable *directory.UnreadableRecordError
	switch {
	case len(released) > 0:
		tflog.Info(ctx, "the account's hold was released by an earlier destroy; taking the certificates off hold", map[string]any{"dn": m.DistinguishedName.ValueString()})
	case errors.Is(err, directory.ErrDeleted):
		resp.Diagnostics.AddWarning(fmt.Sprintf("The blocked %s was deleted", o.kind.noun),
			"The account is deleted in the directory: there is nothing left to re-enable, and the block is removed from state.")
	case errors.Is(err, directory.ErrNotFound):
		resp.Diagnostics.AddAttributeError(o.nameAttr(), fmt.Sprintf("Cannot find the blocked %s %s", o.kind.noun, name),
			fmt.Sprintf("No %s account has objectGUID %s anywhere in the domain, so the hold %s cannot be released. The block "+
				"stays in state: check ldap.base_dn and the account, or remove the block from state (terraform state rm) "+
				"once the account is known to be gone.", o.kind.noun, m.ObjectGUID.ValueString(), hold))
	case errors.As(err, &unreadable):
		resp.Diagnostics.AddAttributeError(o.nameAttr(), fmt.Sprintf("The %s %s stays disabled: its block record cannot be read", o.kind.noun, name),
			err.Error()+"\n\nNothing was changed (fail closed). Repair the block record section in the account's Notes (info), "+
				"or enable the account by hand once no block should hold it.")
	case err != nil:
		addReleaseError(&resp.Diagnostics, o.nameAttr(), o.kind.noun, name, err)
		var unknown *directory.OutcomeUnknownError
		if errors.As(err, &unknown) {
			resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateReleaseSentKey, releaseSent(out.DialIn.Recorded || sentCarried))...)
		}
	case len(out.OtherHolds) > 0 && !out.Enabled:
		var holds []string
		for _, h := range out.OtherHolds {
			holds = append(holds, fmt.Sprintf("- block %s since %s by %s: %s", h.ID, h.Since.Format(time.RFC3339), h.By, h.Reason))
		}
		resp.Diagnostics.AddWarning(fmt.Sprintf("The %s %s stays disabled: other blocks hold it", o.kind.noun, name),
			"This block is lifted, but the account's block record lists other blocks, from this or another configuration:\n"+
				strings.Join(holds, "\n")+"\nThe account is enabled again when the last of them is destroyed.")
	case !out.Enabled:
		tflog.Info(ctx, "account was disabled before the block; it stays disabled", map[string]any{"dn": m.DistinguishedName.ValueString()})
	}
	// The certificates come off hold only once the account's hold is released: a release that failed leaves them
	// held, with the block in state, and one that fails here leaves the block in state to be destroyed again.
	if (err == nil || errors.Is(err, directory.ErrDeleted)) && !o.releaseLever(ctx, blocker, state.certificates(), m, hold, released, &resp.Diagnostics) {
		if err == nil {
			resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateReleasedKey, mark)...)
		}
		return
	}
	// A hold line that denies dial-in has it lifted in the release's own modify (the lost one, when the hold was
	// found lifted: carried); otherwise the deny is restored after the release, also when that release's answer was
	// lost, unless the account is found disabled since (LeftDisabled): whoever disabled it may have denied dial-in
	// too, and the warning names the value to set back by hand.
	carried := out.DialIn.Recorded || sentCarried
	if err == nil && (len(released) == 0 && !out.Lifted || out.Lifted && !carried && !out.LeftDisabled) {
		o.restoreDialIn(ctx, state.dialIn(), m, out, &resp.Diagnostics)
	}
	if len(out.Lagging) > 0 {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Domain controllers do not show %s enabled yet", name),
			fmt.Sprintf("%s did not show the account enabled within ldap.timeout. Check replication to them.", strings.Join(out.Lagging, ", ")))
	}
}

// liftedEarlier warns that a release whose answer was lost had lifted the block (the directory took it so:
// block.ReleaseOptions.Again, or a retry of this destroy's own release), an earlier destroy's when earlier, and says
// so when the account it was to enable is disabled and stays so, with the dial-in deny (dialIn) that then stays too
// unless the lost release carried its restore.
func liftedEarlier(diags *diag.Diagnostics, name string, earlier, leftDisabled bool, dialIn *dialInLever, carried bool) {
	whose, summary := "this destroy's", fmt.Sprintf("The block of %s was lifted by a release whose answer was lost", name)
	if earlier {
		// This destroy retries that release, and the retry's answer may be the one lost: the message allows for both.
		whose, summary = "an earlier destroy's (or this destroy's retry of it)", fmt.Sprintf("The block of %s was lifted by an earlier destroy", name)
	}
	detail := "The answer to " + whose + " release was lost, and the block's hold is no longer on the account: that " +
		"release took it off (and enabled the account if it was to). The account is left as it is now."
	if leftDisabled {
		detail += " It is disabled, although it was to be enabled: the lost release did not enable it, or something (a " +
			"helpdesk, another tool, another block that is not recorded) disabled it since. It stays disabled; enable it " +
			"by hand if nothing should keep it disabled."
		if dialIn != nil && dialIn.DenyDialIn.ValueBool() && !carried && !dialIn.PriorDialIn.IsNull() {
			detail += fmt.Sprintf(" Its dial-in deny (msNPAllowDialin FALSE) is left as well: set it back to %s (the "+
				"Dial-in tab) when the account is enabled, if nothing else denies it.", dialIn.PriorDialIn.ValueString())
		}
	}
	diags.AddWarning(summary, detail)
}

// releaseSent is the value of privateReleaseSentKey: whether the lost release's modify carried the restore of a
// dial-in deny (its hold line denied dial-in).
func releaseSent(dialInCarried bool) []byte {
	b, _ := json.Marshal(map[string]bool{"dial_in_carried": dialInCarried}) //nolint:errchkjson // a map of bools always encodes
	return b
}

// dialInCarried reads releaseSent's value; recorded is what a marker of an earlier version (true) is taken to say:
// a recorded hold's line carried its deny, which fails safe (the deny is not restored blindly).
func dialInCarried(sent []byte, recorded bool) bool {
	var v struct {
		DialInCarried *bool `json:"dial_in_carried"`
	}
	if json.Unmarshal(sent, &v) != nil || v.DialInCarried == nil {
		return recorded
	}
	return *v.DialInCarried
}

// privateSink discards private state: a deleted resource keeps none.
type privateSink struct{}

func (privateSink) GetKey(context.Context, string) ([]byte, diag.Diagnostics) { return nil, nil }
func (privateSink) SetKey(context.Context, string, []byte) diag.Diagnostics   { return nil }
