package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

// The list resources through the real `terraform query` (Terraform 1.14 and later; OpenTofu has no query command).
// Older CLIs skip these tests and say why; `make testacc-tf115` runs them with Terraform 1.15.

// labAttribute reads one attribute of an account straight from the lab's directory, independently of the provider.
func labAttribute(t *testing.T, l *testLab, sam, attribute string) []byte {
	t.Helper()
	res, err := labclient.LDAP(t, l.info).Search(ldap.NewSearchRequest(l.info.BaseDN, ldap.ScopeWholeSubtree,
		ldap.NeverDerefAliases, 2, 0, false, fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(sam)),
		[]string{attribute}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("looking up %s: %v", sam, err)
	}
	return res.Entries[0].GetRawAttributeValue(attribute)
}

// labObjectGUID formats an account's objectGUID as Windows does (the first three groups little-endian).
func labObjectGUID(t *testing.T, l *testLab, sam string) string {
	t.Helper()
	b := labAttribute(t, l, sam, "objectGUID")
	if len(b) != 16 {
		t.Fatalf("%s has a %d-byte objectGUID", sam, len(b))
	}
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8:10], b[10:])
}

// skipBelowQuery is the version check of every test that runs `terraform query`.
var skipBelowQuery = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_14_0)}

// testQuery runs `terraform query` on the list blocks against the lab and checks its results; CLIs older than
// Terraform 1.14 skip it ("below minimum version 1.14.0: skipping test").
func testQuery(t *testing.T, l *testLab, lists string, checks ...querycheck.QueryResultCheck) {
	t.Helper()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		TerraformVersionChecks:   skipBelowQuery,
		Steps:                    []resource.TestStep{{Query: true, Config: l.providerConfig(lists), QueryResultChecks: checks}},
	})
}

func guidIdentity(guid string) map[string]knownvalue.Check {
	return map[string]knownvalue.Check{"object_guid": knownvalue.StringExact(guid)}
}

func TestAccBlockedDevice_queryFindsBlocksMadeByHand(t *testing.T) {
	l := startLab(t)
	// An administrator disabled CLIENT10 by hand; RETIRED1 is disabled in the seed; CLIENT1 stays enabled.
	l.setEnabled(t, "CLIENT10$", false)
	client10, retired1 := labObjectGUID(t, l, "CLIENT10$"), labObjectGUID(t, l, "RETIRED1$")
	byClient10 := queryfilter.ByResourceIdentity(guidIdentity(client10))
	testQuery(t, l, `
list "remoteaccess_blocked_device" "disabled" {
  provider         = remoteaccess
  include_resource = true
}

list "remoteaccess_blocked_device" "first" {
  provider = remoteaccess
  limit    = 1
}

list "remoteaccess_blocked_device" "elsewhere" {
  provider = remoteaccess
  config {
    base = "OU=Laptops,OU=Workstations,`+l.info.BaseDN+`"
  }
}
`,
		// Exactly the two disabled computers: no enabled one, no domain controller.
		querycheck.ExpectLength("remoteaccess_blocked_device.disabled", 2),
		querycheck.ExpectIdentity("remoteaccess_blocked_device.disabled", guidIdentity(client10)),
		querycheck.ExpectIdentity("remoteaccess_blocked_device.disabled", guidIdentity(retired1)),
		querycheck.ExpectResourceDisplayName("remoteaccess_blocked_device.disabled", byClient10,
			knownvalue.StringExact("CLIENT10")),
		querycheck.ExpectResourceKnownValues("remoteaccess_blocked_device.disabled", byClient10,
			[]querycheck.KnownValueCheck{
				{Path: tfjsonpath.New("computer_name"), KnownValue: knownvalue.StringExact("CLIENT10")},
				{Path: tfjsonpath.New("object_guid"), KnownValue: knownvalue.StringExact(client10)},
				{Path: tfjsonpath.New("account_enabled"), KnownValue: knownvalue.Bool(false)},
				// Found, not made, by the provider: destroying it must not re-enable the account.
				{Path: tfjsonpath.New("was_enabled"), KnownValue: knownvalue.Bool(false)},
			}),
		querycheck.ExpectLength("remoteaccess_blocked_device.first", 1),
		// No disabled computer under the laptops' OU.
		querycheck.ExpectLength("remoteaccess_blocked_device.elsewhere", 0),
	)
}

