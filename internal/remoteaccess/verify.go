package remoteaccess

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// VerifyHub shares the polls of verify windows: every block in flight on a server is checked by at most one
// PowerShell run per server per interval, whatever the number of blocks, and by none while the server's purge
// batches carry the polls (PurgeBatcher.look) (internal/lab/WINDOWS.md, DirectAccess tunnels: a purged client whose account still works
// re-establishes its SAs within seconds, so a window watches the servers for a while after the purge). The
// plan-time previews of new blocks (Snapshot) share the same polls. It is safe for concurrent use; one hub serves
// the whole provider.
type VerifyHub struct {
	// Interval is the time between two polls of a server.
	Interval time.Duration
	// PollTimeout bounds one poll; Interval*10 (at least 30 s) when zero.
	PollTimeout time.Duration
	// OnPoll, when set, is called after each poll of a server with the number of blocks it checked and its error.
	OnPoll func(server string, blocks int, err error)

	mu      sync.Mutex
	pollers map[string]*poller
}

// ServerVerdict is what a verify window saw on one server.
type ServerVerdict struct {
	// Polls counts the polls that completed on the server after the window opened.
	Polls int
	// Returned lists the main-mode SAs of the watched target seen at any completed poll.
	Returned []MainModeSA
	// ReturnedTunnels lists the Always On VPN device tunnels of a watched device that started after the window
	// opened: they authenticate with the device's certificate, which disabling the account does not stop. For a
	// user, the user's VPN connections that started after the window opened.
	ReturnedTunnels []VPNConnection
	// CannotTell is the server's reason, when a poll could not tell whether the target has sessions there.
	CannotTell string
	// Err is the last poll's error, when the last poll failed: the server is not verified then, whatever the polls
	// before it showed.
	Err error
	// Overdue is set when, at the end of the window and of the wait after it, the server's last answer was older
	// than a poll's cycle: its polls since then hung or failed, so the target may have come back there unseen.
	Overdue bool
}

// Verified reports whether the server was asked at least once and showed nothing, with certainty, and whether its
// last poll answered: a server that stopped answering during the window may have let the target back in unseen.
func (v ServerVerdict) Verified() bool {
	return v.Polls > 0 && v.Err == nil && !v.Overdue && len(v.Returned) == 0 && len(v.ReturnedTunnels) == 0 && v.CannotTell == ""
}

// lingerAllowance is how much older than the window a VPN statistics row may be and still be taken for one that
// outlived its disconnect: Get-RemoteAccessConnectionStatistics keeps rows for a while after Disconnect-VpnUser
// (administrators report it; Microsoft's pages are silent), with their original start time. A row that started
// less long before the window is counted as returned: with servers' clocks off by seconds, failing safe.
const lingerAllowance = 2 * time.Minute

type poller struct {
	server string
	runner Runner
	purges *PurgeBatcher // a device poll rides the server's next purge batch when one is about to go
	device bool          // device rules (GetDeviceSAs) or user rules; never mixed in one poll
	stop   context.CancelFunc
	ended  chan struct{} // closed when run has returned, its last command signalled and its shell released

	// wake cuts the pause between two polls short: a snapshot is waiting for the next one.
	wake chan struct{}

	mu       sync.Mutex
	watchers map[*watcher]struct{}
}

type watcher struct {
	identities []string
	device     bool
	vpnOnly    bool // counts the user's VPN connections only (WatchVPN)
	opened     time.Time
	// snapshot watchers want one poll, failed or not, as soon as possible; the others watch a window.
	snapshot bool
	mu       sync.Mutex
	verdict  ServerVerdict
	last     IPsecSAs      // what the last completed poll showed of the target (snapshots)
	polled   chan struct{} // closed after the first completed poll, or for a snapshot the first poll at all
	once     sync.Once
	// lastAnswer is when the last poll that answered did, and lastTook how long it took from when it was sent.
	lastAnswer time.Time
	lastTook   time.Duration
	// recorded, when set, is told (without blocking) after every poll recorded: the end of a window waits on it.
	recorded chan<- struct{}
}

