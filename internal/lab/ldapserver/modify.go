package ldapserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/jimlambrt/gldap"
)

const attrUserAccountControl = "userAccountControl"

// change is one decoded modification.
type change struct {
	op     int64 // gldap.AddAttribute, DeleteAttribute, ReplaceAttribute
	attr   string
	values []string
}

// applyModify performs a modify request. Only Domain Admins may write and
// only userAccountControl is writable: the lab models account state, and
// every other attribute comes from the seed.
func (h *handler) applyModify(conn int, m *gldap.ModifyMessage) error {
	if err := h.authorizeWrite(conn); err != nil {
		return err
	}
	ndn, err := normalizeDN(m.DN)
	if err != nil {
		return errInvalidDN(m.DN)
	}
	changes := make([]change, 0, len(m.Changes))
	for _, c := range m.Changes {
		if !strings.EqualFold(c.Modification.Type, attrUserAccountControl) {
			return errUnwilling("the lab only writes userAccountControl, not " + c.Modification.Type)
		}
		values, err := setValues(c.Modification.Vals)
		if err != nil {
			return errProtocol(err.Error())
		}
		changes = append(changes, change{op: c.Operation, attr: attrUserAccountControl, values: values})
	}
	permissive := hasControl(m.Controls, controlPermissiveModify)
	err = h.d.store.update(ndn, func(cur *entry) (*entry, error) {
		return applyUserAccountControl(cur, changes, permissive, time.Now())
	})
	if errors.Is(err, errNoSuchEntry) {
		_, err = h.d.findBase(m.DN)
	}
	return err
}

// setValues decodes modification values. gldap v0.1.14 hands over the BER
// encoding of the whole value SET as one string instead of the values, so
// the octet strings inside are read here.
func setValues(raw []string) ([]string, error) {
	var out []string
	for _, r := range raw {
		rd := bytes.NewReader([]byte(r))
		for rd.Len() > 0 {
			p, err := ber.ReadPacket(rd)
			if err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("decode modification value: %w", err)
			}
			out = append(out, p.Data.String())
		}
	}
	return out, nil
}

// applyUserAccountControl applies the changes to a copy of cur with AD's
// rules for a single-valued, mandatory integer attribute. Deleting a value
// that is not there fails (noSuchAttribute) unless the permissive-modify
// control is present, which makes delete-old + add-new a compare-and-swap as
// on Windows (Samba is laxer, internal/lab/WINDOWS.md, Active Directory).
func applyUserAccountControl(cur *entry, changes []change, permissive bool, now time.Time) (*entry, error) {
	values := slices.Clone(cur.get(attrUserAccountControl))
	for _, c := range changes {
		for _, v := range c.values {
			if _, err := strconv.ParseInt(v, 10, 32); err != nil {
				return nil, errInvalidSyntax(attrUserAccountControl)
			}
		}
		switch c.op {
		case gldap.ReplaceAttribute:
			values = slices.Clone(c.values)
		case gldap.AddAttribute:
			for _, v := range c.values {
				if containsInteger(values, v) {
					if !permissive {
						return nil, errAttributeOrValueExists(attrUserAccountControl)
					}
					continue
				}
				values = append(values, v)
			}
		case gldap.DeleteAttribute:
			if len(c.values) == 0 {
				if len(values) == 0 && !permissive {
					return nil, errNoSuchAttribute(attrUserAccountControl)
				}
				values = nil
				continue
			}
			for _, v := range c.values {
				i := slices.IndexFunc(values, func(s string) bool { return valuesEqual(syntaxInteger, s, v) })
				if i < 0 {
					if !permissive {
						return nil, errNoSuchAttribute(attrUserAccountControl)
					}
					continue
				}
				values = slices.Delete(values, i, i+1)
			}
		default:
			return nil, errUnwilling("unsupported modify operation " + strconv.FormatInt(c.op, 10))
		}
	}
	if len(values) != 1 {
		return nil, errConstraint(attrUserAccountControl)
	}
	next, _ := strconv.ParseInt(values[0], 10, 32)
	old, _ := strconv.ParseInt(cur.first(attrUserAccountControl), 10, 32)
	// Turning a computer into a user or a DC is not what this lab is for; a
	// client whose read-modify-write loses the account-type bit is caught here.
	if next&uacAccountTypeMask != old&uacAccountTypeMask {
		return nil, errUnwilling("the account type bits of userAccountControl cannot change")
	}
	return cur.with(attrUserAccountControl, strconv.FormatInt(next, 10)).with("whenChanged", generalizedTime(now)), nil
}

func containsInteger(values []string, v string) bool {
	return slices.ContainsFunc(values, func(s string) bool { return valuesEqual(syntaxInteger, s, v) })
}
