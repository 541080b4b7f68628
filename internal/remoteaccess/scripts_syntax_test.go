package remoteaccess

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/scriptcheck"
)

func checkPS(t *testing.T, files ...string) (string, error) {
	t.Helper()
	return scriptcheck.CheckPS(t, "../..", files...)
}

// Every script as it is sent (its helpers included) and every file of scripts/ and scripts/include pass the checks.
func TestScriptsParseAsPowerShell(t *testing.T) {
	if out, err := checkPS(t); err != nil {
		t.Errorf("check-ps.sh: %v\n%s", err, out)
	}
	scriptcheck.ScriptsAsSentPassTheChecks(t, "../..", Scripts())
}

// The helpers are written once, and every script that calls one gets it.
func TestHelpersAreSharedNotCopied(t *testing.T) {
	scriptcheck.HelpersAreSharedNotCopied(t, Scripts())
}

func TestSyntaxCheckCatchesABrokenScript(t *testing.T) {
	good, err := os.ReadFile("scripts/purge-device.ps1")
	if err != nil {
		t.Fatal(err)
	}
	broken := map[string]string{
		"unclosed-brace.ps1":    strings.Replace(string(good), "    exit 1\n}", "    exit 1\n", 1),
		"unterminated-text.ps1": strings.Replace(string(good), "'Stop'", "'Stop", 1),
		"broken-pipeline.ps1":   strings.Replace(string(good), "ConvertTo-Json -Compress -Depth 8", "ConvertTo-Json -Compress -Depth 8 |", 1),
	}
	dir := t.TempDir()
	for name, text := range broken {
		if text == string(good) {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := checkPS(t, path)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, name) {
			t.Errorf("check-ps.sh %s: %v\n%s\nwant exit code 1 and the file named", name, err, out)
		}
	}
}

// The fixtures in testdata/ps-rules are each a small script that selects SAs or connections with one banned
// construct; the file name says which rule must catch it (RULE.what.ps1).
func TestSyntaxTreeRulesCatchEveryBannedConstruct(t *testing.T) {
	fixtures, err := filepath.Glob("testdata/ps-rules/*.*.ps1")
	if err != nil || len(fixtures) < 20 {
		t.Fatalf("fixtures: %v, %d found", err, len(fixtures))
	}
	// One run for all fixtures (Node starts once); each file's findings are the lines that start with its path.
	out, err := checkPS(t, fixtures...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("check-ps.sh on the fixtures: %v\n%s\nwant exit code 1", err, out)
	}
	for _, path := range fixtures {
		rule, _, _ := strings.Cut(filepath.Base(path), ".")
		var findings []string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, path+":") {
				findings = append(findings, strings.TrimPrefix(line, path+":"))
			}
		}
		// The construct is on the third line or after; a finding on the first two would be a false positive.
		found := false
		for _, f := range findings {
			found = found || strings.Contains(f, ": "+rule+": ") && !strings.HasPrefix(f, "1:") && !strings.HasPrefix(f, "2:")
		}
		if !found {
			t.Errorf("%s: findings %q, want a %s finding on the banned construct", path, findings, rule)
		}
	}
}

func TestSyntaxTreeRulesAllowExactComparisons(t *testing.T) {
	if out, err := checkPS(t, "testdata/ps-rules/allowed.ps1"); err != nil {
		t.Errorf("check-ps.sh allowed.ps1: %v\n%s\nHashSet.Contains, -eq, -contains and [string]::Equals are exact", err, out)
	}
}

// Only the bootstrap may build its script block: the same text under another first line is refused.
func TestOnlyTheBootstrapMayCreateAScriptBlock(t *testing.T) {
	bootstrap, err := os.ReadFile("../winrm/bootstrap.ps1")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "not-the-bootstrap.ps1")
	if err := os.WriteFile(path, []byte("# some other script\n"+string(bootstrap)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := checkPS(t, path)
	if err == nil || !strings.Contains(out, ": code-from-text: [ScriptBlock]::Create") {
		t.Errorf("check-ps.sh on the bootstrap under another name: %v\n%s\nwant a code-from-text finding", err, out)
	}
}
