package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CaptureFormat is the "format" of the file scripts/capture-remoteaccess.ps1 writes on a real Remote Access server:
// the objects of Get-NetIPsecMainModeSA (each with the quick-mode SAs of Get-NetIPsecQuickModeSA
// -AssociatedNetIPsecMainModeSA), Get-RemoteAccessConnectionStatistics, Get-NlbCluster,
// Get-NlbClusterNodeNetworkInterface and Get-NlbClusterNode (per interface) with all their properties as the cmdlets
// name them, names and addresses replaced consistently; one SA in its raw ConvertTo-Json shape; Get-RemoteAccess,
// Get-DAServer, WinRM's shell and service settings, IKEv2 CertAuthFlags, IPsec CertValidationLevel and the Windows
// build. Captures written before the later fields existed load all the same.
const CaptureFormat = "remoteaccess-capture/v1"

// Capture is one such file.
type Capture struct {
	Format       string         `json:"format"`
	Source       string         `json:"source"` // how the file was made
	CapturedAt   string         `json:"captured_at"`
	ComputerName string         `json:"computer_name"` // the server the capture ran on
	Domain       Domain         `json:"domain"`        // the server's domain, sanitised like every name
	Windows      map[string]any `json:"windows"`       // ProductName, CurrentBuild, UBR, DisplayVersion
	MainModeSAs  []CapturedSA   `json:"main_mode_sas"`
	// RawMainModeSA is one SA as Get-NetIPsecMainModeSA | ConvertTo-Json -Depth 4 writes it, in this server's shape.
	RawMainModeSA map[string]any   `json:"raw_main_mode_sa"`
	Connections   []map[string]any `json:"connections"`
	NLBClusters   []map[string]any `json:"nlb_clusters"`   // Get-NlbCluster
	NLBInterfaces []map[string]any `json:"nlb_interfaces"` // Get-NlbClusterNodeNetworkInterface: InterfaceName, NlbBound
	NLBNodes      []map[string]any `json:"nlb_nodes"`
	RemoteAccess  []map[string]any `json:"remote_access"`       // Get-RemoteAccess
	DAServer      []map[string]any `json:"directaccess_server"` // Get-DAServer
	// WinRM holds the shell (winrs) and service settings as WSMan: names them: shell.MaxShellsPerUser, ...
	WinRM map[string]map[string]string `json:"winrm"`
	// CertAuthFlags is HKLM\...\RemoteAccess\Parameters\Ikev2 CertAuthFlags; nil when absent.
	CertAuthFlags       *int     `json:"ikev2_cert_auth_flags"`
	CertValidationLevel string   `json:"ipsec_cert_validation_level"` // Get-NetFirewallSetting -PolicyStore ActiveStore
	Warnings            []string `json:"warnings"`                    // what the capture could not record
}

// CapturedSA is one main-mode SA and the quick-mode SAs associated with it.
type CapturedSA struct {
	Properties   map[string]any   `json:"properties"`
	QuickModeSAs []map[string]any `json:"quick_mode_sas"`
}

// isCapture reports whether a JSON document is a capture rather than a cluster seed.
func isCapture(data []byte) bool {
	var probe struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(bytes.TrimPrefix(data, []byte("\uFEFF")), &probe) == nil && probe.Format == CaptureFormat
}

