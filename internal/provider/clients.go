package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// clients is what Configure hands to every resource, data source, action and list resource. The underlying clients
// connect lazily and are shared by Terraform's parallel calls.
type clients struct {
	settings settings

	directoryOnce sync.Once
	directory     *directory.Client
	directoryErr  error

	mu    sync.Mutex
	winrm map[string]*winrm.Client

	// verify shares the verify windows' polls among every block in flight.
	verify *remoteaccess.VerifyHub
	// serverNames caches the DNS names of servers given by IP address.
	serverNames serverNames
	// drains are the node drains this process has planned: each drain's plan counts the others (node_drain_plan.go).
	drains plannedDrains
	// looks are the servers' readiness reads, made once per process and shared (readiness_check.go).
	looks readinessLooks
	// previews counts the impact previews this process has shown (block_plan.go, showImpact).
	previews atomic.Int64
	// unrecordedPlans are the accounts of the unrecorded new blocks this process has planned (block_plan.go).
	unrecordedPlans unrecordedPlans
}

func newClients(s settings) (*clients, error) {
	c := &clients{settings: s, winrm: map[string]*winrm.Client{}, verify: &remoteaccess.VerifyHub{Interval: verifyPollInterval, PollTimeout: s.WinRM.Timeout}}
	// Build the clients of the configured servers now so that a settings error surfaces at plan time.
	for _, server := range s.Servers {
		if _, err := c.server(server); err != nil {
			return nil, err
		}
	}
	if len(s.LDAP.URLs) > 0 {
		if _, err := c.Directory(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Directory returns the shared Active Directory client.
func (c *clients) Directory() (*directory.Client, error) {
	c.directoryOnce.Do(func() {
		l := c.settings.LDAP
		if len(l.URLs) == 0 {
			c.directoryErr = fmt.Errorf("no LDAP URL is configured: set ldap.urls in the provider block or %s", envLDAPURLs)
			return
		}
		cfg := directory.Config{
			URLs:               l.URLs,
			StartTLS:           l.StartTLS,
			CACertPEM:          l.CACertPEM,
			Insecure:           l.Insecure,
			AllowPlaintext:     l.AllowPlaintext,
			BindUsername:       l.BindUsername,
			BindPassword:       l.BindPassword,
			BaseDN:             l.BaseDN,
			DomainControllers:  l.DomainControllers,
			WriteURL:           l.WriteURL,
			AllowedSearchBases: l.AllowedSearchBases,
			ProtectedAccounts:  c.settings.ownAccounts(),
			Timeout:            l.Timeout,
		}
		if k := l.Kerberos; k != nil {
			cfg.Kerberos = &directory.KerberosConfig{Realm: k.Realm, Krb5ConfPath: k.Krb5Conf, KeytabPath: k.Keytab, SPN: k.SPN}
		}
		c.directory, c.directoryErr = directory.New(cfg)
	})
	return c.directory, c.directoryErr
}

// server returns the WinRM client of one Remote Access server, creating it on first use.
func (c *clients) server(name string) (*winrm.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if client, ok := c.winrm[name]; ok {
		return client, nil
	}
	w := c.settings.WinRM
	cfg := winrm.Config{
		Host:           name,
		Port:           w.Port,
		HTTPS:          w.UseHTTPS,
		Insecure:       w.Insecure,
		CACertPEM:      w.CACertPEM,
		TLSServerName:  w.TLSServerName,
		Username:       w.Username,
		Password:       w.Password,
		Auth:           winrm.Auth(w.Auth),
		Timeout:        w.Timeout,
		MaxConcurrency: w.MaxConcurrency,
	}
	if k := w.Kerberos; k != nil {
		cfg.Kerberos = &winrm.KerberosConfig{Realm: k.Realm, Krb5ConfPath: k.Krb5Conf, KeytabPath: k.Keytab, SPN: k.SPN}
	}
	client, err := winrm.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("WinRM client for %s: %w", name, err)
	}
	c.winrm[name] = client
	openWinRM.add(client)
	return client, nil
}

// openWinRM holds every WinRM client of the process, whichever provider configuration made it. The framework has
// no shutdown hook: Terraform ends a plugin by stopping its gRPC server, after which main calls CloseWinRMClients.
// Until then each client deletes its own shells once they have been idle a moment (see internal/winrm).
var openWinRM winrmRegistry

type winrmRegistry struct {
	mu      sync.Mutex
	clients []*winrm.Client
}

func (r *winrmRegistry) add(c *winrm.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clients = append(r.clients, c)
}

// CloseWinRMClients deletes the remote shells that every WinRM client of the process still pools, all servers at
// once, within ctx. Terraform gives a plugin about two seconds to exit once it asked it to stop.
func CloseWinRMClients(ctx context.Context) error {
	openWinRM.mu.Lock()
	clients := openWinRM.clients
	openWinRM.clients = nil
	openWinRM.mu.Unlock()
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.CloseContext(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Cluster returns the fan-out over the given servers, or over the provider's servers when none are given.
func (c *clients) Cluster(servers []string) (*remoteaccess.Cluster, error) {
	if len(servers) == 0 {
		servers = c.settings.Servers
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("no Remote Access server is configured: set servers in the provider block or %s", envServers)
	}
	runners := make(map[string]remoteaccess.Runner, len(servers))
	for _, name := range servers {
		client, err := c.server(name)
		if err != nil {
			return nil, err
		}
		runners[name] = client
	}
	return remoteaccess.NewCluster(runners)
}
