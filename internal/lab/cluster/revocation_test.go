package cluster

import (
	"strings"
	"testing"
)

// revocation_enforcement in a seed: the servers' settings, validated against the nodes and the documented levels.
func TestSeedRevocationEnforcement(t *testing.T) {
	const base = `{"domain": {"dns_name": "corp.example", "netbios_name": "CORP"}, "nodes": ["RAS1", "RAS2"],
		"directaccess": [], "vpn": [], "revocation_enforcement": %s}`
	seed, err := ParseSeed([]byte(strings.Replace(base, "%s", `{"ras1": {"cert_auth_flags": 4, "cert_validation_level": "RequireCrlCheck"}}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(seed.Options())
	if err != nil {
		t.Fatal(err)
	}
	if st := c.revocationOf("RAS1"); st == nil || st.settings.CertAuthFlags == nil || *st.settings.CertAuthFlags != 4 ||
		st.settings.level() != validationRequire {
		t.Fatalf("RAS1's settings %+v", st)
	}
	if st := c.revocationOf("RAS2"); st == nil || st.settings.CertAuthFlags != nil || st.settings.level() != validationNone {
		t.Fatalf("RAS2, not listed, enforces something: %+v", st)
	}
	for name, enforcement := range map[string]string{
		"unknown server": `{"RAS9": {}}`,
		"unknown level":  `{"RAS1": {"cert_validation_level": "Strict"}}`,
		"unknown field":  `{"RAS1": {"cert_auth_flag": 4}}`,
	} {
		if _, err := ParseSeed([]byte(strings.Replace(base, "%s", enforcement, 1))); err == nil {
			t.Errorf("%s: the seed was accepted", name)
		}
	}
	if c.SetRevocationEnforcement("RAS1", ServerEnforcement{CertValidationLevel: "Strict"}) {
		t.Error("SetRevocationEnforcement accepted an unknown level")
	}
}
