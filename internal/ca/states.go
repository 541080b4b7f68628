package ca

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// StateReader shares runs of ca-get-certificate-states/v1 among the callers that ask one CA at the same time. A
// refresh checks the certificates of every block that holds some, each block in its own call from Terraform, and one
// run per block would start a PowerShell on the CA for each (hundreds after a mass incident). A call that finds its
// CA idle waits Window for company; one that arrives while a run is in flight goes in the next, with every call that
// arrived meanwhile. Each caller gets the certificates of its own serials; a run's failure is every caller's (a read:
// the next refresh asks again). It is safe for concurrent use; the zero value uses the defaults.
type StateReader struct {
	// Window is how long a call that finds its CA idle waits for others (default DefaultStateWindow).
	Window time.Duration

	mu     sync.Mutex
	queues map[stateKey]*stateQueue
}

// stateKey is one CA as one client reaches it: two provider configurations may name a CA alike through other hosts
// or credentials, and their reads must not share a run.
type stateKey struct {
	config string // lower case: Windows compares config strings without case
	runner Runner
}

// DefaultStateWindow is far below a PowerShell start, so that a lone refresh is not delayed noticeably.
const DefaultStateWindow = 20 * time.Millisecond

// stateRunTimeout bounds one shared run, whatever its callers' deadlines (each caller stops waiting at its own, and
// the last one to give up stops the run).
const stateRunTimeout = 2 * time.Minute

// DefaultStateReader serves the whole process, as the CAs' WinRM clients do.
var DefaultStateReader = &StateReader{}

type stateQueue struct {
	authority *CA
	waiting   []*stateRequest
	inFlight  bool
	timer     *time.Timer
}

type stateRequest struct {
	ctx     context.Context
	serials []string
	done    chan stateReply // buffered: a run never waits for a caller that gave up
	run     *stateRun       // the run it went in, once sent; guarded by StateReader.mu
}

// stateRun is one shared run in flight.
type stateRun struct {
	waiting int // callers still waiting for it; guarded by StateReader.mu
	cancel  context.CancelFunc
	ended   chan struct{} // closed once the run has returned: its command signalled and its shell pooled or deleted
}

type stateReply struct {
	certificates []Certificate
	err          error
}

// States reads the certificates of serials at c, in a run shared with the other callers of the moment.
func (r *StateReader) States(ctx context.Context, c *CA, serials []string) ([]Certificate, error) {
	if len(serials) == 0 || len(serials) > MaxStates {
		return nil, fmt.Errorf("%w: %d serial numbers, want 1 to %d", ErrInvalidArgument, len(serials), MaxStates)
	}
	for _, s := range serials {
		if err := checkSerial(s); err != nil {
			return nil, err // refused here, so that it never fails the others' run
		}
	}
	if !reflect.TypeOf(c.runner).Comparable() {
		return c.States(ctx, serials) // cannot be told apart from another client: never shared
	}
	req := &stateRequest{ctx: ctx, serials: serials, done: make(chan stateReply, 1)}
	r.enqueue(c, req)
	select {
	case reply := <-req.done:
		return reply.certificates, reply.err
	case <-ctx.Done():
		r.leave(req)
		return nil, fmt.Errorf("CA %s: waiting for the certificates' states: %w", c.config, ctx.Err())
	}
}

// leave is a caller giving up. The last caller of a run in flight cancels it and waits for it to end, so that its
// command is stopped and its shell deleted on the CA before the caller returns: Terraform may stop the provider as
// soon as its calls have returned (Ctrl-C), and a run left going would hold a shell there until its idle timeout.
func (r *StateReader) leave(req *stateRequest) {
	r.mu.Lock()
	run := req.run
	last := false
	if run != nil {
		run.waiting--
		last = run.waiting == 0
	}
	r.mu.Unlock()
	if last {
		run.cancel()
		<-run.ended
	}
}

func (r *StateReader) window() time.Duration {
	if r.Window > 0 {
		return r.Window
	}
	return DefaultStateWindow
}

func (r *StateReader) enqueue(c *CA, req *stateRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queues == nil {
		r.queues = map[stateKey]*stateQueue{}
	}
	key := stateKey{config: strings.ToLower(c.config), runner: c.runner}
	q := r.queues[key]
	if q == nil {
		q = &stateQueue{authority: c}
		r.queues[key] = q
	}
	q.waiting = append(q.waiting, req)
	if !q.inFlight && q.timer == nil {
		var t *time.Timer
		t = time.AfterFunc(r.window(), func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if q.timer == t {
				r.sendLocked(key, q)
			}
		})
		q.timer = t
	}
}

// sendLocked runs the waiting requests whose callers still wait, at most MaxStates serials in one run; the rest go
// in the next run, as soon as this one ends.
func (r *StateReader) sendLocked(key stateKey, q *stateQueue) {
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
	var batch []*stateRequest
	var serials []string
	rest := q.waiting[:0:0]
	for _, req := range q.waiting {
		switch {
		case req.ctx.Err() != nil: // the caller gave up: nothing to read for it
		case len(batch) > 0 && len(union(serials, req.serials)) > MaxStates:
			rest = append(rest, req)
		default:
			batch = append(batch, req)
			serials = union(serials, req.serials)
		}
	}
	q.waiting = rest
	if len(batch) == 0 {
		if len(q.waiting) == 0 {
			delete(r.queues, key)
		}
		return
	}
	q.inFlight = true
	authority := q.authority
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), stateRunTimeout)
	run := &stateRun{waiting: len(batch), cancel: cancel, ended: make(chan struct{})}
	for _, req := range batch {
		req.run = run
	}
	go func() {
		certificates, err := authority.States(ctx, serials)
		cancel()
		close(run.ended)
		for _, req := range batch {
			req.done <- stateReply{certificates: of(certificates, req.serials), err: err}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		q.inFlight = false
		if len(q.waiting) > 0 {
			r.sendLocked(key, q) // they have waited for a whole run already
		} else if r.queues[key] == q {
			delete(r.queues, key)
		}
	}()
}

// union adds the serials of more that list does not have yet.
func union(list, more []string) []string {
	out := slices.Clone(list)
	for _, s := range more {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, s) }) {
			out = append(out, s)
		}
	}
	return out
}

// of keeps the certificates whose serial is among serials.
func of(certificates []Certificate, serials []string) []Certificate {
	var out []Certificate
	for _, c := range certificates {
		if slices.ContainsFunc(serials, func(s string) bool { return strings.EqualFold(s, c.Serial) }) {
			out = append(out, c)
		}
	}
	return out
}
