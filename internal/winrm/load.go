package winrm

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

// IncludeLine is a script's line that names a helper to include: "# remoteaccess-include: NAME" on a line of its
// own. LoadScript puts the text of scripts/include/NAME.ps1 there, so that several scripts share one copy of a
// function and every script is still sent whole: its text stays static, and no input is ever spliced into it.
var IncludeLine = regexp.MustCompile(`(?m)^# remoteaccess-include: ([a-z0-9-]+)\r?$`)

// LoadScript reads scripts/NAME.ps1 from files, includes its helpers (scripts/include/*.ps1), checks it with
// ParseScript and that its identifier line names it NAME/v1. A missing helper, or a helper that includes another,
// is an error.
func LoadScript(files fs.FS, name string) (Script, error) {
	raw, err := fs.ReadFile(files, "scripts/"+name+".ps1")
	if err != nil {
		return Script{}, fmt.Errorf("winrm: script %s: %w", name, err)
	}
	text, err := includeHelpers(files, string(raw))
	if err != nil {
		return Script{}, fmt.Errorf("winrm: script %s: %w", name, err)
	}
	s, err := ParseScript(text)
	if err != nil {
		return Script{}, err
	}
	if s.Name != name+"/v1" {
		return Script{}, fmt.Errorf("winrm: scripts/%s.ps1 identifies itself as %s", name, s.Name)
	}
	return s, nil
}

// includeHelpers replaces each include line of a script with the helper's text.
func includeHelpers(files fs.FS, text string) (string, error) {
	var errs []error
	out := IncludeLine.ReplaceAllStringFunc(text, func(line string) string {
		name := IncludeLine.FindStringSubmatch(line)[1]
		helper, err := fs.ReadFile(files, "scripts/include/"+name+".ps1")
		if err != nil {
			errs = append(errs, fmt.Errorf("include %s: %w", name, err))
			return line
		}
		body := strings.TrimRight(string(helper), "\r\n")
		if first, rest, _ := strings.Cut(body, "\n"); strings.TrimSuffix(first, "\r") == strings.TrimSuffix(line, "\r") {
			body = rest // the helper's own first line names it: the script's line says the same
		}
		if IncludeLine.MatchString(body) {
			errs = append(errs, fmt.Errorf("include %s: a helper includes no other", name))
		}
		return body
	})
	return out, errors.Join(errs...)
}
