package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoCopy copies examples/demo (main.tf and observe/) into a fresh directory, applying edit to main.tf.
func demoCopy(t *testing.T, edit func(string) string) string {
	t.Helper()
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if os.Getenv("TF_ACC") == "" || cli == "" {
		t.Skip("runs the demo with the real CLI: set TF_ACC=1 and TF_ACC_TERRAFORM_PATH")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	if err := os.MkdirAll(filepath.Join(dir, "observe"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"main.tf", filepath.Join("observe", "main.tf")} {
		data, err := os.ReadFile(filepath.Join("examples", "demo", f))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if f == "main.tf" && edit != nil {
			text = edit(text)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// demoCommand is scripts/demo.sh on dir, in its own process group (as a terminal would run it), under a umask that
// grants everyone everything, so that only the script's own care keeps its files private.
func demoCommand(dir string, env ...string) *exec.Cmd {
	cmd := exec.Command("bash", filepath.Join("scripts", "demo.sh"))
	cmd.Env = append(os.Environ(), append([]string{"TERRAFORM=" + os.Getenv("TF_ACC_TERRAFORM_PATH"), "DEMO_DIR=" + dir}, env...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

func runDemo(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	old := syscall.Umask(0)
	out, err := cmd.CombinedOutput()
	syscall.Umask(old)
	return stripColor(string(out)), err
}

var colorCodes = regexp.MustCompile("\x1b\\[[0-9;]*m")

func stripColor(s string) string { return colorCodes.ReplaceAllString(s, "") }

var labPIDLine = regexp.MustCompile(`starting the lab \(pid (\d+)\)`)

// expectLabStopped finds the lab's pid in the demo's output and checks that no such process is left.
func expectLabStopped(t *testing.T, out string) {
	t.Helper()
	m := labPIDLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo did not say which lab it started:\n%s", out)
	}
	pid, _ := strconv.Atoi(m[1])
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the lab (pid %d) still runs after the demo ended", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// make demo runs every step, shows what it claims and leaves nothing that others may read: the account read from
// the directory after the destroy, the lost laptop's device tunnel gone while its certificates are held and back
// after, the purge by node name, one progress line in the verify window, the
// development-override warning once, and the lab's files (info.json and lab.out hold its passwords) private.
func TestAccDemo(t *testing.T) {
	dir := demoCopy(t, nil)
	out, err := runDemo(t, demoCommand(dir, "DEMO_KEEP=1"))
	if err != nil {
		t.Fatalf("make demo failed: %v\n%s", err, out)
	}
	expectLabStopped(t, out)
	for _, want := range []string{
		// the purge keyed by the node names the cluster uses
		"\"RAS1\" = {\n      \"main_mode_sas\" = 2",
		// the drain, and its impact in the plan
		"Warning: Draining RAS2: sessions that will move",
		"\"sessions_at_start\" = 5",
		"Warning: Impact of blocking CLIENT1",
		// the lost Always On VPN laptop's hold: its certificates in the plan, the servers' enforcement read
		"Warning: Certificates of CLIENT2",
		"Warning: Revocation is enforced on every Remote Access server",
		"No changes.",
		"demo complete: every step checked",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	// The account as the directory holds it: enabled before, disabled and blocked after the apply, enabled again after
	// the destroy; the connections gone from CLIENT1 while blocked.
	steps := strings.Split(out, "== the lab ")
	if len(steps) != 4 {
		t.Fatalf("want three observations of the lab, got %d:\n%s", len(steps)-1, out)
	}
	for i, want := range []string{
		"\"blocked\" = false\n  \"enabled\" = true",
		"\"blocked\" = true\n  \"enabled\" = false\n}\nclient1_connected_through = tolist([])",
		"\"blocked\" = false\n  \"enabled\" = true",
	} {
		if !strings.Contains(steps[i+1], want) {
			t.Errorf("observation %d lacks %q:\n%s", i+1, want, steps[i+1])
		}
	}
	// The lost laptop, read from the CA and the servers: its device tunnel up, gone while its certificates are on hold
	// (its account enabled throughout), and back after the destroy.
	for i, want := range [][]string{
		{`"AOVPNDeviceTunnel issued"`, `"device_tunnel" = "up through RAS2"`},
		{`"AOVPNDeviceTunnel held"`, `"DirectAccess held"`, `"device_tunnel" = "down"`},
		{`"AOVPNDeviceTunnel issued"`, `"device_tunnel" = "up through`},
	} {
		for _, w := range want {
			if !strings.Contains(steps[i+1], w) {
				t.Errorf("observation %d lacks %s:\n%s", i+1, w, steps[i+1])
			}
		}
	}
	if !strings.Contains(steps[2], `"RAS2" = "Stopped, out of rotation, 0 connections"`) ||
		!strings.Contains(steps[3], `"RAS2" = "Converged, in rotation`) {
		t.Errorf("the cluster does not show RAS2 drained, then back:\n%s\n%s", steps[2], steps[3])
	}
	if n := strings.Count(out, "Provider development overrides are in effect"); n != 1 {
		t.Errorf("the development-override warning appears %d times, want once", n)
	}
	if n := strings.Count(out, "watches the servers for 5 s"); n != 1 {
		t.Errorf("the verify window's progress line appears %d times, want once", n)
	}

	state := filepath.Join(dir, ".lab")
	var info struct {
		WinRMPassword string `json:"winrm_password"`
	}
	data, err := os.ReadFile(filepath.Join(state, "info.json"))
	if err != nil || json.Unmarshal(data, &info) != nil || info.WinRMPassword == "" {
		t.Fatalf("the demo wrote no lab information with a password: %v", err)
	}
	if lab, err := os.ReadFile(filepath.Join(state, "lab.out")); err != nil || !bytes.Contains(lab, []byte(info.WinRMPassword)) {
		t.Errorf("lab.out does not repeat the password (%v): the check below would miss it", err)
	}
	checked := 0
	err = filepath.WalkDir(state, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		checked++
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: others may read it", path, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil || checked < 5 {
		t.Fatalf("walked %d entries of %s: %v", checked, state, err)
	}
}

// A step that does not do what the demo says fails the demo, names the step, and the demo still destroys what it
// applied, stops the lab and removes its files. The mutation: the block no longer purges sessions, so it disables
// the account but purges no SA.
func TestAccDemoFailsWhenAStepDoesNotHold(t *testing.T) {
	dir := demoCopy(t, func(s string) string {
		out := strings.Replace(s, "verify_seconds = 5", "verify_seconds = 5\n  purge_sessions = false", 1)
		if out == s {
			t.Fatal("examples/demo/main.tf no longer sets verify_seconds = 5: update the mutation")
		}
		return out
	})
	out, err := runDemo(t, demoCommand(dir))
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the demo succeeded although the block purged nothing: %v\n%s", err, out)
	}
	for _, want := range []string{
		"The block purged no main-mode SA of CLIENT1",
		"demo FAILED: apply",
		"destroying what was applied",
		"demo: destroyed what was applied",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
	expectLabStopped(t, out)
	if _, err := os.Stat(filepath.Join(dir, ".lab")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the demo left its files (which hold the lab's passwords): %v", err)
	}
}

// Ctrl-C in the middle of the apply: the demo exits non-zero, destroys what was applied, stops the lab and removes
// its files.
func TestAccDemoCleansUpWhenInterrupted(t *testing.T) {
	dir := demoCopy(t, nil)
	cmd := demoCommand(dir)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	old := syscall.Umask(0)
	err := cmd.Start()
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()

	var out strings.Builder
	sc := bufio.NewScanner(pr)
	interrupted := false
	for sc.Scan() {
		line := stripColor(sc.Text())
		out.WriteString(line + "\n")
		// The verify window: the account is disabled, the lab's servers purged.
		if !interrupted && strings.Contains(line, "watches the servers") {
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			interrupted = true
		}
	}
	err = <-done
	if !interrupted {
		t.Fatalf("the demo never reached the verify window:\n%s", out.String())
	}
	if err == nil {
		t.Errorf("the interrupted demo exited 0:\n%s", out.String())
	}
	expectLabStopped(t, out.String())
	if _, err := os.Stat(filepath.Join(dir, ".lab")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the interrupted demo left its files (which hold the lab's passwords): %v", err)
	}
}