func TestAccBlockedUser_queryLeavesOutCriticalAccounts(t *testing.T) {
	l := startLab(t)
	carol := labObjectGUID(t, l, "carol")
	testQuery(t, l, `
list "remoteaccess_blocked_user" "disabled" {
  provider = remoteaccess
}
`,
		// carol is disabled in the seed; krbtgt is disabled too but is a critical account, never a block.
		querycheck.ExpectLength("remoteaccess_blocked_user.disabled", 1),
		querycheck.ExpectIdentity("remoteaccess_blocked_user.disabled", guidIdentity(carol)),
		querycheck.ExpectResourceDisplayName("remoteaccess_blocked_user.disabled",
			queryfilter.ByResourceIdentity(guidIdentity(carol)), knownvalue.StringExact("carol (Carol Carter)")),
	)
}

// queryCLI returns the CLI of TF_ACC_TERRAFORM_PATH when it runs `terraform query`, and skips the test otherwise,
// saying why. terraform-plugin-testing's query steps cannot write generated configuration, so the tests that need
// `-generate-config-out` drive the CLI themselves.
func queryCLI(t *testing.T) string {
	t.Helper()
	if os.Getenv(resource.EnvTfAcc) == "" {
		t.Skipf("Acceptance tests skipped unless env '%s' set", resource.EnvTfAcc)
	}
	path := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if path == "" {
		t.Fatal("TF_ACC_TERRAFORM_PATH must name the CLI: nothing can be downloaded here")
	}
	out, err := exec.Command(path, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", path, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	product, raw, _ := strings.Cut(first, " v")
	v, err := version.NewVersion(raw)
	if err != nil {
		t.Fatalf("cannot read the version of %s from %q: %v", path, first, err)
	}
	if product != "Terraform" || v.LessThan(version.Must(version.NewVersion("1.14.0"))) {
		t.Skipf("%s %s has no `terraform query -generate-config-out` (Terraform 1.14 and later): skipping test; "+
			"make testacc-tf115 runs it", product, v)
	}
	return path
}

// serveProvider serves the provider in this process until the test ends, the way terraform-plugin-testing does, and
// returns the reattach information that makes the CLI use it instead of installing one.
func serveProvider(t *testing.T) map[string]tfexec.ReattachConfig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	configCh := make(chan *plugin.ReattachConfig, 1)
	closeCh := make(chan struct{})
	serveErr := make(chan error, 1)
	server, err := NewServer("test")()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		serveErr <- tf6server.Serve(Address, func() tfprotov6.ProviderServer { return server },
			tf6server.WithDebug(ctx, configCh, closeCh), tf6server.WithLoggingSink(t),
			tf6server.WithGoPluginLogger(hclog.NewNullLogger()))
	}()
	t.Cleanup(func() {
		cancel()
		<-closeCh
	})
	select {
	case cfg := <-configCh:
		return map[string]tfexec.ReattachConfig{Address: {
			Protocol: string(cfg.Protocol), ProtocolVersion: cfg.ProtocolVersion, Pid: cfg.Pid, Test: cfg.Test,
			Addr: tfexec.ReattachConfigAddr{Network: cfg.Addr.Network(), String: cfg.Addr.String()},
		}}
	case err := <-serveErr:
		t.Fatalf("serving the provider: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the provider server did not start within 30 s")
	}
	return nil
}

// planActions plans dir and returns each resource change's actions and whether it imports, by address.
func planActions(ctx context.Context, t *testing.T, tf *tfexec.Terraform, reattach tfexec.ReattachInfo) map[string]*tfjson.ResourceChange {
	t.Helper()
	planFile := filepath.Join(tf.WorkingDir(), "tfplan")
	if _, err := tf.Plan(ctx, tfexec.Reattach(reattach), tfexec.Out(planFile)); err != nil {
		t.Fatalf("terraform plan: %v", err)
	}
	plan, err := tf.ShowPlanFile(ctx, planFile, tfexec.Reattach(reattach))
	if err != nil {
		t.Fatalf("terraform show: %v", err)
	}
	changes := map[string]*tfjson.ResourceChange{}
	for _, rc := range plan.ResourceChanges {
		changes[rc.Address] = rc
	}
	return changes
}