// answeredLately reports whether w's server has answered lately: a poll answered, none failed after it, and the next
// poll is not overdue. A server answers every pause and poll's time (the poller pauses after each answer); its next
// answer is overdue when twice the last poll's time has passed after the pause, the poll hung or failed then. A
// server whose polls are slow is watched at its own pace: what a poll lists is what the server had at some time
// between when it was sent and its answer.
func (w *watcher) answeredLately(pause time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.verdict.Polls > 0 && w.verdict.Err == nil && time.Since(w.lastAnswer) <= pause+2*w.lastTook
}

// Watch watches a target (a device's identities with device set, else a user's) on every server of c for at least
// window, and longer until every server has answered lately (watcher.answeredLately), one more poll has had its time,
// or ctx ends. The verdicts say per server what was seen; a server with no completed poll has Polls == 0 and the last
// error, and one that stopped answering is Overdue or has its error.
func (h *VerifyHub) Watch(ctx context.Context, c *Cluster, identities []string, device bool, window time.Duration) (map[string]ServerVerdict, error) {
	return h.watch(ctx, c, identities, device, false, window)
}

// WatchVPN is Watch for a user's VPN connections alone: the verify window of a block that denies dial-in and leaves
// the account enabled, which stops VPN (NPS checks msNPAllowDialin at each connection) and nothing else. A
// connection that started after the window opened is in ReturnedTunnels; the user's DirectAccess SAs, which such a
// block does not stop, are not counted.
func (h *VerifyHub) WatchVPN(ctx context.Context, c *Cluster, identities []string, window time.Duration) (map[string]ServerVerdict, error) {
	return h.watch(ctx, c, identities, false, true, window)
}

