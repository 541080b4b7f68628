package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// remoteaccess_device: a computer account in Active Directory (see accountDataSource) and, when templates are
// named, its certificates at the provider's enterprise CAs.
func newDeviceDataSource() datasource.DataSource {
	return &deviceDataSource{accountDataSource: &accountDataSource{kind: accountKind{
		typeSuffix: "device",
		kind:       directory.KindComputer,
		description: "A computer account in Active Directory: whether it is enabled or blocked, its names, groups and " +
			"the identities under which it connects; with `certificate_templates`, its certificates at the provider's " +
			"`certificate_authorities` and their revocation state.",
		nameAttr:         "computer_name",
		nameDescription:  "The computer's name: its sAMAccountName without the trailing `$` (`CLIENT1`).",
		extraAttr:        "dns_host_name",
		extraDescription: "dNSHostName of the computer; null when it was never joined.",
		extra:            func(a directory.Account) string { return a.DNSHostName },
	}}}
}

// deviceDataSource adds the device's certificates to the account lookup.
type deviceDataSource struct{ *accountDataSource }

var (
	_ datasource.DataSource              = (*deviceDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*deviceDataSource)(nil)
)

var certificateAttributeTypes = map[string]attr.Type{
	"serial": types.StringType, "template": types.StringType, "not_after": types.StringType,
	"certificate_authority": types.StringType, "state": types.StringType, "revocation_reason": types.Int64Type,
}

func (d *deviceDataSource) Schema(ctx context.Context, req datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	d.accountDataSource.Schema(ctx, req, resp)
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	resp.Schema.Attributes["certificate_templates"] = schema.ListAttribute{Optional: true, ElementType: types.StringType,
		MarkdownDescription: "Certificate templates (names or OIDs) whose certificates to list, for example the DirectAccess " +
			"and Always On VPN device tunnel templates. Reading them asks every `certificate_authorities` entry over WinRM."}
	resp.Schema.Attributes["certificates"] = schema.ListNestedAttribute{Computed: true,
		MarkdownDescription: "The certificates the CAs issued to the computer account with one of `certificate_templates`, " +
			"issued or revoked; null without `certificate_templates`.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"serial":                computed("Serial number, upper-case hexadecimal."),
			"template":              computed("The certificate template, as named in `certificate_templates`."),
			"not_after":             computed("Expiry (RFC 3339)."),
			"certificate_authority": computed("The CA's configuration string."),
			"state": computed("`issued`, `held` (revoked with reason certificateHold: reversible) or `revoked` " +
				"(a permanent reason: never undone)."),
			"revocation_reason": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "The revocation reason (RFC 5280 CRLReason; 6 is certificateHold); null when not revoked."},
		}}}
	resp.Schema.Attributes["unholdable_certificates"] = schema.ListNestedAttribute{Computed: true,
		MarkdownDescription: "Certificates in the computer's `userCertificate` (where an enterprise CA publishes them) that " +
			"no `certificate_authorities` entry lists for it, of one of `certificate_templates` or of a template that " +
			"cannot be told, from a CA the provider does not know: a certificate hold cannot reach them, and reading " +
			"them warns. Null without `certificate_templates`.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"serial":    computed("Serial number, upper-case hexadecimal."),
			"issuer":    computed("The issuing CA's common name."),
			"template":  computed("The template's name (version 1 templates) or OID; empty when the certificate names none."),
			"not_after": computed("Expiry (RFC 3339)."),
			"subject":   computed("The subject's common name."),
		}}}
}

func (d *deviceDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	d.accountDataSource.Read(ctx, req, resp)
	if resp.Diagnostics.HasError() {
		return
	}
	var templates []string
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("certificate_templates"), &templates)...)
	if resp.Diagnostics.HasError() || templates == nil {
		return
	}
	certs, configs, ok := d.certificates(ctx, resp, templates)
	if !ok {
		return
	}
	values := make([]attr.Value, len(certs))
	for i, c := range certs {
		values[i] = certificateValue(c)
	}
	list, diags := types.ListValue(types.ObjectType{AttrTypes: certificateAttributeTypes}, values)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("certificates"), list)...)

	var dn, name types.String
	resp.Diagnostics.Append(resp.State.GetAttribute(ctx, path.Root("distinguished_name"), &dn)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(d.kind.nameAttr), &name)...)
	dir, err := d.clients.Directory()
	if err != nil {
		resp.Diagnostics.AddError("Active Directory is not configured", err.Error())
		return
	}
	un := readUnholdable(ctx, dir, directory.Account{DN: dn.ValueString()}, certs, templates, configs, &resp.Diagnostics)
	warnUnholdable(name.ValueString(), un, &resp.Diagnostics)
	values = make([]attr.Value, len(un))
	for i, p := range un {
		values[i] = unholdableValue(p)
	}
	list, diags = types.ListValue(types.ObjectType{AttrTypes: unholdableAttributeTypes}, values)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("unholdable_certificates"), list)...)
}

// certificates lists the device's certificates at every CA, in the CAs' order, with the CAs' configuration strings.
func (d *deviceDataSource) certificates(ctx context.Context, resp *datasource.ReadResponse, templates []string) ([]ca.Certificate, []string, bool) {
	var sam types.String
	resp.Diagnostics.Append(resp.State.GetAttribute(ctx, path.Root("sam_account_name"), &sam)...)
	authorities, err := d.clients.CertificateAuthorities()
	if err == nil && len(authorities) == 0 {
		resp.Diagnostics.AddAttributeError(path.Root("certificate_templates"), "No certificate authority is configured",
			"Listing certificates needs `certificate_authorities` in the provider block.")
		return nil, nil, false
	}
	var dom directory.DomainInfo
	if err == nil {
		dir, derr := d.clients.Directory()
		if err = derr; err == nil {
			dom, err = dir.Domain(ctx)
		}
	}
	if err != nil {
		resp.Diagnostics.AddError("Listing the device's certificates failed", err.Error())
		return nil, nil, false
	}
	requester := dom.NetBIOSName + `\` + sam.ValueString()
	var out []ca.Certificate
	configs := make([]string, len(authorities))
	for i, authority := range authorities {
		configs[i] = authority.Config()
		certs, err := authority.Certificates(ctx, requester, templates)
		if err != nil {
			resp.Diagnostics.AddError("Listing the device's certificates failed", "At "+authority.Config()+": "+err.Error())
			return nil, nil, false
		}
		out = append(out, certs...)
	}
	return out, configs, true
}

func certificateValue(c ca.Certificate) attr.Value {
	state, reason := "issued", types.Int64Null()
	if c.Disposition == ca.DispositionRevoked {
		state, reason = "revoked", types.Int64Value(int64(c.RevocationReason))
		if c.Held() {
			state = "held"
		}
	}
	return types.ObjectValueMust(certificateAttributeTypes, map[string]attr.Value{
		"serial": types.StringValue(strings.ToUpper(c.Serial)), "template": types.StringValue(c.Template),
		"not_after": types.StringValue(c.NotAfter), "certificate_authority": types.StringValue(c.CA),
		"state": types.StringValue(state), "revocation_reason": reason,
	})
}
