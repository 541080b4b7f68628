package ldapserver

import (
	"fmt"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// AD's bitwise matching rules (userAccountControl:1.2.840.113556.1.4.803:=2).
const (
	matchingRuleBitAnd = "1.2.840.113556.1.4.803"
	matchingRuleBitOr  = "1.2.840.113556.1.4.804"
	// LDAP_MATCHING_RULE_IN_CHAIN: (memberOf:1.2.840.113556.1.4.1941:=<group DN>) matches members of the group
	// through nested groups (Microsoft, "Search Filter Syntax").
	matchingRuleInChain = "1.2.840.113556.1.4.1941"
)

// filter is a compiled search filter.
type filter interface {
	match(e *entry) bool
}

// compileFilter turns the filter text gldap hands over into a predicate.
//
// gldap v0.1.14 receives the filter as BER and gives handlers only the text
// that ldap.DecompileFilter makes of it. DecompileFilter passes every
// attribute value through ldap.EscapeFilter (which escapes `*()\`, NUL and all
// bytes >= 0x80), so compiling that text again with ldap.CompileFilter yields
// the client's exact octets: an escaped `\2a` stays a literal '*' and never
// becomes a wildcard.
//
// env.schemaDN resolves the (objectCategory=computer) shorthand; env.lookup finds the groups that
// LDAP_MATCHING_RULE_IN_CHAIN walks through.
func compileFilter(text string, env compileEnv) (filter, error) {
	p, err := ldap.CompileFilter(text)
	if err != nil {
		return nil, fmt.Errorf("compile filter %q: %w", text, err)
	}
	return fromBER(p, env)
}

// compileEnv is what compiling a filter needs from the directory.
type compileEnv struct {
	schemaDN string
	// lookup returns the entry of a normalized DN; it runs while the store is locked for the search. Nil makes
	// the in-chain rule match direct values only.
	lookup func(ndn string) (*entry, bool)
}

func fromBER(p *ber.Packet, env compileEnv) (filter, error) {
	switch p.Tag {
	case ldap.FilterAnd, ldap.FilterOr:
		children := make([]filter, 0, len(p.Children))
		for _, c := range p.Children {
			f, err := fromBER(c, env)
			if err != nil {
				return nil, err
			}
			children = append(children, f)
		}
		if p.Tag == ldap.FilterAnd {
			return andFilter(children), nil
		}
		return orFilter(children), nil
	case ldap.FilterNot:
		if len(p.Children) != 1 {
			return nil, fmt.Errorf("not filter with %d children", len(p.Children))
		}
		f, err := fromBER(p.Children[0], env)
		if err != nil {
			return nil, err
		}
		return notFilter{f}, nil
	case ldap.FilterPresent:
		return presentFilter{attr: p.Data.String()}, nil
	case ldap.FilterEqualityMatch, ldap.FilterApproxMatch:
		attr, value, err := assertion(p)
		if err != nil {
			return nil, err
		}
		return newEquality(attr, value, env.schemaDN), nil
	case ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual:
		attr, value, err := assertion(p)
		if err != nil {
			return nil, err
		}
		return orderingFilter{attr: attr, syn: syntaxOf(attr), value: value, greater: p.Tag == ldap.FilterGreaterOrEqual}, nil
	case ldap.FilterSubstrings:
		return substringsFromBER(p)
	case ldap.FilterExtensibleMatch:
		return extensibleFromBER(p, env)
	}
	return nil, fmt.Errorf("unsupported filter choice %d", p.Tag)
}

func assertion(p *ber.Packet) (attr, value string, err error) {
	if len(p.Children) != 2 {
		return "", "", fmt.Errorf("attribute value assertion with %d parts", len(p.Children))
	}
	return p.Children[0].Data.String(), p.Children[1].Data.String(), nil
}

func newEquality(attr, value, schemaDN string) filter {
	if strings.EqualFold(attr, "objectCategory") && !strings.Contains(value, "=") {
		if cat, ok := objectCategoryShorthand[strings.ToLower(value)]; ok {
			value = rdn("CN", cat) + "," + schemaDN
		}
	}
	return equalityFilter{attr: attr, syn: syntaxOf(attr), value: value}
}

func substringsFromBER(p *ber.Packet) (filter, error) {
	if len(p.Children) != 2 {
		return nil, fmt.Errorf("substrings filter with %d parts", len(p.Children))
	}
	f := substringFilter{attr: p.Children[0].Data.String()}
	fold := f.folder()
	for _, c := range p.Children[1].Children {
		v := fold(c.Data.String())
		switch c.Tag {
		case ldap.FilterSubstringsInitial:
			f.initial = v
		case ldap.FilterSubstringsAny:
			f.any = append(f.any, v)
		case ldap.FilterSubstringsFinal:
			f.final = v
		}
	}
	return f, nil
}

func extensibleFromBER(p *ber.Packet, env compileEnv) (filter, error) {
	var rule, attr, value string
	for _, c := range p.Children {
		switch c.Tag {
		case ldap.MatchingRuleAssertionMatchingRule:
			rule = c.Data.String()
		case ldap.MatchingRuleAssertionType:
			attr = c.Data.String()
		case ldap.MatchingRuleAssertionMatchValue:
			value = c.Data.String()
		}
	}
	switch rule {
	case "":
		if attr == "" {
			return nil, fmt.Errorf("extensible match without attribute or matching rule")
		}
		return newEquality(attr, value, env.schemaDN), nil
	case matchingRuleInChain:
		target, err := normalizeDN(value)
		if err != nil {
			return undefinedFilter{}, nil //nolint:nilerr // an assertion that is not a DN matches nothing
		}
		return inChainFilter{attr: attr, target: target, lookup: env.lookup}, nil
	case matchingRuleBitAnd, matchingRuleBitOr:
		mask, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			// AD answers an unparsable mask with no match, not an error.
			return undefinedFilter{}, nil //nolint:nilerr // deliberate: Undefined, RFC 4511 4.5.1.7
		}
		return bitwiseFilter{attr: attr, mask: mask, all: rule == matchingRuleBitAnd}, nil
	}
	// An unknown matching rule makes the assertion Undefined (RFC 4511 4.5.1.7):
	// it matches nothing.
	return undefinedFilter{}, nil
}

