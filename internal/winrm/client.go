// Package winrm runs the provider's PowerShell scripts on Windows servers over WinRM: one client per server
// with a concurrency limit, reused remote shells that are deleted once idle, a deadline on every call, retries of
// transient faults, JSON in on stdin and JSON out on stdout, CLIXML decoding and typed errors. It knows nothing
// of Terraform. The SOAP messages are masterzen/winrm's; this package sends them (transport.go).
package winrm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	neturl "net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/masterzen/winrm"
)

const (
	// operationTimeout is the WS-Management OperationTimeout: how long the server may hold a Receive open.
	operationTimeout = 20 * time.Second
	// envelopeSize is the MaxEnvelopeSize announced to the server, the library's default.
	envelopeSize = 153600
	// stdinChunk keeps one Send envelope (base64 grows data by 4/3) under envelopeSize.
	stdinChunk = (envelopeSize - 8192) * 3 / 4
	// cleanupTimeout bounds the Signal and Delete sent after an operation was cancelled.
	cleanupTimeout = 5 * time.Second
)

// Stats counts what a client has sent, for tests that check round trips.
type Stats struct {
	HTTPRequests  int64 // every HTTP request, authentication legs included
	ShellsOpened  int64
	ShellsReused  int64
	ShellsDeleted int64 // Delete requests the server answered
	Commands      int64
	Retries       int64
}

// Client runs scripts on one server. It is safe for concurrent use.
type Client struct {
	cfg       Config
	params    *winrm.Parameters // never the shared winrm.DefaultParameters
	transport *httpTransport
	slots     chan struct{} // one per run in flight, and per shell being reaped: see pool.go

	mu        sync.Mutex
	idle      []idleShell // oldest first
	closed    bool
	done      chan struct{} // closed by Close
	reapTimer *time.Timer
	reaping   sync.WaitGroup
	reaped    string   // the shell the reaper is deleting: Close deletes it too, within its own bound
	undeleted []string // shells whose Delete failed (deleteLater): the reaper's next pass and Close try them again

	shellsOpened, shellsReused, shellsDeleted, commands, retries atomic.Int64
}

// NewClient checks cfg and prepares the client; it does not connect.
func NewClient(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	url := (&neturl.URL{Scheme: "http", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), Path: "/wsman"})
	if cfg.HTTPS {
		url.Scheme = "https"
	}
	transport, err := newHTTPTransport(cfg, url.String(), operationTimeout+15*time.Second)
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg:       cfg,
		params:    winrm.NewParameters(formatDuration(operationTimeout), "en-US", envelopeSize),
		transport: transport,
		slots:     make(chan struct{}, cfg.MaxConcurrency),
		done:      make(chan struct{}),
	}, nil
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		HTTPRequests:  c.transport.requests.Load(),
		ShellsOpened:  c.shellsOpened.Load(),
		ShellsReused:  c.shellsReused.Load(),
		ShellsDeleted: c.shellsDeleted.Load(),
		Commands:      c.commands.Load(),
		Retries:       c.retries.Load(),
	}
}

// Run runs script s with input as its JSON document and decodes the "result" of its output into output
// (which may be nil). Every failure is an *Error.
func (c *Client) Run(ctx context.Context, s Script, input, output any) error {
	// Config.Timeout bounds every operation, also under a caller's longer deadline (a resource's create timeout):
	// otherwise a hung command would hold the whole resource instead of failing at winrm.timeout.
	timeout := c.cfg.Timeout
	if d, ok := ctx.Value(operationTimeoutKey{}).(time.Duration); ok && d > 0 {
		timeout = d
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	payload, err := stdinPayload(s, input)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		res, sent, err := c.attempt(ctx, payload)
		if err == nil {
			return c.decode(s, res, output)
		}
		e := classify(ctx, err)
		e.Server, e.Script = c.cfg.Host, s.Name
		e.OutcomeUnknown = sent && !s.ReadOnly
		if !c.retryable(e, attempt) {
			return e
		}
		if !c.sleep(ctx, c.backoff(attempt)) {
			return e // the next attempt would start after the deadline
		}
		c.retries.Add(1)
	}
}

