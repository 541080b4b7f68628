package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// maxWriteAttempts bounds the compare-and-swap retries of one change when others keep changing the account.
const maxWriteAttempts = 5

// GuardOptions relax the guards for one change.
type GuardOptions struct {
	// AllowPrivileged permits disabling members of protected groups (adminCount=1 or a direct membership).
	AllowPrivileged bool
	// Protected are more computers never to disable (such as the servers of one operation), by NetBIOS name or DNS
	// host name, each with the reason a refusal gives.
	Protected []Protected
}

// HoldRequest is a block to place on an account.
type HoldRequest struct {
	Hold Hold
	// Record writes the block record (info and description); without it only userAccountControl changes.
	Record bool
	Guard  GuardOptions
}

// HoldResult says what placing a hold found and did.
type HoldResult struct {
	// PriorEnabled is the account's state before the first block: the recorded one when a record exists, else the
	// state just read.
	PriorEnabled bool
	// Recorded is set when the hold is in the account's block record.
	Recorded bool
	Account  Account
}

// ReleaseResult says what releasing a hold did.
type ReleaseResult struct {
	// Enabled is set when the account was enabled again.
	Enabled bool
	// OtherHolds are the blocks that still hold the account; it stays disabled for them.
	OtherHolds []Hold
}

// Hold disables acct and adds the hold to its block record (when req.Record), in one modify that changes only bit
// 0x2 of userAccountControl. Placing a hold that is already there changes nothing. Guarded accounts are refused.
func (c *Client) Hold(ctx context.Context, acct Account, req HoldRequest) (HoldResult, error) {
	var res HoldResult
	err := c.change(ctx, acct, func(cur Account) (accountChange, error) {
		if err := c.Guard(cur, req.Guard); err != nil {
			return accountChange{}, err
		}
		ch := accountChange{uac: cur.UserAccountControl | UFAccountDisable}
		rec := cur.BlockRecord()
		res = HoldResult{PriorEnabled: cur.Enabled(), Account: cur}
		if rec != nil {
			res.PriorEnabled = rec.PriorEnabled
		}
		if !req.Record {
			return ch, nil
		}
		if rec == nil {
			rec = &BlockRecord{PriorEnabled: cur.Enabled(), PriorInfo: cur.Info, PriorDescription: cur.Description}
		}
		if rec.hold(req.Hold.ID) < 0 {
			rec.Holds = append(rec.Holds, req.Hold)
		}
		info, err := rec.format()
		if err != nil {
			return accountChange{}, fmt.Errorf("recording the block on %s: %w", cur.DN, err)
		}
		ch.info, ch.description = &info, ptr(rec.summary())
		res.Recorded = true
		return ch, nil
	})
	res.Account.UserAccountControl |= UFAccountDisable
	return res, err
}

// Release removes the hold from acct's block record. When no other hold remains, it restores what the first block
// found: the notes, the description and, when the account was enabled then, the account. With no record on the
// account (recording off, or cleared by hand), the account is enabled again only when wasEnabled says it was.
func (c *Client) Release(ctx context.Context, acct Account, holdID string, wasEnabled bool) (ReleaseResult, error) {
	var res ReleaseResult
	err := c.change(ctx, acct, func(cur Account) (accountChange, error) {
		res = ReleaseResult{}
		rec := cur.BlockRecord()
		if rec == nil {
			if !wasEnabled {
				return accountChange{uac: cur.UserAccountControl}, nil
			}
			res.Enabled = true
			return accountChange{uac: cur.UserAccountControl &^ UFAccountDisable}, nil
		}
		if i := rec.hold(holdID); i >= 0 {
			rec.Holds = slices.Delete(rec.Holds, i, i+1)
		}
		if len(rec.Holds) > 0 {
			res.OtherHolds = rec.Holds
			info, err := rec.format()
			if err != nil {
				return accountChange{}, err
			}
			return accountChange{uac: cur.UserAccountControl, info: &info, description: ptr(rec.summary())}, nil
		}
		ch := accountChange{uac: cur.UserAccountControl, info: &rec.PriorInfo, description: &rec.PriorDescription}
		if rec.PriorEnabled {
			ch.uac &^= UFAccountDisable
			res.Enabled = true
		}
		return ch, nil
	})
	return res, err
}

