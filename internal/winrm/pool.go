package winrm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/masterzen/winrm/soap"
)

// The shell pool. Windows keeps a shell until it is deleted or stays idle for its IdleTimeout (two hours on many
// servers) and allows an account MaxShellsPerUser of them (5 when no policy sets it, internal/lab/WINDOWS.md): shells
// that are never deleted lock the account out. So every shell this client opens is deleted again:
//   - a run that fails or is cancelled deletes its shell at once (with a clean-up context);
//   - a shell left idle for Config.ShellIdle is deleted by the reaper;
//   - Close deletes the idle shells that remain;
//   - and each shell is created with a short server-side idle timeout (Config.ServerIdleTimeout) in case the
//     process dies before it can do any of this.
//
// The number of shells is bounded by MaxConcurrency: a run holds a slot and owns at most one shell; it creates a
// shell only when no idle one is left; and the reaper holds a slot while it deletes a shell. So the shells that exist
// on the server (idle, or owned by a slot holder) never outnumber the slots, but for those whose Delete failed
// (deleteLater: the reaper's next pass and Close try them again; the server's idle timeout ends them).

// idleShell is a pooled shell and when it was last used.
type idleShell struct {
	id    string
	since time.Time
}

// openShell takes the most recently used idle shell, or creates one. Taking the newest leaves the oldest to expire,
// so the pool shrinks when the load does.
func (c *Client) openShell(tr *opTransport) (string, bool, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		id := c.idle[n-1].id
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		c.shellsReused.Add(1)
		return id, true, nil
	}
	c.mu.Unlock()
	// A caller that gave up before its turn (the slot and its context's end race in a select) sends no Create.
	if err := tr.context().Err(); err != nil {
		return "", false, fmt.Errorf("before creating a shell: %w", err)
	}
	// A caller that gave up meanwhile discards or pools the shell.
	ctx, cancel := createContext(tr.context())
	defer cancel()
	response, err := newOpTransport(ctx, c.transport).send(c.createShellRequest())
	if err != nil {
		return "", false, err
	}
	id, err := parseShellID(response)
	if err != nil {
		return "", false, err
	}
	c.shellsOpened.Add(1)
	return id, false, nil
}

// createContext bounds a shell's Create. It is not cut short when the caller gives up (a verify window that ends,
// Ctrl-C): a shell the server creates after the client stopped listening has an id the client never learns, and stays
// open until the server's idle timeout. So the Create has the caller's time and cleanupTimeout more once the caller
// has given up or run out of time (a busy server can take seconds to answer it).
func createContext(caller context.Context) (context.Context, context.CancelFunc) {
	limit := cleanupTimeout
	if d, ok := caller.Deadline(); ok {
		limit += max(time.Until(d), 0)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(caller), limit)
	stop := context.AfterFunc(caller, func() { // cancelled or past its deadline
		grace := time.AfterFunc(cleanupTimeout, cancel)
		context.AfterFunc(ctx, func() { grace.Stop() })
	})
	return ctx, func() {
		stop()
		cancel()
	}
}

// createShellRequest is masterzen/winrm's NewOpenShellRequest plus rsp:IdleTimeOut, which the library does not send.
// The element is an xs:duration placed before rsp:InputStreams, in the order of the Shell type (MS-WSMV 2.2.4.37)
// and of Windows' own CreateResponse; a bare number of milliseconds there is refused by Windows with
// w:SchemaValidationError (pywinrm issue 377).
func (c *Client) createShellRequest() *soap.SoapMessage {
	message := soap.NewMessage()
	message.Header().
		To(c.transport.url).
		ReplyTo("http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous").
		MaxEnvelopeSize(c.params.EnvelopeSize).
		Id("uuid:" + uuid.NewString()).
		Locale(c.params.Locale).
		Timeout(c.params.Timeout).
		Action("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create").
		ResourceURI("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd").
		AddOption(soap.NewHeaderOption("WINRS_NOPROFILE", "FALSE")).
		AddOption(soap.NewHeaderOption("WINRS_CODEPAGE", "65001")).
		Build()
	shell := message.CreateBodyElement("Shell", soap.DOM_NS_WIN_SHELL)
	message.CreateElement(shell, "IdleTimeOut", soap.DOM_NS_WIN_SHELL).SetContent(formatDuration(c.cfg.ServerIdleTimeout))
	message.CreateElement(shell, "InputStreams", soap.DOM_NS_WIN_SHELL).SetContent("stdin")
	message.CreateElement(shell, "OutputStreams", soap.DOM_NS_WIN_SHELL).SetContent("stdout stderr")
	return message
}

