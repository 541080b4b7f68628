// Command benchmark is `make bench`: it measures, with the real Terraform CLI, what the provider costs against
// Terraform's own floor and against the floor of any framework provider, and how many round trips its operations
// take, and writes the figures to bench/results.json and bench/results.md.
//
//  1. Plan refresh of N blocked devices in state against Samba AD, divided by the same plan of N terraform_data and
//     of N resources of a minimal framework provider (internal/benchmark/minimal) and of the provider's own state
//     served by its schemas alone (internal/benchmark/schemafloor); the provider's peak RSS.
//  2. One block on K lab servers with injected latency, divided by K = 1.
//  3. HTTP requests per PowerShell run (cold and warm), and PowerShell runs per device per server in an apply of
//     many devices with a verify window.
//  4. A mass incident: hundreds of device blocks applied at once on three servers with the lab's latencies on, its
//     apply time and PowerShell runs per device per server.
//
// Every timed case runs interleaved with the cases it is divided by, several times; the figures are medians.
//
//	go run ./internal/benchmark -terraform PATH [-parts plan,lab,mass] [-n 100,1000] [-reps 5] [-k 1,2,4,8] [-smoke]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	terraform    string
	work         string
	out          string
	ns           []int
	reps         int
	ks           []int
	kReps        int
	latency      time.Duration
	startLatency time.Duration
	devices      int
	verify       int
	parallelism  int
	warmRuns     int
	// massDevices, massVerify and massParallelism are the mass incident's (benchMassIncident).
	massDevices     int
	massVerify      int
	massParallelism int
	plan, lab, mass bool
	hold            bool
	// logApplies keeps Terraform's and the provider's INFO logs of the counted applies (their times are then not
	// comparable with a run without logs).
	logApplies bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmark:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	bins, err := build(ctx, o.work)
	if err != nil {
		return err
	}
	res := results{
		Date: time.Now().UTC().Format(time.RFC3339), Terraform: o.terraform, Reps: o.reps, KReps: o.kReps,
		CPUs: cpuCount(), LoadAverage: loadAverage(),
	}
	if o.plan {
		if res.Plan, err = benchPlans(ctx, o, bins); err != nil {
			return err
		}
	}
	if o.lab || o.mass {
		if err := benchLab(ctx, o, bins, &res); err != nil {
			return err
		}
	}
	res.LoadAverageAfter = loadAverage()
	if err := res.carryOver(o.out, o.plan, o.lab, o.mass); err != nil {
		return err
	}
	return res.write(o.out, os.Stdout)
}

