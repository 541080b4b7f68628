package cluster

import (
	"strconv"
	"strings"
	"time"
)

// Readiness is what a server answers to get-readiness/v1, as the seed sets it per server (Seed.Readiness, or
// Cluster.SetReadiness). Every zero field takes the healthy default, so a seed breaks one assumption by setting one
// field. WINDOWS.md, Readiness, names the documented default of each.
type Readiness struct {
	Build   int    `json:"build,omitempty"`   // default 20348 (Windows Server 2022)
	Caption string `json:"caption,omitempty"` // default from the build
	// DAStatus and VPNStatus are Get-RemoteAccess's DAStatus and VpnStatus (default Installed).
	DAStatus  string `json:"da_status,omitempty"`
	VPNStatus string `json:"vpn_status,omitempty"`
	// NoNLB: Get-NlbCluster lists nothing (NLB not installed or not bound).
	NoNLB bool `json:"no_nlb,omitempty"`
	// SAIdentityShape is object (default when the server has an SA), string, unreadable or none.
	SAIdentityShape string `json:"sa_identity_shape,omitempty"`
	// WinRM settings; defaults: MaxShellsPerUser 5 (Microsoft's WinRM configuration page when no policy sets it),
	// MaxConcurrentOperationsPerUser 1500, MaxProcessesPerShell 25, AllowRemoteShellAccess true, CbtHardeningLevel
	// Relaxed.
	MaxShellsPerUser               int    `json:"max_shells_per_user,omitempty"`
	MaxConcurrentOperationsPerUser int    `json:"max_concurrent_operations_per_user,omitempty"`
	MaxProcessesPerShell           int    `json:"max_processes_per_shell,omitempty"`
	AllowRemoteShellAccess         *bool  `json:"allow_remote_shell_access,omitempty"`
	CbtHardeningLevel              string `json:"cbt_hardening_level,omitempty"`
	// ListenerCertificateExpires is the HTTPS listener certificate's NotAfter (RFC 3339; default a year from now);
	// ListenerCertificateMissing: the listener names a thumbprint no certificate has (renewed, listener not updated).
	ListenerCertificateExpires string `json:"listener_certificate_expires,omitempty"`
	ListenerCertificateMissing bool   `json:"listener_certificate_missing,omitempty"`
	// HiddenCommands are commands Get-Command does not find (not installed, or not visible in a JEA session).
	HiddenCommands []string `json:"hidden_commands,omitempty"`
	// IKEv2CertAuthFlags defaults to 4; a negative value leaves it absent (revocation not enforced).
	IKEv2CertAuthFlags int `json:"ikev2_cert_auth_flags,omitempty"`
	// IPsecCertValidationLevel defaults to RequireCrlCheck (the documented default is None; the lab's servers are
	// configured as the guides say).
	IPsecCertValidationLevel string `json:"ipsec_cert_validation_level,omitempty"`
}

// SetReadiness sets what a server answers to get-readiness/v1 (fault injection), replacing its seed's.
func (c *Cluster) SetReadiness(server string, r Readiness) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readiness == nil {
		c.readiness = map[string]Readiness{}
	}
	c.readiness[strings.ToUpper(server)] = r
}

func (c *Cluster) readinessOf(server string) Readiness {
	if r, ok := c.readiness[strings.ToUpper(server)]; ok {
		return r
	}
	for name, r := range c.opts.Readiness {
		if strings.EqualFold(name, server) {
			return r
		}
	}
	return Readiness{}
}

