package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
)

// A seed's readiness entry breaks assumptions on the server it names only; the other server answers the healthy
// defaults of WINDOWS.md, Readiness.
func TestSeedBreaksReadinessPerServer(t *testing.T) {
	base, err := os.ReadFile("testdata/cluster.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	doc["readiness"] = map[string]any{"RAS2": map[string]any{
		"build": 26100, "hidden_commands": []string{"Stop-NlbClusterNode"}, "sa_identity_shape": "string",
		"allow_remote_shell_access": false, "ikev2_cert_auth_flags": -1,
	}}
	data, _ := json.Marshal(doc)
	seed, err := ParseSeed(data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(seed.Options())
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../../remoteaccess/scripts/get-readiness.ps1")
	if err != nil {
		t.Fatal(err)
	}
	ask := func(server string) map[string]any {
		input := base64.StdEncoding.EncodeToString([]byte(`{"commands":["Stop-NlbClusterNode","Get-NlbCluster"]}`))
		res := c.Executor(server).Execute(context.Background(), wsman.ExecRequest{Server: server,
			EncodedScript: bootstrapLine + "\n", Stdin: []byte(string(script) + payloadSeparator + input)})
		var out struct {
			Result map[string]any `json:"result"`
		}
		if err := json.Unmarshal(res.Stdout, &out); err != nil || res.ExitCode != 0 {
			t.Fatalf("%s: exit %d, %s", server, res.ExitCode, res.Stdout)
		}
		return out.Result
	}
	broken, healthy := ask("RAS2"), ask("RAS1")
	checks := []struct {
		name      string
		got, want any
	}{
		{"RAS2 build", broken["windows"].(map[string]any)["build"], 26100.0},
		{"RAS2 Stop-NlbClusterNode", broken["commands"].([]any)[0].(map[string]any)["available"], false},
		{"RAS2 Get-NlbCluster", broken["commands"].([]any)[1].(map[string]any)["available"], true},
		{"RAS2 SA shape", broken["sa_identity"].(map[string]any)["shape"], "string"},
		{"RAS2 AllowRemoteShellAccess", broken["winrm"].(map[string]any)["allow_remote_shell_access"], "false"},
		{"RAS2 CertAuthFlags", broken["ikev2_cert_auth_flags"], nil},
		{"RAS1 build", healthy["windows"].(map[string]any)["build"], 20348.0},
		{"RAS1 Stop-NlbClusterNode", healthy["commands"].([]any)[0].(map[string]any)["available"], true},
		{"RAS1 MaxShellsPerUser", healthy["winrm"].(map[string]any)["max_shells_per_user"], "5"},
		{"RAS1 CertAuthFlags", healthy["ikev2_cert_auth_flags"], 4.0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got := maskIdentity(`CORP\CLIENT1$`); got != `C**P\C******$` {
		t.Errorf("maskIdentity = %q", got)
	}
}
