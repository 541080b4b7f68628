package ldapserver

import (
	"strconv"
	"strings"
)

// syntax decides how values of an attribute compare, as AD's schema does.
type syntax int

const (
	syntaxString  syntax = iota // Unicode string, compared case-insensitively
	syntaxInteger               // INTEGER / LargeInteger, compared numerically
	syntaxDN                    // DN-valued, compared after normalization
	syntaxOctets                // binary, compared byte for byte
	syntaxSID                   // objectSid: binary, or an "S-1-5-..." string in a filter
)

var attributeSyntax = map[string]syntax{
	"useraccountcontrol":    syntaxInteger,
	"primarygroupid":        syntaxInteger,
	"samaccounttype":        syntaxInteger,
	"instancetype":          syntaxInteger,
	"systemflags":           syntaxInteger,
	"grouptype":             syntaxInteger,
	"usncreated":            syntaxInteger,
	"usnchanged":            syntaxInteger,
	"admincount":            syntaxInteger,
	"distinguishedname":     syntaxDN,
	"member":                syntaxDN,
	"memberof":              syntaxDN,
	"objectcategory":        syntaxDN,
	"defaultobjectcategory": syntaxDN,
	"ncname":                syntaxDN,
	"serverreference":       syntaxDN,
	"managedby":             syntaxDN,
	"objectguid":            syntaxOctets,
	"objectsid":             syntaxSID,
	"msds-generationid":     syntaxOctets,
	"usercertificate":       syntaxOctets,
	"securityidentifier":    syntaxSID,
}

func syntaxOf(attr string) syntax {
	return attributeSyntax[strings.ToLower(attr)]
}

// objectCategoryShorthand maps the class names AD accepts in
// (objectCategory=computer) to the category object's RDN, the way AD
// resolves them through the class's defaultObjectCategory.
var objectCategoryShorthand = map[string]string{
	"user":               "Person",
	"person":             "Person",
	"computer":           "Computer",
	"group":              "Group",
	"organizationalunit": "Organizational-Unit",
	"container":          "Container",
	"domaindns":          "Domain-DNS",
	"crossref":           "Cross-Ref",
}

// valuesEqual compares a stored value with an assertion value under the
// attribute's syntax. The assertion arrives as raw octets (the client's
// escapes are already decoded).
func valuesEqual(syn syntax, stored, asserted string) bool {
	switch syn {
	case syntaxInteger:
		a, errA := strconv.ParseInt(stored, 10, 64)
		b, errB := strconv.ParseInt(asserted, 10, 64)
		return errA == nil && errB == nil && a == b
	case syntaxDN:
		a, errA := normalizeDN(stored)
		b, errB := normalizeDN(asserted)
		return errA == nil && errB == nil && a == b
	case syntaxOctets:
		return stored == asserted
	case syntaxSID:
		if stored == asserted {
			return true
		}
		// AD also accepts the string form: (objectSid=S-1-5-21-...-1104).
		s, err := parseSID(asserted)
		return err == nil && string(s.bytes()) == stored
	default:
		// Leading and trailing spaces are insignificant (RFC 4518 2.6.1): Samba AD DC 4.17 finds "alice" for
		// (sAMAccountName=alice ) and ( alice), checked with go-ldap. Microsoft's documentation does not say what
		// AD does; a client that sends padded names must not rely on either answer.
		return strings.EqualFold(strings.Trim(stored, " "), strings.Trim(asserted, " "))
	}
}

// compareValues orders a stored value against an assertion for >= and <=.
// ok is false when the values cannot be ordered under the syntax.
func compareValues(syn syntax, stored, asserted string) (cmp int, ok bool) {
	switch syn {
	case syntaxInteger:
		a, errA := strconv.ParseInt(stored, 10, 64)
		b, errB := strconv.ParseInt(asserted, 10, 64)
		if errA != nil || errB != nil {
			return 0, false
		}
		switch {
		case a < b:
			return -1, true
		case a > b:
			return 1, true
		}
		return 0, true
	case syntaxString:
		return strings.Compare(strings.ToUpper(stored), strings.ToUpper(asserted)), true
	default:
		return strings.Compare(stored, asserted), true
	}
}
