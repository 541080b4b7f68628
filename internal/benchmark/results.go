package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// results is what one run of the benchmark measured.
type results struct {
	Date             string          `json:"date"`
	Terraform        string          `json:"-"`
	CPUs             int             `json:"cpus"`
	LoadAverage      string          `json:"load_average_before"`
	LoadAverageAfter string          `json:"load_average_after"`
	Reps             int             `json:"plan_repetitions"`
	KReps            int             `json:"servers_repetitions"`
	Plan             []planResult    `json:"plan"`
	Servers          []serversResult `json:"servers"`
	Requests         requestsResult  `json:"http_requests_per_powershell_run"`
	Verify           verifyResult    `json:"verify_window"`
	MassIncident     verifyResult    `json:"mass_incident"`
	// Carried names, by part, the earlier run whose figures a run that left the part out kept (carryOver).
	Carried map[string]string `json:"carried,omitempty"`
}

// carryOver keeps, for each part this run left out, the figures of the previous results at prefix, so that a run
// of one part (-parts mass) leaves a complete results file; each carried part names the run it comes from.
func (r *results) carryOver(prefix string, plan, lab, mass bool) error {
	data, err := os.ReadFile(prefix + ".json")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var prev results
	if err := json.Unmarshal(data, &prev); err != nil {
		return fmt.Errorf("%s.json: %w", prefix, err)
	}
	from := func(part string) string {
		if c := prev.Carried[part]; c != "" {
			return c
		}
		return fmt.Sprintf("%s, load average %s before and %s after", prev.Date, prev.LoadAverage, prev.LoadAverageAfter)
	}
	carry := func(part string) {
		if r.Carried == nil {
			r.Carried = map[string]string{}
		}
		r.Carried[part] = from(part)
	}
	if !plan && len(prev.Plan) > 0 {
		r.Plan, r.Reps = prev.Plan, prev.Reps
		carry("plan")
	}
	if !lab && len(prev.Servers) > 0 {
		r.Servers, r.KReps, r.Requests, r.Verify = prev.Servers, prev.KReps, prev.Requests, prev.Verify
		carry("lab")
	}
	if !mass && prev.MassIncident.Devices > 0 {
		r.MassIncident = prev.MassIncident
		carry("mass")
	}
	return nil
}

func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// write writes PREFIX.json and PREFIX.md, and the Markdown table to stdout.
func (r results) write(prefix string, stdout io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(prefix), 0o750); err != nil {
		return err
	}
	doc, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(prefix+".json", append(doc, '\n'), 0o644); err != nil { //nolint:gosec // a results file meant to be committed
		return err
	}
	md := r.markdown()
	if err := os.WriteFile(prefix+".md", []byte(md), 0o644); err != nil { //nolint:gosec // a results file meant to be committed
		return err
	}
	_, err = io.WriteString(stdout, md)
	return err
}

func (r results) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark results\n\n%s, %d CPUs, load average %s before and %s after. Medians of %d interleaved runs "+
		"(%d for the servers).\n\n", r.Date, r.CPUs, r.LoadAverage, r.LoadAverageAfter, r.Reps, r.KReps)
	for _, part := range slices.Sorted(maps.Keys(r.Carried)) {
		fmt.Fprintf(&b, "Not measured in this run, carried from the run of %s: the %s part.\n\n", r.Carried[part], part)
	}
	if len(r.Plan) > 0 { // the plan part ran
		r.planMarkdown(&b)
	}
	if len(r.Servers) > 0 { // the lab part ran
		r.labMarkdown(&b)
	}
	if r.MassIncident.Devices > 0 { // the mass part ran
		r.massMarkdown(&b)
	}
	return b.String()
}

