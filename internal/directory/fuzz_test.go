package directory

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
)

// The lookups build their filters from names a configuration supplies. Whatever the name, either it is refused
// with a ValidationError before anything is sent, or the filter parses and a directory returns exactly the
// accounts of that kind whose name is the one asked for: never a neighbour, a prefix match, or everything.
// Filters are evaluated by the lab directory's engine (the one its searches use), on a small population built
// around each name: the account itself, a case variant, its neighbours and accounts of the other kind.

const fuzzDNSRoot = "corp.example"

var (
	computerClasses = []string{"top", "person", "organizationalPerson", "user", "computer"}
	userClasses     = []string{"top", "person", "organizationalPerson", "user"}
)

type fuzzAccount struct {
	computer bool
	sam, upn string
}

func (a fuzzAccount) attrs() map[string][]string {
	m := map[string][]string{"objectClass": userClasses, "sAMAccountName": {a.sam}}
	if a.computer {
		m["objectClass"] = computerClasses
	}
	if a.upn != "" {
		m["userPrincipalName"] = []string{a.upn}
	}
	return m
}

// population is the fixed bystanders plus variants of name, as both kinds of account. Only names Active
// Directory would store as a sAMAccountName are used as one.
func population(name string) []fuzzAccount {
	bare := strings.TrimSuffix(name, "$")
	local, _, _ := strings.Cut(name, "@")
	var variants []string
	for _, v := range []string{name, bare, local} {
		variants = append(variants, v, strings.ToUpper(v), strings.ToLower(v), v+"0", "x"+v, trimLast(v), strings.TrimSpace(v))
	}
	accounts := []fuzzAccount{
		{computer: true, sam: "CLIENT1$"}, {computer: true, sam: "CLIENT10$"}, {computer: true, sam: "DC1$"},
		{sam: "alice", upn: "alice@" + fuzzDNSRoot}, {sam: "bob", upn: "robert@other.example"}, {sam: "Administrator"},
	}
	for _, v := range variants {
		if validateUserName(v) == nil && !strings.Contains(v, "@") {
			accounts = append(accounts, fuzzAccount{sam: v}, fuzzAccount{sam: v, upn: v + "@other.example"})
		}
		if c, err := normalizeComputerName(v); err == nil {
			accounts = append(accounts, fuzzAccount{computer: true, sam: c + "$"}, fuzzAccount{computer: true, sam: c + "$", upn: name})
		}
		if validateUserName(v) == nil && strings.Contains(v, "@") {
			accounts = append(accounts, fuzzAccount{sam: "upnholder", upn: v})
		}
	}
	return accounts
}

func trimLast(s string) string {
	if s == "" {
		return s
	}
	return s[:len(s)-1]
}

// checkFilter compiles filter as a client library would send it and compares what it returns with want.
func checkFilter(t *testing.T, name, filter string, want func(fuzzAccount) bool) {
	t.Helper()
	if _, err := ldap.CompileFilter(filter); err != nil {
		t.Fatalf("name %q gives the filter %q, which does not parse: %v", name, filter, err)
	}
	for _, a := range population(name) {
		got, err := ldapserver.Match(filter, a.attrs())
		if err != nil {
			t.Fatalf("name %q: filter %q: %v", name, filter, err)
		}
		if got != want(a) {
			t.Fatalf("name %q: filter %q returns %+v: %v, want %v", name, filter, a, got, want(a))
		}
	}
}

func refused(t *testing.T, name string, err error) {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("name %q: error %v is not a ValidationError", name, err)
	}
}

func FuzzComputerFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		filter, err := computerFilter(name)
		if (err == nil) != (ValidateName(KindComputer, name) == nil) {
			t.Fatalf("name %q: computerFilter error %v disagrees with ValidateName", name, err)
		}
		if err != nil {
			refused(t, name, err)
			return
		}
		sam := strings.TrimSuffix(name, "$") + "$"
		checkFilter(t, name, filter, func(a fuzzAccount) bool { return a.computer && strings.EqualFold(a.sam, sam) })
	})
}

func FuzzUserFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		filter, err := userFilter(name, fuzzDNSRoot)
		if (err == nil) != (ValidateName(KindUser, name) == nil) {
			t.Fatalf("name %q: userFilter error %v disagrees with ValidateName", name, err)
		}
		if err != nil {
			refused(t, name, err)
			return
		}
		isUPN := strings.Contains(name, "@")
		checkFilter(t, name, filter, func(a fuzzAccount) bool {
			switch {
			case a.computer:
				return false
			case !isUPN:
				return strings.EqualFold(a.sam, name)
			}
			// A UPN names the account whose userPrincipalName it is, or whose implicit UPN (sAMAccountName@domain) it is.
			return strings.EqualFold(a.upn, name) || strings.EqualFold(a.sam+"@"+fuzzDNSRoot, name)
		})
	})
}
