package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// The actions through a real CLI: Terraform 1.14 and later run an action when a resource's lifecycle.action_trigger
// fires, here the built-in terraform_data's creation. Older CLIs and OpenTofu (which has no actions) skip, saying why.

// cliWithActions skips a test case on a CLI that cannot run actions.
type cliWithActions struct{}

var _ tfversion.TerraformVersionCheck = cliWithActions{}

func (cliWithActions) CheckTerraformVersion(ctx context.Context, req tfversion.CheckTerraformVersionRequest, resp *tfversion.CheckTerraformVersionResponse) {
	if strings.Contains(os.Getenv("TF_ACC_PROVIDER_HOST"), "opentofu") {
		resp.Skip = fmt.Sprintf("OpenTofu %s has no actions (Terraform 1.14 and later only): skipping test", req.TerraformVersion)
		return
	}
	inner := tfversion.CheckTerraformVersionResponse{}
	tfversion.SkipBelow(tfversion.Version1_14_0).CheckTerraformVersion(ctx, req, &inner)
	if inner.Skip != "" {
		resp.Skip = inner.Skip + " (actions need Terraform 1.14)"
	}
}

// triggeredBy is a terraform_data resource whose creation invokes the action.
func triggeredBy(action string) string {
	return fmt.Sprintf(`
resource "terraform_data" "window" {
  input = "maintenance"
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [%s]
    }
  }
}
`, action)
}

func TestAccDisconnectVPNUsersAction_cli(t *testing.T) {
	l := startLab(t)
	// carol is disabled in the directory but still connected, as when a block's purge never ran: once
	// disconnected she stays out, so the check below does not race her reconnection.
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{cliWithActions{}},
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(`
action "remoteaccess_disconnect_vpn_users" "carol" {
  config {
    user_names = ["corp.example\\carol"]
  }
}
` + triggeredBy("action.remoteaccess_disconnect_vpn_users.carol")),
			Check: func(*terraform.State) error {
				if l.vpnUp(`CORP\carol`) {
					return fmt.Errorf("carol's VPN connection is still up after the action")
				}
				if !l.vpnUp(`CORP\bob`) {
					return fmt.Errorf("bob was disconnected too")
				}
				return nil
			},
		}},
	})
}

func TestAccPurgeSecurityAssociationsAction_cli(t *testing.T) {
	l := startLab(t)
	l.setEnabled(t, "CLIENT1$", false) // blocked, so that its SAs stay away once purged
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{cliWithActions{}},
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(`
data "remoteaccess_device" "client1" {
  computer_name = "CLIENT1"
}

action "remoteaccess_purge_security_associations" "client1" {
  config {
    identities = data.remoteaccess_device.client1.identities
  }
}
` + triggeredBy("action.remoteaccess_purge_security_associations.client1")),
			Check: func(*terraform.State) error {
				if n := l.labSAs(func(c string) bool { return c == "CLIENT1" }); len(n) != 0 {
					return fmt.Errorf("CLIENT1 still has SAs: %v", n)
				}
				if n := l.labSAs(func(c string) bool { return c == "CLIENT10" }); n["RAS1"] == 0 {
					return fmt.Errorf("CLIENT10 lost its SAs: %v", n)
				}
				return nil
			},
		}},
	})
}
