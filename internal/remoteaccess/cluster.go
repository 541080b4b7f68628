package remoteaccess

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Cluster is the set of Remote Access servers an operation must reach: every node, since a client may be
// connected through any of them, or through several.
type Cluster struct {
	servers map[string]Runner
}

// NewCluster builds a cluster from server name -> Runner.
func NewCluster(servers map[string]Runner) (*Cluster, error) {
	if len(servers) == 0 {
		return nil, fmt.Errorf("%w: a cluster needs at least one server", ErrInvalidArgument)
	}
	for name, r := range servers {
		if name == "" || r == nil {
			return nil, fmt.Errorf("%w: server %q has no name or no runner", ErrInvalidArgument, name)
		}
	}
	return &Cluster{servers: maps.Clone(servers)}, nil
}

// Servers returns the server names, sorted.
func (c *Cluster) Servers() []string {
	return slices.Sorted(maps.Keys(c.servers))
}

// ServerError is the failure of an operation on one server.
type ServerError struct {
	Server string
	Err    error
}

func (e *ServerError) Error() string { return e.Server + ": " + e.Err.Error() }

func (e *ServerError) Unwrap() error { return e.Err }

// FailedServers returns the servers named by the ServerErrors in err, sorted.
func FailedServers(err error) []string {
	var names []string
	for _, se := range serverErrors(err) {
		names = append(names, se.Server)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// FanOut runs op on every server at once. It returns the results of the servers that succeeded and, when any
// failed, an error joining one *ServerError per failed server (sorted by server): a partial failure is never hidden.
func FanOut[T any](ctx context.Context, c *Cluster, op func(context.Context, Runner) (T, error)) (map[string]T, error) {
	type outcome struct {
		server string
		result T
		err    error
	}
	outcomes := make(chan outcome, len(c.servers))
	var wg sync.WaitGroup
	for name, r := range c.servers {
		wg.Go(func() {
			res, err := op(ctx, r)
			outcomes <- outcome{server: name, result: res, err: err}
		})
	}
	wg.Wait()
	close(outcomes)

	results := map[string]T{}
	var failures []*ServerError
	for o := range outcomes {
		if o.err != nil {
			failures = append(failures, &ServerError{Server: o.server, Err: o.err})
			continue
		}
		results[o.server] = o.result
	}
	slices.SortFunc(failures, func(a, b *ServerError) int { return strings.Compare(a.Server, b.Server) })
	errs := make([]error, len(failures))
	for i, f := range failures {
		errs[i] = f
	}
	return results, errors.Join(errs...)
}

// Check proves on every server at once that it answers with working TLS and logon, running no script.
func (c *Cluster) Check(ctx context.Context) error {
	_, err := FanOut(ctx, c, func(ctx context.Context, r Runner) (struct{}, error) { return struct{}{}, r.Check(ctx) })
	return err
}

// GetNodes asks every server for the NLB nodes; each answers with its own view (IsLocal marks itself).
func (c *Cluster) GetNodes(ctx context.Context) (map[string][]Node, error) {
	return FanOut(ctx, c, GetNodes)
}

// GetConnections lists the matching connections of every server.
func (c *Cluster) GetConnections(ctx context.Context, filter ConnectionFilter) (map[string][]Connection, error) {
	if err := filter.validate(); err != nil {
		return nil, err
	}
	return FanOut(ctx, c, func(ctx context.Context, r Runner) ([]Connection, error) { return getConnections(ctx, r, filter) })
}

// GetIPsecSAs lists every server's main-mode SAs for the identities (all SAs when none are given).
func (c *Cluster) GetIPsecSAs(ctx context.Context, identities []string) (map[string]IPsecSAs, error) {
	in, err := newIdentitiesInput(identities, false)
	if err != nil {
		return nil, err
	}
	return FanOut(ctx, c, func(ctx context.Context, r Runner) (IPsecSAs, error) {
		return run[IPsecSAs](ctx, r, scriptGetIPsecSAs, in)
	})
}

// GetDeviceSAs lists a device's SAs and VPN connections on every server (see GetDeviceSAs).
func (c *Cluster) GetDeviceSAs(ctx context.Context, identities []string) (map[string]IPsecSAs, error) {
	return FanOut(ctx, c, func(ctx context.Context, r Runner) (IPsecSAs, error) { return GetDeviceSAs(ctx, r, identities) })
}

// PurgeDevice purges a device on every server at once (see PurgeDevice).
func (c *Cluster) PurgeDevice(ctx context.Context, identities []string, computerName string, disconnectVPN bool) (map[string]PurgeDeviceResult, error) {
	in, err := newPurgeDeviceInput(identities, computerName, disconnectVPN)
	if err != nil {
		return nil, err
	}
	return FanOut(ctx, c, func(ctx context.Context, r Runner) (PurgeDeviceResult, error) { return purgeDevice(ctx, r, in) })
}

// PurgeUser purges a user on every server at once (see PurgeUser).
func (c *Cluster) PurgeUser(ctx context.Context, identities []string, userName string) (map[string]PurgeUserResult, error) {
	in, err := newPurgeUserInput(identities, userName)
	if err != nil {
		return nil, err
	}
	return FanOut(ctx, c, func(ctx context.Context, r Runner) (PurgeUserResult, error) { return purgeUser(ctx, r, in) })
}

// DisconnectVPN disconnects a user or a tunnel address on every server at once.
func (c *Cluster) DisconnectVPN(ctx context.Context, target VPNTarget) (map[string][]string, error) {
	if err := target.validate(); err != nil {
		return nil, err
	}
	return FanOut(ctx, c, func(ctx context.Context, r Runner) ([]string, error) { return disconnectVPN(ctx, r, target) })
}

// WaitNoSAs polls every server, every interval, until none reports a main-mode SA for the identities: right
// after a purge, it confirms that the purge took everywhere. When ctx ends first it returns the servers that still
// had SAs at their last answer, sorted, and an error that also names the servers that could not be asked.
// WatchSAs is the stricter verify window that also catches SAs coming back later.
func (c *Cluster) WaitNoSAs(ctx context.Context, identities []string, interval time.Duration) ([]string, error) {
	in, err := newWatchInput(identities, interval)
	if err != nil {
		return nil, err
	}
	withSAs := map[string]bool{} // the last answer of each server that answered
	for {
		pollErr := c.pollSAs(ctx, in, func(server string, present bool) { withSAs[server] = present })
		remaining := c.serversIn(withSAs)
		if pollErr == nil && len(remaining) == 0 {
			return nil, nil
		}
		if !sleep(ctx, interval) {
			return remaining, verifyError(identities, remaining, errors.Join(ctx.Err(), pollErr))
		}
	}
}

// WatchSAs is a verify window: it polls every server, every interval, until ctx ends (ctx must have a deadline),
// and returns the servers where a main-mode SA for the identities was seen at any poll, sorted. internal/lab/WINDOWS.md, DirectAccess tunnels: a
// purged client whose accounts are still valid re-establishes its SAs within seconds, so SAs that come back mean
// the block did not take (an account still enabled, or a domain controller not yet replicated). The end of ctx is
// the normal end of the window; the error names only the servers that could not be asked.
func (c *Cluster) WatchSAs(ctx context.Context, identities []string, interval time.Duration) ([]string, error) {
	in, err := newWatchInput(identities, interval)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		return nil, fmt.Errorf("%w: the verify window needs a context with a deadline", ErrInvalidArgument)
	}
	seen := map[string]bool{}
	failed := map[string]error{}
	for {
		pollErr := c.pollSAs(ctx, in, func(server string, present bool) {
			seen[server] = seen[server] || present
			delete(failed, server)
		})
		for _, se := range serverErrors(pollErr) {
			if ctx.Err() == nil { // a poll cut short by the end of the window is not a failure
				failed[se.Server] = se
			}
		}
		if !sleep(ctx, interval) {
			var errs []error
			for _, server := range c.Servers() {
				if failed[server] != nil {
					errs = append(errs, failed[server])
				}
			}
			return c.serversIn(seen), errors.Join(errs...)
		}
	}
}

func newWatchInput(identities []string, interval time.Duration) (identitiesInput, error) {
	in, err := newIdentitiesInput(identities, true)
	if err != nil {
		return in, err
	}
	if interval <= 0 {
		return in, fmt.Errorf("%w: poll interval %s must be positive", ErrInvalidArgument, interval)
	}
	return in, nil
}

// pollSAs asks every server once and reports, per server that answered, whether it has SAs.
func (c *Cluster) pollSAs(ctx context.Context, in identitiesInput, report func(server string, present bool)) error {
	results, err := FanOut(ctx, c, func(ctx context.Context, r Runner) (IPsecSAs, error) {
		return run[IPsecSAs](ctx, r, scriptGetIPsecSAs, in)
	})
	for server, sas := range results {
		report(server, len(sas.MainMode) > 0)
	}
	return err
}

// serversIn returns the servers marked true, sorted.
func (c *Cluster) serversIn(marked map[string]bool) []string {
	var names []string
	for _, server := range c.Servers() {
		if marked[server] {
			names = append(names, server)
		}
	}
	return names
}

// serverErrors lists the ServerErrors in err's tree, outermost first.
func serverErrors(err error) []*ServerError {
	if joined, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // walks a joined error's branches
		var list []*ServerError
		for _, inner := range joined.Unwrap() {
			list = append(list, serverErrors(inner)...)
		}
		return list
	}
	var se *ServerError
	if errors.As(err, &se) {
		return []*ServerError{se}
	}
	return nil
}

// sleep waits for d, or reports false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func verifyError(identities, remaining []string, cause error) error {
	ids := strings.Join(identities, ", ")
	if len(remaining) > 0 {
		return fmt.Errorf("IPsec SAs for %s remain on %s: %w", ids, strings.Join(remaining, ", "), cause)
	}
	return fmt.Errorf("could not verify that no IPsec SA for %s remains: %w", ids, cause)
}
