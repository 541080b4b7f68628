package lab

import (
	"context"
	_ "embed" // the default seeds
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/enterpriseca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/labtls"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
)

// The default seeds. cluster.json is a copy of internal/lab/cluster/testdata/cluster.json (go:embed cannot reach
// into another package's directory); a test keeps the two equal.
var (
	//go:embed testdata/seed.json
	defaultDirectorySeed []byte
	//go:embed testdata/cluster.json
	defaultClusterSeed []byte
)

// Defaults of Config.
const (
	DefaultFirstAddress     = "127.0.0.11"
	DefaultDirectoryAddress = "127.0.0.1"
	DefaultReestablishDelay = 2 * time.Second
	DefaultConvergenceDelay = time.Second
	DefaultUser             = "labadmin"            // in the directory's NetBIOS domain: CORP\labadmin
	DefaultPassword         = "Lab-WinRM-Passw0rd!" //nolint:gosec // the offline lab's published demo password
)

// externalProbeTimeout bounds the first check that an external directory answers.
const externalProbeTimeout = 15 * time.Second

// Config describes a lab. The zero value is the standard lab: RAS1 and RAS2 on 127.0.0.11 and 127.0.0.12 with a
// free port, the embedded directory on 127.0.0.1 with free ports, and the seeds in testdata/.
type Config struct {
	// Servers are the emulated Remote Access servers, which are also the NLB nodes. Each listens on its own loopback
	// address (FirstAddress, then the next ones) on the SAME port, because the provider has one WinRM port for all
	// its servers. Default: the cluster seed's nodes (RAS1, RAS2).
	Servers []string `json:"servers,omitempty"`
	// Port is the WinRM HTTPS port of every server; 0 picks one that is free on every address.
	Port int `json:"port,omitempty"`
	// FirstAddress is the IPv4 loopback address of the first server (default 127.0.0.11).
	FirstAddress string `json:"first_address,omitempty"`
	// DirectorySeed is the path of an ldapserver seed; default: the embedded testdata/seed.json.
	DirectorySeed string `json:"directory_seed,omitempty"`
	// ClusterSeed is the path of a cluster seed; default: the embedded testdata/cluster.json.
	ClusterSeed string `json:"cluster_seed,omitempty"`
	// DirectoryAddress is where the embedded directory listens: 127.0.0.1 (the default) or ::1, the only addresses
	// its certificate names. LDAPSPort and LDAPPort (StartTLS) default to free ports.
	DirectoryAddress string `json:"directory_address,omitempty"`
	LDAPSPort        int    `json:"ldaps_port,omitempty"`
	LDAPPort         int    `json:"ldap_port,omitempty"`
	// ExternalDirectory, when set, points the emulated clients at a real directory (e.g. Samba AD) instead of
	// starting the embedded one. Its domain must be the cluster seed's.
	ExternalDirectory *ExternalDirectory `json:"external_directory,omitempty"`
	// Kerberos, when set, lets the servers accept Kerberos logons as well. The lab has no KDC of its own: this goes
	// with an ExternalDirectory that is a real domain, whose KDC issues the tickets and which exported the keytab.
	Kerberos *Kerberos `json:"kerberos,omitempty"`
	// ReestablishDelay is how long a purged client takes to come back while its accounts are enabled (default 2s).
	ReestablishDelay time.Duration `json:"-"`
	// ConvergenceDelay is how long a started NLB node reports Converging before Converged (default 1s).
	ConvergenceDelay time.Duration `json:"-"`
	// Username and Password are the WinRM account (default CORP\labadmin and DefaultPassword). They also guard the
	// status endpoint (status.go).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// StatusPort is the port of the status endpoint on 127.0.0.1; 0 picks a free one.
	StatusPort int `json:"status_port,omitempty"`
	// ShellIdleTimeout is the servers' IdleTimeout setting: how long an unused shell lives when its client asked for
	// no shorter time (default wsman.DefaultShellIdleTimeout, two hours as on Windows Server), so that a test can see
	// forgotten shells expire in moments.
	ShellIdleTimeout time.Duration `json:"-"`
	// MaxShellsPerUser is the servers' MaxShellsPerUser (default wsman.DefaultMaxShellsPerUser, 5, as on a Windows
	// server that no policy configures).
	MaxShellsPerUser int `json:"max_shells_per_user,omitempty"`
	// DenyRemoteShellAccess starts the servers with AllowRemoteShellAccess = false (every new shell refused), and
	// CbtHardeningLevel "Strict" with a refusal of logons without a channel binding token; both can be switched later
	// (POST /faults).
	DenyRemoteShellAccess bool   `json:"deny_remote_shell_access,omitempty"`
	CbtHardeningLevel     string `json:"cbt_hardening_level,omitempty"`
	// Logger, when set, records every command the servers run.
	Logger *slog.Logger `json:"-"`
	// CertificateAuthority is the enterprise CA's config string (default "ca1.<domain>\Corp Issuing CA"); the CA
	// scripts answer for it on every server (enterprise_ca.go).
	CertificateAuthority string `json:"certificate_authority,omitempty"`
	// EnforceRevocation makes every server enforce revocation (IKEv2 CertAuthFlags 4, IPsec RequireCrlCheck), over
	// what the cluster seed says: a held certificate then keeps its device out, as on a server configured for it.
	EnforceRevocation bool `json:"enforce_revocation,omitempty"`
	// CRLPeriod is how long the CA's base CRLs are valid (default a week, as AD CS); CRLDeltaPeriod a delta's (0:
	// the CA publishes no deltas).
	CRLPeriod, CRLDeltaPeriod time.Duration `json:"-"`
}

