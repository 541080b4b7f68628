package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/datasource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

// defaultServerReadTimeout bounds a data source that asks every Remote Access server, unless timeouts.read says otherwise.
const defaultServerReadTimeout = 2 * time.Minute

// serverReadModel holds the attributes every data source that asks the Remote Access servers shares.
type serverReadModel struct {
	Servers                    types.List     `tfsdk:"servers"`
	TolerateUnreachableServers types.Bool     `tfsdk:"tolerate_unreachable_servers"`
	MissingServers             types.List     `tfsdk:"missing_servers"`
	Timeouts                   timeouts.Value `tfsdk:"timeouts"`
}

// serverReadAttributes are the schema of serverReadModel's attributes; what names what the data source reads.
func serverReadAttributes(what string) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"servers": schema.ListAttribute{
			Optional: true, ElementType: types.StringType,
			Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(), listvalidator.ValueStringsAre(hostValidator{})},
			MarkdownDescription: "Remote Access servers to ask, instead of the provider's `servers`. Every server is asked " +
				"at once; each row names the server it came from.",
		},
		"tolerate_unreachable_servers": schema.BoolAttribute{
			Optional: true,
			MarkdownDescription: "Read " + what + " from the servers that answer when others do not (unreachable, or no " +
				"answer before the read timeout), and list the others in `missing_servers`. By default a server that does " +
				"not answer fails the read, naming it. A server that answers with an error (logon, TLS, PowerShell) always " +
				"fails the read.",
		},
		"missing_servers": schema.ListAttribute{
			Computed: true, ElementType: types.StringType,
			MarkdownDescription: "Servers that did not answer, when `tolerate_unreachable_servers` is `true`: their " +
				"rows are missing. Empty when every server answered.",
		},
	}
}

// serverReadBlocks are the blocks of serverReadModel.
func serverReadBlocks(ctx context.Context) map[string]schema.Block {
	return map[string]schema.Block{"timeouts": timeouts.Block(ctx)}
}

// fanOut is one run across Remote Access servers, by a data source or an action: the cluster to ask and the
// context bounded by the configured timeout.
type fanOut struct {
	ctx     context.Context
	cancel  context.CancelFunc
	cluster *remoteaccess.Cluster
}

// startFanOut builds the fan-out over servers (the provider's when none) with a deadline; nil after an error.
func startFanOut(ctx context.Context, c *clients, timeout time.Duration, servers []string, diags *diag.Diagnostics) *fanOut {
	if c == nil {
		diags.AddError("Provider not configured", "The provider configuration is not known yet.")
		return nil
	}
	if diags.HasError() {
		return nil
	}
	cluster, err := c.Cluster(servers)
	if err != nil {
		diags.AddError("Cannot reach the Remote Access servers", err.Error())
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return &fanOut{ctx: ctx, cancel: cancel, cluster: cluster}
}

// startServerRead reads a data source's configuration into model (whose serverReadModel is m) and starts its read
// of the servers, bounded by timeouts.read; nil after an error.
func startServerRead(ctx context.Context, c *clients, config tfsdk.Config, model any, m *serverReadModel, diags *diag.Diagnostics) *fanOut {
	diags.Append(config.Get(ctx, model)...)
	if diags.HasError() {
		return nil
	}
	timeout, d := m.Timeouts.Read(ctx, defaultServerReadTimeout)
	diags.Append(d...)
	var servers []string
	if !m.Servers.IsNull() {
		diags.Append(m.Servers.ElementsAs(ctx, &servers, false)...)
	}
	return startFanOut(ctx, c, timeout, servers, diags)
}

// finish sorts out the failures of the fan-outs of one read: servers that did not answer fail it unless the
// configuration tolerates them (then they are recorded in missing_servers, with a warning); any other failure fails
// it. what names what was read, for the messages.
func (r *fanOut) finish(m *serverReadModel, what string, diags *diag.Diagnostics, errs ...error) {
	r.cancel()
	missing := map[string]bool{}
	var causes []string
	for _, err := range errs {
		unanswered, rest := remoteaccess.SplitUnanswered(err)
		if rest != nil {
			diags.AddError(fmt.Sprintf("Reading %s failed on %s", what, strings.Join(remoteaccess.FailedServers(rest), ", ")), rest.Error())
		}
		for _, se := range remoteaccess.ServerErrors(err) {
			if slices.Contains(unanswered, se.Server) {
				missing[se.Server] = true
				causes = append(causes, se.Error())
			}
		}
	}
	var names []string
	for _, s := range r.cluster.Servers() {
		if missing[s] {
			names = append(names, s)
		}
	}
	switch {
	case len(names) == 0:
	case m.TolerateUnreachableServers.ValueBool():
		diags.AddWarning("Remote Access servers did not answer: "+strings.Join(names, ", "),
			fmt.Sprintf("The %s of these servers are missing (tolerate_unreachable_servers = true); missing_servers "+
				"lists them.\n\n%s", what, strings.Join(causes, "\n")))
	default:
		diags.AddError("Remote Access servers did not answer: "+strings.Join(names, ", "),
			fmt.Sprintf("Reading %s needs every server:\n%s\n\nSet tolerate_unreachable_servers = true to read the "+
				"servers that answer and list the others in missing_servers.", what, strings.Join(causes, "\n")))
	}
	list, d := types.ListValueFrom(context.Background(), types.StringType, append([]string{}, names...))
	diags.Append(d...)
	m.MissingServers = list
}
