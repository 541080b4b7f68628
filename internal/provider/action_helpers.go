package provider

import (
	"context"
	"errors"
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
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
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

// serverOutcome is what an action did on one server that answered: one line per thing done, and the problems it
// met while it went on with the rest (items it failed on, a verdict it could not reach).
type serverOutcome struct {
	done     []string
	problems []string
}

// report sends one progress message per thing each server did, in server order (or says that it did nothing), and
// then one error per server that failed or met a problem, listing what was done elsewhere: a failure never hides
// what was done.
func report(resp *action.InvokeResponse, servers []string, outcomes map[string]serverOutcome, err error, none string) {
	var done []string
	for _, server := range servers {
		outcome, answered := outcomes[server]
		if !answered {
			continue
		}
		if len(outcome.done) == 0 {
			resp.SendProgress(action.InvokeProgressEvent{Message: server + ": " + none})
		}
		for _, line := range outcome.done {
			msg := server + ": " + line
			resp.SendProgress(action.InvokeProgressEvent{Message: msg})
			done = append(done, msg)
		}
	}
	elsewhere := "Nothing was done on the servers."
	if len(done) > 0 {
		elsewhere = "What was done:\n  " + strings.Join(done, "\n  ")
	}
	for _, server := range servers {
		if problems := outcomes[server].problems; len(problems) > 0 {
			resp.Diagnostics.AddError("Remote Access server "+server+" did not finish",
				strings.Join(problems, "\n")+"\n\n"+elsewhere)
		}
	}
	if err == nil {
		return
	}
	failures := remoteaccess.ServerErrors(err)
	if len(failures) == 0 { // refused before anything was sent
		resp.Diagnostics.AddError("Invalid action arguments", err.Error())
	}
	for _, se := range failures {
		summary := "Remote Access server " + se.Server + " failed"
		if errors.Is(se.Err, winrm.ErrOutcomeUnknown) {
			// The command may have run: it was not sent again, and the detail says what a read found afterwards.
			summary = "Remote Access server " + se.Server + ": outcome unknown"
		}
		resp.Diagnostics.AddError(summary, fmt.Sprintf("%v\n\n%s", se.Err, elsewhere))
	}
}

// itemProblems words the items a server failed on.
func itemProblems(verb string, failures []remoteaccess.ItemFailure) []string {
	var out []string
	for _, f := range failures {
		out = append(out, fmt.Sprintf("could not %s %s: %s (%s)", verb, f.Target, f.Message, f.Category))
	}
	return out
}
