package provider

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// After a plan, an apply and a destroy, the provider leaves no WinRM shell open on any server, although Terraform
// never closes its clients, and no server ever held more of its shells than max_concurrency_per_server (4 by
// default). The lab keeps idle shells for two hours, as Windows Server does, so only the provider can have deleted them.
func TestAccWinRMShellsAreDeleted(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps:                    []resource.TestStep{{Config: l.providerConfig(blockedDeviceConfig("CLIENT1"))}},
	})
	for _, s := range l.info.Servers {
		srv := l.Server(s.Name)
		poll.Until(t, s.Name+" has no open shell", func() bool { return srv.Counters().OpenShells == 0 })
		c := srv.Counters()
		if c.OpenShells != 0 || c.ShellsExpired != 0 || c.Actions["Create"] == 0 {
			t.Errorf("%s: %d shells open, %d expired, %d created; want every shell the provider created deleted by it",
				s.Name, c.OpenShells, c.ShellsExpired, c.Actions["Create"])
		}
		if c.PeakShellsPerUser > 4 {
			t.Errorf("%s: the provider's account held %d shells at once, want at most max_concurrency_per_server = 4", s.Name, c.PeakShellsPerUser)
		}
	}
}

// CloseWinRMClients, which main calls when Terraform stops the plugin, deletes the shells every client still pools.
func TestCloseWinRMClientsDeletesPooledShells(t *testing.T) {
	// Forget the clients of earlier tests, whose labs are gone: their shells cannot be deleted any more.
	_ = CloseWinRMClients(context.Background())
	l := startLab(t)
	info := l.info
	for _, s := range info.Servers {
		c, err := winrm.NewClient(winrm.Config{
			Host: s.Address, Port: s.Port, HTTPS: true, CACertPEM: []byte(info.CACertificatePEM),
			Username: info.WinRMUsername, Password: info.WinRMPassword, ShellIdle: time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		openWinRM.add(c)
		cluster, err := remoteaccess.NewCluster(map[string]remoteaccess.Runner{s.Address: c})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cluster.GetIPsecSAs(context.Background(), []string{`CORP\CLIENT1$`}); err != nil {
			t.Fatal(err)
		}
		if n := l.Server(s.Name).Counters().OpenShells; n != 1 {
			t.Fatalf("%s: %d shells open after a run, want the 1 pooled", s.Name, n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := CloseWinRMClients(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Servers {
		if n := l.Server(s.Name).Counters().OpenShells; n != 0 {
			t.Errorf("%s: %d shells open after CloseWinRMClients, want 0", s.Name, n)
		}
	}
}
