package remoteaccess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// PurgeBatcher coalesces the device purges of one server into runs of purge-devices/v1: when hundreds of devices
// are blocked at once (a compromised OU), every block would otherwise start a PowerShell of its own on every server
// (about half a second each, and at most max_concurrency_per_server at a time). A purge that arrives while a batch
// is in flight on its server waits for it to end and goes in the next one, with every purge that arrived meanwhile;
// one that finds the server idle waits Window for company. Each caller gets exactly its own device's result or
// error:
//
//   - a device whose purge fails inside the batch gets that failure (a *DeviceFailureError), the others their results;
//   - a batch whose reply was lost after it may have run (winrm.ErrOutcomeUnknown) is that for every device of it,
//     and is never sent again, batched or alone;
//   - a batch that provably never reached the server (refused before its command was sent) is sent again per device,
//     each with purge-device/v1 under its caller's own context.
//
// A look (get-ipsec-sas/v1's listing, for the verify windows of VerifyHub) that arrives while purges wait for the
// next batch of its server rides that batch: the batch lists the server for it after its purges, so that a mass
// incident's polls cost no PowerShell run of their own. A look that finds no purge waiting runs alone at once; a
// look whose batch failed gets the batch's error (a poll that failed, never an empty listing), or runs alone when the
// batch provably never reached the server. The look lengthens its batch's run by one listing, well within the WinRM
// timeout that MaxDevices is sized for.
//
// It is safe for concurrent use; the zero value uses the defaults. One batcher serves the whole process
// (DefaultPurgeBatcher): clusters are built per operation, the WinRM clients they hold live as long as the process.
type PurgeBatcher struct {
	// Window is how long a purge that finds its server idle waits for others before it is sent (default
	// DefaultBatchWindow): far below a PowerShell start, so that a lone block is not delayed noticeably. While
	// purges keep arriving (the blocks of a mass incident, which Terraform starts together but not at once), the
	// batch waits until none has arrived for a Window, at most Gather after its wait began (default
	// DefaultBatchGather): a purge that arrives a moment after a batch left waits for the whole next one, and a wave of
	// blocks split over two batches would stay split for the rest of the incident.
	Window time.Duration
	Gather time.Duration
	// MaxDevices bounds one batch (default DefaultBatchDevices): a lost reply leaves every device of its batch
	// pending, and one run must end well within the WinRM timeout on a real server.
	MaxDevices int
	// MaxInFlight bounds the batches in flight on one server (default DefaultBatchesInFlight): a second starts only
	// when the waiting purges fill a batch. Each holds one of the server's max_concurrency_per_server slots.
	MaxInFlight int
	// Spacing is the least time between the starts of two batches of one server that are not full (default
	// DefaultBatchSpacing; negative: none). Purges that keep coming (a mass incident) would otherwise start a run as
	// soon as the last one ends, so that a server's runs grow with the incident's length; spaced, each run takes more
	// devices. A lone purge is not delayed: the last batch started long before.
	Spacing time.Duration

	mu         sync.Mutex
	queues     map[batchKey]*purgeQueue
	lastStarts map[batchKey]time.Time // kept when a queue is forgotten: the spacing outlives it
}

// The batcher's defaults.
const (
	DefaultBatchWindow     = 50 * time.Millisecond
	DefaultBatchGather     = 250 * time.Millisecond
	DefaultBatchDevices    = 50
	DefaultBatchesInFlight = 2
	// DefaultBatchSpacing is about a PowerShell start and a purge's run on a Remote Access server.
	DefaultBatchSpacing = time.Second
)

// DefaultPurgeBatcher coalesces the purges of every Cluster that has no batcher of its own (Cluster.WithPurgeBatcher).
var DefaultPurgeBatcher = &PurgeBatcher{}

// DeviceFailureError is one device's failure inside a batched purge: its script ran, and went on with the other
// devices of the batch. What it removed before the failure stays removed.
type DeviceFailureError struct {
	Script   string // purge-devices/v1
	Category string // PowerShell's ErrorCategory
	Message  string
	Target   string
}

func (e *DeviceFailureError) Error() string {
	text := e.Script + " failed for this device (" + e.Category
	if e.Target != "" {
		text += " on " + e.Target
	}
	return text + "): " + e.Message
}

// batchKey is one server as one WinRM client reaches it: two provider configurations may name the same server with
// other credentials, and their purges must not share a run.
type batchKey struct {
	server string
	runner Runner
}

