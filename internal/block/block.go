// Package block carries out the blocks of a device or a user: disable the account in Active Directory, then purge
// the sessions it holds on every Remote Access server, then watch that none comes back; and the reverse. It is plain
// Go, without Terraform, and reports what it changed even when a step fails, so that the caller can record it and a
// later run can complete or undo the change.
package block

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

// Directory is the part of the Active Directory client that blocks use.
type Directory interface {
	FindComputer(ctx context.Context, name string) (directory.Account, error)
	FindUser(ctx context.Context, name string) (directory.Account, error)
	FindByGUID(ctx context.Context, kind directory.Kind, guid string) (directory.Account, error)
	Domain(ctx context.Context) (directory.DomainInfo, error)
	Guard(acct directory.Account) error
	SetDisabled(ctx context.Context, acct directory.Account, disabled bool) (wasEnabled bool, err error)
	WaitVisible(ctx context.Context, dn string, disabled bool) error
}

// ClusterFor returns the fan-out over the named servers.
type ClusterFor func(servers []string) (*remoteaccess.Cluster, error)

// Blocker blocks and unblocks accounts.
type Blocker struct {
	Directory Directory
	Cluster   ClusterFor
	// VerifyInterval is how often the verify window polls the servers; one second when zero.
	VerifyInterval time.Duration
}

// Target is the account a block is about, and its exact IPsec and VPN identities.
type Target struct {
	Account    directory.Account
	Identities []string
}

// Options are the steps of a block after the account is disabled.
type Options struct {
	// Servers receive the purge; all of them must succeed.
	Servers []string
	// Purge removes the account's IPsec SAs and VPN connections.
	Purge bool
	// ShutdownViaManageOut asks one server to shut the device down through the manage-out path, before the purge.
	ShutdownViaManageOut bool
	// Verify is how long to watch, after the purge, that no SA of the account comes back; none when zero.
	Verify time.Duration
	// WaitVisible reads the change back on the configured domain controllers before anything else.
	WaitVisible bool
}

// Counts is what a purge removed on one server.
type Counts struct {
	MainModeSAs  int
	QuickModeSAs int
	// VPNConnections are VPN device tunnels for a device and VPN user connections for a user.
	VPNConnections int
}

// Outcome is what a block did; it is meaningful when Block returns an error too.
type Outcome struct {
	Target Target
	// Disabled is set once the account is disabled: from then on the change must be recorded.
	Disabled   bool
	WasEnabled bool
	BlockedAt  time.Time
	// Purged holds the servers where the purge succeeded.
	Purged map[string]Counts
	// Pending are the servers where the purge has not succeeded yet.
	Pending []string
}

// Resolve finds the account named by the user and refuses guarded accounts, without changing anything.
func (b *Blocker) Resolve(ctx context.Context, kind directory.Kind, name string) (Target, error) {
	var acct directory.Account
	var err error
	switch kind {
	case directory.KindComputer:
		acct, err = b.Directory.FindComputer(ctx, name)
	case directory.KindUser:
		acct, err = b.Directory.FindUser(ctx, name)
	default:
		return Target{}, fmt.Errorf("unknown account kind %q", kind)
	}
	if err != nil {
		return Target{}, err
	}
	return b.TargetFor(ctx, acct)
}

// ResolveGUID finds an account by its objectGUID.
func (b *Blocker) ResolveGUID(ctx context.Context, kind directory.Kind, guid string) (Target, error) {
	acct, err := b.Directory.FindByGUID(ctx, kind, guid)
	if err != nil {
		return Target{}, err
	}
	return b.TargetFor(ctx, acct)
}

// TargetFor refuses guarded accounts and works out the exact identities of an account already looked up.
func (b *Blocker) TargetFor(ctx context.Context, acct directory.Account) (Target, error) {
	if err := b.Directory.Guard(acct); err != nil {
		return Target{}, err
	}
	dom, err := b.Directory.Domain(ctx)
	if err != nil {
		return Target{}, err
	}
	ids := directory.UserIdentities(acct, dom)
	if acct.Kind == directory.KindComputer {
		ids = directory.DeviceIdentities(acct, dom)
	}
	return Target{Account: acct, Identities: ids}, nil
}

// Block disables the account and purges its sessions. The outcome says what was done, also when it fails.
func (b *Blocker) Block(ctx context.Context, t Target, opts Options) (Outcome, error) {
	out := Outcome{Target: t}
	wasEnabled, err := b.Directory.SetDisabled(ctx, t.Account, true)
	if err != nil {
		return out, fmt.Errorf("disabling %s: %w", t.Account.DN, err)
	}
	out.Disabled, out.WasEnabled, out.BlockedAt = true, wasEnabled, time.Now().UTC()
	out.Target.Account.UserAccountControl |= directory.UFAccountDisable
	if opts.Purge {
		out.Pending = slices.Clone(opts.Servers)
	}

	if opts.WaitVisible {
		if err := b.Directory.WaitVisible(ctx, t.Account.DN, true); err != nil {
			return out, err
		}
	}
	if opts.ShutdownViaManageOut && t.Account.Kind == directory.KindComputer {
		if err := b.shutdown(ctx, t.Account, opts.Servers); err != nil {
			return out, err
		}
	}
	if !opts.Purge {
		return out, nil
	}
	return b.Complete(ctx, out, opts)
}

