package provider

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/samba"
)

// startSambaLab starts a Samba AD domain controller and a lab whose emulated clients check their accounts in it, so
// that the blocks run against real Active Directory semantics.
func startSambaLab(t *testing.T) (*testLab, *samba.Instance) {
	t.Helper()
	l, dc, _ := startSambaLabWith(t, false)
	return l, dc
}

// startSambaKerberosLab is startSambaLab where the provider logs on with Kerberos everywhere: the lab's servers
// accept tickets for the HTTP/ service principal seeded in Samba, with the keys Samba exports for it.
func startSambaKerberosLab(t *testing.T) (*testLab, *samba.Instance) {
	t.Helper()
	l, dc, operator := startSambaLabWith(t, true)
	l.kerberos = &testKerberos{krb5Conf: dc.Krb5Conf, winrmKeytab: dc.ExportKeytab(operator.Name + "@" + dc.Realm)}
	return l, dc
}

func startSambaLabWith(t *testing.T, kerberos bool) (*testLab, *samba.Instance, samba.SeedAccount) {
	t.Helper()
	dc := samba.Start(t)
	cfg := lab.Config{
		ClusterSeed:      filepath.Join("testdata", "cluster-samba.json"),
		ReestablishDelay: 300 * time.Millisecond,
		ExternalDirectory: &lab.ExternalDirectory{
			URL: dc.LDAPSURL, CACertPEM: dc.CACertPEM, BindUsername: dc.AdminUPN, BindPassword: dc.AdminPassword,
			NetBIOSDomain: dc.NetBIOSDomain,
		},
	}
	operator := samba.SeedUser(t, "svc-remoteaccess")
	if kerberos {
		service := samba.SeedUser(t, "svc-winrm-http")
		cfg.Kerberos = &lab.Kerberos{Keytab: dc.ExportKeytab(service.SPNs[0]), Realm: dc.Realm}
		cfg.Username, cfg.Password = operator.Name, operator.Password
	}
	return startLabWith(t, cfg), dc, operator
}

func TestAccBlockedDevice_samba(t *testing.T) {
	l, _ := startSambaLab(t)
	l.revokeDeviceCertificate("CLIENT1") // its device tunnel on RAS2 is another test's subject
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	config := l.providerConfig(blockedDeviceConfig("CLIENT1"))
	sambaIDs := func(name string) []string { return []string{`SAMBATEST\` + name + `$`} }
	checkGone := func(name string, wantGone bool) resource.TestCheckFunc {
		return func(_ *terraformState) error {
			return expectSAs(l, t, sambaIDs(name), wantGone)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "CLIENT1$", true),
		Steps: append([]resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(deviceAddr, "was_enabled", "true"),
					resource.TestCheckResourceAttr(deviceAddr, "distinguished_name", "CN=CLIENT1,OU=Laptops,DC=samba,DC=test"),
					resource.TestCheckTypeSetElemAttr(deviceAddr, "identities.*", `SAMBATEST\CLIENT1$`),
					resource.TestCheckResourceAttrWith(deviceAddr, "purged."+ras1+".main_mode_sas", atLeastOne),
					resource.TestCheckResourceAttrWith(deviceAddr, "purged."+ras2+".main_mode_sas", atLeastOne),
					resource.TestCheckResourceAttr(deviceAddr, "purged."+ras2+".vpn_connections", "1"),
					checkAccountEnabled(l, t, "CLIENT1$", false),
					checkGone("CLIENT1", true),
					checkGone("CLIENT10", false),
				),
			},
		}, driftAndImportSteps(l, t, deviceAddr, config, "CLIENT1$", "CLIENT1")...),
	})
}

// The user block runs with Kerberos for WinRM (keytab) and for LDAP (GSSAPI with a password): tickets from
// Samba's KDC, checked by the lab's servers and by Samba's LDAP server.
func TestAccBlockedUser_sambaKerberos(t *testing.T) {
	l, _ := startSambaKerberosLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkAccountEnabled(l, t, "alice", true),
		Steps: []resource.TestStep{{
			Config: l.providerConfig(blockedUserConfig("alice")),
			// The pending servers first: a purge that did not succeed on a server leaves it pending (a warning, not
			// a failed apply), which tells an SA left behind from an SA that came back.
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("pending_servers"), knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue(userAddr, tfjsonpath.New("was_enabled"), knownvalue.Bool(true)),
				labCheck(checkAccountEnabled(l, t, "alice", false)),
				labCheck(func(_ *terraformState) error { return expectSAs(l, t, []string{`SAMBATEST\alice`}, true) }),
				labCheck(l.checkKerberosLogons()),
			},
		}},
	})
}

// labCheck runs a check of the lab or the directory, which reads no state, as a state check: in the order of the
// step's state checks.
type labCheck resource.TestCheckFunc

var _ statecheck.StateCheck = labCheck(nil)

func (c labCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = c(nil)
}

func TestAccBlockedDevice_deletedComputerStaysInStateUntilDestroyed(t *testing.T) {
	l, dc := startSambaLab(t)
	config := l.providerConfig(blockedDeviceConfig("KIOSK7"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config, Check: checkAccountEnabled(l, t, "KIOSK7$", false)},
			{
				// The computer object is deleted while blocked: refresh warns and keeps the block, nothing to plan.
				PreConfig: func() { dc.SambaTool("computer", "delete", "KIOSK7") },
				Config:    config,
				PlanOnly:  true,
			},
			// Destroy (run by the framework after the last step) has no account left to re-enable and must not fail.
		},
	})
}