type purgeQueue struct {
	waiting  []*purgeRequest
	looks    []*lookRequest // ride the next batch, with the waiting purges
	inFlight int
	timer    *time.Timer // the Window of the first waiting purge, while none is in flight
	// lastArrival is when the last purge joined the queue, and gathering when the timer of the waiting purges was
	// first set: a batch waits while purges keep arriving (Window, Gather).
	lastArrival, gathering time.Time
}

type purgeRequest struct {
	ctx  context.Context
	in   purgeDeviceInput
	done chan purgeReply // buffered: the batch never waits for its caller
}

type lookRequest struct {
	ctx context.Context
	// collect names what to look for (device rules) when the batch is sent: the watchers that joined the poll while
	// it waited are in it.
	collect func() identitiesInput
	done    chan lookReply // buffered
}

type lookReply struct {
	sas IPsecSAs
	err error
	// alone: no batch took the look, or its batch provably never reached the server; the caller looks by itself.
	alone bool
}

type purgeReply struct {
	result PurgeDeviceResult
	err    error
	// alone: the batch provably never reached the server; the caller sends its purge by itself.
	alone bool
}

// purgeDevicesInput and purgeDevicesOutput are purge-devices/v1's documents (scripts/CONTRACT.md).
type (
	purgeDevicesInput struct {
		Devices []purgeDeviceInput `json:"devices"`
		Look    *identitiesInput   `json:"look,omitempty"`
	}
	purgeDevicesOutput struct {
		Devices   []deviceOutput `json:"devices"`
		Look      batchLook      `json:"look"`
		LookError *deviceError   `json:"look_error"`
	}
	deviceOutput struct {
		purgeDeviceOutput
		// Indeterminate shadows the verdict's field (encoding/json takes the shallower one) so that an entry without
		// it, null or empty, is told from a determinate one: malformed, never a purge that found nothing.
		Indeterminate *bool        `json:"indeterminate"`
		Error         *deviceError `json:"error"`
	}
	deviceError struct {
		Category string `json:"category"`
		Message  string `json:"message"`
		Target   string `json:"target"`
	}
)

// batchLook is a batch's listing for its looks. It reads whatever the answer holds there: a listing that does not
// read is its error, which fails the looks and not the batch's devices.
type batchLook struct {
	*IPsecSAs
	err error
}

func (l *batchLook) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var sas IPsecSAs
	if l.err = json.Unmarshal(data, &verdictRequired{out: &sas}); l.err == nil {
		l.IPsecSAs = &sas
	}
	return nil // the looks' failure, not the answer's
}

func (b *PurgeBatcher) window() time.Duration {
	if b.Window > 0 {
		return b.Window
	}
	return DefaultBatchWindow
}

func (b *PurgeBatcher) spacing() time.Duration {
	switch {
	case b.Spacing < 0:
		return 0
	case b.Spacing == 0:
		return DefaultBatchSpacing
	}
	return b.Spacing
}

// untilSpaced is how long a batch of key that is not full must still wait for the spacing. b.mu is held.
func (b *PurgeBatcher) untilSpaced(key batchKey) time.Duration {
	return time.Until(b.lastStarts[key].Add(b.spacing()))
}

func (b *PurgeBatcher) maxDevices() int {
	if b.MaxDevices > 0 {
		return b.MaxDevices
	}
	return DefaultBatchDevices
}

func (b *PurgeBatcher) maxInFlight() int {
	if b.MaxInFlight > 0 {
		return b.MaxInFlight
	}
	return DefaultBatchesInFlight
}

// purge purges one device on one server, in a batch with the other purges of that server.
func (b *PurgeBatcher) purge(ctx context.Context, server string, r Runner, in purgeDeviceInput) (PurgeDeviceResult, error) {
	if !reflect.TypeOf(r).Comparable() {
		return purgeDevice(ctx, r, in) // cannot be told apart from another server's runner: never batched
	}
	key := batchKey{server: server, runner: r}
	req := &purgeRequest{ctx: ctx, in: in, done: make(chan purgeReply, 1)}
	b.enqueue(key, req)
	var reply purgeReply
	select {
	case reply = <-req.done:
	case <-ctx.Done():
		if b.withdraw(key, req) {
			return PurgeDeviceResult{}, fmt.Errorf("purge not sent: %w", ctx.Err())
		}
		// Already sent: the batch's context ends with its last caller's, and then the WinRM client signals the
		// command and says whether it may have run. Wait for that answer rather than guess it.
		reply = <-req.done
	}
	if reply.alone && ctx.Err() == nil {
		return purgeDevice(ctx, r, in)
	}
	return reply.result, reply.err
}

