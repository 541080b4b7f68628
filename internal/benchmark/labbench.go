package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// serversResult is one block on K servers with injected latency.
type serversResult struct {
	K       int       `json:"k"`
	Seconds []float64 `json:"seconds"`
	Median  float64   `json:"median_seconds"`
	VsK1    float64   `json:"vs_k1"`
}

// requestsResult counts the HTTP requests (authentication legs included) the lab's server answered per PowerShell run.
type requestsResult struct {
	Cold       float64 `json:"cold"`
	Warm       float64 `json:"warm"`
	ColdLogons int64   `json:"cold_ntlm_logons"`
	WarmLogons int64   `json:"warm_ntlm_logons"`
}

// verifyResult counts the PowerShell runs of an apply of many device blocks with a verify window.
type verifyResult struct {
	Devices       int     `json:"devices"`
	Servers       int     `json:"servers"`
	VerifySeconds int     `json:"verify_seconds"`
	Parallelism   int     `json:"parallelism"`
	ApplySeconds  float64 `json:"apply_seconds"`
	// PerDevice is the runs per device per server, by script, during the apply.
	PerDevice map[string]float64 `json:"runs_per_device_per_server"`
	// Total is every run per device per server; OutsidePurge leaves out the purge script.
	Total        float64 `json:"total"`
	OutsidePurge float64 `json:"outside_purge"`
	// PlanPerDevice is the runs per device per server of the plan made before the apply: the impact previews of the
	// new blocks, which Terraform's apply repeats when it plans each block again.
	PlanPerDevice float64 `json:"plan_runs_per_device_per_server"`
	// VerifyPolls is OutsidePurge less PlanPerDevice: what the verify windows' polls cost per device and server.
	VerifyPolls float64 `json:"verify_polls_per_device_per_server"`
	// RequestLatency and StartLatency are the lab's injected latencies during the apply, when they were on.
	RequestLatency string `json:"request_latency,omitempty"`
	StartLatency   string `json:"start_latency,omitempty"`
	// Timeline is where the blocks' time went, with -log-applies.
	Timeline *timeline `json:"timeline,omitempty"`
}

const (
	scriptPurgeDevice = "purge-device"
	labServerCount    = 8
	// massServers and massPrefix are the servers and the device names of the mass incident.
	massServers = 3
	massPrefix  = "MI"
)

func benchLab(ctx context.Context, o options, b binaries, res *results) error {
	dir := filepath.Join(o.work, "lab")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	servers := make([]string, labServerCount)
	for i := range servers {
		servers[i] = fmt.Sprintf("RAS%d", i+1)
	}
	var devices []string
	if o.lab {
		for i := range o.devices {
			devices = append(devices, fmt.Sprintf("DEV%04d", i))
		}
	}
	if o.mass {
		for i := range o.massDevices {
			devices = append(devices, fmt.Sprintf("%s%04d", massPrefix, i))
		}
	}
	config, err := writeLabConfig(dir, servers, devices)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "== starting the lab")
	l, err := startLab(ctx, b.lab, config, dir)
	if err != nil {
		return err
	}
	defer l.stop()

	if o.lab {
		if res.Servers, err = benchServers(ctx, o, b, l); err != nil {
			return err
		}
		if err := l.setFaults(map[string]any{"reset": true}); err != nil {
			return err
		}
		if res.Requests, err = countRequests(ctx, o, l); err != nil {
			return err
		}
		if res.Verify, err = countVerifyRuns(ctx, o, b, l); err != nil {
			return err
		}
	}
	if o.mass {
		res.MassIncident, err = benchMassIncident(ctx, o, b, l)
	}
	return err
}

// labProviderConfig is the provider block for the lab's first k servers.
func labProviderConfig(l *labProcess, k int) string {
	quoted := make([]string, 0, k)
	for _, a := range l.info.ServerAddresses[:k] {
		quoted = append(quoted, fmt.Sprintf("%q", a))
	}
	names := make([]string, 0, len(l.info.Servers))
	for _, s := range l.info.Servers {
		names = append(names, fmt.Sprintf("%q", s.Address+"="+s.Name))
	}
	return fmt.Sprintf(`terraform {
  required_providers {
    remoteaccess = { source = "remoteaccess-iac/remoteaccess" }
  }
}
provider "remoteaccess" {
  servers             = [%s]
  protected_computers = [%s]
  winrm {
    port           = %d
    ca_certificate = %q
    username       = %q
    password       = %q
  }
  ldap {
    urls           = [%q]
    ca_certificate = %q
    bind_username  = %q
    bind_password  = %q
  }
}
`, strings.Join(quoted, ", "), strings.Join(names, ", "), l.info.WinRMPort, l.info.CACertificatePEM, l.info.WinRMUsername,
		l.info.WinRMPassword, l.info.LDAPSURL, l.info.CACertificatePEM, l.info.LDAPBindUsername, l.info.LDAPBindPassword)
}

