// Package labclient reaches a running lab the way an administrator would, for tests: the real WinRM client to each
// emulated Remote Access server, the provider's directory client, and an LDAP connection to its directory to look
// at or flip accounts out of band.
package labclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// Clients opens a WinRM client (HTTPS, NTLM, the lab's CA) to every lab server, keyed by server name.
func Clients(t testing.TB, info lab.Info) map[string]*winrm.Client {
	t.Helper()
	clients := map[string]*winrm.Client{}
	for _, s := range info.Servers {
		c, err := winrm.NewClient(winrm.Config{
			Host: s.Address, Port: s.Port, HTTPS: true, CACertPEM: []byte(info.CACertificatePEM),
			Username: info.WinRMUsername, Password: info.WinRMPassword, Auth: winrm.AuthNTLM, Timeout: 30 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		clients[s.Name] = c
	}
	return clients
}

// Directory is the provider's directory client for the lab's directory (LDAPS with the lab's CA, simple bind),
// with the changes to its configuration that mutate makes.
func Directory(t testing.TB, info lab.Info, mutate ...func(*directory.Config)) *directory.Client {
	t.Helper()
	cfg := directory.Config{
		URLs: []string{info.LDAPSURL}, CACertPEM: []byte(info.CACertificatePEM),
		BindUsername: info.LDAPBindUsername, BindPassword: info.LDAPBindPassword, Timeout: 30 * time.Second,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	dir, err := directory.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	return dir
}

// LDAP connects to the lab's LDAPS URL, verifying it with the lab's CA bundle, and binds as the directory admin.
func LDAP(t testing.TB, info lab.Info) *ldap.Conn {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(info.CACertificatePEM)) {
		t.Fatal("the lab's CA bundle holds no certificate")
	}
	conn, err := ldap.DialURL(info.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatalf("dialing the lab directory: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.Bind(info.LDAPBindUsername, info.LDAPBindPassword); err != nil {
		t.Fatalf("binding to the lab directory: %v", err)
	}
	return conn
}

// userAccountControl reads an account's DN and flags.
func userAccountControl(t testing.TB, conn *ldap.Conn, info lab.Info, sam string) (string, uint32) {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(info.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
		fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(sam)), []string{"userAccountControl"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("looking up %s under %s: %v (%d entries)", sam, info.BaseDN, err, len(res.Entries))
	}
	uac, err := strconv.ParseInt(res.Entries[0].GetAttributeValue("userAccountControl"), 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return res.Entries[0].DN, uint32(int32(uac)) //nolint:gosec // two's complement of the signed schema value
}

// Enabled reports whether an account is enabled (ACCOUNTDISABLE, 0x2, clear).
func Enabled(t testing.TB, info lab.Info, sam string) bool {
	t.Helper()
	_, uac := userAccountControl(t, LDAP(t, info), info, sam)
	return uac&0x2 == 0
}

// SetEnabled flips only ACCOUNTDISABLE by read-modify-write, as an administrator with ADUC would.
func SetEnabled(t testing.TB, info lab.Info, sam string, enabled bool) {
	t.Helper()
	conn := LDAP(t, info)
	dn, uac := userAccountControl(t, conn, info, sam)
	if enabled {
		uac &^= 0x2
	} else {
		uac |= 0x2
	}
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace("userAccountControl", []string{strconv.FormatInt(int64(int32(uac)), 10)}) //nolint:gosec // signed on the wire
	if err := conn.Modify(mod); err != nil {
		t.Fatalf("setting %s enabled=%v: %v", sam, enabled, err)
	}
}
