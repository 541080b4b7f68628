// Package ca reaches an Active Directory Certificate Services enterprise CA and the Remote Access servers' revocation
// settings over WinRM, as a plain Go API: list a device's certificates, put one on hold (reason certificateHold, the
// only reversible revocation), revoke one permanently only when asked by name, take a hold off again, publish the
// CRLs, flush a server's revocation caches and read whether a server enforces revocation. Each operation is one
// embedded PowerShell script (scripts/*.ps1) that uses the CA's COM interfaces, documented in
// internal/remoteaccess/scripts/CONTRACT.md, section 3.
package ca

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// Runner runs one script with a JSON input and decodes its {"result": ...} into output. *winrm.Client is one.
type Runner interface {
	Run(ctx context.Context, s winrm.Script, input, output any) error
}

var _ Runner = (*winrm.Client)(nil)

// Errors, matched with errors.Is. The *winrm.Error they wrap says more (server, message).
var (
	// ErrInvalidArgument: refused before anything was sent.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnreachable: the CA's host or its Certificate Services did not answer.
	ErrUnreachable = errors.New("certification authority unreachable")
	// ErrAccessDenied: the account lacks the CA's "Issue and Manage Certificates" right (or read access to its
	// database, for listing).
	ErrAccessDenied = errors.New("access denied by the certification authority")
	// ErrNotFound: the CA has no certificate with that serial number.
	ErrNotFound = errors.New("certificate not found at the certification authority")
	// ErrPermanentRevocation: the certificate is revoked with a permanent reason, which is never undone.
	ErrPermanentRevocation = errors.New("the certificate is revoked permanently")
	// ErrReadBackFailed: the CA accepted a hold, revocation or unrevoke, then reading the certificate back failed: the
	// change was made, or may have been. IsOutcomeUnknown reports it; it is never ErrUnreachable ("nothing done").
	ErrReadBackFailed = errors.New("the certification authority accepted the change, but reading the certificate back failed")
)

// Reason is a revocation reason (RFC 5280 CRLReason, as ICertAdmin::RevokeCertificate takes it).
type Reason int

// The reasons a CA accepts. Only ReasonCertificateHold can be undone.
const (
	ReasonUnspecified          Reason = 0
	ReasonKeyCompromise        Reason = 1
	ReasonAffiliationChanged   Reason = 3
	ReasonSuperseded           Reason = 4
	ReasonCessationOfOperation Reason = 5
	ReasonCertificateHold      Reason = 6
)

// permanentReasons are the reasons Revoke accepts, by the names a configuration uses.
var permanentReasons = map[string]Reason{
	"unspecified":            ReasonUnspecified,
	"key_compromise":         ReasonKeyCompromise,
	"affiliation_changed":    ReasonAffiliationChanged,
	"superseded":             ReasonSuperseded,
	"cessation_of_operation": ReasonCessationOfOperation,
}

// PermanentReason returns the permanent reason a configuration names (key_compromise, superseded, ...).
func PermanentReason(name string) (Reason, error) {
	r, ok := permanentReasons[name]
	if !ok {
		return 0, fmt.Errorf("%w: %q is not a permanent revocation reason (unspecified, key_compromise, affiliation_changed, superseded, cessation_of_operation)",
			ErrInvalidArgument, name)
	}
	return r, nil
}

// Dispositions of a CA database row.
const (
	DispositionIssued  = 20
	DispositionRevoked = 21
)

// Certificate is one row of the CA database.
type Certificate struct {
	Serial           string `json:"serial"`
	Requester        string `json:"requester"`
	Template         string `json:"template"`
	NotAfter         string `json:"not_after"`
	Disposition      int    `json:"disposition"`
	RevocationReason int    `json:"revocation_reason"`
	RevokedAt        string `json:"revoked_at"`
	// CA is the configuration string of the CA that issued it; set by this package, not by the script.
	CA string `json:"-"`
}

// Held reports whether the certificate is on hold (revoked with reason 6).
func (c Certificate) Held() bool {
	return c.Disposition == DispositionRevoked && c.RevocationReason == int(ReasonCertificateHold)
}

// RevokedPermanently reports whether the certificate is revoked with a reason that is never undone.
func (c Certificate) RevokedPermanently() bool {
	return c.Disposition == DispositionRevoked && !c.Held()
}

// Expiry parses NotAfter.
func (c Certificate) Expiry() (time.Time, error) { return time.Parse(time.RFC3339Nano, c.NotAfter) }

// Change is what Hold, Revoke and Unrevoke did: Changed is false when the certificate already was in the state
// asked for (or, for Hold, revoked permanently: a hold never replaces a permanent revocation).
type Change struct {
	Changed     bool        `json:"changed"`
	Certificate Certificate `json:"certificate"`
}

