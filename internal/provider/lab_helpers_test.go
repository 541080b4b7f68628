package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

// testLab is a running lab and the provider configuration that reaches it.
type testLab struct {
	*lab.Lab
	info     lab.Info
	caFile   string
	kerberos *testKerberos // nil: NTLM and a simple bind
	// winrmExtra and ldapExtra are further lines of the provider's winrm and ldap blocks, e.g. a timeout.
	winrmExtra, ldapExtra string
}

// testKerberos makes the provider log on with Kerberos to both WinRM (keytab) and LDAP (GSSAPI, password).
type testKerberos struct {
	krb5Conf    string
	winrmKeytab string
}

// startLab starts an emulated Remote Access cluster with its directory, reached by the provider only over the network.
func startLab(t testing.TB) *testLab {
	t.Helper()
	return startLabWith(t, lab.Config{ReestablishDelay: 300 * time.Millisecond})
}

// startLabWith starts a lab from cfg and writes its CA bundle to a file for the provider's ca_certificate.
func startLabWith(t testing.TB, cfg lab.Config) *testLab {
	t.Helper()
	l, err := lab.Start(cfg)
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

// checkKerberosLogons checks that every server authenticated the provider by Kerberos tickets.
func (l *testLab) checkKerberosLogons() resource.TestCheckFunc {
	return func(*terraformState) error {
		for _, s := range l.info.Servers {
			if n := l.Server(s.Name).Counters().KerberosLogons; n == 0 {
				return fmt.Errorf("server %s counted no Kerberos logon", s.Name)
			}
		}
		return nil
	}
}

// providerConfig is the provider block for the lab, followed by the given resources.
func (l *testLab) providerConfig(resources string) string {
	quoted := make([]string, len(l.info.ServerAddresses))
	for i, s := range l.info.ServerAddresses {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	// The servers are loopback addresses that DNS cannot name: the provider needs their computer names to guard them.
	names := make([]string, len(l.info.Servers))
	for i, s := range l.info.Servers {
		names[i] = fmt.Sprintf("%q", s.Address+"="+s.Name)
	}
	winrmAuth := fmt.Sprintf("password       = %q", l.info.WinRMPassword)
	var ldapKerberos string
	if k := l.kerberos; k != nil {
		winrmAuth = fmt.Sprintf(`auth           = "kerberos"
    kerberos {
      realm     = %q
      krb5_conf = %q
      keytab    = %q
      spn       = %q
    }`, l.info.KerberosRealm, k.krb5Conf, k.winrmKeytab, l.info.WinRMKerberosSPN)
		ldapKerberos = fmt.Sprintf(`kerberos {
      realm     = %q
      krb5_conf = %q
    }`, l.info.KerberosRealm, k.krb5Conf)
	}
	return fmt.Sprintf(`
provider "remoteaccess" {
  servers             = [%s]
  protected_computers = [%s]
  winrm {
    port           = %d
    ca_certificate = file(%q)
    username       = %q
    %s
    %s
  }
  ldap {
    urls           = [%q]
    ca_certificate = file(%q)
    bind_username  = %q
    bind_password  = %q
    %s
    %s
  }
}
%s`, strings.Join(quoted, ", "), strings.Join(names, ", "), l.info.WinRMPort, l.caFile, l.info.WinRMUsername, winrmAuth,
		l.winrmExtra, l.info.LDAPSURL, l.caFile, l.info.LDAPBindUsername, l.info.LDAPBindPassword, ldapKerberos, l.ldapExtra, resources)
}

// accountEnabled reports whether an account is enabled in the lab's directory.
func (l *testLab) accountEnabled(t *testing.T, sam string) bool {
	return labclient.Enabled(t, l.info, sam)
}

// holdAs places a recorded hold on a computer account of the directory as another configuration does (its own
// provider, another hold id, another LDAP account in the hold's by), with the directory client.
func (l *testLab) holdAs(t *testing.T, computer string, hold directory.Hold) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := labclient.Directory(t, l.info)
	acct, err := dir.FindComputer(ctx, computer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.Hold(ctx, acct, directory.HoldRequest{Record: true, Hold: hold}); err != nil {
		t.Fatal(err)
	}
}

// setEnabled flips ACCOUNTDISABLE out of band, as an administrator with ADUC would.
func (l *testLab) setEnabled(t *testing.T, sam string, enabled bool) {
	labclient.SetEnabled(t, l.info, sam, enabled)
}

// cluster is a fan-out over the lab's servers through the real WinRM client, keyed by address as the provider's is.
func (l *testLab) cluster(t *testing.T) *remoteaccess.Cluster {
	t.Helper()
	clients := labclient.Clients(t, l.info)
	runners := map[string]remoteaccess.Runner{}
	for _, s := range l.info.Servers {
		runners[s.Address] = clients[s.Name]
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

// revokeDeviceCertificate revokes a lab device's machine certificate, so that its Always On VPN device tunnel, which
// authenticates with that certificate and not the computer account, cannot come back after a purge. Tests whose
// subject is not the device tunnel use it to keep the verify window's verdict independent of timing.
func (l *testLab) revokeDeviceCertificate(computer string) {
	l.Cluster().SetCertificateRevoked(computer, true)
}
