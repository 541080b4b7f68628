package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// terraform runs the Terraform CLI in one working directory with the benchmark's CLI configuration.
type terraform struct {
	bin string
	dir string
	env []string
}

// newTerraform prepares dir with main.tf. The environment drops every TF_LOG variable, so that the providers log as
// they do for a user who asked for no logs.
func newTerraform(bin, dir, rcFile, config string) (*terraform, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		return nil, err
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_") {
			env = append(env, kv)
		}
	}
	env = append(env, "TF_CLI_CONFIG_FILE="+rcFile, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	return &terraform{bin: bin, dir: dir, env: env}, nil
}

// run runs terraform with args and returns its wall time. cpu, when not nil, receives the CPU time of Terraform and
// of the plugins it waited for. Exit code 2 of `plan -detailed-exitcode` (changes
// planned) is an error: every plan the benchmark times must be empty.
func (t *terraform) run(ctx context.Context, args ...string) (time.Duration, error) {
	return t.runCPU(ctx, nil, args...)
}

func (t *terraform) runCPU(ctx context.Context, cpu *float64, args ...string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, t.bin, append([]string{"-chdir=" + t.dir}, args...)...)
	cmd.Env = t.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if cpu != nil && cmd.ProcessState != nil {
		*cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if err != nil {
		return elapsed, fmt.Errorf("terraform %s in %s: %w\n%s", strings.Join(args, " "), filepath.Base(t.dir), err, tail(out.String(), 3000))
	}
	return elapsed, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// planArgs is a refresh and plan that must find nothing to change.
var planArgs = []string{"plan", "-input=false", "-lock=false", "-no-color", "-detailed-exitcode"}

// peakRSS samples, while it runs, the peak resident set (VmHWM) of every process whose executable is exe, and
// reports the highest in bytes.
type peakRSS struct {
	exe  string
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak int64
	cpu  map[int]float64 // CPU seconds (user and system) of each process, at its last sample
}

func watchRSS(exe string) *peakRSS {
	p := &peakRSS{exe: exe, stop: make(chan struct{}), done: make(chan struct{}), cpu: map[int]float64{}}
	go p.loop()
	return p
}

func (p *peakRSS) loop() {
	defer close(p.done)
	known := map[int]bool{}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		p.scan(known)
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
	}
}

// scan looks for new processes of exe, then reads the peak of each one known.
func (p *peakRSS) scan(known map[int]bool) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, seen := known[pid]; seen {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		known[pid] = err == nil && target == p.exe
	}
	for pid, mine := range known {
		if !mine {
			continue
		}
		hwm, err := vmHWM(pid)
		if err != nil {
			delete(known, pid)
			continue
		}
		cpu, _ := cpuSeconds(pid)
		p.mu.Lock()
		p.peak = max(p.peak, hwm)
		p.cpu[pid] = max(p.cpu[pid], cpu)
		p.mu.Unlock()
	}
}

// Stop ends the sampling and returns the peak in bytes and the CPU seconds of the processes (up to their last sample,
// 20 ms before they ended at most).
func (p *peakRSS) Stop() (int64, float64) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	var cpu float64
	for _, c := range p.cpu {
		cpu += c
	}
	return p.peak, cpu
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100 on every Linux platform Go supports.
const clockTicks = 100

// cpuSeconds is the user and system CPU time of a process, from /proc/PID/stat.
func cpuSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count fields after the last ")".
	rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (utime + stime) / clockTicks, nil
}

func vmHWM(pid int) (int64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM")
}
