package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// accountModel holds what remoteaccess_device and remoteaccess_user read from Active Directory alike.
type accountModel struct {
	DistinguishedName types.String `tfsdk:"distinguished_name"`
	ObjectGUID        types.String `tfsdk:"object_guid"`
	ObjectSID         types.String `tfsdk:"object_sid"`
	SAMAccountName    types.String `tfsdk:"sam_account_name"`
	DisplayName       types.String `tfsdk:"display_name"`
	Enabled           types.Bool   `tfsdk:"enabled"`
	Blocked           types.Bool   `tfsdk:"blocked"`
	MemberOf          []string     `tfsdk:"member_of"`
	Identities        []string     `tfsdk:"identities"`
}

// accountAttributes are the schema of accountModel's attributes; noun is "computer" or "user".
func accountAttributes(noun string) map[string]schema.Attribute {
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	return map[string]schema.Attribute{
		"distinguished_name": computed("Distinguished name of the " + noun + " account."),
		"object_guid":        computed("objectGUID of the account, as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`."),
		"object_sid":         computed("objectSid of the account, as `S-1-5-...`."),
		"sam_account_name":   computed("sAMAccountName of the account."),
		"display_name":       computed("displayName of the account; null when it has none."),
		"enabled": schema.BoolAttribute{Computed: true,
			MarkdownDescription: "Whether the account is enabled (ACCOUNTDISABLE clear in userAccountControl)."},
		"blocked": schema.BoolAttribute{Computed: true,
			MarkdownDescription: "Whether a block holds the account, which a block leaves disabled: `true` when the " +
				"account is disabled, whoever disabled it."},
		"member_of": schema.ListAttribute{Computed: true, ElementType: types.StringType,
			MarkdownDescription: "Distinguished names of the groups the account is a direct member of (memberOf)."},
		"identities": schema.ListAttribute{Computed: true, ElementType: types.StringType,
			MarkdownDescription: "The exact identities under which the " + noun + " appears in IPsec SAs and VPN " +
				"connections, for `remoteaccess_security_associations` and the actions."},
	}
}

// lookupAccount finds the account of the given kind by name and fills the model; nil after an error.
func lookupAccount(ctx context.Context, c *clients, kind directory.Kind, name string, m *accountModel, diags *diag.Diagnostics) *directory.Account {
	if c == nil {
		diags.AddError("Provider not configured", "The provider configuration is not known yet.")
		return nil
	}
	dir, err := c.Directory()
	if err != nil {
		diags.AddError("Active Directory is not configured", err.Error())
		return nil
	}
	var acct directory.Account
	if kind == directory.KindComputer {
		acct, err = dir.FindComputer(ctx, name)
	} else {
		acct, err = dir.FindUser(ctx, name)
	}
	var dom directory.DomainInfo
	if err == nil {
		dom, err = dir.Domain(ctx)
	}
	if err != nil {
		summary := fmt.Sprintf("Looking up the %s %q failed", kind, name)
		if errors.Is(err, directory.ErrNotFound) {
			summary = fmt.Sprintf("No %s named %q", kind, name)
		}
		diags.AddError(summary, err.Error())
		return nil
	}
	ids := directory.UserIdentities(acct, dom)
	if kind == directory.KindComputer {
		ids = directory.DeviceIdentities(acct, dom)
	}
	*m = accountModel{
		DistinguishedName: types.StringValue(acct.DN),
		ObjectGUID:        types.StringValue(acct.ObjectGUID),
		ObjectSID:         types.StringValue(acct.ObjectSID),
		SAMAccountName:    types.StringValue(acct.SAMAccountName),
		DisplayName:       optionalString(acct.DisplayName),
		Enabled:           types.BoolValue(acct.Enabled()),
		// No block record exists in the directory yet: a block leaves its account disabled, so disabled is held.
		Blocked:    types.BoolValue(!acct.Enabled()),
		MemberOf:   append([]string{}, acct.MemberOf...),
		Identities: ids,
	}
	return &acct
}