func parseFlags(args []string) (options, error) {
	var o options
	var ns, ks, parts string
	var smoke bool
	f := flag.NewFlagSet("benchmark", flag.ContinueOnError)
	f.StringVar(&o.terraform, "terraform", "", "Terraform CLI to run (make bench passes Terraform 1.8.5)")
	f.StringVar(&o.work, "work", ".build/bench", "working directory (state, logs, built binaries)")
	f.StringVar(&o.out, "out", "bench/results", "results file prefix: writes PREFIX.json and PREFIX.md")
	f.StringVar(&ns, "n", "100,1000", "numbers of blocked devices in state for the plan benchmark")
	f.IntVar(&o.reps, "reps", 5, "interleaved repetitions of each plan")
	f.StringVar(&ks, "k", "1,2,4,8", "numbers of lab servers for the latency benchmark")
	f.IntVar(&o.kReps, "k-reps", 3, "interleaved repetitions of each block on K servers")
	f.DurationVar(&o.latency, "request-latency", 25*time.Millisecond, "latency the lab adds to every WinRM request")
	f.DurationVar(&o.startLatency, "start-latency", 500*time.Millisecond, "latency the lab adds to every PowerShell start")
	f.IntVar(&o.devices, "devices", 200, "devices blocked at once for the verify-window count")
	f.IntVar(&o.verify, "verify-seconds", 10, "verify window of those blocks")
	f.IntVar(&o.parallelism, "parallelism", 0, "terraform -parallelism of that apply; 0: the number of devices, so that "+
		"every block is in flight at once (Terraform's default, 10, makes the apply last devices/10 verify windows)")
	f.IntVar(&o.massDevices, "mass-devices", 500, "devices blocked at once in the mass incident (three servers, the lab's latencies on)")
	f.IntVar(&o.massVerify, "mass-verify-seconds", 2, "verify window of the mass incident's blocks")
	f.IntVar(&o.massParallelism, "mass-parallelism", 50, "terraform -parallelism of the mass incident's apply")
	f.IntVar(&o.warmRuns, "warm-runs", 10, "warm PowerShell runs counted for requests per run")
	f.StringVar(&parts, "parts", "plan,lab,mass", "what to measure: plan (1), lab (2 and 3), mass (4); a part left out keeps its figures from the previous results file, which names their run")
	f.BoolVar(&o.logApplies, "log-applies", false, "keep the INFO logs of the verify-window and mass-incident applies in apply.log of their workspaces, and report where a block's time went (results go to the working directory unless -out says otherwise)")
	f.BoolVar(&o.hold, "hold", false, "set up the plan workspaces and Samba, then keep them until interrupted (for profiling)")
	f.BoolVar(&smoke, "smoke", false, "a quick run that checks the benchmark works: small N, one repetition")
	if err := f.Parse(args); err != nil {
		return o, err
	}
	if smoke {
		ns, ks, o.reps, o.kReps, o.devices, o.verify, o.warmRuns = "10", "1,2", 1, 1, 5, 2, 2
		o.massDevices, o.massParallelism = 10, 5
		if o.out == "bench/results" {
			o.out = filepath.Join(o.work, "smoke")
		}
	}
	if o.logApplies && o.out == "bench/results" {
		o.out = filepath.Join(o.work, "logged") // timed with logs on: never the committed figures
	}
	o.plan, o.lab, o.mass = strings.Contains(parts, "plan"), strings.Contains(parts, "lab"), strings.Contains(parts, "mass")
	if o.terraform == "" {
		return o, errors.New("-terraform is required")
	}
	var err error
	if o.terraform, err = filepath.Abs(o.terraform); err != nil {
		return o, err
	}
	if o.work, err = filepath.Abs(o.work); err != nil {
		return o, err
	}
	if o.ns, err = intList(ns); err != nil {
		return o, fmt.Errorf("-n: %w", err)
	}
	if o.ks, err = intList(ks); err != nil {
		return o, fmt.Errorf("-k: %w", err)
	}
	if o.parallelism <= 0 {
		o.parallelism = o.devices
	}
	if slices.Max(o.ks) > 8 || slices.Min(o.ks) < 1 || o.reps < 1 || o.kReps < 1 || o.devices < 1 {
		return o, errors.New("-k takes 1 to 8 servers; -reps, -k-reps and -devices at least 1")
	}
	return o, nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a list of positive numbers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// binaries are what the benchmark builds: the provider and the minimal provider in one dev_overrides directory, the
// lab command, and the CLI configuration that points Terraform at them; the schema-only provider under the
// provider's name in a directory of its own, and the CLI configuration that points Terraform at it instead.
type binaries struct {
	plugins       string
	provider      string
	minimal       string
	lab           string
	rc            string
	schemaFloor   string
	schemaFloorRC string
}

func build(ctx context.Context, work string) (binaries, error) {
	b := binaries{plugins: filepath.Join(work, "plugins")}
	b.provider = filepath.Join(b.plugins, "terraform-provider-remoteaccess")
	b.minimal = filepath.Join(b.plugins, "terraform-provider-minimal")
	b.lab = filepath.Join(work, "remoteaccess-lab")
	b.rc = filepath.Join(work, "terraformrc")
	floorPlugins := filepath.Join(work, "schemafloor")
	b.schemaFloor = filepath.Join(floorPlugins, "terraform-provider-remoteaccess")
	b.schemaFloorRC = filepath.Join(work, "terraformrc-schemafloor")
	fmt.Fprintln(os.Stderr, "== building the provider, the minimal provider, the schema-only provider and the lab")
	for out, pkg := range map[string]string{b.provider: ".", b.minimal: "./internal/benchmark/minimal",
		b.schemaFloor: "./internal/benchmark/schemafloor", b.lab: "./internal/lab/cmd/remoteaccess-lab"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return b, fmt.Errorf("go build %s: %w", pkg, err)
		}
	}
	if err := writeCLIConfig(b.rc, b.plugins); err != nil {
		return b, err
	}
	return b, writeCLIConfig(b.schemaFloorRC, floorPlugins)
}

// writeCLIConfig writes a CLI configuration that takes the provider and the minimal provider from plugins.
func writeCLIConfig(file, plugins string) error {
	rc := fmt.Sprintf(`provider_installation {
  dev_overrides {
    "remoteaccess-iac/remoteaccess" = %q
    "bench/minimal"                 = %q
  }
  direct {}
}
`, plugins, plugins)
	return os.WriteFile(file, []byte(rc), 0o600)
}

func cpuCount() int {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "\nprocessor\t") + 1
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}