// changedAttributes lists the top-level attributes whose planned value differs from the prior one, as "name: a -> b".
// changedAttributes lists the attributes a planned change changes, by name, and says how ("name: before -> after").
func changedAttributes(c *tfjson.Change) (names []string, how string) {
	before, _ := c.Before.(map[string]any)
	after, _ := c.After.(map[string]any)
	unknown, _ := c.AfterUnknown.(map[string]any)
	var changed []string
	for name, b := range before {
		a, _ := json.Marshal(after[name])
		if u, ok := unknown[name].(bool); ok && u {
			a = []byte("(known after apply)")
		}
		if was, _ := json.Marshal(b); string(was) != string(a) {
			names = append(names, name)
			changed = append(changed, fmt.Sprintf("%s: %s -> %s", name, was, a))
		}
	}
	slices.Sort(names)
	slices.Sort(changed)
	return names, strings.Join(changed, "; ")
}

func TestAccBlockedDevice_queryGeneratesConfigurationThatPlansClean(t *testing.T) {
	cli := queryCLI(t)
	l := startLab(t)
	l.setEnabled(t, "CLIENT10$", false)
	// The apply that imports a block also writes the provider's block record on the account (hold_id) and purges
	// every server, which the block made by hand never did: what it finds and does is known after it; no argument
	// changes.
	holds := testGeneratedConfig(t, cli, l, "remoteaccess_blocked_device", "computer_name", map[string]string{
		labObjectGUID(t, l, "CLIENT10$"): "CLIENT10", labObjectGUID(t, l, "RETIRED1$"): "RETIRED1",
	}, "blocked_at", "held_certificates", "hold_id", "identities", "pending_certificate_authorities",
		"pending_revocation_flush", "pending_servers", "purged")
	for name, hold := range holds {
		if l.accountEnabled(t, name+"$") {
			t.Errorf("%s was enabled by the import", name)
		}
		info := string(labAttribute(t, l, name+"$", "info"))
		if hold == "" || !strings.Contains(info, "-----BEGIN remoteaccess-block/v2-----\nprior=disabled") || !strings.Contains(info, "hold id="+hold+" ") {
			t.Errorf("%s: hold_id %q, but the account's block record is %q", name, hold, info)
		}
	}
}

func TestAccBlockedUser_queryGeneratesConfigurationThatPlansClean(t *testing.T) {
	cli := queryCLI(t)
	l := startLab(t)
	// Without block records, the generated configuration plans as an import whose apply purges every server, and
	// writes no record.
	t.Setenv("REMOTEACCESS_LDAP_RECORD_BLOCKS", "false")
	testGeneratedConfig(t, cli, l, "remoteaccess_blocked_user", "user_name", map[string]string{
		labObjectGUID(t, l, "carol"): "carol",
	}, "blocked_at", "identities", "pending_servers", "purged")
	if l.accountEnabled(t, "carol") {
		t.Error("carol was enabled by the import")
	}
	if info := string(labAttribute(t, l, "carol", "info")); strings.Contains(info, "remoteaccess-block") {
		t.Errorf("carol has a block record although record_blocks is false: %q", info)
	}
}

