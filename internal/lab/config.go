package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/strictjson"
)

// configFile is the JSON form of Config: durations are strings ("300ms", "2s") and the external directory's CA is
// PEM text, so that a person can write one by hand (see testdata/lab.json).
type configFile struct {
	Config
	ReestablishDelay  string                 `json:"reestablish_delay,omitempty"`
	ConvergenceDelay  string                 `json:"convergence_delay,omitempty"`
	ShellIdleTimeout  string                 `json:"shell_idle_timeout,omitempty"`
	ExternalDirectory *externalDirectoryFile `json:"external_directory,omitempty"`
}

type externalDirectoryFile struct {
	URL           string `json:"url"`
	CACertPEM     string `json:"ca_cert_pem,omitempty"`
	BindUsername  string `json:"bind_username"`
	BindPassword  string `json:"bind_password"`
	NetBIOSDomain string `json:"netbios_domain,omitempty"`
}

// ParseConfig decodes the JSON form of a Config. Unknown fields are errors, so that a typo is not ignored.
func ParseConfig(data []byte) (Config, error) {
	var f configFile
	if err := strictjson.Decode(data, &f); err != nil {
		return Config{}, fmt.Errorf("lab config: %w", err)
	}
	cfg := f.Config
	var err error
	if cfg.ReestablishDelay, err = parseDuration("reestablish_delay", f.ReestablishDelay); err != nil {
		return Config{}, err
	}
	if cfg.ConvergenceDelay, err = parseDuration("convergence_delay", f.ConvergenceDelay); err != nil {
		return Config{}, err
	}
	if cfg.ShellIdleTimeout, err = parseDuration("shell_idle_timeout", f.ShellIdleTimeout); err != nil {
		return Config{}, err
	}
	if _, err := parseCbtLevel(&cfg.CbtHardeningLevel); cfg.CbtHardeningLevel != "" && err != nil {
		return Config{}, fmt.Errorf("lab config: %w", err)
	}
	if cfg.MaxShellsPerUser < 0 {
		return Config{}, fmt.Errorf("lab config: max_shells_per_user %d must not be negative", cfg.MaxShellsPerUser)
	}
	if e := f.ExternalDirectory; e != nil {
		cfg.ExternalDirectory = &ExternalDirectory{
			URL: e.URL, BindUsername: e.BindUsername, BindPassword: e.BindPassword, NetBIOSDomain: e.NetBIOSDomain,
		}
		if e.CACertPEM != "" {
			cfg.ExternalDirectory.CACertPEM = []byte(e.CACertPEM)
		}
	}
	return cfg, nil
}

// LoadConfig reads a JSON config file. Relative seed and keytab paths in it are relative to the file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return Config{}, fmt.Errorf("lab config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	paths := []*string{&cfg.DirectorySeed, &cfg.ClusterSeed}
	if cfg.Kerberos != nil {
		paths = append(paths, &cfg.Kerberos.Keytab)
	}
	for _, p := range paths {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return cfg, nil
}

func parseDuration(field, text string) (time.Duration, error) {
	if text == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("lab config: %s %q is not a duration such as \"2s\"", field, text)
	}
	return d, nil
}
