// Package samba runs a throwaway Samba Active Directory domain controller for tests.
//
// Start copies a provisioned and seeded domain (built once by scripts/samba-ad.sh and cached) into
// t.TempDir(), gives it its own loopback address (Samba's LDAP ports are fixed), starts samba and
// waits for an authenticated LDAPS bind. Samba is stopped by t.Cleanup, and dies with the test
// process in any case: it runs interactively on a stdin pipe that closes when the process exits,
// with a parent-death signal as a second line.
//
// Without a samba binary the test is skipped, unless REMOTEACCESS_REQUIRE_SAMBA=1 (as in CI),
// which turns the skip into a failure.
package samba

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// RequireEnv makes a missing Samba a test failure instead of a skip.
const RequireEnv = "REMOTEACCESS_REQUIRE_SAMBA"

// Instance is one running domain controller.
type Instance struct {
	Dir        string
	Address    string // 127.0.0.x
	LDAPSURL   string // ldaps://127.0.0.x
	LDAPURL    string // ldap://127.0.0.x (StartTLS)
	CACertPath string
	CACertPEM  []byte
	Krb5Conf   string // krb5.conf whose KDC is this instance
	SmbConf    string
	SamLDB     string

	Realm         string // SAMBA.TEST
	DNSRoot       string // samba.test
	NetBIOSDomain string // SAMBATEST
	BaseDN        string // DC=samba,DC=test
	DCName        string // DC1
	DCHostName    string // dc1.samba.test

	AdminUser     string // Administrator
	AdminUPN      string
	AdminDN       string
	AdminPassword string

	t      testing.TB
	mu     sync.Mutex
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}
}

// facts mirrors `samba-ad.sh prepare` JSON output.
type facts struct {
	Dir           string `json:"dir"`
	Address       string `json:"address"`
	LDAPSURL      string `json:"ldaps_url"`
	LDAPURL       string `json:"ldap_url"`
	CACert        string `json:"ca_cert"`
	SmbConf       string `json:"smb_conf"`
	Krb5Conf      string `json:"krb5_conf"`
	SamLDB        string `json:"sam_ldb"`
	Realm         string `json:"realm"`
	DNSRoot       string `json:"dns_root"`
	NetBIOSDomain string `json:"netbios_domain"`
	BaseDN        string `json:"base_dn"`
	DCName        string `json:"dc_name"`
	DCHostName    string `json:"dc_host_name"`
	AdminUser     string `json:"admin_user"`
	AdminUPN      string `json:"admin_upn"`
	AdminDN       string `json:"admin_dn"`
	AdminPassword string `json:"admin_password"`
}

// Start starts a fresh domain controller for t, seeded from scripts/samba-seed.json.
func Start(t testing.TB) *Instance {
	t.Helper()
	if _, err := exec.LookPath("samba"); err != nil {
		msg := "samba is not installed (run scripts/samba-ad.sh install as root)"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s, and %s=1", msg, RequireEnv)
		}
		t.Skipf("%s; set %s=1 to make this a failure", msg, RequireEnv)
	}
	addr, lock, err := ReserveAddress()
	if err != nil {
		t.Fatalf("samba: %v", err)
	}
	t.Cleanup(func() { _ = lock.Close() })

	dir := filepath.Join(t.TempDir(), "samba")
	cmd := exec.Command("bash", scriptPath(), "prepare", dir, addr)
	cmd.Env = append(os.Environ(), "SAMBA_AD_OUTPUT=json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("samba: samba-ad.sh prepare: %v\n%s", err, stderr.String())
	}
	var f facts
	if err := json.Unmarshal(out, &f); err != nil {
		t.Fatalf("samba: samba-ad.sh prepare printed %q: %v", out, err)
	}
	pem, err := os.ReadFile(f.CACert)
	if err != nil {
		t.Fatalf("samba: %v", err)
	}
	inst := &Instance{
		Dir: f.Dir, Address: f.Address, LDAPSURL: f.LDAPSURL, LDAPURL: f.LDAPURL,
		CACertPath: f.CACert, CACertPEM: pem, Krb5Conf: f.Krb5Conf, SmbConf: f.SmbConf, SamLDB: f.SamLDB,
		Realm: f.Realm, DNSRoot: f.DNSRoot, NetBIOSDomain: f.NetBIOSDomain, BaseDN: f.BaseDN,
		DCName: f.DCName, DCHostName: f.DCHostName,
		AdminUser: f.AdminUser, AdminUPN: f.AdminUPN, AdminDN: f.AdminDN, AdminPassword: f.AdminPassword,
		t: t,
	}
	t.Cleanup(inst.Stop)
	inst.start()
	return inst
}

