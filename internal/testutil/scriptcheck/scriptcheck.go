// Package scriptcheck holds the checks that every package with embedded PowerShell scripts runs on them: each
// script as it is sent (its helpers included) passes scripts/check-ps.sh, and each function is written once.
package scriptcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// CheckPS runs scripts/check-ps.sh (the tree-sitter PowerShell grammar under Node.js, with the rules of
// tools/psparse/check.mjs) on files, or on every script the provider sends or ships when none are given. root is the
// repository's root, relative to the test's package. Without Node.js the test is skipped, and fails in CI.
func CheckPS(t *testing.T, root string, files ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is required in CI to check the PowerShell syntax")
		}
		t.Skip("node is not installed: the PowerShell syntax check runs in CI")
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "check-ps.sh"), files...).CombinedOutput() //nolint:gosec // the repository's own script
	return string(out), err
}

// ScriptsAsSentPassTheChecks checks each script as it is sent, its helpers included, and each helper of
// scripts/include on its own.
func ScriptsAsSentPassTheChecks(t *testing.T, root string, scripts []winrm.Script) {
	t.Helper()
	args, err := filepath.Glob("scripts/include/*.ps1")
	if err != nil || len(args) == 0 {
		t.Fatalf("no helpers in scripts/include: %v", err)
	}
	dir := t.TempDir()
	for _, s := range scripts {
		path := filepath.Join(dir, strings.TrimSuffix(s.Name, "/v1")+".ps1")
		if err := os.WriteFile(path, []byte(s.Text), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
	}
	if out, err := CheckPS(t, root, args...); err != nil {
		t.Errorf("check-ps.sh: %v\n%s", err, out)
	}
}

// function is a PowerShell function definition with a Verb-Noun name.
var function = regexp.MustCompile(`(?m)^\s*function\s+([A-Za-z]+-[A-Za-z0-9]+)`)

// HelpersAreSharedNotCopied checks that no function is defined in two files of scripts/ and scripts/include, and
// that every script that calls a helper's function gets it (each include line replaced by the helper's text).
func HelpersAreSharedNotCopied(t *testing.T, scripts []winrm.Script) {
	t.Helper()
	files, err := filepath.Glob("scripts/*.ps1")
	helpers, herr := filepath.Glob("scripts/include/*.ps1")
	if err != nil || herr != nil || len(files) == 0 || len(helpers) == 0 {
		t.Fatalf("scripts %v, helpers %v: %v %v", files, helpers, err, herr)
	}
	definedIn := map[string]string{}
	for _, f := range append(files, helpers...) {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range function.FindAllStringSubmatch(string(text), -1) {
			if other, ok := definedIn[m[1]]; ok {
				t.Errorf("%s is defined in %s and in %s: include it from scripts/include instead", m[1], other, f)
			}
			definedIn[m[1]] = f
		}
	}
	for _, s := range scripts {
		if winrm.IncludeLine.MatchString(s.Text) {
			t.Errorf("%s still has an include line as it is sent", s.Name)
		}
		for name := range definedIn {
			defines := regexp.MustCompile(`(?m)^\s*function\s+` + name + `\b`)
			calls := regexp.MustCompile(`(?m)^.*\b` + name + `\b.*$`)
			called := false
			for _, line := range calls.FindAllString(s.Text, -1) {
				called = called || !defines.MatchString(line)
			}
			if called && !defines.MatchString(s.Text) {
				t.Errorf("%s calls %s without including its helper", s.Name, name)
			}
		}
	}
}
