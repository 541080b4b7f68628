package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
)

// faultCase is one row of the fault matrix: a misbehaviour switched on while a block and a drain are applied, and
// again while they are destroyed, and what the operator must see each time.
type faultCase struct {
	name string
	// inject switches the fault on; the matrix resets every server's faults afterwards.
	inject func(l *testLab)
	// config, when set, changes the provider configuration while the fault is on (a settings mismatch).
	config func(t *testing.T, l *testLab, config string) string
	// applyErr is the error the apply under the fault must end with; nil when it must succeed (with warnings).
	applyErr *regexp.Regexp
	// incomplete says the apply succeeds but leaves work (pending servers, drained = false) for the next one.
	incomplete bool
	// destroyErr is the error the destroy under the fault must end with; nil when it must succeed.
	destroyErr *regexp.Regexp
	// timeout is the provider's winrm.timeout; default 10s. A case whose commands never end sets it short.
	timeout string
	// serverIdle is the servers' shell idle timeout. A server whose answers the client cannot read (a wrong content
	// type) has created shells whose ids the client never learned: only the server's idle timeout ends them, as on
	// Windows, where the client asks for 60 s. Default: two hours, so that every shell must be deleted by the client.
	serverIdle time.Duration
}

// faultServer is the server every fault that hits one server is switched on: the drained node, and one of the
// servers the block purges (CLIENT1 has sessions on RAS1 only: no VPN device tunnel comes back on RAS2).
const faultServer = "RAS2"

func onServer(f func(*wsman.Faults)) func(l *testLab) {
	return func(l *testLab) { f(l.Server(faultServer).Faults()) }
}

func onAll(f func(*wsman.Faults)) func(l *testLab) {
	return func(l *testLab) {
		for _, s := range l.info.Servers {
			f(l.Server(s.Name).Faults())
		}
	}
}

// unreachable is what a block and a drain say about a server that does not answer in time: the block holds and
// names the pending server, the drain names the node and says to apply again.
var (
	drainIncomplete  = regexp.MustCompile(`(?s)Cannot find the node: not every server answered.*127\.0\.0\.12.*then apply again`)
	resumeIncomplete = regexp.MustCompile(`(?s)Cannot put RAS2 back into rotation.*run destroy again once the node answers`)
	settingsRefused  = regexp.MustCompile(`(?s)refused the provider's WinRM settings.*nothing was changed`)
)

// Every fault the lab can inject on the WinRM side, and a TLS mismatch in the provider's settings: a block and a
// drain (and their destroys) either succeed through retries or fail with a diagnostic that names the server and what
// to do, and the next apply converges. After every step the lab's directory and servers are checked directly.
func TestFaultMatrix_winrm(t *testing.T) {
	cases := []faultCase{
		{name: "request latency", inject: onAll(func(f *wsman.Faults) { f.SetRequestLatency(150 * time.Millisecond) })},
		{name: "powershell start latency", inject: onAll(func(f *wsman.Faults) { f.SetStartLatency(time.Second) })},
		// Every server refuses its next requests for quota; how often quota faults can come and still be retried
		// away is measured by the load test (one request in 20), where the apply that follows completes the rest.
		{name: "quota faults", inject: onAll(func(f *wsman.Faults) { f.SetQuotaNext(2) })},
		{
			name: "hung commands", inject: onServer(func(f *wsman.Faults) { f.SetHangCommands(true) }), timeout: "2s",
			applyErr: drainIncomplete, destroyErr: resumeIncomplete,
		},
		{
			name: "dropped connections", inject: onServer(func(f *wsman.Faults) { f.SetDropConnections(true) }), timeout: "2s",
			applyErr: drainIncomplete, destroyErr: resumeIncomplete,
		},
		{
			name: "401", inject: onServer(func(f *wsman.Faults) { f.SetAuthFailure(true) }),
			applyErr: regexp.MustCompile(`(?s)127\.0\.0\.12 ` + settingsRefused.String() + `.*winrm\.username`), destroyErr: resumeIncomplete,
		},
		{
			name: "wrong content type", inject: onServer(func(f *wsman.Faults) { f.SetWrongContentType(true) }),
			serverIdle: 3 * time.Second,
			applyErr:   drainIncomplete, destroyErr: resumeIncomplete,
		},
		{
			name: "tls server name mismatch", config: withWinRMSetting(`tls_server_name = "not-the-server.corp.example"`),
			applyErr: regexp.MustCompile(`(?s)` + settingsRefused.String() + `.*winrm\.tls_server_name`), destroyErr: resumeIncomplete,
		},
		{
			name: "wrong ca", config: wrongWinRMCA,
			applyErr: regexp.MustCompile(`(?s)` + settingsRefused.String() + `.*winrm\.ca_certificate`), destroyErr: resumeIncomplete,
		},
	}
	// Each case has a lab of its own; they run in parallel (go test's -parallel, the cores by default), which
	// halves the matrix's time in CI, where three CLIs run it at once. Their drains take turns: the in-process
	// provider serializes the drains of its process (takeDrainTurn), as it does within one apply.
	fastDrains(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runFaultCase(t, c)
		})
	}
}

