package directory

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/tcp"
)

func TestComputerNames(t *testing.T) {
	valid := map[string]string{
		"CLIENT1":         "CLIENT1",
		"client1$":        "client1", // one trailing $ is the account-name form and is tolerated
		"CL(1)":           "CL(1)",   // legal in NetBIOS names; the filter escapes it
		"A23456789012345": "A23456789012345",
		"ws-01_x.y":       "ws-01_x.y",
	}
	for in, want := range valid {
		got, err := normalizeComputerName(in)
		if err != nil || got != want {
			t.Errorf("normalizeComputerName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	invalid := map[string]string{
		"":                 "empty",
		"$":                "empty",
		"A234567890123456": "longer than 15",
		".hidden":          "starts with a period",
		"a$b":              `contains "$"`,
		"client*":          `'*'`,
		`corp\client1`:     `'\\'`,
		"a/b":              `'/'`,
		"a:b":              `':'`,
		"a?b":              `'?'`,
		`a"b`:              `'"'`,
		"a<b":              `'<'`,
		"a|b":              `'|'`,
		"client1\x00":      "control character",
		"cli\nent":         "control character",
		"\xff":             "UTF-8",
		" CLIENT1":         "leading or trailing spaces",
		"CLIENT1 $":        "leading or trailing spaces",
	}
	for in, reason := range invalid {
		_, err := normalizeComputerName(in)
		var verr *ValidationError
		if !errors.As(err, &verr) || !strings.Contains(err.Error(), reason) || verr.Field != "computer name" {
			t.Errorf("normalizeComputerName(%q) = %v; want a ValidationError mentioning %s", in, err, reason)
		}
	}
}

func TestUserNames(t *testing.T) {
	for _, ok := range []string{"alice", "svc-remoteaccess", "a.b_c(d)", "alice@samba.test", "12345678901234567890", "Émile"} {
		if err := validateUserName(ok); err != nil {
			t.Errorf("validateUserName(%q) = %v; want nil", ok, err)
		}
	}
	invalid := map[string]string{
		"":                      "empty",
		"123456789012345678901": "longer than 20",
		"a*":                    `'*'`,
		`corp\alice`:            `down-level logon name: give the sAMAccountName "alice"`,
		`corp\`:                 `'\\'`,
		"a[b]":                  `'['`,
		"a;b":                   `';'`,
		"a=b":                   `'='`,
		"a,b":                   `','`,
		"a+b":                   `'+'`,
		"...":                   "only periods",
		"a@b@c":                 "exactly one",
		"@samba.test":           "before and a domain after",
		"alice@":                "before and a domain after",
		"al ice@samba.test":     "spaces",
		"a*@samba.test":         `'*'`,
		"alice\x00":             "control character",
		"alice ":                "leading or trailing spaces",
		" alice":                "leading or trailing spaces",
		"\u00a0alice":           "leading or trailing spaces",
	}
	for in, reason := range invalid {
		err := validateUserName(in)
		var verr *ValidationError
		if !errors.As(err, &verr) || !strings.Contains(err.Error(), reason) {
			t.Errorf("validateUserName(%q) = %v; want a ValidationError mentioning %s", in, err, reason)
		}
	}
}

// Vectors read from Samba: ldapsearch returned these base64 values, ldbsearch printed the strings.
func TestGUIDAndSIDDecoding(t *testing.T) {
	guidBytes, _ := base64.StdEncoding.DecodeString("HC2ToYIv5kC4SiNkNvQwyA==")
	guid, err := decodeGUID(guidBytes)
	if err != nil || guid != "a1932d1c-2f82-40e6-b84a-236436f430c8" {
		t.Errorf("decodeGUID = %q, %v", guid, err)
	}
	back, err := encodeGUID("{A1932D1C-2F82-40E6-B84A-236436F430C8}")
	if err != nil || string(back) != string(guidBytes) {
		t.Errorf("encodeGUID = %x, %v; want %x", back, err, guidBytes)
	}
	if got := escapeBytes(back[:3]); got != `\1c\2d\93` {
		t.Errorf("escapeBytes = %s", got)
	}
	for _, bad := range []string{"", "a1932d1c2f8240e6b84a236436f430c8", "a1932d1c-2f82-40e6-b84a-236436f430cz", "*"} {
		if _, err := encodeGUID(bad); err == nil {
			t.Errorf("encodeGUID(%q) accepted", bad)
		}
	}
	if _, err := decodeGUID(guidBytes[:15]); err == nil {
		t.Error("decodeGUID accepted 15 bytes")
	}

	sidBytes, _ := base64.StdEncoding.DecodeString("AQUAAAAAAAUVAAAAhowi+2YUCVcA4JbkTgQAAA==")
	sid, err := decodeSID(sidBytes)
	if err != nil || sid != "S-1-5-21-4213345414-1460212838-3835092992-1102" {
		t.Errorf("decodeSID = %q, %v", sid, err)
	}
	if sid, err := decodeSID([]byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}); err != nil || sid != "S-1-5-18" {
		t.Errorf("decodeSID(LocalSystem) = %q, %v", sid, err)
	}
	if _, err := decodeSID(sidBytes[:len(sidBytes)-1]); err == nil {
		t.Error("decodeSID accepted a truncated SID")
	}
	if rid, ok := domainRID("S-1-5-21-1-2-3-500"); !ok || rid != 500 {
		t.Errorf("domainRID = %d, %v", rid, ok)
	}
	if _, ok := domainRID("S-1-5-32-544"); ok {
		t.Error("domainRID accepted a builtin SID")
	}
}

func TestIdentities(t *testing.T) {
	dom := DomainInfo{DNSRoot: "corp.example", NetBIOSName: "CORP"}
	device := Account{Kind: KindComputer, SAMAccountName: "CLIENT1$", DNSHostName: "client1.corp.example"}
	want := []string{`CORP\CLIENT1$`, "CLIENT1$@corp.example", "client1.corp.example"}
	if got := DeviceIdentities(device, dom); !slices.Equal(got, want) {
		t.Errorf("DeviceIdentities = %q; want %q", got, want)
	}
	device.DNSHostName = "" // never joined: assume the domain's DNS suffix
	if got := DeviceIdentities(device, dom); got[2] != "client1.corp.example" {
		t.Errorf("DeviceIdentities without dNSHostName = %q", got)
	}
	user := Account{Kind: KindUser, SAMAccountName: "alice", UserPrincipalName: "alice@corp.example"}
	if got, want := UserIdentities(user, dom), []string{`CORP\alice`, "alice@corp.example"}; !slices.Equal(got, want) {
		t.Errorf("UserIdentities = %q; want %q (the implicit UPN equals the explicit one)", got, want)
	}
	user.UserPrincipalName = "a.smith@mail.corp.example"
	if got, want := UserIdentities(user, dom), []string{`CORP\alice`, "a.smith@mail.corp.example", "alice@corp.example"}; !slices.Equal(got, want) {
		t.Errorf("UserIdentities = %q; want %q", got, want)
	}
}

func TestVPNUserNamesHaveBothDomainForms(t *testing.T) {
	user := Account{Kind: KindUser, SAMAccountName: "remoteuser1", UserPrincipalName: "ru1@contoso.com"}
	got := VPNUserNames(user, DomainInfo{DNSRoot: "Corp.Contoso.com", NetBIOSName: "corp"})
	if want := []string{`CORP\remoteuser1`, `corp.contoso.com\remoteuser1`}; !slices.Equal(got, want) {
		t.Errorf("VPNUserNames = %q; want %q", got, want)
	}
	if got := VPNUserNames(user, DomainInfo{NetBIOSName: "CORP"}); !slices.Equal(got, []string{`CORP\remoteuser1`}) {
		t.Errorf("VPNUserNames without a DNS root = %q; want the NetBIOS form only", got)
	}
	if got := VPNUserNames(Account{Kind: KindUser}, DomainInfo{DNSRoot: "corp.example", NetBIOSName: "CORP"}); len(got) != 0 {
		t.Errorf("VPNUserNames without a name = %q; want none", got)
	}
}

func validConfig() Config {
	return Config{URLs: []string{"ldaps://dc1.corp.example"}, BindUsername: "svc@corp.example", BindPassword: "x"}
}

func TestConfigValidation(t *testing.T) {
	krb5 := filepath.Join(t.TempDir(), "krb5.conf")
	if err := os.WriteFile(krb5, []byte("[libdefaults]\n default_realm = CORP.EXAMPLE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		field  string
		mutate func(*Config)
	}{
		{"Config.URLs", func(c *Config) { c.URLs = nil }},
		{"Config.URLs[0]", func(c *Config) { c.URLs = []string{"http://dc1"} }},
		{"Config.URLs[0]", func(c *Config) { c.URLs = []string{"ldap://dc1"} }}, // plaintext
		{"Config.URLs[0]", func(c *Config) { c.StartTLS = true }},               // StartTLS on ldaps://
		{"Config.URLs[1]", func(c *Config) { c.URLs = append(c.URLs, "ldaps://") }},
		{"Config.DomainControllers[0]", func(c *Config) { c.DomainControllers = []string{"ftp://dc2"} }},
		{"Config.CACertPEM", func(c *Config) { c.CACertPEM = []byte("not a certificate") }},
		{"Config.BindUsername", func(c *Config) { c.BindUsername = "" }},
		{"Config.BindPassword", func(c *Config) { c.BindPassword = "" }},
		{"Config.BaseDN", func(c *Config) { c.BaseDN = "not a dn" }},
		{"Config.AllowedSearchBases[0]", func(c *Config) { c.AllowedSearchBases = []string{"=x"} }},
		{"Config.ProtectedComputers[0]", func(c *Config) { c.ProtectedComputers = []Protected{{Name: "ras*"}} }},
		{"Config.Timeout", func(c *Config) { c.Timeout = -time.Second }},
		{"Config.Kerberos.Realm", func(c *Config) { c.Kerberos = &KerberosConfig{Krb5ConfPath: krb5} }},
		{"Config.Kerberos.Krb5ConfPath", func(c *Config) { c.Kerberos = &KerberosConfig{Realm: "CORP.EXAMPLE", Krb5ConfPath: "/nonexistent"} }},
		{"Config.Kerberos.KeytabPath", func(c *Config) {
			c.Kerberos = &KerberosConfig{Realm: "CORP.EXAMPLE", Krb5ConfPath: krb5, KeytabPath: "/nonexistent"}
		}},
		{"Config.BindPassword", func(c *Config) {
			c.BindPassword = ""
			c.Kerberos = &KerberosConfig{Realm: "CORP.EXAMPLE", Krb5ConfPath: krb5}
		}},
	}
	for _, tc := range cases {
		cfg := validConfig()
		tc.mutate(&cfg)
		_, err := New(cfg)
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Field != tc.field {
			t.Errorf("%s: New = %v; want a ValidationError on %s", tc.field, err, tc.field)
		}
	}

	ok := []func(*Config){
		func(*Config) {},
		func(c *Config) { c.URLs = []string{"ldap://dc1"}; c.StartTLS = true },
		func(c *Config) { c.URLs = []string{"ldap://dc1"}; c.AllowPlaintext = true },
		func(c *Config) { c.DomainControllers = []string{"dc2.corp.example", "ldaps://dc3:3269"} },
		func(c *Config) { c.Kerberos = &KerberosConfig{Realm: "CORP.EXAMPLE", Krb5ConfPath: krb5} },
	}
	for i, mutate := range ok {
		cfg := validConfig()
		mutate(&cfg)
		if _, err := New(cfg); err != nil {
			t.Errorf("valid config %d: %v", i, err)
		}
	}
}

func TestGuard(t *testing.T) {
	c, err := New(Config{
		URLs: []string{"ldaps://dc1"}, BindUsername: "u", BindPassword: "p",
		ProtectedComputers: []Protected{{Name: "RAS1", Why: "it is a Remote Access server"},
			{Name: "ras2$", Why: "it is the Remote Access server ras2 (provider servers)"},
			{Name: "ras3.corp.example", Why: "it is the Remote Access server ras3.corp.example"}},
		ProtectedAccounts: []Protected{{Name: `CORP\svc-winrm`, Why: "it is the provider's WinRM account (winrm.username)"},
			{Name: "svc-ldap@corp.example", Why: "it is the provider's LDAP bind account (ldap.bind_username)"},
			{Name: "CN=svc-ra, OU=Service Accounts, DC=corp, DC=example", Why: "it is the provider's account named by a DN"}},
		AllowedSearchBases: []string{"OU=Laptops,DC=corp,DC=example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	laptop := Account{Kind: KindComputer, DN: "CN=CLIENT1,OU=Laptops,DC=corp,DC=example", SAMAccountName: "CLIENT1$",
		ObjectSID: "S-1-5-21-1-2-3-1105", UserAccountControl: 0x1000}
	if err := c.Guard(laptop, GuardOptions{}); err != nil {
		t.Fatalf("Guard(ordinary laptop) = %v", err)
	}
	refused := map[string]func(a *Account){
		"domain controller":      func(a *Account) { a.UserAccountControl = 0x82000 },
		"read-only domain":       func(a *Account) { a.UserAccountControl = 0x04001000 },
		"critical system object": func(a *Account) { a.IsCriticalSystemObject = true },
		"Administrator (RID 500)": func(a *Account) {
			a.Kind, a.SAMAccountName, a.ObjectSID = KindUser, "renamed-admin", "S-1-5-21-1-2-3-500"
		},
		"krbtgt account (RID 502)":                     func(a *Account) { a.Kind, a.ObjectSID = KindUser, "S-1-5-21-1-2-3-502" },
		"Remote Access server ras2 (provider servers)": func(a *Account) { a.SAMAccountName = "ras2$" },
		"Remote Access server ras3.corp.example": func(a *Account) {
			a.SAMAccountName, a.DNSHostName = "OTHERNAME$", "RAS3.corp.example"
		},
		"provider's WinRM account": func(a *Account) {
			a.Kind, a.SAMAccountName, a.UserAccountControl = KindUser, "SVC-WINRM", 0x200
		},
		"provider's LDAP bind account": func(a *Account) {
			a.Kind, a.SAMAccountName, a.UserPrincipalName = KindUser, "svc-ldap", "svc-ldap@corp.example"
		},
		// A simple bind takes a DN with spaces after the commas; the directory prints it without.
		"provider's account named by a DN": func(a *Account) {
			a.Kind, a.SAMAccountName, a.DN = KindUser, "svc-ra", "CN=svc-ra,OU=Service Accounts,DC=corp,DC=example"
		},
		"adminCount=1": func(a *Account) { a.Kind, a.AdminCount = KindUser, 1 },
		`protected group "Domain Admins"`: func(a *Account) {
			a.Kind, a.MemberOf = KindUser, []string{"CN=Staff,OU=Groups,DC=corp,DC=example", "CN=Domain Admins,CN=Users,DC=corp,DC=example"}
		},
		"outside ldap.allowed_search_bases": func(a *Account) {
			a.DN = "CN=CLIENT1,OU=Laptops-Old,DC=corp,DC=example"
		},
	}
	for reason, mutate := range refused {
		a := laptop
		mutate(&a)
		err := c.Guard(a, GuardOptions{})
		var gerr *GuardError
		if !errors.As(err, &gerr) || !strings.Contains(gerr.Reason, reason) || gerr.DN != a.DN {
			t.Errorf("Guard(%s) = %v; want a GuardError naming %q", reason, err, reason)
		}
	}
	privileged := laptop
	privileged.Kind, privileged.AdminCount = KindUser, 1
	if err := c.Guard(privileged, GuardOptions{AllowPrivileged: true}); err != nil {
		t.Errorf("Guard(privileged, AllowPrivileged) = %v; want nil", err)
	}
}

// A server that accepts connections and never answers: every operation must still end with the
// caller's context, and say so.
func TestContextBoundsEveryStep(t *testing.T) {
	c, err := New(Config{URLs: []string{"ldap://" + tcp.Silent(t)}, AllowPlaintext: true,
		BindUsername: "u", BindPassword: "p", DialTimeout: time.Minute, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.FindComputer(ctx, "client1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FindComputer against a silent server = %v; want context.DeadlineExceeded", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := c.Domain(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Domain cancelled = %v; want context.Canceled", err)
	}
}

// A TLS handshake that the network cuts short (a domain controller that accepts the connection and never answers, or
// closes it at once) is an unreachable directory, not a certificate to fix: a *TLSError would send the operator to
// ldap.ca_certificate and ldap.insecure. A handshake with a server that speaks no TLS at all is a *TLSError.
func TestHandshakeWithNoAnswerIsUnreachableNotTLS(t *testing.T) {
	silent := tcp.Silent(t)
	closes := tcp.Serve(t, func(c net.Conn) { _ = c.Close() })
	plain := tcp.Serve(t, func(c net.Conn) { _, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n")) })
	// A server that speaks only TLS 1.0 answers the provider's hello (TLS 1.2 at least) with a protocol_version alert.
	cert, err := tls.X509KeyPair(testCertPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	old := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10} //nolint:gosec // the point of the test
	alert := tcp.Serve(t, func(c net.Conn) { _ = tls.Server(c, old).Handshake() })
	for name, tc := range map[string]struct {
		addr string
		tls  bool
	}{"never answers": {silent, false}, "closes at once": {closes, false}, "speaks no TLS": {plain, true}, "sends a TLS alert": {alert, true}} {
		t.Run(name, func(t *testing.T) {
			wantTLSErrorOrUnreachable(t, Config{URLs: []string{"ldaps://" + tc.addr}}, tc.tls)
		})
	}
}

// The same over StartTLS, where go-ldap leaves only the text of the cause: a server that never answers the StartTLS
// request, or closes the connection, is unreachable; a domain controller whose certificate the configured CA does
// not sign is a *TLSError.
func TestStartTLSWithNoAnswerIsUnreachableNotTLS(t *testing.T) {
	l, err := lab.Start(lab.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	untrusted := strings.TrimPrefix(l.Info().LDAPURL, "ldap://")
	silent := tcp.Silent(t)
	closes := tcp.Serve(t, func(c net.Conn) { _ = c.Close() })
	for name, tc := range map[string]struct {
		addr string
		tls  bool
	}{"never answers": {silent, false}, "closes at once": {closes, false}, "certificate of another CA": {untrusted, true}} {
		t.Run(name, func(t *testing.T) {
			wantTLSErrorOrUnreachable(t, Config{URLs: []string{"ldap://" + tc.addr}, StartTLS: true}, tc.tls)
		})
	}
}

// wantTLSErrorOrUnreachable looks an account up through cfg (bound as a throwaway account) and wants a *TLSError
// when wantTLS, and otherwise an unreachable directory. A server that never answers is given 300 ms; one whose
// handshake fails has ample time to, so that a busy machine does not turn its failure into a deadline.
func wantTLSErrorOrUnreachable(t *testing.T, cfg Config, wantTLS bool) {
	t.Helper()
	cfg.BindUsername, cfg.BindPassword, cfg.DialTimeout, cfg.Timeout = "u", "p", time.Minute, time.Minute
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	within := 300 * time.Millisecond
	if wantTLS {
		within = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, err = c.FindComputer(ctx, "client1")
	var tlsErr *TLSError
	if got := errors.As(err, &tlsErr); got != wantTLS || (!wantTLS && !IsUnreachable(err)) {
		t.Errorf("FindComputer = %v: TLS error %v, unreachable %v; want TLS error %v", err, got, IsUnreachable(err), wantTLS)
	}
}

// testCertPEM is a self-signed certificate and its key, in PEM, for a throwaway TLS server.
func testCertPEM(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dc1.corp.example"},
		DNSNames: []string{"dc1.corp.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
