package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// The kinds of plan compared at each N.
const (
	kindProvider = "remoteaccess_blocked_device"
	// kindSchemaFloor plans the provider's workspace with internal/benchmark/schemafloor, which serves the provider's
	// schemas and does nothing else: what terraform-plugin-framework and Terraform cost for the block's schema.
	kindSchemaFloor = "remoteaccess_blocked_device schema only"
	kindData        = "terraform_data"
	kindMinimal     = "minimal_thing"
	// kindProviderLogs is the provider's plan with the SDK's loggers at TRACE, as before the provider turned them off
	// when Terraform discards them: what that saves.
	kindProviderLogs = "remoteaccess_blocked_device with SDK logs"
)

var planKinds = []string{kindProvider, kindData, kindMinimal, kindProviderLogs, kindSchemaFloor}

// planResult is the plan benchmark at one N.
type planResult struct {
	N int `json:"n"`
	// Seconds are the wall times of every repetition, by kind.
	Seconds map[string][]float64 `json:"seconds"`
	// Median is the median wall time by kind.
	Median map[string]float64 `json:"median_seconds"`
	// VsData and VsMinimal are the provider's median divided by terraform_data's and by the minimal provider's.
	VsData    float64 `json:"provider_vs_terraform_data"`
	VsMinimal float64 `json:"provider_vs_minimal_provider"`
	// MinimalVsData is the floor of a framework provider over Terraform's own.
	MinimalVsData float64 `json:"minimal_provider_vs_terraform_data"`
	// VsSchemaFloor is the provider's median divided by that of its schema served alone (kindSchemaFloor): what the
	// provider's own work adds. SchemaFloorVsMinimal is what the block's schema costs over the minimal provider's.
	VsSchemaFloor        float64 `json:"provider_vs_schema_floor"`
	SchemaFloorVsMinimal float64 `json:"schema_floor_vs_minimal_provider"`
	// PeakRSS is the highest peak resident set of each provider process over the repetitions, in MiB.
	PeakRSS map[string]float64 `json:"peak_rss_mib,omitempty"`
	// CPU is the median CPU time by kind: of Terraform and its plugins, of the provider's process alone, and of Samba
	// during the plan. On a loaded machine these say more than the wall times.
	CPU         map[string]float64 `json:"median_cpu_seconds"`
	ProviderCPU map[string]float64 `json:"median_provider_cpu_seconds,omitempty"`
	SambaCPU    map[string]float64 `json:"median_samba_cpu_seconds"`
	// LogsVsQuiet is the provider's plan with the SDK's logs at TRACE divided by its plan with them off.
	LogsVsQuiet float64 `json:"sdk_logs_on_vs_off"`
	// CPUVsMinimal is the provider's CPU time (Terraform, plugin and Samba) divided by the minimal provider's.
	CPUVsMinimal float64 `json:"provider_vs_minimal_provider_cpu"`
}

// forEachMap is a map of n keys made from prefix, for for_each.
func forEachMap(prefix string, n int) string {
	return fmt.Sprintf("locals {\n  keys = { for i in range(%d) : format(\"%s%%04d\", i) => \"v\" }\n}\n", n, prefix)
}

func planConfig(kind string, n int, dc *sambaDC) string {
	switch kind {
	case kindData:
		return forEachMap("i", n) + `resource "terraform_data" "x" {
  for_each = local.keys
  input    = each.key
}
`
	case kindMinimal:
		return forEachMap("i", n) + `terraform {
  required_providers {
    minimal = { source = "bench/minimal" }
  }
}
resource "minimal_thing" "x" {
  for_each = local.keys
  value    = each.key
}
`
	}
	return forEachMap(devicePrefix(n), n) + fmt.Sprintf(`terraform {
  required_providers {
    remoteaccess = { source = "remoteaccess-iac/remoteaccess" }
  }
}
provider "remoteaccess" {
  ldap {
    urls           = [%q]
    ca_certificate = file(%q)
    bind_username  = %q
    bind_password  = %q
  }
}
resource "remoteaccess_blocked_device" "x" {
  for_each       = local.keys
  computer_name  = each.key
  purge_sessions = false
  verify_seconds = 0
}
`, dc.LDAPSURL, dc.CACert, dc.AdminUPN, dc.AdminPassword)
}

// providerVariants are the kinds planned in the provider's workspace, each with the environment variable that makes it
// what it is: the SDK's logs on, or the schema-only provider in place of the provider (a CLI configuration whose
// dev_overrides name it).
func providerVariants(b binaries) map[string]string {
	return map[string]string{kindProviderLogs: "TF_LOG_SDK=TRACE", kindSchemaFloor: "TF_CLI_CONFIG_FILE=" + b.schemaFloorRC}
}

// devicePrefix names the Samba computer accounts blocked at n: N<n>-0000 and on.
func devicePrefix(n int) string { return fmt.Sprintf("N%d-", n) }