func (h *VerifyHub) watch(ctx context.Context, c *Cluster, identities []string, device, vpnOnly bool, window time.Duration) (map[string]ServerVerdict, error) {
	if _, err := newIdentitiesInput(identities, true); err != nil {
		return nil, err
	}
	watchers := map[string]*watcher{}
	recorded := make(chan struct{}, 1)
	opened := time.Now()
	for _, server := range c.Servers() {
		w := &watcher{identities: identities, device: device, vpnOnly: vpnOnly, opened: opened, polled: make(chan struct{}),
			recorded: recorded}
		watchers[server] = w
		h.join(server, c, w)
	}
	defer h.leaveAll(watchers)

	lately := map[string]bool{} // the servers that answered lately once the window was over
	timer := time.NewTimer(window)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
		// The window is over; wait for the servers that have not answered lately (never polled, or their last poll
		// failed or is overdue: it hangs), for at most one more poll: a server that fails or hangs from there on is
		// reported as unverified then, not watched until the caller's own timeout: a server that answered early in
		// the window and then stopped cannot vouch for its end. A server that answered lately once is not held to it
		// again: a later poll's error, made while another server is waited for, does not count against it; what its
		// later polls saw still does.
		grace := time.NewTimer(h.pollTimeout() + h.interval())
		defer grace.Stop()
	wait:
		for {
			waiting := false
			for server, w := range watchers {
				if !lately[server] {
					lately[server] = w.answeredLately(h.interval())
					waiting = waiting || !lately[server]
				}
			}
			if !waiting {
				break
			}
			select {
			case <-recorded: // another poll recorded: look at every server again
			case <-grace.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
	}
	verdicts := map[string]ServerVerdict{}
	for server, w := range watchers {
		lately[server] = lately[server] || w.answeredLately(h.interval())
		w.mu.Lock()
		v := w.verdict
		w.mu.Unlock()
		if lately[server] {
			v.Err = nil
		}
		v.Overdue = !lately[server] && v.Polls > 0 && v.Err == nil
		verdicts[server] = v
	}
	return verdicts, nil
}

// Snapshot asks every server of c once for the target's SAs and VPN connections (a device's identities with device
// set, else a user's), in the next poll of the server, which it starts at once when none is running: snapshots and
// verify windows that overlap share one PowerShell run per server, so a plan of many new blocks costs a few runs
// per server, not one per block. Servers whose poll failed, or had not ended when ctx did, are missing from the
// result and named by a *ServerError in the error.
func (h *VerifyHub) Snapshot(ctx context.Context, c *Cluster, identities []string, device bool) (map[string]IPsecSAs, error) {
	if _, err := newIdentitiesInput(identities, true); err != nil {
		return nil, err
	}
	watchers := map[string]*watcher{}
	for _, server := range c.Servers() {
		w := &watcher{identities: identities, device: device, opened: time.Now(), snapshot: true, polled: make(chan struct{})}
		watchers[server] = w
		h.join(server, c, w)
	}
	defer h.leaveAll(watchers)
	results := map[string]IPsecSAs{}
	var failures []error
	for _, server := range c.Servers() {
		w := watchers[server]
		select {
		case <-w.polled:
		case <-ctx.Done():
		}
		w.mu.Lock()
		switch {
		case w.verdict.Polls > 0:
			results[server] = w.last
		case w.verdict.Err != nil:
			failures = append(failures, &ServerError{Server: server, Err: w.verdict.Err})
		default:
			failures = append(failures, &ServerError{Server: server, Err: fmt.Errorf("no answer: %w", ctx.Err())})
		}
		w.mu.Unlock()
	}
	return results, errors.Join(failures...)
}

func (h *VerifyHub) interval() time.Duration {
	if h.Interval <= 0 {
		return time.Second
	}
	return h.Interval
}

func (h *VerifyHub) pollTimeout() time.Duration {
	if h.PollTimeout > 0 {
		return h.PollTimeout
	}
	return max(30*time.Second, 10*h.interval())
}

// join adds w to the poller of c's server, starting the poller when it is the first watcher.
func (h *VerifyHub) join(server string, c *Cluster, w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pollers == nil {
		h.pollers = map[string]*poller{}
	}
	key := pollerKey(server, w.device)
	p := h.pollers[key]
	if p == nil {
		// The first watcher is in the first poll, which starts at once: no wake, which would ask a second.
		p = &poller{server: server, runner: c.servers[server], purges: c.purgeBatcher(), device: w.device,
			wake: make(chan struct{}, 1), watchers: map[*watcher]struct{}{w: {}}, ended: make(chan struct{})}
		h.pollers[key] = p
		ctx, cancel := context.WithCancel(context.Background())
		p.stop = cancel
		go func() {
			defer close(p.ended)
			h.run(ctx, p)
		}()
		return
	}
	p.mu.Lock()
	p.watchers[w] = struct{}{}
	p.mu.Unlock()
	if w.snapshot {
		select {
		case p.wake <- struct{}{}:
		default: // a wake is pending already
		}
	}
}

// leaveAll removes the watchers (by server); the last watcher to leave a poller stops it. It returns once those
// pollers have ended, so that a poll cut short (a block cancelled by Ctrl-C) has signalled its command on the
// server before the block returns: Terraform may stop the provider as soon as it has.
func (h *VerifyHub) leaveAll(watchers map[string]*watcher) {
	var stopped []*poller
	h.mu.Lock()
	for server, w := range watchers {
		key := pollerKey(server, w.device)
		p := h.pollers[key]
		if p == nil {
			continue
		}
		p.mu.Lock()
		delete(p.watchers, w)
		empty := len(p.watchers) == 0
		p.mu.Unlock()
		if empty {
			p.stop()
			delete(h.pollers, key)
			stopped = append(stopped, p)
		}
	}
	h.mu.Unlock()
	for _, p := range stopped {
		<-p.ended
	}
}

// pollerKey separates the device and the user polls of a server: the device rules group SAs by endpoint, which
// would pull a device's tunnel into a user's verdict (GetDeviceSAs).
func pollerKey(server string, device bool) string {
	if device {
		return "device:" + server
	}
	return "user:" + server
}

// run polls one server every interval while it has watchers, and at once after the running poll when a snapshot is
// waiting. A poll counts for the watchers that were registered when it started, so that it looks at the server
// after their purge. A verify window's device poll rides the server's next purge batch when purges wait for one
// (poll), which lists the server after them: in a mass incident those polls cost no run of their own, and while
// purges keep waiting the next poll rides the next batch without a pause.
func (h *VerifyHub) run(ctx context.Context, p *poller) {
	for {
		select {
		case <-p.wake: // the watchers registered by now are in this poll
		default:
		}
		// The poll is for the watchers registered when it is sent: a poll that rides a batch takes those that
		// joined while it waited for the batch too.
		var watchers []*watcher
		var sent time.Time
		collect := func() identitiesInput {
			var ids []string
			watchers, ids = p.current()
			sent = time.Now()
			return identitiesInput{Identities: ids, Device: p.device}
		}
		pollCtx, cancel := context.WithTimeout(ctx, h.pollTimeout())
		sas, rode, err := p.poll(pollCtx, collect)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if watchers == nil && err != nil {
			watchers, _ = p.current() // a poll that failed before it was sent (its batch never went) fails for them all
		}
		if h.OnPoll != nil {
			h.OnPoll(p.server, len(watchers), err)
		}
		for _, w := range watchers {
			w.record(sas, err, sent)
		}
		if rode && p.purges.batchWaiting(p.server, p.runner) {
			continue // a poll that rides a batch costs no run of its own: the next one rides the next batch at once
		}
		if !sleepOrWake(ctx, h.interval(), p.wake) { // a snapshot waiting cuts the pause short
			return
		}
	}
}

// current lists the watchers and the union of their identities.
func (p *poller) current() ([]*watcher, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	watchers := make([]*watcher, 0, len(p.watchers))
	union := map[string]bool{}
	var ids []string
	for w := range p.watchers {
		watchers = append(watchers, w)
		for _, id := range w.identities {
			if key := strings.ToLower(id); !union[key] {
				union[key] = true
				ids = append(ids, id)
			}
		}
	}
	return watchers, ids
}

// poll lists the server for the watchers collect names when the poll is sent. A poll that a snapshot waits for runs
// at once: a snapshot (an impact preview, the look after the domain controllers' read-back) is on a plan's or a
// block's critical path, and riding waits for the batch in flight and then the next one. The others, which only
// verify windows wait for, ride the server's next purge batch when purges wait for one (rode).
func (p *poller) poll(ctx context.Context, collect func() identitiesInput) (sas IPsecSAs, rode bool, err error) {
	p.mu.Lock()
	snapshot := false
	for w := range p.watchers {
		snapshot = snapshot || w.snapshot
	}
	p.mu.Unlock()
	if snapshot || !p.device {
		sas, err = run[IPsecSAs](ctx, p.runner, scriptGetIPsecSAs, collect())
		return sas, false, err
	}
	return p.purges.look(ctx, p.server, p.runner, collect, p.wake)
}

func (w *watcher) record(sas IPsecSAs, err error, sent time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		defer w.tellRecorded()
		w.verdict.Err = fmt.Errorf("polling for returned SAs: %w", err)
		if w.snapshot {
			w.once.Do(func() { close(w.polled) })
		}
		return
	}
	mine := sas.For(w.identities, w.device)
	w.last = mine
	w.verdict.Err = nil
	w.verdict.Polls++
	w.lastAnswer, w.lastTook = time.Now(), time.Since(sent)
	defer w.tellRecorded()
	// A device's tunnels (its users' VPN connections are theirs), or a user's VPN connections: the purge ended
	// them, and a blocked user cannot make new ones.
	watched := mine.DeviceTunnels()
	if !w.device {
		watched = mine.VPNConnections
	}
	if !w.vpnOnly { // an unreadable SA says nothing of VPN connections: WatchVPN has no CannotTell
		w.verdict.Returned = append(w.verdict.Returned, mine.MainMode...)
		if mine.Indeterminate {
			w.verdict.CannotTell = mine.IndeterminateReason
		}
	}
	for _, tunnel := range watched {
		if started, err := time.Parse(time.RFC3339, tunnel.ConnectionStartTime); err == nil && started.Before(w.opened.Add(-lingerAllowance)) {
			continue // a statistics row that outlived its disconnect
		}
		w.verdict.ReturnedTunnels = append(w.verdict.ReturnedTunnels, tunnel)
	}
	w.once.Do(func() { close(w.polled) })
}

// tellRecorded tells the watch, if it waits, that a poll was recorded.
func (w *watcher) tellRecorded() {
	if w.recorded == nil {
		return
	}
	select {
	case w.recorded <- struct{}{}:
	default: // the watch has a wake-up pending already
	}
}

// ServerErrors lists the per-server failures inside an error returned by FanOut or a Cluster method.
func ServerErrors(err error) []*ServerError { return serverErrors(err) }
