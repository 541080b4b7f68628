package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
)

// A purge whose reply is lost after the server ran it (the connection drops before the final Receive reply) is not
// run again by the apply, batched or alone: the lab ran purge-devices once on that server and purge-device never,
// the server stays pending, the account stays disabled, and the next apply completes the block in place.
func TestAccBlockedDevice_lostPurgeReplyIsNotResent(t *testing.T) {
	l := startLab(t)
	ras2 := l.info.ServerAddresses[1]
	config := l.providerConfig(blockedDeviceConfig("CLIENT2"))
	watch := l.watchEnables("CLIENT2$")
	l.revokeDeviceCertificate("CLIENT2")
	purges := func(want int64) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if n := l.CommandsPerScript("RAS2")["purge-devices/v1"]; n != want {
				return fmt.Errorf("RAS2 ran purge-devices %d times, want %d", n, want)
			}
			if n := l.CommandsPerScript("RAS2")["purge-device/v1"]; n != 0 {
				return fmt.Errorf("RAS2 ran purge-device %d times: the device was sent alone", n)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					l.Server("RAS2").Faults().SetLoseReplyScript("purge-devices/v1")
					l.Server("RAS2").Faults().SetLoseReplyNext(1)
				},
				Config: config,
				Check: resource.ComposeAggregateTestCheckFunc(
					purges(1),
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "1"),
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.0", ras2),
					checkAccountEnabled(l, t, "CLIENT2$", false),
				),
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() { l.Server("RAS2").Faults().Reset() },
				Config:    config,
				Check: resource.ComposeAggregateTestCheckFunc(
					purges(2),
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "0"),
					checkAccountEnabled(l, t, "CLIENT2$", false),
					watch.noEnable(),
				),
			},
		},
	})
}

// A server whose WinRM refuses every shell (AllowRemoteShellAccess = false) or the provider's logon
// (CbtHardeningLevel = Strict) stops the block before the account is touched, with an error that names the WinRM
// setting and the fix.
func TestAccBlockedDevice_serverWinRMSettingsAreDiagnosed(t *testing.T) {
	for name, tc := range map[string]struct {
		set  func(*wsman.Faults)
		want string
	}{
		"AllowRemoteShellAccess": {func(f *wsman.Faults) { f.SetRemoteShellAccess(false) },
			`(?s)refused the provider's WinRM settings.*AllowRemoteShellAccess.*winrm set\s+winrm/config/winrs`},
		"CbtHardeningLevel": {func(f *wsman.Faults) { f.SetStrictChannelBinding(true) },
			`(?s)refused the provider's WinRM settings.*CbtHardeningLevel.*Relaxed`},
	} {
		t.Run(name, func(t *testing.T) {
			l := startLab(t)
			watch := l.watchEnables("CLIENT2$")
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					PreConfig:   func() { tc.set(l.Server("RAS2").Faults()) },
					Config:      l.providerConfig(blockedDeviceConfig("CLIENT2")),
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
			if !l.accountEnabled(t, "CLIENT2$") || len(l.Directory().AccountControlHistory("CLIENT2$")) != watch.start {
				t.Fatal("CLIENT2 was changed although a server refused the provider's WinRM")
			}
		})
	}
}
