package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

const userAddr = "remoteaccess_blocked_user.test"

func blockedUserConfig(name string) string {
	return fmt.Sprintf(`
resource "remoteaccess_blocked_user" "test" {
  user_name      = %q
  reason         = "HR-7: contract ended"
  verify_seconds = 1
}
`, name)
}

// checkUserSessions checks whether the user still has DirectAccess user-tunnel SAs on any server.
func checkUserSessions(l *testLab, t *testing.T, user string, wantConnected bool) resource.TestCheckFunc {
	return func(*terraform.State) error { return expectSAs(l, t, []string{`CORP\` + user}, !wantConnected) }
}

func TestAccBlockedUser_refusesCriticalAccounts(t *testing.T) {
	l := startLab(t)
	for _, name := range []string{"Administrator", "krbtgt"} {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      l.providerConfig(blockedUserConfig(name)),
					ExpectError: regexp.MustCompile(`Refusing to block the user`),
				}},
			})
		})
	}
	if !l.accountEnabled(t, "Administrator") {
		t.Error("Administrator was disabled")
	}
}
