package remoteaccess

import (
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/contract"
)

// contractTypes are the Go types scripts/CONTRACT.md names, by the name it uses.
var contractTypes = map[string]reflect.Type{
	"ConnectionFilter":   reflect.TypeFor[ConnectionFilter](),
	"connectionsOutput":  reflect.TypeFor[connectionsOutput](),
	"identitiesInput":    reflect.TypeFor[identitiesInput](),
	"IPsecSAs":           reflect.TypeFor[IPsecSAs](),
	"purgeDeviceInput":   reflect.TypeFor[purgeDeviceInput](),
	"purgeDeviceOutput":  reflect.TypeFor[purgeDeviceOutput](),
	"purgeDevicesInput":  reflect.TypeFor[purgeDevicesInput](),
	"purgeDevicesOutput": reflect.TypeFor[purgeDevicesOutput](),
	"purgeUserInput":     reflect.TypeFor[purgeUserInput](),
	"purgeUserOutput":    reflect.TypeFor[purgeUserOutput](),
	"VPNTarget":          reflect.TypeFor[VPNTarget](),
	"disconnectOutput":   reflect.TypeFor[disconnectOutput](),
	"stopComputerInput":  reflect.TypeFor[stopComputerInput](),
	"stopComputerOutput": reflect.TypeFor[stopComputerOutput](),
	"VPNSelection":       reflect.TypeFor[VPNSelection](),
	"VPNDisconnects":     reflect.TypeFor[VPNDisconnects](),
	"SASelection":        reflect.TypeFor[SASelection](),
	"SAPurge":            reflect.TypeFor[SAPurge](),
	"nodesOutput":        reflect.TypeFor[nodesOutput](),
	"drainInput":         reflect.TypeFor[drainInput](),
	"readinessInput":     reflect.TypeFor[readinessInput](),
	"Readiness":          reflect.TypeFor[Readiness](),
}

func parseContract(t *testing.T) map[string]*contract.Section {
	t.Helper()
	return contract.Parse(t, "scripts/CONTRACT.md", "2")
}

func TestContractDocumentsEveryScript(t *testing.T) {
	sections := parseContract(t)
	var names []string
	for _, s := range Scripts() {
		names = append(names, s.Name)
	}
	if got := slices.Sorted(func(yield func(string) bool) {
		for n := range sections {
			if !yield(n) {
				return
			}
		}
	}); !slices.Equal(got, slices.Sorted(slices.Values(names))) {
		t.Fatalf("CONTRACT.md documents %q; the package runs %q", got, names)
	}
}

func TestContractMatchesScriptHeaders(t *testing.T) {
	for _, s := range Scripts() {
		sec := parseContract(t)[s.Name]
		for _, dir := range []struct {
			item  string
			paths []string
		}{{"Input", sec.Input}, {"Output", sec.Output}} {
			all, top := contract.Segments(dir.paths)
			top = slices.Compact(top)
			keys := contract.HeaderKeys(s.Text, dir.item)
			for _, k := range keys {
				if !slices.Contains(all, k) {
					t.Errorf("%s: the header's %s names %q, which CONTRACT.md does not", s.Name, dir.item, k)
				}
			}
			for _, k := range top {
				if !slices.Contains(keys, k) {
					t.Errorf("%s: CONTRACT.md's %s has %q, which the header's example lacks", s.Name, dir.item, k)
				}
			}
		}
		raised := contract.Raised(s.Text)
		if !slices.Equal(raised, slices.Sorted(slices.Values(sec.Errors))) {
			t.Errorf("%s raises %q; CONTRACT.md lists %q", s.Name, raised, sec.Errors)
		}
	}
}

func TestContractMatchesGoTypes(t *testing.T) {
	for name, sec := range parseContract(t) {
		for _, dir := range []struct {
			item, typeName string
			paths          []string
		}{{"input", sec.InputType, sec.Input}, {"output", sec.OutputType, sec.Output}} {
			if dir.typeName == "" {
				continue // the NLB inputs are built in place (operations.go)
			}
			typ, ok := contractTypes[dir.typeName]
			if !ok {
				t.Errorf("%s: CONTRACT.md names the %s type %s, which is not a Go type of this package", name, dir.item, dir.typeName)
				continue
			}
			got, want := slices.Sorted(slices.Values(contract.JSONPaths(typ, ""))), slices.Sorted(slices.Values(dir.paths))
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: Go type %s has JSON fields %q; CONTRACT.md lists %q", name, dir.item, dir.typeName, got, want)
			}
		}
	}
	if sec := parseContract(t)["get-ipsec-sas/v1"]; sec == nil || sec.OutputType != "IPsecSAs" || len(sec.Output) < 15 {
		t.Fatalf("the contract parser found %+v for get-ipsec-sas", sec)
	}
}

// mutatingVerbs are the PowerShell verbs of cmdlets that change something; no read may call one.
var mutatingVerbs = regexp.MustCompile(`(?i)\b(Remove|Disconnect|Stop|Start|Resume|Suspend|Set|New|Add|Clear|Restart)-[A-Z]\w+`)

// Each script is declared a read or a write in scripts.go and in CONTRACT.md alike, and a read calls no cmdlet that
// changes anything: a read is sent again after a lost reply, so a write declared read could run twice.
func TestContractDeclaresEveryScriptReadOrWrite(t *testing.T) {
	sections := parseContract(t)
	for _, s := range Scripts() {
		sec := sections[s.Name]
		if sec == nil || sec.Effect == "" {
			t.Errorf("CONTRACT.md does not say whether %s is a read or a write", s.Name)
			continue
		}
		if declared := map[bool]string{true: "read", false: "write"}[s.ReadOnly]; declared != sec.Effect {
			t.Errorf("%s: scripts.go declares a %s, CONTRACT.md a %s", s.Name, declared, sec.Effect)
		}
		for _, c := range CommandsIn(s.Text) {
			if s.ReadOnly && mutatingVerbs.MatchString(c) {
				t.Errorf("%s is declared a read but calls %s", s.Name, c)
			}
		}
	}
}
