package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
)

// terraformCLI runs the Terraform CLI of the acceptance tests on one working directory, with a provider binary
// built from this module and installed by dev_overrides, as an operator runs it (and as Ctrl-C reaches it).
type terraformCLI struct {
	bin, dir, cliConfig string
}

// newTerraformCLI builds the provider into a temporary directory and writes a CLI configuration that points
// Terraform at it; it skips the test as the acceptance tests do when TF_ACC is not set.
func newTerraformCLI(t *testing.T) *terraformCLI {
	t.Helper()
	bin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if os.Getenv("TF_ACC") == "" || bin == "" {
		t.Skip("acceptance test: set TF_ACC=1 and TF_ACC_TERRAFORM_PATH (make test does)")
	}
	plugins := t.TempDir()
	buildProvider(t, plugins)
	cliConfig := filepath.Join(t.TempDir(), "terraformrc")
	writeFile(t, cliConfig, fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n",
		Address[len("registry.terraform.io/"):], plugins))
	return &terraformCLI{bin: bin, dir: t.TempDir(), cliConfig: cliConfig}
}

// writeConfig replaces the working directory's configuration.
func (tf *terraformCLI) writeConfig(t *testing.T, config string) {
	t.Helper()
	writeFile(t, filepath.Join(tf.dir, "main.tf"), "terraform {\n  required_providers {\n    remoteaccess = { source = \""+
		Address[len("registry.terraform.io/"):]+"\" }\n  }\n}\n"+config)
}

// command is a Terraform command on the working directory, not started yet; its output goes to out.
func (tf *terraformCLI) command(out *bytes.Buffer, args ...string) *exec.Cmd {
	cmd := exec.Command(tf.bin, append([]string{"-chdir=" + tf.dir}, args...)...)
	// A data race in the provider stops it at once, which fails the Terraform command.
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+tf.cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
		"GORACE=halt_on_error=1")
	cmd.Stdout, cmd.Stderr = out, out
	return cmd
}

// run runs a Terraform command to its end and fails the test if it fails.
func (tf *terraformCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := tf.command(&out, args...).Run(); err != nil {
		t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// stateAttribute reads one attribute of a resource from the working directory's state, as `terraform show` has it.
func (tf *terraformCLI) stateAttribute(t *testing.T, address, attribute string) any {
	t.Helper()
	var state struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(tf.run(t, "show", "-json")), &state); err != nil {
		t.Fatal(err)
	}
	for _, r := range state.Values.RootModule.Resources {
		if r.Address == address {
			return r.Values[attribute]
		}
	}
	t.Fatalf("%s is not in the state", address)
	return nil
}

// Ctrl-C in the middle of a block on slow servers, during the purge and during the verify window: Terraform asks the
// provider to stop, the provider signals the commands running on the servers and deletes its shells, and Terraform
// ends long before the slow commands would have; the account stays disabled, the state keeps the block with the
// servers it did not finish pending (a verify window cut short proves nothing), and the next apply completes it
// without ever enabling the account.
func TestInterruptedBlock(t *testing.T) {
	for _, c := range []struct {
		name     string
		inVerify bool
	}{{"during the purge", false}, {"during the verify window", true}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each has its lab and its Terraform process
			testInterruptedBlock(t, c.inVerify)
		})
	}
}

