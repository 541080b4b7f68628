package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
)

// labProcess is the lab command running with seeds written by the benchmark.
type labProcess struct {
	cmd  *exec.Cmd
	info lab.Info
	http *http.Client
}

// writeLabConfig writes a lab of the given servers whose cluster and directory are the standard lab's seeds plus
// devices: CLIENT1 has SAs on every server, each device on the first two.
func writeLabConfig(dir string, servers, devices []string) (string, error) {
	dirSeed, clusterSeed, err := lab.DefaultSeeds()
	if err != nil {
		return "", err
	}
	known := map[string]bool{}
	for _, c := range dirSeed.Computers {
		known[c.Name] = true
	}
	for _, s := range servers {
		if !known[s] {
			dirSeed.Computers = append(dirSeed.Computers, ldapserver.Computer{Name: s, Container: "OU=Servers"})
		}
	}
	for _, d := range devices {
		dirSeed.Computers = append(dirSeed.Computers, ldapserver.Computer{Name: d, Container: "OU=Workstations"})
	}

	clusterSeed.Nodes = servers
	for i, c := range clusterSeed.DirectAccess {
		if c.Computer == "CLIENT1" {
			clusterSeed.DirectAccess[i].Servers = servers
		} else {
			clusterSeed.DirectAccess[i].Servers = slices.DeleteFunc(slices.Clone(c.Servers), func(s string) bool { return !slices.Contains(servers, s) })
		}
	}
	for _, d := range devices {
		clusterSeed.DirectAccess = append(clusterSeed.DirectAccess, cluster.DirectAccessClient{Computer: d,
			Servers: servers[:min(massServers, len(servers))], TransitionTechnology: "IPHTTPS"})
	}
	clusterSeed.VPN = slices.DeleteFunc(clusterSeed.VPN, func(v cluster.VPNClient) bool { return !slices.Contains(servers, v.Server) })

	cfg := map[string]any{
		"servers": servers, "directory_seed": "seed.json", "cluster_seed": "cluster.json", "reestablish_delay": "300ms",
	}
	for name, doc := range map[string]any{"seed.json": dirSeed, "cluster.json": clusterSeed, "lab.json": cfg} {
		if err := writeJSON(filepath.Join(dir, name), doc); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "lab.json"), nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}

// startLab runs the lab binary with config and waits for its information file.
func startLab(ctx context.Context, bin, config, dir string) (*labProcess, error) {
	infoFile := filepath.Join(dir, "info.json")
	_ = os.Remove(infoFile)
	logFile, err := os.Create(filepath.Join(dir, "lab.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "-config", config, "-info-file", infoFile)
	cmd.Stdout, cmd.Stderr = io.Discard, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); _ = logFile.Close() }()
	p := &labProcess{cmd: cmd}
	for range 300 {
		if data, err := os.ReadFile(infoFile); err == nil && json.Unmarshal(data, &p.info) == nil {
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM([]byte(p.info.CACertificatePEM))
			p.http = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			}}
			return p, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("the lab did not start; see %s", filepath.Join(dir, "lab.log"))
}

func (p *labProcess) stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
		}
	}
}

// serverStatus is the part of the lab's GET /status the benchmark reads.
type serverStatus struct {
	Counters struct {
		HTTPRequests int64            `json:"http_requests"`
		NTLMLogons   int64            `json:"ntlm_logons"`
		Actions      map[string]int64 `json:"actions"`
	} `json:"counters"`
	CommandsPerScript map[string]int64 `json:"commands_per_script"`
}

func (p *labProcess) status() (map[string]serverStatus, error) {
	var doc struct {
		Servers map[string]serverStatus `json:"servers"`
	}
	return doc.Servers, p.call(http.MethodGet, "/status", nil, &doc)
}

// setFaults sets fault switches on every server.
func (p *labProcess) setFaults(switches map[string]any) error {
	body, err := json.Marshal(switches)
	if err != nil {
		return err
	}
	return p.call(http.MethodPost, "/faults", body, nil)
}

func (p *labProcess) call(method, path string, body []byte, out any) error {
	base := strings.TrimSuffix(p.info.StatusURL, "/status")
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(p.info.WinRMUsername, p.info.WinRMPassword)
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("lab %s %s: %s: %s", method, path, resp.Status, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