// batchWaiting reports whether purges wait for the next batch of a server, which a look would ride.
func (b *PurgeBatcher) batchWaiting(server string, r Runner) bool {
	if !reflect.TypeOf(r).Comparable() {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[batchKey{server: server, runner: r}]
	return q != nil && len(q.waiting) > 0
}

// look lists the server for a device look (get-ipsec-sas/v1's input with device rules, which collect gives when
// the look is sent): in the next batch of the server when purges wait for one (rode), else by itself at once. A
// value on hurry (a snapshot that cannot wait for a batch) takes a look not sent yet out of its batch and runs it
// alone at once; for a look already sent, the value is put back for the next poll.
func (b *PurgeBatcher) look(ctx context.Context, server string, r Runner, collect func() identitiesInput, hurry chan struct{}) (sas IPsecSAs, rode bool, err error) {
	alone := func() (IPsecSAs, bool, error) {
		sas, err := run[IPsecSAs](ctx, r, scriptGetIPsecSAs, collect())
		return sas, false, err
	}
	if !reflect.TypeOf(r).Comparable() {
		return alone()
	}
	key := batchKey{server: server, runner: r}
	req := &lookRequest{ctx: ctx, collect: collect, done: make(chan lookReply, 1)}
	b.mu.Lock()
	q := b.queues[key]
	if q == nil || len(q.waiting) == 0 {
		b.mu.Unlock()
		return alone()
	}
	q.looks = append(q.looks, req)
	b.mu.Unlock()
	var reply lookReply
	select {
	case reply = <-req.done:
	case <-hurry:
		if b.withdrawLook(key, req) {
			return alone()
		}
		select {
		case hurry <- struct{}{}:
		default:
		}
		reply = <-req.done
	case <-ctx.Done():
		if b.withdrawLook(key, req) {
			return IPsecSAs{}, false, fmt.Errorf("look not sent: %w", ctx.Err())
		}
		reply = <-req.done
	}
	if reply.alone {
		if ctx.Err() != nil {
			return IPsecSAs{}, false, fmt.Errorf("look not sent: %w", ctx.Err())
		}
		return alone()
	}
	return reply.sas, true, reply.err
}

func (b *PurgeBatcher) enqueue(key batchKey, req *purgeRequest) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.queues == nil {
		b.queues = map[batchKey]*purgeQueue{}
	}
	q := b.queues[key]
	if q == nil {
		q = &purgeQueue{}
		b.queues[key] = q
	}
	q.waiting = append(q.waiting, req)
	q.lastArrival = time.Now()
	switch {
	case len(q.waiting) >= b.maxDevices() && q.inFlight < b.maxInFlight():
		b.sendLocked(key, q)
	case q.inFlight == 0 && q.timer == nil:
		b.sendLaterLocked(key, q, max(b.window(), b.untilSpaced(key)))
	}
}

// sendLaterLocked sends the waiting purges after delay, unless they fill a batch first or are all withdrawn. b.mu
// is held.
func (b *PurgeBatcher) sendLaterLocked(key batchKey, q *purgeQueue, delay time.Duration) {
	if q.gathering.IsZero() {
		q.gathering = time.Now()
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if q.timer != t {
			return // the batch was sent before its window ended (it filled)
		}
		q.timer = nil
		if len(q.waiting) == 0 { // every purge of the window was withdrawn
			q.gathering = time.Time{}
			releaseLooksLocked(q)
			b.forgetIfIdleLocked(key, q)
			return
		}
		// Purges still arriving wait for the rest, so that they share one run (Window, Gather).
		if quiet, left := time.Since(q.lastArrival), b.gather()-time.Since(q.gathering); quiet < b.window() && left > 0 {
			b.sendLaterLocked(key, q, min(b.window()-quiet, left))
			return
		}
		b.sendLocked(key, q)
	})
	q.timer = t // before the timer's function can take b.mu, which the caller holds
}

func (b *PurgeBatcher) gather() time.Duration {
	if b.Gather > 0 {
		return b.Gather
	}
	return DefaultBatchGather
}