// The scripts' inputs and outputs, as CONTRACT.md section 3 documents them.
type (
	listInput struct {
		Config    string   `json:"config"`
		Requester string   `json:"requester"`
		Templates []string `json:"templates"`
	}
	listOutput struct {
		Certificates []Certificate `json:"certificates"`
	}
	revokeInput struct {
		Config string `json:"config"`
		Serial string `json:"serial"`
		Reason Reason `json:"reason"`
	}
	serialInput struct {
		Config string `json:"config"`
		Serial string `json:"serial"`
	}
	statesInput struct {
		Config  string   `json:"config"`
		Serials []string `json:"serials"`
	}
	configInput struct {
		Config string `json:"config"`
	}
	// Published says which CRLs PublishCRL published.
	Published struct {
		Base  bool `json:"base_published"`
		Delta bool `json:"delta_published"`
	}
	// Flushed says what FlushRevocationCaches did.
	Flushed struct {
		URLCacheDeleted  bool `json:"url_cache_deleted"`
		ChainCacheResync bool `json:"chain_cache_resync"`
	}
)

// The scripts, and the helpers several of them include (scripts/include, see winrm.LoadScript).
//
//go:embed scripts/*.ps1 scripts/include/*.ps1
var scriptFiles embed.FS

var (
	scriptList        = mustScript("ca-get-certificates").AsRead()
	scriptStates      = mustScript("ca-get-certificate-states").AsRead()
	scriptRevoke      = mustScript("ca-revoke")
	scriptUnrevoke    = mustScript("ca-unrevoke")
	scriptPublish     = mustScript("ca-publish-crl")
	scriptFlush       = mustScript("ca-flush-revocation-caches")
	scriptEnforcement = mustScript("ca-get-revocation-enforcement").AsRead()
)

// Scripts returns every script this package runs.
func Scripts() []winrm.Script {
	return []winrm.Script{scriptList, scriptStates, scriptRevoke, scriptUnrevoke, scriptPublish, scriptFlush, scriptEnforcement}
}

// mustScript loads an embedded script; one that does not load is a build defect, found when the package loads.
func mustScript(name string) winrm.Script {
	s, err := winrm.LoadScript(scriptFiles, name)
	if err != nil {
		panic("ca: " + err.Error())
	}
	return s
}

// CA is one enterprise CA, reached by running the scripts through a Runner (a WinRM client of a machine with the
// CA's COM interfaces: the CA itself, or one with its administration tools).
type CA struct {
	config string
	runner Runner
}

var (
	configPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,252}\\[^\\\x00-\x1f]{1,64}$`)
	serialPattern = regexp.MustCompile(`^[0-9A-Fa-f]{1,80}$`)
	// requesterPattern is DOMAIN\sAMAccountName.
	requesterPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,62}\\[^\\/"\[\]:;|=,+*?<>@\x00-\x1f]{1,64}$`)
)

// New checks a configuration string ("host\CA name", as certutil -config takes it) and returns its CA.
func New(config string, r Runner) (*CA, error) {
	if !configPattern.MatchString(config) {
		return nil, fmt.Errorf(`%w: CA config %q is not "host\CA name"`, ErrInvalidArgument, config)
	}
	return &CA{config: config, runner: r}, nil
}

// Config returns the CA's configuration string.
func (c *CA) Config() string { return c.config }

// Certificates lists the certificates the CA issued to requester (DOMAIN\NAME$ for a computer), issued or revoked,
// restricted to the templates named (by name or OID); at least one template must be named, so that a block never
// touches a certificate the office also relies on (802.1X, Wi-Fi) unless configured to.
func (c *CA) Certificates(ctx context.Context, requester string, templates []string) ([]Certificate, error) {
	if !requesterPattern.MatchString(requester) {
		return nil, fmt.Errorf(`%w: requester %q is not DOMAIN\name`, ErrInvalidArgument, requester)
	}
	if len(templates) == 0 {
		return nil, fmt.Errorf("%w: name at least one certificate template", ErrInvalidArgument)
	}
	for _, t := range templates {
		if t == "" || len(t) > 256 || strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 }) {
			return nil, fmt.Errorf("%w: template %q", ErrInvalidArgument, t)
		}
	}
	var out listOutput
	if err := c.run(ctx, scriptList, listInput{Config: c.config, Requester: requester, Templates: templates}, &out); err != nil {
		return nil, err
	}
	for i := range out.Certificates {
		out.Certificates[i].CA = c.config
	}
	return out.Certificates, nil
}

// MaxStates bounds the serials of one States call: the script opens a view of the CA database for each, and one run
// must end well within the WinRM timeout.
const MaxStates = 100

// States reads certificates by serial number; a serial the CA does not have is left out. StateReader shares one
// run among the callers that ask at the same time.
func (c *CA) States(ctx context.Context, serials []string) ([]Certificate, error) {
	if len(serials) == 0 || len(serials) > MaxStates {
		return nil, fmt.Errorf("%w: %d serial numbers, want 1 to %d", ErrInvalidArgument, len(serials), MaxStates)
	}
	for _, s := range serials {
		if err := checkSerial(s); err != nil {
			return nil, err
		}
	}
	var out listOutput
	if err := c.run(ctx, scriptStates, statesInput{Config: c.config, Serials: serials}, &out); err != nil {
		return nil, err
	}
	for i := range out.Certificates {
		out.Certificates[i].CA = c.config
	}
	return out.Certificates, nil
}

