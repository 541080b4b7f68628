package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// The computer's userCertificate, where an enterprise CA publishes the certificates of templates that publish to
// Active Directory, is a second source of the device's certificates. One found there but in no configured CA's
// database was issued by a CA the provider does not know (or under another requester): a certificate hold cannot
// reach it, and the device may still connect with it. Failing safe here means saying so, not refusing: a refused
// block would leave the device with every access, while the block goes ahead with what it can hold and the plan (and
// remoteaccess_device) names what it cannot.

// unholdable returns the published certificates that no CA lists and that may be remote-access certificates: of one
// of the templates, or of a template that cannot be told (none, or an OID where the configuration names templates)
// from a CA the provider does not know. A certificate of another, named template is the office's, not the hold's.
func unholdable(published []directory.PublishedCertificate, listed []ca.Certificate, templates, authorities []string) []directory.PublishedCertificate {
	var out []directory.PublishedCertificate
	for _, p := range published {
		if slices.ContainsFunc(listed, func(c ca.Certificate) bool { return sameSerial(c.Serial, p.Serial) }) {
			continue
		}
		named := slices.ContainsFunc(templates, func(t string) bool { return strings.EqualFold(t, p.Template) })
		knownCA := slices.ContainsFunc(authorities, func(config string) bool {
			return strings.EqualFold(config[strings.LastIndex(config, `\`)+1:], p.Issuer)
		})
		if named || (!knownCA && (p.Template == "" || isOID(p.Template))) {
			out = append(out, p)
		}
	}
	return out
}

// sameSerial compares serials as numbers written in hexadecimal: the CA database writes the serial's bytes, so it
// may begin with a zero that the certificate's integer, as the directory reads it, does not have.
func sameSerial(a, b string) bool {
	return strings.EqualFold(strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0"))
}

// isOID reports whether a template is given as an OID (a version 2 or later template), not by name.
func isOID(template string) bool {
	return strings.Contains(template, ".") && !strings.ContainsFunc(template, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
}

// unholdableLines shows each such certificate as the plan and the warning list it.
func unholdableLines(certs []directory.PublishedCertificate) []string {
	lines := make([]string, len(certs))
	for i, p := range certs {
		template := p.Template
		if template == "" {
			template = "(none)"
		}
		lines[i] = fmt.Sprintf("- serial %s, template %s, issued by %q, expires %s", p.Serial, template, p.Issuer,
			p.NotAfter.UTC().Format(time.DateOnly))
	}
	return lines
}

// warnUnholdable warns of the device's published certificates that no configured CA can hold.
func warnUnholdable(name string, certs []directory.PublishedCertificate, diags *diag.Diagnostics) {
	if len(certs) == 0 {
		return
	}
	diags.AddWarning(fmt.Sprintf("Certificates of %s that no configured CA can hold", name),
		fmt.Sprintf("The computer's userCertificate in Active Directory holds certificates that no CA in "+
			"certificate_authorities lists for it:\n%s\n\nA certificate hold cannot reach them: where a Remote Access server "+
			"trusts their issuer, the device can still connect with them. Add the CA that issued them to "+
			"certificate_authorities (and its templates to certificate_hold), or revoke them at that CA by hand. The block "+
			"goes ahead with what it can hold.", strings.Join(unholdableLines(certs), "\n")))
}

// readUnholdable reads the device's userCertificate and returns what no configured CA lists; a directory that does
// not answer is a warning, since the second source only adds to what the CAs say.
func readUnholdable(ctx context.Context, dir *directory.Client, acct directory.Account, listed []ca.Certificate, templates, authorities []string, diags *diag.Diagnostics) []directory.PublishedCertificate {
	published, err := dir.PublishedCertificates(ctx, acct)
	if err != nil {
		diags.AddWarning("Cannot read the certificates published on the computer",
			fmt.Sprintf("Reading userCertificate of %s failed: %v. Certificates of a CA the provider does not know are not "+
				"shown.", acct.DN, err))
		return nil
	}
	return unholdable(published, listed, templates, authorities)
}

var unholdableAttributeTypes = map[string]attr.Type{
	"serial": types.StringType, "issuer": types.StringType, "template": types.StringType, "not_after": types.StringType,
	"subject": types.StringType,
}

func unholdableValue(p directory.PublishedCertificate) attr.Value {
	return types.ObjectValueMust(unholdableAttributeTypes, map[string]attr.Value{
		"serial": types.StringValue(p.Serial), "issuer": types.StringValue(p.Issuer), "template": types.StringValue(p.Template),
		"not_after": types.StringValue(p.NotAfter.UTC().Format(time.RFC3339)), "subject": types.StringValue(p.Subject),
	})
}
