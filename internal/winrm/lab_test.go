package winrm_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

const (
	testUser      = `CORP\admin`
	testPassword  = "Pa$$w0rd-'quoted'"
	localUser     = "localadmin" // an account of the server itself, the only kind Basic authentication accepts
	localPassword = "L0cal-Passw0rd!"
)

// echoExecutor plays the part of powershell.exe running the bootstrap: it splits stdin as the bootstrap does and
// behaves according to the script's identifier.
type echoExecutor struct{}

type echoResult struct {
	Script string          `json:"script"`
	User   string          `json:"user"`
	Input  json.RawMessage `json:"input"`
}

const clixmlSample = "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">" +
	"<Obj S=\"progress\" RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN>" +
	"<MS><I64 N=\"SourceId\">1</I64><PR N=\"Record\"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI>" +
	"<PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>" +
	"<S S=\"Error\">Get-NetIPsecMainModeSA : Access is denied. _x000D__x000A_</S>" +
	"<S S=\"Error\">At line:1 char:1_x000D__x000A_</S>" +
	"<S S=\"Error\">+ Get-NetIPsecMainModeSA_x000D__x000A_</S>" +
	"<S S=\"Error\">    + CategoryInfo          : PermissionDenied: (MSFT_NetMainModeSA:root/standardcimv2/MSFT_NetMainModeSA) [Get-NetIPsecMainModeSA], CimException_x000D__x000A_</S>" +
	"</Objs>"

func (echoExecutor) Execute(ctx context.Context, req wsman.ExecRequest) wsman.ExecResult {
	if !strings.HasPrefix(req.EncodedScript, "# remoteaccess-bootstrap/v1\n") {
		return wsman.ExecResult{Stderr: []byte("not the bootstrap"), ExitCode: 2}
	}
	script, encoded, ok := strings.Cut(string(req.Stdin), "\x00\x00\x00\x00")
	if !ok {
		return wsman.ExecResult{Stderr: []byte("no separator"), ExitCode: 2}
	}
	input, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return wsman.ExecResult{Stderr: []byte(err.Error()), ExitCode: 2}
	}
	first, _, _ := strings.Cut(script, "\n")
	switch name := strings.TrimPrefix(first, "# remoteaccess-script: "); name {
	case "fail/v1":
		return wsman.ExecResult{
			Stdout:   []byte(`{"error":{"category":"ObjectNotFound","message":"no main-mode SA for CLIENT1","target":"CLIENT1"}}` + "\r\n"),
			Stderr:   []byte(clixmlSample),
			ExitCode: 1,
		}
	case "crash/v1":
		return wsman.ExecResult{Stderr: []byte(clixmlSample), ExitCode: 1}
	case "garbage/v1":
		return wsman.ExecResult{Stdout: []byte("WARNING: not JSON\r\n")}
	case "null/v1":
		return wsman.ExecResult{Stdout: []byte(`{"result":null}` + "\r\n")}
	case "slow/v1":
		select {
		case <-time.After(30 * time.Millisecond):
		case <-ctx.Done():
		}
		fallthrough
	default:
		out, _ := json.Marshal(map[string]echoResult{"result": {Script: name, User: req.User, Input: input}})
		return wsman.ExecResult{Stdout: append(out, '\r', '\n')}
	}
}

func newLab(t *testing.T, tlsOn bool) *wsman.Server {
	t.Helper()
	return newLabWith(t, wsman.Options{TLS: tlsOn})
}

