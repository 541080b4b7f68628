package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

// lazyVariable is a Terraform variable whose value a step before has read from the state, with a prefix.
type lazyVariable struct {
	prefix string
	value  *string
}

func (v lazyVariable) MarshalJSON() ([]byte, error) { return json.Marshal(v.prefix + *v.value) }

// A block that left the state (terraform state rm, here a removed block) and is imported again with ";hold=" and its
// hold id takes over its hold: the plan is no replacement, and destroying it enables the account with its record
// gone. Imported without it, the old hold would be left on the account with no configuration to lift it. An id with
// no such hold on the account is refused, and nothing is imported.
func TestAccBlockedDevice_importTakesOverItsHold(t *testing.T) {
	l := startLab(t)
	var hold string
	imported := l.providerConfig(blockedDeviceConfig("CLIENT1") + `
variable "import_id" { type = string }
import {
  to = remoteaccess_blocked_device.test
  id = var.import_id
}`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(checkAccountEnabled(l, t, "CLIENT1$", true),
			checkNoRecord(l, "CLIENT1$")),
		Steps: []resource.TestStep{{
			Config: l.providerConfig(blockedDeviceConfig("CLIENT1")),
			Check: func(s *terraform.State) error {
				hold = s.RootModule().Resources[deviceAddr].Primary.Attributes["hold_id"]
				if hold == "" {
					return fmt.Errorf("no hold_id in state")
				}
				return nil
			},
		}, {
			Config: l.providerConfig(`
removed {
  from = remoteaccess_blocked_device.test
  lifecycle { destroy = false }
}`),
			Check: checkAccountEnabled(l, t, "CLIENT1$", false),
		}, {
			Config:          imported,
			ConfigVariables: config.Variables{"import_id": config.StringVariable("CLIENT1;hold=0123456789abcdef")},
			ExpectError:     regexp.MustCompile(`(?s)Cannot take over the hold 0123456789abcdef.*has no hold\s+0123456789abcdef`),
		}, {
			Config:          imported,
			ConfigVariables: config.Variables{"import_id": lazyVariable{"CLIENT1;hold=", &hold}},
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				func(s *terraform.State) error {
					if got := s.RootModule().Resources[deviceAddr].Primary.Attributes["hold_id"]; got != hold {
						return fmt.Errorf("hold_id %q after the import; want the block's own %q", got, hold)
					}
					return nil
				},
				checkAccountEnabled(l, t, "CLIENT1$", false),
			),
		}},
	})
}

// A reason or ticket changed on a block in state is an update in place that writes them in the block's line of the
// account's block record and in its description, where an administrator reads why the account is blocked.
func TestAccBlockedDevice_newReasonIsWrittenOnTheAccount(t *testing.T) {
	l := startLab(t)
	withReason := func(reason, ticket string) string {
		return l.providerConfig(fmt.Sprintf(`
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "CLIENT1"
  reason         = %q
  ticket         = %q
  verify_seconds = 0
}`, reason, ticket))
	}
	recordSays := func(want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			e, _ := l.Directory().Lookup("CLIENT1$")
			info, descr := strings.Join(e.Attributes["info"], ""), strings.Join(e.Attributes["description"], "")
			if !strings.Contains(info, `reason="`+want+`"`) || !strings.Contains(descr, want) {
				return fmt.Errorf("CLIENT1's notes %q and description %q; want the reason %q in both", info, descr, want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: withReason("reported lost", "INC-1"),
			Check:  recordSays("[INC-1] reported lost"),
		}, {
			Config: withReason("stolen from a car", "INC-2"),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deviceAddr, plancheck.ResourceActionUpdate)},
			},
			Check: resource.ComposeAggregateTestCheckFunc(recordSays("[INC-2] stolen from a car"), checkAccountEnabled(l, t, "CLIENT1$", false)),
		}},
	})
}

// An import does not take over a hold that another account than the provider's placed: it is another
// configuration's, which lifts it when it destroys its own block. Nothing is imported and the hold stays.
func TestAccBlockedDevice_importRefusesAnotherAccountsHold(t *testing.T) {
	l := startLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := labclient.Directory(t, l.info)
	const teamB = "0123456789abcdef"
	l.holdAs(t, "CLIENT1", directory.Hold{ID: teamB, Since: time.Now(), By: "svc-team-b@corp.example", Reason: "INC-7", Certificates: []string{}})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(blockedDeviceConfig("CLIENT1") + `
import {
  to = remoteaccess_blocked_device.test
  id = "CLIENT1;hold=` + teamB + `"
}`),
			ExpectError: regexp.MustCompile(`(?s)Cannot take over the hold ` + teamB + `.*placed by\s+svc-team-b@corp.example`),
		}},
	})
	after, err := dir.FindComputer(ctx, "CLIENT1")
	if err != nil || after.Enabled() || after.BlockRecord() == nil || !slices.Equal(after.BlockRecord().HoldIDs(), []string{teamB}) {
		t.Errorf("CLIENT1 after the refused import: %+v, %v; want it disabled with team B's hold alone", after, err)
	}
}
