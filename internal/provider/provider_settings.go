package provider

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// Environment fallbacks of the provider attributes, so that pipelines keep secrets and endpoints out of HCL.
const (
	envServers                = "REMOTEACCESS_SERVERS"
	envProtectedComputers     = "REMOTEACCESS_PROTECTED_COMPUTERS"
	envLDAPRecordBlocks       = "REMOTEACCESS_LDAP_RECORD_BLOCKS"
	envWinRMPort              = "REMOTEACCESS_WINRM_PORT"
	envWinRMUseHTTPS          = "REMOTEACCESS_WINRM_USE_HTTPS"
	envWinRMInsecure          = "REMOTEACCESS_WINRM_INSECURE"
	envWinRMCACertificate     = "REMOTEACCESS_WINRM_CA_CERTIFICATE"
	envWinRMTLSServerName     = "REMOTEACCESS_WINRM_TLS_SERVER_NAME"
	envWinRMUsername          = "REMOTEACCESS_WINRM_USERNAME"
	envWinRMPassword          = "REMOTEACCESS_WINRM_PASSWORD"
	envWinRMAuth              = "REMOTEACCESS_WINRM_AUTH"
	envWinRMTimeout           = "REMOTEACCESS_WINRM_TIMEOUT"
	envWinRMMaxConcurrency    = "REMOTEACCESS_WINRM_MAX_CONCURRENCY_PER_SERVER"
	envWinRMKerberosPrefix    = "REMOTEACCESS_WINRM_KERBEROS_"
	envLDAPURLs               = "REMOTEACCESS_LDAP_URLS"
	envLDAPStartTLS           = "REMOTEACCESS_LDAP_START_TLS"
	envLDAPCACertificate      = "REMOTEACCESS_LDAP_CA_CERTIFICATE"
	envLDAPInsecure           = "REMOTEACCESS_LDAP_INSECURE"
	envLDAPBindUsername       = "REMOTEACCESS_LDAP_BIND_USERNAME"
	envLDAPBindPassword       = "REMOTEACCESS_LDAP_BIND_PASSWORD"
	envLDAPBaseDN             = "REMOTEACCESS_LDAP_BASE_DN"
	envLDAPDomainControllers  = "REMOTEACCESS_LDAP_DOMAIN_CONTROLLERS"
	envLDAPWriteURL           = "REMOTEACCESS_LDAP_WRITE_URL"
	envLDAPAllowedSearchBases = "REMOTEACCESS_LDAP_ALLOWED_SEARCH_BASES"
	envLDAPAllowPlaintext     = "REMOTEACCESS_LDAP_ALLOW_PLAINTEXT"
	envLDAPTimeout            = "REMOTEACCESS_LDAP_TIMEOUT"
	envLDAPKerberosPrefix     = "REMOTEACCESS_LDAP_KERBEROS_"
)

const (
	authNTLM     = "ntlm"
	authBasic    = "basic"
	authKerberos = "kerberos"

	defaultWinRMTimeout   = 60 * time.Second
	defaultLDAPTimeout    = 30 * time.Second
	defaultMaxConcurrency = 4
	maxMaxConcurrency     = 64
)

// settings is the provider configuration after defaults and environment fallbacks, checked and ready for clients.
type settings struct {
	Servers []string
	// ProtectedComputers are computer names or DNS host names that device blocks never disable.
	ProtectedComputers []string
	// ServerNames are the computer names that protected_computers gives to servers listed by IP address
	// (ADDRESS=NAME), by the address in its canonical form.
	ServerNames map[string]string
	WinRM       winrmSettings
	LDAP        ldapSettings
	// CertificateAuthorities are the enterprise CAs (certificate_authorities.go).
	CertificateAuthorities []certificateAuthoritySettings
	// unknown is set when a value depends on something only known at apply time.
	unknown bool
}

type winrmSettings struct {
	Port           int
	UseHTTPS       bool
	Insecure       bool
	CACertPEM      []byte
	TLSServerName  string
	Username       string
	Password       string
	Auth           string
	Kerberos       *kerberosSettings
	Timeout        time.Duration
	MaxConcurrency int
}

type ldapSettings struct {
	URLs               []string
	StartTLS           bool
	CACertPEM          []byte
	Insecure           bool
	BindUsername       string
	BindPassword       string
	BaseDN             string
	Kerberos           *kerberosSettings
	DomainControllers  []string
	WriteURL           string // "" for the PDC emulator
	AllowedSearchBases []string
	AllowPlaintext     bool
	Timeout            time.Duration
	RecordBlocks       bool
}

