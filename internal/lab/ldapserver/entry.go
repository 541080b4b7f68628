package ldapserver

import (
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// entry is one directory object. Entries are immutable once stored: a modify
// builds a new entry and swaps it in, so searches can hold entries without
// locks or copies.
type entry struct {
	dn       string // as AD would print it
	ndn      string // normalizeDN(dn): the store key
	parent   string // normalized DN of the parent ("" for a naming context head)
	nc       string // normalized DN of the naming context that holds the entry
	attrs    []attribute
	password string // for simple binds; never an attribute (AD never returns unicodePwd)
}

// attribute values are raw octets held in strings (objectGUID and objectSid
// are binary), exactly what goes on the wire.
type attribute struct {
	name   string // canonical lDAPDisplayName, as AD returns it
	values []string
}

func (e *entry) get(name string) []string {
	for _, a := range e.attrs {
		if strings.EqualFold(a.name, name) {
			return a.values
		}
	}
	return nil
}

// deleted reports a tombstone (isDeleted TRUE): searches return it only with the show-deleted control.
func (e *entry) deleted() bool { return strings.EqualFold(e.first("isDeleted"), "TRUE") }

func (e *entry) first(name string) string {
	if v := e.get(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// with returns a copy of e with attribute name set to values (removed when
// values is empty).
func (e *entry) with(name string, values ...string) *entry {
	c := *e
	c.attrs = make([]attribute, 0, len(e.attrs)+1)
	replaced := false
	for _, a := range e.attrs {
		if !strings.EqualFold(a.name, name) {
			c.attrs = append(c.attrs, a)
			continue
		}
		replaced = true
		if len(values) > 0 {
			c.attrs = append(c.attrs, attribute{name: a.name, values: values})
		}
	}
	if !replaced && len(values) > 0 {
		c.attrs = append(c.attrs, attribute{name: name, values: values})
	}
	return &c
}

// normalizeDN gives the comparison form of a DN: attribute types and values
// folded to lower case, escaping and spacing made uniform, so
// "cn=Client1, ou=X,DC=corp,DC=example" and "CN=CLIENT1,OU=x,dc=corp,dc=example" agree.
func normalizeDN(dn string) (string, error) {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return "", fmt.Errorf("invalid DN %q: %w", dn, err)
	}
	for _, rdn := range parsed.RDNs {
		for _, a := range rdn.Attributes {
			a.Value = strings.ToLower(a.Value)
		}
	}
	return parsed.String(), nil
}

// parentDN returns the DN without its first RDN ("" for a single RDN).
// It works on normalized DNs, whose separators are unescaped commas.
func parentDN(ndn string) string {
	for i := 0; i < len(ndn); i++ {
		switch ndn[i] {
		case '\\':
			i++ // skip the escaped character
		case ',':
			return ndn[i+1:]
		}
	}
	return ""
}

// dnsNameOf returns the DNS name spelled by the trailing DC= components of a DN ("" when it ends in none).
func dnsNameOf(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return ""
	}
	var labels []string
	for i := len(parsed.RDNs) - 1; i >= 0; i-- {
		attrs := parsed.RDNs[i].Attributes
		if len(attrs) != 1 || !strings.EqualFold(attrs[0].Type, "dc") {
			break
		}
		labels = append([]string{attrs[0].Value}, labels...)
	}
	return strings.Join(labels, ".")
}

// isUnder reports whether normalized DN ndn equals base or lies below it.
func isUnder(ndn, base string) bool {
	if base == "" {
		return true
	}
	for p := ndn; p != ""; p = parentDN(p) {
		if p == base {
			return true
		}
	}
	return false
}

// rdn builds "CN=value" with the value escaped for a DN.
func rdn(typ, value string) string {
	return typ + "=" + ldap.EscapeDN(value)
}
