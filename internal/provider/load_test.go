package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
)

// The load: this many blocked devices over this many servers, applied and destroyed this many times with the
// Terraform CLI at this parallelism, while every server answers one SOAP request in quotaEvery with the quota
// fault (5%), as a busy server does.
const (
	loadDevices     = 500
	loadServers     = 3
	loadRounds      = 3
	loadParallelism = 20
	loadQuotaEvery  = 20
	// loadMaxConcurrency is the provider's max_concurrency_per_server, its default: within Windows' MaxShellsPerUser
	// of 5 when no policy sets it, which the lab enforces too.
	loadMaxConcurrency = 4
	// loadMaxApplies bounds the applies of one round: the first one and those that complete what faults left pending.
	loadMaxApplies = 4
)

// loadDevice is the computer name of the i-th device of the load (from 0). Every 25th starts disabled.
func loadDevice(i int) string { return fmt.Sprintf("LOAD%03d", i+1) }

func loadDeviceStartsDisabled(i int) bool { return i%25 == 24 }

// writeLoadSeeds writes a directory and a cluster seed with the standard lab's accounts plus the load's devices and
// their DirectAccess clients, spread over the servers, and returns the lab configuration that uses them.
func writeLoadSeeds(t *testing.T) lab.Config {
	t.Helper()
	dir, clu := defaultSeeds(t)
	servers := make([]string, loadServers)
	for i := range servers {
		servers[i] = fmt.Sprintf("RAS%d", i+1)
		if i >= len(clu.Nodes) {
			dir.Computers = append(dir.Computers, ldapserver.Computer{Name: servers[i], Container: "OU=Servers",
				OperatingSystem: "Windows Server 2022 Datacenter"})
		}
	}
	clu.Nodes = servers
	for i := range loadDevices {
		name := loadDevice(i)
		dir.Computers = append(dir.Computers, ldapserver.Computer{Name: name, Container: "OU=Workstations",
			OperatingSystem: "Windows 11 Enterprise", Disabled: loadDeviceStartsDisabled(i)})
		on := []string{servers[i%loadServers]}
		if i%5 == 0 {
			on = append(on, servers[(i+1)%loadServers]) // some devices hold SAs on two servers
		}
		clu.DirectAccess = append(clu.DirectAccess, cluster.DirectAccessClient{Computer: name, Servers: on, TransitionTechnology: "IPHTTPS"})
	}
	tmp := t.TempDir()
	cfg := lab.Config{
		Servers:       servers,
		DirectorySeed: filepath.Join(tmp, "seed.json"),
		ClusterSeed:   filepath.Join(tmp, "cluster.json"),
		// Purged clients stay away for the test: the load is the provider's, not 500 clients knocking every moment
		// (the lab asks the directory about every waiting client at every command).
		ReestablishDelay: time.Hour,
	}
	writeJSON(t, cfg.DirectorySeed, dir)
	writeJSON(t, cfg.ClusterSeed, clu)
	return cfg
}

