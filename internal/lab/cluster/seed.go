package cluster

import (
	"errors"
	"fmt"
	"os"
	"strings"

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
	TransitionTechnology string   `json:"transition_technology"` // IPHTTPS, Teredo or 6to4
}

// VPNClient is one Always On VPN connection: a user tunnel (User) or a device tunnel (Computer), never both.
type VPNClient struct {
	User       string `json:"user,omitempty"`
	Computer   string `json:"computer,omitempty"`
	Server     string `json:"server"`
	TunnelType string `json:"tunnel_type,omitempty"` // Ikev2 (default) or Sstp
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
// a client.
func ParseSeed(data []byte) (Seed, error) {
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
	return Options{Nodes: s.Nodes, Interfaces: s.NLBInterfaces, Domain: s.Domain, DirectAccess: s.DirectAccess, VPN: s.VPN}
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
		switch c.TransitionTechnology {
		case "IPHTTPS", "Teredo", "6to4":
		default:
			return fmt.Errorf("directaccess client %q: transition_technology %q is not IPHTTPS, Teredo or 6to4", c.Computer, c.TransitionTechnology)
		}
	}
	for _, v := range o.VPN {
		if (v.User == "") == (v.Computer == "") {
			return fmt.Errorf("vpn connection on %q needs exactly one of user and computer", v.Server)
		}
		if !known[strings.ToUpper(v.Server)] {
			return fmt.Errorf("vpn connection of %q: unknown server %q", v.User+v.Computer, v.Server)
		}
	}
	return nil
}