// ExternalDirectory is a directory the lab does not run.
type ExternalDirectory struct {
	URL           string // ldaps://host[:port] or ldap://host[:port] (StartTLS)
	CACertPEM     []byte // the CA of the directory's certificate; nil trusts the system roots
	BindUsername  string // DN, user@realm or DOMAIN\user
	BindPassword  string
	NetBIOSDomain string // default: the cluster seed's; must match it
}

// Kerberos is the service side of WinRM Kerberos. With ComputerAccounts, as on Windows: WinRM runs as
// NetworkService, so each server decrypts tickets with the keys of its own computer account (RAS1$), whatever
// HTTP/ name the ticket is for (HTTP/ maps to HOST/ on the computer account; WINDOWS.md, Kerberos). Without it,
// every server shares the keys of one service principal (a test device: one name for servers that have none).
type Kerberos struct {
	// Keytab is the path of a keytab: with ComputerAccounts, the keys of every server's computer account
	// (`samba-tool domain exportkeytab FILE --principal='RAS1$'`, once per server); otherwise the shared service
	// principal's (`--principal=HTTP/remoteaccess.samba.test`).
	Keytab string `json:"keytab"`
	// Realm is the domain's Kerberos realm, e.g. SAMBA.TEST.
	Realm string `json:"realm"`
	// ComputerAccounts: each server uses the keys of its computer account, NAME$.
	ComputerAccounts bool `json:"computer_accounts,omitempty"`
}

