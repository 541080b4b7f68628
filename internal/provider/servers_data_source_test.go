package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
)

const serversAddr = "data.remoteaccess_servers.all"

// brokenReadiness breaks, on one server, every assumption the lab can seed, each with the fix the finding must name.
var brokenReadiness = struct {
	seed  cluster.Readiness
	fixes map[string]string // finding code: a part of its fix
}{
	seed: cluster.Readiness{
		Build: 26100, HiddenCommands: []string{"Stop-NlbClusterNode"}, AllowRemoteShellAccess: new(false),
		MaxShellsPerUser: 2, CbtHardeningLevel: "Strict", IKEv2CertAuthFlags: -1, IPsecCertValidationLevel: "None",
		NoNLB: true, SAIdentityShape: "unreadable", ListenerCertificateExpires: "2020-01-01T00:00:00Z",
	},
	fixes: map[string]string{
		"ntlm_deprecated":             `auth = "kerberos"`,
		"commands":                    "VisibleCmdlets",
		"allow_remote_shell_access":   `Set-Item -Path WSMan:\localhost\Shell\AllowRemoteShellAccess -Value $true`,
		"max_shells_per_user":         `Set-Item -Path WSMan:\localhost\Shell\MaxShellsPerUser -Value 30`,
		"cbt_hardening_level":         `Set-Item -Path WSMan:\localhost\Service\Auth\CbtHardeningLevel -Value Relaxed`,
		"ikev2_cert_auth_flags":       "/v CertAuthFlags /t REG_DWORD /d 4",
		"ipsec_cert_validation_level": "Set-NetFirewallSetting -CertValidationLevel RequireCrlCheck",
		"nlb":                         `load_balancer = "external"`,
		"sa_identity":                 "Get-NetIPsecMainModeSA | Select-Object -First 1 | ConvertTo-Json -Depth 4",
		"listener_certificate":        "CertificateThumbprint",
	},
}

// checkFindings compares the findings of row i with want (code: part of its fix), both ways.
func checkFindings(i int, want map[string]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		attrs := s.RootModule().Resources[serversAddr].Primary.Attributes
		prefix := fmt.Sprintf("readiness.%d.findings.", i)
		got := map[string]string{}
		for k, v := range attrs {
			if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, ".code") {
				got[v] = attrs[strings.TrimSuffix(k, ".code")+".fix"]
			}
		}
		for code, fix := range want {
			if !strings.Contains(got[code], fix) {
				return fmt.Errorf("row %d: finding %s has fix %q, want it to contain %q (findings: %v)", i, code, got[code], fix, got)
			}
		}
		for code := range got {
			if _, ok := want[code]; !ok {
				return fmt.Errorf("row %d: unexpected finding %s: %s", i, code, got[code])
			}
		}
		return nil
	}
}

// The readiness read gives each server its verdict and, for each assumption seeded broken, the finding and its
// fix; a healthy server is ready. A server in a restricted language mode is not ready too, and a drain's plan
// refuses a server that is not ready, naming it.
func TestAccServers_verdictAndFixPerBrokenAssumption(t *testing.T) {
	l := startDrainLab(t)
	l.Cluster().SetReadiness("RAS2", brokenReadiness.seed)
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	config := l.providerConfig(`data "remoteaccess_servers" "all" {}`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(serversAddr, "readiness.#", "2"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.0.server", ras1),
					resource.TestCheckResourceAttr(serversAddr, "readiness.0.verdict", "ready"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.0.computer_name", "RAS1"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.0.windows_build", "20348"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.0.winrm_max_shells_per_user", "5"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.0.sa_identity_shape", "object"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.0.ikev2_cert_auth_flags", "4"),
					checkFindings(0, nil),
					resource.TestCheckResourceAttr(serversAddr, "readiness.1.server", ras2),
					resource.TestCheckResourceAttr(serversAddr, "readiness.1.verdict", "not_ready"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.1.unavailable_commands.#", "1"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.1.unavailable_commands.0", "Stop-NlbClusterNode"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.1.winrm_allow_remote_shell_access", "false"),
					resource.TestCheckNoResourceAttr(serversAddr, "readiness.1.ikev2_cert_auth_flags"),
					checkFindings(1, brokenReadiness.fixes),
					resource.TestCheckResourceAttr(serversAddr, "not_ready_servers.#", "1"),
					resource.TestCheckResourceAttr(serversAddr, "not_ready_servers.0", ras2),
				),
			},
			{
				Config:      l.providerConfig(nodeDrainConfig("RAS2", "2s")),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(ras2) + ` is not ready for the provider.*Stop-NlbClusterNode`),
			},
			{
				PreConfig: func() {
					l.Cluster().SetReadiness("RAS2", cluster.Readiness{})
					l.Cluster().SetLanguageMode("RAS1", "ConstrainedLanguage")
				},
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(serversAddr, "readiness.0.verdict", "not_ready"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.0.language_mode", "ConstrainedLanguage"),
					checkFindings(0, map[string]string{"language_mode": "FullLanguage"}),
					resource.TestCheckResourceAttr(serversAddr, "readiness.1.verdict", "ready"),
				),
			},
		},
	})
}

