package directory

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// FindComputer finds a computer account by its NetBIOS name (sAMAccountName without the "$").
func (c *Client) FindComputer(ctx context.Context, name string) (Account, error) {
	filter, err := computerFilter(name)
	if err != nil {
		return Account{}, err
	}
	return c.findOne(ctx, filter, fmt.Sprintf("computer %q", strings.TrimSuffix(name, "$")))
}

// FindUser finds a user account by sAMAccountName, or by userPrincipalName when name contains "@".
func (c *Client) FindUser(ctx context.Context, name string) (Account, error) {
	if err := validateUserName(name); err != nil {
		return Account{}, err
	}
	var dnsRoot string
	if strings.Contains(name, "@") {
		dom, err := c.Domain(ctx)
		if err != nil {
			return Account{}, err
		}
		dnsRoot = dom.DNSRoot
	}
	filter, err := userFilter(name, dnsRoot)
	if err != nil {
		return Account{}, err
	}
	return c.findOne(ctx, filter, fmt.Sprintf("user %q", name))
}

// computerFilter is the search filter for the computer account named name, after checking the name. Every value
// goes through ldap.EscapeFilter: no name can widen the search beyond the one account of that name.
func computerFilter(name string) (string, error) {
	n, err := normalizeComputerName(name)
	if err != nil {
		return "", err
	}
	kind, _ := kindFilter(KindComputer)
	return "(&" + kind + "(sAMAccountName=" + ldap.EscapeFilter(n+"$") + "))", nil
}

// userFilter is the search filter for the user named name (a sAMAccountName, or a user principal name when it
// contains "@"), after checking the name. dnsRoot is the domain's DNS name, which makes sAMAccountName@dnsRoot
// (the implicit UPN) find the account too.
func userFilter(name, dnsRoot string) (string, error) {
	if err := validateUserName(name); err != nil {
		return "", err
	}
	kind, _ := kindFilter(KindUser)
	local, domain, isUPN := strings.Cut(name, "@")
	if !isUPN {
		return "(&" + kind + "(sAMAccountName=" + ldap.EscapeFilter(name) + "))", nil
	}
	filter := "(userPrincipalName=" + ldap.EscapeFilter(name) + ")"
	if dnsRoot != "" && strings.EqualFold(domain, dnsRoot) && validateUserName(local) == nil {
		// The implicit UPN: every account logs on as sAMAccountName@dnsdomain, whatever its userPrincipalName says.
		filter = "(|" + filter + "(sAMAccountName=" + ldap.EscapeFilter(local) + "))"
	}
	return "(&" + kind + filter + ")", nil
}

func (c *Client) findOne(ctx context.Context, filter, what string) (Account, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	dom, err := c.Domain(ctx)
	if err != nil {
		return Account{}, err
	}
	entries, err := c.searchAccounts(ctx, dom.BaseDN, filter)
	if err != nil {
		return Account{}, fmt.Errorf("directory: looking up %s under %s: %w", what, dom.BaseDN, err)
	}
	switch len(entries) {
	case 0:
		return Account{}, fmt.Errorf("%w: %s under %s", ErrNotFound, what, dom.BaseDN)
	case 1:
		acct, err := parseAccount(entries[0])
		if err != nil {
			return acct, err
		}
		err = c.markPrivileged(ctx, c.pool.do, []*Account{&acct})
		return acct, err
	}
	return Account{}, fmt.Errorf("directory: %s matches %d accounts under %s", what, len(entries), dom.BaseDN)
}

// searchAccounts searches the subtree of base for the accounts filter matches, with the attributes an Account holds.
func (c *Client) searchAccounts(ctx context.Context, base, filter string) ([]*ldap.Entry, error) {
	return c.search(ctx, ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, accountAttributes, nil))
}

// readAccount re-reads one account by DN on conn.
func readAccount(conn *ldap.Conn, dn string) (Account, error) {
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=user)", accountAttributes, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) || (err == nil && len(res.Entries) == 0) {
		return Account{}, fmt.Errorf("%w: %s", ErrNotFound, dn)
	}
	if err != nil {
		return Account{}, fmt.Errorf("reading %s: %w", dn, err)
	}
	return parseAccount(res.Entries[0])
}
