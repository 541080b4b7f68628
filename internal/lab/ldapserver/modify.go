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
	"unicode/utf16"

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

// writable are the attributes the lab lets a client write: the account's state, and the block record and its
// summary that the provider keeps in the Notes (info) and description fields. Every other attribute comes from the
// seed. All three are single-valued on accounts: info by the schema, description for security principals (the
// schema allows several values, the SAM layer of Active Directory keeps one).
var writable = map[string]string{
	"useraccountcontrol": attrUserAccountControl,
	"info":               "info",
	"description":        "description",
	"msnpallowdialin":    attrDialIn,
}

// applyModify performs a modify request. Only Domain Admins may write, and only the writable attributes.
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
		attr, ok := writable[strings.ToLower(c.Modification.Type)]
		if !ok {
			return errUnwilling("the lab only writes userAccountControl, info, description and msNPAllowDialin, not " + c.Modification.Type)
		}
		values, err := setValues(c.Modification.Vals)
		if err != nil {
			return errProtocol(err.Error())
		}
		changes = append(changes, change{op: c.Operation, attr: attr, values: values})
	}
	permissive := hasControl(m.Controls, controlPermissiveModify)
	err = h.d.store.update(ndn, func(cur *entry) (*entry, error) {
		if cur.deleted() {
			return nil, errNoSuchEntry
		}
		next := cur
		for _, attr := range []string{attrUserAccountControl, "info", "description", attrDialIn} {
			var mine []change
			for _, c := range changes {
				if c.attr == attr {
					mine = append(mine, c)
				}
			}
			if len(mine) == 0 {
				continue
			}
			var err error
			switch attr {
			case attrUserAccountControl:
				next, err = applyUserAccountControl(next, mine, permissive)
			case attrDialIn:
				next, err = applyDialIn(next, mine, permissive)
			default:
				next, err = applySingleString(next, attr, mine, permissive)
			}
			if err != nil {
				return nil, err
			}
		}
		return next.with("whenChanged", generalizedTime(time.Now())), nil
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

// applyValues applies add, delete and replace to the values of one attribute with Active Directory's rules:
// deleting a value that is not there fails (noSuchAttribute) and adding one that is fails (attributeOrValueExists),
// unless the permissive-modify control is present. That makes delete-old + add-new in one modify a compare-and-swap,
// as on Windows (Samba is laxer, internal/lab/WINDOWS.md, Active Directory).
func applyValues(attr string, syn syntax, values []string, changes []change, permissive bool) ([]string, error) {
	values = slices.Clone(values)
	has := func(v string) int {
		return slices.IndexFunc(values, func(s string) bool { return valuesEqual(syn, s, v) })
	}
	for _, c := range changes {
		switch c.op {
		case gldap.ReplaceAttribute:
			values = slices.Clone(c.values)
		case gldap.AddAttribute:
			for _, v := range c.values {
				if has(v) >= 0 {
					if !permissive {
						return nil, errAttributeOrValueExists(attr)
					}
					continue
				}
				values = append(values, v)
			}
		case gldap.DeleteAttribute:
			if len(c.values) == 0 {
				if len(values) == 0 && !permissive {
					return nil, errNoSuchAttribute(attr)
				}
				values = nil
				continue
			}
			for _, v := range c.values {
				i := has(v)
				if i < 0 {
					if !permissive {
						return nil, errNoSuchAttribute(attr)
					}
					continue
				}
				values = slices.Delete(values, i, i+1)
			}
		default:
			return nil, errUnwilling("unsupported modify operation " + strconv.FormatInt(c.op, 10))
		}
	}
	return values, nil
}

// applyUserAccountControl applies the changes to a copy of cur for a single-valued, mandatory integer attribute.
func applyUserAccountControl(cur *entry, changes []change, permissive bool) (*entry, error) {
	for _, c := range changes {
		for _, v := range c.values {
			if _, err := strconv.ParseInt(v, 10, 32); err != nil {
				return nil, errInvalidSyntax(attrUserAccountControl)
			}
		}
	}
	values, err := applyValues(attrUserAccountControl, syntaxInteger, cur.get(attrUserAccountControl), changes, permissive)
	if err != nil {
		return nil, err
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
	return cur.with(attrUserAccountControl, strconv.FormatInt(next, 10)), nil
}

// maxStringValue is the rangeUpper of info and description in the Active Directory schema, counted in UTF-16 code
// units as Active Directory counts them (internal/lab/WINDOWS.md, Active Directory: 1,024 'a' or 512 characters outside
// the Basic Multilingual Plane fit; 1,023 'a' and one such character do not).
const maxStringValue = 1024

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// applySingleString applies the changes to an optional, single-valued string attribute (at most 1024 characters).
func applySingleString(cur *entry, attr string, changes []change, permissive bool) (*entry, error) {
	values, err := applyValues(attr, syntaxString, cur.get(attr), changes, permissive)
	if err != nil {
		return nil, err
	}
	if len(values) > 1 || (len(values) == 1 && utf16Len(values[0]) > maxStringValue) {
		return nil, errConstraint(attr)
	}
	return cur.with(attr, values...), nil
}