// Info is what a client of the lab needs, printed as JSON by the command.
type Info struct {
	Servers         []ServerInfo `json:"servers"`
	ServerAddresses []string     `json:"server_addresses"` // in order, for the provider's `servers`
	WinRMPort       int          `json:"winrm_port"`
	WinRMUsername   string       `json:"winrm_username"`
	WinRMPassword   string       `json:"winrm_password"`
	// WinRMKerberosSPN is the service principal to ask tickets for, when the lab accepts Kerberos.
	WinRMKerberosSPN string `json:"winrm_kerberos_spn,omitempty"`
	KerberosRealm    string `json:"kerberos_realm,omitempty"`
	// StatusURL is the status endpoint: counters and fault switches (GET /status, POST /faults), with Basic
	// authentication by the WinRM credentials.
	StatusURL string `json:"status_url"`
	// CACertificatePEM verifies every WinRM server, the directory and the status endpoint.
	CACertificatePEM string `json:"ca_certificate_pem"`
	// CACertificateFile is where the command wrote CACertificatePEM, if it did.
	CACertificateFile string `json:"ca_certificate_file,omitempty"`
	LDAPSURL          string `json:"ldaps_url,omitempty"`
	LDAPURL           string `json:"ldap_url,omitempty"` // plain LDAP that accepts StartTLS
	LDAPBindUsername  string `json:"ldap_bind_username"`
	LDAPBindPassword  string `json:"ldap_bind_password"`
	BaseDN            string `json:"base_dn"`
	Domain            string `json:"domain"` // DNS name: corp.example
	NetBIOSDomain     string `json:"netbios_domain"`
	// CertificateAuthority is the enterprise CA's config string; CRLURL its base CRL's distribution point.
	CertificateAuthority string `json:"certificate_authority"`
	CRLURL               string `json:"crl_url"`
}

// ServerInfo is one WinRM endpoint.
type ServerInfo struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	URL     string `json:"url"`
}

// Lab is a running lab. Close stops it.
type Lab struct {
	info      Info
	cluster   *cluster.Cluster
	directory *ldapserver.Directory
	servers   []*wsman.Server // in the order of Info.Servers
	scripts   []*scriptCounts // commands per script, in the same order
	fronts    []*front
	status    *statusServer
	authority *enterpriseca.Authority
	cdp       *cdp

	closeOnce sync.Once
	closeErr  error
}

// Start starts the directory (unless external), the emulated cluster and one WinRM server per cluster node.
func Start(cfg Config) (*Lab, error) {
	clusterSeed, err := loadClusterSeed(cfg.ClusterSeed)
	if err != nil {
		return nil, err
	}
	if cfg.EnforceRevocation {
		clusterSeed.EnforceRevocationEverywhere()
	}
	cfg, err = cfg.withDefaults(clusterSeed)
	if err != nil {
		return nil, err
	}
	addresses, err := consecutiveAddresses(cfg.FirstAddress, len(cfg.Servers))
	if err != nil {
		return nil, err
	}
	ca, err := newAuthority()
	if err != nil {
		return nil, err
	}
	l := &Lab{info: Info{WinRMUsername: cfg.Username, WinRMPassword: cfg.Password, CACertificatePEM: string(ca.CertPEM())}}
	if err := l.start(cfg, clusterSeed, addresses, ca); err != nil {
		return nil, errors.Join(err, l.Close())
	}
	return l, nil
}

func (l *Lab) start(cfg Config, clusterSeed cluster.Seed, addresses []net.IP, ca *labtls.CA) error {
	var checker cluster.AccountChecker
	var err error
	if cfg.ExternalDirectory != nil {
		checker, err = l.useExternalDirectory(*cfg.ExternalDirectory, clusterSeed.Domain)
	} else {
		checker, err = l.startDirectory(cfg, clusterSeed.Domain, ca)
	}
	if err != nil {
		return err
	}
	kerberos, err := l.loadKerberos(cfg.Kerberos, cfg.Servers)
	if err != nil {
		return err
	}
	authority, err := l.startEnterpriseCA(cfg, clusterSeed.Domain)
	if err != nil {
		return err
	}
	var publish func(string, []byte) error
	if l.directory != nil {
		publish = l.publishCertificate
	}
	if err := issueDeviceCertificates(authority, clusterSeed, publish); err != nil {
		return fmt.Errorf("lab CA: %w", err)
	}
	opts := clusterSeed.Options()
	opts.Nodes, opts.Directory = cfg.Servers, checker
	opts.Authority, opts.CRLURL, opts.FetchCRL = authority, l.cdp.url, fetchCRL
	opts.ReestablishDelay, opts.ConvergenceDelay = cfg.ReestablishDelay, cfg.ConvergenceDelay
	if l.cluster, err = cluster.New(opts); err != nil {
		return fmt.Errorf("lab cluster: %w", err)
	}
	if err := l.startServers(cfg, addresses, ca, kerberos); err != nil {
		return err
	}
	return l.startStatus(cfg, ca)
}

