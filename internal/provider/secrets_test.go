package provider

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //nolint:gosec,staticcheck // the NT hash a leak could hold is MD4 by definition

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
)

// secretForms are the spellings under which a password could leak: itself, base64 of user:password (Basic), base64
// of the password, its UTF-16LE bytes (and their base64 and hex), and its NT hash (MD4 of UTF-16LE) in hex and base64.
func secretForms(user, password string) map[string][]byte {
	units := utf16.Encode([]rune(password))
	utf16le := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(utf16le[2*i:], u)
	}
	h := md4.New()
	h.Write(utf16le)
	nt := h.Sum(nil)
	forms := map[string][]byte{
		"password":                  []byte(password),
		"base64(user:password)":     []byte(base64.StdEncoding.EncodeToString([]byte(user + ":" + password))),
		"base64(password)":          []byte(base64.StdEncoding.EncodeToString([]byte(password))),
		"UTF-16LE password":         utf16le,
		"base64(UTF-16LE password)": []byte(base64.StdEncoding.EncodeToString(utf16le)),
		"hex(UTF-16LE password)":    []byte(hex.EncodeToString(utf16le)),
		"NT hash (hex)":             []byte(hex.EncodeToString(nt)),
		"NT hash (HEX)":             []byte(strings.ToUpper(hex.EncodeToString(nt))),
		"NT hash (base64)":          []byte(base64.StdEncoding.EncodeToString(nt)),
		"NT hash (raw)":             nt,
	}
	if _, short, ok := strings.Cut(user, `\`); ok {
		forms["base64(short user:password)"] = []byte(base64.StdEncoding.EncodeToString([]byte(short + ":" + password)))
	}
	return forms
}

// scanForSecrets reports every secret form found in data, case-insensitively for the text forms.
func scanForSecrets(what string, data []byte, secrets map[string]map[string][]byte) []string {
	var found []string
	lower := bytes.ToLower(data)
	for name, forms := range secrets {
		for form, needle := range forms {
			if bytes.Contains(data, needle) || bytes.Contains(lower, bytes.ToLower(needle)) {
				found = append(found, fmt.Sprintf("%s holds the %s of %s", what, form, name))
			}
		}
	}
	return found
}

// buildProvider compiles the provider binary into dir, as `make install` would, for a dev_overrides configuration.
func buildProvider(t *testing.T, dir string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	args := []string{"build", "-o", filepath.Join(dir, "terraform-provider-remoteaccess")}
	if raceDetector {
		args = append(args, "-race") // the provider process is watched as closely as the tests
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
}

// cliRun is a working directory for the real CLI with the provider from a dev_overrides configuration, logging
// everything (TF_LOG=TRACE) to one file.
type cliRun struct {
	t            *testing.T
	cli, dir     string
	env          []string
	log, outputs string
}

func newCLIRun(t *testing.T, config string, extraEnv ...string) *cliRun {
	t.Helper()
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if cli == "" {
		t.Skip("TF_ACC_TERRAFORM_PATH is not set")
	}
	dir, plugins := t.TempDir(), t.TempDir()
	buildProvider(t, plugins)
	rc := filepath.Join(dir, "cli.tfrc")
	writeFile(t, rc, fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n",
		"remoteaccess-iac/remoteaccess", plugins))
	writeFile(t, filepath.Join(dir, "main.tf"), `terraform {
  required_providers {
    remoteaccess = { source = "remoteaccess-iac/remoteaccess" }
  }
}
`+config)
	r := &cliRun{t: t, cli: cli, dir: dir, log: filepath.Join(dir, "trace.log"), outputs: filepath.Join(dir, "outputs.txt")}
	r.env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_LOG=TRACE", "TF_LOG_PATH="+r.log, "CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1")
	r.env = append(r.env, extraEnv...)
	return r
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// run runs the CLI and keeps its output (a log a CI system would keep too) in r.outputs.
func (r *cliRun) run(args ...string) []byte {
	r.t.Helper()
	cmd := exec.Command(r.cli, args...)
	cmd.Dir, cmd.Env = r.dir, r.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	f, ferr := os.OpenFile(r.outputs, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if ferr == nil {
		_, _ = f.Write(append(out, stderr.Bytes()...))
		_ = f.Close()
	}
	if err != nil {
		r.t.Fatalf("%s %s: %v\n%s\n%s", filepath.Base(r.cli), strings.Join(args, " "), err, out, stderr.String())
	}
	return out
}

// runArtifacts is what one run of plan, show, apply, plan and destroy leaves behind.
type runArtifacts struct {
	log, state, planJSON, outputs []byte
}

// runBlockAndUnblock blocks CLIENT1 and alice and lifts the blocks again with the real CLI at TF_LOG=TRACE.
func runBlockAndUnblock(t *testing.T, l *testLab, config string, env ...string) runArtifacts {
	t.Helper()
	r := newCLIRun(t, config, env...)
	r.run("plan", "-input=false", "-out=tfplan")
	planJSON := r.run("show", "-json", "tfplan")
	r.run("apply", "-input=false", "tfplan")
	if l.accountEnabled(t, "CLIENT1$") || l.accountEnabled(t, "alice") {
		t.Fatal("the apply did not block CLIENT1 and alice: the run proves nothing")
	}
	r.run("plan", "-input=false", "-detailed-exitcode")
	state, err := os.ReadFile(filepath.Join(r.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	r.run("destroy", "-input=false", "-auto-approve")
	if !l.accountEnabled(t, "CLIENT1$") || !l.accountEnabled(t, "alice") {
		t.Error("the destroy did not lift the blocks")
	}
	a := runArtifacts{state: state, planJSON: planJSON}
	if a.log, err = os.ReadFile(r.log); err != nil {
		t.Fatal(err)
	}
	if a.outputs, err = os.ReadFile(r.outputs); err != nil {
		t.Fatal(err)
	}
	// The scan means something only if the log holds the provider's own trace lines and what it acted on.
	for _, want := range []string{"@module=remoteaccess ", "blocking account", "CN=CLIENT1", "tf_rpc=ConfigureProvider", "@module=sdk.framework"} {
		if !bytes.Contains(a.log, []byte(want)) {
			t.Fatalf("the TRACE log (%d bytes) has no %q: the provider's lines are missing", len(a.log), want)
		}
	}
	return a
}

// With TF_LOG=TRACE, nothing a run leaves behind holds a password in any spelling: not the whole log (the CLI's and
// the provider's lines), not the state, not the saved plan, not what the CLI printed.
func TestAccSecretsStayOutOfLogsStateAndPlan(t *testing.T) {
	l := startLabWith(t, lab.Config{
		ReestablishDelay: 300 * time.Millisecond,
		Password:         fmt.Sprintf("Sekr1t-%d-W!nRM", time.Now().UnixNano()),
	})
	secrets := map[string]map[string][]byte{
		"the WinRM password":     secretForms(l.info.WinRMUsername, l.info.WinRMPassword),
		"the LDAP bind password": secretForms(l.info.LDAPBindUsername, l.info.LDAPBindPassword),
	}
	resources := blockedDeviceConfig("CLIENT1") + blockedUserConfig("alice")
	check := func(t *testing.T, parts map[string][]byte) {
		t.Helper()
		for what, data := range parts {
			for _, leak := range scanForSecrets(what, data, secrets) {
				t.Error(leak)
			}
		}
	}

	t.Run("passwords from the environment", func(t *testing.T) {
		config := l.providerConfig(resources)
		for _, attr := range []string{"password", "bind_password"} {
			config = regexp.MustCompile(`(?m)^\s*`+attr+`\s*=.*$`).ReplaceAllString(config, "")
		}
		if strings.Contains(config, l.info.WinRMPassword) || strings.Contains(config, l.info.LDAPBindPassword) {
			t.Fatalf("the configuration still holds a password:\n%s", config)
		}
		a := runBlockAndUnblock(t, l, config,
			"REMOTEACCESS_WINRM_PASSWORD="+l.info.WinRMPassword, "REMOTEACCESS_LDAP_BIND_PASSWORD="+l.info.LDAPBindPassword)
		check(t, map[string][]byte{"the TRACE log": a.log, "the state": a.state, "the saved plan (show -json)": a.planJSON,
			"the CLI's output": a.outputs})
	})

	// Written into the configuration, a password is the CLI's to keep: `show -json` of a plan repeats the provider
	// block's constants under "configuration", which is why the README tells pipelines to use the environment. What
	// the provider writes, the log and the state, stays clean all the same.
	t.Run("passwords in the configuration", func(t *testing.T) {
		a := runBlockAndUnblock(t, l, l.providerConfig(resources))
		check(t, map[string][]byte{"the TRACE log": a.log, "the state": a.state})
	})
}
