package provider

import (
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
)

// certificateAuthoritySettings is one enterprise CA of the provider block.
type certificateAuthoritySettings struct {
	// Config is "host\CA name", as certutil -config takes it.
	Config string
	// Host is the machine the CA scripts run on over WinRM (the provider's WinRM settings): default the config's host.
	Host string
}

func certificateAuthoritiesSchema() schema.Attribute {
	return schema.ListNestedAttribute{
		Optional: true,
		MarkdownDescription: "The enterprise certification authorities (Active Directory Certificate Services) that issue the " +
			"devices' certificates. The provider reaches each over WinRM with the `winrm` settings, on `host`, and uses the " +
			"CA's COM interfaces there; it needs \"Issue and Manage Certificates\" on the CA to hold certificates.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"config": schema.StringAttribute{Required: true,
				MarkdownDescription: "The CA's configuration string, `HOST\\CA name` (`ca1.corp.example\\Corp Issuing CA`), as " +
					"`certutil -config` takes it."},
			"host": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The machine the CA's scripts run on over WinRM, which must have the CA's COM interfaces " +
					"(the CA itself, or a machine with the Certification Authority Tools). Defaults to the host of `config`."},
		}},
	}
}

// certificateAuthorities reads and checks the provider block's certificate_authorities.
func (r *resolver) certificateAuthorities(v types.List) []certificateAuthoritySettings {
	if v.IsUnknown() {
		r.unknown = true
		return nil
	}
	var out []certificateAuthoritySettings
	seen := map[string]bool{}
	for i, e := range v.Elements() {
		obj, ok := e.(types.Object)
		if !ok || obj.IsUnknown() {
			r.unknown = true
			continue
		}
		p := path.Root("certificate_authorities").AtListIndex(i)
		s, ok := r.certificateAuthority(obj, p)
		if !ok {
			continue
		}
		if seen[strings.ToLower(s.Config)] {
			r.errorf(origin{path: p.AtName("config")}, "Duplicate certificate authority", "%q is listed more than once.", s.Config)
			continue
		}
		seen[strings.ToLower(s.Config)] = true
		out = append(out, s)
	}
	return out
}

func (r *resolver) certificateAuthority(obj types.Object, p path.Path) (certificateAuthoritySettings, bool) {
	attrs := obj.Attributes()
	config, _ := attrs["config"].(types.String)
	host, _ := attrs["host"].(types.String)
	if config.IsUnknown() || host.IsUnknown() {
		r.unknown = true
		return certificateAuthoritySettings{}, false
	}
	s := certificateAuthoritySettings{Config: config.ValueString(), Host: host.ValueString()}
	if _, err := ca.New(s.Config, nil); err != nil {
		r.errorf(origin{path: p.AtName("config")}, "Invalid certificate authority", "%s.", err)
		return s, false
	}
	if s.Host == "" {
		s.Host, _, _ = strings.Cut(s.Config, `\`)
	}
	if err := checkHost(s.Host); err != nil {
		r.errorf(origin{path: p.AtName("host")}, "Invalid certificate authority host", "%s.", err)
		return s, false
	}
	return s, true
}

// CertificateAuthorities returns a client of every configured CA, in order.
func (c *clients) CertificateAuthorities() ([]*ca.CA, error) {
	var out []*ca.CA
	for _, s := range c.settings.CertificateAuthorities {
		runner, err := c.server(s.Host)
		if err != nil {
			return nil, err
		}
		authority, err := ca.New(s.Config, runner)
		if err != nil {
			return nil, fmt.Errorf("certificate authority %s: %w", s.Config, err)
		}
		out = append(out, authority)
	}
	return out, nil
}
