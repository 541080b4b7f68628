package winrm

import (
	"errors"
	"fmt"
	"time"
)

// Auth is how the client authenticates to WinRM.
type Auth string

// Authentication methods.
const (
	AuthNTLM     Auth = "ntlm" // NTLMv2 (Negotiate), the default
	AuthBasic    Auth = "basic"
	AuthKerberos Auth = "kerberos"
)

// KerberosConfig configures Kerberos authentication. Without KeytabPath the client logs on with Config.Password.
type KerberosConfig struct {
	Realm        string
	Krb5ConfPath string // default /etc/krb5.conf
	KeytabPath   string
	SPN          string // default HTTP/<host>
}

// RetryPolicy retries transient failures (see IsTransient) with capped exponential backoff and jitter.
// Attempts counts every try, the first included: 1 turns retries off, 0 means DefaultRetryPolicy.
type RetryPolicy struct {
	Attempts int
	Base     time.Duration // delay before the second attempt, doubled for each further one
	Max      time.Duration // cap on one delay
}

// DefaultRetryPolicy is used when Config.Retry.Attempts is 0.
var DefaultRetryPolicy = RetryPolicy{Attempts: 3, Base: 500 * time.Millisecond, Max: 5 * time.Second}

// Config describes one WinRM server and how to reach it.
type Config struct {
	Host          string
	Port          int  // default 5985, or 5986 with HTTPS
	HTTPS         bool //
	Insecure      bool // skip TLS certificate verification
	CACertPEM     []byte
	TLSServerName string // name to verify in the server certificate, when Host is an address or an alias

	Username, Password string
	Auth               Auth
	Kerberos           *KerberosConfig

	Timeout        time.Duration // per operation (retries included), within ctx's deadline; default 2 minutes
	MaxConcurrency int           // operations at once on this server, and remote shells at once; default 4
	Retry          RetryPolicy

	// ShellIdle is how long a pooled shell may stay unused before the client deletes it; default 2 seconds. Runs
	// that follow each other closely reuse one shell, and no shell outlives a pause.
	ShellIdle time.Duration
	// ServerIdleTimeout is the idle timeout the client asks for when it creates a shell (rsp:IdleTimeOut): the server
	// deletes a shell unused that long, a backstop for a client that stopped without deleting its shells. Windows uses
	// the smaller of this and its own IdleTimeout setting. Default 60 seconds, the least an administrator can set
	// (MS-WSMV, the IdleTimeoutms quota: "The minimum value MUST be 60000"); Receive requests, at most OperationTimeout
	// (20 seconds) apart, keep a shell with a long command busy.
	ServerIdleTimeout time.Duration
}

// Defaults.
const (
	DefaultTimeout           = 2 * time.Minute
	DefaultMaxConcurrency    = 4
	DefaultShellIdle         = 2 * time.Second
	DefaultServerIdleTimeout = 60 * time.Second
)

func (c Config) withDefaults() (Config, error) {
	if c.Host == "" {
		return c, errors.New("winrm: host is required")
	}
	if c.Auth == "" {
		c.Auth = AuthNTLM
	}
	if c.Port == 0 {
		c.Port = 5985
		if c.HTTPS {
			c.Port = 5986
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxConcurrency <= 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.Retry.Attempts <= 0 {
		c.Retry = DefaultRetryPolicy
	}
	if c.ShellIdle <= 0 {
		c.ShellIdle = DefaultShellIdle
	}
	if c.ServerIdleTimeout <= 0 {
		c.ServerIdleTimeout = DefaultServerIdleTimeout
	}
	switch c.Auth {
	case AuthNTLM:
		if c.Username == "" || c.Password == "" {
			return c, errors.New("winrm: NTLM authentication needs a user name and a password")
		}
	case AuthBasic:
		if !c.HTTPS {
			return c, errors.New("winrm: Basic authentication sends the password in clear text: it needs HTTPS")
		}
		if c.Username == "" || c.Password == "" {
			return c, errors.New("winrm: Basic authentication needs a user name and a password")
		}
	case AuthKerberos:
		if c.Kerberos == nil || c.Kerberos.Realm == "" {
			return c, errors.New("winrm: Kerberos authentication needs a realm")
		}
		if c.Username == "" || (c.Password == "" && c.Kerberos.KeytabPath == "") {
			return c, errors.New("winrm: Kerberos authentication needs a user name and a keytab or a password")
		}
	default:
		return c, fmt.Errorf("winrm: unknown authentication %q (want ntlm, basic or kerberos)", c.Auth)
	}
	return c, nil
}
