package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	listschema "github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

type blockListConfig struct {
	Base types.String `tfsdk:"base"`
}

// listSchema makes both block types listable with `terraform query`: the disabled accounts under a base, so that
// blocks made by hand can be discovered and imported.
func (o *blockOps) listSchema(resp *list.ListResourceSchemaResponse) {
	resp.Schema = listschema.Schema{
		MarkdownDescription: "Lists the disabled " + o.kind.noun + " accounts, which blocks made by hand leave behind, " +
			"so that they can be imported. Guarded accounts (domain controllers, critical system accounts) are left out.",
		Attributes: map[string]listschema.Attribute{
			"base": listschema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Distinguished name to search under; the domain (or each of the provider's " +
					"`ldap.allowed_search_bases`) when empty.",
			},
		},
	}
}

func (o *blockOps) list(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var cfg blockListConfig
	var diags diag.Diagnostics
	diags.Append(req.Config.Get(ctx, &cfg)...)
	blocker := o.blocker(&diags)
	if diags.HasError() {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	dir, _ := o.directory()
	accounts, err := dir.ListDisabled(ctx, o.kind.kind, cfg.Base.ValueString())
	if err != nil {
		diags.AddError("Listing disabled "+o.kind.noun+" accounts failed", err.Error())
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	stream.Results = func(push func(list.ListResult) bool) {
		sent := int64(0)
		for _, acct := range accounts {
			if req.Limit > 0 && sent >= req.Limit {
				return
			}
			target, err := blocker.TargetFor(ctx, acct, directory.GuardOptions{AllowPrivileged: true})
			if directory.IsGuardError(err) {
				// Guarded accounts (krbtgt, a disabled domain controller) are no block to import.
				continue
			}
			result := req.NewListResult(ctx)
			if err != nil {
				// A directory failure is reported, never taken for an empty list.
				result.Diagnostics.AddError("Listing disabled "+o.kind.noun+" accounts failed", err.Error())
				push(result)
				return
			}
			result.DisplayName = displayName(acct)
			result.Diagnostics.Append(result.Identity.Set(ctx, blockIdentityModel{ObjectGUID: types.StringValue(acct.ObjectGUID)})...)
			if req.IncludeResource {
				state := o.kind.newModel()
				o.importedState(ctx, state, target, &result.Diagnostics)
				result.Diagnostics.Append(result.Resource.Set(ctx, state)...)
			}
			sent++
			if !push(result) {
				return
			}
		}
	}
}

// displayName is how an account appears in `terraform query` output.
func displayName(acct directory.Account) string {
	name := acct.Name()
	if acct.DisplayName != "" {
		return name + " (" + acct.DisplayName + ")"
	}
	return name
}
