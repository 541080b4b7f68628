package wsman

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/masterzen/winrm"
)

const (
	victim        = `CORP\victim`
	victimShellID = "00000000-0000-0000-0000-00000000AAAA"
	victimCmdID   = "00000000-0000-0000-0000-00000000BBBB"
)

// Any request body an authenticated caller sends is answered, promptly, with a SOAP envelope or a fault, and never
// reaches a shell or command of another account: the victim's shell and its pending command survive every request.
func FuzzSOAPRequest(f *testing.F) {
	srv, err := NewServer(Options{
		Name: "RAS1", Domain: "CORP", Users: map[string]string{victim: "Victim-Passw0rd!"},
		LocalUsers: map[string]string{"fuzzer": "Fuzz-Passw0rd!"},
		Executor: ExecutorFunc(func(context.Context, ExecRequest) ExecResult {
			return ExecResult{Stdout: []byte("out"), Stderr: []byte("err")}
		}),
		ReceiveWait: 20 * time.Millisecond, MaxShellsPerUser: 1 << 20,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	victimCmd := plantVictim(f, srv)
	for _, body := range libraryRequests("https://ras1:5986/wsman") {
		f.Add(body)
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/wsman", bytes.NewReader(body))
		req.SetBasicAuth("fuzzer", "Fuzz-Passw0rd!")
		req.Header.Set("Content-Type", soapContentType)
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); srv.ServeHTTP(w, req) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("no answer within 2 minutes to %q", body)
		}
		if w.Code != http.StatusOK && w.Code != http.StatusInternalServerError {
			t.Fatalf("status %d for %q", w.Code, body)
		}
		if err := wellFormed(w.Body.Bytes()); err != nil {
			t.Fatalf("the answer to %q is not XML: %v\n%s", body, err, w.Body.String())
		}
		srv.mu.Lock()
		sh := srv.shells[victimShellID]
		alive := sh != nil && sh.owner == victim && sh.commands[victimCmdID] == victimCmd && victimCmd.ctx.Err() == nil
		var own []*shell
		for _, s := range srv.shells {
			if s.owner != victim {
				own = append(own, s)
			}
		}
		srv.mu.Unlock()
		if !alive {
			t.Fatalf("the request %q reached another account's shell or command", body)
		}
		for _, s := range own { // keep the server small between inputs
			srv.deleteShell(context.Background(), s)
		}
	})
}

// plantVictim gives another account a shell with a command waiting for its input, under fixed ids the seeds name.
func plantVictim(f *testing.F, srv *Server) *command {
	id, fault := srv.createShell(victim, time.Hour)
	if fault != nil {
		f.Fatal(fault)
	}
	srv.mu.Lock()
	sh := srv.shells[id]
	delete(srv.shells, id)
	sh.id = victimShellID
	srv.shells[victimShellID] = sh
	srv.mu.Unlock()
	line := "powershell.exe -EncodedCommand " + encodeUTF16Base64("$input | Out-String")
	cmd, fault := srv.newCommand(victim, victimShellID, line)
	if fault != nil {
		f.Fatal(fault)
	}
	srv.mu.Lock()
	delete(sh.commands, cmd.id)
	cmd.id = victimCmdID
	sh.commands[victimCmdID] = cmd
	srv.mu.Unlock()
	return cmd
}

// libraryRequests are the envelopes the pinned WinRM client sends, for the fuzzer's own shell and for the victim's.
func libraryRequests(url string) [][]byte {
	params := winrm.NewParameters("PT60S", "en-US", 153600)
	var out [][]byte
	add := func(s interface{ String() string }) { out = append(out, []byte(s.String())) }
	add(winrm.NewOpenShellRequest(url, params))
	for _, shellID := range []string{victimShellID, "unknown"} {
		add(winrm.NewExecuteCommandRequest(url, shellID, "powershell.exe", []string{"-EncodedCommand", encodeUTF16Base64("$input")}, params))
		add(winrm.NewSendInputRequest(url, shellID, victimCmdID, []byte("stdin\x00\x00\x00\x00e30="), true, params))
		add(winrm.NewGetOutputRequest(url, shellID, victimCmdID, "stdout stderr", params))
		add(winrm.NewSignalRequest(url, shellID, victimCmdID, params))
		add(winrm.NewDeleteShellRequest(url, shellID, params))
	}
	return out
}

func encodeUTF16Base64(s string) string {
	var raw []byte
	for _, r := range s {
		raw = append(raw, byte(r), byte(r>>8))
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func wellFormed(doc []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
