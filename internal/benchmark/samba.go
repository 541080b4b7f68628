package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/samba"
)

// sambaDC is a Samba AD domain controller started with scripts/samba-ad.sh up.
type sambaDC struct {
	Dir           string `json:"dir"`
	Address       string `json:"address"`
	LDAPSURL      string `json:"ldaps_url"`
	CACert        string `json:"ca_cert"`
	BaseDN        string `json:"base_dn"`
	AdminUPN      string `json:"admin_upn"`
	AdminPassword string `json:"admin_password"`
	lock          *os.File
}

func startSamba(ctx context.Context, workDir string) (*sambaDC, error) {
	addr, lock, err := samba.ReserveAddress()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(workDir, "samba")
	_ = os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, "bash", "scripts/samba-ad.sh", "up", dir, addr)
	cmd.Env = append(os.Environ(), "SAMBA_AD_OUTPUT=json")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("scripts/samba-ad.sh up: %w", err)
	}
	dc := &sambaDC{lock: lock}
	if err := json.Unmarshal(out, dc); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("scripts/samba-ad.sh up printed %q: %w", out, err)
	}
	return dc, nil
}

// cpuSeconds is the CPU time Samba has used (it runs as one process, -M single); 0 when it cannot be read.
func (dc *sambaDC) cpuSeconds() float64 {
	data, err := os.ReadFile(filepath.Join(dc.Dir, "run", "samba.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0
	}
	cpu, _ := cpuSeconds(pid)
	return cpu
}

func (dc *sambaDC) stop() {
	// Not the benchmark's context, which an interrupt has ended: Samba is stopped then too.
	cmd := exec.CommandContext(context.Background(), "bash", "scripts/samba-ad.sh", "down", dc.Dir)
	cmd.Stderr = os.Stderr
	_ = cmd.Run()
	_ = dc.lock.Close()
}

func (dc *sambaDC) dial() (*ldap.Conn, error) {
	pem, err := os.ReadFile(dc.CACert)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	conn, err := ldap.DialURL(dc.LDAPSURL, ldap.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}),
		ldap.DialWithTLSConfig(&tls.Config{RootCAs: roots, ServerName: dc.Address, MinVersion: tls.VersionTLS12}))
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(30 * time.Second)
	if err := conn.Bind(dc.AdminUPN, dc.AdminPassword); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// addComputers adds enabled computer accounts (userAccountControl 4096, a workstation trust account) over four
// connections.
func (dc *sambaDC) addComputers(names []string) error {
	const conns = 4
	work := make(chan string)
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for range conns {
		conn, err := dc.dial()
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = conn.Close() }()
			for name := range work {
				req := ldap.NewAddRequest("CN="+name+",CN=Computers,"+dc.BaseDN, nil)
				req.Attribute("objectClass", []string{"computer"})
				req.Attribute("sAMAccountName", []string{name + "$"})
				req.Attribute("userAccountControl", []string{strconv.Itoa(4096)})
				if err := conn.Add(req); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
					errs <- fmt.Errorf("adding computer %s: %w", name, err)
					return
				}
			}
		}()
	}
	var firstErr error
	for _, name := range names {
		select {
		case work <- name:
			continue
		case firstErr = <-errs:
		}
		break
	}
	close(work)
	wg.Wait()
	if firstErr == nil {
		select {
		case firstErr = <-errs:
		default:
		}
	}
	return firstErr
}