type kerberosSettings struct {
	Realm    string
	Krb5Conf string
	Keytab   string
	SPN      string
	// realmUnknown is set while the realm comes from a value not known yet, such as an input variable when Terraform
	// validates the configuration: it is checked when it is known.
	realmUnknown bool
}

// origin says where a value came from, so that a diagnostic points at the attribute and names the variable.
type origin struct {
	path    path.Path
	env     string
	fromEnv bool
}

// resolver reads attribute values with their environment fallbacks and collects diagnostics.
type resolver struct {
	lookupEnv func(string) (string, bool)
	diags     diag.Diagnostics
	unknown   bool
}

func (r *resolver) errorf(o origin, summary, format string, args ...any) {
	detail := fmt.Sprintf(format, args...)
	if o.fromEnv {
		detail += fmt.Sprintf(" (the value comes from the %s environment variable)", o.env)
	}
	r.diags.AddAttributeError(o.path, summary, detail)
}

// raw returns the configured text of a value or its environment fallback.
func (r *resolver) raw(v interface {
	IsNull() bool
	IsUnknown() bool
}, text func() string, p path.Path, env string) (string, origin, bool) {
	o := origin{path: p, env: env}
	switch {
	case v.IsUnknown():
		r.unknown = true
		return "", o, false
	case !v.IsNull():
		return text(), o, true
	}
	s, ok := r.lookupEnv(env)
	if !ok || s == "" {
		return "", o, false
	}
	o.fromEnv = true
	return s, o, true
}

func (r *resolver) string(v types.String, p path.Path, env string) (string, origin) {
	s, o, _ := r.raw(v, v.ValueString, p, env)
	return s, o
}

func (r *resolver) bool(v types.Bool, p path.Path, env string, def bool) bool {
	s, o, ok := r.raw(v, func() string { return strconv.FormatBool(v.ValueBool()) }, p, env)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		r.errorf(o, "Invalid boolean", "%q is not true or false.", s)
		return def
	}
	return b
}

func (r *resolver) int(v types.Int64, p path.Path, env string) (int64, origin, bool) {
	s, o, ok := r.raw(v, func() string { return strconv.FormatInt(v.ValueInt64(), 10) }, p, env)
	if !ok {
		return 0, o, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		r.errorf(o, "Invalid number", "%q is not a whole number.", s)
		return 0, o, false
	}
	return n, o, true
}

func (r *resolver) duration(v types.String, p path.Path, env string, def time.Duration) time.Duration {
	s, o := r.string(v, p, env)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		r.errorf(o, "Invalid duration", "%q is not a duration such as \"30s\" or \"2m\".", s)
	case d <= 0:
		r.errorf(o, "Invalid duration", "The timeout must be positive, got %q.", s)
	default:
		return d
	}
	return def
}

// list returns the elements of a list attribute, or of its comma-separated environment fallback, with the origin of
// each element.
func (r *resolver) list(v types.List, p path.Path, env string) ([]string, []origin) {
	if v.IsUnknown() {
		r.unknown = true
		return nil, nil
	}
	var items []string
	var origins []origin
	if !v.IsNull() {
		for i, e := range v.Elements() {
			s, ok := e.(types.String)
			if !ok || s.IsUnknown() {
				r.unknown = true
				continue
			}
			items = append(items, s.ValueString())
			origins = append(origins, origin{path: p.AtListIndex(i), env: env})
		}
		return items, origins
	}
	s, ok := r.lookupEnv(env)
	if !ok || strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, item := range strings.Split(s, ",") {
		items = append(items, strings.TrimSpace(item))
		origins = append(origins, origin{path: p, env: env, fromEnv: true})
	}
	return items, origins
}

func (r *resolver) pem(v types.String, p path.Path, env string) []byte {
	s, o := r.string(v, p, env)
	if s == "" {
		return nil
	}
	if err := checkCertificates([]byte(s)); err != nil {
		r.errorf(o, "Invalid CA certificate", "%s", err)
		return nil
	}
	return []byte(s)
}