// loadKerberos reads the service keys and names their principal in Info; nil without Kerberos.
func (l *Lab) loadKerberos(k *Kerberos, servers []string) (*wsman.KerberosOptions, error) {
	if k == nil {
		return nil, nil
	}
	if k.Keytab == "" || k.Realm == "" {
		return nil, errors.New("lab config: kerberos needs a keytab and a realm")
	}
	kt, err := keytab.Load(k.Keytab)
	if err != nil {
		return nil, fmt.Errorf("lab config: kerberos keytab %s: %w", k.Keytab, err)
	}
	if len(kt.Entries) == 0 {
		return nil, fmt.Errorf("lab config: kerberos keytab %s has no keys", k.Keytab)
	}
	if k.ComputerAccounts {
		if err := keysOfEveryServer(kt, servers); err != nil {
			return nil, fmt.Errorf("lab config: kerberos keytab %s: %w", k.Keytab, err)
		}
	} else {
		l.info.WinRMKerberosSPN = strings.Join(kt.Entries[0].Principal.Components, "/")
	}
	l.info.KerberosRealm = strings.ToUpper(k.Realm)
	return &wsman.KerberosOptions{Keytab: kt, Realm: k.Realm}, nil
}

// startDirectory starts the embedded directory with a certificate from the lab CA.
func (l *Lab) startDirectory(cfg Config, domain cluster.Domain, ca *labtls.CA) (cluster.AccountChecker, error) {
	seed, err := loadDirectorySeed(cfg.DirectorySeed)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(seed.Domain.DNSName, domain.DNSName) || !strings.EqualFold(seed.Domain.NetBIOSName, domain.NetBIOSName) {
		return nil, fmt.Errorf("lab seeds: the directory's domain %s (%s) is not the cluster's %s (%s)",
			seed.Domain.DNSName, seed.Domain.NetBIOSName, domain.DNSName, domain.NetBIOSName)
	}
	if l.directory, err = ldapserver.New(seed, ldapserver.WithCA(ca.Certificate(), ca.Signer())); err != nil {
		return nil, fmt.Errorf("lab directory: %w", err)
	}
	err = l.directory.StartListeners(
		net.JoinHostPort(cfg.DirectoryAddress, strconv.Itoa(cfg.LDAPSPort)),
		net.JoinHostPort(cfg.DirectoryAddress, strconv.Itoa(cfg.LDAPPort)))
	if err != nil {
		return nil, fmt.Errorf("lab directory: %w", err)
	}
	admin := l.directory.AdminCredentials()
	l.info.LDAPSURL, l.info.LDAPURL = l.directory.LDAPSURL(), l.directory.LDAPURL()
	l.info.LDAPBindUsername, l.info.LDAPBindPassword = admin.UPN, admin.Password
	l.info.BaseDN, l.info.Domain, l.info.NetBIOSDomain = l.directory.BaseDN(), seed.Domain.DNSName, seed.Domain.NetBIOSName
	checker, err := cluster.NewLDAPChecker(l.info.LDAPSURL, ca.CertPEM(), admin.UPN, admin.Password)
	if err != nil {
		return nil, fmt.Errorf("lab directory: %w", err)
	}
	return checker, nil
}

