package directory

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Naming rules from Microsoft's "Naming conventions in Active Directory for computers, domains, sites, and OUs"
// and the sAMAccountName attribute reference. Checking them first keeps malformed input from ever reaching
// a filter, and gives the user a precise message instead of a silent "not found".
const (
	maxComputerName = 15 // NetBIOS name without the trailing $
	maxUserName     = 20 // sAMAccountName of a user
	maxUPN          = 1024
	// A computer's NetBIOS name forbids \ / : * ? " < > |, and its sAMAccountName (NAME$) also what every
	// sAMAccountName forbids: [ ] ; = , + @.
	computerForbid = `\/:*?"<>|[];=,+@`
	userForbid     = `"/\[]:;|=,+*?<>@`
	upnForbid      = `"/\[]:;|=,+*?<>`
)

// normalizeComputerName checks a computer's NetBIOS name and returns it without a trailing "$".
func normalizeComputerName(name string) (string, error) {
	n := strings.TrimSuffix(name, "$")
	fail := func(reason string) (string, error) {
		return "", &ValidationError{Field: "computer name", Value: name, Reason: reason}
	}
	if err := checkText(n); err != "" {
		return fail(err)
	}
	switch {
	case n == "":
		return fail("empty")
	case utf8.RuneCountInString(n) > maxComputerName:
		return fail(fmt.Sprintf("longer than %d characters", maxComputerName))
	case strings.HasPrefix(n, "."):
		return fail("starts with a period")
	case strings.Contains(n, "$"):
		return fail(`contains "$" (give the name without the trailing "$")`)
	}
	if i := strings.IndexAny(n, computerForbid); i >= 0 {
		return fail(fmt.Sprintf("contains %q, which computer names cannot contain", n[i]))
	}
	return n, nil
}

// validateUserName accepts a sAMAccountName or a user principal name (exactly one "@").
func validateUserName(name string) error {
	fail := func(reason string) error {
		return &ValidationError{Field: "user name", Value: name, Reason: reason}
	}
	if err := checkText(name); err != "" {
		return fail(err)
	}
	if name == "" {
		return fail("empty")
	}
	if domain, user, ok := strings.Cut(name, `\`); ok && domain != "" && user != "" {
		return fail(fmt.Sprintf(`is a down-level logon name: give the sAMAccountName %q or the user principal name`, user))
	}
	if strings.Contains(name, "@") {
		local, domain, _ := strings.Cut(name, "@")
		switch {
		case strings.Contains(domain, "@"):
			return fail(`a user principal name has exactly one "@"`)
		case local == "" || domain == "":
			return fail("a user principal name needs a name before and a domain after the @")
		case len(name) > maxUPN:
			return fail(fmt.Sprintf("longer than %d characters", maxUPN))
		case strings.ContainsFunc(name, unicode.IsSpace):
			return fail("a user principal name cannot contain spaces")
		}
		if i := strings.IndexAny(name, upnForbid); i >= 0 {
			return fail(fmt.Sprintf("contains %q, which user principal names cannot contain", name[i]))
		}
		return nil
	}
	if utf8.RuneCountInString(name) > maxUserName {
		return fail(fmt.Sprintf("longer than %d characters", maxUserName))
	}
	if strings.Trim(name, ". ") == "" {
		return fail("only periods and spaces")
	}
	if i := strings.IndexAny(name, userForbid); i >= 0 {
		return fail(fmt.Sprintf("contains %q, which user names cannot contain", name[i]))
	}
	return nil
}

// checkText rejects what no AD name may hold: invalid UTF-8, NUL and other control characters; and leading or
// trailing spaces, which the directory ignores when it compares names (Samba finds "alice" for "alice "): such a
// name would find an account of another name.
func checkText(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case strings.ContainsFunc(s, unicode.IsControl):
		return "contains a control character"
	case strings.TrimFunc(s, unicode.IsSpace) != s:
		return "has leading or trailing spaces, which the directory ignores when it compares names"
	}
	return ""
}

// ValidateName checks a computer name (without the trailing "$") or a user name (sAMAccountName or UPN) against
// Active Directory's naming rules, as every lookup does before it sends anything; callers use it to fail early.
func ValidateName(kind Kind, name string) error {
	if kind == KindComputer {
		_, err := normalizeComputerName(name)
		return err
	}
	return validateUserName(name)
}