// retryable says whether the run that failed with e at the given attempt is tried again: a transient failure
// within Retry.Attempts, and a quota fault for as long as the deadline allows (the server refused before anything
// ran, and another process's shells free the quota when they end), unless retries are off.
func (c *Client) retryable(e *Error, attempt int) bool {
	if !IsTransient(e) {
		return false
	}
	return attempt < c.cfg.Retry.Attempts || e.Kind == KindQuota && c.cfg.Retry.Attempts > 1
}

type operationTimeoutKey struct{}

// WithOperationTimeout lets each Run under ctx take up to d instead of Config.Timeout, for a command known to take
// longer, such as a drain that waits for the node's sessions to end.
func WithOperationTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, operationTimeoutKey{}, d)
}

// Check proves that the server answers and accepts the client's TLS settings and logon, without starting PowerShell
// (which costs Windows far more than the round trips): it creates a shell, which needs the connection, TLS and
// authentication, and pools it for the next run; a shell pooled already proves the same. Every failure is an *Error.
// A transient failure (a quota fault, a dropped connection) is retried as Run retries it: creating a shell runs
// nothing.
func (c *Client) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout) // as Run: winrm.timeout bounds it under any deadline
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := c.checkOnce(ctx)
		if err == nil {
			return nil
		}
		e := classify(ctx, err)
		e.Server = c.cfg.Host
		if !c.retryable(e, attempt) || !c.sleep(ctx, c.backoff(attempt)) {
			return e
		}
		c.retries.Add(1)
	}
}

// checkOnce creates a shell within the concurrency limit and pools it.
func (c *Client) checkOnce(ctx context.Context) error {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting for one of %d WinRM slots: %w", cap(c.slots), ctx.Err())
	}
	defer func() { <-c.slots }()
	tr := newOpTransport(ctx, c.transport)
	shellID, _, err := c.openShell(tr)
	if err != nil {
		return err
	}
	c.keepShell(tr, shellID)
	return nil
}

// backoff returns the delay after the given attempt: exponential, capped, with "equal jitter" (half fixed, half random).
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.Retry.Base << (attempt - 1)
	if d <= 0 || d > c.cfg.Retry.Max {
		d = c.cfg.Retry.Max
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter needs no cryptographic randomness
}

// sleep waits d unless ctx ends first or cannot outlast d; it reports whether another attempt makes sense.
func (c *Client) sleep(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// attempt runs the command once, within the server's concurrency limit. sent reports whether the command may have
// reached the server: from the moment the Command request is sent, unless the server's own answer refused it or the
// request provably never left (see commandMayHaveArrived), or the server refused its input (the script runs only
// once stdin has ended). Everything before (a slot, Create, a pooled shell that expired) ran nothing.
func (c *Client) attempt(ctx context.Context, payload []byte) (res *result, sent bool, err error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("waiting for one of %d WinRM slots: %w", cap(c.slots), ctx.Err())
	}
	defer func() { <-c.slots }()

	tr := newOpTransport(ctx, c.transport)
	shellID, reused, err := c.openShell(tr)
	if err != nil {
		return nil, false, err
	}
	if err := ctx.Err(); err != nil {
		// The caller gave up while the shell was being created (openShell waits for its Create): no Command went out,
		// and the shell is healthy.
		c.keepShell(tr, shellID)
		return nil, false, fmt.Errorf("before sending the command: %w", err)
	}
	commandID, err := c.startCommand(tr, shellID)
	if err != nil && reused && isInvalidShell(err) {
		// The pooled shell expired on the server; nothing ran, so a fresh shell is no retry.
		if shellID, _, err = c.openShell(tr); err != nil {
			return nil, false, err
		}
		commandID, err = c.startCommand(tr, shellID)
	}
	if err != nil {
		c.discardShell(ctx, shellID)
		return nil, commandMayHaveArrived(err), err
	}
	res, err = c.finishCommand(ctx, tr, shellID, commandID, payload)
	if err != nil || !res.clean {
		c.discardShell(ctx, shellID)
	} else {
		c.keepShell(tr, shellID)
	}
	var refused *stdinRefusedError
	return res, !errors.As(err, &refused), err
}

func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

func formatDuration(d time.Duration) string {
	return fmt.Sprintf("PT%.3fS", d.Seconds())
}