// defaultSeeds is the standard lab's directory and cluster seeds, to build a larger lab on.
func defaultSeeds(t *testing.T) (ldapserver.Seed, cluster.Seed) {
	t.Helper()
	dir, clu, err := lab.DefaultSeeds()
	if err != nil {
		t.Fatal(err)
	}
	return dir, clu
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// accountControls reads every load device's userAccountControl from the lab's directory itself.
func accountControls(t *testing.T, l *testLab) map[string]string {
	t.Helper()
	uac := map[string]string{}
	for i := range loadDevices {
		sam := loadDevice(i) + "$"
		e, ok := l.Directory().Lookup(sam)
		if !ok {
			t.Fatalf("%s is not in the lab's directory", sam)
		}
		uac[sam] = strings.Join(e.Attributes["userAccountControl"], ",")
	}
	return uac
}

// 500 blocked devices on three servers, applied and destroyed three times with the Terraform CLI at -parallelism=20
// while 5% of the servers' SOAP requests fail with the quota fault. Every round ends with every account exactly as
// it started, no WinRM shell open, no server running more of the provider's commands or holding more of its shells
// than its concurrency limit, no shell left to the server's idle timeout, and no account enabled while its block
// held it. An apply that faults leave incomplete is completed by the next
// one, as an operator would run it. The provider is built with the race detector when the tests are, and a race
// stops it (GORACE halt_on_error), which fails the run. Durations are logged for bench/load.md, never asserted.
// It runs in its own make target, with its own time limit; its name keeps it out of the TestAcc runs of other CLIs.
func TestLoad500BlockedDevices(t *testing.T) {
	if os.Getenv("REMOTEACCESS_LOAD") != "1" {
		t.Skip("the load test takes minutes: `make testload` (in .ci/run) runs it, with REMOTEACCESS_LOAD=1")
	}
	tf := newTerraformCLI(t)
	l := startLabWith(t, writeLoadSeeds(t))
	l.winrmExtra = fmt.Sprintf("max_concurrency_per_server = %d", loadMaxConcurrency)
	names := make([]string, loadDevices)
	for i := range names {
		names[i] = fmt.Sprintf("%q", loadDevice(i))
	}
	tf.writeConfig(t, l.providerConfig(fmt.Sprintf(`
resource "remoteaccess_blocked_device" "load" {
  for_each       = toset([%s])
  computer_name  = each.key
  reason         = "load test"
  verify_seconds = 1
}
`, strings.Join(names, ", "))))
	before := accountControls(t, l)
	for _, s := range l.info.Servers {
		l.Server(s.Name).Faults().SetQuotaEvery(loadQuotaEvery)
	}
	parallelism := fmt.Sprintf("-parallelism=%d", loadParallelism)
	for round := 1; round <= loadRounds; round++ {
		watches := make([]*enableWatch, loadDevices)
		for i := range watches {
			watches[i] = l.watchEnables(loadDevice(i) + "$")
		}
		start := time.Now()
		applies := 0
		for converged := false; !converged; {
			if applies++; applies > loadMaxApplies {
				t.Fatalf("round %d: the blocks are still incomplete after %d applies", round, loadMaxApplies)
			}
			tf.run(t, "apply", "-auto-approve", "-input=false", "-no-color", parallelism)
			checkNoShellOpen(t, l, fmt.Sprintf("round %d, apply %d", round, applies))
			converged = tf.planIsEmpty(t, parallelism)
		}
		applied := time.Since(start)
		for i := range loadDevices {
			sam := loadDevice(i) + "$"
			if l.accountEnabled(t, sam) || watches[i].enables() > 0 {
				t.Fatalf("round %d: %s is enabled while blocked (history %v)", round, sam, l.Directory().AccountControlHistory(sam))
			}
		}
		start = time.Now()
		tf.run(t, "destroy", "-auto-approve", "-input=false", "-no-color", parallelism)
		destroyed := time.Since(start)
		checkNoShellOpen(t, l, fmt.Sprintf("round %d, destroy", round))
		after := accountControls(t, l)
		for sam, uac := range before {
			if after[sam] != uac {
				t.Errorf("round %d: %s has userAccountControl %s after the destroy; it started as %s", round, sam, after[sam], uac)
			}
		}
		t.Logf("round %d: %d devices on %d servers, quota fault every %d requests: applied in %s (%d applies), destroyed in %s",
			round, loadDevices, loadServers, loadQuotaEvery, applied.Round(time.Second), applies, destroyed.Round(time.Second))
	}
	for _, s := range l.info.Servers {
		c := l.Server(s.Name).Counters()
		// A provider process never runs more than max_concurrency_per_server commands or holds more shells on a
		// server, and deletes its shells before it exits: Terraform waits for the plan's provider process to exit
		// before it starts the apply's, so the two never add up. A shell left to the server's idle timeout would.
		if c.MaxRunningCommands > loadMaxConcurrency || c.PeakShellsPerUser > min(loadMaxConcurrency, wsman.DefaultMaxShellsPerUser) || c.ShellsExpired > 0 {
			t.Errorf("%s: %d commands ran at once and the provider's account held %d shells at once (max_concurrency_per_server "+
				"is %d); %d shells were left to the server's idle timeout", s.Name, c.MaxRunningCommands, c.PeakShellsPerUser,
				loadMaxConcurrency, c.ShellsExpired)
		}
		t.Logf("%s: %d SOAP requests answered, %d commands (at most %d at once), peak %d shells, %d shells created, %d expired on the server",
			s.Name, c.HTTPRequests, c.CommandsStarted, c.MaxRunningCommands, c.PeakShellsPerUser, c.Actions["Create"], c.ShellsExpired)
	}
}

// checkNoShellOpen fails the test if a server still has a shell open or a command running once Terraform (and so
// the provider process) has ended.
func checkNoShellOpen(t *testing.T, l *testLab, when string) {
	t.Helper()
	ended := time.Now()
	if err := checkLabClean(t, l)(nil); err != nil {
		t.Fatalf("%s (Terraform ended %s): %v", when, ended.Format(time.RFC3339Nano), err)
	}
}

// planIsEmpty runs `terraform plan -detailed-exitcode`: true for exit code 0, false for 2 (changes to apply).
func (tf *terraformCLI) planIsEmpty(t *testing.T, args ...string) bool {
	t.Helper()
	var out bytes.Buffer
	err := tf.command(&out, append([]string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}, args...)...).Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		return false
	default:
		t.Fatalf("terraform plan: %v\n%s", err, out.String())
		return false
	}
}
