package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// The command as a user runs it: start, read the JSON it prints, use the endpoints, interrupt, clean exit.
func TestRunPrintsInfoServesAndStopsOnInterrupt(t *testing.T) {
	dir := t.TempDir()
	caFile, infoFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "info.json")
	// A world-readable file left from before is replaced by one only its owner reads: it holds passwords.
	if err := os.WriteFile(infoFile, []byte("{}"), 0o644); err != nil { //nolint:gosec // the test's starting point
		t.Fatal(err)
	}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	stdoutReader, stdout := io.Pipe()
	var stderr bytes.Buffer // written by run only, read after it returned
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", "../../testdata/lab.json", "-port", "0", "-ca-file", caFile, "-info-file", infoFile}, stdout, &stderr)
		_ = stdout.Close()
	}()

	var info lab.Info
	if err := json.NewDecoder(stdoutReader).Decode(&info); err != nil {
		interrupt()
		t.Fatalf("reading the printed information: %v (run: %v, stderr: %s)", err, <-done, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdoutReader) }()

	if info.WinRMPort == 5986 || info.WinRMPort == 0 || len(info.Servers) != 2 {
		t.Errorf("-port 0 did not override the configuration's port 5986: %+v", info)
	}
	if ca, err := os.ReadFile(caFile); err != nil || string(ca) != info.CACertificatePEM || info.CACertificateFile != caFile {
		t.Errorf("CA file %s (Info says %q): %v", caFile, info.CACertificateFile, err)
	}
	var written lab.Info
	if data, err := os.ReadFile(infoFile); err != nil || json.Unmarshal(data, &written) != nil || !reflect.DeepEqual(written, info) {
		t.Errorf("info file = %+v, %v; want what was printed", written, err)
	}
	if fi, err := os.Stat(infoFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("info file mode = %v, %v; want -rw------- (it holds the lab's passwords)", fi.Mode().Perm(), err)
	}

	opCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := winrm.NewClient(winrm.Config{
		Host: info.Servers[1].Address, Port: info.WinRMPort, HTTPS: true, CACertPEM: []byte(info.CACertificatePEM),
		Username: info.WinRMUsername, Password: info.WinRMPassword, Retry: winrm.RetryPolicy{Attempts: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	if nodes, err := remoteaccess.GetNodes(opCtx, client); err != nil || len(nodes) != 4 || !nodes[1].IsLocal || !nodes[3].IsLocal {
		t.Errorf("get-nodes on %s = %+v, %v", info.Servers[1].Name, nodes, err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(info.CACertificatePEM))
	conn, err := ldap.DialURL(info.LDAPURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.StartTLS(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}); err != nil {
		t.Errorf("StartTLS on %s: %v", info.LDAPURL, err)
	} else if err := conn.Bind(info.LDAPBindUsername, info.LDAPBindPassword); err != nil {
		t.Errorf("bind on %s: %v", info.LDAPURL, err)
	}
	_ = conn.Close()

	interrupt()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after the interrupt: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after the interrupt")
	}
	if logs := stderr.String(); !strings.Contains(logs, "script=get-nodes/v1") || !strings.Contains(logs, "stopping the lab") {
		t.Errorf("stderr does not log the command and the shutdown:\n%s", logs)
	} else if strings.Contains(logs, info.WinRMPassword) || strings.Contains(logs, info.LDAPBindPassword) {
		t.Errorf("the log holds a password:\n%s", logs)
	}
}

func TestRunRefusesBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"-config", filepath.Join(t.TempDir(), "missing.json")},
		{"-port", "many"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr); err == nil {
			t.Errorf("run %q succeeded", args)
		}
		if stdout.Len() != 0 {
			t.Errorf("run %q printed %q", args, stdout.String())
		}
	}
}