// labClients are the provider's clients for the lab's servers, logging on with NTLM as the lab's provider
// configuration does.
func labClients(t *testing.T, l *testLab) *clients {
	t.Helper()
	c, err := newClients(settings{Servers: l.info.ServerAddresses, WinRM: winrmSettings{
		Port: l.info.WinRMPort, UseHTTPS: true, CACertPEM: []byte(l.info.CACertificatePEM), Username: l.info.WinRMUsername,
		Password: l.info.WinRMPassword, Auth: authNTLM, Timeout: time.Minute, MaxConcurrency: 4,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A plan warns, naming the server, when the provider logs on with NTLM to a build that deprecates it, and only
// then; the look is made once per process: a server broken after it was read is not read again.
func TestRefuseUnreadyWarnsOfNTLMOnlyWhereDeprecated(t *testing.T) {
	l := startLab(t)
	l.Cluster().SetReadiness("RAS2", cluster.Readiness{Build: 26100})
	ras1, ras2 := l.info.ServerAddresses[0], l.info.ServerAddresses[1]
	c := labClients(t, l)
	var diags diag.Diagnostics
	c.refuseUnready(context.Background(), []string{ras1, ras2}, path.Root("servers"), &diags)
	if len(diags) != 1 || diags.HasError() || diags[0].Summary() != "NTLM is deprecated on "+ras2 ||
		!strings.Contains(diags[0].Detail(), `auth = "kerberos"`) {
		t.Fatalf("diagnostics = %v, want one warning about NTLM on %s", diags, ras2)
	}
	l.Cluster().SetReadiness("RAS1", cluster.Readiness{HiddenCommands: []string{"Get-NlbCluster"}})
	diags = nil
	c.refuseUnready(context.Background(), []string{ras1}, path.Root("servers"), &diags)
	if len(diags) != 0 {
		t.Errorf("a second look in the same process read the server again: %v", diags)
	}
	c.settings.WinRM.Auth = authKerberos
	diags = nil
	c.refuseUnready(context.Background(), []string{ras2}, path.Root("servers"), &diags)
	if len(diags) != 0 {
		t.Errorf("with Kerberos: %v, want no diagnostic", diags)
	}
}

// A server that drops every connection is reported like the other data sources report it: its row is missing and
// missing_servers names it when the configuration tolerates it; a server that refuses the logon fails the read.
func TestAccServers_unreachableServerTolerated(t *testing.T) {
	l := startLab(t)
	ras2 := l.info.ServerAddresses[1]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { l.Server("RAS2").Faults().SetDropConnections(true) },
				Config:    l.providerConfig(`data "remoteaccess_servers" "all" { tolerate_unreachable_servers = true }`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(serversAddr, "readiness.#", "1"),
					resource.TestCheckResourceAttr(serversAddr, "readiness.0.verdict", "ready"),
					resource.TestCheckResourceAttr(serversAddr, "missing_servers.#", "1"),
					resource.TestCheckResourceAttr(serversAddr, "missing_servers.0", ras2),
				),
			},
			{
				PreConfig: func() {
					l.Server("RAS2").Faults().SetDropConnections(false)
					l.Server("RAS2").Faults().SetAuthFailure(true)
				},
				Config:      l.providerConfig(`data "remoteaccess_servers" "all" { tolerate_unreachable_servers = true }`),
				ExpectError: regexp.MustCompile(`Reading the readiness failed on ` + regexp.QuoteMeta(ras2)),
			},
		},
	})
}