// keepShell returns a healthy shell to the pool, or deletes it once the client is closed. The caller holds a slot.
func (c *Client) keepShell(tr *opTransport, id string) {
	c.mu.Lock()
	if !c.closed {
		c.idle = append(c.idle, idleShell{id: id, since: time.Now()})
		c.scheduleReapLocked()
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	// Closed meanwhile: deleted now, with a clean-up context of its own, since the caller may have given up (its
	// Create answered after Ctrl-C). Best effort: the server's idle timeout is the backstop.
	cleanup, cancel := cleanupContext(tr.context())
	defer cancel()
	_ = c.deleteShell(newOpTransport(cleanup, c.transport), id)
}

// discardShell deletes a shell after a failure. The Delete has a clean-up context of its own, since the caller may
// give up while it is on the way or waits to try it again (a verify window that ends, Ctrl-C); a shell whose Delete
// still fails is kept for the reaper's next pass and for Close, which try it again. The caller holds a slot.
func (c *Client) discardShell(ctx context.Context, id string) {
	if id == "" {
		return
	}
	cleanup, cancel := cleanupContext(ctx)
	defer cancel()
	if err := c.deleteShell(newOpTransport(cleanup, c.transport), id); err != nil {
		c.deleteLater(id)
	}
}

// deleteLater keeps a shell whose Delete failed for the reaper's next pass and for Close. Once the client is closed,
// the server's idle timeout (Config.ServerIdleTimeout) is all that is left.
func (c *Client) deleteLater(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleteLaterLocked(id)
}

// deleteLaterLocked is deleteLater with c.mu held.
func (c *Client) deleteLaterLocked(id string) {
	if !c.closed {
		c.undeleted = append(c.undeleted, id)
	}
}

// deleteShell deletes a shell on the server, retrying what IsTransient retries: a Delete is an operation like any
// other and can meet the same quota fault or dropped connection (MS-WSMV 2.2.4.42), and a shell whose Delete is
// given up lives on the server until its idle timeout. A shell the server no longer knows is deleted already.
func (c *Client) deleteShell(tr *opTransport, id string) error {
	return c.deleteShellPacing(tr, id, c.cfg.Retry.Attempts, c.backoff)
}

// exitRetryDelay and exitAttempts pace the Deletes at exit: Terraform kills the plugin about two seconds after it
// asks it to stop, so a Delete refused for quota is tried again soon, not after the usual backoff, and within
// about a second for a server that does not answer at all.
const (
	exitRetryDelay = 50 * time.Millisecond
	exitAttempts   = 20
)

// deleteShellAtExit is deleteShell as Close needs it: retried every exitRetryDelay, while its context lasts.
func (c *Client) deleteShellAtExit(tr *opTransport, id string) error {
	return c.deleteShellPacing(tr, id, exitAttempts, func(int) time.Duration { return exitRetryDelay })
}

func (c *Client) deleteShellPacing(tr *opTransport, id string, attempts int, delay func(attempt int) time.Duration) error {
	for attempt := 1; ; attempt++ {
		_, err := tr.send(deleteShellRequest(c.transport.url, id, c.params))
		if err == nil {
			c.shellsDeleted.Add(1)
			return nil
		}
		ctx := tr.context()
		e := classify(ctx, err)
		if e.Kind == KindShell {
			return nil
		}
		if attempt >= attempts || !IsTransient(e) || !c.sleep(ctx, delay(attempt)) {
			return err
		}
		c.retries.Add(1)
	}
}

// scheduleReapLocked arms the reaper for the moment the oldest idle shell has been idle for ShellIdle.
func (c *Client) scheduleReapLocked() {
	if c.reapTimer != nil || c.closed || len(c.idle) == 0 {
		return
	}
	c.reapTimer = time.AfterFunc(time.Until(c.idle[0].since.Add(c.cfg.ShellIdle)), c.reap)
}

// reap deletes the shells idle for ShellIdle or longer, one at a time and each under a slot, then re-arms itself
// for the next one.
func (c *Client) reap() {
	c.mu.Lock()
	c.reapTimer = nil
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.reaping.Add(1)          // under mu, so that Close (which sets closed under mu) waits for it
	retry := len(c.undeleted) // each tried once more in this pass
	c.mu.Unlock()
	defer c.reaping.Done()
	for {
		select {
		case c.slots <- struct{}{}:
		case <-c.done:
			return
		}
		id, ok := c.takeReapable(&retry)
		if ok {
			ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			err := c.deleteShell(newOpTransport(ctx, c.transport), id)
			cancel()
			c.mu.Lock()
			c.reaped = "" // with the shell kept below under the same lock, Close sees it in one list or the other
			if err != nil {
				c.deleteLaterLocked(id)
			}
			c.mu.Unlock()
		}
		<-c.slots
		if !ok {
			return
		}
	}
}

// takeReapable removes the next shell to delete: one whose Delete failed before, while retry lasts;
// else the oldest idle shell if it has been idle long enough; otherwise it re-arms the reaper.
func (c *Client) takeReapable(retry *int) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *retry > 0 && len(c.undeleted) > 0 {
		*retry--
		id := c.undeleted[0]
		c.undeleted = c.undeleted[1:]
		c.reaped = id
		return id, true
	}
	if len(c.idle) > 0 && time.Since(c.idle[0].since) >= c.cfg.ShellIdle {
		id := c.idle[0].id
		c.idle = c.idle[1:]
		c.reaped = id
		return id, true
	}
	c.scheduleReapLocked()
	return "", false
}

