package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// testLab is a running lab and the provider configuration that reaches it.
type testLab struct {
	*lab.Lab
	info   lab.Info
	caFile string
}

// startLab starts an emulated Remote Access cluster with its directory, reached by the provider only over the network.
func startLab(t *testing.T) *testLab {
	t.Helper()
	l, err := lab.Start(lab.Config{ReestablishDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatalf("starting the lab: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	caFile := filepath.Join(t.TempDir(), "lab-ca.pem")
	info := l.Info()
	if err := os.WriteFile(caFile, []byte(info.CACertificatePEM), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testLab{Lab: l, info: info, caFile: caFile}
}

// providerConfig is the provider block for the lab, followed by the given resources.
func (l *testLab) providerConfig(resources string) string {
	quoted := make([]string, len(l.info.ServerAddresses))
	for i, s := range l.info.ServerAddresses {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf(`
provider "remoteaccess" {
  servers = [%s]
  winrm {
    port           = %d
    ca_certificate = file(%q)
    username       = %q
    password       = %q
  }
  ldap {
    urls           = [%q]
    ca_certificate = file(%q)
    bind_username  = %q
    bind_password  = %q
  }
}
%s`, strings.Join(quoted, ", "), l.info.WinRMPort, l.caFile, l.info.WinRMUsername, l.info.WinRMPassword,
		l.info.LDAPSURL, l.caFile, l.info.LDAPBindUsername, l.info.LDAPBindPassword, resources)
}

// ldap opens an administrator's connection to the lab directory, as an administrator acting out of band would.
func (l *testLab) ldap(t *testing.T) *ldap.Conn {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(l.info.CACertificatePEM))
	conn, err := ldap.DialURL(l.info.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatalf("dialing the lab directory: %v", err)
	}
	if err := conn.Bind(l.info.LDAPBindUsername, l.info.LDAPBindPassword); err != nil {
		t.Fatalf("binding to the lab directory: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// userAccountControl reads an account's flags over LDAP.
func (l *testLab) userAccountControl(t *testing.T, sam string) (dn string, uac uint32) {
	t.Helper()
	res, err := l.ldap(t).Search(ldap.NewSearchRequest(l.info.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(sam)), []string{"userAccountControl"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("looking up %s: %v (%d entries)", sam, err, len(res.Entries))
	}
	var v uint32
	if _, err := fmt.Sscan(res.Entries[0].GetAttributeValue("userAccountControl"), &v); err != nil {
		t.Fatal(err)
	}
	return res.Entries[0].DN, v
}

// accountEnabled reports whether an account is enabled in the lab directory.
func (l *testLab) accountEnabled(t *testing.T, sam string) bool {
	_, uac := l.userAccountControl(t, sam)
	return uac&2 == 0
}

// setEnabled flips ACCOUNTDISABLE out of band, as an administrator with ADUC would.
func (l *testLab) setEnabled(t *testing.T, sam string, enabled bool) {
	t.Helper()
	dn, uac := l.userAccountControl(t, sam)
	if enabled {
		uac &^= 2
	} else {
		uac |= 2
	}
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace("userAccountControl", []string{fmt.Sprint(uac)})
	if err := l.ldap(t).Modify(req); err != nil {
		t.Fatalf("setting %s enabled=%v: %v", sam, enabled, err)
	}
}

// cluster is a fan-out over the lab's servers through the real WinRM client, to observe SAs as the servers see them.
func (l *testLab) cluster(t *testing.T) *remoteaccess.Cluster {
	t.Helper()
	runners := map[string]remoteaccess.Runner{}
	for _, addr := range l.info.ServerAddresses {
		c, err := winrm.NewClient(winrm.Config{
			Host: addr, Port: l.info.WinRMPort, HTTPS: true, CACertPEM: []byte(l.info.CACertificatePEM),
			Username: l.info.WinRMUsername, Password: l.info.WinRMPassword, Auth: winrm.AuthNTLM, Timeout: 30 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		runners[addr] = c
	}
	c, err := remoteaccess.NewCluster(runners)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mainModeSAs counts, per server address, the main-mode SAs whose identity is one of identities.
func (l *testLab) mainModeSAs(t *testing.T, identities ...string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sas, err := l.cluster(t).GetIPsecSAs(ctx, identities)
	if err != nil {
		t.Fatalf("listing SAs: %v", err)
	}
	counts := map[string]int{}
	for server, s := range sas {
		counts[server] = len(s.MainMode)
	}
	return counts
}
