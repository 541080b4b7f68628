package directory

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"
)

// A plan refreshes every block in state, each by its objectGUID, up to Terraform's parallelism at once. Each search
// costs the domain controller more than the account it returns, so lookups that arrive while a search for their
// kind is running wait for the next one, which asks for all of them in one filter.

// maxGUIDsPerSearch bounds the filter of one search; the rest wait for the next one.
const maxGUIDsPerSearch = 64

// guidLookup is one FindByGUID or ReadByGUID waiting for its search.
type guidLookup struct {
	raw  []byte
	guid string
	// guarded asks for PrivilegedVia (FindByGUID), which costs a search of nested group memberships.
	guarded bool
	acct    Account
	err     error
	done    chan struct{}
}

// guidLookups queues FindByGUID calls by kind; one goroutine per kind searches while any are queued.
type guidLookups struct {
	mu      sync.Mutex
	queued  map[Kind][]*guidLookup
	running map[Kind]bool
}

// FindByGUID finds an account by its objectGUID (in its string form), refusing other kinds of account, with
// PrivilegedVia for the guards (Guard). Lookups that overlap share searches (see guidLookups); each gets its own
// account or error.
func (c *Client) FindByGUID(ctx context.Context, kind Kind, guid string) (Account, error) {
	return c.lookUpGUID(ctx, kind, guid, true)
}

// ReadByGUID is FindByGUID without PrivilegedVia, for a refresh, which applies no guard: the search of nested group
// memberships that PrivilegedVia needs is about four fifths of a lookup's cost to the domain controller (measured on
// Samba: 300 lookups ten at a time took 330 ms with it and 75 ms without), and a plan refreshes every block in state.
func (c *Client) ReadByGUID(ctx context.Context, kind Kind, guid string) (Account, error) {
	return c.lookUpGUID(ctx, kind, guid, false)
}

func (c *Client) lookUpGUID(ctx context.Context, kind Kind, guid string, guarded bool) (Account, error) {
	if _, err := kindFilter(kind); err != nil {
		return Account{}, err
	}
	raw, err := encodeGUID(guid)
	if err != nil {
		return Account{}, err
	}
	l := &guidLookup{raw: raw, guid: guid, guarded: guarded, done: make(chan struct{})}
	q := &c.guidLookups
	q.mu.Lock()
	if q.queued == nil {
		q.queued, q.running = map[Kind][]*guidLookup{}, map[Kind]bool{}
	}
	q.queued[kind] = append(q.queued[kind], l)
	if !q.running[kind] {
		q.running[kind] = true
		// The searches outlive this caller: they answer every lookup queued meanwhile.
		go c.searchGUIDs(context.WithoutCancel(ctx), kind)
	}
	q.mu.Unlock()
	select {
	case <-l.done:
		return l.acct, l.err
	case <-ctx.Done():
		return Account{}, fmt.Errorf("directory: looking up %s with objectGUID %s: %w", kind, guid, ctx.Err())
	}
}

