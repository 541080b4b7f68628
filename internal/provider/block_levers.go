package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// accountLever is the account disable of a block, in its model.
type accountLever struct {
	DisableAccount types.Bool `tfsdk:"disable_account"`
}

// disables reports whether the block disables the account; a state written before the attribute existed did.
func (a *accountLever) disables() bool {
	return a.DisableAccount.IsNull() || a.DisableAccount.IsUnknown() || a.DisableAccount.ValueBool()
}

func accountLeverSchema(noun, otherLevers string) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"disable_account": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			MarkdownDescription: "Disable the " + noun + " account. Defaults to `true`. With `false` the account stays " +
				"enabled (the office keeps working) and the block is remote access only: " + otherLevers + " must be set, " +
				"and the provider must record blocks (`ldap.record_blocks`), since such a block exists only in the " +
				"account's block record, where the other blocks count it. Changing it on a block in state is refused: a " +
				"replacement would lift the block before the new one holds; declare a second block with the new levers, " +
				"apply, then remove this one.",
		},
	}
}

// refuseLeverChange refuses a change of disable_account on a block in state: replacing the block would lift it (the
// account enabled, certificates taken off hold) before the new one holds. It refuses turning deny_dial_in off too:
// only the block's release lifts the deny.
func refuseLeverChange(prior, plan blockState, diags *diag.Diagnostics) {
	if before, now := prior.dialIn(), plan.dialIn(); before != nil && now != nil && before.DenyDialIn.ValueBool() &&
		!now.DenyDialIn.IsUnknown() && !now.DenyDialIn.ValueBool() {
		diags.AddAttributeError(path.Root("deny_dial_in"), "Turning deny_dial_in off on a block is refused",
			"The block's dial-in deny is lifted when the block is destroyed (it restores what was there before, unless "+
				"another block denies dial-in too); turning it off in place would leave the deny in the directory with "+
				"nothing to enforce or lift it. Destroy the block, or declare a second block without the deny and apply "+
				"it, then remove this one.")
	}
	after := plan.account().DisableAccount
	if after.IsUnknown() || prior.account().disables() == plan.account().disables() {
		return
	}
	diags.AddAttributeError(path.Root("disable_account"), "Changing disable_account on a block is refused",
		fmt.Sprintf("disable_account changes from %v to %v. Replacing the block would lift it first (the account enabled, "+
			"its certificates taken off hold) and place the new one after, leaving the device or user free in between. "+
			"Declare a second block with the new levers and apply it, then remove this one; both hold meanwhile.",
			prior.account().disables(), after.ValueBool()))
}

// checkLevers refuses, at plan time, a block without any lever, and a remote-access-only block that cannot be
// recorded.
func (o *blockOps) checkLevers(ctx context.Context, state blockState, diags *diag.Diagnostics) {
	if state.account().disables() {
		return
	}
	other := "certificate_hold"
	on := state.certificates().holdConfig(ctx, diags) != nil
	if d := state.dialIn(); d != nil {
		other, on = "deny_dial_in = true", d.DenyDialIn.ValueBool() || d.DenyDialIn.IsUnknown()
	}
	if c := state.certificates(); c != nil && c.CertificateHold.IsUnknown() {
		on = true
	}
	if !on {
		diags.AddAttributeError(path.Root("disable_account"), "A block needs at least one lever",
			fmt.Sprintf("disable_account = false leaves the %s account enabled, and %s is not set: the block would stop "+
				"nothing. Set %s, or disable_account = true.", o.kind.noun, other, other))
	}
	if !o.clients.settings.LDAP.RecordBlocks {
		diags.AddAttributeError(path.Root("disable_account"), "A remote-access-only block needs the block record",
			"disable_account = false writes the block only in the account's block record, where the other blocks of the "+
				"account count it; ldap.record_blocks = false turns that record off. Set ldap.record_blocks = true, or "+
				"disable_account = true.")
	}
}