// withdraw takes a request out of its queue when it has not been sent, and reports whether it did.
func (b *PurgeBatcher) withdraw(key batchKey, req *purgeRequest) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[key]
	if q == nil {
		return false
	}
	for i, w := range q.waiting {
		if w == req {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			if len(q.waiting) == 0 {
				// Nothing is left for the next batch: its window need not end, and its looks run alone now.
				if q.timer != nil {
					q.timer.Stop() // a timer that fired already finds q.timer changed and does nothing
					q.timer = nil
				}
				q.gathering = time.Time{}
				releaseLooksLocked(q)
			}
			b.forgetIfIdleLocked(key, q)
			return true
		}
	}
	return false
}

// withdrawLook takes a look out of its queue when it has not been sent, and reports whether it did.
func (b *PurgeBatcher) withdrawLook(key batchKey, req *lookRequest) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[key]
	if q == nil {
		return false
	}
	if i := slices.Index(q.looks, req); i >= 0 {
		q.looks = slices.Delete(q.looks, i, i+1)
		b.forgetIfIdleLocked(key, q)
		return true
	}
	return false
}

// releaseLooksLocked sends the waiting looks off to look by themselves: no batch will take them. b.mu is held.
func releaseLooksLocked(q *purgeQueue) {
	for _, l := range q.looks {
		l.done <- lookReply{alone: true}
	}
	q.looks = nil
}

// sendLocked starts a batch of the first waiting requests, at most MaxDevices. b.mu is held.
func (b *PurgeBatcher) sendLocked(key batchKey, q *purgeQueue) {
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
	q.gathering = time.Time{}
	if b.lastStarts == nil {
		b.lastStarts = map[batchKey]time.Time{}
	}
	now := time.Now()
	for k, started := range b.lastStarts {
		if now.Sub(started) >= b.spacing() {
			delete(b.lastStarts, k) // spaced enough: as if it never ran
		}
	}
	b.lastStarts[key] = now
	n := min(len(q.waiting), b.maxDevices())
	batch := q.waiting[:n:n]
	q.waiting = append([]*purgeRequest(nil), q.waiting[n:]...)
	looks := q.looks
	q.looks = nil
	q.inFlight++
	go func() {
		b.run(key, batch, looks)
		b.mu.Lock()
		defer b.mu.Unlock()
		q.inFlight--
		// The purges that arrived meanwhile have waited for a whole run already: a full batch goes at once, the
		// rest once the spacing since the last start allows.
		for len(q.waiting) >= b.maxDevices() && q.inFlight < b.maxInFlight() {
			b.sendLocked(key, q)
		}
		if len(q.waiting) > 0 && q.inFlight == 0 && q.timer == nil {
			if wait := b.untilSpaced(key); wait > 0 {
				b.sendLaterLocked(key, q, wait)
			} else {
				b.sendLocked(key, q)
			}
		}
		if len(q.waiting) == 0 {
			releaseLooksLocked(q)
		}
		b.forgetIfIdleLocked(key, q)
	}()
}

func (b *PurgeBatcher) forgetIfIdleLocked(key batchKey, q *purgeQueue) {
	if len(q.waiting) == 0 && len(q.looks) == 0 && q.inFlight == 0 && q.timer == nil && b.queues[key] == q {
		delete(b.queues, key)
	}
}

// run sends one batch and answers each of its requests and looks.
func (b *PurgeBatcher) run(key batchKey, batch []*purgeRequest, looks []*lookRequest) {
	contexts := make([]context.Context, 0, len(batch))
	in := purgeDevicesInput{Devices: make([]purgeDeviceInput, len(batch))}
	for i, req := range batch {
		in.Devices[i] = req.in
		contexts = append(contexts, req.ctx)
	}
	for _, l := range looks {
		in.Look = unionLook(in.Look, l.collect())
	}
	// The looks' contexts do not keep a batch alive: when every purge's caller has gone, the batch is cut short and
	// its looks get that as a failed poll.
	ctx, cancel := batchContext(contexts)
	defer cancel()
	out, err := run[purgeDevicesOutput](ctx, key.runner, scriptPurgeDevices, in)
	if err == nil && len(out.Devices) != len(batch) {
		err = &winrm.Error{Kind: winrm.KindMalformedOutput, Server: key.server, Script: scriptPurgeDevices.Name,
			Err: fmt.Errorf("the answer holds %d devices for the %d sent", len(out.Devices), len(batch))}
	}
	answerLooks(key.server, looks, in.Look != nil, out, err)
	if err != nil {
		reply := purgeReply{err: batchError(err, len(batch)), alone: neverSent(err)}
		for _, req := range batch {
			req.done <- reply
		}
		return
	}
	for i, req := range batch {
		d := out.Devices[i]
		if d.Error != nil {
			req.done <- purgeReply{err: &DeviceFailureError{Script: scriptPurgeDevices.Name, Category: d.Error.Category,
				Message: d.Error.Message, Target: d.Error.Target}}
			continue
		}
		if d.Indeterminate == nil {
			req.done <- purgeReply{err: &winrm.Error{Kind: winrm.KindMalformedOutput, Server: key.server, Script: scriptPurgeDevices.Name,
				Err: fmt.Errorf("the answer for device %d of the batch has no verdict", i+1)}}
			continue
		}
		d.purgeDeviceOutput.Indeterminate = *d.Indeterminate
		result, err := deviceOutcome(d.purgeDeviceOutput)
		req.done <- purgeReply{result: result, err: err}
	}
}

