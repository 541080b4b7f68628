// Package cluster emulates a Windows Server Remote Access cluster for the offline lab: NLB nodes, DirectAccess
// clients with their IPsec security associations, Always On VPN connections and their statistics. It answers the
// provider's PowerShell scripts (see executor.go) the way the cmdlets they call are documented to behave; every
// emulated behaviour names the fact it rests on (internal/lab/WINDOWS.md), because the lab is the only Windows the tests see.
package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/enterpriseca"
)

// AccountChecker tells whether a directory account (user "alice" or computer "CLIENT1$") is enabled.
// NewLDAPChecker implements it over LDAP.
type AccountChecker interface {
	AccountEnabled(ctx context.Context, sAMAccountName string) (bool, error)
}

// accountsChecker is an AccountChecker that can also ask for many accounts at once.
type accountsChecker interface {
	AccountsEnabled(ctx context.Context, sAMAccountNames []string) (map[string]bool, error)
}

// Options configure a Cluster. Nodes are the NLB node names, which are also the server names; the clients come
// from a Seed (Seed.Options).
type Options struct {
	Nodes        []string
	Domain       Domain
	DirectAccess []DirectAccessClient
	VPN          []VPNClient
	// RevokedCertificates are the computers whose machine certificate is revoked from the start.
	RevokedCertificates []string
	// SAShapes makes servers print their main-mode SAs in a shape: ShapeObject (the default) or ShapeString.
	SAShapes map[string]string
	// Captured adds the rows of captures of real servers (LoadCapture) to those servers.
	Captured map[string]capturedRows
	// Directory decides whether purged clients come back. Nil means every account is enabled.
	Directory AccountChecker
	// ReestablishDelay is how long a purged or dropped client takes to connect again.
	ReestablishDelay time.Duration
	// StatisticsLinger is how long a disconnected VPN connection's row stays in Get-RemoteAccessConnectionStatistics
	// (0: it goes at once). See Cluster.disconnect.
	StatisticsLinger time.Duration
	// Interfaces are the network interfaces NLB is bound to on every node (default one, "Ethernet"). A Remote
	// Access cluster often has NLB on both its external and its internal interface (WINDOWS.md, NLB).
	Interfaces []string
	// ConvergenceDelay is how long a started node stays Converging before it reports Converged.
	ConvergenceDelay time.Duration
	// Clock returns the current time (default time.Now).
	Clock func() time.Time

	// Authority is the lab's enterprise CA: the CA scripts answer from it, and the servers check the certificates
	// it issued against the CRL it published at CRLURL, downloaded with FetchCRL (revocation.go). Nil: no CA.
	Authority *enterpriseca.Authority
	CRLURL    string
	FetchCRL  func(ctx context.Context, url string) ([]byte, error)
	// Enforcement is each server's revocation settings, by upper-case server name (default: none enforced).
	Enforcement map[string]ServerEnforcement
	// Readiness is what each server answers to get-readiness/v1, by server name (readiness.go).
	Readiness map[string]Readiness
}

// Cluster is the shared state of one lab's Remote Access servers. All methods are safe for concurrent use.
type Cluster struct {
	opts Options

	mu       sync.Mutex
	nodes    []*node
	sessions []*session // DirectAccess: one per client and server
	vpn      []*vpnConn
	lastSA   int // main-mode SA names are increasing numbers, as on Windows
	lastPool int // last VPN address handed out

	revoked        map[string]bool // upper-case computer names whose certificate is revoked
	lingering      []lingeringRow  // VPN statistics rows that outlive their disconnect
	captured       map[string]capturedRows
	failDisconnect map[string]bool       // lower-case names or addresses Disconnect-VpnUser fails on (fault injection)
	failSARemoval  map[saRemovalKey]bool // server and identity whose SAs Remove-NetIPsecMainModeSA fails on (fault injection)
	failListing    map[string]bool       // servers whose SA listings fail (FailListing)
	languageModes  map[string]string
	saShapes       map[string]string    // upper-case server name -> ShapeObject or ShapeString (shapes.go)
	readiness      map[string]Readiness // SetReadiness, over Options.Readiness
	// expireBeforeRemoval: the SAs a script lists expire before it removes them (fault injection).
	expireBeforeRemoval map[string]bool
	// shutdownIndeterminate: Stop-Computer on that server raises an error after the shutdown started (fault injection).
	shutdownIndeterminate map[string]bool

	revocation   map[string]*serverRevocation // by node name (revocation.go)
	dialInDenied map[string]bool              // users whose msNPAllowDialin is FALSE, as of the last check (dialin.go)
	caFaults     caFaults                     // ca_scripts.go
}