// benchPlans starts Samba, blocks N devices (and creates N terraform_data and N minimal_thing) once per N, then
// times the refreshing plans interleaved.
func benchPlans(ctx context.Context, o options, b binaries) ([]planResult, error) {
	fmt.Fprintln(os.Stderr, "== starting Samba AD")
	dc, err := startSamba(ctx, o.work)
	if err != nil {
		return nil, err
	}
	defer dc.stop()
	var names []string
	for _, n := range o.ns {
		for i := range n {
			names = append(names, fmt.Sprintf("%s%04d", devicePrefix(n), i))
		}
	}
	fmt.Fprintf(os.Stderr, "== adding %d computer accounts to Samba\n", len(names))
	if err := dc.addComputers(names); err != nil {
		return nil, err
	}

	workspaces := map[int]map[string]*terraform{}
	for _, n := range o.ns {
		workspaces[n] = map[string]*terraform{}
		for _, kind := range planKinds {
			if variant, ok := providerVariants(b)[kind]; ok { // the provider's workspace and state, run otherwise
				tf := *workspaces[n][kindProvider]
				tf.env = append(slices.Clone(tf.env), variant) // the last value of a variable is the one a process sees
				workspaces[n][kind] = &tf
				continue
			}
			tf, err := newTerraform(o.terraform, filepath.Join(o.work, "plan", fmt.Sprintf("%s-%d", kind, n)), b.rc, planConfig(kind, n, dc))
			if err != nil {
				return nil, err
			}
			_ = os.Remove(filepath.Join(tf.dir, "terraform.tfstate"))
			fmt.Fprintf(os.Stderr, "== applying %d %s\n", n, kind)
			if _, err := tf.run(ctx, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=20"); err != nil {
				return nil, err
			}
			// The first plan must be empty, as every timed one; it also warms the caches.
			if _, err := tf.run(ctx, planArgs...); err != nil {
				return nil, err
			}
			workspaces[n][kind] = tf
		}
	}

	if o.hold {
		fmt.Fprintf(os.Stderr, "== holding Samba and the workspaces under %s until interrupted\n", filepath.Join(o.work, "plan"))
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var out []planResult
	for _, n := range o.ns {
		out = append(out, planResult{N: n, Seconds: map[string][]float64{}, Median: map[string]float64{}, PeakRSS: map[string]float64{},
			CPU: map[string]float64{}, ProviderCPU: map[string]float64{}, SambaCPU: map[string]float64{}})
	}
	cpu := make([]map[string][]float64, len(o.ns))
	providerCPU := make([]map[string][]float64, len(o.ns))
	sambaCPU := make([]map[string][]float64, len(o.ns))
	for i := range o.ns {
		cpu[i], providerCPU[i], sambaCPU[i] = map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	}
	exes := map[string]string{kindProvider: b.provider, kindMinimal: b.minimal, kindProviderLogs: b.provider, kindSchemaFloor: b.schemaFloor}
	for rep := range o.reps {
		for i, n := range o.ns {
			r := &out[i]
			for j := range planKinds {
				kind := planKinds[(j+rep)%len(planKinds)] // rotate the order from one repetition to the next
				var rss *peakRSS
				if exe, ok := exes[kind]; ok {
					rss = watchRSS(exe)
				}
				sambaBefore := dc.cpuSeconds()
				var tfCPU float64
				d, err := workspaces[n][kind].runCPU(ctx, &tfCPU, planArgs...)
				samba := dc.cpuSeconds() - sambaBefore
				if rss != nil {
					peak, pluginCPU := rss.Stop()
					r.PeakRSS[kind] = max(r.PeakRSS[kind], float64(peak)/(1<<20))
					providerCPU[i][kind] = append(providerCPU[i][kind], pluginCPU)
				}
				if err != nil {
					return nil, err
				}
				r.Seconds[kind] = append(r.Seconds[kind], d.Seconds())
				cpu[i][kind] = append(cpu[i][kind], tfCPU)
				sambaCPU[i][kind] = append(sambaCPU[i][kind], samba)
				fmt.Fprintf(os.Stderr, "   rep %d  N=%-5d %-28s %6.2fs  cpu %5.2fs  samba %5.2fs\n", rep+1, n, kind, d.Seconds(), tfCPU, samba)
			}
		}
	}
	for i := range out {
		r := &out[i]
		for kind, s := range r.Seconds {
			r.Median[kind] = median(s)
			r.CPU[kind] = median(cpu[i][kind])
			r.SambaCPU[kind] = median(sambaCPU[i][kind])
			if c, ok := providerCPU[i][kind]; ok {
				r.ProviderCPU[kind] = median(c)
			}
		}
		r.CPUVsMinimal = (r.CPU[kindProvider] + r.SambaCPU[kindProvider]) / (r.CPU[kindMinimal] + r.SambaCPU[kindMinimal])
		r.VsData = r.Median[kindProvider] / r.Median[kindData]
		r.VsMinimal = r.Median[kindProvider] / r.Median[kindMinimal]
		r.MinimalVsData = r.Median[kindMinimal] / r.Median[kindData]
		r.LogsVsQuiet = r.Median[kindProviderLogs] / r.Median[kindProvider]
		r.VsSchemaFloor = r.Median[kindProvider] / r.Median[kindSchemaFloor]
		r.SchemaFloorVsMinimal = r.Median[kindSchemaFloor] / r.Median[kindMinimal]
	}
	return out, nil
}
