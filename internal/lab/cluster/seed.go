package cluster

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/strictjson"
)

// Seed is the lab file that describes a Remote Access cluster: its NLB nodes and the clients connected through
// them. The account names must exist in the lab's directory seed (internal/lab/testdata/seed.json).
type Seed struct {
	Domain Domain   `json:"domain"`
	Nodes  []string `json:"nodes"`
	// NLBInterfaces are the interfaces NLB is bound to on every node, e.g. ["Internet", "Corpnet"] (default one).
	NLBInterfaces []string             `json:"nlb_interfaces,omitempty"`
	DirectAccess  []DirectAccessClient `json:"directaccess"`
	VPN           []VPNClient          `json:"vpn"`
	// VPNStatisticsLingerSeconds keeps a disconnected VPN connection's statistics row listed that long
	// (Options.StatisticsLinger).
	VPNStatisticsLingerSeconds int `json:"vpn_statistics_linger_seconds,omitempty"`
	// SAShapes: per server, how Get-NetIPsecMainModeSA prints identities and algorithms, "object" (default) or
	// "string" (Options.SAShapes).
	SAShapes map[string]string `json:"sa_shapes,omitempty"`
	// RevocationEnforcement is each server's revocation settings, by server name (revocation.go); a server not
	// listed enforces none, the Windows default.
	RevocationEnforcement map[string]ServerEnforcement `json:"revocation_enforcement,omitempty"`
	// Readiness is what each server answers to get-readiness/v1, by server name; each field breaks one assumption.
	Readiness map[string]Readiness `json:"readiness,omitempty"`

	captured map[string]capturedRows // from LoadCapture
}

// Domain names the Active Directory domain the clients belong to.
type Domain struct {
	DNSName     string `json:"dns_name"`     // corp.example
	NetBIOSName string `json:"netbios_name"` // CORP
}

// DirectAccessClient is a computer with DirectAccess, connected through each of Servers.
type DirectAccessClient struct {
	Computer    string `json:"computer"`                // NetBIOS name: CLIENT1 (account CLIENT1$)
	DNSHostName string `json:"dns_host_name,omitempty"` // default lower(computer).domain
	// User is the sAMAccountName of the user logged on; without one the client has only its infrastructure tunnel.
	User                 string   `json:"user,omitempty"`
	Servers              []string `json:"servers"`
	TransitionTechnology string   `json:"transition_technology"` // IPHttps, Teredo, 6to4, Native IPv6 or Isatap
	// SAIdentity is what the client's main-mode SAs carry as remote identities: "account" (default: DOMAIN\NAME$
	// and DOMAIN\user), "certificate" (the computer side is the certificate subject CN=fqdn, so only the
	// infrastructure tunnel's NTLM identity names the account) or "unreadable" (no identity at all).
	SAIdentity string `json:"sa_identity,omitempty"`
	// CertificateRevoked starts the computer with its machine certificate revoked.
	CertificateRevoked bool `json:"certificate_revoked,omitempty"`
}

// VPNClient is one Always On VPN connection: a user tunnel (User) or a device tunnel (Computer), never both.
type VPNClient struct {
	User       string `json:"user,omitempty"`
	Computer   string `json:"computer,omitempty"`
	Server     string `json:"server"`
	TunnelType string `json:"tunnel_type,omitempty"` // Ikev2 (default), Sstp, L2tp or Pptp
	// CertificateRevoked starts a device tunnel's computer with its machine certificate revoked.
	CertificateRevoked bool `json:"certificate_revoked,omitempty"`
	// DNSUserName prints a user tunnel's UserName as dns.domain\user (the Get-RemoteAccessConnectionStatistics
	// example prints corp.contoso.com\remoteuser1) instead of NETBIOS\user.
	DNSUserName bool `json:"dns_user_name,omitempty"`
	// HostName is what the statistics print as a device tunnel's HostName and UserName: the certificate subject's
	// FQDN unless set. Microsoft's pages do not say which form Windows prints; the provider's scripts also match
	// the bare computer name, and this lets the tests hold them to it.
	HostName string `json:"host_name,omitempty"`
}

// LoadSeed reads and validates a cluster seed file.
func LoadSeed(path string) (Seed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, fmt.Errorf("read cluster seed: %w", err)
	}
	return ParseSeed(data)
}

// ParseSeed decodes and validates a cluster seed. Unknown fields are errors so that a typo does not silently drop
// a client. A capture of a real server (CaptureFormat) is a seed too: see ParseCapture.
func ParseSeed(data []byte) (Seed, error) {
	if isCapture(data) {
		return ParseCapture(data)
	}
	var s Seed
	if err := strictjson.Decode(data, &s); err != nil {
		return Seed{}, fmt.Errorf("decode cluster seed: %w", err)
	}
	if err := s.validate(); err != nil {
		return Seed{}, fmt.Errorf("invalid cluster seed: %w", err)
	}
	return s, nil
}

