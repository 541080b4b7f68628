package remoteaccess

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var scriptGetReadiness = mustScript("get-readiness").AsRead()

// readinessInput is get-readiness's input: the commands whose availability the server reports.
type readinessInput struct {
	Commands []string `json:"commands"`
}

// Readiness is what a server answers about the assumptions the provider relies on (scripts/CONTRACT.md,
// get-readiness/v1). A part the server could not read is absent (nil or empty) and named in Errors.
type Readiness struct {
	ComputerName string          `json:"computer_name"`
	Windows      *WindowsVersion `json:"windows"`
	LanguageMode string          `json:"language_mode"`
	// RemoteAccess and DirectAccessServer are every property of Get-RemoteAccess and Get-DAServer, as text: their
	// pages list what the output holds, not the property names.
	RemoteAccess             map[string]string `json:"remote_access"`
	DirectAccessServer       map[string]string `json:"directaccess_server"`
	NLBClusters              []NLBCluster      `json:"nlb_clusters"`
	NLBInterfaces            []NLBInterface    `json:"nlb_interfaces"`
	SAIdentity               *SAIdentitySample `json:"sa_identity"`
	WinRM                    *WinRMSettings    `json:"winrm"`
	Commands                 []CommandCheck    `json:"commands"`
	IKEv2CertAuthFlags       *int              `json:"ikev2_cert_auth_flags"`
	IPsecCertValidationLevel string            `json:"ipsec_cert_validation_level"`
	Errors                   map[string]string `json:"errors"`
}

// WindowsVersion is Win32_OperatingSystem's BuildNumber, Version and Caption.
type WindowsVersion struct {
	Build   int    `json:"build"`
	Version string `json:"version"`
	Caption string `json:"caption"`
}

// NLBCluster is one cluster of Get-NlbCluster.
type NLBCluster struct {
	Name          string `json:"name"`
	InterfaceName string `json:"interface_name"`
}

// NLBInterface is one interface of Get-NlbClusterNodeNetworkInterface.
type NLBInterface struct {
	InterfaceName string `json:"interface_name"`
	NLBBound      bool   `json:"nlb_bound"`
}

// SAIdentitySample is the shape of RemoteFirstId on one main-mode SA: object (with .Identity), string, unreadable,
// or none (no SA to look at), with the identity masked.
type SAIdentitySample struct {
	Shape  string `json:"shape"`
	Sample string `json:"sample"`
}

// WinRMSettings are the WSMan: drive values, as text.
type WinRMSettings struct {
	MaxShellsPerUser               string          `json:"max_shells_per_user"`
	MaxConcurrentOperationsPerUser string          `json:"max_concurrent_operations_per_user"`
	MaxProcessesPerShell           string          `json:"max_processes_per_shell"`
	AllowRemoteShellAccess         string          `json:"allow_remote_shell_access"`
	CbtHardeningLevel              string          `json:"cbt_hardening_level"`
	HTTPSListeners                 []HTTPSListener `json:"https_listeners"`
}

// HTTPSListener is the certificate an HTTPS listener names by thumbprint, and when it expires.
type HTTPSListener struct {
	Thumbprint string `json:"thumbprint"`
	NotAfter   string `json:"not_after"` // RFC 3339, UTC; empty when Found is false
	Found      bool   `json:"found"`     // a certificate with that thumbprint is in LocalMachine\My
}

// CommandCheck says whether the session may run a command (Get-Command finds it: installed, and visible in a JEA
// session).
type CommandCheck struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
}

// GetReadiness asks one server, read-only, what the provider relies on.
func GetReadiness(ctx context.Context, r Runner) (Readiness, error) {
	return run[Readiness](ctx, r, scriptGetReadiness, readinessInput{Commands: ProviderCommands()})
}

// Readiness asks every server.
func (c *Cluster) Readiness(ctx context.Context) (map[string]Readiness, error) {
	return FanOut(ctx, c, GetReadiness)
}

var (
	commandName    = regexp.MustCompile(`\b[A-Z][a-z]+(?:[A-Z][a-z]+)*-[A-Z][A-Za-z0-9]*\b`)
	definedCommand = regexp.MustCompile(`(?m)^\s*function\s+([A-Za-z]+-[A-Za-z0-9]+)`)
)

