package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// troubleshootingGuide is the template of the troubleshooting guide; docs/guides/troubleshooting.md is rendered from
// it (make docs-check keeps the two equal).
const troubleshootingGuide = "templates/guides/troubleshooting.md.tmpl"

// placeholder stands for whatever a summary computes at run time (a name, a kind of account).
const placeholder = "…"

// diagnosticSummaries reads the provider's source and returns the summary of every error and warning it can give,
// with placeholder where the summary is built from a value. A diagnostic is a call of AddError, AddWarning,
// AddAttributeError or AddAttributeWarning (the framework's), or of the provider's own resolver.errorf.
func diagnosticSummaries(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	summaries := map[string]string{}
	var parsed []*ast.File
	funcs := map[string]*ast.FuncDecl{} // the package's functions, whose returns a summary may be
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil {
				funcs[fn.Name.Name] = fn
			}
		}
	}
	for _, f := range parsed {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				arg := -1
				switch sel.Sel.Name {
				case "AddError", "AddWarning":
					arg = 0
				case "AddAttributeError", "AddAttributeWarning", "errorf":
					arg = 1
				}
				if arg < 0 || len(call.Args) <= arg {
					return true
				}
				// resolver.errorf passes its callers' summaries on: they are counted at the callers.
				if sel.Sel.Name == "AddAttributeError" && fn.Name.Name == "errorf" {
					return true
				}
				texts, ok := summaryText(funcs, fn, call.Args[arg])
				where := fset.Position(call.Pos()).String()
				if !ok || slices.Contains(texts, placeholder) {
					// A summary computed whole (a parameter, say) would match any heading.
					t.Errorf("%s: cannot tell the summary of this diagnostic: give it a literal or fmt.Sprintf summary", where)
					return true
				}
				for _, summary := range texts {
					summaries[summary] = where
				}
				return true
			})
		}
	}
	return summaries
}

// summaryText is the text of a summary expression, with placeholder for the parts computed at run time: one text
// for each way it can be built (a variable assigned twice gives two).
func summaryText(funcs map[string]*ast.FuncDecl, fn *ast.FuncDecl, e ast.Expr) ([]string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return nil, false
		}
		s, err := strconv.Unquote(e.Value)
		return []string{s}, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return nil, false
		}
		xs, okX := summaryText(funcs, fn, e.X)
		ys, okY := summaryText(funcs, fn, e.Y)
		var texts []string
		for _, x := range xs {
			for _, y := range ys {
				texts = append(texts, x+y)
			}
		}
		return texts, okX && okY
	case *ast.SelectorExpr:
		return []string{placeholder}, true
	case *ast.CallExpr:
		if id, isIdent := e.Fun.(*ast.Ident); isIdent && funcs[id.Name] != nil {
			return returnedTexts(funcs, funcs[id.Name])
		}
		sel, ok := e.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Sprintf" || len(e.Args) == 0 {
			return []string{placeholder}, true // a value computed at run time, such as strings.Join of server names
		}
		formats, ok := summaryText(funcs, fn, e.Args[0])
		verb := regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)
		for i, format := range formats {
			formats[i] = verb.ReplaceAllString(format, placeholder)
		}
		return formats, ok
	case *ast.Ident:
		// A local variable: every expression it is assigned in the function.
		var texts []string
		ok := true
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if as, isAssign := n.(*ast.AssignStmt); isAssign && len(as.Lhs) == len(as.Rhs) {
				for i, lhs := range as.Lhs {
					if id, isIdent := lhs.(*ast.Ident); isIdent && id.Name == e.Name {
						t, okT := summaryText(funcs, fn, as.Rhs[i])
						texts, ok = append(texts, t...), ok && okT
					}
				}
			}
			return true
		})
		if len(texts) == 0 && ok {
			return []string{placeholder}, true // a parameter or a value from elsewhere, such as a noun
		}
		return texts, ok
	}
	return nil, false
}

// returnedTexts are the texts of every value a function of the package returns first, for a summary it builds.
func returnedTexts(funcs map[string]*ast.FuncDecl, fn *ast.FuncDecl) ([]string, bool) {
	var texts []string
	ok := true
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if _, isLit := n.(*ast.FuncLit); isLit {
			return false // a closure's returns are its own
		}
		if ret, isReturn := n.(*ast.ReturnStmt); isReturn && len(ret.Results) > 0 {
			t, okT := summaryText(funcs, fn, ret.Results[0])
			texts, ok = append(texts, t...), ok && okT
		}
		return true
	})
	return texts, ok && len(texts) > 0
}

// guideHeadings returns the "### " headings of the guide's diagnostics section, with backquotes taken off.
func guideHeadings(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(troubleshootingGuide)
	if err != nil {
		t.Fatal(err)
	}
	var headings []string
	for _, line := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			headings = append(headings, strings.TrimSpace(h))
		}
	}
	return headings
}

