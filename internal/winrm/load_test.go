package winrm

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadScriptIncludesItsHelpers(t *testing.T) {
	files := fstest.MapFS{
		"scripts/one.ps1":             {Data: []byte("# remoteaccess-script: one/v1\n# remoteaccess-include: helper\r\n$x = Get-Thing\n")},
		"scripts/include/helper.ps1":  {Data: []byte("# remoteaccess-include: helper\n# what it does\nfunction Get-Thing { 1 }\n\n")},
		"scripts/missing.ps1":         {Data: []byte("# remoteaccess-script: missing/v1\n# remoteaccess-include: no-such-helper\n")},
		"scripts/nested.ps1":          {Data: []byte("# remoteaccess-script: nested/v1\n# remoteaccess-include: nesting\n")},
		"scripts/include/nesting.ps1": {Data: []byte("# remoteaccess-include: nesting\n# remoteaccess-include: helper\n")},
		"scripts/misnamed.ps1":        {Data: []byte("# remoteaccess-script: other/v1\n")},
	}
	s, err := LoadScript(files, "one")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# remoteaccess-script: one/v1\n# what it does\nfunction Get-Thing { 1 }\n$x = Get-Thing\n"; s.Text != want || s.Name != "one/v1" {
		t.Errorf("LoadScript = %q (%s), want %q", s.Text, s.Name, want)
	}
	for name, want := range map[string]string{
		"missing":  "include no-such-helper",
		"nested":   "a helper includes no other",
		"misnamed": "identifies itself as other/v1",
		"absent":   "scripts/absent.ps1",
	} {
		if _, err := LoadScript(files, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadScript(%s) = %v, want an error with %q", name, err, want)
		}
	}
}
