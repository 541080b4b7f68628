package remoteaccess

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkPS runs scripts/check-ps.sh (the tree-sitter PowerShell grammar under Node.js) on files, or on every
// provider script when none are given.
func checkPS(t *testing.T, files ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is required in CI to check the PowerShell syntax")
		}
		t.Skip("node is not installed: the PowerShell syntax check runs in CI")
	}
	out, err := exec.Command("../../scripts/check-ps.sh", files...).CombinedOutput()
	return string(out), err
}

func TestScriptsParseAsPowerShell(t *testing.T) {
	if out, err := checkPS(t); err != nil {
		t.Errorf("check-ps.sh: %v\n%s", err, out)
	}
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
