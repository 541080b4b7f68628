// Package kerberos logs on to an Active Directory KDC with gokrb5, for the WinRM and LDAP clients alike.
package kerberos

import (
	"strings"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// NewClient returns a client for user in realm that logs on with the keytab when kt is not nil, else with the
// password. The user may be written as user, DOMAIN\user or user@REALM: the principal is the user part.
// Nothing is sent until the first ticket is asked for.
func NewClient(user, realm, password string, kt *keytab.Keytab, conf *config.Config) *client.Client {
	// Active Directory KDCs do not offer FAST; without this gokrb5 insists on it.
	noFAST := client.DisablePAFXFAST(true)
	if kt != nil {
		return client.NewWithKeytab(PrincipalName(user), realm, kt, conf, noFAST)
	}
	return client.NewWithPassword(PrincipalName(user), realm, password, conf, noFAST)
}

// PrincipalName strips a realm or down-level domain from a user name.
func PrincipalName(user string) string {
	if _, after, ok := strings.Cut(user, `\`); ok {
		user = after
	}
	name, _, _ := strings.Cut(user, "@")
	return name
}
