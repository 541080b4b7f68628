package remoteaccess

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// Balancer is what spreads clients over the Remote Access servers.
type Balancer string

// Balancers a drain knows.
const (
	// BalancerNLB is Windows Network Load Balancing: the drain runs Stop-NlbClusterNode -Drain on the node.
	BalancerNLB Balancer = "nlb"
	// BalancerExternal is a balancer managed elsewhere: the administrator takes the node out of its pool; the drain
	// only ends the node's sessions and checks that no new ones arrive.
	BalancerExternal Balancer = "external"
)

// States a drain reports for a node behind an external balancer, whose own state the provider cannot read.
const (
	ExternalServing = "external: serving"
	ExternalDrained = "external: no new sessions"
)

// ErrStillInRotation is wrapped when a node behind an external balancer gets new sessions after its own ended.
var ErrStillInRotation = errors.New("the node still receives new sessions")

// Progress is what a drain or a resume reports at every poll while it waits.
type Progress struct {
	Phase    string // draining, disconnecting, waiting for zero sessions, checking for new sessions, converging
	Sessions int    // sessions left on the node; -1 when the node did not answer
	Elapsed  time.Duration
}

// DrainOptions say how to drain one node.
type DrainOptions struct {
	Balancer Balancer
	// Timeout is how long the node's sessions may end by themselves: NLB's Stop-NlbClusterNode -Drain -Timeout
	// (whole seconds); with an external balancer, how long the drain waits before disconnecting what is left.
	Timeout time.Duration
	// DisconnectSessions purges the node's IPsec SAs and disconnects its VPN connections after that, so that the
	// clients reconnect through other nodes.
	DisconnectSessions bool
	// WaitForZeroSessions waits, bounded by ctx, until the node lists no session.
	WaitForZeroSessions bool
	// Interval is the poll interval of every wait.
	Interval time.Duration
	// QuietWindow is how long a node behind an external balancer must then stay without new sessions
	// (internal/lab/WINDOWS.md, DirectAccess tunnels: purged clients re-establish within seconds, so a node still in
	// the pool shows sessions again soon).
	QuietWindow time.Duration
	// Progress, when set, gets every poll of every wait.
	Progress func(Progress)
}

func (o DrainOptions) validate() error {
	switch {
	case o.Balancer != BalancerNLB && o.Balancer != BalancerExternal:
		return fmt.Errorf("%w: load balancer %q is neither %q nor %q", ErrInvalidArgument, o.Balancer, BalancerNLB, BalancerExternal)
	case o.Timeout < time.Second:
		return fmt.Errorf("%w: drain timeout %s: NLB counts whole seconds, at least one", ErrInvalidArgument, o.Timeout)
	case o.Interval <= 0:
		return fmt.Errorf("%w: poll interval %s must be positive", ErrInvalidArgument, o.Interval)
	}
	return nil
}

// DrainResult is what a drain did, as far as it got.
type DrainResult struct {
	StateBefore, StateAfter string
	// SessionsAtStart and SessionsAtEnd count the node's connections; -1 when they could not be read.
	SessionsAtStart, SessionsAtEnd int
	// OutOfRotation: the balancer sends the node no new sessions (NLB: stopped on every interface; external: none
	// arrived during the quiet window).
	OutOfRotation bool
	// SessionsCleared: the node reached zero sessions, or the drain was not asked to wait for it.
	SessionsCleared bool
	Ended           EndedSessions
	DrainedAt       time.Time
}

// Complete reports a drain that needs no further apply.
func (r DrainResult) Complete() bool { return r.OutOfRotation && r.SessionsCleared }

// EndedSessions counts what ending a node's sessions removed.
type EndedSessions struct {
	MainModeSAs, QuickModeSAs, VPNConnections int
}

// runner returns one server's runner.
func (c *Cluster) runner(server string) (Runner, error) {
	r, ok := c.servers[server]
	if !ok {
		return nil, fmt.Errorf("%w: %q is not one of the servers %s", ErrInvalidArgument, server, strings.Join(c.Servers(), ", "))
	}
	return r, nil
}

// Sessions lists the connections one server carries (Get-RemoteAccessConnectionStatistics).
func (c *Cluster) Sessions(ctx context.Context, server string) ([]Connection, error) {
	r, err := c.runner(server)
	if err != nil {
		return nil, err
	}
	return getConnections(ctx, r, ConnectionFilter{})
}