// withWinRMSetting adds a line to the provider's winrm block.
func withWinRMSetting(line string) func(*testing.T, *testLab, string) string {
	return func(t *testing.T, _ *testLab, config string) string {
		changed := strings.Replace(config, "  winrm {\n", "  winrm {\n    "+line+"\n", 1)
		if changed == config {
			t.Fatal("the test could not change the winrm block")
		}
		return changed
	}
}

// wrongWinRMCA makes the provider trust another CA than the lab's for WinRM.
func wrongWinRMCA(t *testing.T, l *testLab, config string) string {
	file := otherCAFile(t)
	// The winrm block comes first: the first ca_certificate is its one.
	changed := strings.Replace(config, fmt.Sprintf("ca_certificate = file(%q)", l.caFile), fmt.Sprintf("ca_certificate = file(%q)", file), 1)
	if changed == config {
		t.Fatal("the test could not change winrm.ca_certificate")
	}
	return changed
}

// faultMatrixResources is a device block and the drain of the faulty node, drained after the block so that the
// order of their effects on the lab is fixed.
const faultMatrixResources = `
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "CLIENT1"
  reason         = "INC-7: fault matrix"
  verify_seconds = 3
}
resource "remoteaccess_node_drain" "test" {
  node          = "RAS2"
  drain_timeout = "2s"
  depends_on    = [remoteaccess_blocked_device.test]
}
`

