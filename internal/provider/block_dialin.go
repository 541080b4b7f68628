package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// dialInLever is the dial-in deny of a user block, in its model.
type dialInLever struct {
	DenyDialIn  types.Bool   `tfsdk:"deny_dial_in"`
	PriorDialIn types.String `tfsdk:"prior_dial_in"`
}

func dialInLeverSchema() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"deny_dial_in": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(false),
			MarkdownDescription: "Also deny the user's Network Access Permission (`msNPAllowDialin` = FALSE, \"Deny access\" " +
				"in the Dial-in tab), which NPS and RRAS refuse VPN connections for whatever the account's state. It does " +
				"not stop a DirectAccess user tunnel (Kerberos, no NPS). Destroying the block restores exactly what was " +
				"there (`prior_dial_in`) when no other block that denies dial-in holds the account, unless someone changed " +
				"it since; a block that finds another one's deny takes over what that one found. It can be set on a block " +
				"in state (written in place), not turned off (only the release lifts it). Defaults to `false`.",
		},
		"prior_dial_in": computedString("What `msNPAllowDialin` held before the block denied it: `absent`, `true` or " +
			"`false`; restored on destroy. Null while the deny is not written yet (the next apply writes it in place) " +
			"and without `deny_dial_in`."),
	}
}

// dialInPending reports whether the deny is configured but not written yet.
func (l *dialInLever) pending() bool {
	return l != nil && l.DenyDialIn.ValueBool() && l.PriorDialIn.IsNull()
}

// dialInBeforePurge is the block's step between the hold and the purge for the dial-in lever: NPS checks
// msNPAllowDialin at each VPN connection, so the deny is written before the purge ends the user's connections,
// or they would come straight back. A deny written now makes the block purge every server: a VPN connection made
// while it was missing (its write failed at an earlier apply) is ended too. Nil without the lever.
func (o *blockOps) dialInBeforePurge(state blockState, name, holdID string, diags *diag.Diagnostics) func(context.Context, directory.Account) bool {
	l := state.dialIn()
	if l == nil {
		return nil
	}
	return func(ctx context.Context, acct directory.Account) bool {
		return o.denyDialIn(ctx, l, acct, name, holdID, diags)
	}
}

// denyDialIn writes msNPAllowDialin FALSE once the account is held, keeps in prior_dial_in what its last release
// restores, and reports whether it wrote it now. That is what the block's hold line in the record says (the value
// found when the hold was placed, or another block's prior when the deny found was theirs: whichever of them is
// released last restores what was there before both), else what the deny replaced. A failure leaves prior_dial_in
// null: the block is incomplete and the next apply writes it in place.
func (o *blockOps) denyDialIn(ctx context.Context, l *dialInLever, acct directory.Account, name, holdID string, diags *diag.Diagnostics) bool {
	if l == nil {
		return false
	}
	if l.PriorDialIn.IsUnknown() {
		l.PriorDialIn = types.StringNull() // as planned on create; set below once written
	}
	if !l.pending() {
		return o.denyDialInAgain(ctx, l, acct, name, diags)
	}
	dir, err := o.directory()
	if err == nil {
		var prior directory.DialIn
		if prior, err = dir.SetDialIn(ctx, acct, directory.DialInDeny); err == nil {
			l.PriorDialIn = types.StringValue(acct.DialInToRestore(holdID, prior).Word())
			return true
		}
	}
	diags.AddWarning(fmt.Sprintf("The dial-in deny of %s is not written", name),
		fmt.Sprintf("BLOCK INCOMPLETE. The block holds the account, but msNPAllowDialin could not be set to FALSE: %v\n\n"+
			"Every plan shows an in-place update until the next apply writes it.", err))
	return false
}

// denyDialInAgain writes the deny again when someone allowed the user's dial-in since the block wrote it (found at
// refresh, which leaves the servers pending, or now), keeping prior_dial_in: what the block found first is what its
// release restores. It reports whether it wrote, so that every server is purged after it.
func (o *blockOps) denyDialInAgain(ctx context.Context, l *dialInLever, acct directory.Account, name string, diags *diag.Diagnostics) bool {
	if !l.DenyDialIn.ValueBool() || l.PriorDialIn.IsNull() {
		return false
	}
	cur, err := acct.DialIn() // as resolved for this apply
	if err == nil && cur == directory.DialInDeny {
		return false
	}
	var dir *directory.Client
	if err == nil {
		dir, err = o.directory()
	}
	if err == nil {
		_, err = dir.SetDialIn(ctx, acct, directory.DialInDeny)
	}
	if err != nil {
		diags.AddWarning(fmt.Sprintf("The dial-in deny of %s is not written", name),
			fmt.Sprintf("BLOCK INCOMPLETE. The block holds the account, but msNPAllowDialin could not be read or set to FALSE "+
				"again: %v\n\nThe next refresh shows the deny missing, and the next apply writes it.", err))
		return false
	}
	diags.AddWarning(fmt.Sprintf("The dial-in deny of %s was written again", name),
		fmt.Sprintf("Someone had set msNPAllowDialin to %s since the block denied dial-in; it is FALSE again, and the user's "+
			"VPN connections were ended on every server. prior_dial_in keeps what the block found first.", cur))
	return true
}