func testInterruptedBlock(t *testing.T, inVerify bool) {
	tf := newTerraformCLI(t)
	l := startLab(t)
	ras1 := l.info.ServerAddresses[0]
	tf.writeConfig(t, l.providerConfig(`
resource "remoteaccess_blocked_device" "test" {
  computer_name  = "CLIENT1"
  reason         = "INC-9: interrupted"
  verify_seconds = 20
}
`))
	watch := l.watchEnables("CLIENT1$")
	var out bytes.Buffer
	apply := tf.command(&out, "apply", "-auto-approve", "-input=false", "-no-color")
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- apply.Wait() }()
	fail := func(format string, args ...any) {
		t.Helper()
		_ = apply.Process.Kill()
		t.Fatalf(format+"\n%s", append(args, out.String())...)
	}
	// The account is disabled once the apply's preflight passed; the purge follows at once.
	if !waitFor(30*time.Second, func() bool {
		history := l.Directory().AccountControlHistory("CLIENT1$")
		return len(history) > watch.start && history[len(history)-1]&directory.UFAccountDisable != 0
	}) {
		fail("the apply did not disable CLIENT1:")
	}
	if inVerify {
		// CLIENT1's sessions on RAS1 are gone: the purge is over and the verify window is open; let it poll a while.
		if !waitFor(poll.Deadline, func() bool {
			conns, err := l.Cluster().ConnectionsOn(context.Background(), "RAS1")
			return err == nil && !strings.Contains(strings.Join(conns, " "), "CLIENT1")
		}) {
			fail("the purge did not end CLIENT1's sessions on RAS1:")
		}
		time.Sleep(3 * time.Second)
	}
	// From now on powershell.exe takes this long to start on every server: far longer than the test waits.
	const slowStart = 2 * time.Minute
	for _, s := range l.info.Servers {
		l.Server(s.Name).Faults().SetStartLatency(slowStart)
	}
	if !waitFor(poll.Deadline, func() bool { return runningCommands(l) > 0 }) {
		fail("no command of the block runs on a server:")
	}
	signalsBefore := labActions(l, "Signal")
	if err := apply.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err == nil {
			t.Errorf("the interrupted apply exited 0; want a failure exit code\n%s", out.String())
		}
	case <-time.After(slowStart / 4):
		fail("terraform did not end within %s of Ctrl-C while the servers' commands were slow:", slowStart/4)
	}
	for _, s := range l.info.Servers {
		srv := l.Server(s.Name)
		poll.Until(t, s.Name+" has no command running and no shell open", func() bool {
			c := srv.Counters()
			return c.RunningCommands == 0 && c.OpenShells == 0
		})
	}
	if labActions(l, "Signal") <= signalsBefore {
		t.Errorf("no server received a Signal for the interrupted commands")
	}
	if l.accountEnabled(t, "CLIENT1$") || watch.enables() > 0 {
		t.Fatalf("CLIENT1 was enabled by the interrupted block (history %v)", l.Directory().AccountControlHistory("CLIENT1$"))
	}
	pending, _ := tf.stateAttribute(t, deviceAddr, "pending_servers").([]any)
	if len(pending) == 0 || inVerify && !slices.Contains(pending, any(ras1)) {
		t.Errorf("pending_servers = %v after the interrupted block; want the servers it did not finish (RAS1 %s "+
			"when its verify window was cut short)\n%s", pending, ras1, out.String())
	}

	for _, s := range l.info.Servers {
		l.Server(s.Name).Faults().SetStartLatency(0)
	}
	tf.run(t, "apply", "-auto-approve", "-input=false", "-no-color")
	if pending, _ := tf.stateAttribute(t, deviceAddr, "pending_servers").([]any); len(pending) != 0 {
		t.Errorf("pending_servers = %v after the next apply; want none", pending)
	}
	if l.accountEnabled(t, "CLIENT1$") || watch.enables() > 0 {
		t.Fatalf("CLIENT1 was enabled on the way to completing the block (history %v)", l.Directory().AccountControlHistory("CLIENT1$"))
	}
	tf.run(t, "destroy", "-auto-approve", "-input=false", "-no-color")
	if !l.accountEnabled(t, "CLIENT1$") {
		t.Error("CLIENT1 stays disabled after the block was destroyed")
	}
	if err := checkLabClean(t, l)(nil); err != nil {
		t.Error(err)
	}
}

// runningCommands adds up the commands running on every server of the lab.
func runningCommands(l *testLab) int64 {
	var n int64
	for _, s := range l.info.Servers {
		n += l.Server(s.Name).Counters().RunningCommands
	}
	return n
}

// labActions adds up one SOAP action (Create, Command, Signal, Delete...) over every server of the lab.
func labActions(l *testLab, action string) int64 {
	var n int64
	for _, s := range l.info.Servers {
		n += l.Server(s.Name).Counters().Actions[action]
	}
	return n
}