// planMarkdown writes the plan part's sections.
func (r results) planMarkdown(b *strings.Builder) {
	b.WriteString("## Plan refresh of N blocked devices against Samba AD\n\n")
	b.WriteString("| N | provider | terraform_data | minimal provider | provider / terraform_data | provider / minimal | minimal / terraform_data | CPU provider / minimal | provider peak RSS | minimal peak RSS |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range r.Plan {
		fmt.Fprintf(b, "| %d | %.2f s | %.2f s | %.2f s | %.2f | **%.2f** | %.2f | %.2f | %.0f MiB | %.0f MiB |\n", p.N,
			p.Median[kindProvider], p.Median[kindData], p.Median[kindMinimal], p.VsData, p.VsMinimal, p.MinimalVsData,
			p.CPUVsMinimal, p.PeakRSS[kindProvider], p.PeakRSS[kindMinimal])
	}
	b.WriteString("\nThe block's schema served alone (internal/benchmark/schemafloor: the provider's schemas, Read returns the " +
		"state, nothing else) against the provider, and against the minimal provider:\n\n")
	b.WriteString("| N | provider | schema only | provider / schema only | schema only / minimal |\n|---|---|---|---|---|\n")
	for _, p := range r.Plan {
		fmt.Fprintf(b, "| %d | %.2f s | %.2f s | **%.2f** | %.2f |\n", p.N, p.Median[kindProvider], p.Median[kindSchemaFloor],
			p.VsSchemaFloor, p.SchemaFloorVsMinimal)
	}
	for _, p := range r.Plan {
		fmt.Fprintf(b, "\nN = %d: the provider's plan with the SDK's logs at TRACE (as before they were turned off when Terraform "+
			"discards them) takes %.2f times as long as with them off.\n", p.N, p.LogsVsQuiet)
	}
	b.WriteString("\nCPU time (medians): of Terraform with its plugins, of the plugin process alone, and of Samba during the plan.\n\n")
	b.WriteString("| N | plan of | wall | Terraform and plugin CPU | plugin CPU | Samba CPU |\n|---|---|---|---|---|---|\n")
	for _, p := range r.Plan {
		for _, kind := range planKinds {
			fmt.Fprintf(b, "| %d | %s | %.2f s | %.2f s | %.2f s | %.2f s |\n", p.N, kind, p.Median[kind], p.CPU[kind],
				p.ProviderCPU[kind], p.SambaCPU[kind])
		}
	}
}

// scripts lists the runs per device per server by script, in the order of the scripts' names.
func (v verifyResult) scripts() string {
	names := make([]string, 0, len(v.PerDevice))
	for s := range v.PerDevice {
		names = append(names, s)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(names))
	for _, s := range names {
		parts = append(parts, fmt.Sprintf("%s %.3f", s, v.PerDevice[s]))
	}
	return strings.Join(parts, ", ")
}

// labMarkdown writes the lab part's sections: the block on K servers and the round trips.
func (r results) labMarkdown(b *strings.Builder) {
	b.WriteString("\n## One block on K servers (25 ms per request, 500 ms PowerShell start; apply of a saved plan)\n\n")
	b.WriteString("| K | apply | / K=1 |\n|---|---|---|\n")
	for _, s := range r.Servers {
		fmt.Fprintf(b, "| %d | %.2f s | %.2f |\n", s.K, s.Median, s.VsK1)
	}
	fmt.Fprintf(b, "\n## Round trips\n\nHTTP requests per PowerShell run: %.1f cold (%d NTLM logons), %.1f warm (%d NTLM logons).\n\n",
		r.Requests.Cold, r.Requests.ColdLogons, r.Requests.Warm, r.Requests.WarmLogons)
	v := r.Verify
	fmt.Fprintf(b, "PowerShell runs per device per server, applying %d device blocks on %d servers with a %d s verify window "+
		"(-parallelism=%d, %.0f s): **%.3f** outside the purge, %.3f in all (%s). The plan before it ran %.3f per device "+
		"per server (the impact previews of the new blocks, which share their polls per server and which the apply repeats "+
		"when Terraform plans each block again), which leaves about %.3f for the verify windows' polls.\n", v.Devices,
		v.Servers, v.VerifySeconds, v.Parallelism, v.ApplySeconds, v.OutsidePurge, v.Total, v.scripts(), v.PlanPerDevice, v.VerifyPolls)
	if v.Timeline != nil {
		b.WriteString("\n" + v.Timeline.markdown())
	}
}

// massMarkdown writes the mass incident's section.
func (r results) massMarkdown(b *strings.Builder) {
	m := r.MassIncident
	fmt.Fprintf(b, "\n## Mass incident (%d device blocks at once on %d servers, %s per request, %s PowerShell start)\n\n"+
		"Apply (-parallelism=%d, %d s verify window): **%.1f s**; PowerShell runs per device per server in the apply: "+
		"**%.3f** (%s); in the plan before it: %.3f.\n", m.Devices, m.Servers, m.RequestLatency, m.StartLatency, m.Parallelism, m.VerifySeconds, m.ApplySeconds,
		m.Total, m.scripts(), m.PlanPerDevice)
	if m.Timeline != nil {
		b.WriteString("\n" + m.Timeline.markdown())
	}
}
