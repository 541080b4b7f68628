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
	purges  *PurgeBatcher // nil: DefaultPurgeBatcher
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

// WithPurgeBatcher returns the cluster with its device purges coalesced by b instead of DefaultPurgeBatcher.
func (c *Cluster) WithPurgeBatcher(b *PurgeBatcher) *Cluster {
	return &Cluster{servers: c.servers, purges: b}
}

func (c *Cluster) purgeBatcher() *PurgeBatcher {
	if c.purges == nil {
		return DefaultPurgeBatcher
	}
	return c.purges
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
	return fanOut(ctx, c, func(ctx context.Context, _ string, r Runner) (T, error) { return op(ctx, r) })
}

// fanOut is FanOut for an operation that needs the server's name.
func fanOut[T any](ctx context.Context, c *Cluster, op func(ctx context.Context, server string, r Runner) (T, error)) (map[string]T, error) {
	type outcome struct {
		server string
		result T
		err    error
	}
	outcomes := make(chan outcome, len(c.servers))
	var wg sync.WaitGroup
	for name, r := range c.servers {
		wg.Go(func() {
			res, err := op(ctx, name, r)
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

// PurgeDevice purges a device on every server at once (see PurgeDevice). On each server the purge goes in one run
// of purge-devices/v1 with the other devices being purged there at the time (PurgeBatcher); the result and the
// error of each server are this device's own.
func (c *Cluster) PurgeDevice(ctx context.Context, identities []string, computerName string, disconnectVPN bool) (map[string]PurgeDeviceResult, error) {
	in, err := newPurgeDeviceInput(identities, computerName, disconnectVPN)
	if err != nil {
		return nil, err
	}
	batcher := c.purgeBatcher()
	return fanOut(ctx, c, func(ctx context.Context, server string, r Runner) (PurgeDeviceResult, error) {
		return batcher.purge(ctx, server, r, in)
	})
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
func sleep(ctx context.Context, d time.Duration) bool { return sleepOrWake(ctx, d, nil) }

// sleepOrWake is sleep that a value on wake ends early (a nil wake never does).
func sleepOrWake(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}
