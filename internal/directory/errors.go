package directory

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound reports that no account matched. Test with errors.Is.
var ErrNotFound = errors.New("directory: account not found")

// ErrDeleted reports that the account was deleted: only its tombstone is left in the domain. Test with errors.Is; an
// error that is ErrDeleted is ErrNotFound too.
var ErrDeleted = errors.New("directory: account deleted")

// ValidationError reports a name or setting rejected before anything was sent to the directory.
type ValidationError struct {
	Field  string // what was checked: "computer name", "user name", "Config.URLs[0]", ...
	Value  string
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("directory: invalid %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("directory: invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

func invalidConfig(field, value, reason string) error {
	return &ValidationError{Field: "Config." + field, Value: value, Reason: reason}
}

// GuardError reports an account that this package refuses to disable, and why.
type GuardError struct {
	DN     string
	Reason string
}

func (e *GuardError) Error() string {
	return fmt.Sprintf("directory: refusing to disable %s: %s", e.DN, e.Reason)
}

// VisibilityError reports the domain controllers that did not show a change before the deadline.
type VisibilityError struct {
	DN      string
	Lagging []string // domain controller URLs
	Last    map[string]error
}

func (e *VisibilityError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "directory: change to %s not visible on %s before the deadline", e.DN, strings.Join(e.Lagging, ", "))
	for _, dc := range e.Lagging {
		if err := e.Last[dc]; err != nil {
			fmt.Fprintf(&b, "; %s: %v", dc, err)
		}
	}
	return b.String()
}

// TLSError is a TLS handshake with a domain controller that failed: most often a certificate the configured CA
// does not sign, or a host name the certificate does not name.
type TLSError struct {
	URL      string
	StartTLS bool
	Err      error
}

func (e *TLSError) Error() string {
	how := "TLS"
	if e.StartTLS {
		how = "StartTLS"
	}
	return fmt.Sprintf("%s with %s failed: %v", how, e.URL, e.Err)
}

func (e *TLSError) Unwrap() error { return e.Err }
