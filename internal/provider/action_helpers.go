package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/action/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

// defaultActionTimeout bounds an action unless timeouts.invoke says otherwise.
const defaultActionTimeout = 5 * time.Minute

// actionServersAttribute is the optional server list of an action; what says what the servers are asked to do.
func actionServersAttribute(what string) schema.ListAttribute {
	return schema.ListAttribute{
		Optional: true, ElementType: types.StringType,
		Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(), listvalidator.ValueStringsAre(hostValidator{})},
		MarkdownDescription: "Remote Access servers to " + what + ", instead of every server of the provider's `servers`.",
	}
}

// startAction starts an action's run on servers (the provider's when none), bounded by timeouts.invoke; nil after
// an error.
func startAction(ctx context.Context, c *clients, t timeouts.Value, servers []string, diags *diag.Diagnostics) *fanOut {
	timeout, d := t.Invoke(ctx, defaultActionTimeout)
	diags.Append(d...)
	return startFanOut(ctx, c, timeout, servers, diags)
}

// report sends one progress message per server that answered, in server order, with what it did (or none when it
// did nothing), and then one error per server that failed, naming what the others did: a failure never hides what
// was done elsewhere.
func report[T any](resp *action.InvokeResponse, servers []string, results map[string][]T, err error, verb, none string, describe func(T) string) {
	var done []string
	for _, server := range servers {
		items, answered := results[server]
		if !answered {
			continue
		}
		if len(items) == 0 {
			resp.SendProgress(action.InvokeProgressEvent{Message: fmt.Sprintf("%s: %s", server, none)})
			continue
		}
		for _, item := range items {
			msg := fmt.Sprintf("%s: %s %s", server, verb, describe(item))
			resp.SendProgress(action.InvokeProgressEvent{Message: msg})
			done = append(done, msg)
		}
	}
	if err == nil {
		return
	}
	elsewhere := "Nothing was " + verb + " on the other servers."
	if len(done) > 0 {
		elsewhere = "The other servers did their part:\n  " + strings.Join(done, "\n  ")
	}
	failures := remoteaccess.ServerErrors(err)
	if len(failures) == 0 { // refused before anything was sent
		resp.Diagnostics.AddError("Invalid action arguments", err.Error())
	}
	for _, se := range failures {
		resp.Diagnostics.AddError("Remote Access server "+se.Server+" failed", fmt.Sprintf("%v\n\n%s", se.Err, elsewhere))
	}
}
