package provider

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// reverseLookupTimeout bounds the DNS lookup of a server given by IP address.
const reverseLookupTimeout = 3 * time.Second

// serverNames remembers the DNS names of servers given by IP address, looked up once per provider process.
type serverNames struct {
	mu     sync.Mutex
	lookup func(ctx context.Context, addr string) ([]string, error)
	names  map[string][]string
}

func (n *serverNames) of(ctx context.Context, ip string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if names, ok := n.names[ip]; ok {
		return names
	}
	lookup := n.lookup
	if lookup == nil {
		lookup = net.DefaultResolver.LookupAddr
	}
	ctx, cancel := context.WithTimeout(ctx, reverseLookupTimeout)
	defer cancel()
	found, _ := lookup(ctx, ip)
	var names []string
	for _, name := range found {
		if name = strings.TrimSuffix(name, "."); name != "" && !strings.EqualFold(name, "localhost") {
			names = append(names, name)
		}
	}
	if n.names == nil {
		n.names = map[string][]string{}
	}
	n.names[ip] = names
	return names
}

// protection lists the computers a device block must never disable: the Remote Access servers of the operation (the
// resource's servers and the provider's), by name, and by the DNS names of those given by IP address, and the
// provider's protected_computers, which add to the servers' own names and never replace them. unresolved are the
// servers given by IP address that neither DNS nor an ADDRESS=NAME entry of protected_computers names.
func (c *clients) protection(ctx context.Context, servers []string) (protected []directory.Protected, unresolved []string) {
	for _, server := range c.withProviderServers(servers) {
		if net.ParseIP(server) == nil {
			protected = append(protected, directory.Protected{Name: server,
				Why: fmt.Sprintf("it is the Remote Access server %s (servers)", server)})
			continue
		}
		names := c.serverNames.of(ctx, server)
		if named, ok := c.settings.ServerNames[net.ParseIP(server).String()]; ok {
			names = append(slices.Clone(names), named)
		}
		if len(names) == 0 {
			// Naming other computers in protected_computers does not name this one: the block stays refused.
			unresolved = append(unresolved, server)
		}
		for _, name := range names {
			protected = append(protected, directory.Protected{Name: name,
				Why: fmt.Sprintf("it is the Remote Access server %s (servers lists it as %s)", name, server)})
		}
	}
	for _, name := range c.settings.ProtectedComputers {
		protected = append(protected, directory.Protected{Name: name, Why: fmt.Sprintf("it is listed in protected_computers (%s)", name)})
	}
	return protected, unresolved
}

// withProviderServers is the provider's servers and those of servers that it does not list: every Remote Access
// server that the configuration names for an operation.
func (c *clients) withProviderServers(servers []string) []string {
	all := slices.Clone(c.settings.Servers)
	for _, s := range servers {
		if !slices.ContainsFunc(all, func(x string) bool { return strings.EqualFold(x, s) }) {
			all = append(all, s)
		}
	}
	return all
}

// ownAccounts are the accounts the provider logs on with: blocking them would lock the provider out.
func (s settings) ownAccounts() []directory.Protected {
	var own []directory.Protected
	if s.LDAP.BindUsername != "" {
		own = append(own, directory.Protected{Name: s.LDAP.BindUsername,
			Why: fmt.Sprintf("it is the provider's own LDAP bind account (ldap.bind_username %s): blocking it would lock the provider out", s.LDAP.BindUsername)})
	}
	if s.WinRM.Username != "" {
		own = append(own, directory.Protected{Name: s.WinRM.Username,
			Why: fmt.Sprintf("it is the provider's own WinRM account (winrm.username %s): blocking it would lock the provider out", s.WinRM.Username)})
	}
	return own
}

// refuseServerAccount refuses a device block of a Remote Access server by the name the server gives itself
// (get-readiness/v1's computer_name, read once per process with the readiness), for the block's servers and the
// provider's: a server that the configuration names by a DNS alias, or by an address whose reverse name is not its
// host name, is otherwise not recognised by the guard, which knows the configuration's names. A server whose
// readiness could not be read is left to those names.
func (c *clients) refuseServerAccount(ctx context.Context, acct directory.Account, blockServers []string, at path.Path, noun, name string, diags *diag.Diagnostics) {
	servers := c.withProviderServers(blockServers)
	if acct.Kind != directory.KindComputer || len(servers) == 0 {
		return
	}
	looks := c.readiness(ctx, servers)
	for _, server := range slices.Sorted(slices.Values(servers)) {
		if look := looks[server]; look.err == nil && look.ready.ComputerName != "" && strings.EqualFold(look.ready.ComputerName, acct.Name()) {
			diags.AddAttributeError(at, fmt.Sprintf("Refusing to block the %s %q", noun, name),
				fmt.Sprintf("The provider refuses to disable %s: it is the Remote Access server %s (the server's own computer name is %s, "+
					"although servers and protected_computers name it otherwise).", acct.DN, server, look.ready.ComputerName))
			return
		}
	}
}
