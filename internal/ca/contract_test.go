package ca

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/contract"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/scriptcheck"
)

const contractPath = "../remoteaccess/scripts/CONTRACT.md"

// contractTypes are the Go types CONTRACT.md section 3 names.
var contractTypes = map[string]reflect.Type{
	"listInput":   reflect.TypeFor[listInput](),
	"listOutput":  reflect.TypeFor[listOutput](),
	"revokeInput": reflect.TypeFor[revokeInput](),
	"serialInput": reflect.TypeFor[serialInput](),
	"statesInput": reflect.TypeFor[statesInput](),
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

// The scripts pass scripts/check-ps.sh (the tree-sitter PowerShell grammar and the repository's rules) as they are
// sent, and each helper on its own.
func TestScriptsParseAsPowerShell(t *testing.T) {
	scriptcheck.ScriptsAsSentPassTheChecks(t, "../..", Scripts())
}

// The helpers are written once, and every script that calls one gets it.
func TestHelpersAreSharedNotCopied(t *testing.T) {
	scriptcheck.HelpersAreSharedNotCopied(t, Scripts())
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
		"ca-get-certificate-states/v1":     statesInput{Config: config, Serials: []string{serial, "FFFF"}},
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