type andFilter []filter

func (f andFilter) match(e *entry) bool {
	for _, c := range f {
		if !c.match(e) {
			return false
		}
	}
	return true
}

type orFilter []filter

func (f orFilter) match(e *entry) bool {
	for _, c := range f {
		if c.match(e) {
			return true
		}
	}
	return false
}

type notFilter struct{ f filter }

func (f notFilter) match(e *entry) bool { return !f.f.match(e) }

type presentFilter struct{ attr string }

func (f presentFilter) match(e *entry) bool { return len(e.get(f.attr)) > 0 }

type undefinedFilter struct{}

func (undefinedFilter) match(*entry) bool { return false }

type equalityFilter struct {
	attr  string
	syn   syntax
	value string
}

func (f equalityFilter) match(e *entry) bool {
	for _, v := range e.get(f.attr) {
		if valuesEqual(f.syn, v, f.value) {
			return true
		}
	}
	return false
}

type orderingFilter struct {
	attr    string
	syn     syntax
	value   string
	greater bool
}

func (f orderingFilter) match(e *entry) bool {
	for _, v := range e.get(f.attr) {
		c, ok := compareValues(f.syn, v, f.value)
		if ok && (c == 0 || (c > 0) == f.greater) {
			return true
		}
	}
	return false
}

type substringFilter struct {
	attr    string
	initial string
	any     []string
	final   string
}

// folder returns the case folding of the attribute's syntax: binary values
// compare as they are, everything else case-insensitively.
func (f substringFilter) folder() func(string) string {
	switch syntaxOf(f.attr) {
	case syntaxOctets, syntaxSID:
		return func(s string) string { return s }
	}
	return strings.ToUpper
}

func (f substringFilter) match(e *entry) bool {
	fold := f.folder()
	for _, v := range e.get(f.attr) {
		if f.matchValue(fold(v)) {
			return true
		}
	}
	return false
}

func (f substringFilter) matchValue(v string) bool {
	if !strings.HasPrefix(v, f.initial) {
		return false
	}
	v = v[len(f.initial):]
	for _, part := range f.any {
		i := strings.Index(v, part)
		if i < 0 {
			return false
		}
		v = v[i+len(part):]
	}
	return len(v) >= len(f.final) && strings.HasSuffix(v, f.final)
}

type bitwiseFilter struct {
	attr string
	mask uint64
	all  bool // 803: every bit of mask set; 804: any bit set
}

func (f bitwiseFilter) match(e *entry) bool {
	for _, v := range e.get(f.attr) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		got := uint64(n) & f.mask //nolint:gosec // the rule tests the two's-complement bits (groupType is negative)
		if (f.all && got == f.mask) || (!f.all && got != 0) {
			return true
		}
	}
	return false
}

// inChainFilter follows a DN-valued attribute (memberOf) transitively: an entry matches when target is one of its
// values, or a value of the entries they name, to any depth. Cycles end the walk.
type inChainFilter struct {
	attr   string
	target string // normalized DN
	lookup func(ndn string) (*entry, bool)
}

func (f inChainFilter) match(e *entry) bool {
	seen := map[string]bool{}
	queue := []*entry{e}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, v := range cur.get(f.attr) {
			ndn, err := normalizeDN(v)
			if err != nil || seen[ndn] {
				continue
			}
			if ndn == f.target {
				return true
			}
			seen[ndn] = true
			if f.lookup == nil {
				continue
			}
			if next, ok := f.lookup(ndn); ok {
				queue = append(queue, next)
			}
		}
	}
	return false
}