func runFaultCase(t *testing.T, c faultCase) {
	l := startLabWith(t, drainLabConfig(lab.Config{ShellIdleTimeout: c.serverIdle})) // the parent made the drains fast
	timeout := c.timeout
	if timeout == "" {
		timeout = "10s"
	}
	// A deadline of seconds, so that a hung command or a dropped connection costs seconds, not minutes.
	l.winrmExtra = fmt.Sprintf("timeout = %q", timeout)
	faulty := func(resources string) string {
		config := l.providerConfig(resources)
		if c.config != nil {
			config = c.config(t, l, config)
		}
		return config
	}
	clean := checkLabClean(t, l)
	inject := func() {
		// The fault starts between runs, once the provider deleted the shells it pooled: a server that stops
		// answering while a client still pools shells keeps them until its idle timeout (60 s as the client asks),
		// which no client can shorten.
		if err := clean(nil); err != nil {
			t.Error(err)
		}
		if c.inject != nil {
			c.inject(l)
		}
	}
	reset := func() {
		for _, s := range l.info.Servers {
			l.Server(s.Name).Faults().Reset()
		}
	}
	t.Cleanup(reset)
	watch := l.watchEnables("CLIENT1$")
	blocked := resource.ComposeAggregateTestCheckFunc(checkAccountEnabled(l, t, "CLIENT1$", false), watch.noEnable(), clean)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(checkAccountEnabled(l, t, "CLIENT1$", true),
			checkNode(l, "RAS2", cluster.Converged), clean),
		Steps: []resource.TestStep{
			{
				// The fault is on while the block and the drain are applied.
				PreConfig:          inject,
				Config:             faulty(faultMatrixResources),
				ExpectError:        c.applyErr,
				ExpectNonEmptyPlan: c.incomplete,
				Check:              blocked,
			},
			{
				// The fault is gone: the next apply converges, never by a replacement that lifts the block.
				PreConfig: func() {
					reset()
					if err := blocked(nil); err != nil && c.applyErr == nil {
						t.Errorf("after the apply under the fault: %v", err)
					}
					if err := watch.noEnable()(nil); err != nil {
						t.Error(err)
					}
				},
				Config: l.providerConfig(faultMatrixResources),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					noReplacement(deviceAddr), noReplacement(drainAddr),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(blocked, checkNode(l, "RAS2", cluster.Stopped),
					resource.TestCheckResourceAttr(deviceAddr, "pending_servers.#", "0"),
					resource.TestCheckResourceAttr(drainAddr, "drained", "true")),
			},
			{Config: l.providerConfig(faultMatrixResources), PlanOnly: true},
			{
				// The fault is on again while both are destroyed.
				PreConfig:   inject,
				Config:      faulty(""),
				ExpectError: c.destroyErr,
				Check:       resource.ComposeAggregateTestCheckFunc(checkAccountEnabled(l, t, "CLIENT1$", true), clean),
			},
			{
				// Without the fault, the destroy completes: the account is enabled again and the node back in rotation.
				PreConfig: reset,
				Config:    l.providerConfig(""),
				Check: resource.ComposeAggregateTestCheckFunc(checkAccountEnabled(l, t, "CLIENT1$", true),
					checkNode(l, "RAS2", cluster.Converged), clean),
			},
		},
	})
	if err := clean(nil); err != nil {
		t.Error(err)
	}
}

// noReplacement fails the plan when it would destroy a resource: replacing a block lifts it in between, and
// replacing a drain puts the node back into rotation in the middle of the window.
func noReplacement(addr string) plancheck.PlanCheck {
	return noReplacementCheck{addr: addr}
}

type noReplacementCheck struct{ addr string }

var _ plancheck.PlanCheck = noReplacementCheck{}

func (c noReplacementCheck) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address == c.addr && (rc.Change.Actions.Replace() || rc.Change.Actions.Delete()) {
			resp.Error = fmt.Errorf("%s is planned to be %v; want an in-place update or no change", c.addr, rc.Change.Actions)
		}
	}
}

// checkLabClean asks the lab's servers directly that no WinRM shell is left open and no command still runs: the
// provider deletes its shells when an operation fails, times out or is cancelled, not only when it succeeds.
func checkLabClean(t *testing.T, l *testLab) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, s := range l.info.Servers {
			srv := l.Server(s.Name)
			ok := waitFor(poll.Deadline, func() bool {
				c := srv.Counters()
				return c.OpenShells == 0 && c.RunningCommands == 0
			})
			if !ok {
				c := srv.Counters()
				return fmt.Errorf("%s: %d shells open and %d commands running after the provider finished; want none (%s)",
					s.Name, c.OpenShells, c.RunningCommands, describeOpenShells(srv.OpenShells()))
			}
		}
		return nil
	}
}

// describeOpenShells says when each shell left open was created and last used, which tells a shell lost during
// the run from one the provider failed to delete at exit.
func describeOpenShells(open []wsman.OpenShell) string {
	parts := make([]string, len(open))
	for i, sh := range open {
		parts[i] = fmt.Sprintf("shell %s of %s created %s, last used %s, %d commands not signalled",
			sh.ID, sh.Owner, sh.Created.Format(time.RFC3339Nano), sh.LastUsed.Format(time.RFC3339Nano), sh.Commands)
	}
	return strings.Join(parts, "; ")
}

// waitFor checks cond until it holds or d has passed, and reports whether it held.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
