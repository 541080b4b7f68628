package ca

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/contract"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

const contractPath = "../remoteaccess/scripts/CONTRACT.md"

// contractTypes are the Go types CONTRACT.md section 3 names.
var contractTypes = map[string]reflect.Type{
	"listInput":   reflect.TypeFor[listInput](),
	"listOutput":  reflect.TypeFor[listOutput](),
	"revokeInput": reflect.TypeFor[revokeInput](),
	"serialInput": reflect.TypeFor[serialInput](),
	"configInput": reflect.TypeFor[configInput](),
	"Change":      reflect.TypeFor[Change](),
	"Published":   reflect.TypeFor[Published](),
	"Flushed":     reflect.TypeFor[Flushed](),
	"Enforcement": reflect.TypeFor[Enforcement](),
}

// Every script has its section, its header names the section's fields, it raises exactly the errors listed, and
// the Go types have exactly the fields listed.
func TestContractSection3(t *testing.T) {
	sections := contract.Parse(t, contractPath, "3")
	var names []string
	for _, s := range Scripts() {
		names = append(names, s.Name)
	}
	if got := slices.Sorted(maps.Keys(sections)); !slices.Equal(got, slices.Sorted(slices.Values(names))) {
		t.Fatalf("CONTRACT.md section 3 documents %q; the package runs %q", got, names)
	}
	for _, s := range Scripts() {
		sec := sections[s.Name]
		for _, dir := range []struct {
			item, typeName string
			paths          []string
		}{{"Input", sec.InputType, sec.Input}, {"Output", sec.OutputType, sec.Output}} {
			all, top := contract.Segments(dir.paths)
			keys := contract.HeaderKeys(s.Text, dir.item)
			for _, k := range keys {
				if !slices.Contains(all, k) {
					t.Errorf("%s: the header's %s names %q, which CONTRACT.md does not", s.Name, dir.item, k)
				}
			}
			for _, k := range slices.Compact(top) {
				if !slices.Contains(keys, k) {
					t.Errorf("%s: CONTRACT.md's %s has %q, which the header's example lacks", s.Name, dir.item, k)
				}
			}
			if dir.typeName == "" {
				continue
			}
			typ, ok := contractTypes[dir.typeName]
			if !ok {
				t.Errorf("%s: CONTRACT.md names the type %s, which this package does not have", s.Name, dir.typeName)
				continue
			}
			if got, want := slices.Sorted(slices.Values(contract.JSONPaths(typ, ""))), slices.Sorted(slices.Values(dir.paths)); !slices.Equal(got, want) {
				t.Errorf("%s %s: Go type %s has JSON fields %q; CONTRACT.md lists %q", s.Name, dir.item, dir.typeName, got, want)
			}
		}
		if raised := contract.Raised(s.Text); !slices.Equal(raised, slices.Sorted(slices.Values(sec.Errors))) {
			t.Errorf("%s raises %q; CONTRACT.md lists %q", s.Name, raised, sec.Errors)
		}
	}
}

// The scripts pass scripts/check-ps.sh (the tree-sitter PowerShell grammar and the repository's rules).
func TestScriptsParseAsPowerShell(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is required in CI to check the PowerShell syntax")
		}
		t.Skip("node is not installed")
	}
	// Each script as it is sent, its helpers included, and each helper on its own.
	dir := t.TempDir()
	args, err := filepath.Glob("scripts/include/*.ps1")
	if err != nil || len(args) == 0 {
		t.Fatalf("no helpers in scripts/include: %v", err)
	}
	for _, s := range Scripts() {
		path := filepath.Join(dir, strings.TrimSuffix(s.Name, "/v1")+".ps1")
		if err := os.WriteFile(path, []byte(s.Text), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
	}
	if out, err := exec.Command("../../scripts/check-ps.sh", args...).CombinedOutput(); err != nil { //nolint:gosec // fixed paths
		t.Errorf("check-ps.sh: %v\n%s", err, out)
	}
}

