package directory

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// protectedGroupNames are the groups whose members Active Directory protects (AdminSDHolder); nested members carry
// adminCount=1 on Windows, where SDProp runs (Samba does not run it, so direct membership is checked too).
var protectedGroupNames = []string{
	"Domain Admins", "Enterprise Admins", "Schema Admins", "Administrators", "Account Operators", "Server Operators",
	"Print Operators", "Backup Operators", "Domain Controllers", "Read-only Domain Controllers", "Replicator",
	"Key Admins", "Enterprise Key Admins", "Group Policy Creator Owners", "Cert Publishers",
}

// Guard returns a *GuardError when acct must not be disabled: domain controllers (writable and read-only), critical
// system objects, the built-in Administrator and krbtgt, the Remote Access servers and other protected computers,
// the provider's own accounts, privileged accounts (unless opts allow them), and anything outside the allowed
// search bases.
func (c *Client) Guard(acct Account, opts GuardOptions) error {
	refuse := func(format string, args ...any) error {
		return &GuardError{DN: acct.DN, Reason: fmt.Sprintf(format, args...)}
	}
	uac := acct.UserAccountControl
	switch {
	case uac&UFServerTrustAccount != 0:
		return refuse("it is a domain controller's account (SERVER_TRUST_ACCOUNT in userAccountControl %#x)", uac)
	case uac&UFPartialSecretsAccount != 0:
		return refuse("it is a read-only domain controller's account (PARTIAL_SECRETS_ACCOUNT in userAccountControl %#x)", uac)
	case acct.IsCriticalSystemObject:
		return refuse("it is a critical system object (isCriticalSystemObject is TRUE)")
	}
	if rid, ok := domainRID(acct.ObjectSID); ok {
		switch rid {
		case ridAdministrator:
			return refuse("it is the domain's built-in Administrator (RID 500)")
		case ridKrbtgt:
			return refuse("it is the domain's krbtgt account (RID 502)")
		}
	}
	if acct.Kind == KindComputer {
		for _, key := range []string{strings.ToUpper(acct.Name()), strings.ToLower(acct.DNSHostName)} {
			if why, ok := c.cfg.protected[key]; ok && key != "" {
				return refuse("%s", why)
			}
		}
		for _, p := range opts.Protected {
			if computerNamed(acct, p.Name) {
				return refuse("%s", p.Why)
			}
		}
	}
	if why, ok := c.ownAccount(acct); ok {
		return refuse("%s", why)
	}
	if !opts.AllowPrivileged {
		if acct.AdminCount != 0 {
			return refuse("it is a privileged account (adminCount=1: a member of a protected group such as Domain Admins); " +
				"set allow_privileged = true on the block if this is intended")
		}
		if slices.Contains(protectedDomainRIDs, acct.PrimaryGroupID) {
			return refuse("its primary group is a protected group (primaryGroupID %d); set allow_privileged = true on the "+
				"block if this is intended", acct.PrimaryGroupID)
		}
		if group, ok := protectedMembership(acct.MemberOf); ok {
			return refuse("it is a member of the protected group %q; set allow_privileged = true on the block if this is intended", group)
		}
		if acct.PrivilegedVia != "" {
			return refuse("it is a member of the protected group %s through nested groups; set allow_privileged = true on the block "+
				"if this is intended", acct.PrivilegedVia)
		}
	}
	if !c.allowed(acct.DN) {
		return refuse("it is outside ldap.allowed_search_bases (%s)", strings.Join(c.cfg.AllowedSearchBases, "; "))
	}
	return nil
}

// ownAccount reports whether acct is one of the provider's own accounts, and why it is protected.
func (c *Client) ownAccount(acct Account) (string, bool) {
	for _, own := range c.cfg.ProtectedAccounts {
		if accountNamed(acct, own.Name) {
			return own.Why, true
		}
	}
	return "", false
}

// accountNamed matches a logon name in any of its forms (sAMAccountName, DOMAIN\name, name@realm or a UPN, a DN).
func accountNamed(acct Account, name string) bool {
	if name == "" {
		return false
	}
	if strings.EqualFold(name, acct.DN) || strings.EqualFold(name, acct.UserPrincipalName) || sameDN(name, acct.DN) {
		return true
	}
	if _, user, ok := strings.Cut(name, `\`); ok {
		name = user
	}
	local, _, _ := strings.Cut(name, "@")
	return strings.EqualFold(local, acct.SAMAccountName) || strings.EqualFold(local+"$", acct.SAMAccountName)
}

// sameDN reports whether name is a distinguished name of the same object as dn, however spelled: a simple bind
// takes "CN=svc, OU=Service Accounts, DC=corp" as well as the DN the directory prints (spaces, letter case,
// escapes).
func sameDN(name, dn string) bool {
	if !strings.Contains(name, "=") {
		return false
	}
	a, err := ldap.ParseDN(name)
	if err != nil || len(a.RDNs) == 0 {
		return false
	}
	b, err := ldap.ParseDN(dn)
	return err == nil && a.EqualFold(b)
}

// computerNamed matches a computer by NetBIOS name (with or without "$") or DNS host name; a DNS name also matches
// the computer named by its first label, as Windows names computers.
func computerNamed(acct Account, name string) bool {
	name = strings.TrimSuffix(name, "$")
	if strings.Contains(name, ".") {
		if strings.EqualFold(name, acct.DNSHostName) {
			return true
		}
		name, _, _ = strings.Cut(name, ".")
	}
	return name != "" && strings.EqualFold(name, acct.Name())
}

func protectedMembership(memberOf []string) (string, bool) {
	for _, dn := range memberOf {
		parsed, err := ldap.ParseDN(dn)
		if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) == 0 {
			continue
		}
		cn := parsed.RDNs[0].Attributes[0].Value
		for _, g := range protectedGroupNames {
			if strings.EqualFold(cn, g) {
				return g, true
			}
		}
	}
	return "", false
}

// allowed reports whether dn lies in one of AllowedSearchBases (always true when none are set).
func (c *Client) allowed(dn string) bool {
	if len(c.cfg.allowed) == 0 {
		return true
	}
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return false
	}
	for _, base := range c.cfg.allowed {
		if base.EqualFold(parsed) || base.AncestorOfFold(parsed) {
			return true
		}
	}
	return false
}

// IsGuardError reports whether err is a refusal by a guard.
func IsGuardError(err error) bool {
	var g *GuardError
	return errors.As(err, &g)
}
