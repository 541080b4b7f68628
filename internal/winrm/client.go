// Package winrm runs the provider's PowerShell scripts on Windows servers over WinRM: one client per server
// with a concurrency limit, reused remote shells, a deadline on every call, retries of transient faults,
// JSON in on stdin and JSON out on stdout, CLIXML decoding and typed errors. It knows nothing of Terraform.
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
	HTTPRequests int64 // every HTTP request, authentication legs included
	ShellsOpened int64
	ShellsReused int64
	Commands     int64
	Retries      int64
}

// Client runs scripts on one server. It is safe for concurrent use.
type Client struct {
	cfg       Config
	endpoint  *winrm.Endpoint
	transport *httpTransport
	slots     chan struct{}

	mu     sync.Mutex
	idle   []string // ids of remote shells ready for the next command
	closed bool

	shellsOpened, shellsReused, commands, retries atomic.Int64
}

// NewClient checks cfg and prepares the client; it does not connect.
func NewClient(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	endpoint := winrm.NewEndpoint(cfg.Host, cfg.Port, cfg.HTTPS, cfg.Insecure, cfg.CACertPEM, nil, nil, operationTimeout+15*time.Second)
	endpoint.TLSServerName = cfg.TLSServerName
	url := (&neturl.URL{Scheme: "http", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), Path: "/wsman"})
	if cfg.HTTPS {
		url.Scheme = "https"
	}
	transport, err := newHTTPTransport(cfg, url.String(), endpoint.Timeout)
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg:       cfg,
		endpoint:  endpoint,
		transport: transport,
		slots:     make(chan struct{}, cfg.MaxConcurrency),
	}, nil
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		HTTPRequests: c.transport.requests.Load(),
		ShellsOpened: c.shellsOpened.Load(),
		ShellsReused: c.shellsReused.Load(),
		Commands:     c.commands.Load(),
		Retries:      c.retries.Load(),
	}
}

// Run runs script s with input as its JSON document and decodes the "result" of its output into output
// (which may be nil). Every failure is an *Error.
func (c *Client) Run(ctx context.Context, s Script, input, output any) error {
	if _, hasDeadline := ctx.Deadline(); !hasDeadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
	}
	payload, err := stdinPayload(s, input)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		res, err := c.attempt(ctx, payload)
		if err == nil {
			return c.decode(s, res, output)
		}
		e := classify(ctx, err)
		e.Server, e.Script = c.cfg.Host, s.Name
		if attempt >= c.cfg.Retry.Attempts || !IsTransient(e) {
			return e
		}
		if !c.sleep(ctx, c.backoff(attempt)) {
			return e // the next attempt would start after the deadline
		}
		c.retries.Add(1)
	}
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

// attempt runs the command once, within the server's concurrency limit.
func (c *Client) attempt(ctx context.Context, payload []byte) (*result, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for one of %d WinRM slots: %w", cap(c.slots), ctx.Err())
	}
	defer func() { <-c.slots }()

	tr := newOpTransport(ctx, c.transport)
	wc, err := c.libraryClient(tr)
	if err != nil {
		return nil, err
	}

	shell, reused, err := c.openShell(wc, tr)
	if err != nil {
		return nil, err
	}
	cmd, err := shell.ExecuteWithContext(context.Background(), commandLine) // Run owns cancellation, see runCommand
	if err != nil && reused && classify(ctx, err).Kind == KindShell {
		// The pooled shell expired on the server; nothing ran, so a fresh shell is no retry.
		c.dropIdleShells()
		if shell, _, err = c.openShell(wc, tr); err == nil {
			cmd, err = shell.ExecuteWithContext(context.Background(), commandLine)
		}
	}
	if err != nil {
		c.discardShell(ctx, tr, shell)
		return nil, err
	}
	c.commands.Add(1)
	res, err := runCommand(ctx, tr, cmd, payload)
	if err != nil || !res.clean {
		c.discardShell(ctx, tr, shell)
	} else {
		c.keepShell(shell)
	}
	return res, err
}

// libraryClient returns a masterzen/winrm client whose requests go through tr. It is cheap: parameters only
// (never the shared winrm.DefaultParameters), no connection.
func (c *Client) libraryClient(tr *opTransport) (*winrm.Client, error) {
	params := winrm.NewParameters(formatDuration(operationTimeout), "en-US", envelopeSize)
	params.TransportDecorator = func() winrm.Transporter { return tr }
	wc, err := winrm.NewClientWithParameters(c.endpoint, c.cfg.Username, c.cfg.Password, params)
	if err != nil {
		return nil, fmt.Errorf("creating the WinRM client: %w", err)
	}
	return wc, nil
}

// openShell takes an idle shell or creates one. It creates it with the library's own request and parser rather
// than Client.CreateShell, because a winrm.Shell does not tell its id, and the pool keeps ids.
func (c *Client) openShell(wc *winrm.Client, tr *opTransport) (*pooledShell, bool, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		id := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		c.shellsReused.Add(1)
		return &pooledShell{Shell: wc.NewShell(id), id: id}, true, nil
	}
	c.mu.Unlock()
	request := winrm.NewOpenShellRequest(c.transport.url, &wc.Parameters)
	defer request.Free()
	response, err := tr.Post(wc, request)
	if err != nil {
		return nil, false, err
	}
	id, err := winrm.ParseOpenShellResponse(response)
	if err != nil {
		return nil, false, fmt.Errorf("reading the new shell's id: %w", err)
	}
	c.shellsOpened.Add(1)
	return &pooledShell{Shell: wc.NewShell(id), id: id}, false, nil
}

type pooledShell struct {
	*winrm.Shell
	id string
}

// keepShell returns a healthy shell to the pool; the pool holds at most MaxConcurrency shells.
func (c *Client) keepShell(shell *pooledShell) {
	c.mu.Lock()
	if !c.closed && len(c.idle) < cap(c.slots) {
		c.idle = append(c.idle, shell.id)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	_ = shell.Close()
}

// discardShell deletes a shell after a failure, with a clean-up context if the operation's has ended.
func (c *Client) discardShell(ctx context.Context, tr *opTransport, shell *pooledShell) {
	if shell == nil {
		return
	}
	if ctx.Err() != nil {
		cleanup, cancel := cleanupContext(ctx)
		defer cancel()
		tr.setContext(cleanup)
	}
	_ = shell.Close() // best effort: the server also expires idle shells
}

func (c *Client) dropIdleShells() {
	c.mu.Lock()
	c.idle = nil
	c.mu.Unlock()
}

// Close deletes the idle remote shells and closes idle connections.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	var errs []error
	if len(idle) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		wc, err := c.libraryClient(newOpTransport(ctx, c.transport))
		if err != nil {
			return fmt.Errorf("winrm %s: closing: %w", c.cfg.Host, err)
		}
		for _, id := range idle {
			if err := wc.NewShell(id).Close(); err != nil {
				errs = append(errs, fmt.Errorf("winrm %s: deleting shell %s: %w", c.cfg.Host, id, err))
			}
		}
	}
	c.transport.close()
	return errors.Join(errs...)
}

func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

func formatDuration(d time.Duration) string {
	return fmt.Sprintf("PT%dS", int(d.Seconds()))
}