// useExternalDirectory checks that the directory answers with these credentials before any client depends on it.
func (l *Lab) useExternalDirectory(ext ExternalDirectory, domain cluster.Domain) (cluster.AccountChecker, error) {
	if ext.NetBIOSDomain != "" && !strings.EqualFold(ext.NetBIOSDomain, domain.NetBIOSName) {
		return nil, fmt.Errorf("external directory: NetBIOS domain %s is not the cluster seed's %s", ext.NetBIOSDomain, domain.NetBIOSName)
	}
	checker, err := cluster.NewLDAPChecker(ext.URL, ext.CACertPEM, ext.BindUsername, ext.BindPassword)
	if err != nil {
		return nil, fmt.Errorf("external directory: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), externalProbeTimeout)
	defer cancel()
	// Any name will do: a missing account is an answer, only a failure to connect, bind or search is an error.
	if _, err := checker.AccountEnabled(ctx, "krbtgt"); err != nil {
		return nil, fmt.Errorf("external directory: %w", err)
	}
	if strings.HasPrefix(ext.URL, "ldaps:") {
		l.info.LDAPSURL = ext.URL
	} else {
		l.info.LDAPURL = ext.URL
	}
	l.info.LDAPBindUsername, l.info.LDAPBindPassword = ext.BindUsername, ext.BindPassword
	l.info.Domain, l.info.NetBIOSDomain = domain.DNSName, domain.NetBIOSName
	// An AD domain's naming context is its DNS name as DC= components.
	l.info.BaseDN = "DC=" + strings.Join(strings.Split(domain.DNSName, "."), ",DC=")
	if len(ext.CACertPEM) > 0 {
		l.info.CACertificatePEM += string(ext.CACertPEM)
	}
	return checker, nil
}

// startServers starts one wsman server per node on 127.0.0.1 and its HTTPS front on the node's address.
func (l *Lab) startServers(cfg Config, addresses []net.IP, ca *labtls.CA, kerberos *wsman.KerberosOptions) error {
	listeners, err := listenOnSamePort(addresses, cfg.Port)
	if err != nil {
		return err
	}
	for i, name := range cfg.Servers {
		if err := l.startServer(cfg, name, listeners[i], ca, kerberos); err != nil {
			for _, ln := range listeners[i:] {
				_ = ln.Close()
			}
			return err
		}
	}
	return nil
}

func (l *Lab) startServer(cfg Config, name string, ln net.Listener, ca *labtls.CA, kerberos *wsman.KerberosOptions) error {
	scripts := &scriptCounts{counts: map[string]int64{}}
	if kerberos != nil && cfg.Kerberos.ComputerAccounts {
		own := *kerberos
		own.KeytabPrincipal = computerAccount(name)
		kerberos = &own
	}
	srv, err := wsman.NewServer(wsman.Options{
		Name:                  name,
		Domain:                l.info.NetBIOSDomain,
		Users:                 map[string]string{cfg.Username: cfg.Password},
		Kerberos:              kerberos,
		Executor:              countCommands(scripts, logCommands(cfg.Logger, l.cluster.Executor(name))),
		ShellIdleTimeout:      cfg.ShellIdleTimeout,
		MaxShellsPerUser:      cfg.MaxShellsPerUser,
		DenyRemoteShellAccess: cfg.DenyRemoteShellAccess,
		StrictChannelBinding:  strings.EqualFold(cfg.CbtHardeningLevel, "Strict"),
	})
	if err != nil {
		return fmt.Errorf("lab server %s: %w", name, err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		return fmt.Errorf("lab server %s: %w", name, err)
	}
	l.servers, l.scripts = append(l.servers, srv), append(l.scripts, scripts)
	host, port := srv.Endpoint()
	addr := ln.Addr().(*net.TCPAddr)
	lower := strings.ToLower(name)
	tlsConfig, err := serverTLS(ca, lower+"."+l.info.Domain, []string{lower + "." + l.info.Domain, lower}, addr.IP)
	if err != nil {
		return fmt.Errorf("lab server %s: %w", name, err)
	}
	l.fronts = append(l.fronts, serveFront(ln, net.JoinHostPort(host, strconv.Itoa(port)), tlsConfig))
	l.info.Servers = append(l.info.Servers, ServerInfo{
		Name: name, Address: addr.IP.String(), Port: addr.Port,
		URL: (&url.URL{Scheme: "https", Host: addr.String(), Path: "/wsman"}).String(),
	})
	l.info.ServerAddresses = append(l.info.ServerAddresses, addr.IP.String())
	l.info.WinRMPort = addr.Port
	return nil
}

// Info describes the running lab.
func (l *Lab) Info() Info {
	info := l.info
	info.Servers = slices.Clone(info.Servers)
	info.ServerAddresses = slices.Clone(info.ServerAddresses)
	return info
}

// Server returns the WS-Management server of a node (case-insensitive), for its Faults and Counters; nil if there
// is none. Its own Endpoint is the plain-HTTP backend on 127.0.0.1: clients use Info's URLs.
func (l *Lab) Server(name string) *wsman.Server {
	for i, s := range l.info.Servers {
		if strings.EqualFold(s.Name, name) {
			return l.servers[i]
		}
	}
	return nil
}

// CommandsPerScript returns how many commands a node (case-insensitive) ran, by script name ("purge-device/v1"), as
// GET /status shows them; nil if there is no such node.
func (l *Lab) CommandsPerScript(name string) map[string]int64 {
	for i, s := range l.info.Servers {
		if strings.EqualFold(s.Name, name) {
			return l.scripts[i].snapshot()
		}
	}
	return nil
}

// Cluster returns the emulated cluster, for fault injection such as SetNodeState.
func (l *Lab) Cluster() *cluster.Cluster { return l.cluster }

// Directory returns the embedded directory, or nil when the lab uses an external one.
func (l *Lab) Directory() *ldapserver.Directory { return l.directory }

// Close hangs up every client, stops the servers (cancelling the commands they run) and the directory. Closing
// twice returns the first result.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() {
		var errs []error
		if l.status != nil {
			errs = append(errs, l.status.close())
		}
		for _, f := range l.fronts {
			if err := f.close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		for _, s := range l.servers {
			errs = append(errs, s.Close())
		}
		if l.directory != nil {
			errs = append(errs, l.directory.Close())
		}
		if l.cdp != nil {
			errs = append(errs, l.cdp.close())
		}
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}

// DefaultSeeds returns the lab's default directory and cluster seeds, for a test or a benchmark that builds a larger
// lab on the standard one.
func DefaultSeeds() (ldapserver.Seed, cluster.Seed, error) {
	dir, err := loadDirectorySeed("")
	if err != nil {
		return ldapserver.Seed{}, cluster.Seed{}, err
	}
	clu, err := loadClusterSeed("")
	return dir, clu, err
}

func loadClusterSeed(path string) (cluster.Seed, error) {
	if path == "" {
		return cluster.ParseSeed(defaultClusterSeed)
	}
	return cluster.LoadSeed(path)
}

func loadDirectorySeed(path string) (ldapserver.Seed, error) {
	if path == "" {
		return ldapserver.ParseSeed(defaultDirectorySeed)
	}
	return ldapserver.LoadSeed(path)
}

func (cfg Config) withDefaults(seed cluster.Seed) (Config, error) {
	if len(cfg.Servers) == 0 {
		cfg.Servers = seed.Nodes
	}
	if cfg.Port < 0 || cfg.Port > 65535 || cfg.LDAPSPort < 0 || cfg.LDAPSPort > 65535 || cfg.LDAPPort < 0 || cfg.LDAPPort > 65535 ||
		cfg.StatusPort < 0 || cfg.StatusPort > 65535 {
		return cfg, errors.New("lab config: ports must be between 0 (any free port) and 65535")
	}
	if cfg.FirstAddress == "" {
		cfg.FirstAddress = DefaultFirstAddress
	}
	if cfg.DirectoryAddress == "" {
		cfg.DirectoryAddress = DefaultDirectoryAddress
	}
	// ldapserver issues its certificate for 127.0.0.1, ::1 and its DNS names only, and the provider verifies the
	// address it dials: any other address would fail verification.
	if ip := net.ParseIP(cfg.DirectoryAddress); ip == nil || !ip.Equal(net.IPv4(127, 0, 0, 1)) && !ip.Equal(net.IPv6loopback) {
		return cfg, fmt.Errorf("lab config: directory_address %q: the embedded directory's certificate names only 127.0.0.1 and ::1", cfg.DirectoryAddress)
	}
	if cfg.ReestablishDelay <= 0 {
		cfg.ReestablishDelay = DefaultReestablishDelay
	}
	if cfg.ConvergenceDelay <= 0 {
		cfg.ConvergenceDelay = DefaultConvergenceDelay
	}
	if cfg.Username == "" {
		cfg.Username = seed.Domain.NetBIOSName + `\` + DefaultUser
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if cfg.ExternalDirectory != nil && cfg.ExternalDirectory.URL == "" {
		return cfg, errors.New("lab config: external_directory needs a url")
	}
	return cfg, nil
}

// consecutiveAddresses returns n IPv4 loopback addresses from first on.
func consecutiveAddresses(first string, n int) ([]net.IP, error) {
	addr, err := netip.ParseAddr(first)
	if err != nil || !addr.Is4() || !addr.IsLoopback() {
		return nil, fmt.Errorf("lab config: first_address %q is not an IPv4 loopback address", first)
	}
	if int(addr.As4()[3])+n-1 > 254 {
		return nil, fmt.Errorf("lab config: %d servers do not fit after %s", n, first)
	}
	addresses := make([]net.IP, n)
	for i := range addresses {
		addresses[i] = net.IP(addr.AsSlice())
		addr = addr.Next()
	}
	return addresses, nil
}

// portAttempts bounds the search for a port that is free on every address.
const portAttempts = 20

// listenOnSamePort listens on the same TCP port on every address. With port 0 the first address picks a free port
// and the others follow; when one of them has it taken, it starts over.
func listenOnSamePort(addresses []net.IP, port int) ([]net.Listener, error) {
	for attempt := 1; ; attempt++ {
		listeners, err := listenAll(addresses, port)
		if err == nil || port != 0 || attempt == portAttempts {
			return listeners, err
		}
	}
}

func listenAll(addresses []net.IP, port int) ([]net.Listener, error) {
	var listeners []net.Listener
	for _, ip := range addresses {
		ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		if err != nil {
			for _, open := range listeners {
				_ = open.Close()
			}
			return nil, fmt.Errorf("lab servers: listen: %w", err)
		}
		listeners = append(listeners, ln)
		port = ln.Addr().(*net.TCPAddr).Port
	}
	return listeners, nil
}

// logCommands records each command a server ran: which script, for whom, and how it ended.
func logCommands(logger *slog.Logger, next wsman.Executor) wsman.Executor {
	if logger == nil {
		return next
	}
	return wsman.ExecutorFunc(func(ctx context.Context, req wsman.ExecRequest) wsman.ExecResult {
		started := time.Now()
		res := next.Execute(ctx, req)
		logger.Info("command", "server", req.Server, "user", req.User, "script", wsman.ScriptOf(req.Stdin),
			"exit_code", res.ExitCode, "duration", time.Since(started).Round(time.Millisecond))
		return res
	})
}

// computerAccount is the sAMAccountName of a server's computer account.
func computerAccount(server string) string { return strings.ToUpper(server) + "$" }

// keysOfEveryServer checks that the keytab holds a key of every server's computer account.
func keysOfEveryServer(kt *keytab.Keytab, servers []string) error {
	for _, server := range servers {
		found := false
		for _, e := range kt.Entries {
			found = found || strings.EqualFold(strings.Join(e.Principal.Components, "/"), computerAccount(server))
		}
		if !found {
			return fmt.Errorf("no key of %s's computer account %s", server, computerAccount(server))
		}
	}
	return nil
}
