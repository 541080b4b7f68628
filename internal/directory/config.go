package directory

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Default values applied by New when a Config field is zero.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultDialTimeout    = 5 * time.Second
	DefaultMaxConnections = 4
)

// Config describes how to reach and authenticate to Active Directory.
type Config struct {
	// URLs are tried in order on every new connection: the first reachable one wins, so list the
	// preferred (pinned) domain controller first. Schemes: ldaps:// or ldap:// (with StartTLS).
	URLs []string
	// StartTLS upgrades ldap:// connections with the StartTLS extended operation.
	StartTLS bool
	// CACertPEM holds the CA certificates that sign the domain controllers' certificates;
	// empty means the system pool.
	CACertPEM []byte
	// Insecure skips certificate verification. For labs only.
	Insecure bool
	// AllowPlaintext permits binding over an unencrypted ldap:// connection. Active Directory
	// refuses simple binds without TLS anyway (Strong Auth Required); this exists for test servers.
	AllowPlaintext bool

	// BindUsername is a UPN (user@corp.example), a down-level name (CORP\user) or a DN for simple binds;
	// with Kerberos it is the principal name (user or user@REALM).
	BindUsername string
	BindPassword string
	// Kerberos selects a GSSAPI bind instead of a simple bind.
	Kerberos *KerberosConfig

	// WriteURL is the domain controller every change goes to (ldaps:// or ldap://); empty means the PDC emulator
	// (the domain's fsmoRoleOwner), found on first use. One writer keeps two blocks written at once on two controllers
	// from losing one another's hold to replication.
	WriteURL string

	// BaseDN is where lookups search; empty means the domain's defaultNamingContext.
	BaseDN string
	// DomainControllers are read back by WaitVisible after a change: ldap(s) URLs or host names
	// (host names take the scheme of URLs[0]). Empty means the connected server only.
	DomainControllers []string
	// AllowedSearchBases, when set, confines changes and listings to these subtrees.
	AllowedSearchBases []string
	// ProtectedComputers are computers (e.g. the Remote Access servers) that are never disabled, by NetBIOS name or
	// DNS host name, each with the reason a refusal gives.
	ProtectedComputers []Protected
	// ProtectedAccounts are the accounts the provider itself logs on with (LDAP bind, WinRM), in any logon-name form.
	ProtectedAccounts []Protected

	// Timeout bounds each operation whose context has no earlier deadline.
	Timeout time.Duration
	// DialTimeout bounds connecting to one URL, so that a silent server does not eat the
	// whole operation's time before the next URL is tried.
	DialTimeout time.Duration
	// MaxConnections is the size of the shared connection pool.
	MaxConnections int
}

// KerberosConfig configures a GSSAPI bind.
type KerberosConfig struct {
	Realm        string
	Krb5ConfPath string
	// KeytabPath, when set, authenticates BindUsername from the keytab; otherwise BindPassword is used.
	KeytabPath string
	// SPN is the directory's service principal; empty means ldap/<host of the URL>, or
	// ldap/<dnsHostName of the root DSE> when the URL names an IP address.
	SPN string
}

// validated is the checked form of a Config.
type validated struct {
	Config
	urls      []*url.URL
	dcURLs    []*url.URL
	writeURL  *url.URL
	roots     *x509.CertPool
	baseDN    *ldap.DN
	allowed   []*ldap.DN
	protected map[string]string // upper-case NetBIOS names and lower-case DNS host names -> why
}

// Protected is an account that guards refuse to disable, and the reason the refusal gives.
type Protected struct {
	Name string
	Why  string
}