// newLabWith starts a lab server with the test accounts, the echo executor and a short long poll on top of opts.
func newLabWith(t *testing.T, opts wsman.Options) *wsman.Server {
	t.Helper()
	opts.Name, opts.Domain, opts.Executor, opts.ReceiveWait = "RAS1", "CORP", echoExecutor{}, time.Second
	opts.Users = map[string]string{testUser: testPassword}
	opts.LocalUsers = map[string]string{localUser: localPassword}
	srv, err := wsman.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func labConfig(srv *wsman.Server) winrm.Config {
	host, port := srv.Endpoint()
	return winrm.Config{
		Host: host, Port: port, HTTPS: srv.CACertPEM() != nil, CACertPEM: srv.CACertPEM(),
		Username: testUser, Password: testPassword,
		Timeout: 10 * time.Second, Retry: winrm.RetryPolicy{Attempts: 1},
	}
}

func newClient(t *testing.T, cfg winrm.Config) *winrm.Client {
	t.Helper()
	c, err := winrm.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func script(t *testing.T, name string) winrm.Script {
	t.Helper()
	s, err := winrm.ParseScript("# remoteaccess-script: " + name + "\nparam([string]$InputJson)\n$ErrorActionPreference = 'Stop'\n")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runEcho(t *testing.T, c *winrm.Client, input any) echoResult {
	t.Helper()
	var got echoResult
	if err := c.Run(context.Background(), script(t, "echo/v1"), input, &got); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return got
}

func wantKind(t *testing.T, err error, kind winrm.Kind) {
	t.Helper()
	_ = kindError(t, err, kind)
}

// kindError checks err as wantKind does and returns it for a closer look.
func kindError(t *testing.T, err error, kind winrm.Kind) *winrm.Error {
	t.Helper()
	var e *winrm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want a *winrm.Error of kind %q", err, err, kind)
	}
	if e.Kind != kind {
		t.Fatalf("kind = %q, want %q; error: %v", e.Kind, kind, err)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Fatalf("the error message contains the password: %v", err)
	}
	return e
}

func TestRunOverNTLMAndBasic(t *testing.T) {
	srv := newLab(t, true)
	input := map[string]any{"identities": []string{`CORP\CLIENT1$`, "client1.corp.example"}, "note": "O'Brien; $x `n \" é ü 日本"}
	for _, tc := range []struct {
		auth                     winrm.Auth
		user, password, wantUser string
	}{
		{winrm.AuthNTLM, testUser, testPassword, testUser},
		{winrm.AuthBasic, localUser, localPassword, `RAS1\` + localUser},
	} {
		t.Run(string(tc.auth), func(t *testing.T) {
			cfg := labConfig(srv)
			cfg.Auth, cfg.Username, cfg.Password = tc.auth, tc.user, tc.password
			got := runEcho(t, newClient(t, cfg), input)
			want, _ := json.Marshal(input)
			if !bytes.Equal(got.Input, want) {
				t.Errorf("the script got input %s, want %s", got.Input, want)
			}
			if got.Script != "echo/v1" || got.User != tc.wantUser {
				t.Errorf("script, user = %q, %q; want echo/v1, %s", got.Script, got.User, tc.wantUser)
			}
		})
	}
	t.Run("Basic with a domain account", func(t *testing.T) {
		cfg := labConfig(srv) // the right password, but Windows takes Basic for local accounts only
		cfg.Auth = winrm.AuthBasic
		wantKind(t, newClient(t, cfg).Run(context.Background(), script(t, "echo/v1"), nil, nil), winrm.KindAuth)
	})
}

func TestLargeStdinTravelsOutsideTheCommandLine(t *testing.T) {
	srv := newLab(t, true)
	big := strings.Repeat("0123456789abcdef", 200<<10/16) // 200 KB
	var got echoResult
	if err := newClient(t, labConfig(srv)).Run(context.Background(), script(t, "echo/v1"), map[string]string{"blob": big}, &got); err != nil {
		t.Fatal(err)
	}
	var echoed map[string]string
	if err := json.Unmarshal(got.Input, &echoed); err != nil || echoed["blob"] != big {
		t.Fatalf("the 200 KB input did not come back intact (err %v, %d bytes)", err, len(echoed["blob"]))
	}
	if sends := srv.Counters().Actions["Send"]; sends < 3 {
		t.Errorf("Send requests = %d, want the input split over several envelopes", sends)
	}
}

func TestAuthAndConnectionFailures(t *testing.T) {
	srv := newLab(t, true)
	closedHost, closedPort := closedPort(t)
	for _, tc := range []struct {
		name   string
		modify func(*winrm.Config)
		want   winrm.Kind
	}{
		{"wrong password over NTLM", func(c *winrm.Config) { c.Password = "wrong" }, winrm.KindAuth},
		{"wrong password over Basic", func(c *winrm.Config) { c.Username, c.Password, c.Auth = localUser, "wrong", winrm.AuthBasic }, winrm.KindAuth},
		{"unknown user", func(c *winrm.Config) { c.Username = `CORP\nobody` }, winrm.KindAuth},
		{"no CA certificate", func(c *winrm.Config) { c.CACertPEM = nil }, winrm.KindTLS},
		{"wrong TLS server name", func(c *winrm.Config) { c.TLSServerName = "ras9.corp.example" }, winrm.KindTLS},
		{"closed port", func(c *winrm.Config) { c.Host, c.Port = closedHost, closedPort }, winrm.KindUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := labConfig(srv)
			tc.modify(&cfg)
			err := newClient(t, cfg).Run(context.Background(), script(t, "echo/v1"), nil, nil)
			e := kindError(t, err, tc.want)
			if e.Server != cfg.Host || e.Script != "echo/v1" {
				t.Errorf("error names server %q and script %q", e.Server, e.Script)
			}
			if winrm.IsTransient(err) != (tc.want == winrm.KindUnreachable) {
				t.Errorf("IsTransient = %v for %s", winrm.IsTransient(err), tc.want)
			}
		})
	}
	t.Run("insecure skips verification", func(t *testing.T) {
		cfg := labConfig(srv)
		cfg.CACertPEM, cfg.Insecure = nil, true
		runEcho(t, newClient(t, cfg), nil)
	})
}

func closedPort(t *testing.T) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	_ = l.Close()
	return addr.IP.String(), addr.Port
}

func TestHungCommandIsSignalledAtTheDeadline(t *testing.T) {
	srv := newLab(t, true)
	c := newClient(t, labConfig(srv))
	runEcho(t, c, nil) // warm up: the hung run below reuses this shell
	srv.Faults().SetHangCommands(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := c.Run(ctx, script(t, "echo/v1"), nil, nil)
	wantKind(t, err, winrm.KindTimeout)
	if winrm.IsTransient(err) {
		t.Error("a timeout of the caller's own deadline is reported as transient")
	}
	counters := srv.Counters()
	if counters.RunningCommands != 0 || counters.Actions["Signal"] < 2 {
		t.Errorf("after the deadline: %d commands still run, %d Signal requests; want 0 and the terminate signal",
			counters.RunningCommands, counters.Actions["Signal"])
	}
	srv.Faults().SetHangCommands(false)
	runEcho(t, c, nil) // the client recovers
}

// The lab's hang fault holds a command until the fault is turned off, then runs it; resetting the faults ends it as
// terminated instead: its caller may be long gone.
func TestAHungCommandRunsWhenTheHangIsTurnedOffAndEndsAtReset(t *testing.T) {
	for name, end := range map[string]func(*wsman.Faults) bool{
		"turned off": func(f *wsman.Faults) bool { f.SetHangCommands(false); return true },
		"reset":      func(f *wsman.Faults) bool { f.Reset(); return false },
	} {
		t.Run(name, func(t *testing.T) {
			srv := newLab(t, true)
			c := newClient(t, labConfig(srv))
			srv.Faults().SetHangCommands(true)
			done := make(chan error, 1)
			go func() { done <- c.Run(context.Background(), script(t, "echo/v1"), nil, &echoResult{}) }()
			poll.Until(t, "the command hangs", func() bool { return srv.Counters().RunningCommands == 1 })
			select {
			case err := <-done:
				t.Fatalf("the run ended while its command hung: %v", err)
			default:
			}
			wantRun := end(srv.Faults())
			if err := <-done; (err == nil) != wantRun {
				t.Fatalf("run error %v; want the command run: %v", err, wantRun)
			}
		})
	}
}

// Config.Timeout (the provider's winrm.timeout) bounds one operation also when the caller has a longer deadline, as
// every resource operation has: a hung command fails at the operation's timeout, with the command signalled, and
// the caller keeps the rest of its time to record the server as pending. WithOperationTimeout lifts the bound for
// a command known to take long.
func TestOperationTimeoutBoundsARunUnderALongerDeadline(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.Timeout = 300 * time.Millisecond
	c := newClient(t, cfg)
	srv.Faults().SetHangCommands(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := c.Run(ctx, script(t, "echo/v1"), nil, nil)
	wantKind(t, err, winrm.KindTimeout)
	if ctx.Err() != nil {
		t.Fatal("the caller's deadline passed")
	}
	if n := srv.Counters().RunningCommands; n != 0 {
		t.Errorf("%d commands still run after the operation's timeout", n)
	}
	long, cancelLong := context.WithTimeout(winrm.WithOperationTimeout(ctx, time.Hour), time.Second)
	defer cancelLong()
	err = c.Run(long, script(t, "echo/v1"), nil, nil)
	if long.Err() == nil {
		t.Errorf("with WithOperationTimeout the run ended before its caller's deadline: %v", err)
	}
}

func TestCancelStopsTheRemoteCommand(t *testing.T) {
	srv := newLab(t, false)
	srv.Faults().SetHangCommands(true)
	c := newClient(t, labConfig(srv))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for srv.Counters().RunningCommands == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	err := c.Run(ctx, script(t, "echo/v1"), nil, nil)
	wantKind(t, err, winrm.KindCanceled)
	if n := srv.Counters().RunningCommands; n != 0 {
		t.Errorf("%d commands still run after the cancellation", n)
	}
}

func TestQuotaFaults(t *testing.T) {
	srv := newLab(t, true)
	t.Run("without retries", func(t *testing.T) {
		srv.Faults().SetQuotaNext(1)
		err := newClient(t, labConfig(srv)).Run(context.Background(), script(t, "echo/v1"), nil, nil)
		wantKind(t, err, winrm.KindQuota)
		if !winrm.IsTransient(err) {
			t.Error("a quota fault is not transient")
		}
	})
	t.Run("with retries", func(t *testing.T) {
		srv.Faults().SetQuotaNext(2)
		cfg := labConfig(srv)
		cfg.Retry = winrm.RetryPolicy{Attempts: 4, Base: time.Millisecond, Max: 10 * time.Millisecond}
		c := newClient(t, cfg)
		runEcho(t, c, nil)
		if r := c.Stats().Retries; r != 2 {
			t.Errorf("retries = %d, want 2", r)
		}
	})
	t.Run("no retry past the deadline", func(t *testing.T) {
		srv.Faults().SetQuotaEvery(1)
		defer srv.Faults().SetQuotaEvery(0)
		cfg := labConfig(srv)
		cfg.Retry = winrm.RetryPolicy{Attempts: 10, Base: time.Hour, Max: time.Hour}
		c := newClient(t, cfg)
		wantKind(t, c.Run(context.Background(), script(t, "echo/v1"), nil, nil), winrm.KindQuota)
		if r := c.Stats().Retries; r != 0 {
			t.Errorf("retries = %d, want none: the backoff outlasts the deadline", r)
		}
	})
}

func TestShellQuotaPerUser(t *testing.T) {
	srv := newLabWith(t, wsman.Options{MaxShellsPerUser: 1})
	keeping := labConfig(srv)
	keeping.ShellIdle = time.Hour
	first := newClient(t, keeping)
	runEcho(t, first, nil) // keeps its shell open
	err := newClient(t, labConfig(srv)).Run(context.Background(), script(t, "echo/v1"), nil, nil)
	wantKind(t, err, winrm.KindQuota)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	runEcho(t, newClient(t, labConfig(srv)), nil)
}

func TestScriptErrors(t *testing.T) {
	srv := newLab(t, true)
	c := newClient(t, labConfig(srv))
	t.Run("error document", func(t *testing.T) {
		err := c.Run(context.Background(), script(t, "fail/v1"), nil, nil)
		e := kindError(t, err, winrm.KindScript)
		if e.Category != "ObjectNotFound" || e.Target != "CLIENT1" || e.Message != "no main-mode SA for CLIENT1" || e.ExitCode != 1 {
			t.Errorf("got category %q, target %q, message %q, exit %d", e.Category, e.Target, e.Message, e.ExitCode)
		}
		if !strings.Contains(err.Error(), "Access is denied.") || winrm.IsTransient(err) {
			t.Errorf("error %q lacks the decoded stderr, or is transient", err)
		}
	})
	t.Run("PowerShell error on stderr only", func(t *testing.T) {
		e := kindError(t, c.Run(context.Background(), script(t, "crash/v1"), nil, nil), winrm.KindScript)
		if !strings.HasPrefix(e.Stderr, "Get-NetIPsecMainModeSA : Access is denied.") {
			t.Errorf("stderr = %q", e.Stderr)
		}
	})
	t.Run("output that is not JSON", func(t *testing.T) {
		err := c.Run(context.Background(), script(t, "garbage/v1"), nil, nil)
		wantKind(t, err, winrm.KindMalformedOutput)
		if winrm.IsTransient(err) {
			t.Error("malformed output is transient")
		}
	})
	t.Run("null result", func(t *testing.T) {
		// Decoded, it would leave the output zero, which reads as a certain "nothing found".
		var out struct{ Removed int }
		wantKind(t, c.Run(context.Background(), script(t, "null/v1"), nil, &out), winrm.KindMalformedOutput)
		if err := c.Run(context.Background(), script(t, "null/v1"), nil, nil); err != nil {
			t.Errorf("a null result of a script whose output is not read: %v", err)
		}
	})
	t.Run("result of the wrong shape", func(t *testing.T) {
		var out struct{ Script int }
		wantKind(t, c.Run(context.Background(), script(t, "echo/v1"), nil, &out), winrm.KindMalformedOutput)
	})
}

func TestProtocolFaults(t *testing.T) {
	srv := newLab(t, true)
	c := newClient(t, labConfig(srv))
	t.Run("wrong content type", func(t *testing.T) {
		srv.Faults().SetWrongContentType(true)
		defer srv.Faults().SetWrongContentType(false)
		err := c.Run(context.Background(), script(t, "echo/v1"), nil, nil)
		wantKind(t, err, winrm.KindProtocol)
		if winrm.IsTransient(err) {
			t.Error("a wrong content type is transient")
		}
	})
	t.Run("dropped connections", func(t *testing.T) {
		srv.Faults().SetDropConnections(true)
		defer srv.Faults().SetDropConnections(false)
		err := c.Run(context.Background(), script(t, "echo/v1"), nil, nil)
		wantKind(t, err, winrm.KindUnreachable)
	})
	t.Run("forced authentication failure", func(t *testing.T) {
		srv.Faults().SetAuthFailure(true)
		defer srv.Faults().SetAuthFailure(false)
		wantKind(t, newClient(t, labConfig(srv)).Run(context.Background(), script(t, "echo/v1"), nil, nil), winrm.KindAuth)
	})
	runEcho(t, c, nil) // and the client recovers once the faults are gone
}

func TestConcurrencyLimit(t *testing.T) {
	srv := newLab(t, true)
	srv.Faults().SetStartLatency(20 * time.Millisecond)
	cfg := labConfig(srv)
	cfg.MaxConcurrency = 2
	c := newClient(t, cfg)
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() { errs <- c.Run(context.Background(), script(t, "slow/v1"), nil, nil) }()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if peak := srv.Counters().MaxRunningCommands; peak > 2 || peak < 1 {
		t.Errorf("the server ran up to %d commands at once, want at most MaxConcurrency=2", peak)
	}
	if opened := c.Stats().ShellsOpened; opened > 2 {
		t.Errorf("%d shells opened for 2 concurrent slots", opened)
	}
}

func TestShellReuseSavesRoundTrips(t *testing.T) {
	srv := newLab(t, true)
	c := newClient(t, labConfig(srv))
	before := c.Stats().HTTPRequests
	runEcho(t, c, nil)
	cold := c.Stats().HTTPRequests - before
	before = c.Stats().HTTPRequests
	runEcho(t, c, nil)
	warm := c.Stats().HTTPRequests - before
	if warm >= cold {
		t.Errorf("a run on a reused shell took %d HTTP requests, a cold one %d: want fewer", warm, cold)
	}
	stats := c.Stats()
	if stats.ShellsOpened != 1 || stats.ShellsReused != 1 || stats.Commands != 2 {
		t.Errorf("stats = %+v, want 1 shell opened, 1 reuse, 2 commands", stats)
	}
	if n := srv.Counters().OpenShells; n != 1 {
		t.Errorf("server has %d open shells, want the 1 pooled", n)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := srv.Counters().OpenShells; n != 0 {
		t.Errorf("server has %d open shells after Close, want 0", n)
	}
	t.Logf("HTTP requests: cold run %d, warm run %d", cold, warm)
}

func TestExpiredShellIsReplaced(t *testing.T) {
	srv := newLab(t, true)
	c := newClient(t, labConfig(srv)) // retries off: the replacement must not need one
	runEcho(t, c, nil)
	srv.ExpireShells()
	runEcho(t, c, nil)
	if s := c.Stats(); s.ShellsOpened != 2 || s.Retries != 0 {
		t.Errorf("stats = %+v, want a second shell opened without a retry", s)
	}
}

func TestBasicNeedsHTTPS(t *testing.T) {
	_, err := winrm.NewClient(winrm.Config{Host: "ras1", Username: "u", Password: "p", Auth: winrm.AuthBasic})
	if err == nil || !strings.Contains(err.Error(), "HTTPS") {
		t.Fatalf("NewClient accepted Basic over HTTP: %v", err)
	}
}

func TestRunOverPlainHTTPWithNTLM(t *testing.T) {
	srv := newLab(t, false)
	got := runEcho(t, newClient(t, labConfig(srv)), map[string]int{"n": 1})
	if string(got.Input) != `{"n":1}` {
		t.Errorf("input = %s", got.Input)
	}
}

func Example() {
	srv, _ := wsman.NewServer(wsman.Options{Name: "RAS1", Users: map[string]string{"admin": "pw"}, Executor: echoExecutor{}, TLS: true})
	_ = srv.Start("127.0.0.1:0")
	defer func() { _ = srv.Close() }()
	host, port := srv.Endpoint()
	c, _ := winrm.NewClient(winrm.Config{Host: host, Port: port, HTTPS: true, CACertPEM: srv.CACertPEM(), Username: "admin", Password: "pw"})
	defer func() { _ = c.Close() }()
	s, _ := winrm.ParseScript("# remoteaccess-script: echo/v1\nparam([string]$InputJson)\n")
	var out struct{ Input map[string]string }
	err := c.Run(context.Background(), s, map[string]string{"node_name": "RAS1"}, &out)
	fmt.Println(out.Input["node_name"], err)
	// Output: RAS1 <nil>
}

func TestKerberosLogonFailureIsAnAuthError(t *testing.T) {
	srv := newLab(t, true)
	kdcHost, kdcPort := closedPort(t)
	conf := t.TempDir() + "/krb5.conf"
	text := fmt.Sprintf("[libdefaults]\n default_realm = CORP.EXAMPLE\n dns_lookup_kdc = false\n udp_preference_limit = 1\n"+
		"[realms]\n CORP.EXAMPLE = {\n  kdc = %s:%d\n }\n", kdcHost, kdcPort)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := labConfig(srv)
	cfg.Auth, cfg.Username = winrm.AuthKerberos, "admin"
	cfg.Kerberos = &winrm.KerberosConfig{Realm: "CORP.EXAMPLE", Krb5ConfPath: conf}
	err := newClient(t, cfg).Run(context.Background(), script(t, "echo/v1"), nil, nil)
	wantKind(t, err, winrm.KindAuth)
}

// Check proves the connection, TLS and logon with a new shell and no command, and the next run uses that shell; a
// setting the server refuses is the same configuration error as from a run.
func TestCheckOpensAShellWithoutRunningPowerShell(t *testing.T) {
	srv := newLab(t, true)
	c := newClient(t, labConfig(srv))
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	counters := srv.Counters()
	if counters.CommandsStarted != 0 || counters.Actions["Command"] != 0 {
		t.Errorf("Check started %d commands (%d Command requests), want none", counters.CommandsStarted, counters.Actions["Command"])
	}
	if counters.Actions["Create"] != 1 || counters.OpenShells != 1 {
		t.Errorf("Check created %d shells (%d open), want 1", counters.Actions["Create"], counters.OpenShells)
	}
	runEcho(t, c, nil)
	if st := c.Stats(); st.ShellsOpened != 1 || st.ShellsReused != 1 {
		t.Errorf("shells opened %d, reused %d: the run after Check should reuse its shell", st.ShellsOpened, st.ShellsReused)
	}
	for _, tc := range []struct {
		name   string
		modify func(*winrm.Config)
		want   winrm.Kind
	}{
		{"wrong password", func(c *winrm.Config) { c.Password = "wrong" }, winrm.KindAuth},
		{"no CA certificate", func(c *winrm.Config) { c.CACertPEM = nil }, winrm.KindTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := labConfig(srv)
			tc.modify(&cfg)
			err := newClient(t, cfg).Check(context.Background())
			if e := kindError(t, err, tc.want); e.Server != cfg.Host || !winrm.IsConfiguration(err) {
				t.Errorf("error names server %q, configuration error %v", e.Server, winrm.IsConfiguration(err))
			}
		})
	}
}

// A write whose reply is lost after the server ran it is never sent again: the error says the outcome is unknown
// and names the server, and the server ran the command once. A read is sent again and succeeds.
func TestLostReplyOfAWriteIsNeverResent(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.Retry = winrm.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: 10 * time.Millisecond}
	c := newClient(t, cfg)

	srv.Faults().SetLoseReplyNext(1)
	err := c.Run(context.Background(), script(t, "echo/v1"), nil, nil)
	if !errors.Is(err, winrm.ErrOutcomeUnknown) {
		t.Fatalf("error = %v, want ErrOutcomeUnknown", err)
	}
	e := kindError(t, err, winrm.KindUnreachable)
	if e.Server != cfg.Host || !strings.Contains(err.Error(), "outcome unknown") || !strings.Contains(err.Error(), cfg.Host) {
		t.Errorf("error %q does not say outcome unknown on %s", err, cfg.Host)
	}
	if winrm.IsTransient(err) {
		t.Error("an outcome-unknown write is transient")
	}
	if n := srv.Counters().CommandsStarted; n != 1 {
		t.Errorf("the server ran the write %d times, want once", n)
	}

	srv.Faults().SetLoseReplyNext(1)
	var got echoResult
	if err := c.Run(context.Background(), script(t, "echo/v1").AsRead(), nil, &got); err != nil || got.Script != "echo/v1" {
		t.Fatalf("read after a lost reply: %v, %+v", err, got)
	}
	if n := srv.Counters().CommandsStarted; n != 3 {
		t.Errorf("commands started = %d, want 3: the read ran again after its reply was lost", n)
	}
}

// Failures before the Command request reached the server ran nothing: a write is retried after them, and is not
// "outcome unknown" when it finally fails.
func TestWriteRefusedBeforeItsCommandIsRetried(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.Retry = winrm.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: 10 * time.Millisecond}
	c := newClient(t, cfg)
	srv.Faults().SetQuotaNext(2) // the Create of the first two attempts
	runEcho(t, c, nil)
	if r, n := c.Stats().Retries, srv.Counters().CommandsStarted; r != 2 || n != 1 {
		t.Errorf("retries = %d, commands = %d; want 2 retries and one command", r, n)
	}
	fresh := newClient(t, cfg) // no pooled shell: the dropped connection hits Create
	srv.Faults().SetDropConnections(true)
	err := fresh.Run(context.Background(), script(t, "echo/v1"), nil, nil)
	srv.Faults().SetDropConnections(false)
	if errors.Is(err, winrm.ErrOutcomeUnknown) || fresh.Stats().Retries != 2 {
		t.Errorf("a write whose shell could not be created: %v after %d retries, want a plain failure after 2", err, fresh.Stats().Retries)
	}
	// With a pooled shell the dropped connection hits the Command request itself, which may have arrived.
	srv.Faults().SetDropConnections(true)
	err = c.Run(context.Background(), script(t, "echo/v1"), nil, nil)
	srv.Faults().SetDropConnections(false)
	if !errors.Is(err, winrm.ErrOutcomeUnknown) {
		t.Errorf("a write whose Command request was sent and dropped: %v, want outcome unknown", err)
	}
}

// A server whose AllowRemoteShellAccess is false refuses every shell: the error names the setting and the fix, and
// is a configuration error that no retry repeats.
func TestRemoteShellAccessRefused(t *testing.T) {
	srv := newLabWith(t, wsman.Options{TLS: true, DenyRemoteShellAccess: true})
	cfg := labConfig(srv)
	cfg.Retry = winrm.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond}
	c := newClient(t, cfg)
	err := c.Run(context.Background(), script(t, "echo/v1"), nil, nil)
	wantKind(t, err, winrm.KindShellAccess)
	if !strings.Contains(err.Error(), "AllowRemoteShellAccess") || !winrm.IsConfiguration(err) || winrm.IsTransient(err) || c.Stats().Retries != 0 {
		t.Errorf("error %v (retries %d): want AllowRemoteShellAccess named, a configuration error, no retry", err, c.Stats().Retries)
	}
	if err := c.Check(context.Background()); !winrm.IsConfiguration(err) {
		t.Errorf("Check: %v, want the same configuration error", err)
	}
	srv.Faults().SetRemoteShellAccess(true)
	runEcho(t, c, nil)
}

// A server whose CbtHardeningLevel is Strict refuses the client, whose NTLM (Azure/go-ntlmssp) sends no channel
// binding token: the logon error names the setting.
func TestStrictChannelBindingRefusesTheClient(t *testing.T) {
	srv := newLabWith(t, wsman.Options{TLS: true, StrictChannelBinding: true})
	err := newClient(t, labConfig(srv)).Run(context.Background(), script(t, "echo/v1"), nil, nil)
	wantKind(t, err, winrm.KindAuth)
	if !strings.Contains(err.Error(), "CbtHardeningLevel") || !strings.Contains(winrm.SettingsToCheck(err), "CbtHardeningLevel") {
		t.Errorf("the logon error does not name CbtHardeningLevel: %v", err)
	}
	srv.Faults().SetStrictChannelBinding(false)
	runEcho(t, newClient(t, labConfig(srv)), nil)
}

// A shell quota fault is a refusal before anything ran: the client waits for a shell to be freed (here the other
// client's, deleted once idle) and retries beyond Retry.Attempts, within the deadline, instead of failing.
func TestShellQuotaIsWaitedOut(t *testing.T) {
	srv := newLabWith(t, wsman.Options{TLS: true, MaxShellsPerUser: 1})
	holding := labConfig(srv)
	holding.ShellIdle = 300 * time.Millisecond
	runEcho(t, newClient(t, holding), nil) // its shell stays pooled until the pause ends
	waiting := labConfig(srv)
	waiting.Retry = winrm.RetryPolicy{Attempts: 2, Base: 50 * time.Millisecond, Max: 100 * time.Millisecond}
	c := newClient(t, waiting)
	runEcho(t, c, nil)
	if r := c.Stats().Retries; r < 2 {
		t.Errorf("retries = %d: the run did not wait past Retry.Attempts for the shell to be freed", r)
	}
	if p := srv.Counters().PeakShellsPerUser; p > 1 {
		t.Errorf("the account held %d shells at once, above MaxShellsPerUser 1", p)
	}
}

// The operations quota is told apart from the shells quota, with its own setting.
func TestOperationQuotaNamesItsSetting(t *testing.T) {
	srv := newLab(t, true)
	srv.Faults().SetQuotaNext(1)
	err := newClient(t, labConfig(srv)).Run(context.Background(), script(t, "echo/v1"), nil, nil)
	if e := kindError(t, err, winrm.KindQuota); e.Code != 2150859174 || !strings.Contains(err.Error(), "MaxConcurrentOperationsPerUser") ||
		strings.Contains(err.Error(), "MaxShellsPerUser") {
		t.Errorf("the operations quota error (code %d): %v", e.Code, err)
	}
}

// Check, the preflight before a block, waits out a shell quota too: it creates a shell and runs nothing.
func TestCheckWaitsOutTheShellQuota(t *testing.T) {
	srv := newLabWith(t, wsman.Options{TLS: true, MaxShellsPerUser: 1})
	holding := labConfig(srv)
	holding.ShellIdle = 300 * time.Millisecond
	runEcho(t, newClient(t, holding), nil)
	waiting := labConfig(srv)
	waiting.Retry = winrm.RetryPolicy{Attempts: 2, Base: 50 * time.Millisecond, Max: 100 * time.Millisecond}
	c := newClient(t, waiting)
	if err := c.Check(context.Background()); err != nil || c.Stats().Retries == 0 {
		t.Errorf("Check = %v after %d retries, want success after waiting", err, c.Stats().Retries)
	}
}

// A Send the server refuses with a fault ran nothing (the bootstrap runs the script only once stdin has ended): a
// write is retried after it. A quota fault on its Receive comes once the command may have run: never retried.
func TestWriteWhoseInputWasRefusedIsRetried(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.Retry = winrm.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: 10 * time.Millisecond}
	c := newClient(t, cfg)
	srv.Faults().SetQuotaNextOf("Send", 1)
	runEcho(t, c, nil)
	if r, n := c.Stats().Retries, srv.Counters().CommandsStarted; r != 1 || n != 1 {
		t.Errorf("retries = %d, commands run = %d; want one retry and one run", r, n)
	}
	// A Receive the server refuses for quota is asked again: the command runs on, and it ran once.
	srv.Faults().SetQuotaNextOf("Receive", 2)
	runEcho(t, c, nil)
	if n := srv.Counters().CommandsStarted; n != 2 {
		t.Errorf("commands run = %d after refused Receives, want 2: the command must not run again", n)
	}
	// Without retries, the refused Receive ends the run: the command may have run, so its outcome is unknown.
	once := labConfig(srv)
	srv.Faults().SetQuotaNextOf("Receive", 1)
	err := newClient(t, once).Run(context.Background(), script(t, "echo/v1"), nil, nil)
	if !errors.Is(err, winrm.ErrOutcomeUnknown) || srv.Counters().CommandsStarted != 3 {
		t.Errorf("a quota fault on Receive without retries: %v after %d runs; want outcome unknown after 3", err, srv.Counters().CommandsStarted)
	}
}

// A request whose NTLM handshake fails on its last leg, the one that carries the request (here the caller's deadline
// passes while the server, which received the Command, is slow to answer), fails as what happened: a timeout whose
// write may have arrived, not the server's first 401 that Azure/go-ntlmssp hands back, which read as a refused logon
// and as a Command that never reached the server.
func TestALastNTLMLegThatFailsIsNotARefusedLogon(t *testing.T) {
	srv := newLab(t, true)
	c := newClient(t, labConfig(srv))
	runEcho(t, c, nil)                                      // a pooled shell: the next run sends its Command first
	winrm.DropConnections(c)                                // on a new connection, which logs on again
	srv.Faults().SetReplyLatency("Command", 10*time.Second) // far longer than the run has
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := c.Run(ctx, script(t, "echo/v1"), nil, nil)
	srv.Faults().SetReplyLatency("Command", 0)
	if n := srv.Counters().Actions["Command"]; n != 2 {
		t.Fatalf("the server received %d Commands, want the second one too", n)
	}
	wantKind(t, err, winrm.KindTimeout)
	if !errors.Is(err, winrm.ErrOutcomeUnknown) {
		t.Errorf("error = %v; want the write's outcome unknown, since its Command reached the server", err)
	}
}
