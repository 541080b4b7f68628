package remoteaccess

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/contract"
)

// The lab answers every script with the documents CONTRACT.md describes, and reads the inputs the Go side sends
// strictly (an unknown field is an error there): the third side of the contract.
func TestLabAnswersTheContract(t *testing.T) {
	seed, err := cluster.LoadSeed("../lab/cluster/testdata/cluster.json")
	if err != nil {
		t.Fatal(err)
	}
	lab, err := cluster.New(seed.Options())
	if err != nil {
		t.Fatal(err)
	}
	client2 := []string{`CORP\CLIENT2$`, "client2.corp.example"}
	inputs := []struct {
		script string
		server string
		input  any
	}{
		{"get-nodes/v1", "RAS1", struct{}{}},
		{"get-connections/v1", "RAS2", ConnectionFilter{}},
		{"get-ipsec-sas/v1", "RAS2", identitiesInput{Identities: client2, Device: true}},
		{"purge-device/v1", "RAS2", purgeDeviceInput{Identities: client2, ComputerName: "CLIENT2", DisconnectVPN: true}},
		{"purge-devices/v1", "RAS2", purgeDevicesInput{Devices: []purgeDeviceInput{
			{Identities: client2, ComputerName: "CLIENT2", DisconnectVPN: true}, {Identities: []string{`CORP\CLIENT1$`}},
		}, Look: &identitiesInput{Identities: []string{`CORP\CLIENT3$`}, Device: true}}},
		{"purge-user/v1", "RAS2", purgeUserInput{Identities: []string{`CORP\carol`}}},
		{"disconnect-vpn/v1", "RAS2", ByUser(`CORP\bob`)},
		{"stop-computer/v1", "RAS1", stopComputerInput{ComputerName: "client1.corp.example", Credential: &Credential{UserName: `CORP\admin`, Password: "x"}}},
		{"drain-node/v1", "RAS1", drainInput{NodeName: "RAS1", TimeoutSeconds: 1}},
		{"resume-node/v1", "RAS1", map[string]any{"node_name": "RAS1"}},
		{"disconnect-vpn-users/v1", "RAS2", VPNSelection{UserNames: []string{`CORP\bob`}}},
		{"purge-sas/v1", "RAS1", SASelection{Identities: []string{`CORP\CLIENT1$`}}},
		{"get-readiness/v1", "RAS1", readinessInput{Commands: ProviderCommands()}},
	}
	sections := parseContract(t)
	for _, s := range Scripts() {
		i := slices.IndexFunc(inputs, func(in struct {
			script string
			server string
			input  any
		}) bool {
			return in.script == s.Name
		})
		if i < 0 {
			t.Errorf("%s: no sample input", s.Name)
			continue
		}
		data, err := json.Marshal(inputs[i].input)
		if err != nil {
			t.Fatal(err)
		}
		res := lab.Executor(inputs[i].server).Execute(context.Background(), wsman.ExecRequest{
			Server: inputs[i].server, EncodedScript: "# remoteaccess-bootstrap/v1\n",
			Stdin: []byte(s.Text + "\x00\x00\x00\x00" + base64.StdEncoding.EncodeToString(data)),
		})
		var doc struct {
			Result map[string]any `json:"result"`
			Error  any            `json:"error"`
		}
		if err := json.Unmarshal(res.Stdout, &doc); err != nil || res.ExitCode != 0 || doc.Error != nil {
			t.Errorf("%s in the lab: exit %d, %s", s.Name, res.ExitCode, res.Stdout)
			continue
		}
		documented := sections[s.Name].Output
		got := contract.OutputPaths(doc.Result, "")
		for _, p := range got {
			// An empty list of objects shows only its name: it must be a documented list; a null object likewise.
			list := slices.ContainsFunc(documented, func(d string) bool { return strings.HasPrefix(d, p+"[].") || strings.HasPrefix(d, p+".") })
			// An object of strings (remote_access, errors) is documented by its own name.
			object := slices.ContainsFunc(documented, func(d string) bool { return strings.HasPrefix(p, d+".") })
			if !slices.Contains(documented, p) && !list && !object {
				t.Errorf("%s: the lab answers %q, which CONTRACT.md does not document", s.Name, p)
			}
		}
		_, top := contract.Segments(documented)
		for _, k := range slices.Compact(top) {
			if _, ok := doc.Result[k]; !ok {
				t.Errorf("%s: the lab's answer lacks %q", s.Name, k)
			}
		}
	}
}