// summaryPattern matches a guide heading against a summary: the placeholder stands for any text the heading names
// it with, such as <name> or "<computer>".
func summaryPattern(summary string) *regexp.Regexp {
	parts := strings.Split(summary, placeholder)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, `.+`) + "$")
}

// The troubleshooting guide has a section for every error and warning the provider can give, and no section for one
// it no longer gives: adding a diagnostic without documenting it, or renaming one, fails here.
func TestTroubleshootingGuideCoversEveryDiagnostic(t *testing.T) {
	summaries := diagnosticSummaries(t, filepath.Join("internal", "provider"))
	if len(summaries) < 40 {
		t.Fatalf("found only %d diagnostic summaries in the provider: the extraction is broken", len(summaries))
	}
	headings := guideHeadings(t)
	used := make([]bool, len(headings))
	var missing []string
	for summary, where := range summaries {
		re := summaryPattern(summary)
		found := false
		for i, h := range headings {
			if re.MatchString(h) {
				found, used[i] = true, true
			}
		}
		if !found {
			missing = append(missing, summary+"  ("+where+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s has no section \"### %s\"", troubleshootingGuide, m)
	}
	for i, h := range headings {
		if !used[i] {
			t.Errorf("%s documents %q, which the provider never says", troubleshootingGuide, h)
		}
	}
}

// guideCommand is a command name in the least-privilege guide's table (`Verb-Noun`) or role file ('Verb-Noun'),
// verbs with inner capitals (ConvertFrom, ForEach) included.
var guideCommand = regexp.MustCompile("[`']([A-Z][a-z]+(?:[A-Z][a-z]+)*-[A-Z][A-Za-z0-9]*)[`']")

// guideCommands are the commands of the guide's script table (its rows) and of its JEA role capability file
// (VisibleCmdlets), each as a set.
func guideCommands(guide string) (table, role map[string]bool) {
	table, role = map[string]bool{}, map[string]bool{}
	inRole := false
	for _, line := range strings.Split(guide, "\n") {
		switch {
		case strings.Contains(line, "VisibleCmdlets"):
			inRole = true
		case inRole && strings.TrimSpace(line) == ")":
			inRole = false
		}
		target := table
		if inRole {
			target = role
		} else if !strings.HasPrefix(line, "|") {
			continue
		}
		for _, m := range guideCommand.FindAllStringSubmatch(line, -1) {
			target[m[1]] = true
		}
	}
	return table, role
}

// The least-privilege guide lists exactly the commands the provider's scripts and bootstrap run on the Remote
// Access servers (less the functions they define), in its table and in its JEA role file: a command the scripts
// start using, or one they no longer use, fails the test until the guide follows.
func TestLeastPrivilegeGuideListsEveryCmdlet(t *testing.T) {
	bootstrap, err := os.ReadFile(filepath.Join("internal", "winrm", "bootstrap.ps1"))
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{string(bootstrap)}
	for _, s := range remoteaccess.Scripts() { // as they are sent: their helpers included, and the functions these define
		texts = append(texts, s.Text)
	}
	commands := map[string]bool{}
	for _, text := range texts {
		for _, c := range remoteaccess.CommandsIn(text) {
			commands[c] = true
		}
	}
	guide, err := os.ReadFile(filepath.Join("templates", "guides", "least-privilege.md.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	table, role := guideCommands(string(guide))
	for name, listed := range map[string]map[string]bool{"table": table, "JEA role capability file": role} {
		for c := range commands {
			if !listed[c] {
				t.Errorf("the scripts run %s, which the least-privilege guide's %s does not list", c, name)
			}
		}
		for c := range listed {
			if !commands[c] {
				t.Errorf("the least-privilege guide's %s lists %s, which no script runs", name, c)
			}
		}
	}
	for _, c := range []string{"ConvertFrom-Json", "ConvertTo-SecureString", "Get-NlbClusterNodeNetworkInterface", "Stop-NlbClusterNode"} {
		if !commands[c] {
			t.Errorf("the extraction misses %s: it is broken", c)
		}
	}
}

// The guide explains every kind of WinRM failure a detail can name, and the WinRM settings the provider diagnoses.
func TestTroubleshootingGuideExplainsEveryWinRMKind(t *testing.T) {
	data, err := os.ReadFile(troubleshootingGuide)
	if err != nil {
		t.Fatal(err)
	}
	guide := string(data)
	for _, kind := range winrm.Kinds() {
		if !strings.Contains(guide, "- `"+string(kind)+"`:") {
			t.Errorf("%s does not explain the WinRM failure %q", troubleshootingGuide, kind)
		}
	}
	for _, term := range []string{"`outcome unknown`", "MaxShellsPerUser", "MaxConcurrentOperationsPerUser", "MaxConcurrentUsers",
		"AllowRemoteShellAccess", "CbtHardeningLevel"} {
		if !strings.Contains(guide, term) {
			t.Errorf("%s does not name %s", troubleshootingGuide, term)
		}
	}
}