// Hold revokes a certificate with reason certificateHold. A held certificate stays held; one revoked permanently
// stays so (Changed false, RevokedPermanently true): the caller must never record it as its own hold.
func (c *CA) Hold(ctx context.Context, serial string) (Change, error) {
	return c.revoke(ctx, serial, ReasonCertificateHold)
}

// Revoke revokes a certificate permanently with a reason from PermanentReason: it cannot be undone.
func (c *CA) Revoke(ctx context.Context, serial string, reason Reason) (Change, error) {
	if reason == ReasonCertificateHold || reason < ReasonUnspecified || reason > ReasonCessationOfOperation || reason == 2 {
		return Change{}, fmt.Errorf("%w: reason %d is not a permanent revocation reason (use Hold for a hold)", ErrInvalidArgument, reason)
	}
	return c.revoke(ctx, serial, reason)
}

func (c *CA) revoke(ctx context.Context, serial string, reason Reason) (Change, error) {
	if err := checkSerial(serial); err != nil {
		return Change{}, err
	}
	var out Change
	err := c.run(ctx, scriptRevoke, revokeInput{Config: c.config, Serial: serial, Reason: reason}, &out)
	out.Certificate.CA = c.config
	return out, err
}

// Unrevoke takes a certificate off hold. A certificate revoked with any other reason is refused with
// ErrPermanentRevocation; one that is not revoked is left as it is (Changed false).
func (c *CA) Unrevoke(ctx context.Context, serial string) (Change, error) {
	if err := checkSerial(serial); err != nil {
		return Change{}, err
	}
	var out Change
	err := c.run(ctx, scriptUnrevoke, serialInput{Config: c.config, Serial: serial}, &out)
	out.Certificate.CA = c.config
	return out, err
}

// PublishCRL publishes a new base CRL, and a delta CRL where the CA publishes deltas.
func (c *CA) PublishCRL(ctx context.Context) (Published, error) {
	var out Published
	err := c.run(ctx, scriptPublish, configInput{Config: c.config}, &out)
	return out, err
}

func checkSerial(serial string) error {
	if !serialPattern.MatchString(serial) {
		return fmt.Errorf("%w: serial number %q is not hexadecimal", ErrInvalidArgument, serial)
	}
	return nil
}

// run runs a CA script and types its failures.
func (c *CA) run(ctx context.Context, s winrm.Script, input, output any) error {
	err := c.runner.Run(ctx, s, input, output)
	if err == nil {
		return nil
	}
	return fmt.Errorf("CA %s: %w", c.config, classify(err, !s.ReadOnly))
}

// categoryErrors maps the categories of CONTRACT.md section 3 to this package's errors.
var categoryErrors = map[string]error{
	"ResourceUnavailable": ErrUnreachable,
	"PermissionDenied":    ErrAccessDenied,
	"ObjectNotFound":      ErrNotFound,
	"InvalidOperation":    ErrPermanentRevocation,
	"InvalidArgument":     ErrInvalidArgument,
	"ReadError":           ErrReadBackFailed,
}

// IsOutcomeUnknown reports whether a change failed after it may have been carried out: its answer was lost, or the
// CA accepted it and reading it back failed.
func IsOutcomeUnknown(err error) bool {
	return errors.Is(err, winrm.ErrOutcomeUnknown) || errors.Is(err, ErrReadBackFailed)
}

// classify wraps a script error in the package's error for its category, and a WinRM host that cannot be reached
// in ErrUnreachable (it is the CA's way in); other transport errors, and a write whose outcome is unknown
// (winrm.ErrOutcomeUnknown), stay as they are. ReadError is ErrReadBackFailed from a script that writes only: a read
// failing with PowerShell's own ReadError changed nothing.
func classify(err error, write bool) error {
	var we *winrm.Error
	if !errors.As(err, &we) {
		return err
	}
	if we.Kind == winrm.KindUnreachable && !we.OutcomeUnknown {
		// A connection lost after the command was sent is no unreachable CA: the hold or unrevoke may have run.
		return &Error{Kind: ErrUnreachable, Err: err}
	}
	if we.Kind != winrm.KindScript {
		return err
	}
	if typed, ok := categoryErrors[we.Category]; ok && (write || !errors.Is(typed, ErrReadBackFailed)) {
		return &Error{Kind: typed, Err: err}
	}
	return err
}

// Error is a typed CA failure: errors.Is matches Kind, errors.As reaches the *winrm.Error.
type Error struct {
	Kind error
	Err  error
}

func (e *Error) Error() string {
	if hint, ok := hints[e.Kind]; ok {
		return e.Kind.Error() + ": " + e.Err.Error() + " (" + hint + ")"
	}
	return e.Kind.Error() + ": " + e.Err.Error()
}

func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// hints say what to do next.
var hints = map[error]string{
	ErrUnreachable:    "check that the CA host answers and that Active Directory Certificate Services (certsvc) runs on it",
	ErrAccessDenied:   `grant the provider's account "Issue and Manage Certificates" on the CA (Certification Authority console, Security tab)`,
	ErrNotFound:       "the certificate is not in this CA's database: check the CA configured for it",
	ErrReadBackFailed: "the change may be in place: the next apply or destroy reads the certificate again and completes it",
}
