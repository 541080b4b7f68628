package provider

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
)

const (
	batchBlocks = 20
	// batchFailing is the device whose SA removal fails on RAS1 while the blocks are applied together.
	batchFailing = "BATCH07"
)

func batchDevice(i int) string { return fmt.Sprintf("BATCH%02d", i+1) }

// writeBatchSeeds is the standard lab plus batchBlocks devices, each connected through both servers.
func writeBatchSeeds(t *testing.T) lab.Config {
	t.Helper()
	dir, clu := defaultSeeds(t)
	for i := range batchBlocks {
		dir.Computers = append(dir.Computers, ldapserver.Computer{Name: batchDevice(i), Container: "OU=Workstations",
			OperatingSystem: "Windows 11 Enterprise"})
		clu.DirectAccess = append(clu.DirectAccess, cluster.DirectAccessClient{Computer: batchDevice(i), Servers: clu.Nodes,
			TransitionTechnology: "IPHTTPS"})
	}
	tmp := t.TempDir()
	// Blocked clients cannot come back anyway; an hour keeps the lab from asking the directory about them.
	cfg := lab.Config{DirectorySeed: filepath.Join(tmp, "seed.json"), ClusterSeed: filepath.Join(tmp, "cluster.json"),
		ReestablishDelay: time.Hour}
	writeJSON(t, cfg.DirectorySeed, dir)
	writeJSON(t, cfg.ClusterSeed, clu)
	return cfg
}

// batchAddr is the block of batchDevice(i): count, since the test framework's state shim refuses for_each keys.
func batchAddr(i int) string { return fmt.Sprintf("remoteaccess_blocked_device.batch[%d]", i) }

// Twenty device blocks applied together, their purges batched per server, while one device's SA removal fails on
// RAS1: that block alone keeps RAS1 pending and its SAs there; the other nineteen complete, purged everywhere. The
// next apply completes the one block in place and leaves the others alone.
func TestAccBlockedDevice_batchedPurgeKeepsEachBlocksOwnOutcome(t *testing.T) {
	l := startLabWith(t, writeBatchSeeds(t))
	ras1 := l.serverAddress("RAS1")
	config := l.providerConfig(fmt.Sprintf(`
resource "remoteaccess_blocked_device" "batch" {
  count          = %d
  computer_name  = format("BATCH%%02d", count.index + 1)
  reason         = "INC-22: OU compromised"
  verify_seconds = 1
}
`, batchBlocks))

	pending := func(failing []knownvalue.Check) []statecheck.StateCheck {
		var checks []statecheck.StateCheck
		for i := range batchBlocks {
			var want knownvalue.Check = knownvalue.ListSizeExact(0)
			if batchDevice(i) == batchFailing && failing != nil {
				want = knownvalue.ListExact(failing)
			}
			checks = append(checks, statecheck.ExpectKnownValue(batchAddr(i), tfjsonpath.New("pending_servers"), want))
		}
		return checks
	}
	// saLeft checks, in the lab's model, which devices still hold SAs: only the failing one, on RAS1, while failingLeft.
	saLeft := func(failingLeft bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			want := map[string]int{}
			if failingLeft {
				want[batchFailing+" on RAS1"] = 1 // its one tunnel there: a device without a user has no intranet tunnel
			}
			got := map[string]int{}
			for _, da := range l.snapshot().DirectAccess {
				if strings.HasPrefix(da.Computer, "BATCH") && len(da.MainModeSAs) > 0 {
					got[da.Computer+" on "+da.Server] += len(da.MainModeSAs)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("main-mode SAs of the blocked devices left: %v, want %v", got, want)
			}
			return nil
		}
	}
	// aloneNever checks that no purge was sent by itself: every one went in a batch, and none was sent again.
	aloneNever := func(*terraform.State) error {
		for _, s := range []string{"RAS1", "RAS2"} {
			runs := l.CommandsPerScript(s)
			if runs["purge-device/v1"] != 0 {
				return fmt.Errorf("%s ran purge-device/v1 %d times, want every purge batched", s, runs["purge-device/v1"])
			}
			t.Logf("%s: %d purge-devices/v1 runs for %d blocks", s, runs["purge-devices/v1"], batchBlocks)
		}
		return nil
	}
	var completeOnlyTheFailing []plancheck.PlanCheck
	for i := range batchBlocks {
		action := plancheck.ResourceActionNoop
		if batchDevice(i) == batchFailing {
			action = plancheck.ResourceActionUpdate
		}
		completeOnlyTheFailing = append(completeOnlyTheFailing, plancheck.ExpectResourceAction(batchAddr(i), action))
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				PreConfig:          func() { l.Cluster().FailSARemoval("RAS1", `CORP\`+batchFailing+`$`, true) },
				Config:             config,
				ConfigStateChecks:  pending([]knownvalue.Check{knownvalue.StringExact(ras1)}),
				Check:              resource.ComposeAggregateTestCheckFunc(saLeft(true), aloneNever),
				ExpectNonEmptyPlan: true, // the failing block stays incomplete until the next apply
			},
			{
				PreConfig:         func() { l.Cluster().FailSARemoval("RAS1", `CORP\`+batchFailing+`$`, false) },
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: completeOnlyTheFailing},
				ConfigStateChecks: pending(nil),
				Check:             resource.ComposeAggregateTestCheckFunc(saLeft(false), aloneNever),
			},
		},
	})
}