// link is what a client keeps up by itself: a DirectAccess tunnel or a VPN connection.
type link struct {
	up       bool
	since    time.Time // when it last came up or went down
	accounts []string  // sAMAccountNames that must be enabled for the client to bring it back
	// certificate is the computer whose machine certificate the link authenticates with; a seeded revoked
	// certificate keeps it out everywhere, a hold at the lab's CA where the server enforces revocation
	// (revocation.go; WINDOWS.md, Revocation on Remote Access servers).
	certificate string
	// dialIn is the user whose Network Access Permission NPS checks (VPN user tunnels, dialin.go).
	dialIn string
}

func (l *link) drop(at time.Time) {
	if l.up {
		l.up = false
		l.since = at
	}
}

// New builds a cluster in which every seeded client is connected.
func New(opts Options) (*Cluster, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("cluster options: %w", err)
	}
	if len(opts.Interfaces) == 0 {
		opts.Interfaces = []string{defaultInterface}
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	c := &Cluster{opts: opts, revoked: map[string]bool{}, captured: map[string]capturedRows{}, failDisconnect: map[string]bool{},
		failSARemoval: map[saRemovalKey]bool{}, failListing: map[string]bool{}, languageModes: map[string]string{}, expireBeforeRemoval: map[string]bool{}, saShapes: map[string]string{}, shutdownIndeterminate: map[string]bool{}}
	for server, shape := range opts.SAShapes {
		c.saShapes[strings.ToUpper(server)] = shape
	}
	for _, computer := range opts.RevokedCertificates {
		c.revoked[strings.ToUpper(computer)] = true
	}
	for i, name := range opts.Nodes {
		c.nodes = append(c.nodes, newNode(name, i+1, opts.Interfaces))
	}
	c.initRevocation()
	for server, rows := range opts.Captured {
		c.captured[c.node(server).name] = rows
	}
	now := opts.Clock()
	for i, seed := range opts.DirectAccess {
		client := newDAClient(seed, i, opts.Domain)
		for _, server := range seed.Servers {
			s := &session{client: client, server: c.node(server).name, tunnels: client.newTunnels(opts.Domain)}
			for _, t := range s.tunnels {
				c.raiseTunnel(t, now.Add(-time.Duration(i+1)*7*time.Minute))
			}
			c.sessions = append(c.sessions, s)
		}
	}
	for i, seed := range opts.VPN {
		v := newVPNConn(seed, i, opts.Domain)
		v.server = c.node(seed.Server).name
		c.raiseVPN(v, now.Add(-time.Duration(i+1)*11*time.Minute))
		c.vpn = append(c.vpn, v)
	}
	c.refreshCRLs(context.Background(), now) // the servers start with the CA's current CRL cached
	return c, nil
}

// SetCertificateRevoked revokes (or reinstates) a computer's machine certificate, as a CA administrator would; the
// revocation takes effect at the client's next attempt to connect.
func (c *Cluster) SetCertificateRevoked(computer string, revoked bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.revoked[strings.ToUpper(computer)] = revoked
}

// FailDisconnect makes Disconnect-VpnUser fail for one user name or address (fault injection).
func (c *Cluster) FailDisconnect(target string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failDisconnect[strings.ToLower(target)] = true
}

// FailSARemoval makes Remove-NetIPsecMainModeSA on a server fail (fail) or work again, in a device purge, on the
// main-mode SAs whose RemoteFirstId or RemoteSecondId is identity (fault injection): purge-device/v1 then fails as a
// whole, purge-devices/v1 for that device only.
func (c *Cluster) FailSARemoval(server, identity string, fail bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := newSARemovalKey(server, identity)
	if fail {
		c.failSARemoval[key] = true
	} else {
		delete(c.failSARemoval, key)
	}
}

// FailListing makes the listing of get-ipsec-sas/v1 (include/ipsec-look.ps1) on a server fail (fail) or work again
// (fault injection): get-ipsec-sas/v1 fails, and so does the look of a purge-devices/v1 batch (look_error) while its
// devices' purges stand. It stands for any failure of the listing alone after the purges (a cmdlet of the listing
// that errs); Microsoft's pages do not say which errors the listing cmdlets raise, so the category is a choice.
func (c *Cluster) FailListing(server string, fail bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fail {
		c.failListing[strings.ToUpper(server)] = true
	} else {
		delete(c.failListing, strings.ToUpper(server))
	}
}

