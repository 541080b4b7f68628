package cluster

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
)

func TestExecutorFailsLoudlyOnWhatItWasNotTaught(t *testing.T) {
	l := newLab(t)
	valid := payload(t, "get-nodes/v1", map[string]any{})
	tests := []struct {
		name      string
		server    string
		bootstrap string
		stdin     []byte
		category  string
	}{
		{"not the bootstrap", "RAS1", "Get-Process", valid, "NotImplemented"},
		{"no -EncodedCommand", "RAS1", "", valid, "NotImplemented"},
		{"unknown script", "RAS1", testBootstrap, payload(t, "format-disk/v1", map[string]any{}), "NotImplemented"},
		{"script without identifier", "RAS1", testBootstrap, []byte("Get-NlbClusterNode" + payloadSeparator + "e30="), "NotImplemented"},
		{"no separator", "RAS1", testBootstrap, []byte("# remoteaccess-script: get-nodes/v1\ne30="), "InvalidArgument"},
		{"input not base64", "RAS1", testBootstrap, []byte("# remoteaccess-script: get-nodes/v1\n" + payloadSeparator + "{}"), "InvalidArgument"},
		{"input not JSON", "RAS1", testBootstrap, []byte("# remoteaccess-script: get-nodes/v1\n" + payloadSeparator + "bm90IGpzb24="), "InvalidArgument"},
		{"misspelt field", "RAS1", testBootstrap, payload(t, "purge-device/v1", map[string]any{"identity": "CORP\\CLIENT1$"}), "InvalidArgument"},
		{"unknown server", "RAS9", testBootstrap, valid, "ObjectNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := l.Executor(tt.server).Execute(context.Background(), wsman.ExecRequest{EncodedScript: tt.bootstrap, Stdin: tt.stdin})
			var doc outputDoc
			if err := json.Unmarshal(res.Stdout, &doc); err != nil {
				t.Fatalf("stdout %q: %v", res.Stdout, err)
			}
			if res.ExitCode != 1 || doc.Error == nil || doc.Error.Category != tt.category || doc.Error.Message == "" {
				t.Errorf("exit %d, output %s; want exit 1 and a %s error", res.ExitCode, res.Stdout, tt.category)
			}
		})
	}
}

func TestExecutorWritesOneJSONDocumentLikeConvertToJSON(t *testing.T) {
	l := newLab(t)
	res := l.Executor("RAS1").Execute(context.Background(), wsman.ExecRequest{EncodedScript: testBootstrap, Stdin: payload(t, "get-nodes/v1", map[string]any{})})
	out := string(res.Stdout)
	if res.ExitCode != 0 || !strings.HasPrefix(out, `{"result":{"nodes":[`) || !strings.HasSuffix(out, "}\r\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("exit %d, stdout %q; want one compressed {\"result\":...} line", res.ExitCode, out)
	}
}

func TestDirectoryFailureIsReported(t *testing.T) {
	l := newLab(t)
	succeed[purgeResult](t, l, "RAS1", "purge-device/v1", map[string]any{"identities": []string{`CORP\CLIENT1$`}})
	l.clock.Advance(testDelay)
	l.dir.err = errDirectoryDown
	e := fail(t, l, "RAS1", "get-ipsec-sas/v1", map[string]any{})
	if e.Category != "ResourceUnavailable" || !strings.Contains(e.Message, "directory is down") {
		t.Errorf("get-ipsec-sas with the directory down: %+v", e)
	}
}

func TestSeedValidation(t *testing.T) {
	tests := map[string]string{
		"unknown field":   `{"nodes":["RAS1"],"nodez":[]}`,
		"no nodes":        `{"nodes":[]}`,
		"repeated node":   `{"nodes":["RAS1","ras1"]}`,
		"unknown server":  `{"domain":{"dns_name":"corp.example","netbios_name":"CORP"},"nodes":["RAS1"],"directaccess":[{"computer":"C1","servers":["RAS2"],"transition_technology":"IPHTTPS"}]}`,
		"bad technology":  `{"domain":{"dns_name":"corp.example","netbios_name":"CORP"},"nodes":["RAS1"],"directaccess":[{"computer":"C1","servers":["RAS1"],"transition_technology":"Carrier pigeon"}]}`,
		"user and device": `{"domain":{"dns_name":"corp.example","netbios_name":"CORP"},"nodes":["RAS1"],"vpn":[{"user":"bob","computer":"C1","server":"RAS1"}]}`,
		"no domain":       `{"nodes":["RAS1"],"vpn":[{"user":"bob","server":"RAS1"}]}`,
		"bad tunnel type": `{"domain":{"dns_name":"corp.example","netbios_name":"CORP"},"nodes":["RAS1"],"vpn":[{"user":"bob","server":"RAS1","tunnel_type":"IKEv3"}]}`,
		"bad sa identity": `{"domain":{"dns_name":"corp.example","netbios_name":"CORP"},"nodes":["RAS1"],"directaccess":[{"computer":"C1","servers":["RAS1"],"transition_technology":"Teredo","sa_identity":"guess"}]}`,
		"revoked user":    `{"domain":{"dns_name":"corp.example","netbios_name":"CORP"},"nodes":["RAS1"],"vpn":[{"user":"bob","server":"RAS1","certificate_revoked":true}]}`,
	}
	for name, seed := range tests {
		if _, err := ParseSeed([]byte(seed)); err == nil {
			t.Errorf("%s: ParseSeed accepted %s", name, seed)
		}
	}
}
