// Package contract reads internal/remoteaccess/scripts/CONTRACT.md for the tests that hold the scripts, their Go
// types and the lab to it: the sections of one part, each script's input and output fields and its errors.
package contract

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Section is one script's section.
type Section struct {
	Script                string
	InputType, OutputType string
	Input, Output         []string // field paths: a, a.b, a[].b
	Errors                []string // "Category on target"
	Effect                string   // "read" or "write", from the section's "Effect:" line
}

var (
	partStart      = regexp.MustCompile(`^## ([0-9]+)\.`)
	sectionHeading = regexp.MustCompile("^### ([a-z0-9-]+/v[0-9]+)$")
	partHeading    = regexp.MustCompile("^#### (Input|Output|Errors)(?: \\(`(\\w+)`\\))?$")
	tableField     = regexp.MustCompile("^\\| `([^`]+)` \\|")
	// tableReference is a row that stands for every field of another script's input or output, under a prefix:
	// | `look.*` | the output of `get-ipsec-sas/v1` | ... |
	tableReference = regexp.MustCompile("^\\| `([^`]+)\\.\\*` \\| the (input|output) of `([a-z0-9-]+/v[0-9]+)` \\|")
	errorBullet    = regexp.MustCompile("^- `(\\w+)` on `([^`]+)`")
	effectLine     = regexp.MustCompile("^Effect: (read|write)$")
)

// Parse reads the script sections of one numbered part ("2" for the Remote Access scripts, "3" for the CA's).
func Parse(t testing.TB, path, part string) map[string]*Section {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]*Section{}
	type reference struct {
		into                 *[]string
		prefix, item, script string
	}
	var references []reference
	var cur *Section
	inPart, item := false, ""
	for _, line := range strings.Split(string(data), "\n") {
		if m := partStart.FindStringSubmatch(line); m != nil {
			inPart, cur = m[1] == part, nil
			continue
		}
		if !inPart {
			continue
		}
		if m := sectionHeading.FindStringSubmatch(line); m != nil {
			cur = &Section{Script: m[1]}
			sections[m[1]] = cur
			continue
		}
		if cur == nil {
			continue
		}
		if m := effectLine.FindStringSubmatch(line); m != nil {
			cur.Effect = m[1]
			continue
		}
		if m := partHeading.FindStringSubmatch(line); m != nil {
			item = m[1]
			switch item {
			case "Input":
				cur.InputType = m[2]
			case "Output":
				cur.OutputType = m[2]
			}
			continue
		}
		if m := tableReference.FindStringSubmatch(line); m != nil && (item == "Input" || item == "Output") {
			into := &cur.Input
			if item == "Output" {
				into = &cur.Output
			}
			references = append(references, reference{into: into, prefix: m[1], item: m[2], script: m[3]})
			continue
		}
		if m := tableField.FindStringSubmatch(line); m != nil {
			switch item {
			case "Input":
				cur.Input = append(cur.Input, m[1])
			case "Output":
				cur.Output = append(cur.Output, m[1])
			}
		}
		if m := errorBullet.FindStringSubmatch(line); m != nil && item == "Errors" {
			cur.Errors = append(cur.Errors, m[1]+" on "+m[2])
		}
	}
	for _, r := range references {
		other := sections[r.script]
		if other == nil {
			t.Fatalf("%s: a table refers to %s, which has no section", path, r.script)
		}
		fields := other.Input
		if r.item == "output" {
			fields = other.Output
		}
		for _, f := range fields {
			*r.into = append(*r.into, r.prefix+"."+f)
		}
	}
	return sections
}

// JSONPaths lists the JSON field paths of a Go type as the contract writes them (embedded structs promote).
func JSONPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var paths []string
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			paths = append(paths, JSONPaths(f.Type, prefix)...)
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
			paths = append(paths, JSONPaths(ft, prefix+tag+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			paths = append(paths, JSONPaths(ft.Elem(), prefix+tag+"[].")...)
		default:
			paths = append(paths, prefix+tag)
		}
	}
	// A field that shadows one of an embedded struct (encoding/json takes the shallower) is one key of the document.
	slices.Sort(paths)
	return slices.Compact(paths)
}

var (
	headerKey      = regexp.MustCompile(`[{,]\s*"([a-z][a-z0-9_]*)"`)
	raisedCategory = regexp.MustCompile(`ErrorRecord\]::new\(\$ex, '\w+', '(\w+)', '([^']*)'\)`)
)

// HeaderKeys returns the JSON keys in a script header's "# Input:" or "# Output:" item, continuation lines included.
func HeaderKeys(script, item string) []string {
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

// Segments splits field paths into all their names and their first names.
func Segments(paths []string) (all, top []string) {
	for _, p := range paths {
		parts := strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
		all = append(all, parts...)
		top = append(top, parts[0])
	}
	return all, top
}

// Raised lists the "Category on target" errors a script raises with ErrorRecord, sorted.
func Raised(script string) []string {
	var raised []string
	for _, m := range raisedCategory.FindAllStringSubmatch(script, -1) {
		raised = append(raised, m[1]+" on "+m[2])
	}
	return slices.Sorted(slices.Values(raised))
}

// OutputPaths lists the field paths of a JSON value as CONTRACT.md writes them (a, a.b, a[].b).
func OutputPaths(v any, prefix string) []string {
	var paths []string
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			sub := OutputPaths(child, prefix+k+".")
			if len(sub) == 0 {
				sub = []string{prefix + k}
			}
			paths = append(paths, sub...)
		}
	case []any:
		for _, item := range x {
			if _, ok := item.(map[string]any); ok {
				paths = append(paths, OutputPaths(item, strings.TrimSuffix(prefix, ".")+"[].")...)
			}
		}
	}
	return paths
}
