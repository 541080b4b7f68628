package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

var _ datasource.DataSourceWithConfigure = (*accountDataSource)(nil)

// accountKind describes what differs between remoteaccess_device and remoteaccess_user.
type accountKind struct {
	typeSuffix      string
	kind            directory.Kind
	description     string
	nameAttr        string // the name the configuration gives
	nameDescription string
	// extraAttr is the attribute only this kind has (dns_host_name, user_principal_name), read by extra.
	extraAttr        string
	extraDescription string
	extra            func(directory.Account) string
}

// accountDataSource looks a computer or user account up in Active Directory. It asks the directory only.
type accountDataSource struct {
	dataSourceClients
	kind accountKind
}

func (d *accountDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + d.kind.typeSuffix
}

func (d *accountDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	noun := string(d.kind.kind)
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: d.kind.description + " Reading it asks the directory only.",
		Attributes: map[string]schema.Attribute{
			d.kind.nameAttr: schema.StringAttribute{
				Required:            true,
				Validators:          []validator.String{accountNameValidator{kind: d.kind.kind}},
				MarkdownDescription: d.kind.nameDescription,
			},
			d.kind.extraAttr:     computed(d.kind.extraDescription),
			"distinguished_name": computed("Distinguished name of the " + noun + " account."),
			"object_guid":        computed("objectGUID of the account, as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`."),
			"object_sid":         computed("objectSid of the account, as `S-1-5-...`."),
			"sam_account_name":   computed("sAMAccountName of the account."),
			"display_name":       computed("displayName of the account; null when it has none."),
			"enabled": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether the account is enabled (ACCOUNTDISABLE clear in userAccountControl)."},
			"blocked": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether a block of this provider holds the account: it is disabled and its block " +
					"record (in the account's Notes) names at least one block. An account disabled by hand is not blocked."},
			"member_of": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Distinguished names of the groups the account is a direct member of (memberOf)."},
			"identities": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The exact identities under which the " + noun + " appears in IPsec SAs and VPN " +
					"connections, for `remoteaccess_security_associations` and the actions."},
		},
	}
}

func (d *accountDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var name types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(d.kind.nameAttr), &name)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.clients == nil {
		resp.Diagnostics.AddError("Provider not configured", "The provider configuration is not known yet.")
		return
	}
	dir, err := d.clients.Directory()
	if err != nil {
		resp.Diagnostics.AddError("Active Directory is not configured", err.Error())
		return
	}
	var acct directory.Account
	if d.kind.kind == directory.KindComputer {
		acct, err = dir.FindComputer(ctx, name.ValueString())
	} else {
		acct, err = dir.FindUser(ctx, name.ValueString())
	}
	var dom directory.DomainInfo
	if err == nil {
		dom, err = dir.Domain(ctx)
	}
	if err != nil {
		summary := fmt.Sprintf("Looking up the %s %q failed", d.kind.kind, name.ValueString())
		if errors.Is(err, directory.ErrNotFound) {
			summary = fmt.Sprintf("No %s named %q", d.kind.kind, name.ValueString())
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	ids := directory.UserIdentities(acct, dom)
	if d.kind.kind == directory.KindComputer {
		ids = directory.DeviceIdentities(acct, dom)
	}
	memberOf, diags := types.ListValueFrom(ctx, types.StringType, append([]string{}, acct.MemberOf...))
	resp.Diagnostics.Append(diags...)
	identities, diags := types.ListValueFrom(ctx, types.StringType, ids)
	resp.Diagnostics.Append(diags...)
	values := map[string]attr.Value{
		d.kind.nameAttr:      name,
		d.kind.extraAttr:     optionalString(d.kind.extra(acct)),
		"distinguished_name": types.StringValue(acct.DN),
		"object_guid":        types.StringValue(acct.ObjectGUID),
		"object_sid":         types.StringValue(acct.ObjectSID),
		"sam_account_name":   types.StringValue(acct.SAMAccountName),
		"display_name":       optionalString(acct.DisplayName),
		"enabled":            types.BoolValue(acct.Enabled()),
		"blocked":            types.BoolValue(blocked(acct)),
		"member_of":          memberOf,
		"identities":         identities,
	}
	for attribute, v := range values {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attribute), v)...)
	}
}

// blocked reports whether a block holds the account: disabled, with a block record that names a hold. A record left
// on an enabled account (someone re-enabled it by hand) does not hold it.
func blocked(acct directory.Account) bool {
	rec := acct.BlockRecord()
	return !acct.Enabled() && rec != nil && len(rec.Holds) > 0
}