// SetDisabled sets or clears ACCOUNTDISABLE on acct without a block record and reports whether the account was
// enabled before. Guarded accounts are refused when disabling.
func (c *Client) SetDisabled(ctx context.Context, acct Account, disabled bool) (wasEnabled bool, err error) {
	err = c.change(ctx, acct, func(cur Account) (accountChange, error) {
		wasEnabled = cur.Enabled()
		if !disabled {
			return accountChange{uac: cur.UserAccountControl &^ UFAccountDisable}, nil
		}
		if err := c.Guard(cur, GuardOptions{}); err != nil {
			return accountChange{}, err
		}
		return accountChange{uac: cur.UserAccountControl | UFAccountDisable}, nil
	})
	return wasEnabled, err
}

// accountChange is what one change writes; nil pointers leave an attribute as it is.
type accountChange struct {
	uac               uint32
	info, description *string
}

func ptr(s string) *string { return &s }

// beforeWrite runs between the read and the write of a change; tests use it to change the account in between.
var beforeWrite = func(string) {}

// change re-reads the account, asks decide what to write, and writes it in one modify that deletes the values read
// and adds the new ones: Active Directory refuses it (noSuchAttribute or attributeOrValueExists) when someone else
// changed the account in between, and the change is decided again on a fresh read, so a concurrent change of another
// bit or of the notes is never lost. Only values that change are written.
func (c *Client) change(ctx context.Context, acct Account, decide func(cur Account) (accountChange, error)) error {
	if acct.DN == "" {
		return &ValidationError{Field: "account", Reason: "no DN (look the account up first)"}
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	lock := c.accountLock(acct.DN)
	lock.Lock()
	defer lock.Unlock()

	return c.pool.do(ctx, func(conn *ldap.Conn) error {
		var err error
		for attempt := 1; attempt <= maxWriteAttempts; attempt++ {
			var cur Account
			if cur, err = readAccount(conn, acct.DN); err != nil {
				return err
			}
			if acct.ObjectGUID != "" && !strings.EqualFold(cur.ObjectGUID, acct.ObjectGUID) {
				return fmt.Errorf("%s now has objectGUID %s, not %s: the account was replaced", acct.DN, cur.ObjectGUID, acct.ObjectGUID)
			}
			ch, err := decide(cur)
			if err != nil {
				return err
			}
			mod := modifyFor(cur, ch)
			if len(mod.Changes) == 0 {
				return nil
			}
			beforeWrite(cur.DN)
			err = conn.Modify(mod)
			if err == nil {
				return nil
			}
			if !ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultAttributeOrValueExists) {
				return fmt.Errorf("writing userAccountControl %#x of %s: %w", ch.uac, cur.DN, err)
			}
		}
		return fmt.Errorf("%s kept changing while it was written (%d attempts): %w", acct.DN, maxWriteAttempts, err)
	})
}

// modifyFor builds the compare-and-swap modify from cur to ch.
func modifyFor(cur Account, ch accountChange) *ldap.ModifyRequest {
	mod := ldap.NewModifyRequest(cur.DN, nil)
	if ch.uac != cur.UserAccountControl {
		// The attribute is a signed 32-bit integer: write it as such.
		mod.Delete("userAccountControl", []string{signed(cur.UserAccountControl)})
		mod.Add("userAccountControl", []string{signed(ch.uac)})
	}
	if ch.info != nil && *ch.info != cur.Info {
		if cur.Info != "" {
			mod.Delete(attrInfo, []string{cur.Info})
		}
		if *ch.info != "" {
			mod.Add(attrInfo, []string{*ch.info})
		}
	}
	if ch.description != nil && *ch.description != cur.Description {
		values := []string{}
		if *ch.description != "" {
			values = []string{*ch.description}
		}
		mod.Replace(attrDescription, values)
	}
	return mod
}

func signed(uac uint32) string {
	return strconv.FormatInt(int64(int32(uac)), 10) //nolint:gosec // the schema's signed 32-bit form
}

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
		if group, ok := protectedMembership(acct.MemberOf); ok {
			return refuse("it is a member of the protected group %q; set allow_privileged = true on the block if this is intended", group)
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
	if strings.EqualFold(name, acct.DN) || strings.EqualFold(name, acct.UserPrincipalName) {
		return true
	}
	if _, user, ok := strings.Cut(name, `\`); ok {
		name = user
	}
	local, _, _ := strings.Cut(name, "@")
	return strings.EqualFold(local, acct.SAMAccountName) || strings.EqualFold(local+"$", acct.SAMAccountName)
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
