package ldapserver

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/labtls"
)

// Directory is an AD-like domain served over LDAP by one emulated domain
// controller. Create it with New, serve it with Start, stop it with Close.
// Replica gives further domain controllers of the same domain, sharing the
// same objects.
type Directory struct {
	dom      domainInfo
	store    *store
	ca       *labtls.CA
	dc       DomainController
	bindUser string

	mu        sync.Mutex
	endpoints []*endpoint
	ldapsURL  string
	ldapURL   string

	searches atomic.Int64 // search requests answered, for tests that count round trips

	lostReplies      atomic.Int32 // modifies still to answer by dropping the connection (faults.go)
	unreachableAfter atomic.Bool
	modifyReplyDelay atomic.Int64 // how late a modify is answered once applied (faults.go)
	rootDSEDelay     atomic.Int64 // how late the root DSE is answered (faults.go)
	afterLostReply   atomic.Pointer[func()]
	droppedPages     atomic.Int32 // later pages of paged searches still to answer by dropping the connections
	busyModifies     atomic.Int32 // modifies still to refuse as busy (faults.go)
}

// Searches is the number of search requests the directory has answered.
func (d *Directory) Searches() int64 { return d.searches.Load() }

// Option adjusts New.
type Option func(*options)

type options struct {
	caCert *x509.Certificate
	caKey  crypto.Signer
}

// WithCA makes the directory issue its server certificate from an existing CA
// (a lab-wide CA shared with the WinRM endpoints) instead of generating one.
func WithCA(cert *x509.Certificate, key crypto.Signer) Option {
	return func(o *options) { o.caCert, o.caKey = cert, key }
}