func (r *resolver) kerberos(m *kerberosModel, p path.Path, envPrefix string) *kerberosSettings {
	present := m != nil
	if m == nil {
		m = &kerberosModel{}
	}
	k := kerberosSettings{}
	k.Realm, _ = r.string(m.Realm, p.AtName("realm"), envPrefix+"REALM")
	k.realmUnknown = m.Realm.IsUnknown()
	k.Krb5Conf, _ = r.string(m.Krb5Conf, p.AtName("krb5_conf"), envPrefix+"KRB5_CONF")
	k.Keytab, _ = r.string(m.Keytab, p.AtName("keytab"), envPrefix+"KEYTAB")
	k.SPN, _ = r.string(m.SPN, p.AtName("spn"), envPrefix+"SPN")
	if !present && k == (kerberosSettings{}) {
		return nil
	}
	if k.Krb5Conf == "" {
		k.Krb5Conf = "/etc/krb5.conf"
	}
	return &k
}

// resolveSettings applies defaults and environment fallbacks to the provider block and checks the result.
func resolveSettings(m providerModel, lookupEnv func(string) (string, bool)) (settings, diag.Diagnostics) {
	r := &resolver{lookupEnv: lookupEnv}
	s := settings{}

	servers, origins := r.list(m.Servers, path.Root("servers"), envServers)
	seen := map[string]bool{}
	for i, server := range servers {
		if err := checkHost(server); err != nil {
			r.errorf(origins[i], "Invalid server name", "Remote Access server %d: %s.", i+1, err)
			continue
		}
		key := strings.ToLower(server)
		if seen[key] {
			r.errorf(origins[i], "Duplicate server", "%q is listed more than once.", server)
			continue
		}
		seen[key] = true
		s.Servers = append(s.Servers, server)
	}

	protected, protectedOrigins := r.list(m.ProtectedComputers, path.Root("protected_computers"), envProtectedComputers)
	for i, entry := range protected {
		addr, name, named := strings.Cut(entry, "=")
		if !named {
			addr, name = "", entry
		}
		if err := checkProtectedEntry(addr, name, named); err != nil {
			r.errorf(protectedOrigins[i], "Invalid protected computer", "%q: %s.", entry, err)
			continue
		}
		s.ProtectedComputers = append(s.ProtectedComputers, name)
		if named {
			if s.ServerNames == nil {
				s.ServerNames = map[string]string{}
			}
			s.ServerNames[net.ParseIP(addr).String()] = name
		}
	}

	s.WinRM = r.winrm(m.WinRM)
	s.LDAP = r.ldap(m.LDAP)
	s.CertificateAuthorities = r.certificateAuthorities(m.CertificateAuthorities)
	s.unknown = r.unknown
	return s, r.diags
}

func (r *resolver) winrm(m *winrmModel) winrmSettings {
	if m == nil {
		m = &winrmModel{}
	}
	p := path.Root("winrm")
	w := winrmSettings{}
	w.UseHTTPS = r.bool(m.UseHTTPS, p.AtName("use_https"), envWinRMUseHTTPS, true)
	w.Insecure = r.bool(m.Insecure, p.AtName("insecure"), envWinRMInsecure, false)
	w.CACertPEM = r.pem(m.CACertificate, p.AtName("ca_certificate"), envWinRMCACertificate)
	w.TLSServerName, _ = r.string(m.TLSServerName, p.AtName("tls_server_name"), envWinRMTLSServerName)
	w.Username, _ = r.string(m.Username, p.AtName("username"), envWinRMUsername)
	var passwordOrigin origin
	w.Password, passwordOrigin = r.string(m.Password, p.AtName("password"), envWinRMPassword)
	w.Timeout = r.duration(m.Timeout, p.AtName("timeout"), envWinRMTimeout, defaultWinRMTimeout)

	w.Port = 5985
	if w.UseHTTPS {
		w.Port = 5986
	}
	if port, o, ok := r.int(m.Port, p.AtName("port"), envWinRMPort); ok {
		if port < 1 || port > 65535 {
			r.errorf(o, "Invalid port", "The port must be between 1 and 65535, got %d.", port)
		} else {
			w.Port = int(port)
		}
	}

	w.MaxConcurrency = defaultMaxConcurrency
	if n, o, ok := r.int(m.MaxConcurrencyPerServer, p.AtName("max_concurrency_per_server"), envWinRMMaxConcurrency); ok {
		if n < 1 || n > maxMaxConcurrency {
			r.errorf(o, "Invalid concurrency", "max_concurrency_per_server must be between 1 and %d, got %d.", maxMaxConcurrency, n)
		} else {
			w.MaxConcurrency = int(n)
		}
	}

	auth, authOrigin := r.string(m.Auth, p.AtName("auth"), envWinRMAuth)
	w.Auth = strings.ToLower(auth)
	if w.Auth == "" {
		w.Auth = authNTLM
	}
	w.Kerberos = r.kerberos(m.Kerberos, p.AtName("kerberos"), envWinRMKerberosPrefix)
	switch w.Auth {
	case authNTLM:
	case authBasic:
		if !w.UseHTTPS {
			r.errorf(authOrigin, "Basic authentication needs HTTPS",
				"Basic authentication sends the password in clear text; set use_https = true or use auth = \"ntlm\" or \"kerberos\".")
		}
	case authKerberos:
		r.checkKerberos(w.Kerberos, p.AtName("kerberos"), w.Password, passwordOrigin)
	default:
		r.errorf(authOrigin, "Invalid authentication method", "auth must be \"ntlm\", \"basic\" or \"kerberos\", got %q.", auth)
	}
	if w.Kerberos != nil && w.Auth != authKerberos {
		r.diags.AddAttributeError(p.AtName("kerberos"), "Kerberos settings without Kerberos authentication",
			"The winrm.kerberos block is only used with auth = \"kerberos\".")
	}
	return w
}