// readDialIn checks, at refresh, that a block that denies dial-in still finds msNPAllowDialin FALSE: someone who
// allows it again (the Dial-in tab) lets the user's VPN back in. That is drift: every server becomes pending, so
// that the next plan is an update in place that writes the deny again and ends the VPN connections made meanwhile.
// A directory that cannot be asked leaves the state as it is, with a warning: a refresh must not fail on it.
func (o *blockOps) readDialIn(ctx context.Context, state tfsdk.State, next *tfsdk.State, acct directory.Account, diags *diag.Diagnostics) {
	if o.kind.kind == directory.KindComputer {
		return
	}
	var l dialInLever
	diags.Append(state.GetAttribute(ctx, path.Root("deny_dial_in"), &l.DenyDialIn)...)
	diags.Append(state.GetAttribute(ctx, path.Root("prior_dial_in"), &l.PriorDialIn)...)
	if !l.DenyDialIn.ValueBool() || l.PriorDialIn.IsNull() || l.PriorDialIn.IsUnknown() {
		return
	}
	cur, err := acct.DialIn() // read with the account: no second round trip per refresh
	if err != nil {
		diags.AddWarning("Cannot check the user's dial-in deny", fmt.Sprintf("Reading msNPAllowDialin of %s failed: %v. "+
			"The state is kept as it is; the next refresh checks again.", acct.DN, err))
		return
	}
	if cur == directory.DialInDeny {
		return
	}
	var m blockModel
	diags.Append(state.GetAttribute(ctx, path.Root("servers"), &m.Servers)...)
	servers := o.servers(ctx, &m, diags)
	diags.AddWarning(fmt.Sprintf("The dial-in deny of %s was changed out of band", acct.SAMAccountName),
		fmt.Sprintf("msNPAllowDialin of %s is %s, while this block denies dial-in: the user's VPN can connect again. The next "+
			"plan is an update in place that writes the deny again and ends the user's VPN connections on every server.", acct.DN, cur))
	diags.Append(next.SetAttribute(ctx, path.Root("pending_servers"), servers)...)
}

// restoreDialIn reports what the release did with msNPAllowDialin. A hold line that says it denies dial-in had the
// release restore what was there before the first block that denied it, in the modify that removed the line, when no
// other block denies it (the last of them restores it); a value someone wrote since stays. Without such a line (the
// block is not recorded, or its line was removed by hand), prior_dial_in is put back by itself, when no other block
// denies dial-in.
func (o *blockOps) restoreDialIn(ctx context.Context, l *dialInLever, m *blockModel, out block.ReleaseOutcome, diags *diag.Diagnostics) {
	if l == nil || (l.PriorDialIn.IsNull() && !out.DialIn.Recorded) {
		return
	}
	if out.DialIn.Recorded {
		reportDialInRelease(ctx, out.DialIn, diags)
		return
	}
	prior, ok := directory.DialInOfWord(l.PriorDialIn.ValueString())
	if !ok || prior == directory.DialInDeny {
		return // it was denied before the block: nothing to restore
	}
	if i := slices.IndexFunc(out.OtherHolds, func(h directory.Hold) bool { return h.DeniesDialIn }); i >= 0 {
		reportDialInRelease(ctx, directory.DialInRelease{Prior: prior, DeniedFor: out.OtherHolds[i].ID}, diags)
		return
	}
	dir, err := o.directory()
	var acct directory.Account
	if err == nil {
		acct, err = dir.FindByGUID(ctx, directory.KindUser, m.ObjectGUID.ValueString())
	}
	var found directory.DialIn
	if err == nil {
		found, err = dir.RestoreDialIn(ctx, acct, prior, directory.DialInDeny)
	}
	switch {
	case errors.Is(err, directory.ErrDialInChanged) && found == prior:
		// Restored already (by a release whose reply was lost, or by hand): nothing to say.
	case errors.Is(err, directory.ErrDialInChanged):
		reportDialInRelease(ctx, directory.DialInRelease{Prior: prior, Changed: true, Found: found}, diags)
	case err != nil:
		diags.AddWarning("The user's dial-in was not restored", fmt.Sprintf("msNPAllowDialin could not be set back to %s: "+
			"%v\n\nThe block is released; set it back by hand (the Dial-in tab).", l.PriorDialIn.ValueString(), err))
	}
}

// reportDialInRelease says what a release left in msNPAllowDialin when it did not restore it.
func reportDialInRelease(ctx context.Context, r directory.DialInRelease, diags *diag.Diagnostics) {
	switch {
	case r.Restored:
	case r.DeniedFor != "":
		tflog.Info(ctx, "dial-in stays denied: another block denies it and restores it on its release",
			map[string]any{"hold": r.DeniedFor, "restores": r.Prior.Word()})
	case r.Changed && r.Found != r.Prior:
		diags.AddWarning("The user's dial-in was changed since the block denied it",
			fmt.Sprintf("msNPAllowDialin holds %s, not the deny the block wrote: someone changed it since. Their value "+
				"stays; the block's prior value (%s) is not restored.", r.Found, r.Prior.Word()))
	}
}

// dialInScope says, in the plan, what the dial-in deny stops and what it does not.
const dialInScope = "The block sets msNPAllowDialin to FALSE (Deny access in the Dial-in tab): NPS and RRAS refuse the " +
	"user's VPN connections. It does not stop a DirectAccess user tunnel (Kerberos, no NPS) and not the office logon; a " +
	"disabled account (disable_account) stops those. Destroying the block restores what is there now (or, when another " +
	"block denies it already, what that block found), once no other block that denies dial-in holds the account."
