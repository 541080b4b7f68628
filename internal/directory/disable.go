package directory

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// SetDisabled sets or clears ACCOUNTDISABLE on acct and reports whether the account was enabled
// before. It re-reads userAccountControl, refuses guarded accounts (see Guard) when disabling, and
// changes only bit 0x2. Nothing is written when the account is already in the wanted state.
func (c *Client) SetDisabled(ctx context.Context, acct Account, disabled bool) (wasEnabled bool, err error) {
	if acct.DN == "" {
		return false, &ValidationError{Field: "account", Reason: "no DN (look the account up first)"}
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	lock := c.accountLock(acct.DN)
	lock.Lock()
	defer lock.Unlock()

	// The pool may repeat this function after a dropped connection; the state seen by the first
	// successful read is the one to report, even if the write had landed before the drop.
	seen := false
	err = c.pool.do(ctx, func(conn *ldap.Conn) error {
		cur, err := readAccount(conn, acct.DN)
		if err != nil {
			return err
		}
		if acct.ObjectGUID != "" && !strings.EqualFold(cur.ObjectGUID, acct.ObjectGUID) {
			return fmt.Errorf("directory: %s now has objectGUID %s, not %s: the account was replaced", acct.DN, cur.ObjectGUID, acct.ObjectGUID)
		}
		if !seen {
			wasEnabled, seen = cur.Enabled(), true
		}
		want := cur.UserAccountControl &^ UFAccountDisable
		if disabled {
			if err := c.Guard(cur); err != nil {
				return err
			}
			want |= UFAccountDisable
		}
		if want == cur.UserAccountControl {
			return nil
		}
		mod := ldap.NewModifyRequest(cur.DN, nil)
		// The attribute is a signed 32-bit integer: write it as such.
		mod.Replace("userAccountControl", []string{strconv.FormatInt(int64(int32(want)), 10)}) //nolint:gosec // signed on the wire
		if err := conn.Modify(mod); err != nil {
			return fmt.Errorf("directory: setting userAccountControl of %s to %#x: %w", cur.DN, want, err)
		}
		return nil
	})
	return wasEnabled, err
}

// Guard returns a *GuardError when acct must not be disabled: domain controllers (writable and
// read-only), critical system objects, the built-in Administrator and krbtgt, the configured
// protected computers, and anything outside the allowed search bases.
func (c *Client) Guard(acct Account) error {
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
	if acct.Kind == KindComputer && c.cfg.protected[strings.ToUpper(acct.Name())] {
		return refuse("computer %s is listed in ProtectedComputers", acct.Name())
	}
	if !c.allowed(acct.DN) {
		return refuse("it is outside AllowedSearchBases (%s)", strings.Join(c.cfg.AllowedSearchBases, "; "))
	}
	return nil
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