// checkKerberos checks a Kerberos block that authenticates with a keytab or, without one, with the password.
func (r *resolver) checkKerberos(k *kerberosSettings, p path.Path, password string, passwordOrigin origin) {
	if k != nil && k.realmUnknown {
		return
	}
	if k == nil || k.Realm == "" {
		r.diags.AddAttributeError(p.AtName("realm"), "Missing Kerberos realm", "Kerberos authentication needs kerberos.realm.")
		return
	}
	if k.Keytab != "" && password != "" {
		r.errorf(passwordOrigin, "Conflicting Kerberos credentials",
			"A password cannot be combined with kerberos.keytab: Kerberos logs on with either the keytab or the password.")
	}
}

func (r *resolver) ldap(m *ldapModel) ldapSettings {
	if m == nil {
		m = &ldapModel{}
	}
	p := path.Root("ldap")
	l := ldapSettings{}
	l.StartTLS = r.bool(m.StartTLS, p.AtName("start_tls"), envLDAPStartTLS, false)
	l.Insecure = r.bool(m.Insecure, p.AtName("insecure"), envLDAPInsecure, false)
	l.AllowPlaintext = r.bool(m.AllowPlaintext, p.AtName("allow_plaintext"), envLDAPAllowPlaintext, false)
	l.CACertPEM = r.pem(m.CACertificate, p.AtName("ca_certificate"), envLDAPCACertificate)
	l.BindUsername, _ = r.string(m.BindUsername, p.AtName("bind_username"), envLDAPBindUsername)
	var passwordOrigin origin
	l.BindPassword, passwordOrigin = r.string(m.BindPassword, p.AtName("bind_password"), envLDAPBindPassword)
	l.Timeout = r.duration(m.Timeout, p.AtName("timeout"), envLDAPTimeout, defaultLDAPTimeout)
	l.RecordBlocks = r.bool(m.RecordBlocks, p.AtName("record_blocks"), envLDAPRecordBlocks, true)
	l.Kerberos = r.kerberos(m.Kerberos, p.AtName("kerberos"), envLDAPKerberosPrefix)
	if l.Kerberos != nil {
		r.checkKerberos(l.Kerberos, p.AtName("kerberos"), l.BindPassword, passwordOrigin)
	}

	urls, origins := r.list(m.URLs, p.AtName("urls"), envLDAPURLs)
	l.URLs = r.ldapURLs(urls, origins, l.StartTLS, l.AllowPlaintext)
	dcs, dcOrigins := r.list(m.DomainControllers, p.AtName("domain_controllers"), envLDAPDomainControllers)
	l.DomainControllers = r.ldapURLs(dcs, dcOrigins, l.StartTLS, l.AllowPlaintext)
	if w, wOrigin := r.string(m.WriteURL, p.AtName("write_url"), envLDAPWriteURL); w != "" {
		if valid := r.ldapURLs([]string{w}, []origin{wOrigin}, l.StartTLS, l.AllowPlaintext); len(valid) == 1 {
			l.WriteURL = valid[0]
		}
	}

	baseDN, baseOrigin := r.string(m.BaseDN, p.AtName("base_dn"), envLDAPBaseDN)
	if baseDN != "" {
		if _, err := ldap.ParseDN(baseDN); err != nil {
			r.errorf(baseOrigin, "Invalid base DN", "%q is not a distinguished name: %s.", baseDN, err)
		}
		l.BaseDN = baseDN
	}
	bases, baseOrigins := r.list(m.AllowedSearchBases, p.AtName("allowed_search_bases"), envLDAPAllowedSearchBases)
	for i, base := range bases {
		if _, err := ldap.ParseDN(base); err != nil || base == "" {
			r.errorf(baseOrigins[i], "Invalid search base", "%q is not a distinguished name.", base)
			continue
		}
		l.AllowedSearchBases = append(l.AllowedSearchBases, base)
	}

	if len(l.URLs) > 0 && l.BindUsername == "" {
		r.diags.AddAttributeError(p.AtName("bind_username"), "Missing LDAP bind account",
			"ldap.urls is set but bind_username is empty; the provider never binds anonymously.")
	}
	return l
}

