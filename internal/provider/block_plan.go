package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// modifyPlan resolves the account and applies every guard when a block is planned, so that a reviewer sees a
// refusal in the plan; shows the sessions the block will end; keeps a block with its account (another spelling is an
// update, another account is refused); and plans an in-place update that completes the block when the
// account was re-enabled out of band, a purge is pending, or the block is not recorded yet.
func (o *blockOps) modifyPlan(ctx context.Context, prior, plan blockState, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || o.clients == nil {
		return
	}
	if req.State.Raw.IsNull() {
		o.planCreate(ctx, plan, req, resp)
		return
	}
	if req.Plan.Raw.Equal(req.State.Raw) && !o.needsCompletion(ctx, req.State, &resp.Diagnostics) {
		return // the common case of a refresh-only plan: nothing to do, nothing to read
	}
	resp.Diagnostics.Append(req.State.Get(ctx, prior)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	before, after := prior.common(), plan.common()
	o.checkLevers(ctx, plan, &resp.Diagnostics)
	refuseLeverChange(prior, plan, &resp.Diagnostics)
	o.planAccountName(ctx, prior, plan, resp)
	if resp.Diagnostics.HasError() {
		return
	}
	pending := o.pendingInConfig(ctx, before, after, &resp.Diagnostics)
	if !after.PurgeSessions.IsUnknown() && !after.PurgeSessions.ValueBool() {
		pending = nil // without a purge, no server is ever pending
	}
	reblock := plan.account().disables() && before.AccountEnabled.ValueBool()
	after.AccountEnabled = types.BoolValue(false)
	if !plan.account().disables() {
		after.AccountEnabled = before.AccountEnabled // a remote-access-only block leaves it as it is
	}
	after.PendingServers = stringList(ctx, pending, &resp.Diagnostics)
	after.Purged, after.BlockedAt, after.Identities, after.HoldID = before.Purged, before.BlockedAt, before.Identities, before.HoldID
	// A dial-in deny written in place purges every server after it (block.Options.BeforePurge).
	d := plan.dialIn()
	dialIn := d != nil && (d.DenyDialIn.ValueBool() || d.DenyDialIn.IsUnknown()) && prior.dialIn().PriorDialIn.IsNull()
	record := o.clients.settings.LDAP.RecordBlocks && before.HoldID.IsNull()
	// An apply that completes the block in place (a hold completed in place purges every server again after it is
	// flushed) reads the account afresh and blocks it again if it finds it re-enabled since this plan: its purges,
	// the identities they use (a name changed since) and the time of the block are known only then, and so is what
	// the certificate hold finds.
	ensures := reblock || len(pending) > 0 || len(before.PendingServers.Elements()) > 0 || record ||
		leverNeedsCompletion(prior.certificates(), plan.certificates()) || dialIn
	if ensures {
		after.PendingServers = types.ListUnknown(types.StringType)
		after.Purged = types.MapUnknown(purgedType)
		after.BlockedAt = types.StringUnknown()
		after.Identities = types.ListUnknown(types.StringType)
	}
	if record {
		after.HoldID = types.StringUnknown() // the next apply records the block on the account
	}
	planLever(prior.certificates(), plan.certificates(), ensures)
	o.planChangedHold(ctx, prior, plan, &resp.Diagnostics)
	if dialIn {
		d.PriorDialIn = types.StringUnknown() // the apply writes the deny
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

// serverNeverPurged reports whether a block that purges has a server, of its own servers or the provider's, that
// it never purged: one added to the configuration since the block was applied, or every server of an imported block.
func (o *blockOps) serverNeverPurged(ctx context.Context, state tfsdk.State, diags *diag.Diagnostics) bool {
	var purge types.Bool
	var servers types.List
	var purged types.Map
	diags.Append(state.GetAttribute(ctx, path.Root("purge_sessions"), &purge)...)
	diags.Append(state.GetAttribute(ctx, path.Root("servers"), &servers)...)
	diags.Append(state.GetAttribute(ctx, path.Root("purged"), &purged)...)
	if !purge.ValueBool() {
		return false
	}
	return len(unpurged(o.servers(ctx, &blockModel{Servers: servers}, diags), slices.Collect(maps.Keys(purged.Elements())), nil)) > 0
}

// needsCompletion reads the attributes of a block in state that decide whether an unchanged configuration still
// needs an apply: an out-of-band re-enable, a pending purge, a block not recorded on the account yet.
func (o *blockOps) needsCompletion(ctx context.Context, state tfsdk.State, diags *diag.Diagnostics) bool {
	var enabled, disables types.Bool
	var pending types.List
	var hold types.String
	diags.Append(state.GetAttribute(ctx, path.Root("account_enabled"), &enabled)...)
	diags.Append(state.GetAttribute(ctx, path.Root("disable_account"), &disables)...)
	if !(&accountLever{DisableAccount: disables}).disables() {
		enabled = types.BoolValue(false) // an enabled account is what a remote-access-only block leaves
	}
	diags.Append(state.GetAttribute(ctx, path.Root("pending_servers"), &pending)...)
	diags.Append(state.GetAttribute(ctx, path.Root("hold_id"), &hold)...)
	if enabled.ValueBool() || len(pending.Elements()) > 0 || (o.clients.settings.LDAP.RecordBlocks && hold.IsNull()) ||
		o.serverNeverPurged(ctx, state, diags) {
		return true
	}
	if o.kind.kind != directory.KindComputer {
		var deny types.Bool
		var prior types.String
		diags.Append(state.GetAttribute(ctx, path.Root("deny_dial_in"), &deny)...)
		diags.Append(state.GetAttribute(ctx, path.Root("prior_dial_in"), &prior)...)
		return (&dialInLever{DenyDialIn: deny, PriorDialIn: prior}).pending()
	}
	var cas, flush types.List
	diags.Append(state.GetAttribute(ctx, path.Root("pending_certificate_authorities"), &cas)...)
	diags.Append(state.GetAttribute(ctx, path.Root("pending_revocation_flush"), &flush)...)
	return len(cas.Elements()) > 0 || len(flush.Elements()) > 0
}

// pendingInConfig is the prior pending_servers that are still among the block's servers, and the servers added to
// them; a server removed from the configuration leaves the list with a warning, so that an incomplete block can
// always be completed or destroyed.
func (o *blockOps) pendingInConfig(ctx context.Context, before, after *blockModel, diags *diag.Diagnostics) []string {
	var pending []string
	diags.Append(before.PendingServers.ElementsAs(ctx, &pending, false)...)
	if after.Servers.IsUnknown() {
		return pending
	}
	servers := o.servers(ctx, after, diags)
	kept := slices.DeleteFunc(slices.Clone(pending), func(p string) bool { return !containsFold(servers, p) })
	var gone []string
	for _, p := range pending {
		if !slices.Contains(kept, p) {
			gone = append(gone, p)
		}
	}
	if len(gone) > 0 {
		diags.AddWarning("Pending servers no longer configured",
			fmt.Sprintf("%s still had to be purged but is no longer in servers: it leaves pending_servers. Sessions the "+
				"account may still have there are not purged by this block.", strings.Join(gone, ", ")))
	}
	// A server that this block never purged (added to its servers or the provider's since, or a block imported), or
	// that its own servers did not list before (removed once and listed again: sessions made in between are up):
	// the account may have sessions there.
	was := o.servers(ctx, before, diags)
	for _, s := range servers {
		if !containsFold(kept, s) && !containsFold(was, s) {
			kept = append(kept, s)
		}
	}
	return append(kept, unpurged(servers, slices.Collect(maps.Keys(before.Purged.Elements())), kept)...)
}

// unpurged are the servers that neither purged (the servers a block purged, the keys of its purged map) nor pending
// lists.
func unpurged(servers, purged, pending []string) []string {
	var out []string
	for _, s := range servers {
		if !containsFold(purged, s) && !containsFold(pending, s) {
			out = append(out, s)
		}
	}
	return out
}

// containsFold reports whether list holds s, whatever its letter case (host names).
func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(e string) bool { return strings.EqualFold(e, s) })
}

// planAccountName keeps another spelling of the same account (letter case, NAME$, a UPN) from replacing the block,
// and refuses a name of another account, or of none, in every plan. A replacement would lift this block before the
// other account is held, and Terraform cannot show one in the final plan of a name unknown until apply: the same
// refusal then stops that apply before any change.
func (o *blockOps) planAccountName(ctx context.Context, prior, plan blockState, resp *resource.ModifyPlanResponse) {
	before, after := prior.accountName(), plan.accountName()
	if after.IsUnknown() || before.Equal(after) {
		return
	}
	dir, err := o.directory()
	if err != nil {
		resp.Diagnostics.AddError("Active Directory is not configured", err.Error())
		return
	}
	held := prior.common().ObjectGUID.ValueString()
	acct, err := o.find(ctx, dir, after.ValueString())
	switch {
	case errors.Is(err, directory.ErrNotFound):
		resp.Diagnostics.AddAttributeError(o.nameAttr(), fmt.Sprintf("%s names no %s account", after.ValueString(), o.kind.noun),
			fmt.Sprintf("No %s account is named %q, and this block holds the account with objectGUID %s. A block stays "+
				"with its account: %s", o.kind.noun, after.ValueString(), held, moveBlockRemedy))
	case err != nil:
		resp.Diagnostics.AddAttributeError(o.nameAttr(), "Cannot tell whether the new name is the same account",
			fmt.Sprintf("Looking up %q failed, so the provider cannot tell whether it names the blocked account or "+
				"another one: %v", after.ValueString(), err))
	case !strings.EqualFold(acct.ObjectGUID, held):
		resp.Diagnostics.AddAttributeError(o.nameAttr(), fmt.Sprintf("%s names another %s account than the block", after.ValueString(), o.kind.noun),
			fmt.Sprintf("%s is %s, while this block holds the account with objectGUID %s. A block stays with its "+
				"account: %s Nothing was changed.", after.ValueString(), acct.DN, held, moveBlockRemedy))
	}
}

// moveBlockRemedy is how a block moves to another account without leaving either free in between.
const moveBlockRemedy = "to block the other account, declare a second block (another resource name) and apply it; " +
	"to lift this one, remove it. Done in that order, both accounts stay held in between."

// planCreate resolves and guards the account of a new block, and shows its impact.
func (o *blockOps) planCreate(ctx context.Context, plan blockState, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	if plan.account().disables() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("account_enabled"), false)...)
	}
	o.checkLevers(ctx, plan, &resp.Diagnostics)
	m := plan.common()
	if resp.Diagnostics.HasError() || plan.accountName().IsUnknown() || m.Servers.IsUnknown() || o.clients.settings.unknown {
		return
	}
	blocker := o.blocker(&resp.Diagnostics)
	if blocker == nil {
		return
	}
	guard := o.guard(ctx, m, &resp.Diagnostics)
	o.shutdownCredential(plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.accountName().ValueString()
	target, err := blocker.Resolve(ctx, o.kind.kind, name, guard)
	if err == nil {
		err = block.CheckRecordConflict(target.Account, o.clients.settings.LDAP.RecordBlocks)
	}
	if err != nil {
		addBlockError(&resp.Diagnostics, o.nameAttr(), o.kind.noun, name, err)
		return
	}
	if !o.clients.settings.LDAP.RecordBlocks {
		o.warnUnrecordedSharing(target.Account, name, &resp.Diagnostics)
	}
	servers := o.servers(ctx, m, &resp.Diagnostics)
	disables := plan.account().disables()
	o.refuseUnreadyAndShowImpact(ctx, m.PurgeSessions.ValueBool(), servers, func(ctx context.Context, diags *diag.Diagnostics) {
		o.showImpact(ctx, blocker, target, servers, name, disables, diags)
	}, &resp.Diagnostics)
	o.clients.refuseServerAccount(ctx, target.Account, servers, o.nameAttr(), o.kind.noun, name, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if l := plan.certificates(); l.holdConfig(ctx, &resp.Diagnostics) != nil {
		o.planCertificates(ctx, target, servers, l, &resp.Diagnostics)
	}
	if d := plan.dialIn(); d != nil && d.DenyDialIn.ValueBool() {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Dial-in deny of %s", name), dialInScope)
	}
}

// warnUnrecordedSharing warns of a new block that the provider does not record (ldap.record_blocks = false) when
// another block may hold its account: the account is disabled already, or another new block of this plan resolved to
// it. Nothing records such blocks, so each knows only its own state: destroying the one that disabled the account
// (was_enabled = true) enables it while the other still holds it.
func (o *blockOps) warnUnrecordedSharing(acct directory.Account, name string, diags *diag.Diagnostics) {
	var why string
	switch {
	case o.clients.unrecordedPlans.seenBefore(acct.ObjectGUID):
		why = "another new block of this plan holds the same account"
	case !acct.Enabled():
		why = "the account is disabled already (by hand, or by another block that nothing records)"
	default:
		return
	}
	diags.AddWarning(fmt.Sprintf("Another block may hold %s", name),
		fmt.Sprintf("%s: %s. The provider does not record blocks (ldap.record_blocks = false), so each block of %s "+
			"knows only its own state: destroying the block that disabled the account enables it again while this one "+
			"is still in state. Keep one block per account, or record blocks (the default), which lets blocks of one "+
			"account never undo each other.", acct.DN, why, name))
}

// unrecordedPlans are the accounts of the new blocks this provider process (one Terraform plan or apply) has planned
// without recording them, by objectGUID: each block's plan sees only itself, so the second one counts the first here.
type unrecordedPlans struct {
	mu    sync.Mutex
	guids map[string]bool
}

// seenBefore records guid and reports whether it was recorded already.
func (u *unrecordedPlans) seenBefore(guid string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.guids == nil {
		u.guids = map[string]bool{}
	}
	seen := u.guids[guid]
	u.guids[guid] = true
	return seen
}

// refuseUnreadyAndShowImpact refuses the servers that are not ready (remoteaccess_servers) when check is set, on
// creates only (a block in state must always be completable and destroyable), and shows the new block's impact. The
// readiness read and the impact preview are each a PowerShell run per server: with two WinRM slots per server or
// more they are made at once, so that the plan (and Terraform's plan of the block again during the apply) waits for
// one run instead of two in a row. With one slot they would queue for it, and the readiness read could time out
// behind a slow preview, which would let a server that is not ready pass: then one after the other. A refused
// block's preview is neither shown nor counted.
func (o *blockOps) refuseUnreadyAndShowImpact(ctx context.Context, check bool, servers []string, preview func(context.Context, *diag.Diagnostics), diags *diag.Diagnostics) {
	previewCtx, cancelPreview := context.WithCancel(ctx)
	defer cancelPreview()
	impact := make(chan diag.Diagnostics, 1)
	run := func() {
		var d diag.Diagnostics
		preview(previewCtx, &d)
		impact <- d
	}
	atOnce := o.clients.settings.WinRM.MaxConcurrency > 1
	if atOnce {
		go run()
	}
	if check {
		o.clients.refuseUnready(ctx, servers, path.Root("servers"), diags)
	}
	if diags.HasError() {
		if atOnce {
			cancelPreview()
			<-impact
			if len(servers) > 0 {
				o.clients.previews.Add(-1)
			}
		}
		return
	}
	if !atOnce {
		run()
	}
	diags.Append(<-impact...)
}

// impactTimeout bounds the plan-time reading of the sessions a new block will end.
const impactTimeout = 10 * time.Second

// maxImpactPreviews bounds the impact previews of one plan. A mass incident plans hundreds of new blocks, and each
// preview waits for a poll of every server, again when Terraform plans each block during the apply (measured: a
// tenth of a PowerShell run per device per server and a fifth of a 500-device apply), for warnings no reviewer reads
// past the first few. One warning, on the first block past them, says so.
const maxImpactPreviews = 20

// showImpact tells a reviewer which sessions the block will end, per server, as a warning in the plan.
func (o *blockOps) showImpact(ctx context.Context, blocker *block.Blocker, target block.Target, servers []string, name string, disables bool, diags *diag.Diagnostics) {
	if len(servers) == 0 {
		return
	}
	if n := o.clients.previews.Add(1); n > maxImpactPreviews {
		if n == maxImpactPreviews+1 {
			diags.AddWarning("Impact previews stop here",
				fmt.Sprintf("This plan makes more than %d new blocks: the sessions each will end are shown for the first %d "+
					"only, so that a mass incident is not slowed down by a look at every server per block. The purge and its "+
					"verify window report, per block and server, what they ended (purged, pending_servers).", maxImpactPreviews, maxImpactPreviews))
		}
		return
	}
	blocker.PreflightTimeout = impactTimeout
	sas, stop, failed := blocker.Preflight(ctx, target, servers)
	var lines []string
	for _, server := range servers {
		if s, ok := sas[server]; ok {
			// What the purge ends: a device's VPN device tunnels, a user's VPN connections.
			vpn := fmt.Sprintf("VPN connections: %d", len(s.VPNConnections))
			if target.Account.Kind == directory.KindComputer {
				vpn = fmt.Sprintf("VPN device tunnels: %d", len(s.DeviceTunnels()))
			}
			lines = append(lines, fmt.Sprintf("- %s: %d main-mode and %d quick-mode IPsec SAs; %s", server,
				len(s.MainMode), s.QuickModeCount, vpn))
		} else {
			lines = append(lines, fmt.Sprintf("- %s: %s; not shown", server, serverFailure(failed, server, impactTimeout)))
		}
	}
	detail := fmt.Sprintf("Blocking %s %s and ends, on each Remote Access server, the sessions it has now:\n%s",
		name, accountImpact(target.Account, disables), strings.Join(lines, "\n"))
	if stop != nil {
		detail += "\n\nThe apply will stop before changing anything unless this is fixed: " + stop.Error()
	} else if failed != nil && len(sas) < len(servers) {
		detail += "\n\nThe apply goes on without the servers not shown, which stay pending until they answer:\n" + serverFailures(failed)
	}
	diags.AddWarning(fmt.Sprintf("Impact of blocking %s", name), detail)
}

// accountImpact says what a new block does to the account, as it is now: disables it, keeps it disabled (by hand,
// or held by other blocks, which the block record names), or leaves it as it is (a remote-access-only block).
func accountImpact(acct directory.Account, disables bool) string {
	holds, err := acct.HeldByOthers("")
	disabling := 0
	for _, h := range holds {
		if !h.KeepsEnabled {
			disabling++
		}
	}
	switch {
	case !disables:
		return fmt.Sprintf("leaves the account %s as it is (disable_account = false: the office keeps working)", acct.DN)
	case acct.Enabled():
		return "disables the account " + acct.DN
	case err != nil:
		return fmt.Sprintf("keeps the account %s disabled (it is disabled already; its block record cannot be read)", acct.DN)
	case disabling > 0:
		return fmt.Sprintf("keeps the account %s disabled (it is disabled already, held by %d other block(s) of its block record)", acct.DN, disabling)
	default:
		return fmt.Sprintf("keeps the account %s disabled (it is disabled already, by hand or by a block that did not record itself)", acct.DN)
	}
}

// read asks LDAP, and for a certificate hold the CAs: the account's state and the held certificates are the block's
// truth; sessions are checked by the verify window. It reads the object GUID and writes only the attributes that the
// directory or the CAs decide changed, usually none.
func (o *blockOps) read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var guid types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("object_guid"), &guid)...)
	if resp.Diagnostics.HasError() {
		return
	}
	keepIdentity(ctx, req.Identity, resp.Identity, guid, &resp.Diagnostics)
	dir, err := o.directory()
	if err != nil {
		resp.Diagnostics.AddError("Active Directory is not configured", err.Error())
		return
	}
	acct, err := dir.ReadByGUID(ctx, o.kind.kind, guid.ValueString()) // a refresh guards nothing
	if errors.Is(err, directory.ErrNotFound) || errors.Is(err, directory.ErrDeleted) {
		resp.Diagnostics.AddWarning(fmt.Sprintf("The blocked %s no longer exists", o.kind.noun),
			fmt.Sprintf("No %s account has objectGUID %s any more (deleted, or found nowhere in the domain). The block stays "+
				"in state; destroy it to release or forget it.", o.kind.noun, guid.ValueString()))
		return
	}
	if err != nil {
		var name types.String
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, o.nameAttr(), &name)...)
		addReadError(&resp.Diagnostics, o.nameAttr(), o.kind.noun, name.ValueString(), err)
		return
	}
	for name, value := range o.accountValues(acct) {
		if !stateHolds(ctx, req.State, name, value, &resp.Diagnostics) {
			resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), value)...)
		}
	}
	o.readLever(ctx, req.State, &resp.State, acct, &resp.Diagnostics)
	o.readDialIn(ctx, req.State, &resp.State, acct, &resp.Diagnostics)
}

// stateHolds reports whether a top-level string or bool attribute of state equals want.
func stateHolds(ctx context.Context, state tfsdk.State, name string, want attr.Value, diags *diag.Diagnostics) bool {
	var current attr.Value
	switch want.(type) {
	case types.String:
		var s types.String
		diags.Append(state.GetAttribute(ctx, path.Root(name), &s)...)
		current = s
	case types.Bool:
		var b types.Bool
		diags.Append(state.GetAttribute(ctx, path.Root(name), &b)...)
		current = b
	default:
		return false
	}
	return current.Equal(want)
}

// keepIdentity sets the resource identity to the object GUID unless it holds it already.
func keepIdentity(ctx context.Context, current, next *tfsdk.ResourceIdentity, guid types.String, diags *diag.Diagnostics) {
	if next == nil {
		return
	}
	if current != nil && !current.Raw.IsNull() {
		var held types.String
		if d := current.GetAttribute(ctx, path.Root("object_guid"), &held); !d.HasError() && held.Equal(guid) {
			return
		}
	}
	diags.Append(next.Set(ctx, blockIdentityModel{ObjectGUID: guid})...)
}