// ParseCapture turns a capture into a cluster seed: the NLB nodes (or the captured server alone), and the
// captured rows on the captured server. Captured rows have no client behind them: the lab serves and removes them
// with the scripts' own rules, and nothing brings them back.
func ParseCapture(data []byte) (Seed, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	var c Capture
	if err := json.Unmarshal(data, &c); err != nil {
		return Seed{}, fmt.Errorf("decode capture: %w", err)
	}
	if c.Format != CaptureFormat {
		return Seed{}, fmt.Errorf("capture format %q, want %q", c.Format, CaptureFormat)
	}
	if c.ComputerName == "" {
		return Seed{}, errors.New("capture: computer_name is required")
	}
	seed := Seed{Domain: c.Domain, captured: map[string]capturedRows{}}
	// The interfaces NLB is bound to, one NLB cluster each (WINDOWS.md, NLB); older captures name them on the nodes.
	for _, nic := range c.NLBInterfaces {
		if iface := text(nic["InterfaceName"]); iface != "" && nic["NlbBound"] == true && !containsFold(seed.NLBInterfaces, iface) {
			seed.NLBInterfaces = append(seed.NLBInterfaces, iface)
		}
	}
	for _, n := range c.NLBNodes {
		if name := text(n["Name"]); name != "" && !containsFold(seed.Nodes, name) {
			seed.Nodes = append(seed.Nodes, name)
		}
		// One node object per node and interface NLB is bound to (WINDOWS.md, NLB): the interfaces come along.
		if iface := text(n["InterfaceName"]); iface != "" && !containsFold(seed.NLBInterfaces, iface) {
			seed.NLBInterfaces = append(seed.NLBInterfaces, iface)
		}
	}
	if !containsFold(seed.Nodes, c.ComputerName) {
		seed.Nodes = append(seed.Nodes, c.ComputerName)
	}
	var rows capturedRows
	for i, sa := range c.MainModeSAs {
		p := sa.Properties
		name := text(p["Name"])
		if name == "" {
			return Seed{}, fmt.Errorf("capture: main-mode SA %d has no Name", i)
		}
		rows.sas = append(rows.sas, saRow{
			name: name, localEndpoint: text(p["LocalEndpoint"]), remoteEndpoint: text(p["RemoteEndpoint"]),
			first: p["RemoteFirstId"], second: p["RemoteSecondId"], // either shape, as the server printed them
			cipher: p["CipherAlgorithm"], hash: p["HashAlgorithm"], quickMode: len(sa.QuickModeSAs),
		})
	}
	for i, p := range c.Connections {
		start, err := capturedTime(p["ConnectionStartTime"])
		if err != nil {
			return Seed{}, fmt.Errorf("capture: connection %d: ConnectionStartTime: %w", i, err)
		}
		rows.stats = append(rows.stats, statRow{
			userNames: texts(p["UserName"]), hostName: text(p["HostName"]),
			addresses:      uniqueFold(append(append(texts(p["ClientIPAddress"]), texts(p["ClientIPv4Address"])...), texts(p["ClientIPv6Address"])...)),
			external:       firstOf(texts(p["ClientExternalAddress"])),
			connectionType: text(p["ConnectionType"]), tunnelType: text(p["TunnelType"]),
			transition: text(p["TransitionTechnology"]), authMethod: text(p["AuthMethod"]), start: start,
			duration: number(p["ConnectionDuration"]), bytesIn: number(p["TotalBytesIn"]), bytesOut: number(p["TotalBytesOut"]),
			activity: text(p["UserActivityState"]), captured: true,
		})
	}
	seed.captured[c.ComputerName] = rows
	if err := seed.validate(); err != nil {
		return Seed{}, fmt.Errorf("invalid capture: %w", err)
	}
	return seed, nil
}

// text flattens a captured value to one string: strings as they are, numbers and booleans printed, the first
// element of an array (the cmdlets print some single values as arrays), "" for null or an object.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		return firstOf(texts(x))
	}
	return ""
}

// texts flattens a captured value to every string it holds (ClientIPAddress can be an array).
func texts(v any) []string {
	if list, ok := v.([]any); ok {
		var out []string
		for _, item := range list {
			out = append(out, texts(item)...)
		}
		return out
	}
	if s := text(v); s != "" {
		return []string{s}
	}
	return nil
}

func firstOf(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

func number(v any) int64 {
	n, _ := strconv.ParseInt(text(v), 10, 64)
	return n
}

// capturedTime reads a date as the capture script writes it (ISO 8601), or as Windows PowerShell 5.1's
// ConvertTo-Json writes a DateTime ("/Date(milliseconds)/").
func capturedTime(v any) (time.Time, error) {
	s := text(v)
	if s == "" {
		return time.Time{}, nil
	}
	if ms, ok := strings.CutPrefix(strings.TrimSuffix(s, ")/"), "/Date("); ok {
		n, err := strconv.ParseInt(ms, 10, 64)
		return time.UnixMilli(n).UTC(), err
	}
	return time.Parse(time.RFC3339, s)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func uniqueFold(values []string) []string {
	var out []string
	for _, v := range values {
		if v != "" && !containsFold(out, v) {
			out = append(out, v)
		}
	}
	return out
}