// New builds the directory from a seed. It does not listen yet.
func New(seed Seed, opts ...Option) (*Directory, error) {
	if err := seed.validate(); err != nil {
		return nil, fmt.Errorf("invalid seed: %w", err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dom, err := newDomainInfo(seed.Domain)
	if err != nil {
		return nil, err
	}
	ca, err := newAuthority(o.caCert, o.caKey)
	if err != nil {
		return nil, err
	}
	d := &Directory{dom: dom, store: newStore(), ca: ca, dc: seed.DomainControllers[0], bindUser: seed.BindUser}
	if err := d.load(seed); err != nil {
		return nil, fmt.Errorf("load seed: %w", err)
	}
	return d, nil
}

// Replica returns a directory for another domain controller of the same
// domain (its own root DSE, certificate and listeners) over the same objects,
// so a write through one is read back through the other. dcName must be one
// of the seed's domain controllers.
func (d *Directory) Replica(dcName string) (*Directory, error) {
	e, ok := d.store.bySAMAccountName(dcName + "$")
	if ok {
		uac, _ := strconv.ParseInt(e.first("userAccountControl"), 10, 64)
		ok = uac&uacServerTrust != 0
	}
	if !ok {
		return nil, fmt.Errorf("%s is not a domain controller of %s", dcName, d.dom.dnsName)
	}
	return &Directory{
		dom: d.dom, store: d.store, ca: d.ca, bindUser: d.bindUser,
		dc: DomainController{Name: e.first("name")},
	}, nil
}

func (d *Directory) load(seed Seed) error {
	frame, err := d.dom.frame()
	if err != nil {
		return err
	}
	if err := d.store.add(frame...); err != nil {
		return err
	}
	for _, dc := range seed.DomainControllers {
		if err := d.addDomainController(dc); err != nil {
			return err
		}
	}
	// The first domain controller of the seed holds the PDC emulator role: the domain object's fsmoRoleOwner names
	// its NTDS Settings object (Microsoft, "FSMO roles in Active Directory").
	if err := d.setFSMORoleOwner(seed.DomainControllers[0].Name); err != nil {
		return err
	}
	if err := d.AddComputers(seed.Computers...); err != nil {
		return err
	}
	if err := d.AddUsers(seed.Users...); err != nil {
		return err
	}
	return d.AddGroups(seed.Groups...)
}

func (d *Directory) rid(given uint32, sam string) uint32 {
	if given != 0 {
		return d.store.allocateRID(given)
	}
	return d.store.allocateRID(derivedRID(sam))
}

func (d *Directory) addDomainController(dc DomainController) error {
	e, err := d.dom.domainControllerEntry(dc, d.rid(dc.RID, dc.Name+"$"))
	if err != nil {
		return fmt.Errorf("domain controller %s: %w", dc.Name, err)
	}
	servers, err := d.dom.serverObjects(dc, e.dn)
	if err != nil {
		return err
	}
	return d.store.add(append([]*entry{e}, servers...)...)
}

// AddComputers adds computer accounts (creating missing OUs), e.g. thousands
// of them for a paging test.
func (d *Directory) AddComputers(computers ...Computer) error {
	return d.addAccounts(len(computers), func(i int) (string, *entry, error) {
		c := computers[i]
		e, err := d.dom.computerEntry(c, d.rid(c.RID, c.Name+"$"))
		return c.Container, e, err
	}, defaultComputersContainer)
}

// AddUsers adds user accounts (creating missing OUs).
func (d *Directory) AddUsers(users ...User) error {
	return d.addAccounts(len(users), func(i int) (string, *entry, error) {
		u := users[i]
		e, err := d.dom.userEntry(u, d.rid(u.RID, u.SAMAccountName))
		return u.Container, e, err
	}, defaultUsersContainer)
}

// AddGroups adds groups whose members already exist and sets the members'
// memberOf back-links. The group with RID 512 is Domain Admins: its direct
// members may write.
func (d *Directory) AddGroups(groups ...Group) error {
	for _, g := range groups {
		var members []string
		for _, m := range g.Members {
			e, ok := d.store.bySAMAccountName(m)
			if !ok {
				return fmt.Errorf("group %s: member %q does not exist", g.Name, m)
			}
			members = append(members, e.dn)
		}
		rid := d.rid(g.RID, g.Name)
		err := d.addAccounts(1, func(int) (string, *entry, error) {
			e, err := d.dom.groupEntry(g, rid, members)
			return g.Container, e, err
		}, defaultUsersContainer)
		if err != nil {
			return err
		}
		group, _ := d.store.bySAMAccountName(g.Name)
		if rid == ridDomainAdmins {
			d.store.setAdminGroup(group.ndn)
		}
		for _, m := range g.Members {
			member, _ := d.store.bySAMAccountName(m)
			if err := d.store.update(member.ndn, func(cur *entry) (*entry, error) {
				return cur.with("memberOf", append(append([]string(nil), cur.get("memberOf")...), group.dn)...), nil
			}); err != nil {
				return fmt.Errorf("group %s: member %s: %w", g.Name, m, err)
			}
		}
	}
	return nil
}

// addAccounts builds n entries with build and stores them together with the
// containers they need.
func (d *Directory) addAccounts(n int, build func(i int) (container string, e *entry, err error), defaultContainer string) error {
	batch := make([]*entry, 0, n)
	planned := map[string]bool{}
	exists := func(ndn string) bool {
		if planned[ndn] {
			return true
		}
		_, ok := d.store.byNDN(ndn)
		return ok
	}
	for i := 0; i < n; i++ {
		container, e, err := build(i)
		if err != nil {
			return err
		}
		if container == "" {
			container = defaultContainer
		}
		containers, err := d.dom.containerEntries(container, exists)
		if err != nil {
			return err
		}
		for _, c := range containers {
			planned[c.ndn] = true
		}
		batch = append(batch, containers...)
		batch = append(batch, e)
	}
	return d.store.add(batch...)
}

// Entry is a copy of a directory object for assertions in tests.
type Entry struct {
	DN         string
	Attributes map[string][]string // canonical attribute name -> raw values
}

// Lookup returns the object with that sAMAccountName (NAME$ for computers).
func (d *Directory) Lookup(samAccountName string) (Entry, bool) {
	e, ok := d.store.bySAMAccountName(samAccountName)
	if !ok {
		return Entry{}, false
	}
	out := Entry{DN: e.dn, Attributes: make(map[string][]string, len(e.attrs))}
	for _, a := range e.attrs {
		out.Attributes[a.name] = append([]string(nil), a.values...)
	}
	return out, true
}

// Credentials are the name forms a simple bind accepts for one account.
type Credentials struct {
	DN             string // CN=svc-remoteaccess,CN=Users,DC=corp,DC=example
	UPN            string // svc-remoteaccess@corp.example
	DownLevel      string // CORP\svc-remoteaccess
	SAMAccountName string
	Password       string
}

// AdminCredentials are the seed's bind_user: the account the provider uses.
func (d *Directory) AdminCredentials() Credentials {
	c, _ := d.Credentials(d.bindUser)
	return c
}

// Credentials returns the bind names and password of a seeded account.
func (d *Directory) Credentials(samAccountName string) (Credentials, bool) {
	e, ok := d.store.bySAMAccountName(samAccountName)
	if !ok {
		return Credentials{}, false
	}
	sam := e.first("sAMAccountName")
	return Credentials{
		DN:             e.dn,
		UPN:            sam + "@" + d.dom.dnsName,
		DownLevel:      d.dom.netbios + `\` + sam,
		SAMAccountName: sam,
		Password:       e.password,
	}, true
}

// BaseDN is the domain's naming context (defaultNamingContext).
func (d *Directory) BaseDN() string { return d.dom.baseDN }

// DNSHostName is the emulated domain controller's name (dc1.corp.example),
// the name its certificate is issued to.
func (d *Directory) DNSHostName() string { return d.dom.dcHostName(d.dc.Name) }

// CACertPEM is the PEM of the CA that issued the server certificate.
func (d *Directory) CACertPEM() []byte { return d.ca.CertPEM() }

// AccountControlHistory returns every value the account's userAccountControl
// took through writes since the directory started, oldest first, so that a
// test can see an enable that was undone a moment later.
func (d *Directory) AccountControlHistory(samAccountName string) []uint32 {
	e, ok := d.store.bySAMAccountName(samAccountName)
	if !ok {
		return nil
	}
	d.store.mu.RLock()
	defer d.store.mu.RUnlock()
	var out []uint32
	for _, v := range d.store.uacHistory[e.ndn] {
		n, _ := strconv.ParseInt(v, 10, 32)
		out = append(out, uint32(int32(n))) //nolint:gosec // the flags are the two's complement of the signed value
	}
	return out
}
