package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
)

// connectedOn asks the lab's model whether a server carries a connection whose row starts with prefix.
func connectedOn(t *testing.T, l *testLab, server, prefix string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := l.Cluster().ConnectionsOn(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(rows, func(r string) bool { return strings.HasPrefix(r, prefix) })
}

// checkOfficeLogon checks whether the user can log on in the office: a simple bind with the user's own password,
// which the directory refuses for a disabled account (data 533), as a domain controller refuses the logon.
func checkOfficeLogon(l *testLab, sam string, want bool) resource.TestCheckFunc {
	return func(*terraformState) error {
		creds, ok := l.Directory().Credentials(sam)
		if !ok {
			return fmt.Errorf("%s is not in the lab's directory", sam)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM([]byte(l.info.CACertificatePEM))
		conn, err := ldap.DialURL(l.info.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
		if err != nil {
			return err
		}
		defer conn.Close()
		switch err := conn.Bind(creds.UPN, creds.Password); {
		case want && err != nil:
			return fmt.Errorf("%s cannot log on in the office: %w", sam, err)
		case !want && err == nil:
			return fmt.Errorf("%s still logs on in the office", sam)
		}
		return nil
	}
}

// checkNoRecord checks that the lab's directory shows no block record on the account any more.
func checkNoRecord(l *testLab, sam string) resource.TestCheckFunc {
	return func(*terraformState) error {
		e, _ := l.Directory().Lookup(sam)
		if info := strings.Join(e.Attributes["info"], ""); strings.Contains(info, "remoteaccess-block") {
			return fmt.Errorf("%s still carries a block record: %q", sam, info)
		}
		return nil
	}
}

// A remote-access-only device block: the computer account stays enabled (the office keeps working), the device
// tunnel stays out because its certificate is on hold where revocation is enforced, and the plan after it is empty;
// destroying it takes the certificates off hold and leaves the account as it was.
func TestAccBlockedDevice_remoteAccessOnly(t *testing.T) {
	l := startLab(t)
	enforceEverywhere(t, l)
	tunnel := certSerial(t, l, cluster.TemplateDeviceTunnel)
	config := l.withCertificateAuthority(l.providerConfig(strings.Replace(heldDeviceConfig("test", ""),
		`verify_seconds = 2`, `verify_seconds = 2
  disable_account = false`, 1)))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.withCertificateAuthority(l.providerConfig(`
resource "remoteaccess_blocked_device" "test" {
  computer_name   = "CLIENT2"
  disable_account = false
}`)),
			ExpectError: regexp.MustCompile(`A block needs at least one lever`),
		}, {
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				heldCount(2),
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("account_enabled"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(deviceAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(0)),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkAccountEnabled(l, t, "CLIENT2$", true), checkDisposition(t, l, tunnel, true, 6),
				func(*terraformState) error {
					if tunnelUp(t, l) {
						return fmt.Errorf("CLIENT2's device tunnel is up on RAS2 although its certificate is on hold")
					}
					return nil
				},
			),
		}, {
			Config: config, PlanOnly: true,
		}, {
			Config: l.withCertificateAuthority(l.providerConfig("")),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkAccountEnabled(l, t, "CLIENT2$", true), checkDisposition(t, l, tunnel, false, 0), checkNoRecord(l, "CLIENT2$"),
			),
		}},
	})
}

// A remote-access-only user block: dial-in denied, the account enabled; bob's VPN is ended and stays out through
// the verify window, while his DirectAccess tunnel (Kerberos, no NPS), which the block does not stop, is left alone
// (purging it would only see it come back, and the block would never settle); he still logs on in the office;
// destroy removes msNPAllowDialin again (it was absent).
func TestAccBlockedUser_remoteAccessOnlyDialInDeny(t *testing.T) {
	l := startLab(t)
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	const vpn, da = `Vpn::CORP\bob`, `DirectAccess:client10.corp.example:CORP\bob`
	config := l.providerConfig(`
resource "remoteaccess_blocked_user" "test" {
  user_name       = "bob"
  deny_dial_in    = true
  disable_account = false
  verify_seconds  = 2
}`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(`
resource "remoteaccess_blocked_user" "test" {
  user_name       = "bob"
  disable_account = false
}`),
			ExpectError: regexp.MustCompile(`A block needs at least one lever`),
		}, {
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("account_enabled"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("prior_dial_in"), knownvalue.StringExact("absent")),
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("purged").AtMapKey(ras1).AtMapKey("main_mode_sas"), knownvalue.Int64Exact(0)),
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("purged").AtMapKey(ras2).AtMapKey("vpn_connections"), knownvalue.Int64Exact(1)),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkAccountEnabled(l, t, "bob", true), checkDialIn(l, []string{"FALSE"}), checkOfficeLogon(l, "bob", true),
				func(*terraformState) error {
					if !connectedOn(t, l, "RAS1", da) {
						return fmt.Errorf("bob's DirectAccess tunnel was ended by a block that does not stop it")
					}
					if connectedOn(t, l, "RAS2", vpn) {
						return fmt.Errorf("bob's VPN came back although his dial-in is denied")
					}
					return nil
				},
			),
		}, {
			Config: config, PlanOnly: true,
		}, {
			Config: l.providerConfig(""),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkAccountEnabled(l, t, "bob", true), checkDialIn(l, nil), checkNoRecord(l, "bob"),
			),
		}},
	})
}

// Switching a block in state from disabling the account to remote access only is refused at plan time: a replacement
// would lift the block first. The account stays disabled throughout, with no enable between the steps.
func TestAccBlockedUser_changingDisableAccountIsRefused(t *testing.T) {
	l := startLab(t)
	watch := l.watchEnables("bob")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "bob", true),
		Steps: []resource.TestStep{{
			Config: l.providerConfig(deniedUserConfig("test", "disable_account = true")),
			Check:  checkAccountEnabled(l, t, "bob", false),
		}, {
			Config:      l.providerConfig(deniedUserConfig("test", "disable_account = false")),
			ExpectError: regexp.MustCompile(`(?s)Changing disable_account on a block is refused.*disable_account`),
		}, {
			Config:            l.providerConfig(deniedUserConfig("test", "disable_account = true")),
			PlanOnly:          true,
			ConfigStateChecks: []statecheck.StateCheck{noEnableCheck{watch}},
			Check:             checkAccountEnabled(l, t, "bob", false),
		}},
	})
}

// Turning deny_dial_in off on a block in state is refused at plan time: only the block's release lifts the deny, and
// the deny stays in the directory meanwhile.
func TestAccBlockedUser_turningDenyDialInOffIsRefused(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(deniedUserConfig("test", "")),
			Check:  checkDialIn(l, []string{"FALSE"}),
		}, {
			Config:      l.providerConfig(strings.Replace(deniedUserConfig("test", ""), "deny_dial_in   = true", "deny_dial_in   = false", 1)),
			ExpectError: regexp.MustCompile(`(?s)Turning deny_dial_in off on a block is refused.*deny_dial_in`),
		}, {
			Config:   l.providerConfig(deniedUserConfig("test", "")),
			PlanOnly: true,
			Check:    checkDialIn(l, []string{"FALSE"}),
		}},
	})
}