// Complete purges the servers still pending in an earlier outcome, then runs the verify window.
func (b *Blocker) Complete(ctx context.Context, out Outcome, opts Options) (Outcome, error) {
	if len(out.Pending) > 0 {
		purged, err := b.purge(ctx, out.Target, out.Pending)
		if out.Purged == nil {
			out.Purged = map[string]Counts{}
		}
		for server, counts := range purged {
			out.Purged[server] = counts
		}
		out.Pending = slices.DeleteFunc(out.Pending, func(s string) bool { _, ok := purged[s]; return ok })
		if err != nil {
			return out, fmt.Errorf("purging the sessions of %s: %w", out.Target.Account.SAMAccountName, err)
		}
	}
	if opts.Verify <= 0 {
		return out, nil
	}
	return out, b.verify(ctx, out.Target, opts)
}

func (b *Blocker) purge(ctx context.Context, target Target, servers []string) (map[string]Counts, error) {
	cluster, err := b.Cluster(servers)
	if err != nil {
		return nil, err
	}
	acct := target.Account
	counts := map[string]Counts{}
	if acct.Kind == directory.KindComputer {
		results, err := cluster.PurgeDevice(ctx, target.Identities, acct.Name(), true)
		for server, r := range results {
			counts[server] = Counts{MainModeSAs: r.MainModeRemoved, QuickModeSAs: r.QuickModeRemoved, VPNConnections: r.VPNDeviceTunnelsDisconnected}
		}
		return counts, err
	}
	results, err := cluster.PurgeUser(ctx, target.Identities, target.Identities[0])
	for server, r := range results {
		counts[server] = Counts{MainModeSAs: r.MainModeRemoved, QuickModeSAs: r.QuickModeRemoved, VPNConnections: r.VPNConnectionsDisconnected}
	}
	return counts, err
}

// verify watches every server for the whole verify window and fails naming the servers where an SA came back: a
// purged client whose account still works re-establishes its SAs within seconds (internal/lab/WINDOWS.md, DirectAccess tunnels).
func (b *Blocker) verify(ctx context.Context, target Target, opts Options) error {
	cluster, err := b.Cluster(opts.Servers)
	if err != nil {
		return err
	}
	interval := b.VerifyInterval
	if interval <= 0 {
		interval = time.Second
	}
	window, cancel := context.WithTimeout(ctx, opts.Verify)
	defer cancel()
	returned, err := cluster.WatchSAs(window, target.Identities, interval)
	if ctx.Err() != nil {
		return fmt.Errorf("verify window cut short: %w", ctx.Err())
	}
	if len(returned) > 0 {
		return fmt.Errorf("IPsec SAs of %s came back on %s during the %s verify window: the account may still "+
			"authenticate (replication not finished, or a certificate-only path)", target.Account.SAMAccountName,
			strings.Join(returned, ", "), opts.Verify)
	}
	if err != nil {
		return fmt.Errorf("could not watch every server during the verify window: %w", err)
	}
	return nil
}

// shutdown asks the first server that answers to shut the device down through its manage-out path.
func (b *Blocker) shutdown(ctx context.Context, acct directory.Account, servers []string) error {
	target := acct.DNSHostName
	if target == "" {
		target = acct.Name()
	}
	var errs []error
	for _, server := range servers {
		cluster, err := b.Cluster([]string{server})
		if err != nil {
			return err
		}
		_, err = remoteaccess.FanOut(ctx, cluster, func(ctx context.Context, r remoteaccess.Runner) (struct{}, error) {
			return struct{}{}, remoteaccess.StopComputer(ctx, r, target)
		})
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("no Remote Access server could shut %s down through manage-out: %w", target, errors.Join(errs...))
}

// Unblock re-enables the account when it was enabled before the block; an account that someone else disabled stays
// disabled. A deleted account is reported with directory.ErrNotFound.
func (b *Blocker) Unblock(ctx context.Context, kind directory.Kind, guid string, wasEnabled bool) error {
	if !wasEnabled {
		return nil
	}
	acct, err := b.Directory.FindByGUID(ctx, kind, guid)
	if err != nil {
		return err
	}
	if _, err := b.Directory.SetDisabled(ctx, acct, false); err != nil {
		return fmt.Errorf("re-enabling %s: %w", acct.DN, err)
	}
	return nil
}
