package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/action/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/actionvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

var (
	_ action.ActionWithConfigure        = (*purgeSecurityAssociationsAction)(nil)
	_ action.ActionWithConfigValidators = (*purgeSecurityAssociationsAction)(nil)
)

// purgeSecurityAssociationsAction removes IPsec SAs: every SA of one server, or those of exact identities on every
// server, and reports what each server removed.
type purgeSecurityAssociationsAction struct {
	actionClients
}

type purgeSecurityAssociationsModel struct {
	Identities  []string       `tfsdk:"identities"`
	Servers     []string       `tfsdk:"servers"`
	AllOnServer types.String   `tfsdk:"all_on_server"`
	Timeouts    timeouts.Value `tfsdk:"timeouts"`
}

func newPurgeSecurityAssociationsAction() action.Action { return &purgeSecurityAssociationsAction{} }

func (a *purgeSecurityAssociationsAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_purge_security_associations"
}

func (a *purgeSecurityAssociationsAction) Schema(ctx context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Removes IPsec security associations, each main-mode SA after its quick-mode SAs " +
			"(`Remove-NetIPsecQuickModeSA`, `Remove-NetIPsecMainModeSA`): those of exact identities on every server, " +
			"or every SA of one server. A DirectAccess client whose accounts are still enabled re-establishes its SAs " +
			"within seconds, through any node that takes new connections; block it with `remoteaccess_blocked_device` " +
			"or `remoteaccess_blocked_user` to keep it out. Needs Terraform 1.14 or later.",
		Attributes: map[string]schema.Attribute{
			"identities": schema.ListAttribute{
				Optional: true, ElementType: types.StringType,
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(exactNameValidator{field: "identity"})},
				MarkdownDescription: "Remove the SAs whose first or second remote identity is one of these, compared " +
					"exactly and case-insensitively (never as a pattern), such as the `identities` of `remoteaccess_device` " +
					"or `remoteaccess_user`. Exactly one of `identities` and `all_on_server`.",
			},
			"servers": actionServersAttribute("purge the identities' SAs on"),
			"all_on_server": schema.StringAttribute{
				Optional:   true,
				Validators: []validator.String{hostValidator{}},
				MarkdownDescription: "Remove every SA of this one server, so that its DirectAccess clients connect " +
					"again (through another node when this one no longer takes new connections).",
			},
		},
		Blocks: map[string]schema.Block{"timeouts": timeouts.Block(ctx)},
	}
}

func (a *purgeSecurityAssociationsAction) ConfigValidators(context.Context) []action.ConfigValidator {
	return []action.ConfigValidator{
		actionvalidator.ExactlyOneOf(path.MatchRoot("identities"), path.MatchRoot("all_on_server")),
		actionvalidator.Conflicting(path.MatchRoot("all_on_server"), path.MatchRoot("servers")),
	}
}

func (a *purgeSecurityAssociationsAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	var m purgeSecurityAssociationsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	servers, sel := m.Servers, remoteaccess.SASelection{Identities: m.Identities}
	if server := m.AllOnServer.ValueString(); server != "" {
		servers, sel = []string{server}, remoteaccess.SASelection{All: true}
	}
	run := startAction(ctx, a.clients, m.Timeouts, servers, &resp.Diagnostics)
	if run == nil {
		return
	}
	defer run.cancel()
	results, err := run.cluster.PurgeSAs(run.ctx, sel)
	outcomes := map[string]serverOutcome{}
	for server, res := range results {
		var outcome serverOutcome
		if res.Indeterminate {
			outcome.problems = []string{"cannot tell whether the identities have SAs there: " + res.IndeterminateReason}
		}
		for _, sa := range res.Removed {
			outcome.done = append(outcome.done, fmt.Sprintf("removed main-mode SA %s of %s / %s at %s, with %d quick-mode SAs",
				sa.Name, sa.RemoteFirstID, sa.RemoteSecondID, sa.RemoteEndpoint, sa.QuickModeRemoved))
		}
		outcomes[server] = outcome
	}
	report(resp, run.cluster.Servers(), outcomes, err, "no matching SA")
}
