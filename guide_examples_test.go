package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testCACertificate is a self-signed CA certificate in PEM, for configurations that read one from a file.
func testCACertificate(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Corp Root CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// The guides' worked workflows (examples/guides/*) are complete configurations that the real Terraform CLI accepts:
// every attribute they set exists with the type they give it, and every expression evaluates. A pipeline script
// next to one is valid bash.
func TestAccGuideExamplesValidate(t *testing.T) {
	t.Parallel()
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if os.Getenv("TF_ACC") == "" || cli == "" {
		t.Skip("runs the real CLI: set TF_ACC=1 and TF_ACC_TERRAFORM_PATH")
	}
	tmp := t.TempDir()
	plugins := filepath.Join(tmp, "plugins")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(plugins, "terraform-provider-remoteaccess"), ".").CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	rc := filepath.Join(tmp, "terraformrc")
	overrides := "provider_installation {\n  dev_overrides {\n    \"remoteaccess-iac/remoteaccess\" = \"" + plugins + "\"\n  }\n  direct {}\n}\n"
	if err := os.WriteFile(rc, []byte(overrides), 0o600); err != nil {
		t.Fatal(err)
	}

	dirs, err := filepath.Glob(filepath.Join("examples", "guides", "*"))
	if err != nil || len(dirs) < 3 {
		t.Fatalf("want the three workflows under examples/guides, got %v (%v)", dirs, err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			work := filepath.Join(tmp, filepath.Base(dir))
			if err := os.MkdirAll(work, 0o700); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(work, e.Name()), data, 0o600); err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(e.Name(), ".sh") {
					if out, err := exec.Command("bash", "-n", filepath.Join(dir, e.Name())).CombinedOutput(); err != nil {
						t.Errorf("%s: %v\n%s", e.Name(), err, out)
					}
				}
			}
			// The configurations read the organisation's CA certificate from a file next to them.
			if err := os.WriteFile(filepath.Join(work, "corp-root-ca.pem"), testCACertificate(t), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(cli, "validate", "-no-color")
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "The configuration is valid") {
				t.Errorf("terraform validate in %s: %v\n%s", dir, err, out)
			}
		})
	}
}

// The provider's index page lists exactly the types the build has: every type with a page under docs/ (generated
// from the provider's schemas) is named in templates/index.md.tmpl, and every type named there has a page.
func TestIndexDescribesOnlyWhatTheBuildHas(t *testing.T) {
	index, err := os.ReadFile(filepath.Join("templates", "index.md.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	built := map[string]bool{}
	for _, kind := range []string{"resources", "data-sources", "actions", "list-resources"} {
		pages, err := filepath.Glob(filepath.Join("docs", kind, "*.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			built["remoteaccess_"+strings.TrimSuffix(filepath.Base(p), ".md")] = true
		}
	}
	if len(built) < 8 {
		t.Fatalf("found %d documented types under docs/", len(built))
	}
	for name := range built {
		if !strings.Contains(string(index), "`"+name+"`") {
			t.Errorf("templates/index.md.tmpl does not name %s, which the build has", name)
		}
	}
	for _, name := range regexp.MustCompile("`(remoteaccess_[a-z_]+)`").FindAllStringSubmatch(string(index), -1) {
		if !built[name[1]] {
			t.Errorf("templates/index.md.tmpl names %s, which the build does not have", name[1])
		}
	}
}
