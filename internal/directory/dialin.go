package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// DialIn is a user's Network Access Permission, the msNPAllowDialin attribute (the Dial-in tab of the account):
// TRUE allows, FALSE denies VPN through NPS and RRAS whatever the network policy says, absent leaves the decision to
// the NPS network policy (Microsoft, "Dial-in" properties of a user account / Network Access Permission).
type DialIn string

// The three states of msNPAllowDialin.
const (
	DialInAbsent DialIn = ""
	DialInAllow  DialIn = "TRUE"
	DialInDeny   DialIn = "FALSE"
)

const attrDialIn = "msNPAllowDialin"

// dialInWords are the three states as the block record and the resources' prior_dial_in write them.
var dialInWords = map[DialIn]string{DialInAbsent: "absent", DialInAllow: "true", DialInDeny: "false"}

// Word is the state as prior_dial_in and the block record write it: absent, true or false.
func (d DialIn) Word() string { return dialInWords[d] }

// DialInOfWord reads a state written by Word.
func DialInOfWord(word string) (DialIn, bool) {
	for d, w := range dialInWords {
		if w == word {
			return d, true
		}
	}
	return DialInAbsent, false
}

// String names the state as the Dial-in tab does.
func (d DialIn) String() string {
	switch d {
	case DialInAllow:
		return "allow access (msNPAllowDialin TRUE)"
	case DialInDeny:
		return "deny access (msNPAllowDialin FALSE)"
	}
	return "control access through NPS network policy (msNPAllowDialin absent)"
}

// ErrDialInChanged is returned by RestoreDialIn when the attribute no longer holds what the block wrote: someone
// changed it since, and their value stays.
var ErrDialInChanged = errors.New("msNPAllowDialin was changed by someone else since the block set it")

// DialInToRestore is what a block that denies the account's dial-in restores on its last release (priorDialIn),
// found being the value its deny replaced.
func (a Account) DialInToRestore(holdID string, found DialIn) DialIn {
	rec, _ := a.ReadBlockRecord() // an unreadable record: what the deny replaced
	return priorDialIn(rec, holdID, found)
}

// priorDialIn is what a block that denies dial-in restores on its last release: what its hold line says when the
// record has it; else found, the value its deny replaces, unless that is the deny of another block of the record,
// whose prior it takes over, so that whichever of them is released last restores what was there before both.
func priorDialIn(rec *BlockRecord, holdID string, found DialIn) DialIn {
	if rec == nil {
		return found
	}
	if i := rec.hold(holdID); i >= 0 && rec.Holds[i].DeniesDialIn {
		return rec.Holds[i].PriorDialIn
	}
	if found == DialInDeny {
		for _, h := range rec.Others(holdID) {
			if h.DeniesDialIn {
				return h.PriorDialIn
			}
		}
	}
	return found
}

