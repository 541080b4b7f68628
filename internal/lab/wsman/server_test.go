package wsman_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/Azure/go-ntlmssp"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/masterzen/winrm"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
)

// recorder is an executor that answers with what it was given.
type recorder struct{ requests chan wsman.ExecRequest }

func (r recorder) Execute(_ context.Context, req wsman.ExecRequest) wsman.ExecResult {
	r.requests <- req
	return wsman.ExecResult{Stdout: []byte("out:" + string(req.Stdin)), Stderr: []byte("err"), ExitCode: 7}
}

func start(t *testing.T, opts wsman.Options) *wsman.Server {
	t.Helper()
	if opts.Users == nil {
		opts.Users = map[string]string{"admin@corp.example": "S3cret!"}
	}
	if opts.LocalUsers == nil {
		opts.LocalUsers = map[string]string{"localadmin": "L0cal!"}
	}
	if opts.Executor == nil {
		opts.Executor = recorder{requests: make(chan wsman.ExecRequest, 10)}
	}
	opts.Name, opts.Domain = "RAS1", "CORP"
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

// libraryClient is the pinned client with its own transports: NTLM (ClientNTLM) or, by default, Basic.
func libraryClient(t *testing.T, srv *wsman.Server, user, password string, ntlm bool) *winrm.Client {
	t.Helper()
	host, port := srv.Endpoint()
	endpoint := winrm.NewEndpoint(host, port, srv.CACertPEM() != nil, false, srv.CACertPEM(), nil, nil, 10*time.Second)
	params := winrm.NewParameters("PT5S", "en-US", 153600)
	if ntlm {
		params.TransportDecorator = func() winrm.Transporter { return &winrm.ClientNTLM{} }
	}
	c, err := winrm.NewClientWithParameters(endpoint, user, password, params)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func encoded(script string) string {
	units := utf16.Encode([]rune(script))
	raw := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(raw[2*i:], u)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func TestLibraryTransportsAndAccountForms(t *testing.T) {
	rec := recorder{requests: make(chan wsman.ExecRequest, 10)}
	srv := start(t, wsman.Options{TLS: true, Executor: rec})
	for _, tc := range []struct {
		name, user, password, want string
		ntlm                       bool
	}{
		{"NTLM down-level name", `CORP\admin`, "S3cret!", `CORP\admin`, true},
		{"NTLM UPN", "admin@corp.example", "S3cret!", `CORP\admin`, true},
		{"NTLM bare name", "Admin", "S3cret!", `CORP\admin`, true},
		{"NTLM local account", `RAS1\localadmin`, "L0cal!", `RAS1\localadmin`, true},
		{"Basic local account", "localadmin", "L0cal!", `RAS1\localadmin`, false},
		{"Basic local account with the server's name", `ras1\LocalAdmin`, "L0cal!", `RAS1\localadmin`, false},
		{"Basic local account with a dot", `.\localadmin`, "L0cal!", `RAS1\localadmin`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := libraryClient(t, srv, tc.user, tc.password, tc.ntlm)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// The library sends stdin from one goroutine while another polls for output, over one pool of
			// connections: with NTLM, the legs of a handshake can then travel on different connections, which
			// Windows refuses (NTLM authenticates a connection; TestNTLMAuthenticatesTheConnectionThatWasChallenged),
			// and the command waits for input that never comes. The provider's transport gives each exchange a
			// connection of its own (internal/winrm/transport.go); here the NTLM clients run a command without
			// input, so that their requests go one at a time.
			script, stdin, want := "$x = $input | Out-String", "stdin data", "out:stdin data"
			var stdout, stderr string
			var code int
			var err error
			if tc.ntlm {
				script, want = "$env:COMPUTERNAME", "out:"
				stdout, stderr, code, err = c.RunCmdWithContext(ctx, "powershell.exe -EncodedCommand "+encoded(script))
			} else {
				stdout, stderr, code, err = c.RunWithContextWithString(ctx, "powershell.exe -EncodedCommand "+encoded(script), stdin)
			}
			if err != nil {
				t.Fatal(err)
			}
			if stdout != want || stderr != "err" || code != 7 {
				t.Errorf("got stdout %q, stderr %q, exit %d", stdout, stderr, code)
			}
			req := <-rec.requests
			if req.User != tc.want || req.Server != "RAS1" || req.EncodedScript != script {
				t.Errorf("executor saw %+v, want user %s", req, tc.want)
			}
		})
	}
	// Windows accepts Basic for local accounts only: a domain account is refused in every spelling, even with the
	// right password.
	for _, tc := range []struct {
		name, user string
		ntlm       bool
	}{
		{"NTLM wrong domain", `OTHER\admin`, true},
		{"Basic domain account, down-level name", `corp\ADMIN`, false},
		{"Basic domain account, UPN", "admin@CORP.example", false},
		{"Basic domain account, bare name", "admin", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := libraryClient(t, srv, tc.user, "S3cret!", tc.ntlm)
			if _, err := c.CreateShell(); err == nil || !strings.Contains(err.Error(), "401") {
				t.Fatalf("CreateShell = %v, want HTTP 401", err)
			}
		})
	}
	counters := srv.Counters()
	if counters.AuthFailures != 4 || counters.BasicLogons == 0 || counters.NTLMLogons < 4 {
		t.Errorf("counters = %+v, want 4 refused logons, Basic logons, and an NTLM logon per NTLM client", counters)
	}
}

// TestNTLMAuthenticatesTheConnectionThatWasChallenged: NTLM over HTTP authenticates a connection ("NTLM
// authentication is connection-based", HTTP.sys as Windows' WinRM listener uses it): an AUTHENTICATE message
// is accepted only on the connection its challenge was issued on, and later requests on that connection pass
// without credentials while another connection's do not.
func TestNTLMAuthenticatesTheConnectionThatWasChallenged(t *testing.T) {
	srv := start(t, wsman.Options{})
	host, port := srv.Endpoint()
	url := fmt.Sprintf("http://%s/wsman", net.JoinHostPort(host, strconv.Itoa(port)))
	// Each client holds one connection of its own.
	firstTransport, secondTransport := &http.Transport{MaxConnsPerHost: 1}, &http.Transport{MaxConnsPerHost: 1}
	t.Cleanup(firstTransport.CloseIdleConnections)
	t.Cleanup(secondTransport.CloseIdleConnections)
	first, second := &http.Client{Transport: firstTransport}, &http.Client{Transport: secondTransport}
	// post answers the response's status and WWW-Authenticate header.
	post := func(c *http.Client, authorization string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("<x/>"))
		if err != nil {
			t.Fatal(err)
		}
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	negotiate := func(c *http.Client) []byte {
		t.Helper()
		msg, err := ntlmssp.NewNegotiateMessage("", "")
		if err != nil {
			t.Fatal(err)
		}
		status, header := post(c, "Negotiate "+base64.StdEncoding.EncodeToString(msg))
		scheme, token, _ := strings.Cut(header, " ")
		challenge, err := base64.StdEncoding.DecodeString(token)
		if status != http.StatusUnauthorized || scheme != "Negotiate" || err != nil || len(challenge) == 0 {
			t.Fatalf("NEGOTIATE answered %d %q, want 401 with a challenge", status, header)
		}
		auth, err := ntlmssp.NewAuthenticateMessage(challenge, `CORP\admin`, "S3cret!", nil)
		if err != nil {
			t.Fatal(err)
		}
		return auth
	}

	auth := negotiate(first)
	if status, _ := post(second, "Negotiate "+base64.StdEncoding.EncodeToString(auth)); status != http.StatusUnauthorized {
		t.Errorf("AUTHENTICATE on a connection that was not challenged answered %d, want 401", status)
	}
	if status, _ := post(first, "Negotiate "+base64.StdEncoding.EncodeToString(negotiate(first))); status == http.StatusUnauthorized {
		t.Error("AUTHENTICATE on the challenged connection answered 401")
	}
	if status, _ := post(first, ""); status == http.StatusUnauthorized {
		t.Error("a request without credentials on the authenticated connection answered 401")
	}
	if status, _ := post(second, ""); status != http.StatusUnauthorized {
		t.Errorf("a request without credentials on another connection answered %d, want 401", status)
	}
	if c := srv.Counters(); c.NTLMLogons != 1 || c.AuthFailures != 1 {
		t.Errorf("counters = %+v, want one NTLM logon and one refused", c)
	}
}

func TestCommandWithoutStdinStartsAtOnce(t *testing.T) {
	rec := recorder{requests: make(chan wsman.ExecRequest, 1)}
	srv := start(t, wsman.Options{Executor: rec})
	c := libraryClient(t, srv, "localadmin", "L0cal!", false)
	stdout, _, code, err := c.RunCmdWithContext(context.Background(), "hostname")
	if err != nil || stdout != "out:" || code != 7 {
		t.Fatalf("RunCmd = %q, %d, %v", stdout, code, err)
	}
	if req := <-rec.requests; req.CommandLine != "hostname" || req.EncodedScript != "" {
		t.Errorf("executor saw %+v", req)
	}
	counters := srv.Counters()
	for action, want := range map[string]int64{"Create": 1, "Command": 1, "Signal": 1, "Delete": 1} {
		if counters.Actions[action] != want {
			t.Errorf("%s requests = %d, want %d", action, counters.Actions[action], want)
		}
	}
	if counters.OpenShells != 0 || counters.RunningCommands != 0 || counters.CommandsStarted != 1 {
		t.Errorf("counters = %+v", counters)
	}
}

func TestFaults(t *testing.T) {
	srv := start(t, wsman.Options{TLS: true, MaxShellsPerUser: 2})
	c := libraryClient(t, srv, "admin", "S3cret!", true)
	t.Run("unknown shell", func(t *testing.T) {
		_, err := c.NewShell("NO-SUCH-SHELL").ExecuteWithContext(context.Background(), "hostname")
		wantFault(t, err, "2150858843")
	})
	t.Run("shells per user", func(t *testing.T) {
		for range 2 {
			if _, err := c.CreateShell(); err != nil {
				t.Fatal(err)
			}
		}
		open := srv.OpenShells()
		if len(open) != 2 || open[0].ID == open[1].ID || open[0].Owner != `CORP\admin` || open[1].Created.Before(open[0].Created) || open[1].LastUsed.Before(open[1].Created) {
			t.Errorf("OpenShells = %+v, want two shells of CORP\\admin, oldest first", open)
		}
		_, err := c.CreateShell()
		if body := wantFault(t, err, "2150859173"); !strings.Contains(body, "maximum number of 2 concurrent shells") { // ERROR_WSMAN_QUOTA_MAX_SHELLS
			t.Errorf("the shell quota fault says %s", body)
		}
		srv.ExpireShells()
		if n := srv.Counters().OpenShells; n != 0 || len(srv.OpenShells()) != 0 {
			t.Errorf("OpenShells = %d (%+v) after ExpireShells", n, srv.OpenShells())
		}
	})
	t.Run("injected quota every 2nd request", func(t *testing.T) {
		srv.Faults().SetQuotaEvery(2)
		defer srv.Faults().SetQuotaEvery(0)
		var failures int
		for range 4 {
			if s, err := c.CreateShell(); err != nil {
				failures++
			} else {
				_ = s.Close()
			}
		}
		if failures == 0 {
			t.Error("no request failed")
		}
		srv.Faults().SetQuotaNext(1)
		_, err := c.CreateShell()
		wantFault(t, err, "2150859174") // ERROR_WSMAN_QUOTA_MAX_OPERATIONS
	})
	t.Run("remote shell access refused", func(t *testing.T) {
		srv.Faults().SetRemoteShellAccess(false)
		defer srv.Faults().SetRemoteShellAccess(true)
		_, err := c.CreateShell()
		body := wantFault(t, err, "2150859180") // ERROR_WSMAN_REMOTESHELLS_NOT_ALLOWED
		if !strings.Contains(body, "w:InternalError") || !strings.Contains(body, "configured to not accept any remote shell requests") {
			t.Errorf("the fault says %s, want a wsman:InternalError (MS-WSMV 2.2.4.42)", body)
		}
	})
	t.Run("strict channel binding refuses a client that sends none", func(t *testing.T) {
		srv.Faults().SetStrictChannelBinding(true)
		defer srv.Faults().SetStrictChannelBinding(false)
		strict := libraryClient(t, srv, "admin", "S3cret!", true) // NTLM over HTTPS, Azure/go-ntlmssp: no channel binding
		if _, err := strict.CreateShell(); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err = %v, want a refused logon", err)
		}
	})
	t.Run("wrong content type", func(t *testing.T) {
		srv.Faults().SetWrongContentType(true)
		defer srv.Faults().SetWrongContentType(false)
		if _, err := c.CreateShell(); err == nil || !strings.Contains(err.Error(), "invalid content type") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("authentication failure", func(t *testing.T) {
		srv.Faults().SetAuthFailure(true)
		defer srv.Faults().SetAuthFailure(false)
		if _, err := c.CreateShell(); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("request latency", func(t *testing.T) {
		srv.ExpireShells() // shells whose Delete met the injected quota are still open
		srv.Faults().SetRequestLatency(50 * time.Millisecond)
		defer srv.Faults().SetRequestLatency(0)
		begin := time.Now()
		s, err := c.CreateShell()
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		if time.Since(begin) < 50*time.Millisecond {
			t.Error("the request was not delayed")
		}
	})
}

// wantFault checks a fault as the library reports it: it reads HTTP 500 SOAP faults as replies, so the fault
// arrives as an ExecuteCommandError carrying the envelope.
func wantFault(t *testing.T, err error, code string) string {
	t.Helper()
	var fault *winrm.ExecuteCommandError
	if !errors.As(err, &fault) || !strings.Contains(fault.Body, `Code="`+code+`"`) || !strings.Contains(fault.Body, "<s:Fault>") {
		t.Fatalf("err = %v, want the WS-Management fault %s", err, code)
	}
	return fault.Body
}

func TestReceiveLongPollEndsWithOperationTimeout(t *testing.T) {
	srv := start(t, wsman.Options{ReceiveWait: 50 * time.Millisecond})
	srv.Faults().SetHangCommands(true)
	c := libraryClient(t, srv, "localadmin", "L0cal!", false)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	// The library polls again on the timeout fault until the context ends and it signals the command.
	_, _, _, err := c.RunCmdWithContext(ctx, "hostname")
	if err == nil {
		t.Fatal("a hung command finished")
	}
	counters := srv.Counters()
	if counters.Actions["Receive"] < 2 || counters.RunningCommands != 0 {
		t.Errorf("Receive requests = %d, running = %d; want several polls and the command terminated",
			counters.Actions["Receive"], counters.RunningCommands)
	}
}

func TestHTTPErrors(t *testing.T) {
	srv := start(t, wsman.Options{})
	base := strings.TrimSuffix(srv.URL(), "/wsman")
	for _, tc := range []struct {
		method, path, contentType string
		want                      int
	}{
		{http.MethodGet, "/wsman", "", http.StatusMethodNotAllowed},
		{http.MethodPost, "/other", "", http.StatusNotFound},
		{http.MethodPost, "/wsman", "application/soap+xml;charset=UTF-8", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader("<x/>"))
		req.Header.Set("Content-Type", tc.contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusUnauthorized && len(resp.Header.Values("WWW-Authenticate")) != 2 {
			t.Errorf("401 offers %q, want Negotiate and Basic", resp.Header.Values("WWW-Authenticate"))
		}
	}
}

func TestDecodeEncodedCommand(t *testing.T) {
	script := "# remoteaccess-bootstrap/v1\n$payload = $input | Out-String\n"
	for _, line := range []string{
		"powershell.exe -NoProfile -EncodedCommand " + encoded(script),
		"PowerShell -enc " + encoded(script),
		"powershell.exe -e " + encoded("\ufeff"+script),
		"powershell -EC " + encoded(script),
	} {
		got, err := wsman.DecodeEncodedCommand(line)
		if err != nil || got != script {
			t.Errorf("DecodeEncodedCommand(%.40q) = %q, %v", line, got, err)
		}
	}
	if got, err := wsman.DecodeEncodedCommand("cmd /c dir"); got != "" || err != nil {
		t.Errorf("plain command = %q, %v", got, err)
	}
	if _, err := wsman.DecodeEncodedCommand("powershell -EncodedCommand !!!"); err == nil {
		t.Error("bad base64 was accepted")
	}
}

func TestOptions(t *testing.T) {
	if _, err := wsman.NewServer(wsman.Options{}); err == nil {
		t.Error("a server without an executor was created")
	}
	_, err := wsman.NewServer(wsman.Options{Domain: "CORP", Users: map[string]string{`OTHER\x`: "p"}, Executor: recorder{}})
	if err == nil {
		t.Error("a user of another domain was accepted")
	}
	srv := start(t, wsman.Options{TLS: true, ExtraDNSNames: []string{"ras1.corp.example"}})
	if !strings.HasPrefix(srv.URL(), "https://127.0.0.1:") || !strings.Contains(string(srv.CACertPEM()), "BEGIN CERTIFICATE") {
		t.Errorf("URL %s, CA %q", srv.URL(), srv.CACertPEM())
	}
	if err := srv.Start("127.0.0.1:0"); err == nil {
		t.Error("a second Start succeeded")
	}
	for name, k := range map[string]*wsman.KerberosOptions{
		"no keytab": {Realm: "CORP.EXAMPLE"},
		"no realm":  {Keytab: oneKeyKeytab(t)},
	} {
		if _, err := wsman.NewServer(wsman.Options{Executor: recorder{}, Kerberos: k}); err == nil {
			t.Errorf("Kerberos with %s was accepted", name)
		}
	}
}

// oneKeyKeytab is a keytab with one made-up key for HTTP/ras1.corp.example.
func oneKeyKeytab(t *testing.T) *keytab.Keytab {
	t.Helper()
	kt := keytab.New()
	if err := kt.AddEntry("HTTP/ras1.corp.example", "CORP.EXAMPLE", "not-a-real-key", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	return kt
}

// Tokens that are neither NTLM nor a verifiable Kerberos AP-REQ are refused (the real path, with tickets from
// Samba's KDC, is tested in internal/winrm and internal/provider). Without Kerberos options the scheme is not offered.
func TestKerberosRefusesWhatDoesNotVerify(t *testing.T) {
	plain := start(t, wsman.Options{})
	kerberos := start(t, wsman.Options{Kerberos: &wsman.KerberosOptions{Keytab: oneKeyKeytab(t), Realm: "CORP.EXAMPLE"}})
	for _, tc := range []struct {
		name   string
		srv    *wsman.Server
		header string
	}{
		{"Kerberos scheme without Kerberos", plain, "Kerberos " + base64.StdEncoding.EncodeToString([]byte("token"))},
		{"not a SPNEGO or Kerberos token", kerberos, "Negotiate " + base64.StdEncoding.EncodeToString([]byte("\x60\x03garbage"))},
		{"bare Kerberos scheme with garbage", kerberos, "Kerberos " + base64.StdEncoding.EncodeToString([]byte("garbage"))},
		{"not base64", kerberos, "Kerberos !!!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.srv.Counters().AuthFailures
			req, _ := http.NewRequest(http.MethodPost, tc.srv.URL(), strings.NewReader("<x/>"))
			req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
			req.Header.Set("Authorization", tc.header)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || tc.srv.Counters().AuthFailures != before+1 {
				t.Errorf("status %d, auth failures %d -> %d; want a counted 401", resp.StatusCode, before, tc.srv.Counters().AuthFailures)
			}
			offersKerberos := slices.Contains(resp.Header.Values("WWW-Authenticate"), "Kerberos")
			if offersKerberos != (tc.srv == kerberos) {
				t.Errorf("401 offers %q", resp.Header.Values("WWW-Authenticate"))
			}
		})
	}
}