// LocalStatus returns the NLB node objects of the server itself.
func (c *Cluster) LocalStatus(ctx context.Context, server string) (NodeStatus, error) {
	r, err := c.runner(server)
	if err != nil {
		return NodeStatus{}, err
	}
	nodes, err := GetNodes(ctx, r)
	if err != nil {
		return NodeStatus{}, err
	}
	var status NodeStatus
	for _, n := range nodes {
		if n.IsLocal {
			status.Name = n.Name
			status.Interfaces = append(status.Interfaces, n)
		}
	}
	if len(status.Interfaces) == 0 {
		return status, fmt.Errorf("server %s reports no NLB node of its own", server)
	}
	return status, nil
}

// EndSessions ends every session of one server: it purges each main-mode SA (its quick-mode SAs first) through the
// exact identities the SAs present, then disconnects each VPN connection by the tunnel address the server assigned
// (Disconnect-VpnUser -HostIPAddress, exactly one connection each). Clients whose accounts are valid reconnect
// within seconds (internal/lab/WINDOWS.md, DirectAccess tunnels), through whichever nodes the balancer sends them to.
func (c *Cluster) EndSessions(ctx context.Context, server string) (EndedSessions, error) {
	var ended EndedSessions
	r, err := c.runner(server)
	if err != nil {
		return ended, err
	}
	sas, err := GetIPsecSAs(ctx, r, nil)
	if err != nil {
		return ended, fmt.Errorf("listing the IPsec SAs of %s: %w", server, err)
	}
	var identities []string
	for _, sa := range sas.MainMode {
		for _, id := range []string{sa.RemoteFirstID, sa.RemoteSecondID} {
			if requiredName("identity", id) == nil && !slices.ContainsFunc(identities, func(s string) bool { return strings.EqualFold(s, id) }) {
				identities = append(identities, id)
			}
		}
	}
	if len(identities) > 0 {
		purged, err := PurgeDevice(ctx, r, identities, "", false)
		if err != nil {
			return ended, fmt.Errorf("purging the IPsec SAs of %s: %w", server, err)
		}
		ended.MainModeSAs, ended.QuickModeSAs = purged.MainModeRemoved, purged.QuickModeRemoved
	}
	conns, err := getConnections(ctx, r, ConnectionFilter{})
	if err != nil {
		return ended, fmt.Errorf("listing the VPN connections of %s: %w", server, err)
	}
	for _, conn := range conns {
		if !strings.EqualFold(conn.ConnectionType, "Vpn") || conn.ClientIPAddress == "" {
			continue
		}
		done, err := DisconnectVPN(ctx, r, ByHostIP(conn.ClientIPAddress))
		if err != nil {
			return ended, fmt.Errorf("disconnecting the VPN connection %s on %s: %w", conn.ClientIPAddress, server, err)
		}
		ended.VPNConnections += len(done)
	}
	return ended, nil
}

// Drain takes node, which is server, out of rotation and ends its sessions (see DrainOptions). The result says how
// far it got, also when it fails or ctx ends (Ctrl-C, timeouts): what it did is never lost, and draining again
// completes it.
func (c *Cluster) Drain(ctx context.Context, server, node string, opts DrainOptions) (DrainResult, error) {
	res := DrainResult{SessionsAtStart: -1, SessionsAtEnd: -1}
	if err := errors.Join(opts.validate(), requiredName("node", node)); err != nil {
		return res, err
	}
	if _, err := c.runner(server); err != nil {
		return res, err
	}
	w := waiter{c: c, server: server, opts: opts, start: time.Now()}
	var err error
	if res.SessionsAtStart, err = w.count(ctx); err != nil {
		return res, fmt.Errorf("counting the sessions of %s: %w", node, err)
	}
	res.SessionsAtEnd = res.SessionsAtStart
	if opts.Balancer == BalancerNLB {
		err = c.drainNLB(ctx, &w, node, &res)
	} else {
		err = c.drainExternal(ctx, &w, &res)
	}
	if err != nil {
		return res, err
	}
	if opts.DisconnectSessions && res.SessionsAtEnd != 0 {
		w.report("disconnecting", res.SessionsAtEnd)
		if res.Ended, err = c.EndSessions(ctx, server); err != nil {
			return res, err
		}
	}
	res.SessionsCleared = !opts.WaitForZeroSessions
	if opts.WaitForZeroSessions {
		waitCtx, cancel := ctx, context.CancelFunc(func() {})
		if opts.Balancer == BalancerExternal && opts.QuietWindow > 0 {
			// Behind an external balancer, sessions that keep coming back after they were ended mean the balancer
			// still sends the node clients: they get the quiet window to go, not the whole timeout.
			waitCtx, cancel = context.WithTimeout(ctx, opts.QuietWindow)
		}
		res.SessionsAtEnd, err = w.until(waitCtx, "waiting for zero sessions", func(n int) bool { return n == 0 })
		cancel()
		if err != nil && ctx.Err() == nil && opts.Balancer == BalancerExternal {
			return res, fmt.Errorf("%w: %s still had %d session(s) %s after they were ended: take it out of the external "+
				"balancer's pool, then apply again", ErrStillInRotation, node, res.SessionsAtEnd, opts.QuietWindow)
		}
		if err != nil {
			return res, fmt.Errorf("%s still has %d session(s): %w", node, res.SessionsAtEnd, err)
		}
		res.SessionsCleared = true
	} else if n, err := w.count(ctx); err == nil {
		res.SessionsAtEnd = n
	}
	if opts.Balancer == BalancerExternal {
		if err := c.checkQuiet(ctx, &w, node, &res); err != nil {
			return res, err
		}
	}
	res.DrainedAt = time.Now().UTC()
	return res, nil
}

