package remoteaccess

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// fakeRunner records what it is asked to run and answers with a canned result.
type fakeRunner struct {
	mu     sync.Mutex
	calls  []fakeCall
	result func(script string) (string, error) // JSON of the result object
	// resultCtx, when set, is used instead of result: a runner that ends when the run is cancelled, as WinRM's does.
	resultCtx func(ctx context.Context, script string) (string, error)
}

type fakeCall struct {
	script string
	input  string
}

func (f *fakeRunner) Run(ctx context.Context, s winrm.Script, input, output any) error {
	data, err := json.Marshal(input)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{script: s.Name, input: string(data)})
	f.mu.Unlock()
	var res string
	if f.resultCtx != nil {
		res, err = f.resultCtx(ctx, s.Name)
	} else {
		res, err = f.result(s.Name)
	}
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(res), output)
}

// Check fails as the runner's scripts do.
func (f *fakeRunner) Check(context.Context) error {
	_, err := f.result("")
	return err
}

func (f *fakeRunner) sent() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

func answer(res string) *fakeRunner {
	return &fakeRunner{result: func(string) (string, error) { return res, nil }}
}

func TestEveryScriptIsEmbeddedAndIdentified(t *testing.T) {
	files, err := filepath.Glob("scripts/*.ps1")
	if err != nil {
		t.Fatal(err)
	}
	scripts := Scripts()
	if len(scripts) != len(files) || len(scripts) != 13 {
		t.Fatalf("%d scripts registered, %d files; want the 13 operations (the readiness read and the batched purge included), each once", len(scripts), len(files))
	}
	for _, s := range scripts {
		file := "scripts/" + strings.TrimSuffix(s.Name, "/v1") + ".ps1"
		data, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		text := string(data)
		for _, must := range []string{"param([string]$InputJson)", "$ErrorActionPreference = 'Stop'", "ConvertTo-Json -Compress -Depth 8", "exit 1", "https://learn.microsoft.com/"} {
			if !strings.Contains(text, must) {
				t.Errorf("%s does not contain %q", file, must)
			}
		}
	}
}