// getReadiness emulates get-readiness/v1 from the server's Readiness.
func getReadiness(c *Cluster, call call) (any, error) {
	var in struct {
		Commands []string `json:"commands"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	r := c.readinessOf(call.server)
	return map[string]any{
		"computer_name":               call.server,
		"windows":                     windowsOf(r),
		"language_mode":               "FullLanguage", // the bootstrap refused any other mode before the script ran
		"remote_access":               map[string]string{"DAStatus": or(r.DAStatus, "Installed"), "VpnStatus": or(r.VPNStatus, "Installed"), "VpnS2SStatus": "Uninstalled"},
		"directaccess_server":         map[string]string{"UserAuthentication": "UserPasswd", "ComputerCertAuthentication": "Enabled"},
		"nlb_clusters":                c.nlbClustersOf(r),
		"nlb_interfaces":              c.nlbInterfacesOf(r),
		"sa_identity":                 c.saIdentityOf(call.server, r),
		"winrm":                       winrmOf(r, call.now),
		"commands":                    commandsOf(r, in.Commands),
		"ikev2_cert_auth_flags":       ikev2Of(r),
		"ipsec_cert_validation_level": or(r.IPsecCertValidationLevel, "RequireCrlCheck"),
		"errors":                      map[string]string{},
	}, nil
}

func or(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}

func orInt(value, fallback int) int {
	if value == 0 {
		return fallback
	}
	return value
}

func windowsOf(r Readiness) map[string]any {
	build := orInt(r.Build, 20348)
	caption := map[int]string{14393: "Microsoft Windows Server 2016 Datacenter", 17763: "Microsoft Windows Server 2019 Datacenter",
		20348: "Microsoft Windows Server 2022 Datacenter", 26100: "Microsoft Windows Server 2025 Datacenter"}[build]
	return map[string]any{"build": build, "version": "10.0." + strconv.Itoa(build), "caption": or(r.Caption, or(caption, "Microsoft Windows Server"))}
}

func (c *Cluster) nlbClustersOf(r Readiness) []map[string]any {
	out := []map[string]any{}
	if r.NoNLB {
		return out
	}
	for _, iface := range c.opts.Interfaces {
		out = append(out, map[string]any{"name": "ra-" + strings.ToLower(iface) + "." + c.opts.Domain.DNSName, "interface_name": iface})
	}
	return out
}

func (c *Cluster) nlbInterfacesOf(r Readiness) []map[string]any {
	out := []map[string]any{}
	for _, iface := range c.opts.Interfaces {
		out = append(out, map[string]any{"interface_name": iface, "nlb_bound": !r.NoNLB})
	}
	return out
}

// saIdentityOf answers with the computer identity of a DirectAccess session on the server, masked as the script
// masks it; none when the server has no session.
func (c *Cluster) saIdentityOf(server string, r Readiness) map[string]any {
	sample := ""
	for _, s := range c.sessions {
		if strings.EqualFold(s.server, server) {
			sample = maskIdentity(c.opts.Domain.NetBIOSName + `\` + strings.ToUpper(s.client.seed.Computer) + "$")
			break
		}
	}
	shape := r.SAIdentityShape
	switch {
	case shape == "" && sample == "":
		shape = "none"
	case shape == "":
		shape = "object"
	}
	if shape != "object" && shape != "string" {
		sample = ""
	}
	return map[string]any{"shape": shape, "sample": sample}
}

// maskIdentity keeps the first and last character of each part between \ @ and ., as get-readiness.ps1 does.
func maskIdentity(id string) string {
	var b strings.Builder
	part := []rune{}
	flush := func() {
		if len(part) <= 2 {
			b.WriteString(string(part))
		} else {
			b.WriteRune(part[0])
			b.WriteString(strings.Repeat("*", len(part)-2))
			b.WriteRune(part[len(part)-1])
		}
		part = part[:0]
	}
	for _, r := range id {
		if r == '\\' || r == '@' || r == '.' {
			flush()
			b.WriteRune(r)
			continue
		}
		part = append(part, r)
	}
	flush()
	return b.String()
}

func winrmOf(r Readiness, now time.Time) map[string]any {
	allow := "true"
	if r.AllowRemoteShellAccess != nil && !*r.AllowRemoteShellAccess {
		allow = "false"
	}
	listener := map[string]any{"thumbprint": "3F1A0C5E9B7D2A4C6E8F0B1D3A5C7E9F1B3D5A7C", "found": true,
		"not_after": or(r.ListenerCertificateExpires, now.AddDate(1, 0, 0).UTC().Format(time.RFC3339))}
	if r.ListenerCertificateMissing {
		listener["found"], listener["not_after"] = false, ""
	}
	return map[string]any{
		"max_shells_per_user":                strconv.Itoa(orInt(r.MaxShellsPerUser, 5)),
		"max_concurrent_operations_per_user": strconv.Itoa(orInt(r.MaxConcurrentOperationsPerUser, 1500)),
		"max_processes_per_shell":            strconv.Itoa(orInt(r.MaxProcessesPerShell, 25)),
		"allow_remote_shell_access":          allow,
		"cbt_hardening_level":                or(r.CbtHardeningLevel, "Relaxed"),
		"https_listeners":                    []map[string]any{listener},
	}
}

func commandsOf(r Readiness, names []string) []map[string]any {
	out := []map[string]any{}
	for _, name := range names {
		hidden := false
		for _, h := range r.HiddenCommands {
			hidden = hidden || strings.EqualFold(h, name)
		}
		out = append(out, map[string]any{"name": name, "available": !hidden})
	}
	return out
}

func ikev2Of(r Readiness) any {
	if r.IKEv2CertAuthFlags < 0 {
		return nil
	}
	return orInt(r.IKEv2CertAuthFlags, 4)
}