// Options returns the cluster options for this seed; the caller adds the directory and the time settings.
func (s Seed) Options() Options {
	opts := Options{Nodes: s.Nodes, Interfaces: s.NLBInterfaces, Domain: s.Domain, DirectAccess: s.DirectAccess, VPN: s.VPN, Captured: s.captured,
		StatisticsLinger: time.Duration(s.VPNStatisticsLingerSeconds) * time.Second, SAShapes: s.SAShapes, Readiness: s.Readiness,
		Enforcement: map[string]ServerEnforcement{}}
	for server, e := range s.RevocationEnforcement {
		opts.Enforcement[strings.ToUpper(server)] = e
	}
	for _, c := range s.DirectAccess {
		if c.CertificateRevoked {
			opts.RevokedCertificates = append(opts.RevokedCertificates, c.Computer)
		}
	}
	for _, v := range s.VPN {
		if v.CertificateRevoked {
			opts.RevokedCertificates = append(opts.RevokedCertificates, v.Computer)
		}
	}
	return opts
}

func (s Seed) validate() error {
	return s.Options().validate()
}

func (o Options) validate() error {
	if len(o.Nodes) == 0 {
		return errors.New("at least one node is required")
	}
	known := map[string]bool{}
	for _, n := range o.Nodes {
		if n == "" || known[strings.ToUpper(n)] {
			return fmt.Errorf("node name %q is empty or repeated", n)
		}
		known[strings.ToUpper(n)] = true
	}
	interfaces := map[string]bool{}
	for _, i := range o.Interfaces {
		if i == "" || interfaces[strings.ToUpper(i)] {
			return fmt.Errorf("NLB interface name %q is empty or repeated", i)
		}
		interfaces[strings.ToUpper(i)] = true
	}
	for server, shape := range o.SAShapes {
		if !known[strings.ToUpper(server)] || !validShape(shape) {
			return fmt.Errorf("sa_shapes: %q for server %q: want a known server and %q or %q", shape, server, ShapeObject, ShapeString)
		}
	}
	for server, e := range o.Enforcement {
		if !known[strings.ToUpper(server)] || !e.valid() {
			return fmt.Errorf("revocation_enforcement of %q: unknown server, or cert_validation_level %q is not None, AttemptCrlCheck or RequireCrlCheck",
				server, e.CertValidationLevel)
		}
	}
	for server := range o.Captured {
		if !known[strings.ToUpper(server)] {
			return fmt.Errorf("captured rows for unknown server %q", server)
		}
	}
	if (len(o.DirectAccess) > 0 || len(o.VPN) > 0) && (o.Domain.DNSName == "" || o.Domain.NetBIOSName == "") {
		return errors.New("domain.dns_name and domain.netbios_name are required when there are clients")
	}
	for _, c := range o.DirectAccess {
		if c.Computer == "" || len(c.Servers) == 0 {
			return fmt.Errorf("directaccess client %q needs a computer and at least one server", c.Computer)
		}
		for _, s := range c.Servers {
			if !known[strings.ToUpper(s)] {
				return fmt.Errorf("directaccess client %q: unknown server %q", c.Computer, s)
			}
		}
		if transitionTechnologies[strings.ToLower(c.TransitionTechnology)] == "" {
			return fmt.Errorf("directaccess client %q: transition_technology %q is not IPHttps, Teredo, 6to4, Native IPv6 or Isatap", c.Computer, c.TransitionTechnology)
		}
		switch c.SAIdentity {
		case "", "account", "certificate", "unreadable":
		default:
			return fmt.Errorf("directaccess client %q: sa_identity %q is not account, certificate or unreadable", c.Computer, c.SAIdentity)
		}
	}
	for _, v := range o.VPN {
		if (v.User == "") == (v.Computer == "") {
			return fmt.Errorf("vpn connection on %q needs exactly one of user and computer", v.Server)
		}
		if !known[strings.ToUpper(v.Server)] {
			return fmt.Errorf("vpn connection of %q: unknown server %q", v.User+v.Computer, v.Server)
		}
		if v.TunnelType != "" && vpnTunnelTypes[strings.ToLower(v.TunnelType)] == "" {
			return fmt.Errorf("vpn connection of %q: tunnel_type %q is not Ikev2, Sstp, L2tp or Pptp", v.User+v.Computer, v.TunnelType)
		}
		if v.User == "" && v.DNSUserName {
			return fmt.Errorf("vpn connection of %q: dns_user_name applies to user tunnels only", v.Computer)
		}
		if v.User != "" && v.CertificateRevoked {
			return fmt.Errorf("vpn connection of %q: certificate_revoked applies to device tunnels only", v.User)
		}
	}
	return nil
}
