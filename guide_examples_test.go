package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
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

// guideCLI is the real Terraform CLI with a development override to the provider built from this tree, for running
// the guides' example configurations as a user would.
type guideCLI struct {
	path, rc string
}

func newGuideCLI(t *testing.T) guideCLI {
	t.Helper()
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
	return guideCLI{path: cli, rc: rc}
}

// run runs the CLI in dir and returns its output without colours.
func (c guideCLI) run(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command(c.path, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "TF_CLI_CONFIG_FILE="+c.rc, "CHECKPOINT_DISABLE=1"), env...)
	out, err := cmd.CombinedOutput()
	return stripColor(string(out)), err
}

// copyExample copies the files of examples/guides/NAME into a new directory, with the CA certificate the
// configurations read from a file next to them.
func copyExample(t *testing.T, name string, caPEM []byte) string {
	t.Helper()
	src := filepath.Join("examples", "guides", name)
	work := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(work, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "corp-root-ca.pem"), caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return work
}

// labOverride is an override file that points an example's provider block at the lab, and the environment that
// carries the lab's passwords, as a pipeline's secrets would.
func labOverride(info lab.Info) (string, []string) {
	servers := make([]string, len(info.ServerAddresses))
	protected := make([]string, len(info.Servers))
	for i, s := range info.ServerAddresses {
		servers[i] = strconv.Quote(s)
	}
	// The lab's addresses have no DNS names: protected_computers names each server's account (ADDRESS=NAME).
	for i, s := range info.Servers {
		protected[i] = strconv.Quote(s.Address + "=" + s.Name)
	}
	override := fmt.Sprintf(`provider "remoteaccess" {
  servers             = [%s]
  protected_computers = [%s]
  certificate_authorities = [{ config = %q, host = %s }]
  winrm {
    port           = %d
    ca_certificate = file("corp-root-ca.pem")
    username       = %q
  }
  ldap {
    urls           = [%q]
    ca_certificate = file("corp-root-ca.pem")
    bind_username  = %q
  }
}
`, strings.Join(servers, ", "), strings.Join(protected, ", "), info.CertificateAuthority, servers[0], info.WinRMPort, info.WinRMUsername, info.LDAPSURL, info.LDAPBindUsername)
	return override, []string{"REMOTEACCESS_WINRM_PASSWORD=" + info.WinRMPassword, "REMOTEACCESS_LDAP_BIND_PASSWORD=" + info.LDAPBindPassword}
}

// The guides' worked workflows (examples/guides/*) are complete configurations that the real Terraform CLI accepts:
// every attribute they set exists with the type they give it, and every expression evaluates. A pipeline script
// next to one is valid bash.
func TestAccGuideExamplesValidate(t *testing.T) {
	t.Parallel()
	cli := newGuideCLI(t)
	dirs, err := filepath.Glob(filepath.Join("examples", "guides", "*"))
	if err != nil || len(dirs) < 4 {
		t.Fatalf("want the first plan and the workflows under examples/guides, got %v (%v)", dirs, err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			scripts, _ := filepath.Glob(filepath.Join(dir, "*.sh"))
			for _, script := range scripts {
				if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
					t.Errorf("%s: %v\n%s", script, err, out)
				}
			}
			work := copyExample(t, filepath.Base(dir), testCACertificate(t))
			out, err := cli.run(work, nil, "validate", "-no-color")
			if err != nil || !strings.Contains(out, "The configuration is valid") {
				t.Errorf("terraform validate in %s: %v\n%s", dir, err, out)
			}
		})
	}
}