// ErrDrainNotSent is wrapped by a drain refused before its command was sent: the node was not touched.
var ErrDrainNotSent = errors.New("the drain was not sent")

// drainNLB runs the drain on the node itself and waits for every interface to stop.
func (c *Cluster) drainNLB(ctx context.Context, w *waiter, node string, res *DrainResult) error {
	status, err := c.LocalStatus(ctx, w.server)
	if err != nil {
		return fmt.Errorf("reading the NLB state of %s: %w", node, err)
	}
	res.StateBefore, res.StateAfter = status.State(), status.State()
	if !status.Drained() {
		budget := DrainDeadline(w.opts.Timeout, len(status.Interfaces))
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < budget {
			return fmt.Errorf("%w: %w: draining %s may take %s (drain timeout per interface and a margin) but only %s is "+
				"left: raise the create timeout", ErrDrainNotSent, ErrInvalidArgument, node, budget, time.Until(deadline).Truncate(time.Second))
		}
		drainCtx, cancel := context.WithTimeout(ctx, budget)
		defer cancel()
		stop := w.watch(drainCtx, "draining")
		// The command waits for the drain, longer than winrm.timeout allows an ordinary operation.
		nodes, err := DrainNode(winrm.WithOperationTimeout(drainCtx, budget), c.servers[w.server], status.Name, w.opts.Timeout)
		stop()
		switch {
		case isOutcomeUnknown(err):
			// Never sent again: the node's state says whether the drain took effect, and the wait below ends it.
			status, err = c.lookAtNode(ctx, w.server, node, err, drainStarted, "the drain did not take effect; apply again")
			res.StateAfter = status.State()
			if err != nil {
				return fmt.Errorf("draining %s: %w", node, err)
			}
		case err != nil:
			return fmt.Errorf("draining %s: %w", node, err)
		default:
			status = NodeStatus{Name: status.Name, Interfaces: nodes}
			res.StateAfter = status.State()
		}
	}
	// The cmdlet is documented to wait for the drain; should a node object still be draining, wait for it here.
	for !status.Drained() {
		if !sleep(ctx, w.opts.Interval) {
			return fmt.Errorf("%s is still %s: %w", node, status.State(), ctx.Err())
		}
		if status, err = c.LocalStatus(ctx, w.server); err != nil {
			return fmt.Errorf("reading the NLB state of %s: %w", node, err)
		}
		res.StateAfter = status.State()
	}
	res.OutOfRotation = true
	if res.SessionsAtEnd, err = w.count(ctx); err != nil {
		return fmt.Errorf("counting the sessions of %s: %w", node, err)
	}
	return nil
}

// drainExternal gives the node's sessions the drain timeout to end by themselves: the administrator has taken the
// node out of the external balancer's pool, so clients that leave come back elsewhere.
func (c *Cluster) drainExternal(ctx context.Context, w *waiter, res *DrainResult) error {
	res.StateBefore, res.StateAfter = ExternalServing, ExternalServing
	window, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	n, err := w.until(window, "draining", func(n int) bool { return n == 0 })
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if n >= 0 {
		res.SessionsAtEnd = n
	}
	if err != nil && window.Err() == nil {
		return err
	}
	return nil
}

