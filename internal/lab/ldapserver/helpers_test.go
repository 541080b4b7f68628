package ldapserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

const seedPath = "../testdata/seed.json"

// startLab serves the seeded directory for one test.
func startLab(t *testing.T) *Directory {
	t.Helper()
	seed, err := LoadSeed(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d
}

func clientTLS(t *testing.T, d *Directory) *tls.Config {
	t.Helper()
	cfg, err := trustLab(d, "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// trustLab is a client TLS configuration that trusts the lab's CA.
func trustLab(d *Directory, serverName string) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(d.CACertPEM()) {
		return nil, errors.New("the lab CA PEM does not parse")
	}
	return &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}, nil
}

func dialLDAPS(t *testing.T, d *Directory) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(d.LDAPSURL(), ldap.DialWithTLSConfig(clientTLS(t, d)))
	if err != nil {
		t.Fatalf("dial %s: %v", d.LDAPSURL(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func dialPlain(t *testing.T, d *Directory) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(d.LDAPURL())
	if err != nil {
		t.Fatalf("dial %s: %v", d.LDAPURL(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func dialStartTLS(t *testing.T, d *Directory) *ldap.Conn {
	t.Helper()
	c := dialPlain(t, d)
	// go-ldap's StartTLS does not derive ServerName from the URL.
	cfg := clientTLS(t, d)
	cfg.ServerName = d.DNSHostName()
	if err := c.StartTLS(cfg); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	return c
}

// adminConn is an LDAPS connection bound as the provider's account.
func adminConn(t *testing.T, d *Directory) *ldap.Conn {
	t.Helper()
	c := dialLDAPS(t, d)
	creds := d.AdminCredentials()
	if err := c.Bind(creds.UPN, creds.Password); err != nil {
		t.Fatalf("bind %s: %v", creds.UPN, err)
	}
	return c
}

func search(t *testing.T, c *ldap.Conn, base string, scope int, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s %q: %v", base, filter, err)
	}
	return res.Entries
}

// names returns the sorted "name" values of entries.
func names(entries []*ldap.Entry) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.GetAttributeValue("name"))
	}
	slices.Sort(out)
	return out
}

func wantLDAPError(t *testing.T, err error, code uint16, textPart string) {
	t.Helper()
	var le *ldap.Error
	if !errors.As(err, &le) {
		t.Fatalf("want LDAP result %d, got %v", code, err)
	}
	if le.ResultCode != code {
		t.Fatalf("want LDAP result %d, got %d (%v)", code, le.ResultCode, err)
	}
	if !strings.Contains(le.Err.Error(), textPart) {
		t.Fatalf("want diagnostic containing %q, got %q", textPart, le.Err.Error())
	}
}
