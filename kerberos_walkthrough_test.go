package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/samba"
)

const (
	walkthroughScript = "scripts/kerberos-walkthrough.sh"
	authGuide         = "templates/guides/authentication.md.tmpl"
	fromScriptMarker  = "<!-- from " + walkthroughScript + " -->"
)

// fencedBlocksAfter returns the code blocks of markdown that directly follow a line equal to marker.
func fencedBlocksAfter(markdown, marker string) []string {
	lines := strings.Split(markdown, "\n")
	var blocks []string
	for i := 0; i+1 < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != marker || !strings.HasPrefix(lines[i+1], "```") {
			continue
		}
		var body []string
		for j := i + 2; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
			body = append(body, lines[j])
		}
		blocks = append(blocks, strings.Join(body, "\n"))
	}
	return blocks
}

var expectedFailure = regexp.MustCompile(`(?m)^expect_failure "[^"]+" (?:"([^"]+)"|'([^']+)')`)

// The Kerberos walkthrough of the authentication guide says exactly what the script does: every code block marked
// as coming from the script is in it, word for word, and every error the script provokes is quoted in the guide.
func TestAuthenticationGuideQuotesTheWalkthrough(t *testing.T) {
	guide, err := os.ReadFile(authGuide)
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(walkthroughScript)
	if err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocksAfter(string(guide), fromScriptMarker)
	if len(blocks) < 6 {
		t.Fatalf("%s has %d code blocks marked as coming from the script, want the walkthrough's six steps", authGuide, len(blocks))
	}
	for _, b := range blocks {
		if !strings.Contains(string(script), b) {
			t.Errorf("%s shows a block that %s does not run:\n%s", authGuide, walkthroughScript, b)
		}
	}
	failures := expectedFailure.FindAllStringSubmatch(string(script), -1)
	if len(failures) < 4 {
		t.Fatalf("found %d wrong steps in %s", len(failures), walkthroughScript)
	}
	for _, f := range failures {
		message := f[1] + f[2]
		if !strings.Contains(string(guide), "`"+message+"`") {
			t.Errorf("%s does not quote the error of a wrong step: `%s`", authGuide, message)
		}
	}
}

// The walkthrough runs as written against Samba's KDC and the lab: the provider logs on to both lab servers with
// Kerberos tickets from Samba, blocks and unblocks a user, and each wrong step fails with the error the guide quotes.
func TestAccKerberosWalkthrough(t *testing.T) {
	t.Parallel()
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if os.Getenv("TF_ACC") == "" || cli == "" {
		t.Skip("runs the real CLI: set TF_ACC=1 and TF_ACC_TERRAFORM_PATH")
	}
	dc := samba.Start(t)
	cmd := exec.Command("bash", walkthroughScript, dc.Dir, filepath.Join(t.TempDir(), "walkthrough"))
	cmd.Env = append(os.Environ(), "TERRAFORM="+cli)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s", err, out)
	}
	t.Logf("the walkthrough's output:\n%s", out)
	for _, want := range []string{
		"both servers logged the provider on with Kerberos; alice was blocked and unblocked",
		"walkthrough complete",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walkthrough's output lacks %q:\n%s", want, out)
		}
	}
}