// Close deletes the idle remote shells and closes idle connections, waiting at most a few seconds for the server.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	return c.CloseContext(ctx)
}

// CloseContext is Close with the caller's bound on the time it may take. A run still in flight deletes its shell
// when it ends.
func (c *Client) CloseContext(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.reapTimer != nil {
		c.reapTimer.Stop()
		c.reapTimer = nil
	}
	close(c.done)
	idle := c.idle
	c.idle = nil
	for _, id := range c.undeleted {
		idle = append(idle, idleShell{id: id})
	}
	c.undeleted = nil
	if c.reaped != "" {
		// The reaper may be waiting to try its Delete again: delete it here too, within ctx (a shell the server no
		// longer knows counts as deleted), so that a kill right after Close does not leave it open.
		idle = append(idle, idleShell{id: c.reaped})
	}
	c.mu.Unlock()
	// As many at once as there are connections logged on already: Terraform kills a plugin about two seconds after
	// it asks it to stop, and a shell not deleted by then holds one of the account's shells on the server until its
	// idle timeout. A Delete on a warm connection is one request; on a new one it waits for a TLS handshake and an
	// NTLM logon first, which a busy machine may not finish in time.
	errs := make([]error, len(idle))
	next := make(chan int, len(idle))
	for i := range idle {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range max(1, min(len(idle), c.transport.idleLanes())) {
		wg.Go(func() {
			for i := range next {
				if err := c.deleteShellAtExit(newOpTransport(ctx, c.transport), idle[i].id); err != nil {
					errs[i] = fmt.Errorf("winrm %s: deleting shell %s: %w", c.cfg.Host, idle[i].id, err)
				}
			}
		})
	}
	wg.Wait()
	// A reaper that was deleting a shell it took before (perhaps waiting to try again after a quota fault) is waited
	// for last, within ctx: its wait must not hold up the deletes above, which Terraform's kill would cut short.
	reaped := make(chan struct{})
	go func() { c.reaping.Wait(); close(reaped) }()
	select {
	case <-reaped:
	case <-ctx.Done():
	}
	c.transport.close()
	return errors.Join(errs...)
}