// The helpers are written once: no function is defined in two files of scripts/, and every script that calls one
// of them gets it (each include line replaced by the helper's text, the helpers a script calls defined in it).
func TestHelpersAreSharedNotCopied(t *testing.T) {
	files, err := filepath.Glob("scripts/*.ps1")
	helpers, herr := filepath.Glob("scripts/include/*.ps1")
	if err != nil || herr != nil || len(files) == 0 || len(helpers) == 0 {
		t.Fatalf("scripts %v, helpers %v: %v %v", files, helpers, err, herr)
	}
	function := regexp.MustCompile(`(?m)^\s*function\s+([A-Za-z]+-[A-Za-z0-9]+)`)
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
	for _, s := range Scripts() {
		if includeLine.MatchString(s.Text) {
			t.Errorf("%s still has an include line as it is sent", s.Name)
		}
		for name := range definedIn {
			if strings.Contains(s.Text, name+" ") && !regexp.MustCompile(`(?m)^\s*function\s+`+name+`\b`).MatchString(s.Text) {
				t.Errorf("%s calls %s without including its helper", s.Name, name)
			}
		}
	}
	if _, err := includeHelpers("# remoteaccess-include: no-such-helper\n"); err == nil {
		t.Error("a missing helper is not an error")
	}
}

// The lab answers every CA script, run over WinRM with the inputs the Go side sends, with the document section 3
// describes: the third side of the contract.
func TestLabAnswersSection3(t *testing.T) {
	l, err := lab.Start(lab.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	r := labclient.Clients(t, l.Info())["RAS1"]
	config := l.Info().CertificateAuthority
	serial := l.EnterpriseCA().Rows(`CORP\CLIENT2$`, []string{"DirectAccess"})[0].Serial
	inputs := map[string]any{
		"ca-get-certificates/v1":           listInput{Config: config, Requester: `CORP\CLIENT2$`, Templates: []string{"DirectAccess"}},
		"ca-revoke/v1":                     revokeInput{Config: config, Serial: serial, Reason: ReasonCertificateHold},
		"ca-unrevoke/v1":                   serialInput{Config: config, Serial: serial},
		"ca-publish-crl/v1":                configInput{Config: config},
		"ca-flush-revocation-caches/v1":    struct{}{},
		"ca-get-revocation-enforcement/v1": struct{}{},
	}
	sections := contract.Parse(t, contractPath, "3")
	for _, s := range Scripts() {
		in, ok := inputs[s.Name]
		if !ok {
			t.Errorf("%s: no sample input", s.Name)
			continue
		}
		var out map[string]any
		if err := r.Run(context.Background(), s, in, &out); err != nil {
			t.Errorf("%s in the lab: %v", s.Name, err)
			continue
		}
		documented := sections[s.Name].Output
		for _, p := range contract.OutputPaths(out, "") {
			list := slices.ContainsFunc(documented, func(d string) bool { return strings.HasPrefix(d, p+"[].") })
			if !slices.Contains(documented, p) && !list {
				t.Errorf("%s: the lab answers %q, which CONTRACT.md does not document", s.Name, p)
			}
		}
		_, top := contract.Segments(documented)
		for _, k := range slices.Compact(top) {
			if _, ok := out[k]; !ok {
				t.Errorf("%s: the lab's answer lacks %q", s.Name, k)
			}
		}
	}
}

// Each CA script is declared a read or a write here and in CONTRACT.md alike: a read is sent again after a lost
// reply, so a hold or a publish declared read could run twice.
func TestContractDeclaresEveryScriptReadOrWrite(t *testing.T) {
	sections := contract.Parse(t, contractPath, "3")
	for _, s := range Scripts() {
		sec := sections[s.Name]
		if sec == nil || sec.Effect == "" {
			t.Errorf("%s: CONTRACT.md section 3 has no Effect line for it", s.Name)
			continue
		}
		if declared := map[bool]string{true: "read", false: "write"}[s.ReadOnly]; declared != sec.Effect {
			t.Errorf("%s: ca.go declares a %s, CONTRACT.md a %s", s.Name, declared, sec.Effect)
		}
	}
}