// searchGUIDs answers the queued lookups of a kind, a search at a time, until none is left. A lookup whose caller
// has given up is still answered: nobody reads it.
func (c *Client) searchGUIDs(base context.Context, kind Kind) {
	q := &c.guidLookups
	for {
		q.mu.Lock()
		batch := q.queued[kind]
		if len(batch) > maxGUIDsPerSearch {
			batch = batch[:maxGUIDsPerSearch]
		}
		q.queued[kind] = q.queued[kind][len(batch):]
		if len(batch) == 0 {
			q.running[kind] = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		ctx, cancel := c.withTimeout(base)
		c.answerGUIDs(ctx, kind, batch)
		cancel()
		for _, l := range batch {
			close(l.done)
		}
	}
}

// answerGUIDs searches once for the batch's GUIDs and gives each lookup its account, ErrNotFound, ErrDeleted, or the
// error. GUIDs that the search base misses are looked for in the whole domain (an account moved out of the base must
// still be found, to release its block), and then among the deleted objects.
func (c *Client) answerGUIDs(ctx context.Context, kind Kind, batch []*guidLookup) {
	dom, err := c.Domain(ctx)
	if err != nil {
		for _, l := range batch {
			l.err = err
		}
		return
	}
	missing := c.searchGUIDBatch(ctx, kind, dom.BaseDN, batch, nil)
	if len(missing) > 0 && !strings.EqualFold(dom.BaseDN, dom.DomainDN) {
		missing = c.searchGUIDBatch(ctx, kind, dom.DomainDN, missing, nil)
	}
	if len(missing) > 0 {
		c.findDeleted(ctx, kind, dom.DomainDN, missing)
	}
	var found []*Account
	for _, l := range batch {
		if l.err == nil && l.guarded {
			found = append(found, &l.acct)
		}
	}
	if err := c.markPrivileged(ctx, c.pool.do, found); err != nil {
		for _, l := range batch {
			if l.err == nil && l.guarded {
				l.err = err
			}
		}
	}
}

// showDeleted is the LDAP_SERVER_SHOW_DELETED_OID control: the search returns deleted objects (tombstones) too.
const showDeleted = "1.2.840.113556.1.4.417"

// searchGUIDBatch searches base for the lookups' GUIDs and answers those it finds (or fails); it returns the lookups
// it did not find, each with ErrNotFound set.
func (c *Client) searchGUIDBatch(ctx context.Context, kind Kind, base string, batch []*guidLookup, controls []ldap.Control) []*guidLookup {
	kf, _ := kindFilter(kind) // checked by FindByGUID
	var filter strings.Builder
	filter.WriteString("(&" + kf + "(|")
	for _, l := range batch {
		filter.WriteString("(objectGUID=" + escapeBytes(l.raw) + ")")
	}
	filter.WriteString("))")
	entries, err := c.search(ctx, ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter.String(), accountAttributes, controls))
	var missing []*guidLookup
	for _, l := range batch {
		what := fmt.Sprintf("%s with objectGUID %s", kind, l.guid)
		l.err = nil
		if err != nil {
			l.err = fmt.Errorf("directory: looking up %s under %s: %w", what, base, err)
			continue
		}
		var matches []Account
		for _, e := range entries {
			if bytes.Equal(e.GetRawAttributeValue("objectGUID"), l.raw) {
				acct, perr := parseAccount(e)
				if perr != nil {
					l.err = perr
				}
				matches = append(matches, acct)
			}
		}
		switch {
		case l.err != nil:
		case len(matches) == 0:
			l.err = fmt.Errorf("%w: %s in %s", ErrNotFound, what, base)
			missing = append(missing, l)
		case len(matches) > 1:
			l.err = fmt.Errorf("directory: %s matches %d accounts under %s", what, len(matches), base)
		default:
			l.acct = matches[0]
		}
	}
	return missing
}

// findDeleted looks for the lookups' GUIDs among the deleted objects of the domain; those found get ErrDeleted, the
// others keep ErrNotFound. A directory that refuses the control leaves them not found.
func (c *Client) findDeleted(ctx context.Context, kind Kind, domainDN string, batch []*guidLookup) {
	var filter strings.Builder
	filter.WriteString("(&(isDeleted=TRUE)(|")
	for _, l := range batch {
		filter.WriteString("(objectGUID=" + escapeBytes(l.raw) + ")")
	}
	filter.WriteString("))")
	entries, err := c.search(ctx, ldap.NewSearchRequest(domainDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter.String(), []string{"objectGUID", "lastKnownParent"}, []ldap.Control{ldap.NewControlString(showDeleted, true, "")}))
	if err != nil {
		return
	}
	for _, l := range batch {
		for _, e := range entries {
			if bytes.Equal(e.GetRawAttributeValue("objectGUID"), l.raw) {
				// Also ErrNotFound: there is no account to change any more.
				l.err = fmt.Errorf("%w (%w): the %s with objectGUID %s was deleted (its tombstone is %s, last in %s)", ErrDeleted,
					ErrNotFound, kind, l.guid, e.DN, e.GetAttributeValue("lastKnownParent"))
			}
		}
	}
}