// saRemovalKey is a server (upper case) and an identity (lower case).
type saRemovalKey struct{ server, identity string }

func newSARemovalKey(server, identity string) saRemovalKey {
	return saRemovalKey{server: strings.ToUpper(server), identity: strings.ToLower(identity)}
}

// saRemovalFault is the error FailSARemoval makes the removal of r on server give, or nil.
func (c *Cluster) saRemovalFault(server string, r saRow) error {
	for _, id := range []string{r.firstID(), r.secondID()} {
		if id != "" && c.failSARemoval[newSARemovalKey(server, id)] {
			return &scriptError{Category: "PermissionDenied", Target: r.name,
				Message: "Remove-NetIPsecMainModeSA: access denied removing main-mode SA " + r.name + "."}
		}
	}
	return nil
}

// ExpireBeforeRemoval makes the SAs a purge lists on a server expire before it removes them (fault injection).
func (c *Cluster) ExpireBeforeRemoval(server string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireBeforeRemoval[strings.ToUpper(server)] = true
}

// ShutdownIndeterminate makes Stop-Computer on a server raise an error although the shutdown started, as a remote
// Stop-Computer may when the connection ends with the client (WINDOWS.md, Manage-out shutdown; fault injection).
func (c *Cluster) ShutdownIndeterminate(server string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shutdownIndeterminate[strings.ToUpper(server)] = true
}

// SetLanguageMode puts a server's PowerShell in a language mode (FullLanguage by default; ConstrainedLanguage, as
// WDAC or AppLocker would; RestrictedLanguage or NoLanguage): the bootstrap then refuses to run any script, or
// PowerShell refuses the bootstrap itself (WINDOWS.md, Language modes; fault injection).
func (c *Cluster) SetLanguageMode(server, mode string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.languageModes[strings.ToUpper(server)] = mode
}

func (c *Cluster) languageMode(server string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if mode := c.languageModes[strings.ToUpper(server)]; mode != "" {
		return mode
	}
	return "FullLanguage"
}

// node finds a node by its case-insensitive name, or nil.
func (c *Cluster) node(name string) *node {
	for _, n := range c.nodes {
		if strings.EqualFold(n.name, name) {
			return n
		}
	}
	return nil
}

func (c *Cluster) raiseTunnel(t *tunnel, at time.Time) {
	c.lastSA++
	t.up, t.since = true, at
	t.mainMode = fmt.Sprint(c.lastSA)
	// Each DirectAccess tunnel carries two quick-mode SAs (one per direction) under its main-mode SA.
	t.quickMode = 2
}

func (c *Cluster) raiseVPN(v *vpnConn, at time.Time) {
	c.lastPool++
	v.up, v.since = true, at
	v.address = fmt.Sprintf("10.10.%d.%d", c.lastPool/250, 10+c.lastPool%250)
}

// dropLinksOn drops every connection carried by a server.
func (c *Cluster) dropLinksOn(server string, at time.Time) {
	for _, s := range c.sessions {
		if s.server == server {
			for _, t := range s.tunnels {
				t.drop(at)
			}
		}
	}
	for _, v := range c.vpn {
		if v.server == server {
			v.drop(at)
		}
	}
}

func (c *Cluster) hasLinksOn(server string) bool {
	for _, s := range c.sessions {
		if s.server == server && s.anyUp() {
			return true
		}
	}
	return slices.ContainsFunc(c.vpn, func(v *vpnConn) bool { return v.server == server && v.up })
}

// advance brings the model up to the current time: drains that ended, then clients that re-establish. The model is
// evaluated lazily, when a script reads or changes it, so a test that controls the clock sees a deterministic lab.
func (c *Cluster) advance(ctx context.Context) error {
	c.mu.Lock()
	now := c.opts.Clock()
	asked := now // the directory's answers below say nothing of a link that goes down after this
	c.advanceNLB(now)
	var accounts, dialIn []string
	c.forDueLinks(now, func(l *link) {
		accounts = append(accounts, l.accounts...)
		if l.dialIn != "" {
			dialIn = append(dialIn, l.dialIn)
		}
	})
	c.mu.Unlock()

	// The directory is asked without holding the lock: it is a network call.
	enabled, err := c.checkAccounts(ctx, accounts)
	if err != nil {
		return err
	}
	denied, err := c.checkDialIn(ctx, dialIn)
	if err != nil {
		return err
	}
	c.refreshCRLs(ctx, c.opts.Clock())

	c.mu.Lock()
	defer c.mu.Unlock()
	c.dialInDenied = denied
	c.reestablish(c.opts.Clock(), asked, enabled)
	return nil
}

