// Package directory reads and changes Active Directory accounts over LDAP: it finds computer and
// user accounts, flips their ACCOUNTDISABLE bit behind guards, and checks that every domain controller
// shows the change. It knows nothing about Terraform.
package directory

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"
)

// Client talks to one Active Directory domain. It is safe for concurrent use; connections are
// opened on first use and reopened after network errors.
type Client struct {
	cfg    *validated
	dialer *dialer
	pool   *pool

	domainMu sync.Mutex
	domain   *DomainInfo

	// Changes to one account are serialized inside this client so that two goroutines never
	// interleave the read and the write of the same userAccountControl.
	accountLocks [64]sync.Mutex

	guidLookups guidLookups

	writerMu   sync.Mutex
	writerPool *pool // the domain controller every change goes to (writer.go)

	protMu     sync.Mutex
	protLoaded bool
	protDNs    []string // the protected groups (privileged.go)
}

// New checks cfg and returns a Client. It does not contact the directory.
func New(cfg Config) (*Client, error) {
	v, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	d, err := newDialer(v)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: v, dialer: d, pool: newPool(d, v.urls, v.MaxConnections)}, nil
}

// Close closes the idle connections, the writer's too; connections in use close when their operation ends. A change
// after Close fails: it finds a closed writer.
func (c *Client) Close() error {
	c.pool.close()
	c.writerMu.Lock()
	defer c.writerMu.Unlock()
	if c.writerPool == nil {
		c.writerPool = newPool(c.dialer, c.cfg.urls, 1)
	}
	c.writerPool.close()
	return nil
}

// withTimeout applies Config.Timeout unless ctx has an earlier deadline. A resource's operation has minutes (its
// timeouts), which one stalled domain controller must not take from the rest of the block.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.Timeout)
}

// search runs one search on a pooled connection. Continuation references (referrals to other
// partitions, returned by subtree searches from a domain root) are ignored.
// search runs one search, paged unless it reads a single object, and returns its entries.
//
// Continuation references are not chased: below a domain's root they lead to the Configuration partition, the DNS
// application partitions or child domains, none of which holds the accounts of the configured domain. A base that
// the server does not hold at all is answered with a referral (result 10), which becomes an error saying so rather
// than an empty result.
func (c *Client) search(ctx context.Context, req *ldap.SearchRequest) ([]*ldap.Entry, error) {
	var entries []*ldap.Entry
	err := c.pool.do(ctx, func(conn *ldap.Conn) error {
		var res *ldap.SearchResult
		var err error
		if req.Scope == ldap.ScopeBaseObject {
			res, err = conn.Search(req)
		} else {
			// SearchWithPaging keeps its cookie in the request's controls; the cookie belongs to the connection's
			// search, so a search run again on a fresh connection starts from a copy without it.
			paged := *req
			paged.Controls = slices.Clone(req.Controls)
			res, err = conn.SearchWithPaging(&paged, pageSize)
		}
		if err != nil {
			return err
		}
		entries = res.Entries
		return nil
	})
	var lerr *ldap.Error
	if errors.As(err, &lerr) && lerr.ResultCode == ldap.LDAPResultReferral {
		return nil, &ValidationError{Field: "search base", Value: req.BaseDN,
			Reason: fmt.Sprintf("is not in a naming context of this directory, which referred the search elsewhere (%v); use a base in the configured domain", lerr.Err)}
	}
	return entries, err
}

func (c *Client) accountLock(dn string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(dn)))
	return &c.accountLocks[h.Sum32()%uint32(len(c.accountLocks))]
}

// DomainInfo describes the domain, as discovered from the root DSE and the partitions container.
type DomainInfo struct {
	BaseDN      string // where lookups search: Config.BaseDN or the domain's naming context
	DomainDN    string // the domain's naming context (defaultNamingContext)
	DNSRoot     string // corp.example
	NetBIOSName string // CORP
}

// Domain discovers the domain and caches the answer. Concurrent first calls may each ask the
// directory (harmless), but none waits on another's context.
func (c *Client) Domain(ctx context.Context) (DomainInfo, error) {
	c.domainMu.Lock()
	cached := c.domain
	c.domainMu.Unlock()
	if cached != nil {
		return *cached, nil
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	root, err := c.search(ctx, ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext", "configurationNamingContext", "dnsHostName"}, nil))
	if err != nil {
		return DomainInfo{}, fmt.Errorf("directory: reading the root DSE: %w", err)
	}
	if len(root) != 1 || root[0].GetAttributeValue("defaultNamingContext") == "" {
		return DomainInfo{}, fmt.Errorf("directory: the root DSE has no defaultNamingContext: not an Active Directory server?")
	}
	domainDN := root[0].GetAttributeValue("defaultNamingContext")
	partitions := "CN=Partitions," + root[0].GetAttributeValue("configurationNamingContext")
	refs, err := c.search(ctx, ldap.NewSearchRequest(partitions, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 2, 0, false,
		"(&(objectClass=crossRef)(nCName="+ldap.EscapeFilter(domainDN)+"))", []string{"nETBIOSName", "dnsRoot"}, nil))
	if err != nil {
		return DomainInfo{}, fmt.Errorf("directory: reading the domain's crossRef in %s: %w", partitions, err)
	}
	if len(refs) != 1 {
		return DomainInfo{}, fmt.Errorf("directory: %d crossRef objects for %s in %s, want 1", len(refs), domainDN, partitions)
	}
	info := DomainInfo{
		BaseDN:      c.cfg.BaseDN,
		DomainDN:    domainDN,
		DNSRoot:     refs[0].GetAttributeValue("dnsRoot"),
		NetBIOSName: refs[0].GetAttributeValue("nETBIOSName"),
	}
	if info.BaseDN == "" {
		info.BaseDN = domainDN
	}
	c.domainMu.Lock()
	c.domain = &info
	c.domainMu.Unlock()
	return info, nil
}
