package provider

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
)

// faultSambaResources are two blocks and a drain applied one after the other, so that the directory can fail
// between the first block and the rest of the apply.
const faultSambaResources = `
resource "remoteaccess_blocked_device" "first" {
  computer_name  = "CLIENT10"
  reason         = "INC-11: directory faults"
  verify_seconds = 8
}
resource "remoteaccess_blocked_user" "second" {
  user_name      = "alice"
  verify_seconds = 0
  depends_on     = [remoteaccess_blocked_device.first]
}
resource "remoteaccess_node_drain" "test" {
  node          = "RAS2"
  drain_timeout = "2s"
  depends_on    = [remoteaccess_blocked_user.second]
}
`

// whenDisabled runs f once the account is disabled in the directory, from a goroutine that reads the directory
// over its own LDAP connection; the returned function waits for it and reports whether f ran.
func whenDisabled(t *testing.T, l *testLab, sam string, f func()) func() bool {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(l.info.CACertificatePEM))
	done := make(chan bool, 1)
	go func() {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if accountDisabled(l, roots, sam) {
				f()
				done <- true
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		done <- false
	}()
	return func() bool { return <-done }
}

func accountDisabled(l *testLab, roots *x509.CertPool, sam string) bool {
	conn, err := ldap.DialURL(l.info.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	if err != nil {
		return false
	}
	defer func() { _ = conn.Close() }()
	if err := conn.Bind(l.info.LDAPBindUsername, l.info.LDAPBindPassword); err != nil {
		return false
	}
	res, err := conn.Search(ldap.NewSearchRequest(l.info.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
		fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(sam)), []string{"userAccountControl"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return false
	}
	uac, err := strconv.ParseInt(res.Entries[0].GetAttributeValue("userAccountControl"), 10, 64)
	return err == nil && uac&2 != 0
}

// The directory side of the fault matrix, against Samba AD: Samba restarted in the middle of an apply (the
// provider's pooled LDAP connections break), Samba stopped in the middle of an apply (the rest fails naming the
// directory; the next apply converges), and one of two domain controllers unreachable (the provider uses the other).
// After every step the accounts are read from Samba directly and the lab's servers are checked for open shells.
func TestFaultMatrix_ldapSamba(t *testing.T) {
	l, dc := startSambaLab(t)
	fastDrains(t)
	clean := checkLabClean(t, l)
	config := l.providerConfig(faultSambaResources)
	blocked := resource.ComposeAggregateTestCheckFunc(checkAccountEnabled(l, t, "CLIENT10$", false),
		checkAccountEnabled(l, t, "alice", false), checkNode(l, "RAS2", cluster.Stopped), clean,
		resource.TestCheckResourceAttr("remoteaccess_blocked_device.first", "pending_servers.#", "0"))
	restored := resource.ComposeAggregateTestCheckFunc(checkAccountEnabled(l, t, "CLIENT10$", true),
		checkAccountEnabled(l, t, "alice", true), checkNode(l, "RAS2", cluster.Converged), clean)
	var restartedMidApply, stoppedMidApply func() bool

	// A second domain controller that does not answer, listed first: the provider moves on to the one that does.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadDC := "ldaps://" + closed.Addr().String()
	_ = closed.Close()
	withDeadDC := strings.Replace(l.providerConfig(""), fmt.Sprintf("urls           = [%q]", l.info.LDAPSURL),
		fmt.Sprintf("urls           = [%q, %q]", deadDC, l.info.LDAPSURL), 1)
	if !strings.Contains(withDeadDC, deadDC) {
		t.Fatal("the test could not add a domain controller to ldap.urls")
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             restored,
		Steps: []resource.TestStep{
			{
				// Samba restarts once the first account is disabled, while its block still verifies.
				PreConfig: func() { restartedMidApply = whenDisabled(t, l, "CLIENT10$", dc.Restart) },
				Config:    config,
				Check:     blocked,
			},
			{
				PreConfig: func() {
					if !restartedMidApply() {
						t.Error("Samba was not restarted during the apply")
					}
				},
				Config:   config,
				PlanOnly: true,
			},
			{Config: l.providerConfig(""), Check: restored},
			{
				// Samba stops once the first account is disabled: the second block cannot be made and says why.
				PreConfig:   func() { stoppedMidApply = whenDisabled(t, l, "CLIENT10$", dc.Stop) },
				Config:      config,
				ExpectError: regexp.MustCompile(`(?s)Cannot reach Active Directory to block the user "alice".*` + regexp.QuoteMeta(l.info.LDAPSURL) + `.*ldap\.urls.*apply\s+again`),
			},
			{
				// Samba is back: the next apply converges, completing the first block in place or leaving it alone.
				PreConfig: func() {
					if !stoppedMidApply() {
						t.Error("Samba was not stopped during the apply")
					}
					if err := clean(nil); err != nil {
						t.Error(err)
					}
					dc.Restart()
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					noReplacement("remoteaccess_blocked_device.first"),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(blocked,
					resource.TestCheckResourceAttr("remoteaccess_blocked_device.first", "was_enabled", "true")),
			},
			{
				// One of the two domain controllers is unreachable: the destroy goes through the other.
				Config: withDeadDC,
				Check:  restored,
			},
		},
	})
}
