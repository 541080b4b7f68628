// Package plugin sets up the process that serves the provider to Terraform and OpenTofu: its logging and its
// memory. The provider's main and the benchmark's schema-only provider (internal/benchmark/schemafloor) share it, so
// that the two differ only in what they serve.
package plugin

import "os"

// logLevelVariables are the environment variables that make Terraform or OpenTofu show a provider's logs, or that
// set the provider's own levels: when one is set, the logs are wanted and left as they are.
var logLevelVariables = []string{
	"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PATH", "TF_ACC_LOG_PATH",
	"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_REMOTEACCESS",
}

// quietVariables turn off the plugin SDK's and the provider's loggers, which otherwise log at TRACE whatever the
// CLI does with the lines (terraform-plugin-log: no level means TRACE).
var quietVariables = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_REMOTEACCESS"}

// quietLogsUnlessAsked turns the plugin's logging off when the CLI will discard it anyway: Terraform and OpenTofu
// keep a provider's log lines only with TF_LOG or TF_LOG_PROVIDER, and the plugin inherits their environment. The
// SDK writes about two hundred lines per resource instance in a plan, which the CLI parses and throws away; that
// costs more than the provider's own work. It reports whether it turned logging off.
func quietLogsUnlessAsked(lookup func(string) (string, bool), set func(key, value string) error) bool {
	for _, name := range logLevelVariables {
		if v, ok := lookup(name); ok && v != "" {
			return false
		}
	}
	for _, name := range quietVariables {
		if err := set(name, "OFF"); err != nil {
			return false
		}
	}
	return true
}

// QuietLogs turns the plugin's logging off unless the CLI keeps it (quietLogsUnlessAsked); the debug mode leaves it on.
func QuietLogs() bool { return quietLogsUnlessAsked(os.LookupEnv, os.Setenv) }