// The workflows plan what the guide says against the lab: the configurations as they are, with an override file
// (lab_override.tf) that points their provider block at the lab. An emergency block shows its impact as a warning,
// a trip under way blocks the user and a trip that is over does not, a maintenance window shows the sessions that
// will move, and the first plan reads the servers' readiness and the nodes.
func TestAccGuideWorkflowsPlanAgainstTheLab(t *testing.T) {
	t.Parallel()
	cli := newGuideCLI(t)
	l, err := lab.Start(lab.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	info := l.Info()
	override, env := labOverride(info)

	hour := func(h int) string { return time.Now().UTC().Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	cases := []struct {
		example  string
		vars     []string
		want     []string
		dontWant string // the plan must not say this, when set
		wantErr  bool
	}{
		{"first-plan", nil, []string{"RAS1", "RAS2", "connections", "readiness", `"ready"`}, "not_ready", false},
		{"emergency-device-block", []string{`lost_devices={"CLIENT1"={ticket="INC-1",reason="stolen"}}`},
			[]string{"Warning: Impact of blocking CLIENT1", "main-mode", "1 to add"}, "", false},
		{"travelling-user", []string{fmt.Sprintf(`trips={"alice"={from=%q,until=%q,ticket="T-1"}}`, hour(-1), hour(1))},
			[]string{`remoteaccess_blocked_user.travelling["alice"] will be created`, "1 to add"}, "", false},
		{"travelling-user", []string{fmt.Sprintf(`trips={"alice"={from=%q,until=%q,ticket="T-1"}}`, hour(-48), hour(-24))},
			[]string{"blocked_while_travelling = []"}, "will be created", false},
		// The lab's servers do not enforce revocation: the example refuses the hold, or warns with the command.
		{"lost-aovpn-laptop", []string{`travelling_users={"bob"="T-1"}`, `lost_laptops={"CLIENT2"="INC-1"}`},
			[]string{"Error: Revocation is not enforced on every Remote Access server", "CertAuthFlags"}, "", true},
		{"lost-aovpn-laptop", []string{`travelling_users={"bob"="T-1"}`, `lost_laptops={"CLIENT2"="INC-1"}`, "require_revocation_enforcement=false"},
			[]string{"Warning: Certificates of CLIENT2", "AOVPNDeviceTunnel", "Warning: Dial-in deny of bob",
				"Warning: Revocation is not enforced on every Remote Access server: the hold does not stop the device there", "Set-NetFirewallSetting", "2 to add"}, "", false},
		// The lab has two nodes; the example keeps two of three in rotation, which the plan refuses here.
		{"maintenance-window", []string{"node=RAS2"}, []string{"Error: Draining this node leaves too few nodes in rotation"}, "", true},
		{"maintenance-window", []string{"node=RAS2", "min_nodes_in_rotation=1"},
			[]string{"Warning: Draining RAS2: sessions that will move", "1 to add"}, "", false},
	}
	for _, tc := range cases {
		work := copyExample(t, tc.example, []byte(info.CACertificatePEM))
		if err := os.WriteFile(filepath.Join(work, "lab_override.tf"), []byte(override), 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"plan", "-no-color", "-input=false"}
		for _, v := range tc.vars {
			args = append(args, "-var", v)
		}
		out, err := cli.run(work, env, args...)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s %v: terraform plan: %v (want an error: %v)\n%s", tc.example, tc.vars, err, tc.wantErr, out)
			continue
		}
		if tc.dontWant != "" && strings.Contains(out, tc.dontWant) {
			t.Errorf("%s %v: the plan says %q:\n%s", tc.example, tc.vars, tc.dontWant, out)
		}
		for _, want := range tc.want {
			if !strings.Contains(out, want) {
				t.Errorf("%s %v: the plan lacks %q:\n%s", tc.example, tc.vars, want, out)
			}
		}
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

// A mass incident's plan shows the impact of the first blocks only: the emergency-device-block example with more
// lost devices than the provider previews shows maxImpactPreviews previews, one warning that they stop, and every
// block to add. Each preview waits for a poll of every server, again in the apply's plan of each block.
func TestAccMassIncidentPlanBoundsTheImpactPreviews(t *testing.T) {
	t.Parallel()
	cli := newGuideCLI(t)
	const devices, previews = 24, 20 // previews: internal/provider's maxImpactPreviews
	dir, _, err := lab.DefaultSeeds()
	if err != nil {
		t.Fatal(err)
	}
	lost := make([]string, devices)
	for i := range devices {
		name := fmt.Sprintf("MASS%02d", i)
		dir.Computers = append(dir.Computers, ldapserver.Computer{Name: name, Container: "OU=Workstations", OperatingSystem: "Windows 11 Enterprise"})
		lost[i] = fmt.Sprintf(`%s={ticket="INC-9",reason="OU compromised"}`, name)
	}
	seed := filepath.Join(t.TempDir(), "seed.json")
	data, err := json.Marshal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seed, data, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := lab.Start(lab.Config{DirectorySeed: seed, ClusterSeed: filepath.Join("internal", "lab", "testdata", "cluster.json")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	override, env := labOverride(l.Info())
	work := copyExample(t, "emergency-device-block", []byte(l.Info().CACertificatePEM))
	if err := os.WriteFile(filepath.Join(work, "lab_override.tf"), []byte(override), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := cli.run(work, env, "plan", "-no-color", "-input=false", "-var", "lost_devices={"+strings.Join(lost, ",")+"}")
	if err != nil {
		t.Fatalf("terraform plan: %v\n%s", err, out)
	}
	if n := strings.Count(out, "Warning: Impact of blocking MASS"); n != previews {
		t.Errorf("the plan shows %d impact previews, want %d:\n%s", n, previews, out)
	}
	if n := strings.Count(out, "Warning: Impact previews stop here"); n != 1 {
		t.Errorf("the plan says %d times that the previews stop, want once:\n%s", n, out)
	}
	if want := fmt.Sprintf("%d to add", devices); !strings.Contains(out, want) {
		t.Errorf("the plan lacks %q:\n%s", want, out)
	}
}
