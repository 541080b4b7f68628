package cluster

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-ldap/ldap/v3"
)

// Dial-in (internal/lab/WINDOWS.md, Dial-in): NPS, which RRAS asks for every VPN user tunnel, refuses a user whose
// Network Access Permission (msNPAllowDialin) is FALSE, whatever the network policy says, while the account stays
// enabled for everything else: office logon and DirectAccess (Kerberos) are not NPS's to refuse.

// dialInChecker is an AccountChecker that also reads msNPAllowDialin. Without one nobody is denied.
type dialInChecker interface {
	DialInDenied(ctx context.Context, sAMAccountNames []string) (map[string]bool, error)
}

// checkDialIn asks the directory which users are denied dial-in; it is a network call, made without the lock.
func (c *Cluster) checkDialIn(ctx context.Context, users []string) (map[string]bool, error) {
	checker, ok := c.opts.Directory.(dialInChecker)
	if !ok || len(users) == 0 {
		return map[string]bool{}, nil
	}
	slices.Sort(users)
	denied, err := checker.DialInDenied(ctx, slices.Compact(users))
	if err != nil {
		return nil, fmt.Errorf("lab directory: msNPAllowDialin: %w", err)
	}
	return denied, nil
}

// DialInDenied reports, for each user, whether its msNPAllowDialin is FALSE.
func (l *LDAPChecker) DialInDenied(ctx context.Context, sAMAccountNames []string) (map[string]bool, error) {
	denied := make(map[string]bool, len(sAMAccountNames))
	err := l.searchAccounts(ctx, sAMAccountNames, "(msNPAllowDialin=FALSE)", nil, func(name string, _ *ldap.Entry) error {
		denied[name] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return denied, nil
}
