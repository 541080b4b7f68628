package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// computedString is a computed string attribute that keeps its value in plans.
func computedString(description string) schema.StringAttribute {
	return schema.StringAttribute{
		Computed: true, MarkdownDescription: description,
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

// blockSchema is the schema of a block resource: the attributes both share, and the kind's own.
func blockSchema(ctx context.Context, noun, description string, own map[string]schema.Attribute) schema.Schema {
	attrs := map[string]schema.Attribute{
		"id": computedString("The objectGUID of the blocked " + noun + " account."),
		"reason": schema.StringAttribute{
			Optional: true, Validators: []validator.String{recordedReasonValidator{}},
			MarkdownDescription: "Why the " + noun + " is blocked, kept in state for reviewers and written to the " +
				"account's block record (see the provider's `ldap.record_blocks`) for administrators who look at the account; a " +
				"change is written there in place. " +
				fmt.Sprintf("The record keeps the first %d UTF-16 code units of the ticket and reason together (the plan warns "+
					"when it will shorten them).", directory.MaxReasonInRecord),
		},
		"ticket": schema.StringAttribute{
			Optional: true, Validators: []validator.String{stringvalidator.UTF8LengthAtMost(maxTicketLength)},
			MarkdownDescription: fmt.Sprintf("The change or incident ticket of the block, written with the reason: an "+
				"identifier or a link, at most %d characters.", maxTicketLength),
		},
		"allow_privileged": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(false),
			MarkdownDescription: "Allow blocking a privileged account: a member of a protected group such as Domain Admins " +
				"(`adminCount = 1`, or a membership found directly, through nested groups or as the primary group). " +
				"Defaults to `false`: such a block is refused when the plan is made.",
		},
		"hold_id": computedString("Identifies this block in the account's block record, so that two blocks of one account " +
			"(two configurations, two teams) never undo each other. Chosen before the account is written, and kept when the " +
			"account was disabled but the record could not be written with it (the apply warns). Null after an import, and " +
			"when the write failed or its answer was lost, until an apply records the block (every plan shows that update " +
			"until then); null for a block made with `ldap.record_blocks = false`."),
		"purge_sessions": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			MarkdownDescription: "Purge the account's sessions on every Remote Access server after disabling it. Defaults to " +
				"`true`. With `false`, no server is ever pending.",
		},
		"verify_seconds": schema.Int64Attribute{
			Optional: true, Computed: true, Default: int64default.StaticInt64(defaultVerifySeconds),
			Validators: []validator.Int64{int64validator.Between(0, maxVerifySeconds)},
			MarkdownDescription: fmt.Sprintf("After the purge, watch every server this long and fail, naming the servers, "+
				"if an IPsec SA or a VPN connection of the %s comes back. The window ends at most one poll (`winrm.timeout`) later; a server "+
				"that answered no poll, or stopped answering (its polls fail or hang), stays pending. A whole number of seconds from `0` "+
				"(skips the check) to `%d`. Defaults to `%d`.", noun, maxVerifySeconds, defaultVerifySeconds),
		},
		"servers": schema.ListAttribute{
			Optional: true, ElementType: types.StringType,
			Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(), listvalidator.ValueStringsAre(hostValidator{})},
			MarkdownDescription: "Remote Access servers to purge, instead of the provider's `servers`.",
		},
		"distinguished_name": computedString("Distinguished name of the account."),
		"object_guid":        computedString("objectGUID of the account."),
		"object_sid":         computedString("objectSid of the account, as `S-1-5-...`."),
		"was_enabled": schema.BoolAttribute{
			Computed: true, PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			MarkdownDescription: "Whether the account was enabled before the block. Destroying the block re-enables it only then.",
		},
		"account_enabled": schema.BoolAttribute{
			Computed: true,
			MarkdownDescription: "Whether the account is enabled in the directory now: `false` while the block holds. " +
				"When someone re-enables the account out of band, the next plan shows it and apply blocks again.",
		},
		"blocked_at": computedString("When the block disabled the account, in RFC 3339: the time of its hold in the account's " +
			"block record (`since=`), or, after an out-of-band re-enable, of the disable that blocked it again."),
		"identities": schema.ListAttribute{
			Computed: true, ElementType: types.StringType,
			MarkdownDescription: "The exact IPsec and VPN identities of the account that were purged (never a pattern).",
		},
		"purged": schema.MapAttribute{
			Computed: true, ElementType: purgedType,
			MarkdownDescription: "What the purges removed on each server, added up over the applies that purged it: " +
				"`main_mode_sas`, `quick_mode_sas` and `vpn_connections` (VPN device tunnels for a device, VPN user connections " +
				"for a user).",
		},
		"pending_servers": schema.ListAttribute{
			Computed: true, ElementType: types.StringType,
			MarkdownDescription: "Servers where the purge or its verification has not succeeded yet. While it is not empty, " +
				"every plan shows an update that completes the block in place (the account stays disabled); a server " +
				"removed from `servers` leaves the list, and one that the block never purged (added to the block's or the " +
				"provider's `servers` since, or every server of an imported block) joins it. Always empty with " +
				"`purge_sessions = false`.",
		},
	}
	for name, a := range own {
		attrs[name] = a
	}
	return schema.Schema{
		MarkdownDescription: description,
		Attributes:          attrs,
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// blockIdentitySchema is the resource identity of a block: the account's objectGUID.
func blockIdentitySchema(noun string) identityschema.Schema {
	return identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"object_guid": identityschema.StringAttribute{
				RequiredForImport: true,
				Description:       "objectGUID of the " + noun + " account.",
			},
		},
	}
}
