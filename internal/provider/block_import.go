package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// ImportState adopts a block: the account must be disabled. It accepts a sAMAccountName (or UPN for users) or an
// objectGUID, bare or in braces, and the resource identity.
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
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, blockIdentityModel{ObjectGUID: state.common().ObjectGUID})...)
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
			m.BlockedAt = types.StringValue(rec.Holds[0].Since.UTC().Format(time.RFC3339))
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
