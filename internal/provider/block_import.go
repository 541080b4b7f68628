package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// holdSuffix ends an import ID that takes over a block's hold: NAME;hold=ID, with the hold_id of a block that left
// the state (terraform state rm). ";" is in no sAMAccountName and in no objectGUID.
var holdSuffix = regexp.MustCompile(`;hold=([0-9a-f]{16})$`)

// ImportState adopts a block: the account must be disabled. It accepts a sAMAccountName (or UPN for users) or an
// objectGUID, bare or in braces, and the resource identity; with ";hold=ID" after the name or GUID, the import takes
// over that hold of the account's block record, so that its destroy lifts it.
func (o *blockOps) importState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	blocker := o.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	var target block.Target
	var err error
	id := req.ID
	if id == "" && req.Identity != nil {
		var identity blockIdentityModel
		resp.Diagnostics.Append(req.Identity.Get(ctx, &identity)...)
		id = identity.ObjectGUID.ValueString()
	}
	var adopt string
	if m := holdSuffix.FindStringSubmatch(id); m != nil {
		id, adopt = strings.TrimSuffix(id, m[0]), m[1]
	}
	// Guards do not apply: importing changes nothing, and a guarded account is refused when the block is applied.
	lenient := directory.GuardOptions{AllowPrivileged: true}
	if guid, ok := importGUID(id); ok {
		target, err = blocker.ResolveGUID(ctx, o.kind.kind, guid, lenient)
	} else {
		target, err = blocker.Resolve(ctx, o.kind.kind, id, lenient)
	}
	if err != nil {
		addBlockError(&resp.Diagnostics, o.nameAttr(), o.kind.noun, id, err)
		return
	}
	if target.Account.Enabled() {
		resp.Diagnostics.AddError(fmt.Sprintf("There is no block of %s to import", id),
			fmt.Sprintf("The %s account %s is enabled, so nothing blocks it. Importing never blocks an account: to block it, "+
				"declare a remoteaccess_%s resource for it and apply.", o.kind.noun, target.Account.DN, o.kind.typeSuffix))
		return
	}
	state := o.kind.newModel()
	o.importedState(ctx, state, target, &resp.Diagnostics)
	if adopt != "" {
		hold, err := adoptable(target.Account, adopt, o.clients.settings.LDAP.BindUsername)
		if err != nil {
			resp.Diagnostics.AddError(fmt.Sprintf("Cannot take over the hold %s of %s", adopt, id), err.Error())
			return
		}
		m := state.common()
		m.HoldID = types.StringValue(adopt)
		m.BlockedAt = blockedAt(hold)
		resp.Diagnostics.AddWarning(fmt.Sprintf("The import of %s takes over the hold %s", id, adopt),
			fmt.Sprintf("Destroying this block lifts the hold %s of %s: placed %s by %s, reason %q. Make sure that no other "+
				"configuration has it in its state: that one could no longer lift it, and would see the account enabled "+
				"when this one was the last hold.", adopt, target.Account.DN, blockedAt(hold).ValueString(), hold.By, hold.Reason))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: state.common().ObjectGUID})...)
}

// adoptable returns the hold id of acct's block record that an import takes over, or why it cannot: there is no
// such hold; another account than this provider's (by) wrote it, so that it is another configuration's; or it is a
// hold the imported state could not release as its block would (it keeps the account enabled, denies dial-in, or
// holds certificates, none of which the import reads back).
func adoptable(acct directory.Account, id, by string) (directory.Hold, error) {
	var hold directory.Hold
	found := false
	if rec := acct.BlockRecord(); rec != nil {
		hold, found = rec.HoldWithID(id)
	}
	switch {
	case !found:
		return hold, fmt.Errorf("the block record of %s has no hold %s (its Notes list each block's hold id): nothing was imported", acct.DN, id)
	case !strings.EqualFold(hold.By, by):
		return hold, fmt.Errorf("the hold %s of %s was placed by %s, not by this provider's LDAP account (%s): it belongs to "+
			"another configuration, which lifts it when it destroys its block. Nothing was imported", id, acct.DN, hold.By, by)
	case hold.KeepsEnabled || hold.DeniesDialIn || len(hold.Certificates) > 0 || (acct.Kind == directory.KindComputer && hold.Certificates == nil):
		return hold, fmt.Errorf("the hold %s of %s keeps the account enabled, denies dial-in or holds certificates, which an import "+
			"cannot read back: import without ;hold=, and lift that hold by hand (remove its line from the account's Notes) "+
			"once no block should hold the account", id, acct.DN)
	}
	return hold, nil
}

// importedState is the state of a block discovered in the directory rather than created by this configuration. A
// block this provider recorded on the account tells what the account was before; a block made by hand does not,
// and destroying its import leaves the account disabled. The import adopts no entry of the record: the next apply
// adds its own, so that it never lifts a block that another configuration still holds.
func (o *blockOps) importedState(ctx context.Context, state blockState, target block.Target, diags *diag.Diagnostics) {
	m := state.common()
	state.setImportDefaults()
	setAccount(state, target.Account)
	m.Reason = types.StringNull()
	m.Ticket = types.StringNull()
	m.AllowPrivileged = types.BoolValue(false)
	m.PurgeSessions = types.BoolValue(true)
	m.VerifySeconds = types.Int64Value(defaultVerifySeconds)
	m.Servers = types.ListNull(types.StringType)
	m.WasEnabled = types.BoolValue(false)
	m.BlockedAt = types.StringNull()
	if rec := target.Account.BlockRecord(); rec != nil {
		m.WasEnabled = types.BoolValue(rec.PriorEnabled)
		if len(rec.Holds) > 0 {
			m.BlockedAt = blockedAt(rec.Holds[0])
		}
	}
	m.HoldID = types.StringNull()
	ids, d := types.ListValueFrom(ctx, types.StringType, target.Identities)
	diags.Append(d...)
	m.Identities = ids
	m.Purged = types.MapValueMust(purgedType, map[string]attr.Value{})
	m.PendingServers = types.ListValueMust(types.StringType, []attr.Value{})
	m.Timeouts = timeouts.Value{Object: types.ObjectNull(timeoutsAttrTypes)}
}