// testGeneratedConfig runs `terraform query -generate-config-out` on the list resource typeName against the lab and
// checks that it writes an import block by identity and a resource block for exactly the accounts in want (object
// GUID to the name in nameAttr), that this configuration plans as imports that change no attribute but the computed
// ones in wantChanged (none: a plain import), and that after the apply the next plan is empty. It returns the
// imported blocks' hold_id by name.
func testGeneratedConfig(t *testing.T, cli string, l *testLab, typeName, nameAttr string, want map[string]string,
	wantChanged ...string,
) map[string]string {
	t.Helper()
	reattach := serveProvider(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	dir := t.TempDir()
	tf, err := tfexec.NewTerraform(dir, cli)
	if err != nil {
		t.Fatal(err)
	}
	main := `terraform {
  required_providers {
    remoteaccess = {
      source = "remoteaccess-iac/remoteaccess"
    }
  }
}
` + l.providerConfig("")
	query := fmt.Sprintf(`list %q "by_hand" {
  provider         = remoteaccess
  include_resource = true
}
`, typeName)
	for name, text := range map[string]string{"main.tf": main, "blocks.tfquery.hcl": query} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := tf.Init(ctx, tfexec.Reattach(reattach)); err != nil {
		t.Fatalf("terraform init: %v", err)
	}

	generated := filepath.Join(dir, "generated.tf")
	messages, err := tf.QueryJSON(ctx, tfexec.Reattach(reattach), tfexec.GenerateConfigOut(generated))
	if err != nil {
		t.Fatalf("terraform query: %v", err)
	}
	for m := range messages {
		if m.Err != nil {
			t.Fatalf("terraform query: %v", m.Err)
		}
		if m.Msg != nil && m.Msg.Level() == tfjson.Error {
			t.Fatalf("terraform query: %s", m.Msg.Message())
		}
	}
	text, err := os.ReadFile(generated)
	if err != nil {
		t.Fatalf("terraform query -generate-config-out wrote nothing: %v", err)
	}
	t.Logf("generated configuration:\n%s", text)
	var names []string
	for guid, name := range want {
		names = append(names, name)
		if !regexp.MustCompile(`(?s)import\s*\{[^}]*identity\s*=\s*\{\s*object_guid\s*=\s*"` + guid + `"`).Match(text) {
			t.Errorf("no import block with identity object_guid = %q (%s)", guid, name)
		}
		if !regexp.MustCompile(nameAttr + `\s*=\s*"` + regexp.QuoteMeta(name) + `"`).Match(text) {
			t.Errorf("no resource block with %s = %q", nameAttr, name)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^resource "`+typeName+`"`).FindAll(text, -1)); n != len(want) {
		t.Errorf("%d resource blocks generated, want %d", n, len(want))
	}

	// The generated configuration plans as imports and nothing else: no argument changes, no replacement.
	changes := planActions(ctx, t, tf, reattach)
	if len(changes) != len(want) {
		t.Errorf("the plan changes %d resources, want the %d imports", len(changes), len(want))
	}
	for addr, rc := range changes {
		changed, how := changedAttributes(rc.Change)
		wantAction := rc.Change.Actions.NoOp()
		if len(wantChanged) > 0 {
			wantAction = rc.Change.Actions.Update()
		}
		if rc.Change.Importing == nil || !wantAction || !slices.Equal(changed, wantChanged) {
			t.Errorf("%s: actions %v, importing %v, changed %q; want an import that changes %q", addr,
				rc.Change.Actions, rc.Change.Importing, how, wantChanged)
		}
	}
	if t.Failed() {
		return nil
	}
	if err := tf.Apply(ctx, tfexec.Reattach(reattach)); err != nil {
		t.Fatalf("terraform apply: %v", err)
	}
	hasChanges, err := tf.Plan(ctx, tfexec.Reattach(reattach))
	if err != nil || hasChanges {
		t.Errorf("after the import the plan is not empty (changes %v, error %v)", hasChanges, err)
	}
	state, err := tf.Show(ctx, tfexec.Reattach(reattach))
	if err != nil {
		t.Fatal(err)
	}
	var imported []string
	holds := map[string]string{}
	for _, r := range state.Values.RootModule.Resources {
		name := fmt.Sprint(r.AttributeValues[nameAttr])
		imported = append(imported, name)
		holds[name], _ = r.AttributeValues["hold_id"].(string)
	}
	slices.Sort(imported)
	slices.Sort(names)
	if !slices.Equal(imported, names) {
		raw, _ := json.Marshal(state.Values.RootModule.Resources)
		t.Errorf("state holds %v, want %v: %s", imported, names, raw)
	}
	return holds
}
