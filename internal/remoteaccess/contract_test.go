package remoteaccess

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// contractTypes are the Go types scripts/CONTRACT.md names, by the name it uses.
var contractTypes = map[string]reflect.Type{
	"ConnectionFilter":   reflect.TypeFor[ConnectionFilter](),
	"connectionsOutput":  reflect.TypeFor[connectionsOutput](),
	"identitiesInput":    reflect.TypeFor[identitiesInput](),
	"IPsecSAs":           reflect.TypeFor[IPsecSAs](),
	"purgeDeviceInput":   reflect.TypeFor[purgeDeviceInput](),
	"purgeDeviceOutput":  reflect.TypeFor[purgeDeviceOutput](),
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

type contractSection struct {
	script                string
	inputType, outputType string
	input, output         []string // field paths: a, a.b, a[].b
	errors                []string // "Category on target"
}

var (
	sectionHeading = regexp.MustCompile("^### ([a-z0-9-]+/v[0-9]+)$")
	partHeading    = regexp.MustCompile("^#### (Input|Output|Errors)(?: \\(`(\\w+)`\\))?$")
	tableField     = regexp.MustCompile("^\\| `([^`]+)` \\|")
	errorBullet    = regexp.MustCompile("^- `(\\w+)` on `([^`]+)`")
)

func parseContract(t *testing.T) map[string]*contractSection {
	t.Helper()
	data, err := os.ReadFile("scripts/CONTRACT.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]*contractSection{}
	var cur *contractSection
	part := ""
	for _, line := range strings.Split(string(data), "\n") {
		if m := sectionHeading.FindStringSubmatch(line); m != nil {
			cur = &contractSection{script: m[1]}
			sections[m[1]] = cur
			continue
		}
		if cur == nil {
			continue
		}
		if m := partHeading.FindStringSubmatch(line); m != nil {
			part = m[1]
			switch part {
			case "Input":
				cur.inputType = m[2]
			case "Output":
				cur.outputType = m[2]
			}
			continue
		}
		if m := tableField.FindStringSubmatch(line); m != nil {
			switch part {
			case "Input":
				cur.input = append(cur.input, m[1])
			case "Output":
				cur.output = append(cur.output, m[1])
			}
		}
		if m := errorBullet.FindStringSubmatch(line); m != nil && part == "Errors" {
			cur.errors = append(cur.errors, m[1]+" on "+m[2])
		}
	}
	return sections
}

// jsonPaths lists the JSON field paths of a Go type as the contract writes them (embedded structs promote).
func jsonPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var paths []string
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			paths = append(paths, jsonPaths(f.Type, prefix)...)
			continue
		}
		if tag == "" || tag == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			paths = append(paths, jsonPaths(ft, prefix+tag+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			paths = append(paths, jsonPaths(ft.Elem(), prefix+tag+"[].")...)
		default:
			paths = append(paths, prefix+tag)
		}
	}
	return paths
}

var (
	headerKey      = regexp.MustCompile(`[{,]\s*"([a-z][a-z0-9_]*)"`)
	raisedCategory = regexp.MustCompile(`ErrorRecord\]::new\(\$ex, '\w+', '(\w+)', '([^']*)'\)`)
)

// headerKeys returns the JSON keys in a script header's "# Input:" or "# Output:" item, continuation lines included.
func headerKeys(script, item string) []string {
	var text strings.Builder
	in := false
	for _, line := range strings.Split(script, "\n") {
		switch {
		case strings.HasPrefix(line, "# "+item+":"):
			in = true
		case in && strings.HasPrefix(line, "#   "):
		default:
			in = false
		}
		if in {
			text.WriteString(strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(line, "# "+item+":"), "#"), " "))
		}
	}
	var keys []string
	for _, m := range headerKey.FindAllStringSubmatch(text.String(), -1) {
		if m[1] != "result" {
			keys = append(keys, m[1])
		}
	}
	return keys
}

func segments(paths []string) (all, top []string) {
	for _, p := range paths {
		parts := strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
		all = append(all, parts...)
		top = append(top, parts[0])
	}
	return all, top
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
		}{{"Input", sec.input}, {"Output", sec.output}} {
			all, top := segments(dir.paths)
			top = slices.Compact(top)
			keys := headerKeys(s.Text, dir.item)
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
		var raised []string
		for _, m := range raisedCategory.FindAllStringSubmatch(s.Text, -1) {
			raised = append(raised, m[1]+" on "+m[2])
		}
		if !slices.Equal(slices.Sorted(slices.Values(raised)), slices.Sorted(slices.Values(sec.errors))) {
			t.Errorf("%s raises %q; CONTRACT.md lists %q", s.Name, raised, sec.errors)
		}
	}
}

func TestContractMatchesGoTypes(t *testing.T) {
	for name, sec := range parseContract(t) {
		for _, dir := range []struct {
			item, typeName string
			paths          []string
		}{{"input", sec.inputType, sec.input}, {"output", sec.outputType, sec.output}} {
			if dir.typeName == "" {
				continue // the NLB inputs are built in place (operations.go)
			}
			typ, ok := contractTypes[dir.typeName]
			if !ok {
				t.Errorf("%s: CONTRACT.md names the %s type %s, which is not a Go type of this package", name, dir.item, dir.typeName)
				continue
			}
			got, want := slices.Sorted(slices.Values(jsonPaths(typ, ""))), slices.Sorted(slices.Values(dir.paths))
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: Go type %s has JSON fields %q; CONTRACT.md lists %q", name, dir.item, dir.typeName, got, want)
			}
		}
	}
	if sec := parseContract(t)["get-ipsec-sas/v1"]; sec == nil || sec.outputType != "IPsecSAs" || len(sec.output) < 15 {
		t.Fatalf("the contract parser found %+v for get-ipsec-sas", sec)
	}
}
