package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
	_ action.ActionWithConfigure        = (*disconnectVPNUsersAction)(nil)
	_ action.ActionWithConfigValidators = (*disconnectVPNUsersAction)(nil)
)

// disconnectVPNUsersAction is Disconnect-VpnUser made safe: exact names or tunnel addresses, every server at once,
// and what each server disconnected reported as progress, also when another fails.
type disconnectVPNUsersAction struct {
	actionClients
}

type disconnectVPNUsersModel struct {
	UserNames       []string       `tfsdk:"user_names"`
	HostIPAddresses []string       `tfsdk:"host_ip_addresses"`
	Servers         []string       `tfsdk:"servers"`
	Timeouts        timeouts.Value `tfsdk:"timeouts"`
}

func newDisconnectVPNUsersAction() action.Action { return &disconnectVPNUsersAction{} }

func (a *disconnectVPNUsersAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_disconnect_vpn_users"
}

func (a *disconnectVPNUsersAction) Schema(ctx context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Disconnects Always On VPN connections on every Remote Access server at once " +
			"(`Disconnect-VpnUser`), by user or by tunnel address, and reports what each server disconnected. " +
			"Connections are chosen by exact names or addresses, never patterns, and each is disconnected by its own " +
			"tunnel address. DirectAccess connections are not VPN connections and stay; a user whose account is still " +
			"enabled can connect again (block the user with `remoteaccess_blocked_user` to keep them out). " +
			"Needs Terraform 1.14 or later.",
		Attributes: map[string]schema.Attribute{
			"user_names": schema.ListAttribute{
				Optional: true, ElementType: types.StringType,
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(exactNameValidator{field: "user name"})},
				MarkdownDescription: "Disconnect every VPN connection of these users. " + userNameFormsNote +
					" Exactly one of `user_names` and `host_ip_addresses`.",
			},
			"host_ip_addresses": schema.ListAttribute{
				Optional: true, ElementType: types.StringType,
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(ipAddressValidator{})},
				MarkdownDescription: "Disconnect the VPN connections holding these tunnel addresses (the addresses the " +
					"servers assigned, `client_ip_address` of `remoteaccess_connections`), compared as addresses.",
			},
			"servers": actionServersAttribute("disconnect on"),
		},
		Blocks: map[string]schema.Block{"timeouts": timeouts.Block(ctx)},
	}
}

func (a *disconnectVPNUsersAction) ConfigValidators(context.Context) []action.ConfigValidator {
	return []action.ConfigValidator{
		actionvalidator.ExactlyOneOf(path.MatchRoot("user_names"), path.MatchRoot("host_ip_addresses")),
	}
}

func (a *disconnectVPNUsersAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	var m disconnectVPNUsersModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	run := startAction(ctx, a.clients, m.Timeouts, m.Servers, &resp.Diagnostics)
	if run == nil {
		return
	}
	defer run.cancel()
	sel := remoteaccess.VPNSelection{HostIPAddresses: m.HostIPAddresses}
	if len(m.UserNames) > 0 {
		forms, err := userNameForms(run.ctx, a.clients, m.UserNames)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("user_names"), "Cannot resolve the forms of the user names", err.Error())
			return
		}
		sel.UserNames = forms
	}
	results, err := run.cluster.DisconnectVPNUsers(run.ctx, sel)
	outcomes := map[string]serverOutcome{}
	for server, res := range results {
		outcome := serverOutcome{problems: itemProblems("disconnect", res.Failures)}
		for _, d := range res.Disconnected {
			who := strings.Join(d.UserNames, ", ")
			if d.HostName != "" && !slices.ContainsFunc(d.UserNames, func(u string) bool { return strings.EqualFold(u, d.HostName) }) {
				who += " on " + d.HostName
			}
			outcome.done = append(outcome.done, fmt.Sprintf("disconnected %s (tunnel address %s)", who, d.Address))
		}
		outcomes[server] = outcome
	}
	report(resp, run.cluster.Servers(), outcomes, err, "no matching VPN connection")
}
