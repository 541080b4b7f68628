package directory

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// pageSize stays under Active Directory's default MaxPageSize (1000).
const pageSize = 500

// disabledFilter matches ACCOUNTDISABLE with the LDAP_MATCHING_RULE_BIT_AND rule.
const disabledFilter = "(userAccountControl:1.2.840.113556.1.4.803:=2)"

// ListDisabled lists the disabled accounts of a kind under base. An empty base means every
// AllowedSearchBase, or the lookup base when none are set; a given base must lie in AllowedSearchBases.
func (c *Client) ListDisabled(ctx context.Context, kind Kind, base string) ([]Account, error) {
	kf, err := kindFilter(kind)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	bases, err := c.listBases(ctx, base)
	if err != nil {
		return nil, err
	}
	var accounts []Account
	seen := map[string]bool{}
	for _, b := range bases {
		entries, err := c.search(ctx, ldap.NewSearchRequest(b, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(&"+kf+disabledFilter+")", accountAttributes, nil))
		if err != nil {
			return nil, fmt.Errorf("directory: listing disabled %s accounts under %s: %w", kind, b, err)
		}
		for _, e := range entries {
			if seen[strings.ToLower(e.DN)] { // overlapping AllowedSearchBases
				continue
			}
			seen[strings.ToLower(e.DN)] = true
			a, err := parseAccount(e)
			if err != nil {
				return nil, err
			}
			accounts = append(accounts, a)
		}
	}
	return accounts, nil
}

func (c *Client) listBases(ctx context.Context, base string) ([]string, error) {
	switch {
	case base != "":
		if _, err := ldap.ParseDN(base); err != nil {
			return nil, &ValidationError{Field: "search base", Value: base, Reason: "not a distinguished name"}
		}
		if !c.allowed(base) {
			return nil, &ValidationError{Field: "search base", Value: base, Reason: "outside AllowedSearchBases"}
		}
		return []string{base}, nil
	case len(c.cfg.AllowedSearchBases) > 0:
		return c.cfg.AllowedSearchBases, nil
	}
	dom, err := c.Domain(ctx)
	if err != nil {
		return nil, err
	}
	return []string{dom.BaseDN}, nil
}