// checkQuiet watches a node behind an external balancer for the quiet window once its sessions are gone: any new
// session means the balancer still sends it clients.
func (c *Cluster) checkQuiet(ctx context.Context, w *waiter, node string, res *DrainResult) error {
	if res.SessionsAtEnd != 0 || w.opts.QuietWindow <= 0 {
		return nil // with sessions left, or no window, new ones cannot be told apart: nothing to check
	}
	window, cancel := context.WithTimeout(ctx, w.opts.QuietWindow)
	defer cancel()
	n, err := w.until(window, "checking for new sessions", func(n int) bool { return n > 0 })
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if n > 0 {
		res.SessionsAtEnd = n
		return fmt.Errorf("%w: %d session(s) arrived on %s within %s of ending them: take it out of the external "+
			"balancer's pool, then apply again", ErrStillInRotation, n, node, w.opts.QuietWindow)
	}
	if err != nil && window.Err() == nil {
		return err
	}
	res.OutOfRotation, res.StateAfter = true, ExternalDrained
	return nil
}

// Resume brings node, which is server, back into NLB rotation and waits until every interface converged.
func (c *Cluster) Resume(ctx context.Context, server, node string, interval time.Duration, progress func(Progress)) (NodeStatus, error) {
	r, err := c.runner(server)
	if err != nil {
		return NodeStatus{}, err
	}
	if interval <= 0 {
		return NodeStatus{}, fmt.Errorf("%w: poll interval %s must be positive", ErrInvalidArgument, interval)
	}
	nodes, err := ResumeNode(ctx, r, node)
	status := NodeStatus{Name: node, Interfaces: nodes}
	if isOutcomeUnknown(err) {
		// Never sent again: the node's state says whether the resume took effect, and the wait below ends it.
		status, err = c.lookAtNode(ctx, server, node, err, resumeStarted, "the resume did not take effect; apply again")
	}
	if err != nil {
		return status, fmt.Errorf("resuming %s: %w", node, err)
	}
	start := time.Now()
	for !status.InRotation() {
		if progress != nil {
			progress(Progress{Phase: "converging", Sessions: -1, Elapsed: time.Since(start)})
		}
		if !sleep(ctx, interval) {
			return status, fmt.Errorf("%s is %s, not converged yet: %w", node, status.State(), ctx.Err())
		}
		if status, err = c.LocalStatus(ctx, server); err != nil {
			return status, fmt.Errorf("reading the NLB state of %s: %w", node, err)
		}
	}
	return status, nil
}

// waiter polls one server's session count and reports progress.
type waiter struct {
	c      *Cluster
	server string
	opts   DrainOptions
	start  time.Time
}

func (w *waiter) count(ctx context.Context) (int, error) {
	conns, err := w.c.Sessions(ctx, w.server)
	if err != nil {
		return -1, err
	}
	return len(conns), nil
}

func (w *waiter) report(phase string, sessions int) {
	if w.opts.Progress != nil {
		w.opts.Progress(Progress{Phase: phase, Sessions: sessions, Elapsed: time.Since(w.start)})
	}
}

// until polls every interval until done(count) or ctx ends, reporting each poll; it returns the last count (-1 if
// none was read) and, when ctx ended first, its error joined with the last poll's.
func (w *waiter) until(ctx context.Context, phase string, done func(int) bool) (int, error) {
	last := -1
	for {
		n, err := w.count(ctx)
		if err == nil {
			last = n
			w.report(phase, n)
			if done(n) {
				return n, nil
			}
		}
		if !sleep(ctx, w.opts.Interval) {
			return last, errors.Join(ctx.Err(), err)
		}
	}
}

// watch reports the session count every interval until the returned stop is called, while a long command runs.
func (w *waiter) watch(ctx context.Context, phase string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sleep(ctx, w.opts.Interval) {
			n, err := w.count(ctx)
			if err != nil {
				n = -1
			}
			if ctx.Err() == nil {
				w.report(phase, n)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// drainStarted reports a node that takes no new connections on any interface: draining or out.
func drainStarted(n NodeStatus) bool {
	return len(n.Interfaces) > 0 && !slices.ContainsFunc(n.Interfaces, func(i Node) bool { return !i.State.Draining() && !i.State.Out() })
}

// resumeStarted reports a node that is no longer out on any interface: converging or converged.
func resumeStarted(n NodeStatus) bool {
	return len(n.Interfaces) > 0 && !slices.ContainsFunc(n.Interfaces, func(i Node) bool { return i.State.Out() })
}