// unionLook adds a look's identities to the batch's look (all device looks: see look); a look with none adds no look.
func unionLook(batch *identitiesInput, l identitiesInput) *identitiesInput {
	if len(l.Identities) == 0 {
		return batch
	}
	if batch == nil {
		batch = &identitiesInput{Device: true}
	}
	for _, id := range l.Identities {
		if !slices.ContainsFunc(batch.Identities, func(have string) bool { return strings.EqualFold(have, id) }) {
			batch.Identities = append(batch.Identities, id)
		}
	}
	return batch
}

// answerLooks gives each look of a batch the batch's listing, or the reason it has none: the batch's error (a
// failed poll, never an empty listing), the look's own error, or, when the batch provably never reached the
// server, the word to look alone.
func answerLooks(server string, looks []*lookRequest, asked bool, out purgeDevicesOutput, err error) {
	var reply lookReply
	switch {
	case !asked:
		// Every look had left its poll (no watcher, no identity) by the time the batch went: no listing was taken.
		reply = lookReply{err: errors.New("nothing to look for: the poll had no watcher when its batch was sent")}
	case err != nil:
		reply = lookReply{err: err, alone: neverSent(err)}
	case out.LookError != nil:
		reply = lookReply{err: &winrm.Error{Kind: winrm.KindScript, Server: server, Script: scriptPurgeDevices.Name,
			Category: out.LookError.Category, Message: "its look failed: " + out.LookError.Message, Target: out.LookError.Target}}
	case out.Look.err != nil || out.Look.IPsecSAs == nil:
		cause := out.Look.err
		if cause == nil {
			cause = errors.New("the answer holds no look for the one asked")
		}
		reply = lookReply{err: &winrm.Error{Kind: winrm.KindMalformedOutput, Server: server, Script: scriptPurgeDevices.Name, Err: cause}}
	default:
		reply = lookReply{sas: *out.Look.IPsecSAs}
	}
	for _, l := range looks {
		l.done <- reply
	}
}

// batchContext carries the first context's values (logging) and ends when every one has ended: a block cancelled
// alone does not cut its neighbours' purge short, the end of the whole apply does.
func batchContext(contexts []context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(contexts[0]))
	var mu sync.Mutex
	live := len(contexts)
	stops := make([]func() bool, len(contexts))
	for i, c := range contexts {
		stops[i] = context.AfterFunc(c, func() {
			mu.Lock()
			defer mu.Unlock()
			if live--; live == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// batchError says, for each device, that its purge failed as part of a batch; errors.Is still finds
// winrm.ErrOutcomeUnknown through it.
func batchError(err error, devices int) error {
	if devices == 1 {
		return err
	}
	return fmt.Errorf("purging a batch of %d devices: %w", devices, err)
}

// neverSent reports whether a failed batch provably never reached the server: the WinRM client refused or could
// not send its command (no connection, the quota fault, a pooled shell the server no longer knows), so no device of
// it was touched and each may be sent again. A script that ran, in part or in full, is never sent again.
func neverSent(err error) bool {
	var e *winrm.Error
	if !errors.As(err, &e) || e.OutcomeUnknown {
		return false
	}
	switch e.Kind {
	case winrm.KindUnreachable, winrm.KindQuota, winrm.KindShell:
		return true
	}
	return false
}
