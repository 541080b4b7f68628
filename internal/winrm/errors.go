package winrm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// Kind sorts failures by what the user can do about them.
type Kind string

// Kinds of Error.
const (
	KindAuth            Kind = "authentication failed"
	KindTLS             Kind = "TLS verification failed"
	KindUnreachable     Kind = "server unreachable"
	KindTimeout         Kind = "timed out"
	KindCanceled        Kind = "canceled"
	KindQuota           Kind = "WinRM quota exceeded"
	KindShellAccess     Kind = "remote shells refused"
	KindShell           Kind = "remote shell lost"
	KindProtocol        Kind = "unexpected WinRM reply"
	KindScript          Kind = "script failed"
	KindMalformedOutput Kind = "script output is not the expected JSON"
)

// Kinds lists every Kind, for documentation that must name each one.
func Kinds() []Kind {
	return []Kind{KindAuth, KindTLS, KindUnreachable, KindTimeout, KindCanceled, KindQuota, KindShellAccess, KindShell,
		KindProtocol, KindScript, KindMalformedOutput}
}

// hints say what to check next, per kind.
var hints = map[Kind]string{
	KindAuth: "check the user name, password and authentication method, and that the account may use WinRM; over " +
		"HTTPS, a server whose WinRM setting CbtHardeningLevel is Strict refuses this client, which sends no channel " +
		"binding token: set it back to Relaxed, its default (winrm set winrm/config/service/auth @{CbtHardeningLevel=\"Relaxed\"})",
	KindTLS:         "check the CA certificate and the TLS server name, or that the port speaks HTTPS",
	KindUnreachable: "check the host name, port, firewall and that the WinRM service is running",
	KindQuota:       "the server refused more shells or operations: lower max_concurrency_per_server or retry later",
	KindShellAccess: "the server's WinRM setting AllowRemoteShellAccess is false (winrm/config/winrs, or the Group Policy " +
		"\"Allow Remote Shell Access\" of Windows Remote Shell): enable it on every Remote Access server, " +
		"winrm set winrm/config/winrs @{AllowRemoteShellAccess=\"true\"}",
}

// quotaHints say which quota a quota fault names, and which setting raises it.
var quotaHints = map[uint32]string{
	codeShellQuota: "the account holds as many remote shells as the server's MaxShellsPerUser allows (winrm/config/winrs; " +
		"5 when no policy sets it): other sessions of this account (another Terraform run, PowerShell remoting) hold " +
		"shells; keep max_concurrency_per_server below it or raise MaxShellsPerUser " +
		"(winrm set winrm/config/winrs @{MaxShellsPerUser=\"10\"})",
	codeOperationQuota: "the account has as many operations in flight as the server's MaxConcurrentOperationsPerUser " +
		"allows (winrm/config/service; 1500 by default): lower max_concurrency_per_server or raise it",
	codeShellUsersQuota: "as many accounts use remote shells on the server as its MaxConcurrentUsers allows " +
		"(winrm/config/winrs): retry later or raise it",
}

// hint is what to check next for e.
func (e *Error) hint() string {
	if h, ok := quotaHints[e.Code]; ok && e.Kind == KindQuota {
		return h
	}
	return hints[e.Kind]
}

// Error is every failure Client.Run returns.
type Error struct {
	Kind   Kind
	Server string
	Script string // identifier of the script, e.g. purge-device/v1

	// From the script's {"error": {...}} document (KindScript).
	Category, Message, Target string
	ExitCode                  int
	Stderr                    string // PowerShell's error stream, CLIXML decoded

	Err  error  // the underlying cause, if any
	Code uint32 // the Windows fault code (WSManFault Code), when the server answered with a fault

	// OutcomeUnknown: the command of a write may have reached the server before the failure, so it may have run,
	// in part or in full; it was not sent again. errors.Is(err, ErrOutcomeUnknown) reports it.
	OutcomeUnknown bool

	attemptTimeout bool // a timeout of one attempt while the caller's deadline still had time
}

const maxStderrInError = 2000

// ErrOutcomeUnknown is matched (errors.Is) by an *Error whose write may have run on the server although no reply
// arrived: the connection dropped, or the deadline passed, once the command had been sent. Such a command is never
// sent again by this package; the caller looks with a read, or keeps the work pending.
var ErrOutcomeUnknown = errors.New("outcome unknown: the command may have run")

