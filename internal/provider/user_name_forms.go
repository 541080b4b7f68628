package provider

import (
	"context"
	"fmt"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

// userNameForms returns every form under which the Remote Access servers may print a user name (DOMAIN\user,
// dns.name\user, user@dns.name), from the domain the provider's directory reports. Without a configured directory
// the provider cannot know the domain's two names, so a name stands for itself only (documented on each attribute).
// A configured directory that cannot be read is an error: fewer forms would silently match fewer connections.
func userNameForms(ctx context.Context, c *clients, names []string) ([]string, error) {
	if len(c.settings.LDAP.URLs) == 0 {
		return names, nil
	}
	dir, err := c.Directory()
	if err != nil {
		return nil, err
	}
	dom, err := dir.Domain(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the domain's NetBIOS and DNS names for the other forms of the user names: %w", err)
	}
	var forms []string
	for _, name := range names {
		forms = append(forms, remoteaccess.EquivalentUserNames(name, dom.NetBIOSName, dom.DNSRoot)...)
	}
	return forms, nil
}

// userNameFormsNote documents userNameForms on the attributes that take user names.
const userNameFormsNote = "Matched exactly (case-insensitively, never as a pattern) in every form the servers print: " +
	"with the provider's `ldap` configured, `CORP\\alice`, `corp.example\\alice`, `alice@corp.example` and `alice` " +
	"all stand for the same user of the provider's domain; without it, only the form given."
