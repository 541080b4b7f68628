package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// testAccProviders serves the provider in-process to the real CLI named by TF_ACC_TERRAFORM_PATH.
var testAccProviders = map[string]func() (tfprotov6.ProviderServer, error){
	typeName: NewServer("test"),
}

// providerOnly is a configuration whose plan makes the CLI validate and configure the provider block.
func providerOnly(block string) string {
	return block + `
data "remoteaccess_client_config" "this" {}
`
}

func TestAccProviderConfig_invalid(t *testing.T) {
	cases := map[string]struct {
		config string
		want   string
	}{
		"bad LDAP URL scheme": {
			config: `provider "remoteaccess" {
  ldap {
    urls          = ["https://dc1.corp.example"]
    bind_username = "svc@corp.example"
  }
}`,
			want: `(?s)Invalid LDAP URL scheme.*urls\s+= \["https://dc1.corp.example"\].*must\s+start\s+with\s+ldaps://`,
		},
		"password together with kerberos keytab": {
			config: `provider "remoteaccess" {
  winrm {
    auth     = "kerberos"
    username = "svc"
    password = "secret"
    kerberos {
      realm  = "CORP.EXAMPLE"
      keytab = "/etc/svc.keytab"
    }
  }
}`,
			want: `(?s)Conflicting Kerberos credentials.*password = "secret".*either\s+the\s+keytab\s+or\s+the\s+password`,
		},
		"plaintext LDAP without opt-in": {
			config: `provider "remoteaccess" {
  ldap {
    urls          = ["ldap://dc1.corp.example"]
    bind_username = "svc@corp.example"
  }
}`,
			want: `(?s)Plaintext LDAP refused.*urls\s+= \["ldap://dc1.corp.example"\].*allow_plaintext\s+=\s+true`,
		},
		"negative timeout": {
			config: `provider "remoteaccess" {
  winrm {
    timeout = "-5s"
  }
}`,
			want: `(?s)Invalid duration.*timeout = "-5s".*must\s+be\s+positive`,
		},
		"empty server name": {
			config: `provider "remoteaccess" {
  servers = ["ras1.corp.example", ""]
}`,
			want: `(?s)Invalid server name.*servers = \["ras1.corp.example", ""\].*Remote\s+Access\s+server\s+2:\s+the\s+name\s+is\s+empty`,
		},
		"basic authentication over HTTP": {
			config: `provider "remoteaccess" {
  winrm {
    use_https = false
    auth      = "basic"
  }
}`,
			want: `(?s)Basic authentication needs HTTPS.*auth\s+= "basic"`,
		},
		"unknown authentication": {
			config: `provider "remoteaccess" {
  winrm {
    auth = "digest"
  }
}`,
			want: `(?s)Invalid authentication method.*got "digest"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      providerOnly(tc.config),
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

func TestAccProviderConfig_valid(t *testing.T) {
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: providerOnly(`provider "remoteaccess" {
  servers = ["ras1.corp.example", "192.0.2.10"]
  winrm {
    username = "CORP\\svc"
    password = "secret"
    timeout  = "2m"
  }
  ldap {
    urls          = ["ldaps://dc1.corp.example", "ldap://dc2.corp.example"]
    start_tls     = false
    allow_plaintext = true
    bind_username = "svc@corp.example"
    bind_password = "secret"
    allowed_search_bases = ["OU=Workstations,DC=corp,DC=example"]
  }
}`),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("data.remoteaccess_client_config.this", "servers.#", "2"),
				resource.TestCheckResourceAttr("data.remoteaccess_client_config.this", "winrm_port", "5986"),
				resource.TestCheckResourceAttr("data.remoteaccess_client_config.this", "winrm_auth", "ntlm"),
				resource.TestCheckResourceAttr("data.remoteaccess_client_config.this", "ldap_urls.#", "2"),
			),
		}},
	})
}

// Kerberos settings from input variables: Terraform validates the provider block before the variables' values are
// known, and a realm not known yet is no missing realm (the walkthrough of the authentication guide found it).
func TestAccProviderConfig_kerberosFromVariables(t *testing.T) {
	krb5Conf := filepath.Join(t.TempDir(), "krb5.conf")
	if err := os.WriteFile(krb5Conf, []byte("[libdefaults]\n  default_realm = CORP.EXAMPLE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: providerOnly(fmt.Sprintf(`variable "realm" {
  type    = string
  default = "CORP.EXAMPLE"
}
provider "remoteaccess" {
  servers = ["ras1.corp.example"]
  winrm {
    username = "CORP\\svc"
    password = "secret"
    auth     = "kerberos"
    kerberos {
      realm     = var.realm
      krb5_conf = %q
    }
  }
}`, krb5Conf)),
			Check: resource.TestCheckResourceAttr("data.remoteaccess_client_config.this", "winrm_auth", "kerberos"),
		}},
	})
}

// resolve runs the settings resolution on a provider block given as a Terraform value, with a fixed environment.
func resolve(t *testing.T, config map[string]tftypes.Value, env map[string]string) (settings, []string) {
	t.Helper()
	ctx := context.Background()
	s := providerSchema()
	typ := s.Type().TerraformType(ctx).(tftypes.Object)
	values := map[string]tftypes.Value{}
	for name, attrType := range typ.AttributeTypes {
		values[name] = tftypes.NewValue(attrType, nil)
	}
	for name, v := range config {
		values[name] = v
	}
	cfg := tfsdk.Config{Schema: s, Raw: tftypes.NewValue(typ, values)}
	var model providerModel
	if diags := cfg.Get(ctx, &model); diags.HasError() {
		t.Fatalf("reading the test configuration: %v", diags)
	}
	got, diags := resolveSettings(model, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	var errs []string
	for _, d := range diags {
		errs = append(errs, d.Summary()+": "+d.Detail())
	}
	return got, errs
}

func TestResolveSettings_defaults(t *testing.T) {
	got, errs := resolve(t, nil, nil)
	if len(errs) > 0 {
		t.Fatalf("unexpected diagnostics: %v", errs)
	}
	w := got.WinRM
	if w.Port != 5986 || !w.UseHTTPS || w.Insecure || w.Auth != authNTLM || w.Timeout != 60*time.Second || w.MaxConcurrency != 4 {
		t.Errorf("WinRM defaults = %+v, want HTTPS on 5986, verified TLS, NTLM, 60s, 4 per server", w)
	}
	if got.LDAP.AllowPlaintext || got.LDAP.Insecure || got.LDAP.Timeout != 30*time.Second {
		t.Errorf("LDAP defaults = %+v, want TLS verified, no plaintext, 30s", got.LDAP)
	}
}

func TestResolveSettings_environmentFallbacks(t *testing.T) {
	got, errs := resolve(t, nil, map[string]string{
		envServers:            "ras1.corp.example, ras2.corp.example",
		envWinRMUseHTTPS:      "false",
		envWinRMUsername:      "CORP\\svc",
		envWinRMPassword:      "from-env",
		envWinRMTimeout:       "90s",
		envLDAPURLs:           "ldaps://dc1.corp.example,ldaps://dc2.corp.example",
		envLDAPBindUsername:   "svc@corp.example",
		envLDAPBindPassword:   "ldap-secret",
		envLDAPAllowPlaintext: "true",
	})
	if len(errs) > 0 {
		t.Fatalf("unexpected diagnostics: %v", errs)
	}
	if strings.Join(got.Servers, " ") != "ras1.corp.example ras2.corp.example" {
		t.Errorf("servers = %q", got.Servers)
	}
	if got.WinRM.Port != 5985 || got.WinRM.Password != "from-env" || got.WinRM.Timeout != 90*time.Second {
		t.Errorf("winrm = port %d, timeout %s; want 5985 (HTTP) and 90s from the environment", got.WinRM.Port, got.WinRM.Timeout)
	}
	if len(got.LDAP.URLs) != 2 || got.LDAP.BindPassword != "ldap-secret" || !got.LDAP.AllowPlaintext {
		t.Errorf("ldap = %+v", got.LDAP)
	}
}

func TestResolveSettings_configOverridesEnvironment(t *testing.T) {
	got, errs := resolve(t, map[string]tftypes.Value{
		"servers": tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{
			tftypes.NewValue(tftypes.String, "ras9.corp.example"),
		}),
	}, map[string]string{envServers: "ras1.corp.example"})
	if len(errs) > 0 {
		t.Fatalf("unexpected diagnostics: %v", errs)
	}
	if len(got.Servers) != 1 || got.Servers[0] != "ras9.corp.example" {
		t.Errorf("servers = %q, want the configured value to win over the environment", got.Servers)
	}
}

func TestResolveSettings_environmentErrorsNameTheVariable(t *testing.T) {
	_, errs := resolve(t, nil, map[string]string{
		envWinRMTimeout:     "soon",
		envServers:          "ras1,,ras2",
		envLDAPURLs:         "ldap://dc1.corp.example",
		envLDAPBindUsername: "svc",
	})
	want := []string{
		`"soon" is not a duration such as "30s" or "2m". (the value comes from the REMOTEACCESS_WINRM_TIMEOUT environment variable)`,
		`Remote Access server 2: the name is empty. (the value comes from the REMOTEACCESS_SERVERS environment variable)`,
		`(the value comes from the REMOTEACCESS_LDAP_URLS environment variable)`,
	}
	all := strings.Join(errs, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("diagnostics do not contain %q:\n%s", w, all)
		}
	}
}

func TestResolveSettings_rejectsBadValues(t *testing.T) {
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	list := func(items ...string) tftypes.Value {
		var vs []tftypes.Value
		for _, i := range items {
			vs = append(vs, str(i))
		}
		return tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, vs)
	}
	cases := map[string]struct {
		servers tftypes.Value
		want    string
	}{
		"port in the name":    {list("ras1.corp.example:5986"), "not a valid host name"},
		"duplicate":           {list("ras1.corp.example", "RAS1.corp.example"), "listed more than once"},
		"shell metacharacter": {list("ras1;calc"), "not a valid host name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, errs := resolve(t, map[string]tftypes.Value{"servers": tc.servers}, nil)
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("diagnostics %q do not contain %q", errs, tc.want)
			}
		})
	}
}

func TestCheckCertificates(t *testing.T) {
	if err := checkCertificates([]byte("not a certificate")); err == nil {
		t.Error("garbage accepted as a CA bundle")
	}
	key := "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIOx7\n-----END PRIVATE KEY-----\n"
	if err := checkCertificates([]byte(key)); err == nil || !strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("a private key in the CA bundle gave %v, want an error naming the block", err)
	}
}