// benchServers times the apply of one block (CLIENT1, which has SAs on every server) on K servers, from a saved
// plan, with the lab's latencies on; each is destroyed again before the next.
func benchServers(ctx context.Context, o options, b binaries, l *labProcess) ([]serversResult, error) {
	if err := l.setFaults(map[string]any{"request_latency": o.latency.String(), "start_latency": o.startLatency.String()}); err != nil {
		return nil, err
	}
	workspaces := map[int]*terraform{}
	for _, k := range o.ks {
		config := labProviderConfig(l, k) + `resource "remoteaccess_blocked_device" "x" {
  computer_name  = "CLIENT1"
  verify_seconds = 0
}
`
		tf, err := newTerraform(o.terraform, filepath.Join(o.work, "servers", fmt.Sprint(k)), b.rc, config)
		if err != nil {
			return nil, err
		}
		_ = os.Remove(filepath.Join(tf.dir, "terraform.tfstate"))
		workspaces[k] = tf
	}
	out := make([]serversResult, len(o.ks))
	for rep := range o.kReps {
		for j := range o.ks {
			i := (j + rep) % len(o.ks)
			k := o.ks[i]
			tf := workspaces[k]
			if _, err := tf.run(ctx, "plan", "-input=false", "-no-color", "-out=tfplan"); err != nil {
				return nil, err
			}
			d, err := tf.run(ctx, "apply", "-input=false", "-no-color", "tfplan")
			if err != nil {
				return nil, err
			}
			if _, err := tf.run(ctx, "destroy", "-auto-approve", "-input=false", "-no-color"); err != nil {
				return nil, err
			}
			out[i].K = k
			out[i].Seconds = append(out[i].Seconds, d.Seconds())
			fmt.Fprintf(os.Stderr, "   rep %d  K=%d  apply %.2fs\n", rep+1, k, d.Seconds())
			time.Sleep(time.Second) // CLIENT1 re-establishes its SAs on every server before the next block
		}
	}
	for i := range out {
		out[i].Median = median(out[i].Seconds)
		out[i].VsK1 = out[i].Median / out[0].Median
	}
	return out, nil
}

// countRequests runs a script with the provider's WinRM client on a new connection (cold: TLS, NTLM, a new shell),
// then again on the warm connection and shell, and counts the requests the lab's server answered.
func countRequests(ctx context.Context, o options, l *labProcess) (requestsResult, error) {
	s := l.info.Servers[0]
	c, err := winrm.NewClient(winrm.Config{
		Host: s.Address, Port: s.Port, HTTPS: true, CACertPEM: []byte(l.info.CACertificatePEM),
		Username: l.info.WinRMUsername, Password: l.info.WinRMPassword, Auth: winrm.AuthNTLM, Timeout: 30 * time.Second,
	})
	if err != nil {
		return requestsResult{}, err
	}
	defer func() { _ = c.Close() }()
	count := func(runs int) (float64, int64, error) {
		before, err := l.status()
		if err != nil {
			return 0, 0, err
		}
		for range runs {
			if _, err := remoteaccess.GetIPsecSAs(ctx, c, []string{`CORP\CLIENT1$`}); err != nil {
				return 0, 0, err
			}
		}
		after, err := l.status()
		if err != nil {
			return 0, 0, err
		}
		a, z := before[s.Name].Counters, after[s.Name].Counters
		return float64(z.HTTPRequests-a.HTTPRequests) / float64(runs), z.NTLMLogons - a.NTLMLogons, nil
	}
	var r requestsResult
	if r.Cold, r.ColdLogons, err = count(1); err != nil {
		return r, err
	}
	r.Warm, r.WarmLogons, err = count(o.warmRuns)
	return r, err
}

// applySpec is an apply of many device blocks at once whose PowerShell runs are counted.
type applySpec struct {
	name        string // workspace
	prefix      string // of the lab's device names
	devices     int
	servers     int
	verify      int
	parallelism int
}

