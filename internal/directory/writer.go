package directory

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Every block write goes to one domain controller. Active Directory is multi-master: two controllers accept writes of
// the same attribute, and replication keeps one of the two values (the later write wins for the whole value), so two
// blocks that record themselves in info on two controllers at once can lose one hold; the compare-and-swap of a write
// only protects it against writes on the same controller. The writer is Config.WriteURL, or else the PDC emulator:
// the domain object's fsmoRoleOwner names its NTDS Settings object (nTDSDSA), whose parent server object has the
// controller's dNSHostName (Microsoft, "FSMO roles in Active Directory").

// writer returns the pool of connections to the writer domain controller, finding it on first use.
func (c *Client) writer(ctx context.Context) (*pool, error) {
	c.writerMu.Lock()
	defer c.writerMu.Unlock()
	if c.writerPool != nil {
		return c.writerPool, nil
	}
	u, err := c.findWriter(ctx)
	if err != nil {
		return nil, err
	}
	c.writerPool = newPool(c.dialer, []*url.URL{u}, c.cfg.MaxConnections)
	return c.writerPool, nil
}

// Writer is the URL of the domain controller that every change goes to: Config.WriteURL, or the PDC emulator.
func (c *Client) Writer(ctx context.Context) (string, error) {
	w, err := c.writer(ctx)
	if err != nil {
		return "", err
	}
	return w.name(), nil
}

func (c *Client) findWriter(ctx context.Context) (*url.URL, error) {
	if c.cfg.writeURL != nil {
		return c.cfg.writeURL, nil
	}
	dom, err := c.Domain(ctx)
	if err != nil {
		return nil, err
	}
	owner, err := c.readAttribute(ctx, dom.DomainDN, "fsmoRoleOwner")
	if err != nil || owner == "" {
		return nil, fmt.Errorf("directory: cannot find the PDC emulator, which every block write goes to (fsmoRoleOwner of %s: %q, %v); "+
			"set ldap.write_url to the domain controller to write to", dom.DomainDN, owner, err)
	}
	ownerDN, err := ldap.ParseDN(owner)
	if err != nil || len(ownerDN.RDNs) < 2 {
		return nil, fmt.Errorf("directory: fsmoRoleOwner of %s is %q, not an NTDS Settings DN; set ldap.write_url", dom.DomainDN, owner)
	}
	if u := c.whichServesDSA(ctx, c.cfg.candidates(), ownerDN); u != nil {
		return u, nil
	}
	serverDN := &ldap.DN{RDNs: ownerDN.RDNs[1:]}
	host, err := c.readAttribute(ctx, serverDN.String(), "dNSHostName")
	if err != nil || host == "" {
		return nil, fmt.Errorf("directory: the PDC emulator %s is none of the configured URLs and its dNSHostName cannot be read (%v); "+
			"set ldap.write_url", serverDN, err)
	}
	first := c.cfg.urls[0]
	u := *first
	u.Host = net.JoinHostPort(host, first.Port())
	return &u, nil
}

// whichServesDSA asks every candidate at once whether it serves dsa (servesDSA) and returns the first that does, or
// nil. A controller that stalls does not hold up the others: the candidates share at most half of ctx's time, so
// that the search for the PDC emulator's host name after them has the rest.
func (c *Client) whichServesDSA(ctx context.Context, candidates []*url.URL, dsa *ldap.DN) *url.URL {
	var probe context.Context
	var cancel context.CancelFunc
	if deadline, ok := ctx.Deadline(); ok {
		probe, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(deadline)/2))
	} else {
		probe, cancel = context.WithCancel(ctx)
	}
	defer cancel() // the probes still running give up
	answers := make(chan *url.URL, len(candidates))
	for _, u := range candidates {
		go func() {
			if c.servesDSA(probe, u, dsa) {
				answers <- u
				return
			}
			answers <- nil
		}()
	}
	for range candidates {
		if u := <-answers; u != nil {
			return u
		}
	}
	return nil
}

// servesDSA reports whether the domain controller at u is the one whose NTDS Settings object is dsa (its root DSE's
// dsServiceName). An unreachable URL is not it, nor one that does not answer within ctx: writer discovery holds the
// lock that every write of the client waits for.
func (c *Client) servesDSA(ctx context.Context, u *url.URL, dsa *ldap.DN) bool {
	conn, err := c.dialer.dial(ctx, u)
	if err != nil {
		return false
	}
	defer func() { _ = conn.Close() }()
	var res *ldap.SearchResult
	err = runConn(ctx, conn, func(conn *ldap.Conn) error {
		var err error
		res, err = conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"dsServiceName"}, nil))
		return err
	})
	if err != nil || len(res.Entries) != 1 {
		return false
	}
	got, err := ldap.ParseDN(res.Entries[0].GetEqualFoldAttributeValue("dsServiceName"))
	return err == nil && got.EqualFold(dsa)
}

// readAttribute reads one attribute of one object.
func (c *Client) readAttribute(ctx context.Context, dn, attr string) (string, error) {
	entries, err := c.search(ctx, ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{attr}, nil))
	if err != nil || len(entries) == 0 {
		return "", err
	}
	return entries[0].GetEqualFoldAttributeValue(attr), nil
}
