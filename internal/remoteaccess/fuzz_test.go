package remoteaccess_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// captureExecutor records every command the lab's WS-Management server is asked to run and answers it with an
// result that says only that it is determinate (for a batched purge, of its one device).
type captureExecutor struct {
	mu   sync.Mutex
	reqs []wsman.ExecRequest
}

func (c *captureExecutor) Execute(_ context.Context, req wsman.ExecRequest) wsman.ExecResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, req)
	if bytes.HasPrefix(req.Stdin, []byte("# remoteaccess-script: purge-devices/v1")) {
		return wsman.ExecResult{Stdout: []byte(`{"result":{"devices":[{"indeterminate":false}]}}` + "\r\n")}
	}
	return wsman.ExecResult{Stdout: []byte(`{"result":{"indeterminate":false}}` + "\r\n")}
}

func (c *captureExecutor) take() []wsman.ExecRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	reqs := c.reqs
	c.reqs = nil
	return reqs
}

// fuzzOp is one operation with the input its script must receive: the fields with an empty value are left out.
type fuzzOp struct {
	script string
	run    func() error
	want   map[string]any
}

// No input reaches script text, and none changes what a script acts on: for any names, every operation either
// refuses them before sending anything, or the server runs the one fixed command line with stdin holding the
// operation's own script, byte for byte, and a JSON input whose values are exactly the names given. The operations
// run as the provider runs them: the real WinRM client, over HTTP with NTLM, to the lab's WS-Management server.
func FuzzScriptInputs(f *testing.F) {
	exec := &captureExecutor{}
	srv, err := wsman.NewServer(wsman.Options{
		Name: "RAS1", Domain: "CORP", Users: map[string]string{`CORP\operator`: "Fuzz-Passw0rd!"}, Executor: exec,
		ReceiveWait: time.Second,
	})
	if err != nil {
		f.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	host, port := srv.Endpoint()
	client, err := winrm.NewClient(winrm.Config{
		Host: host, Port: port, Username: `CORP\operator`, Password: "Fuzz-Passw0rd!",
		Timeout: 10 * time.Second, Retry: winrm.RetryPolicy{Attempts: 1},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = client.Close() })
	scripts := map[string]string{}
	for _, s := range remoteaccess.Scripts() {
		scripts[s.Name] = s.Text
	}
	var commandLine string

	f.Fuzz(func(t *testing.T, user, computer, identity string, seconds uint8) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, op := range fuzzOps(ctx, client, user, computer, identity, seconds) {
			err := op.run()
			reqs := exec.take()
			if errors.Is(err, remoteaccess.ErrInvalidArgument) {
				if len(reqs) != 0 {
					t.Fatalf("%s: refused the input (%v) but ran %d commands", op.script, err, len(reqs))
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", op.script, err)
			}
			if len(reqs) != 1 {
				t.Fatalf("%s ran %d commands, want 1", op.script, len(reqs))
			}
			req := reqs[0]
			if commandLine == "" {
				commandLine = req.CommandLine
			}
			if req.CommandLine != commandLine || !strings.HasPrefix(req.EncodedScript, "# remoteaccess-bootstrap/v1\n") {
				t.Fatalf("%s: the command line changed with the input: %q", op.script, req.CommandLine)
			}
			script, encoded, ok := bytes.Cut(req.Stdin, []byte("\x00\x00\x00\x00"))
			if !ok || string(script) != scripts[op.script] {
				t.Fatalf("%s: stdin does not start with the script's own text: %q", op.script, req.Stdin)
			}
			doc, err := base64.StdEncoding.DecodeString(string(encoded))
			if err != nil {
				t.Fatalf("%s: the input is not base64: %v", op.script, err)
			}
			var got map[string]any
			if err := json.Unmarshal(doc, &got); err != nil {
				t.Fatalf("%s: the input is not JSON: %v", op.script, err)
			}
			if !reflect.DeepEqual(got, op.want) {
				t.Fatalf("%s: the script receives %v, want %v", op.script, got, op.want)
			}
		}
	})
}

func fuzzOps(ctx context.Context, r remoteaccess.Runner, user, computer, identity string, seconds uint8) []fuzzOp {
	drop := func(m map[string]any) map[string]any {
		for k, v := range m {
			if v == "" {
				delete(m, k)
			}
		}
		return m
	}
	return []fuzzOp{
		{"purge-device/v1", func() error {
			_, err := remoteaccess.PurgeDevice(ctx, r, []string{identity, computer}, computer, true)
			return err
		}, drop(map[string]any{"identities": []any{identity, computer}, "computer_name": computer, "disconnect_vpn": true})},
		{"purge-devices/v1", func() error {
			// The shortest window: the fuzzer sends one purge at a time, which a batch of one carries.
			c := oneServer(r).WithPurgeBatcher(&remoteaccess.PurgeBatcher{Window: time.Nanosecond})
			_, err := c.PurgeDevice(ctx, []string{identity, computer}, computer, true)
			return err
		}, map[string]any{"devices": []any{drop(map[string]any{"identities": []any{identity, computer}, "computer_name": computer, "disconnect_vpn": true})}}},
		{"purge-user/v1", func() error { _, err := remoteaccess.PurgeUser(ctx, r, []string{identity}, user); return err },
			drop(map[string]any{"identities": []any{identity}, "user_name": user})},
		{"get-connections/v1", func() error {
			_, err := remoteaccess.GetConnections(ctx, r, remoteaccess.ConnectionFilter{UserName: user, HostName: computer})
			return err
		}, drop(map[string]any{"user_name": user, "host_name": computer})},
		{"get-ipsec-sas/v1", func() error { _, err := remoteaccess.GetIPsecSAs(ctx, r, []string{identity}); return err },
			map[string]any{"identities": []any{identity}}},
		{"get-ipsec-sas/v1", func() error { _, err := remoteaccess.GetDeviceSAs(ctx, r, []string{identity, computer}); return err },
			map[string]any{"identities": []any{identity, computer}, "device": true}},
		{"disconnect-vpn/v1", func() error { _, err := remoteaccess.DisconnectVPN(ctx, r, remoteaccess.ByUser(user)); return err },
			map[string]any{"user_name": user}},
		{"stop-computer/v1", func() error { return remoteaccess.StopComputer(ctx, r, computer) },
			map[string]any{"computer_name": computer}},
		{"stop-computer/v1", func() error {
			return remoteaccess.StopComputerAs(ctx, r, computer, remoteaccess.Credential{UserName: user, Password: identity})
		}, map[string]any{"computer_name": computer, "credential": map[string]any{"user_name": user, "password": identity}}},
		{"drain-node/v1", func() error {
			_, err := remoteaccess.DrainNode(ctx, r, computer, time.Duration(seconds)*time.Second)
			return err
		}, map[string]any{"node_name": computer, "timeout_seconds": float64(seconds)}},
		{"resume-node/v1", func() error { _, err := remoteaccess.ResumeNode(ctx, r, computer); return err },
			map[string]any{"node_name": computer}},
		{"disconnect-vpn-users/v1", func() error {
			_, err := oneServer(r).DisconnectVPNUsers(ctx, remoteaccess.VPNSelection{UserNames: []string{user, identity}})
			return err
		}, map[string]any{"user_names": []any{user, identity}}},
		{"purge-sas/v1", func() error {
			_, err := oneServer(r).PurgeSAs(ctx, remoteaccess.SASelection{Identities: []string{identity}})
			return err
		}, map[string]any{"identities": []any{identity}}},
	}
}

// oneServer is the fan-out over one server, for the operations that exist only on a Cluster.
func oneServer(r remoteaccess.Runner) *remoteaccess.Cluster {
	c, err := remoteaccess.NewCluster(map[string]remoteaccess.Runner{"RAS1": r})
	if err != nil {
		panic(err)
	}
	return c
}