// countVerifyRuns applies blocks of many devices with a verify window on two servers and counts the PowerShell
// runs per device per server, by script, during the apply (the plan, with its impact preview, is made first).
func countVerifyRuns(ctx context.Context, o options, b binaries, l *labProcess) (verifyResult, error) {
	fmt.Fprintf(os.Stderr, "== blocking %d devices with a %d s verify window (-parallelism=%d)\n", o.devices, o.verify, o.parallelism)
	return countApplyRuns(ctx, o, b, l, applySpec{name: "verify", prefix: "DEV", devices: o.devices, servers: 2,
		verify: o.verify, parallelism: o.parallelism})
}

// benchMassIncident is a mass incident as a real cluster would see it: many devices blocked at once on three
// servers, with the lab's latencies on (a request's and a PowerShell start's), so that every PowerShell run costs
// what it costs on Windows.
func benchMassIncident(ctx context.Context, o options, b binaries, l *labProcess) (verifyResult, error) {
	if err := l.setFaults(map[string]any{"request_latency": o.latency.String(), "start_latency": o.startLatency.String()}); err != nil {
		return verifyResult{}, err
	}
	fmt.Fprintf(os.Stderr, "== mass incident: blocking %d devices on %d servers with the lab's latencies (-parallelism=%d)\n",
		o.massDevices, massServers, o.massParallelism)
	r, err := countApplyRuns(ctx, o, b, l, applySpec{name: "mass", prefix: massPrefix, devices: o.massDevices, servers: massServers,
		verify: o.massVerify, parallelism: o.massParallelism})
	r.RequestLatency, r.StartLatency = o.latency.String(), o.startLatency.String()
	return r, err
}

// countApplyRuns plans, then applies, the blocks of spec and counts the PowerShell runs per device per server, by
// script, during the apply; the plan's are counted apart.
func countApplyRuns(ctx context.Context, o options, b binaries, l *labProcess, spec applySpec) (verifyResult, error) {
	config := labProviderConfig(l, spec.servers) + forEachMap(spec.prefix, spec.devices) + fmt.Sprintf(`resource "remoteaccess_blocked_device" "x" {
  for_each       = local.keys
  computer_name  = each.key
  verify_seconds = %d
}
`, spec.verify)
	tf, err := newTerraform(o.terraform, filepath.Join(o.work, spec.name), b.rc, config)
	if err != nil {
		return verifyResult{}, err
	}
	_ = os.Remove(filepath.Join(tf.dir, "terraform.tfstate"))
	parallelism := fmt.Sprintf("-parallelism=%d", spec.parallelism)
	beforePlan, err := l.status()
	if err != nil {
		return verifyResult{}, err
	}
	if _, err := tf.run(ctx, "plan", "-input=false", "-no-color", parallelism, "-out=tfplan"); err != nil {
		return verifyResult{}, err
	}
	before, err := l.status()
	if err != nil {
		return verifyResult{}, err
	}
	quiet := tf.env
	if o.logApplies {
		tf.env = append(slices.Clone(quiet), "TF_LOG=INFO", "TF_LOG_PATH="+filepath.Join(tf.dir, "apply.log"))
		_ = os.Remove(filepath.Join(tf.dir, "apply.log"))
	}
	d, err := tf.run(ctx, "apply", "-input=false", "-no-color", parallelism, "tfplan")
	tf.env = quiet
	if err != nil {
		return verifyResult{}, err
	}
	after, err := l.status()
	if err != nil {
		return verifyResult{}, err
	}
	r := verifyResult{Devices: spec.devices, Servers: spec.servers, VerifySeconds: spec.verify, Parallelism: spec.parallelism,
		ApplySeconds: d.Seconds(), PerDevice: map[string]float64{}}
	if o.logApplies {
		t, err := readTimeline(filepath.Join(tf.dir, "apply.log"), spec.parallelism)
		if err != nil {
			return verifyResult{}, fmt.Errorf("reading the apply's log: %w", err)
		}
		r.Timeline = &t
	}
	for _, s := range l.info.Servers[:spec.servers] {
		for script, n := range before[s.Name].CommandsPerScript {
			r.PlanPerDevice += float64(n-beforePlan[s.Name].CommandsPerScript[script]) / float64(spec.devices*spec.servers)
		}
		for script, n := range after[s.Name].CommandsPerScript {
			if runs := n - before[s.Name].CommandsPerScript[script]; runs > 0 {
				r.PerDevice[script] += float64(runs) / float64(spec.devices*spec.servers)
			}
		}
	}
	for script, v := range r.PerDevice {
		r.Total += v
		if !strings.HasPrefix(script, scriptPurgeDevice) { // purge-device/v1 and the batched purge-devices/v1
			r.OutsidePurge += v
		}
	}
	r.VerifyPolls = r.OutsidePurge - r.PlanPerDevice
	return r, nil
}