func TestOperationsSendTheContractInput(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		op     func(Runner) error
		script string
		input  string
	}{
		{"get nodes", func(r Runner) error { _, err := GetNodes(ctx, r); return err }, "get-nodes/v1", `{}`},
		{"connections", func(r Runner) error {
			_, err := GetConnections(ctx, r, ConnectionFilter{UserName: `CORP\alice`})
			return err
		},
			"get-connections/v1", `{"user_name":"CORP\\alice"}`},
		{"all SAs", func(r Runner) error { _, err := GetIPsecSAs(ctx, r, nil); return err }, "get-ipsec-sas/v1", `{"identities":null}`},
		{"device SAs", func(r Runner) error { _, err := GetDeviceSAs(ctx, r, []string{`CORP\CLIENT1$`}); return err },
			"get-ipsec-sas/v1", `{"identities":["CORP\\CLIENT1$"],"device":true}`},
		{"purge device", func(r Runner) error {
			_, err := PurgeDevice(ctx, r, []string{`CORP\CLIENT1$`}, "CLIENT1", true)
			return err
		}, "purge-device/v1", `{"identities":["CORP\\CLIENT1$"],"computer_name":"CLIENT1","disconnect_vpn":true}`},
		{"purge user", func(r Runner) error {
			_, err := PurgeUser(ctx, r, []string{"alice@corp.example"}, `CORP\alice`)
			return err
		},
			"purge-user/v1", `{"identities":["alice@corp.example"],"user_name":"CORP\\alice"}`},
		{"disconnect user", func(r Runner) error { _, err := DisconnectVPN(ctx, r, ByUser(`CORP\bob`)); return err },
			"disconnect-vpn/v1", `{"user_name":"CORP\\bob"}`},
		{"disconnect address", func(r Runner) error { _, err := DisconnectVPN(ctx, r, ByHostIP("10.10.0.11")); return err },
			"disconnect-vpn/v1", `{"host_ip_address":"10.10.0.11"}`},
		{"stop computer", func(r Runner) error { return StopComputer(ctx, r, "client1.corp.example") },
			"stop-computer/v1", `{"computer_name":"client1.corp.example"}`},
		{"drain counts whole seconds", func(r Runner) error { _, err := DrainNode(ctx, r, "RAS1", 1500*time.Millisecond); return err },
			"drain-node/v1", `{"node_name":"RAS1","timeout_seconds":2}`},
		{"resume", func(r Runner) error { _, err := ResumeNode(ctx, r, "RAS1"); return err }, "resume-node/v1", `{"node_name":"RAS1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := answer(`{"indeterminate":false}`)
			if err := tt.op(r); err != nil {
				t.Fatal(err)
			}
			if got := r.sent(); len(got) != 1 || got[0] != (fakeCall{script: tt.script, input: tt.input}) {
				t.Errorf("sent %+v, want one %s with %s", got, tt.script, tt.input)
			}
		})
	}
}

func TestInvalidArgumentsAreRefusedBeforeSending(t *testing.T) {
	ctx := context.Background()
	tests := map[string]func(Runner) error{
		"disconnect neither": func(r Runner) error { _, err := DisconnectVPN(ctx, r, VPNTarget{}); return err },
		"disconnect both": func(r Runner) error {
			_, err := DisconnectVPN(ctx, r, VPNTarget{UserName: "CORP\\bob", HostIPAddress: "10.0.0.1"})
			return err
		},
		"disconnect bad address":    func(r Runner) error { _, err := DisconnectVPN(ctx, r, ByHostIP("10.0.0")); return err },
		"purge without identity":    func(r Runner) error { _, err := PurgeDevice(ctx, r, nil, "", false); return err },
		"purge empty identity":      func(r Runner) error { _, err := PurgeDevice(ctx, r, []string{""}, "", false); return err },
		"purge padded identity":     func(r Runner) error { _, err := PurgeDevice(ctx, r, []string{" CORP\\X$"}, "", false); return err },
		"purge control character":   func(r Runner) error { _, err := PurgeDevice(ctx, r, []string{"CORP\\X$\n"}, "", false); return err },
		"purge invalid UTF-8":       func(r Runner) error { _, err := PurgeDevice(ctx, r, []string{"CORP\\X\xff$"}, "", false); return err },
		"purge user without anyone": func(r Runner) error { _, err := PurgeUser(ctx, r, nil, ""); return err },
		"stop without a name":       func(r Runner) error { return StopComputer(ctx, r, "") },
		"stop with half a credential": func(r Runner) error {
			return StopComputerAs(ctx, r, "client1", Credential{UserName: `CORP\admin`})
		},
		"device SAs without identity": func(r Runner) error { _, err := GetDeviceSAs(ctx, r, nil); return err },
		"drain without a timeout":     func(r Runner) error { _, err := DrainNode(ctx, r, "RAS1", 0); return err },
		"drain without a node":        func(r Runner) error { _, err := DrainNode(ctx, r, "", time.Minute); return err },
		"resume without a node":       func(r Runner) error { _, err := ResumeNode(ctx, r, ""); return err },
		"connections bad filter":      func(r Runner) error { _, err := GetConnections(ctx, r, ConnectionFilter{HostName: "a\tb"}); return err },
	}
	for name, op := range tests {
		r := answer(`{"indeterminate":false}`)
		if err := op(r); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: error %v, want ErrInvalidArgument", name, err)
		}
		if sent := r.sent(); len(sent) != 0 {
			t.Errorf("%s: sent %+v although the argument is invalid", name, sent)
		}
	}
}

func TestResultsAreDecoded(t *testing.T) {
	r := answer(`{"main_mode_removed":2,"quick_mode_removed":4,"vpn_device_tunnels_disconnected":1,"indeterminate":false}`)
	got, err := PurgeDevice(context.Background(), r, []string{`CORP\CLIENT1$`}, "", true)
	if err != nil || got != (PurgeDeviceResult{MainModeRemoved: 2, QuickModeRemoved: 4, VPNDeviceTunnelsDisconnected: 1}) {
		t.Errorf("PurgeDevice = %+v, %v", got, err)
	}
	nodes, err := GetNodes(context.Background(), answer(`{"nodes":[{"name":"RAS1","interface_name":"Internet","state":"Draining","host_priority":1,"is_local":true}]}`))
	if err != nil || len(nodes) != 1 || nodes[0] != (Node{Name: "RAS1", InterfaceName: "Internet", State: NodeDraining, HostPriority: 1, IsLocal: true}) {
		t.Errorf("GetNodes = %+v, %v", nodes, err)
	}
}

// A result that carries a verdict and leaves "indeterminate" out is refused: decoded, it would read as a certain
// answer (the purge found nothing, the server holds no SA of the device).
func TestAResultWithoutItsVerdictIsRefused(t *testing.T) {
	ctx := context.Background()
	device := []string{`CORP\CLIENT1$`}
	ops := map[string]func(Runner) error{
		"purge-device/v1":  func(r Runner) error { _, err := PurgeDevice(ctx, r, device, "", true); return err },
		"get-ipsec-sas/v1": func(r Runner) error { _, err := GetDeviceSAs(ctx, r, device); return err },
	}
	for name, op := range ops {
		if err := op(answer(`{"main_mode_removed":0,"main_mode":[]}`)); err == nil || !strings.Contains(err.Error(), `no "indeterminate"`) {
			t.Errorf("%s without its verdict: %v; want it refused", name, err)
		}
		if err := op(answer(`{"indeterminate":false}`)); err != nil {
			t.Errorf("%s with its verdict: %v", name, err)
		}
	}
}

func TestForSplitsAPollPerTarget(t *testing.T) {
	poll := IPsecSAs{
		MainMode: []MainModeSA{
			{Name: "1", RemoteEndpoint: "2001:db8::1", RemoteSecondID: `CORP\PC1$`, MatchedBy: MatchedByIdentity, QuickModeCount: 2},
			{Name: "2", RemoteEndpoint: "2001:db8::1", RemoteSecondID: `CORP\ann`, MatchedBy: MatchedByIdentity, QuickModeCount: 2},
			{Name: "3", RemoteEndpoint: "2001:db8::2", RemoteFirstID: "CN=pc2.corp.example", MatchedBy: MatchedByEndpoint, QuickModeCount: 1},
			{Name: "4", RemoteEndpoint: "2001:db8::2", RemoteSecondID: `CORP\PC2$`, MatchedBy: MatchedByIdentity, QuickModeCount: 2},
			{Name: "5", RemoteEndpoint: "2001:db8::1", RemoteFirstID: "CN=pc1.corp.example", MatchedBy: MatchedByEndpoint},
		},
		VPNConnections: []VPNConnection{{HostName: "pc2.corp.example", DeviceTunnel: true}, {UserNames: []string{`corp.example\ann`}}},
		Verdict:        Verdict{Indeterminate: true, IndeterminateReason: "none readable"},
	}
	pc2 := poll.For([]string{`CORP\PC2$`, "pc2.corp.example"}, true)
	if len(pc2.MainMode) != 2 || pc2.MainMode[1].Name != "3" || pc2.QuickModeCount != 3 || len(pc2.DeviceTunnels()) != 1 || !pc2.Indeterminate {
		t.Errorf("PC2 = %+v; want SAs 4 and 3 (by endpoint), its device tunnel, and the server-wide verdict", pc2)
	}
	// A user never takes SAs by endpoint, and a device only those sharing an endpoint with its own.
	if ann := poll.For([]string{`CORP\ann`, `corp.example\ann`}, false); len(ann.MainMode) != 1 || len(ann.VPNConnections) != 1 {
		t.Errorf("ann = %+v; want SA 2 and her VPN connection", ann)
	}
	if pc1 := poll.For([]string{`CORP\PC1$`}, true); len(pc1.MainMode) != 2 || pc1.MainMode[0].Name != "1" || pc1.MainMode[1].Name != "5" {
		t.Errorf("PC1 = %+v; want SA 1, and SA 5 by its endpoint", pc1)
	}
	poll.IndeterminateHostNames = []string{"pc2.corp.example"}
	if pc1 := poll.For([]string{`CORP\PC1$`, "pc1.corp.example"}, true); pc1.Indeterminate {
		t.Errorf("PC1 = %+v; the verdict concerns PC2 only", pc1)
	}
}
