package directory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// pool shares a few authenticated connections between all goroutines. Each operation borrows a
// connection for itself, which lets it set that connection's request timeout from its own deadline
// and close it on cancellation without disturbing anybody else's request.
type pool struct {
	dialer *dialer
	urls   []*url.URL
	slots  chan struct{} // one per connection that may exist

	mu     sync.Mutex
	idle   []*ldap.Conn
	closed bool
}

func newPool(d *dialer, urls []*url.URL, size int) *pool {
	return &pool{dialer: d, urls: urls, slots: make(chan struct{}, size)}
}

// do runs fn on a connection. A connection that was idle may have been dropped by the server
// (restart, idle timeout, failover) without us noticing yet: if fn fails on it for want of a
// network, fn runs once more on a freshly dialed connection. fn must therefore be safe to repeat.
func (p *pool) do(ctx context.Context, fn func(*ldap.Conn) error) error {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting for a free connection: %w", ctx.Err())
	}
	defer func() { <-p.slots }()

	for {
		conn, reused, err := p.get(ctx)
		if err != nil {
			return err
		}
		err = runConn(ctx, conn, fn)
		if err == nil || isBusy(err) || (!isUnreachable(err) && !conn.IsClosing()) { // busy: the connection is fine
			p.put(conn)
			return err
		}
		_ = conn.Close()
		// A modify that was sent may have been applied: its caller decides what to do, on a fresh read.
		var sent *sentError
		if !reused || ctx.Err() != nil || errors.As(err, &sent) {
			return err
		}
	}
}

// name is the URL the pool connects to first, for messages.
func (p *pool) name() string { return p.urls[0].Redacted() }

func (p *pool) get(ctx context.Context) (conn *ldap.Conn, reused bool, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, fmt.Errorf("directory: client is closed")
	}
	for len(p.idle) > 0 {
		conn = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !conn.IsClosing() {
			p.mu.Unlock()
			return conn, true, nil
		}
	}
	p.mu.Unlock()
	conn, err = p.dialer.dialAny(ctx, p.urls)
	return conn, false, err
}

func (p *pool) put(conn *ldap.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || conn.IsClosing() {
		_ = conn.Close()
		return
	}
	p.idle = append(p.idle, conn)
}

func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, conn := range p.idle {
		_ = conn.Close()
	}
	p.idle = nil
}

// runConn runs fn on a connection it has to itself, bounded by ctx: the request timeout comes from
// the deadline, and cancellation closes the connection so that a blocked request returns at once.
func runConn(ctx context.Context, conn *ldap.Conn, fn func(*ldap.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetTimeout(max(time.Until(deadline), time.Millisecond))
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	err := fn(conn)
	if !stop() {
		// The context ended while fn ran and closed its connection. What fn knew still counts: a result it had
		// already, and a modify that may have been applied (sentError), whose caller must read the account again
		// rather than report that nothing changed.
		var sent *sentError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &sent):
			return &sentError{fmt.Errorf("LDAP operation: %w (%w)", ctx.Err(), sent.err)}
		}
		return fmt.Errorf("LDAP operation: %w", ctx.Err())
	}
	return atDeadline(ctx, err)
}

// atDeadline attributes a failure to the context when it ended, or when its deadline has passed:
// the connection's own timers fire at the same instant as the context's, and may win the race.
func atDeadline(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	cause := ctx.Err()
	if deadline, ok := ctx.Deadline(); ok && cause == nil && !time.Now().Before(deadline) {
		cause = context.DeadlineExceeded
	}
	if cause == nil || errors.Is(err, cause) {
		return err
	}
	return fmt.Errorf("%w: %w", err, cause)
}