// scriptPath finds scripts/samba-ad.sh relative to this source file.
func scriptPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "samba-ad.sh")
}

// SeedAccount is a user of scripts/samba-seed.json, for tests that log on as it.
type SeedAccount struct {
	Name     string   `json:"name"`
	Password string   `json:"password"`
	SPNs     []string `json:"spns"`
}

// SeedUser returns the seeded user name, failing the test when the seed has no such user.
func SeedUser(t testing.TB, name string) SeedAccount {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(filepath.Dir(scriptPath()), "samba-seed.json"))
	if err != nil {
		t.Fatalf("samba: %v", err)
	}
	var seed struct {
		Users []SeedAccount `json:"users"`
	}
	if err := json.Unmarshal(data, &seed); err != nil {
		t.Fatalf("samba: samba-seed.json: %v", err)
	}
	for _, u := range seed.Users {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("samba: samba-seed.json has no user %q", name)
	return SeedAccount{}
}

// ReserveAddress picks a loopback address for a Samba instance that no other process (test or benchmark) uses: an
// flock on a file per address (released by the kernel if the process dies) plus a check that nothing listens on its
// LDAPS port. The address is held until the returned file is closed.
func ReserveAddress() (string, *os.File, error) {
	for host := 21; host < 100; host++ {
		addr := fmt.Sprintf("127.0.0.%d", host)
		f, err := os.OpenFile(filepath.Join(os.TempDir(), "remoteaccess-samba-"+addr+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return "", nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			continue
		}
		if l, err := net.Listen("tcp", net.JoinHostPort(addr, "636")); err == nil {
			_ = l.Close()
			return addr, f, nil
		} else if !errors.Is(err, syscall.EADDRINUSE) {
			_ = f.Close()
			return "", nil, fmt.Errorf("probing %s:636: %w", addr, err)
		}
		_ = f.Close()
	}
	return "", nil, errors.New("no free loopback address in 127.0.0.21-99")
}

func (i *Instance) start() {
	i.t.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	logFile, err := os.OpenFile(filepath.Join(i.Dir, "log", "samba.stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		i.t.Fatalf("samba: %v", err)
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command("samba", "-i", "-M", "single", "-s", i.SmbConf)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe() // samba -i exits when its stdin closes, i.e. when we die
	if err != nil {
		i.t.Fatalf("samba: %v", err)
	}
	if err := cmd.Start(); err != nil {
		i.t.Fatalf("samba: starting: %v", err)
	}
	i.cmd, i.stdin, i.exited = cmd, stdin, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(i.exited)

	deadline := time.Now().Add(30 * time.Second)
	for {
		err := i.bind()
		if err == nil {
			return
		}
		select {
		case <-i.exited:
			i.t.Fatalf("samba exited before answering a bind: %v\n%s", err, i.logTail())
		default:
		}
		if time.Now().After(deadline) {
			i.t.Fatalf("samba: no authenticated LDAPS bind on %s after 30 s: %v\n%s", i.Address, err, i.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bind proves the server ready: an LDAPS connection verified with the CA and an administrator bind.
func (i *Instance) bind() error {
	conn, err := i.dialAdmin(2 * time.Second)
	if err == nil {
		_ = conn.Close()
	}
	return err
}

// AdminConn is a go-ldap connection bound as the administrator over LDAPS, for raw requests; closed by t.Cleanup.
func (i *Instance) AdminConn() *ldap.Conn {
	i.t.Helper()
	conn, err := i.dialAdmin(10 * time.Second)
	if err != nil {
		i.t.Fatalf("samba: %v", err)
	}
	i.t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func (i *Instance) dialAdmin(timeout time.Duration) (*ldap.Conn, error) {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(i.CACertPEM)
	conn, err := ldap.DialURL(i.LDAPSURL, ldap.DialWithDialer(&net.Dialer{Timeout: timeout}),
		ldap.DialWithTLSConfig(&tls.Config{RootCAs: roots, ServerName: i.Address, MinVersion: tls.VersionTLS12}))
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(timeout)
	if err := conn.Bind(i.AdminUPN, i.AdminPassword); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

func (i *Instance) logTail() string {
	var lines []string
	for _, name := range []string{"samba.stdout", "samba.log"} {
		f, err := os.Open(filepath.Join(i.Dir, "log", name))
		if err != nil {
			continue
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			lines = append(lines, s.Text())
		}
		_ = f.Close()
	}
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// Stop stops samba; it is safe to call more than once.
func (i *Instance) Stop() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.cmd == nil {
		return
	}
	_ = i.stdin.Close()
	_ = syscall.Kill(-i.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-i.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL)
		<-i.exited
	}
	i.cmd = nil
}

// Restart stops samba and starts it again on the same data, for failover and reconnect tests.
func (i *Instance) Restart() {
	i.t.Helper()
	i.Stop()
	i.start()
}

// SambaTool runs samba-tool against this instance's database and returns its standard output.
func (i *Instance) SambaTool(args ...string) string {
	i.t.Helper()
	return i.run("samba-tool", append(args, "-s", i.SmbConf)...)
}

func (i *Instance) run(name string, args ...string) string {
	i.t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		i.t.Fatalf("samba: %s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// CreateComputer adds a computer account; enabled ones are made with --prepare-oldjoin (userAccountControl
// 4096), others as samba-tool's default disabled account (4098).
func (i *Instance) CreateComputer(name string, enabled bool) {
	i.t.Helper()
	args := []string{"computer", "create", name}
	if enabled {
		args = append(args, "--prepare-oldjoin")
	}
	i.SambaTool(args...)
}

// CreateUser adds an enabled user account with a password.
func (i *Instance) CreateUser(name, password string) {
	i.t.Helper()
	i.SambaTool("user", "create", name, password)
}

// LDBSearch reads the attributes of the one object matching filter with Samba's own ldbsearch, which
// prints objectGUID and objectSid in their string forms: a reference to compare decoders against.
func (i *Instance) LDBSearch(filter string, attrs ...string) map[string][]string {
	i.t.Helper()
	records := i.ldbSearch(filter, attrs)
	if len(records) != 1 {
		i.t.Fatalf("samba: ldbsearch %s found %d records, want 1", filter, len(records))
	}
	return records[0]
}

// LDBSearchAll reads the attributes of every object matching filter with ldbsearch, keyed by distinguished name:
// what the directory holds, read without the provider's code or an LDAP client.
func (i *Instance) LDBSearchAll(filter string, attrs ...string) map[string]map[string][]string {
	i.t.Helper()
	byDN := map[string]map[string][]string{}
	for _, r := range i.ldbSearch(filter, attrs) {
		if len(r["dn"]) != 1 {
			i.t.Fatalf("samba: ldbsearch %s printed a record without one dn: %v", filter, r)
		}
		byDN[r["dn"][0]] = r
	}
	return byDN
}

// ldbSearch runs ldbsearch and parses its LDIF into records, each with its "dn".
func (i *Instance) ldbSearch(filter string, attrs []string) []map[string][]string {
	i.t.Helper()
	out := i.run("ldbsearch", append([]string{"-H", i.SamLDB, filter}, attrs...)...)
	var records []map[string][]string
	// LDIF folds long lines (a continuation starts with one space) and base64-encodes values after "::".
	unfolded := strings.ReplaceAll(out, "\n ", "")
	for _, line := range strings.Split(unfolded, "\n") {
		switch {
		case strings.HasPrefix(line, "# record"):
			records = append(records, map[string][]string{})
		case strings.HasPrefix(line, "#"), line == "", strings.HasPrefix(line, "ref: "), len(records) == 0:
		default:
			rec := records[len(records)-1]
			if key, value, ok := strings.Cut(line, ":: "); ok {
				decoded, err := base64.StdEncoding.DecodeString(value)
				if err != nil {
					i.t.Fatalf("samba: ldbsearch value of %s: %v", key, err)
				}
				rec[key] = append(rec[key], string(decoded))
			} else if key, value, ok := strings.Cut(line, ": "); ok {
				rec[key] = append(rec[key], value)
			}
		}
	}
	return records
}

// ExportKeytab writes the keys of principal (e.g. "Administrator@SAMBA.TEST") into a new keytab file.
func (i *Instance) ExportKeytab(principal string) string {
	i.t.Helper()
	path := filepath.Join(i.Dir, "keytab-"+strings.NewReplacer("/", "_", "@", "_").Replace(principal))
	_ = os.Remove(path)
	i.SambaTool("domain", "exportkeytab", path, "--principal="+principal)
	return path
}