func validate(cfg Config) (*validated, error) {
	v := &validated{Config: cfg, protected: map[string]string{}}
	if len(cfg.URLs) == 0 {
		return nil, invalidConfig("URLs", "", "at least one ldaps:// or ldap:// URL is required")
	}
	for i, raw := range cfg.URLs {
		u, err := parseURL(raw, cfg.StartTLS)
		if err != nil {
			return nil, invalidConfig(fmt.Sprintf("URLs[%d]", i), raw, err.Error())
		}
		if u.Scheme == "ldap" && !cfg.StartTLS && !cfg.AllowPlaintext {
			return nil, invalidConfig(fmt.Sprintf("URLs[%d]", i), raw,
				"binding over plaintext ldap:// is refused: use ldaps://, set StartTLS, or set AllowPlaintext")
		}
		v.urls = append(v.urls, u)
	}
	for i, dc := range cfg.DomainControllers {
		raw := dc
		if !strings.Contains(dc, "://") {
			raw = v.urls[0].Scheme + "://" + dc
		}
		u, err := parseURL(raw, cfg.StartTLS)
		if err != nil {
			return nil, invalidConfig(fmt.Sprintf("DomainControllers[%d]", i), dc, err.Error())
		}
		v.dcURLs = append(v.dcURLs, u)
	}
	if cfg.WriteURL != "" {
		u, err := parseURL(cfg.WriteURL, cfg.StartTLS)
		if err != nil {
			return nil, invalidConfig("WriteURL", cfg.WriteURL, err.Error())
		}
		if u.Scheme == "ldap" && !cfg.StartTLS && !cfg.AllowPlaintext {
			return nil, invalidConfig("WriteURL", cfg.WriteURL, "binding over plaintext ldap:// is refused: use ldaps:// or set StartTLS")
		}
		v.writeURL = u
	}
	if len(cfg.CACertPEM) > 0 {
		v.roots = x509.NewCertPool()
		if !v.roots.AppendCertsFromPEM(cfg.CACertPEM) {
			return nil, invalidConfig("CACertPEM", "", "no PEM certificate found")
		}
	}
	if err := validateCredentials(cfg); err != nil {
		return nil, err
	}
	if cfg.BaseDN != "" {
		dn, err := ldap.ParseDN(cfg.BaseDN)
		if err != nil || len(dn.RDNs) == 0 {
			return nil, invalidConfig("BaseDN", cfg.BaseDN, "not a distinguished name")
		}
		v.baseDN = dn
	}
	for i, base := range cfg.AllowedSearchBases {
		dn, err := ldap.ParseDN(base)
		if err != nil || len(dn.RDNs) == 0 {
			return nil, invalidConfig(fmt.Sprintf("AllowedSearchBases[%d]", i), base, "not a distinguished name")
		}
		v.allowed = append(v.allowed, dn)
	}
	for i, p := range cfg.ProtectedComputers {
		if strings.Contains(p.Name, ".") { // a DNS host name
			v.protected[strings.ToLower(p.Name)] = p.Why
			continue
		}
		n, err := normalizeComputerName(p.Name)
		var invalid *ValidationError
		if errors.As(err, &invalid) {
			return nil, invalidConfig(fmt.Sprintf("ProtectedComputers[%d]", i), p.Name, invalid.Reason)
		}
		v.protected[strings.ToUpper(n)] = p.Why
	}
	for field, n := range map[string]int64{"Timeout": int64(cfg.Timeout), "DialTimeout": int64(cfg.DialTimeout), "MaxConnections": int64(cfg.MaxConnections)} {
		if n < 0 {
			return nil, invalidConfig(field, fmt.Sprint(n), "must not be negative")
		}
	}
	if v.Timeout == 0 {
		v.Timeout = DefaultTimeout
	}
	if v.DialTimeout == 0 {
		v.DialTimeout = DefaultDialTimeout
	}
	if v.MaxConnections == 0 {
		v.MaxConnections = DefaultMaxConnections
	}
	return v, nil
}

// candidates are the configured domain controllers, URLs first, each once.
func (v *validated) candidates() []*url.URL {
	var out []*url.URL
	seen := map[string]bool{}
	for _, u := range append(append([]*url.URL(nil), v.urls...), v.dcURLs...) {
		key := strings.ToLower(u.String())
		if !seen[key] {
			seen[key] = true
			out = append(out, u)
		}
	}
	return out
}

func validateCredentials(cfg Config) error {
	if cfg.BindUsername == "" {
		return invalidConfig("BindUsername", "", "required (anonymous binds cannot read accounts)")
	}
	k := cfg.Kerberos
	if k == nil {
		if cfg.BindPassword == "" {
			return invalidConfig("BindPassword", "", "required for a simple bind (an empty password is an unauthenticated bind)")
		}
		return nil
	}
	if k.Realm == "" {
		return invalidConfig("Kerberos.Realm", "", "required")
	}
	if k.Krb5ConfPath == "" {
		return invalidConfig("Kerberos.Krb5ConfPath", "", "required")
	}
	if _, err := os.Stat(k.Krb5ConfPath); err != nil {
		return invalidConfig("Kerberos.Krb5ConfPath", k.Krb5ConfPath, err.Error())
	}
	if k.KeytabPath != "" {
		if _, err := os.Stat(k.KeytabPath); err != nil {
			return invalidConfig("Kerberos.KeytabPath", k.KeytabPath, err.Error())
		}
	} else if cfg.BindPassword == "" {
		return invalidConfig("BindPassword", "", "required for Kerberos when no Kerberos.KeytabPath is given")
	}
	return nil
}

func parseURL(raw string, startTLS bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "ldaps":
		if startTLS {
			return nil, fmt.Errorf("StartTLS applies to ldap:// URLs, not ldaps://")
		}
	case "ldap":
	default:
		return nil, fmt.Errorf("scheme must be ldaps or ldap, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("no host")
	}
	if u.Port() == "" {
		port := "636"
		if u.Scheme == "ldap" {
			port = "389"
		}
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u, nil
}
