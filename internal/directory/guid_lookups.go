package directory

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
)

// A plan refreshes every block in state, each by its objectGUID, up to Terraform's parallelism at once. Each search
// costs the domain controller more than the account it returns, so lookups that arrive while a search for their
// kind is running wait for the next one, which asks for all of them in one filter.

// maxGUIDsPerSearch bounds the filter of one search; the rest wait for the next one.
const maxGUIDsPerSearch = 64

// guidLookup is one FindByGUID waiting for its search.
type guidLookup struct {
	raw  []byte
	guid string
	acct Account
	err  error
	done chan struct{}
}

// guidLookups queues FindByGUID calls by kind; one goroutine per kind searches while any are queued.
type guidLookups struct {
	mu      sync.Mutex
	queued  map[Kind][]*guidLookup
	running map[Kind]bool
}

// FindByGUID finds an account by its objectGUID (in its string form), refusing other kinds of account. Lookups that
// overlap share searches (see guidLookups); each gets its own account or error.
func (c *Client) FindByGUID(ctx context.Context, kind Kind, guid string) (Account, error) {
	if _, err := kindFilter(kind); err != nil {
		return Account{}, err
	}
	raw, err := encodeGUID(guid)
	if err != nil {
		return Account{}, err
	}
	l := &guidLookup{raw: raw, guid: guid, done: make(chan struct{})}
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

// answerGUIDs searches once for the batch's GUIDs and gives each lookup its account, ErrNotFound, or the error.
func (c *Client) answerGUIDs(ctx context.Context, kind Kind, batch []*guidLookup) {
	kf, _ := kindFilter(kind) // checked by FindByGUID
	dom, err := c.Domain(ctx)
	if err != nil {
		for _, l := range batch {
			l.err = err
		}
		return
	}
	var filter strings.Builder
	filter.WriteString("(&" + kf + "(|")
	for _, l := range batch {
		filter.WriteString("(objectGUID=" + escapeBytes(l.raw) + ")")
	}
	filter.WriteString("))")
	entries, err := c.searchAccounts(ctx, dom.BaseDN, filter.String())
	for _, l := range batch {
		what := fmt.Sprintf("%s with objectGUID %s", kind, l.guid)
		if err != nil {
			l.err = fmt.Errorf("directory: looking up %s under %s: %w", what, dom.BaseDN, err)
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
			l.err = fmt.Errorf("%w: %s under %s", ErrNotFound, what, dom.BaseDN)
		case len(matches) > 1:
			l.err = fmt.Errorf("directory: %s matches %d accounts under %s", what, len(matches), dom.BaseDN)
		default:
			l.acct = matches[0]
		}
	}
}
