package directory

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// pollInterval is how often WaitVisible asks a lagging domain controller again.
const pollInterval = 250 * time.Millisecond

// Visible is what WaitVisible waits for every domain controller to show of an account.
type Visible struct {
	// Disabled waits for ACCOUNTDISABLE set, Enabled for it clear; neither leaves it out.
	Disabled, Enabled bool
	// DialInDenied waits for msNPAllowDialin FALSE: NPS reads it from whichever controller it asks.
	DialInDenied bool
}

// shownBy returns nil when acct shows v, else what it shows instead.
func (v Visible) shownBy(acct Account) error {
	if (v.Disabled && acct.Enabled()) || (v.Enabled && !acct.Enabled()) {
		return fmt.Errorf("still %s (userAccountControl %#x)", stateName(!acct.Enabled()), acct.UserAccountControl)
	}
	if !v.DialInDenied {
		return nil
	}
	d, err := acct.DialIn()
	if err == nil && d != DialInDeny {
		err = fmt.Errorf("still %s", d)
	}
	return err
}

// WaitVisible waits until every listed domain controller (Config.DomainControllers, or the connected
// server when none are listed) shows want of dn. Each controller is read over
// its own short-lived connection, so replication lag is observed rather than the pinned server's view.
// It waits at most Config.Timeout, however long ctx lasts: a controller that does not answer must not hold up the
// block. When the wait ends first, the *VisibilityError names the controllers that lag.
func (c *Client) WaitVisible(ctx context.Context, dn string, want Visible) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if len(c.cfg.dcURLs) == 0 {
		if err := pollUntilVisible(ctx, dn, want, c.pool.do); err != nil {
			return &VisibilityError{DN: dn, Lagging: []string{"connected server"}, Last: map[string]error{"connected server": err}}
		}
		return nil
	}

	errs := make([]error, len(c.cfg.dcURLs))
	var wg sync.WaitGroup
	for i, u := range c.cfg.dcURLs {
		wg.Go(func() {
			dc := &dcReader{dialer: c.dialer, url: u}
			defer dc.close()
			errs[i] = pollUntilVisible(ctx, dn, want, dc.do)
		})
	}
	wg.Wait()
	verr := &VisibilityError{DN: dn, Last: map[string]error{}}
	for i, err := range errs {
		if err != nil {
			name := c.cfg.dcURLs[i].Redacted()
			verr.Lagging = append(verr.Lagging, name)
			verr.Last[name] = err
		}
	}
	if len(verr.Lagging) > 0 {
		return verr
	}
	return nil
}

type doFunc func(context.Context, func(*ldap.Conn) error) error

// pollUntilVisible reads dn until it shows want; it returns nil then, or the last
// observation (an error or the state still seen) when ctx ends.
func pollUntilVisible(ctx context.Context, dn string, want Visible, do doFunc) error {
	var last error
	for {
		var acct Account
		err := do(ctx, func(conn *ldap.Conn) error {
			var err error
			acct, err = readAccount(conn, dn)
			return err
		})
		if err == nil {
			if err = want.shownBy(acct); err == nil {
				return nil
			}
		}
		if last == nil || ctx.Err() == nil { // keep what was seen, not the deadline that cut the read short
			last = err
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(pollInterval):
		}
	}
}

func stateName(disabled bool) string {
	if disabled {
		return "disabled"
	}
	return "enabled"
}

// dcReader keeps one connection to one domain controller for the length of a WaitVisible call.
type dcReader struct {
	dialer *dialer
	url    *url.URL
	conn   *ldap.Conn
}

func (r *dcReader) do(ctx context.Context, fn func(*ldap.Conn) error) error {
	if r.conn == nil || r.conn.IsClosing() {
		conn, err := r.dialer.dial(ctx, r.url)
		if err != nil {
			return err
		}
		r.conn = conn
	}
	err := runConn(ctx, r.conn, fn)
	if err != nil && (isUnreachable(err) || r.conn.IsClosing()) {
		r.close()
	}
	return err
}

func (r *dcReader) close() {
	if r.conn != nil {
		_ = r.conn.Close()
		r.conn = nil
	}
}
