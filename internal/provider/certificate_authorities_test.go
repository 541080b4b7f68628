package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func caList(t *testing.T, items ...[2]string) types.List {
	t.Helper()
	typ := map[string]attr.Type{"config": types.StringType, "host": types.StringType}
	var values []attr.Value
	for _, it := range items {
		host := types.StringNull()
		if it[1] != "" {
			host = types.StringValue(it[1])
		}
		values = append(values, types.ObjectValueMust(typ, map[string]attr.Value{"config": types.StringValue(it[0]), "host": host}))
	}
	return types.ListValueMust(types.ObjectType{AttrTypes: typ}, values)
}

func noEnv(string) (string, bool) { return "", false }

// certificate_authorities: the host defaults to the config's; a config without a CA name, a bad host and a
// duplicate are errors at plan time.
func TestCertificateAuthoritiesSettings(t *testing.T) {
	s, diags := resolveSettings(providerModel{CertificateAuthorities: caList(t,
		[2]string{`ca1.corp.example\Corp Issuing CA`, ""}, [2]string{`ca2.corp.example\Second CA`, "mgmt1.corp.example"})}, noEnv)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if len(s.CertificateAuthorities) != 2 || s.CertificateAuthorities[0].Host != "ca1.corp.example" ||
		s.CertificateAuthorities[1].Host != "mgmt1.corp.example" {
		t.Fatalf("settings %+v", s.CertificateAuthorities)
	}
	for name, c := range map[string]struct {
		list types.List
		want string
	}{
		"no CA name": {caList(t, [2]string{"ca1.corp.example", ""}), "Invalid certificate authority"},
		"bad host":   {caList(t, [2]string{`ca1.corp.example\CA`, "ca1:5986"}), "Invalid certificate authority host"},
		"duplicate":  {caList(t, [2]string{`ca1\CA`, ""}, [2]string{`CA1\ca`, ""}), "Duplicate certificate authority"},
	} {
		_, diags := resolveSettings(providerModel{CertificateAuthorities: c.list}, noEnv)
		if !diags.HasError() || !strings.Contains(diags.Errors()[0].Summary(), c.want) {
			t.Errorf("%s: %v; want %q", name, diags, c.want)
		}
	}
}