// CommandsIn lists the commands a PowerShell text calls, sorted: every Verb-Noun outside comment lines (verbs with
// inner capitals, such as ConvertFrom or ForEach, included), less the functions the text defines itself.
func CommandsIn(text string) []string {
	var code strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			code.WriteString(line + "\n")
		}
	}
	defined := map[string]bool{}
	for _, m := range definedCommand.FindAllStringSubmatch(code.String(), -1) {
		defined[strings.ToLower(m[1])] = true
	}
	var names []string
	for _, name := range commandName.FindAllString(code.String(), -1) {
		if !defined[strings.ToLower(name)] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// ProviderCommands are the commands the scripts of this package call to do their work (the readiness read aside):
// those a server must let the account run.
func ProviderCommands() []string {
	var all []string
	for _, s := range Scripts() {
		if s.Name != scriptGetReadiness.Name {
			all = append(all, CommandsIn(s.Text)...)
		}
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// Verdicts of a readiness assessment.
const (
	VerdictReady    = "ready"
	VerdictWarnings = "warnings"
	VerdictNotReady = "not_ready"
)

// Severities of a finding: an error makes the server not ready, and the provider's plans refuse it.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Finding is one assumption that does not hold on a server, with the command that fixes it.
type Finding struct {
	Code       string
	Severity   string
	Assumption string
	Detail     string
	Fix        string
}

// AssessOptions is what the assessment compares the server's answer with.
type AssessOptions struct {
	// Concurrency is the provider's WinRM commands at once per server (winrm.max_concurrency).
	Concurrency int
	// NTLM is true when the provider logs on with NTLM.
	NTLM bool
	// Now dates the certificate checks.
	Now time.Time
}

// Builds of Windows Server that the provider is documented for (templates/guides/getting-started.md.tmpl):
// 2016 (14393) and later; Windows Server 2025 (26100) lists NTLM as deprecated ("Deprecated features in Windows
// Server" and "Features removed or no longer developed starting with Windows Server 2025").
const (
	MinimumBuild         = 14393
	NTLMDeprecationBuild = 26100
)

// certificateWarning is how close to its expiry a WinRM listener certificate is reported.
const certificateWarning = 30 * 24 * time.Hour

// Assess turns a server's answer into findings and a verdict: not_ready when any finding is an error, warnings when
// any is a warning, else ready.
func (r Readiness) Assess(opts AssessOptions) (verdict string, findings []Finding) {
	if refused := checkLanguage(r, opts); len(refused) > 0 {
		return VerdictNotReady, refused // no script ran: nothing else was read
	}
	for _, check := range []func(Readiness, AssessOptions) []Finding{
		checkWindows, checkRemoteAccess, checkCommands, checkNLB, checkSAShape, checkWinRM,
		checkCertificates, checkRevocation,
	} {
		findings = append(findings, check(r, opts)...)
	}
	return verdictOf(findings), findings
}

func verdictOf(findings []Finding) string {
	verdict := VerdictReady
	for _, f := range findings {
		if f.Severity == SeverityError {
			return VerdictNotReady
		}
		verdict = VerdictWarnings
	}
	return verdict
}

func checkLanguage(r Readiness, _ AssessOptions) []Finding {
	if r.LanguageMode == "" || r.LanguageMode == "FullLanguage" {
		return nil
	}
	return []Finding{{Code: "language_mode", Severity: SeverityError,
		Assumption: "PowerShell runs the provider's scripts in FullLanguage mode",
		Detail:     "the session runs in " + r.LanguageMode + " (WDAC, AppLocker or a JEA session configuration)",
		Fix:        "Allow the account's WinRM session FullLanguage: exempt the provider's account from the WDAC/AppLocker policy, or use a JEA session configuration with LanguageMode = 'FullLanguage'"}}
}

func checkWindows(r Readiness, opts AssessOptions) []Finding {
	if r.Windows == nil {
		return []Finding{partMissing(r, "windows", "the server reports its Windows build", "Get-CimInstance -ClassName Win32_OperatingSystem")}
	}
	var out []Finding
	if r.Windows.Build < MinimumBuild {
		out = append(out, Finding{Code: "windows_build", Severity: SeverityWarning,
			Assumption: "Windows Server 2016 (build 14393) or later",
			Detail:     fmt.Sprintf("%s, build %d, is older than the versions the provider is documented for", r.Windows.Caption, r.Windows.Build),
			Fix:        "Upgrade the server to a supported Windows Server version"})
	}
	if opts.NTLM && r.Windows.Build >= NTLMDeprecationBuild {
		out = append(out, ntlmFinding(r.Windows.Build))
	}
	return out
}

// ntlmFinding warns of NTLM against a build that lists it as deprecated.
func ntlmFinding(build int) Finding {
	return Finding{Code: "ntlm_deprecated", Severity: SeverityWarning,
		Assumption: "the provider's logon method is supported on the server",
		Detail:     fmt.Sprintf("the provider logs on with NTLM, which Windows Server 2025 (build %d and later) lists as deprecated; build %d", NTLMDeprecationBuild, build),
		Fix:        `Set winrm { auth = "kerberos" } in the provider block (see the authentication guide)`}
}

// NTLMDeprecated reports a build that lists NTLM as deprecated.
func NTLMDeprecated(build int) bool { return build >= NTLMDeprecationBuild }

// NTLMWarning is the detail of the warning a plan shows when the provider logs on with NTLM to such a server.
func NTLMWarning(build int) string {
	f := ntlmFinding(build)
	return f.Detail + ". " + f.Fix + "."
}

func checkRemoteAccess(r Readiness, _ AssessOptions) []Finding {
	if r.RemoteAccess == nil {
		return []Finding{partMissing(r, "remote_access", "the Remote Access role is installed and Get-RemoteAccess answers",
			"Install-WindowsFeature -Name RemoteAccess, DirectAccess-VPN -IncludeManagementTools")}
	}
	if r.ConfiguredStatus("DA") == "" && r.ConfiguredStatus("Vpn") == "" {
		// A warning: the page of Get-RemoteAccess lists the statuses it prints, not their property names.
		return []Finding{{Code: "remote_access_unconfigured", Severity: SeverityWarning,
			Assumption: "DirectAccess or VPN is configured on the server",
			Detail:     "Get-RemoteAccess reports neither DirectAccess nor VPN as installed",
			Fix:        "Install-RemoteAccess -DAInstallType FullInstall (DirectAccess) or Install-RemoteAccess -VpnType Vpn (VPN)"}}
	}
	return nil
}

// ConfiguredStatus returns Get-RemoteAccess's <prefix>Status (DAStatus, VpnStatus, LoadBalancingStatus) when it says
// Installed, else "".
func (r Readiness) ConfiguredStatus(prefix string) string {
	for name, value := range r.RemoteAccess {
		if strings.EqualFold(name, prefix+"Status") && strings.EqualFold(value, "Installed") {
			return value
		}
	}
	return ""
}

func checkCommands(r Readiness, _ AssessOptions) []Finding {
	missing := r.UnavailableCommands()
	if len(missing) == 0 {
		return nil
	}
	return []Finding{{Code: "commands", Severity: SeverityError,
		Assumption: "the account may run every command the provider uses",
		Detail:     "Get-Command does not find: " + strings.Join(missing, ", "),
		Fix:        "Install the feature that brings them (NLB: Install-WindowsFeature NLB -IncludeManagementTools) or add them to VisibleCmdlets of the JEA role capability file (see the least-privilege guide)"}}
}

// UnavailableCommands are the provider's commands the session cannot run, sorted.
func (r Readiness) UnavailableCommands() []string {
	var names []string
	for _, c := range r.Commands {
		if !c.Available {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	return names
}

func checkNLB(r Readiness, _ AssessOptions) []Finding {
	if _, failed := r.Errors["nlb"]; !failed && len(r.NLBClusters) > 0 {
		return nil
	}
	return []Finding{{Code: "nlb", Severity: SeverityWarning,
		Assumption: "Network Load Balancing is bound on the server (remoteaccess_node_drain with load_balancer = \"nlb\")",
		Detail:     "Get-NlbCluster lists no cluster" + errorNote(r, "nlb"),
		Fix:        `Drain with load_balancer = "external" when an external balancer fronts the cluster; otherwise Install-WindowsFeature NLB -IncludeManagementTools`}}
}

func checkSAShape(r Readiness, _ AssessOptions) []Finding {
	if r.SAIdentity == nil || r.SAIdentity.Shape != "unreadable" {
		return nil
	}
	return []Finding{{Code: "sa_identity", Severity: SeverityWarning,
		Assumption: "main-mode SAs carry a readable remote identity (RemoteFirstId as an object with Identity, or a string)",
		Detail:     "an SA on the server carries no readable RemoteFirstId: blocks end \"cannot tell\" for its clients",
		Fix:        "Get-NetIPsecMainModeSA | Select-Object -First 1 | ConvertTo-Json -Depth 4 on the server, and attach the output (identities masked) to an issue"}}
}

func checkWinRM(r Readiness, opts AssessOptions) []Finding {
	w := r.WinRM
	if w == nil {
		return []Finding{partMissing(r, "winrm", "the WinRM settings can be read", `Get-Item WSMan:\localhost\Shell\MaxShellsPerUser`)}
	}
	var out []Finding
	if strings.EqualFold(w.AllowRemoteShellAccess, "false") {
		out = append(out, Finding{Code: "allow_remote_shell_access", Severity: SeverityError,
			Assumption: "WinRM accepts remote shells", Detail: "AllowRemoteShellAccess is false: every new shell is refused",
			Fix: `Set-Item -Path WSMan:\localhost\Shell\AllowRemoteShellAccess -Value $true (or the Group Policy "Allow Remote Shell Access")`})
	}
	if strings.EqualFold(w.CbtHardeningLevel, "Strict") {
		out = append(out, Finding{Code: "cbt_hardening_level", Severity: SeverityWarning,
			Assumption: "WinRM accepts a client that sends no channel binding token",
			Detail:     "CbtHardeningLevel is Strict: a logon without channel binding is refused",
			Fix:        `Set-Item -Path WSMan:\localhost\Service\Auth\CbtHardeningLevel -Value Relaxed`})
	}
	need := max(opts.Concurrency, 1) + 1 // the commands at once, and one shell a closing client may still hold
	out = append(out, quota(w.MaxShellsPerUser, need, "max_shells_per_user", `WSMan:\localhost\Shell\MaxShellsPerUser`)...)
	out = append(out, quota(w.MaxConcurrentOperationsPerUser, need, "max_concurrent_operations_per_user", `WSMan:\localhost\Service\MaxConcurrentOperationsPerUser`)...)
	return out
}

// quota warns of a WinRM quota below what the provider's concurrency needs.
func quota(value string, need int, code, item string) []Finding {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || n >= need {
		return nil
	}
	return []Finding{{Code: code, Severity: SeverityWarning,
		Assumption: fmt.Sprintf("WinRM lets the account hold %d shells and operations at once", need),
		Detail:     fmt.Sprintf("%s is %d: the provider's commands beyond it fail with a quota fault", item, n),
		Fix:        fmt.Sprintf("Set-Item -Path %s -Value 30 (or lower winrm.max_concurrency below %d)", item, n)}}
}

func checkCertificates(r Readiness, opts AssessOptions) []Finding {
	if r.WinRM == nil {
		return nil
	}
	var out []Finding
	for _, l := range r.WinRM.HTTPSListeners {
		const fix = "winrm set winrm/config/Listener?Address=*+Transport=HTTPS '@{CertificateThumbprint=\"<thumbprint of the renewed certificate>\"}'"
		if !l.Found {
			out = append(out, Finding{Code: "listener_certificate", Severity: SeverityWarning,
				Assumption: "the HTTPS listener's certificate is in LocalMachine\\My",
				Detail:     "the listener names thumbprint " + l.Thumbprint + ", which no certificate has (renewed or removed)", Fix: fix})
			continue
		}
		notAfter, err := time.Parse(time.RFC3339, l.NotAfter)
		switch {
		case err != nil:
		case !notAfter.After(opts.Now):
			out = append(out, Finding{Code: "listener_certificate", Severity: SeverityError,
				Assumption: "the HTTPS listener's certificate is valid", Detail: "it expired on " + l.NotAfter, Fix: fix})
		case notAfter.Sub(opts.Now) < certificateWarning:
			out = append(out, Finding{Code: "listener_certificate", Severity: SeverityWarning,
				Assumption: "the HTTPS listener's certificate stays valid",
				Detail:     "it expires on " + l.NotAfter + "; a listener keeps the old thumbprint after an auto-renewal", Fix: fix})
		}
	}
	return out
}

func checkRevocation(r Readiness, _ AssessOptions) []Finding {
	var out []Finding
	if r.ConfiguredStatus("Vpn") != "" && (r.IKEv2CertAuthFlags == nil || *r.IKEv2CertAuthFlags != 4) {
		out = append(out, Finding{Code: "ikev2_cert_auth_flags", Severity: SeverityWarning,
			Assumption: "RRAS checks IKEv2 certificates for revocation (CertAuthFlags = 4)",
			Detail:     "a device tunnel whose certificate is held keeps connecting: blocks cannot stop it",
			Fix:        `reg add HKLM\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2 /f /v CertAuthFlags /t REG_DWORD /d 4; Restart-Service RemoteAccess`})
	}
	if r.ConfiguredStatus("DA") != "" && !strings.EqualFold(r.IPsecCertValidationLevel, "RequireCrlCheck") {
		out = append(out, Finding{Code: "ipsec_cert_validation_level", Severity: SeverityWarning,
			Assumption: "IPsec requires a CRL check (CertValidationLevel = RequireCrlCheck, ActiveStore)",
			Detail:     "CertValidationLevel is " + r.IPsecCertValidationLevel + ": a held certificate still authenticates DirectAccess tunnels",
			Fix:        "Set-NetFirewallSetting -CertValidationLevel RequireCrlCheck (in the DirectAccess server GPO with -PolicyStore <GPO>)"})
	}
	return out
}

// partMissing is the finding for a part of the answer the server could not read: a warning, since the commands the
// provider itself runs are checked one by one (checkCommands).
func partMissing(r Readiness, part, assumption, fix string) Finding {
	return Finding{Code: part, Severity: SeverityWarning, Assumption: assumption,
		Detail: "the server could not read it" + errorNote(r, part), Fix: fix}
}

func errorNote(r Readiness, part string) string {
	if msg := r.Errors[part]; msg != "" {
		return ": " + msg
	}
	return ""
}