// Is makes errors.Is(err, ErrOutcomeUnknown) true for an outcome-unknown error.
func (e *Error) Is(target error) bool { return target == ErrOutcomeUnknown && e.OutcomeUnknown }

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "winrm %s", e.Server)
	if e.Script != "" {
		fmt.Fprintf(&b, ": %s", e.Script)
	}
	if e.OutcomeUnknown {
		fmt.Fprintf(&b, ": outcome unknown (the command may have run on %s; it was not sent again)", e.Server)
	}
	fmt.Fprintf(&b, ": %s", e.Kind)
	if e.Category != "" {
		fmt.Fprintf(&b, " (%s)", e.Category)
	}
	if e.Target != "" {
		fmt.Fprintf(&b, " on %s", e.Target)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Kind == KindScript || e.Kind == KindMalformedOutput {
		fmt.Fprintf(&b, " (exit code %d)", e.ExitCode)
	}
	if e.Stderr != "" {
		stderr := e.Stderr
		if len(stderr) > maxStderrInError {
			stderr = stderr[:maxStderrInError] + "..."
		}
		fmt.Fprintf(&b, "; stderr: %s", stderr)
	}
	if hint := e.hint(); hint != "" && !e.OutcomeUnknown {
		fmt.Fprintf(&b, " (%s)", hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsTransient says whether trying again may succeed: the server could not be reached, refused for quota,
// lost the shell, or one attempt timed out while the caller still had time. Authentication, TLS, script and
// output errors are never transient, and neither is a write whose outcome is unknown: sending it again could run
// it twice.
func IsTransient(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.OutcomeUnknown {
		return false
	}
	switch e.Kind {
	case KindUnreachable, KindQuota, KindShell:
		return true
	case KindTimeout:
		return e.attemptTimeout
	default:
		return false
	}
}

// Windows fault codes (WSManFault Code) the client tells apart.
const (
	codeInvalidShell     = 2150858843
	codeShellQuota       = 2150859173 // ERROR_WSMAN_QUOTA_MAX_SHELLS: MaxShellsPerUser
	codeOperationQuota   = 2150859174 // ERROR_WSMAN_QUOTA_MAX_OPERATIONS: MaxConcurrentOperationsPerUser
	codeShellUsersQuota  = 2150859179 // ERROR_WSMAN_QUOTA_MAX_SHELLUSERS: MaxConcurrentUsers
	codeShellsNotAllowed = 2150859180 // ERROR_WSMAN_REMOTESHELLS_NOT_ALLOWED: AllowRemoteShellAccess false
	codeOperationTimeout = 2150858793
)

// classify turns a transport or protocol error into an *Error. parent is the caller's context: a timeout is
// only worth retrying if it has time left.
func classify(parent context.Context, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	e = &Error{Err: err}
	var fault *wsmanFault
	var status *httpStatusError
	var netErr net.Error
	switch {
	case errors.As(err, &fault):
		e.Code = fault.Code
		switch fault.Code {
		case codeShellQuota, codeOperationQuota, codeShellUsersQuota: // isQuota
			e.Kind = KindQuota
		case codeShellsNotAllowed:
			e.Kind = KindShellAccess
		case codeInvalidShell:
			e.Kind = KindShell
		default:
			e.Kind = KindProtocol
		}
	case errors.As(err, &status) && status.StatusCode == http.StatusUnauthorized, errors.Is(err, errKerberos):
		e.Kind = KindAuth
	case errors.Is(err, context.Canceled):
		e.Kind = KindCanceled
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = KindTimeout
		e.attemptTimeout = parent.Err() == nil
	case isTLSError(err):
		e.Kind = KindTLS
	case isUnreachable(err):
		e.Kind = KindUnreachable
	case errors.As(err, &netErr) && netErr.Timeout():
		e.Kind = KindTimeout
		e.attemptTimeout = parent.Err() == nil
	default:
		e.Kind = KindProtocol
	}
	return e
}

func isTLSError(err error) bool {
	var (
		verification *tls.CertificateVerificationError
		unknownCA    x509.UnknownAuthorityError
		hostname     x509.HostnameError
		invalid      x509.CertificateInvalidError
		record       tls.RecordHeaderError
		alert        tls.AlertError
	)
	return errors.As(err, &verification) || errors.As(err, &unknownCA) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &record) || errors.As(err, &alert)
}

func isUnreachable(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	return errors.As(err, &dnsErr) ||
		errors.As(err, &opErr) && opErr.Op == "dial" ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) // dropped mid-request
}

// isQuota reports the codes of the quota faults.
func isQuota(code uint32) bool {
	return code == codeShellQuota || code == codeOperationQuota || code == codeShellUsersQuota
}

// isInvalidShell reports the server's answer that it does not know the shell (it expired or was deleted).
func isInvalidShell(err error) bool {
	var fault *wsmanFault
	return errors.As(err, &fault) && fault.Code == codeInvalidShell
}

// commandMayHaveArrived says whether a failed Command request may have reached the server. It did not when the
// server answered with a refusal (a WS-Management fault, or 401) or the request never left this machine (no
// connection, no TLS session, no name). Every other failure (a dropped connection, a reply lost or unreadable, a
// deadline) leaves it open, so the command counts as sent.
func commandMayHaveArrived(err error) bool {
	var fault *wsmanFault
	var status *httpStatusError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &fault), errors.As(err, &status) && status.StatusCode == http.StatusUnauthorized:
		return false
	case errors.As(err, &dnsErr), errors.As(err, &opErr) && opErr.Op == "dial", errors.Is(err, syscall.ECONNREFUSED):
		return false
	case isTLSError(err), errors.Is(err, errKerberos):
		return false
	}
	return true
}