// ldapURLs checks LDAP URLs: ldaps://, or ldap:// upgraded with StartTLS unless plaintext was explicitly allowed.
func (r *resolver) ldapURLs(urls []string, origins []origin, startTLS, allowPlaintext bool) []string {
	var valid []string
	for i, raw := range urls {
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Host == "" || u.Hostname() == "":
			r.errorf(origins[i], "Invalid LDAP URL", "%q is not a URL such as ldaps://dc1.corp.example.", raw)
		case u.Scheme != "ldaps" && u.Scheme != "ldap":
			r.errorf(origins[i], "Invalid LDAP URL scheme", "%q must start with ldaps:// or ldap://, not %s://.", raw, u.Scheme)
		case u.Path != "" && u.Path != "/":
			r.errorf(origins[i], "Invalid LDAP URL", "%q must not have a path: set base_dn instead.", raw)
		case u.Scheme == "ldaps" && startTLS:
			r.errorf(origins[i], "StartTLS on an LDAPS URL", "%q is already TLS; start_tls applies to ldap:// URLs only.", raw)
		case u.Scheme == "ldap" && !startTLS && !allowPlaintext:
			r.errorf(origins[i], "Plaintext LDAP refused",
				"%q would send the bind password and directory data unencrypted. Use ldaps://, set start_tls = true, "+
					"or, only on an isolated lab network, allow_plaintext = true.", raw)
		default:
			valid = append(valid, raw)
		}
	}
	return valid
}

// checkHost accepts a DNS name or an IP address, without a port or scheme.
func checkHost(host string) error {
	if host == "" {
		return fmt.Errorf("the name is empty")
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if len(host) > 253 {
		return fmt.Errorf("%q is longer than 253 characters", host)
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return fmt.Errorf("%q is not a valid host name", host)
		}
		if strings.IndexFunc(label, notHostChar) >= 0 {
			return fmt.Errorf("%q is not a valid host name (give a DNS name or an IP address, without a port)", host)
		}
	}
	return nil
}

// notHostChar reports a character that DNS host names cannot contain.
func notHostChar(c rune) bool {
	return c != '-' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z')
}

// checkCertificates requires at least one PEM certificate and nothing unparseable.
func checkCertificates(data []byte) error {
	count := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("the PEM bundle holds a %q block; only certificates belong here", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d cannot be parsed: %w", count+1, err)
		}
		count++
	}
	if count == 0 {
		return fmt.Errorf("no PEM certificate found")
	}
	return nil
}

// checkProtectedName accepts a computer name or a DNS host name (not an IP address: the guard matches accounts).
// checkProtectedEntry checks a protected_computers entry: a computer name, or ADDRESS=NAME, which names the computer
// account of the Remote Access server that servers gives by that IP address.
func checkProtectedEntry(addr, name string, named bool) error {
	if named && net.ParseIP(addr) == nil {
		return fmt.Errorf("ADDRESS=NAME needs an IP address before the \"=\", the address of a server in servers")
	}
	return checkProtectedName(name)
}

func checkProtectedName(name string) error {
	if net.ParseIP(name) != nil {
		return fmt.Errorf("an IP address names no computer account: give the computer name or its DNS host name")
	}
	if strings.Contains(name, ".") {
		return checkHost(name)
	}
	return directory.ValidateName(directory.KindComputer, name)
}