// forDueLinks calls fn for every link that is down long enough for its client to try again.
func (c *Cluster) forDueLinks(now time.Time, fn func(*link)) {
	for _, s := range c.sessions {
		if s.client.off {
			continue
		}
		for _, t := range s.tunnels {
			if c.due(&t.link, now) {
				fn(&t.link)
			}
		}
	}
	for _, v := range c.vpn {
		if !v.off && c.due(&v.link, now) {
			fn(&v.link)
		}
	}
}

// due reports whether a link is down long enough for its client to try again.
func (c *Cluster) due(l *link, now time.Time) bool {
	return !l.up && !now.Before(l.since.Add(c.opts.ReestablishDelay))
}

func (c *Cluster) checkAccounts(ctx context.Context, accounts []string) (map[string]bool, error) {
	if many, ok := c.opts.Directory.(accountsChecker); ok && len(accounts) > 1 {
		slices.Sort(accounts)
		enabled, err := many.AccountsEnabled(ctx, slices.Compact(accounts))
		if err != nil {
			return nil, fmt.Errorf("lab directory: %w", err)
		}
		return enabled, nil
	}
	enabled := map[string]bool{}
	for _, a := range accounts {
		if _, done := enabled[a]; done {
			continue
		}
		if c.opts.Directory == nil {
			enabled[a] = true
			continue
		}
		ok, err := c.opts.Directory.AccountEnabled(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("lab directory: account %q: %w", a, err)
		}
		enabled[a] = ok
	}
	return enabled, nil
}

// reestablish brings back the due links whose accounts are all enabled. WINDOWS.md, DirectAccess tunnels: a purged client whose
// account and certificate are still valid re-establishes its SAs within seconds; a disabled account can no longer
// authenticate (computer NTLM and user Kerberos for DirectAccess, the user or machine for VPN), so it stays out.
// Clients reach the cluster through the load balancer, which sends new connections only to nodes that take them
// (see node.takesNewConnections): a client whose server is draining or stopped comes back through another node.
//
// enabled holds the directory's answers to a question asked at asked. A link that went down at or after that moment
// waits for the next look: another command may have dropped it, after disabling its account, while the question was
// on its way, and a client that tries again after a purge is checked against the directory of that moment.
func (c *Cluster) reestablish(now, asked time.Time, enabled map[string]bool) {
	allowed := func(l *link, server string, ikev2 bool) bool {
		if !l.since.Before(asked) {
			return false
		}
		if l.certificate != "" && (c.revoked[strings.ToUpper(l.certificate)] || c.certificateRefused(server, l.certificate, ikev2)) {
			return false
		}
		if l.dialIn != "" && c.dialInDenied[l.dialIn] {
			return false
		}
		for _, a := range l.accounts {
			if !enabled[a] {
				return false
			}
		}
		return true
	}
	for _, s := range c.sessions {
		for _, t := range s.tunnels {
			if s.client.off || !c.due(&t.link, now) || !allowed(&t.link, s.server, false) {
				continue
			}
			if !c.placeSession(s) {
				break
			}
			c.raiseTunnel(t, now)
		}
	}
	for _, v := range c.vpn {
		if v.off || !c.due(&v.link, now) || !allowed(&v.link, v.server, true) {
			continue
		}
		if !c.node(v.server).takesNewConnections() {
			target := c.firstOpenNode(func(string) bool { return true })
			if target == "" {
				continue
			}
			v.server = target
		}
		c.raiseVPN(v, now)
	}
}

// placeSession makes sure a session's server takes new connections, moving a session that has no tunnel left
// to a node that takes new connections and does not already carry this client. It reports false when no node can take it.
func (c *Cluster) placeSession(s *session) bool {
	if c.node(s.server).takesNewConnections() {
		return true
	}
	if s.anyUp() {
		return false // the client still talks to its draining server
	}
	target := c.firstOpenNode(func(name string) bool {
		return !slices.ContainsFunc(c.sessions, func(o *session) bool { return o.client == s.client && o.server == name })
	})
	if target == "" {
		return false
	}
	s.server = target
	return true
}

func (c *Cluster) firstOpenNode(accept func(string) bool) string {
	for _, n := range c.nodes {
		if n.takesNewConnections() && accept(n.name) {
			return n.name
		}
	}
	return ""
}