// ReadDialIn reads a user's msNPAllowDialin.
func (c *Client) ReadDialIn(ctx context.Context, acct Account) (DialIn, error) {
	if acct.DN == "" {
		return DialInAbsent, &ValidationError{Field: "account", Reason: "no DN (look the account up first)"}
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var cur DialIn
	err := c.pool.do(ctx, func(conn *ldap.Conn) error {
		var err error
		cur, err = readDialIn(conn, acct)
		return err
	})
	return cur, err
}

// SetDialIn sets a user's msNPAllowDialin to want (DialInAbsent removes it) and returns what was there, so that a
// release can restore exactly that. The write is a compare-and-swap on the value just read (delete it and add the
// new one in one modify; add when absent; delete when restoring absent), retried on a fresh read when the directory
// says the value changed in between.
func (c *Client) SetDialIn(ctx context.Context, acct Account, want DialIn) (prior DialIn, err error) {
	read := false
	err = c.changeDialIn(ctx, acct, func(cur DialIn, conflicted bool) (DialIn, error) {
		// A later read that finds want is this write, applied before its answer was lost (the pool runs the change
		// again on a fresh connection): what was there before is what the first read found. After a refused write
		// (the value changed in between), the fresh read is what was there: want then is someone else's.
		if !read || cur != want || conflicted {
			prior = cur
		}
		read = true
		return want, nil
	})
	return prior, err
}

// RestoreDialIn puts back prior, the value SetDialIn returned, only while the attribute still holds set, the value
// the block wrote; otherwise it changes nothing and returns ErrDialInChanged with the value it found.
func (c *Client) RestoreDialIn(ctx context.Context, acct Account, prior, set DialIn) (found DialIn, err error) {
	restoring := false
	err = c.changeDialIn(ctx, acct, func(cur DialIn, _ bool) (DialIn, error) {
		if restoring && cur == prior {
			return cur, nil // this restore, applied before its answer was lost
		}
		found = cur
		if cur != set {
			return cur, fmt.Errorf("%w: %s holds %s, the block set %s", ErrDialInChanged, acct.DN, cur, set)
		}
		restoring = true
		return prior, nil
	})
	return found, err
}

// changeDialIn writes on the controller every block write goes to, as change does: a compare-and-swap only holds on
// one controller.
func (c *Client) changeDialIn(ctx context.Context, acct Account, decide func(cur DialIn, conflicted bool) (DialIn, error)) error {
	return c.onWriter(ctx, acct.DN, func(ctx context.Context, w *pool) error {
		return w.do(ctx, func(conn *ldap.Conn) error { return casDialIn(conn, acct, decide) })
	})
}

// casDialIn reads the attribute, asks decide, and writes the change as a compare-and-swap, again on a fresh read
// when the directory says the value changed in between (decide is told: conflicted).
func casDialIn(conn *ldap.Conn, acct Account, decide func(cur DialIn, conflicted bool) (DialIn, error)) error {
	var conflict error
	for attempt := 1; attempt <= maxWriteAttempts; attempt++ {
		cur, err := readDialIn(conn, acct)
		if err != nil {
			return err
		}
		want, err := decide(cur, conflict != nil)
		if err != nil || want == cur {
			return err
		}
		beforeWrite(acct.DN)
		conflict = conn.Modify(dialInModify(acct.DN, cur, want))
		if conflict == nil {
			return nil
		}
		if !ldap.IsErrorAnyOf(conflict, ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultAttributeOrValueExists) {
			return fmt.Errorf("writing %s %s of %s: %w", attrDialIn, want, acct.DN, conflict)
		}
	}
	return fmt.Errorf("%s kept changing while %s was written (%d attempts): %w", acct.DN, attrDialIn, maxWriteAttempts, conflict)
}

// dialInModify is the compare-and-swap from cur to want.
func dialInModify(dn string, cur, want DialIn) *ldap.ModifyRequest {
	mod := ldap.NewModifyRequest(dn, nil)
	if cur != DialInAbsent {
		mod.Delete(attrDialIn, []string{string(cur)})
	}
	if want != DialInAbsent {
		mod.Add(attrDialIn, []string{string(want)})
	}
	return mod
}

func readDialIn(conn *ldap.Conn, acct Account) (DialIn, error) {
	res, err := conn.Search(ldap.NewSearchRequest(acct.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=user)", []string{attrDialIn, "objectGUID"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) || (err == nil && len(res.Entries) == 0) {
		return DialInAbsent, fmt.Errorf("%w: %s", ErrNotFound, acct.DN)
	}
	if err != nil {
		return DialInAbsent, fmt.Errorf("reading %s of %s: %w", attrDialIn, acct.DN, err)
	}
	e := res.Entries[0]
	if guid, err := decodeGUID(e.GetRawAttributeValue("objectGUID")); acct.ObjectGUID != "" && err == nil &&
		!strings.EqualFold(guid, acct.ObjectGUID) {
		return DialInAbsent, fmt.Errorf("%s now has objectGUID %s, not %s: the account was replaced", acct.DN, guid, acct.ObjectGUID)
	}
	return parseDialIn(acct.DN, e.GetAttributeValue(attrDialIn))
}

// parseDialIn interprets a value of msNPAllowDialin read from the account dn.
func parseDialIn(dn, value string) (DialIn, error) {
	switch v := strings.ToUpper(value); v {
	case "":
		return DialInAbsent, nil
	case string(DialInAllow), string(DialInDeny):
		return DialIn(v), nil
	default:
		return DialInAbsent, fmt.Errorf("%s of %s is %q, not TRUE or FALSE", attrDialIn, dn, v)
	}
}
