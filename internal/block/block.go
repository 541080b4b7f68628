// Package block carries out the blocks of a device or a user: check that every Remote Access server can be
// reached with the configured settings, disable the account in Active Directory and record the block on it, purge
// the sessions it holds on every server, read the change back on the domain controllers, purge again what came back
// meanwhile, then watch that nothing returns; and the reverse. It is plain Go, without Terraform, and reports what
// it changed even when a step fails, so that the caller can record it and a later run can complete or undo it.
package block

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// Directory is the part of the Active Directory client that blocks use.
type Directory interface {
	FindComputer(ctx context.Context, name string) (directory.Account, error)
	FindUser(ctx context.Context, name string) (directory.Account, error)
	FindByGUID(ctx context.Context, kind directory.Kind, guid string) (directory.Account, error)
	Domain(ctx context.Context) (directory.DomainInfo, error)
	Guard(acct directory.Account, opts directory.GuardOptions) error
	Hold(ctx context.Context, acct directory.Account, req directory.HoldRequest) (directory.HoldResult, error)
	Release(ctx context.Context, acct directory.Account, holdID string, wasEnabled bool) (directory.ReleaseResult, error)
	ReleaseAgain(ctx context.Context, acct directory.Account, holdID string, wasEnabled bool) (directory.ReleaseResult, error)
	RecordCertificates(ctx context.Context, acct directory.Account, holdID string, serials []string) error
	WaitVisible(ctx context.Context, dn string, want directory.Visible) error
}

// ClusterFor returns the fan-out over the named servers.
type ClusterFor func(servers []string) (*remoteaccess.Cluster, error)

// Blocker blocks and unblocks accounts.
type Blocker struct {
	Directory Directory
	Cluster   ClusterFor
	// Verify shares the verify windows' polls among every block in flight.
	Verify *remoteaccess.VerifyHub
	// Progress, when set, is told what happened on each server (purge results, verify verdicts).
	Progress func(ctx context.Context, msg string, fields map[string]any)
	// PreflightTimeout bounds the check of the servers before the account is touched; 30 s when zero.
	PreflightTimeout time.Duration
}

// Target is the account a block is about, and its exact IPsec and VPN identities.
type Target struct {
	Account    directory.Account
	Identities []string
}

// Options are what a block does.
type Options struct {
	// Servers receive the purge; all of them must succeed.
	Servers []string
	// Purge removes the account's IPsec SAs and VPN connections.
	Purge bool
	// ShutdownViaManageOut asks one server to shut the device down through the manage-out path, before the purge.
	// Stop-Computer from a WinRM session reaches the device on a second hop, which Windows refuses with the session's
	// own logon: ShutdownCredential is passed to it explicitly.
	ShutdownViaManageOut bool
	ShutdownCredential   *remoteaccess.Credential
	// Verify is how long to watch, after the purge, that no SA of the account comes back; none when zero.
	Verify time.Duration
	// WaitVisible reads the change back on the configured domain controllers, while the purge runs: the disable, and
	// a dial-in deny written now.
	WaitVisible bool
	// Hold is the block's entry in the account's block record.
	Hold directory.Hold
	// Record writes the block record on the account.
	Record bool
	// Guard relaxes the guards.
	Guard directory.GuardOptions
	// Certificates is the certificate lever of a device block; nil without one.
	Certificates *CertificateHold
	// BeforePurge, when set, runs once the hold is in place and before the purge, also when nothing is left to
	// purge: the levers that the servers check at each new connection (a user's dial-in deny, read by NPS) are
	// written then, so that what the purge ends cannot come straight back. It reports whether it wrote such a lever
	// now: the purge then takes every server, not only those pending, since a connection made while the lever was
	// missing (its write failed at an earlier apply) stays up until it is ended.
	BeforePurge func(ctx context.Context, acct directory.Account) (wrote bool)
}

// vpnOnly reports whether the block stops VPN and nothing else: a user block that leaves the account enabled (its
// lever is dial-in deny, which NPS checks at each VPN connection). Its purge ends the user's VPN connections and its
// verify window watches them; the user's DirectAccess tunnels, which it does not stop, are left alone, since
// purging them would only see them come back.
func (o Options) vpnOnly(t Target) bool {
	return o.Hold.KeepsEnabled && t.Account.Kind != directory.KindComputer
}

// Counts is what a purge removed on one server.
type Counts struct {
	MainModeSAs  int
	QuickModeSAs int
	// VPNConnections are VPN device tunnels for a device and VPN user connections for a user.
	VPNConnections int
}

func (c Counts) add(o Counts) Counts {
	return Counts{c.MainModeSAs + o.MainModeSAs, c.QuickModeSAs + o.QuickModeSAs, c.VPNConnections + o.VPNConnections}
}

// Outcome is what Ensure did, step by step; every failure is in Failures, none overwrites another.
type Outcome struct {
	Target Target
	// Disabled is set when the account is known to be disabled: from then on the block must be kept in state.
	Disabled bool
	// HoldUnknown is set when the disable was sent and its outcome is unknown: the account may be disabled, and
	// the block must be kept in state all the same so that the next apply completes it and destroy releases it.
	HoldUnknown bool
	// NewlyDisabled is set when this Ensure disabled an account that was enabled: every server is purged.
	NewlyDisabled bool
	// Wrote is set when this Ensure wrote the hold (WasEnabled and BlockedAt are then new).
	Wrote      bool
	WasEnabled bool
	// Recorded is set when the block is in the account's block record.
	Recorded  bool
	BlockedAt time.Time
	// Purged holds the servers where the purge succeeded.
	Purged map[string]Counts
	// Pending are the servers where the purge or its verification has not succeeded yet.
	Pending []string
	// Lagging are the domain controllers that did not show the account disabled within the LDAP timeout.
	Lagging []string
	// Failures are the steps that failed, each with its server when it has one.
	Failures []Failure
	// Certificates are the certificates this Ensure put on hold (or revoked permanently), and those it found held by
	// another recorded block of the account.
	Certificates []HeldCertificate
	// PendingAuthorities are the CAs where the hold or the CRL's publication failed: the next apply does them again.
	PendingAuthorities []string
	// PendingFlush are the servers whose revocation caches could not be flushed.
	PendingFlush []string
}

// ConfigurationError is a server that answered but refused the provider's settings (TLS or logon): nothing was
// changed, and the settings must be fixed before anything can be.
type ConfigurationError struct {
	Server   string
	Settings string
	Err      error
}

func (e *ConfigurationError) Error() string {
	return fmt.Sprintf("%s refused the provider's WinRM settings; nothing was changed. Check %s. Cause: %v", e.Server, e.Settings, e.Err)
}

func (e *ConfigurationError) Unwrap() error { return e.Err }

// Resolve finds the account named by the user and refuses guarded accounts, without changing anything.
func (b *Blocker) Resolve(ctx context.Context, kind directory.Kind, name string, guard directory.GuardOptions) (Target, error) {
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
	return b.TargetFor(ctx, acct, guard)
}

// ResolveGUID finds an account by its objectGUID and refuses guarded accounts.
func (b *Blocker) ResolveGUID(ctx context.Context, kind directory.Kind, guid string, guard directory.GuardOptions) (Target, error) {
	acct, err := b.Directory.FindByGUID(ctx, kind, guid)
	if err != nil {
		return Target{}, err
	}
	return b.TargetFor(ctx, acct, guard)
}

// TargetFor refuses guarded accounts and works out the exact identities of an account already looked up.
func (b *Blocker) TargetFor(ctx context.Context, acct directory.Account, guard directory.GuardOptions) (Target, error) {
	if err := b.Directory.Guard(acct, guard); err != nil {
		return Target{}, err
	}
	dom, err := b.Directory.Domain(ctx)
	if err != nil {
		return Target{}, err
	}
	// A user's VPN connections print the user as NETBIOS\user or dns.domain\user: both are identities
	// (internal/lab/WINDOWS.md, Connection statistics).
	ids := appendNew(directory.UserIdentities(acct, dom), directory.VPNUserNames(acct, dom)...)
	if acct.Kind == directory.KindComputer {
		ids = directory.DeviceIdentities(acct, dom)
	}
	return Target{Account: acct, Identities: ids}, nil
}

// appendNew appends the values not in list yet, ignoring letter case.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if v != "" && !slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) }) {
			list = append(list, v)
		}
	}
	return list
}

// Preflight asks every server for the target's SAs, which proves TLS, logon and PowerShell on each. It returns what
// each server holds now, read in a poll that the previews of other blocks in flight share (VerifyHub.Snapshot); stop,
// the servers that refuse the settings (*ConfigurationError), which stop a block; and failed, every server's
// failure, for the message: a server that does not answer does not stop an emergency block, which goes on without
// it and records it as pending.
func (b *Blocker) Preflight(ctx context.Context, t Target, servers []string) (sas map[string]remoteaccess.IPsecSAs, stop, failed error) {
	if len(servers) == 0 {
		return nil, nil, nil
	}
	cluster, err := b.Cluster(servers)
	if err != nil {
		return nil, err, err
	}
	ctx, cancel := context.WithTimeout(ctx, b.preflightTimeout())
	defer cancel()
	sas, err = b.hub().Snapshot(ctx, cluster, pollIdentities(t), t.Account.Kind == directory.KindComputer)
	return sas, configurationErrors(err), err
}

// hub is the provider's shared poller of the servers, or a private one.
func (b *Blocker) hub() *remoteaccess.VerifyHub {
	if b.Verify == nil {
		return &remoteaccess.VerifyHub{}
	}
	return b.Verify
}

// checkServers is the preflight of an apply: every server answers with working TLS and logon, proven without
// starting PowerShell (each check leaves a pooled shell for the purge that follows). Only a configuration error
// stops the block; a server that does not answer becomes pending when the purge fails there.
func (b *Blocker) checkServers(ctx context.Context, servers []string) error {
	if len(servers) == 0 {
		return nil
	}
	cluster, err := b.Cluster(servers)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, b.preflightTimeout())
	defer cancel()
	return configurationErrors(cluster.Check(ctx))
}

func (b *Blocker) preflightTimeout() time.Duration {
	if b.PreflightTimeout <= 0 {
		return 30 * time.Second
	}
	return b.PreflightTimeout
}

// configurationErrors keeps the failures of a fan-out that a setting fixes (TLS, logon), as ConfigurationErrors.
func configurationErrors(err error) error {
	var configErrs []error
	for _, se := range remoteaccess.ServerErrors(err) {
		if winrm.IsConfiguration(se.Err) {
			configErrs = append(configErrs, &ConfigurationError{Server: se.Server, Settings: winrm.SettingsToCheck(se.Err), Err: se.Err})
		}
	}
	return errors.Join(configErrs...)
}

// pollIdentities are what the looks at the servers (the impact preview, the look after the read-back, the verify
// window) match the target's sessions by: its identities and, for a device, its bare computer name, which the
// connection statistics may print as a host name (the purge matches it too: internal/remoteaccess/scripts/include/device-purge.ps1).
func pollIdentities(t Target) []string {
	if t.Account.Kind != directory.KindComputer {
		return t.Identities
	}
	return appendNew(slices.Clone(t.Identities), t.Account.Name())
}

// cameBack looks at the servers, in a poll that the other blocks in flight share, and returns those where the
// target has sessions again, or where the look could not tell (no answer, an indeterminate verdict): a purge is
// one PowerShell run per server and block, the look one per server for all of them.
func (b *Blocker) cameBack(ctx context.Context, t Target, servers []string, vpnOnly bool) []string {
	if len(servers) == 0 {
		return nil
	}
	cluster, err := b.Cluster(servers)
	if err != nil {
		return servers
	}
	sas, _ := b.hub().Snapshot(ctx, cluster, pollIdentities(t), t.Account.Kind == directory.KindComputer) // a server that did not answer is missing
	return slices.DeleteFunc(slices.Clone(servers), func(server string) bool {
		s, ok := sas[server]
		if vpnOnly {
			return ok && len(s.VPNConnections) == 0
		}
		return ok && !s.Indeterminate && len(s.MainMode) == 0 && len(s.VPNConnections) == 0
	})
}

// purgePending purges the pending servers and moves those that succeeded to Purged (counts add up over passes).
func (b *Blocker) purgePending(ctx context.Context, out *Outcome, vpnOnly bool) error {
	purge := b.purge
	if vpnOnly {
		purge = b.disconnectVPN
	}
	purged, err := purge(ctx, out.Target, out.Pending)
	if out.Purged == nil {
		out.Purged = map[string]Counts{}
	}
	for server, counts := range purged {
		out.Purged[server] = out.Purged[server].add(counts)
		b.progress(ctx, "purged", map[string]any{"server": server, "account": out.Target.Account.SAMAccountName,
			"main_mode_sas": counts.MainModeSAs, "quick_mode_sas": counts.QuickModeSAs, "vpn_connections": counts.VPNConnections})
	}
	for _, se := range remoteaccess.ServerErrors(err) {
		b.progress(ctx, "purge failed", map[string]any{"server": se.Server, "account": out.Target.Account.SAMAccountName, "error": se.Err.Error()})
	}
	out.Pending = slices.DeleteFunc(out.Pending, func(s string) bool { _, ok := purged[s]; return ok })
	return err
}

// disconnectVPN ends the user's VPN connections on the servers, under each name the connection statistics may
// print (directory.VPNUserNames, among the target's identities): the purge of a block that stops VPN only.
func (b *Blocker) disconnectVPN(ctx context.Context, target Target, servers []string) (map[string]Counts, error) {
	cluster, err := b.Cluster(servers)
	if err != nil {
		return nil, err
	}
	counts := map[string]Counts{}
	failed := map[string]bool{}
	var errs []error
	for _, name := range target.Identities {
		if !strings.Contains(name, `\`) {
			continue // a user principal name: the statistics print DOMAIN\user or dns.domain\user
		}
		done, err := cluster.DisconnectVPN(ctx, remoteaccess.VPNTarget{UserName: name})
		for server, names := range done {
			counts[server] = counts[server].add(Counts{VPNConnections: len(names)})
		}
		for _, se := range remoteaccess.ServerErrors(err) {
			failed[se.Server] = true
		}
		errs = append(errs, err)
	}
	for server := range failed {
		delete(counts, server) // not purged until every name was disconnected there
	}
	return counts, errors.Join(errs...)
}

// purge purges the target on the servers. A server that cannot tell whether the target still has sessions there
// (remoteaccess.Verdict) is not counted as purged: zero removed is then no proof.
func (b *Blocker) purge(ctx context.Context, target Target, servers []string) (map[string]Counts, error) {
	cluster, err := b.Cluster(servers)
	if err != nil {
		return nil, err
	}
	acct := target.Account
	counts := map[string]Counts{}
	verdicts := map[string]remoteaccess.Verdict{}
	if acct.Kind == directory.KindComputer {
		results, perr := cluster.PurgeDevice(ctx, target.Identities, acct.Name(), true)
		for server, r := range results {
			counts[server] = Counts{MainModeSAs: r.MainModeRemoved, QuickModeSAs: r.QuickModeRemoved, VPNConnections: r.VPNDeviceTunnelsDisconnected}
			verdicts[server] = r.Verdict
		}
		err = perr
	} else {
		results, perr := cluster.PurgeUser(ctx, target.Identities, target.Identities[0])
		for server, r := range results {
			counts[server] = Counts{MainModeSAs: r.MainModeRemoved, QuickModeSAs: r.QuickModeRemoved, VPNConnections: r.VPNConnectionsDisconnected}
			verdicts[server] = r.Verdict
		}
		err = perr
	}
	var cannotTell []error
	for _, server := range slices.Sorted(maps.Keys(verdicts)) {
		if v := verdicts[server]; v.Indeterminate {
			delete(counts, server)
			cannotTell = append(cannotTell, fmt.Errorf("cannot tell on %s whether %s still has sessions: %s", server, acct.SAMAccountName, v.IndeterminateReason))
		}
	}
	return counts, errors.Join(err, errors.Join(cannotTell...))
}

// verify watches the purged servers for the verify window, until each has answered lately (remoteaccess.VerifyHub),
// and fails naming the servers where an SA came back (they become pending again) and those that could not be asked
// or stopped answering.
func (b *Blocker) verify(ctx context.Context, out *Outcome, opts Options) error {
	servers := slices.Sorted(maps.Keys(out.Purged))
	if len(servers) == 0 {
		return nil
	}
	cluster, err := b.Cluster(servers)
	if err != nil {
		return err
	}
	device := out.Target.Account.Kind == directory.KindComputer
	vpnOnly := opts.vpnOnly(out.Target)
	watch := func() (map[string]remoteaccess.ServerVerdict, error) {
		if vpnOnly {
			return b.hub().WatchVPN(ctx, cluster, pollIdentities(out.Target), opts.Verify)
		}
		return b.hub().Watch(ctx, cluster, pollIdentities(out.Target), device, opts.Verify)
	}
	opened := time.Now()
	verdicts, err := watch()
	if err != nil {
		return err
	}
	if ctx.Err() != nil && time.Since(opened) < opts.Verify {
		// Cancelled (Ctrl-C, a timeout) before the window ended: a poll that found nothing so far proves nothing
		// about the rest of the window, so every server stays pending and the next apply watches again.
		pending := slices.Concat(out.Pending, servers)
		slices.Sort(pending)
		out.Pending = slices.Compact(pending)
		return fmt.Errorf("the %s verify window on %s was cut short: %w", opts.Verify, strings.Join(servers, ", "), ctx.Err())
	}
	var returned, tunnels, cannotTell, unverified []string
	var causes []error
	for _, server := range servers {
		v := verdicts[server]
		fields := map[string]any{"server": server, "account": out.Target.Account.SAMAccountName, "polls": v.Polls}
		switch {
		case len(v.ReturnedTunnels) > 0:
			tunnels = append(tunnels, server)
			b.progress(ctx, "verify: a VPN connection came back", fields)
		case len(v.Returned) > 0:
			returned = append(returned, server)
			fields["returned_sas"] = len(v.Returned)
			b.progress(ctx, "verify: SAs came back", fields)
		case v.CannotTell != "":
			cannotTell = append(cannotTell, server)
			causes = append(causes, fmt.Errorf("%s: %s", server, v.CannotTell))
			b.progress(ctx, "verify: cannot tell", fields)
		case v.Polls == 0 || v.Err != nil || v.Overdue: // never answered, or stopped answering (failing or hung)
			unverified = append(unverified, server)
			if v.Err != nil {
				causes = append(causes, fmt.Errorf("%s: %w", server, v.Err))
			}
			b.progress(ctx, "verify: could not verify", fields)
		default:
			b.progress(ctx, "verify: nothing came back", fields)
		}
	}
	pending := slices.Concat(out.Pending, returned, tunnels, cannotTell, unverified)
	slices.Sort(pending)
	out.Pending = slices.Compact(pending)
	name := out.Target.Account.SAMAccountName
	var errs []error
	switch {
	case len(tunnels) > 0 && vpnOnly:
		errs = append(errs, fmt.Errorf("a VPN connection of %s came back on %s during the %s verify window although "+
			"the user's dial-in is denied (msNPAllowDialin FALSE): the server's network policy does not check it (NPS "+
			"\"Ignore user account dial-in properties\"), or the server does not authenticate VPN users through NPS. "+
			"Make the policy honour the dial-in setting, or block with disable_account = true, then apply again",
			name, strings.Join(tunnels, ", "), opts.Verify))
	case len(tunnels) > 0 && out.Target.Account.Kind == directory.KindUser:
		errs = append(errs, fmt.Errorf("a VPN connection of %s came back on %s during the %s verify window: the account may "+
			"still authenticate (the server's network policy asked a domain controller that does not show it disabled yet)",
			name, strings.Join(tunnels, ", "), opts.Verify))
	case len(tunnels) > 0:
		errs = append(errs, fmt.Errorf("the Always On VPN device tunnel of %s came back on %s: a device tunnel authenticates with "+
			"the device's certificate, not its computer account, so disabling the account does not stop it. Revoke the "+
			"device certificate, with revocation checking enforced on the VPN servers, then apply again", name, strings.Join(tunnels, ", ")))
	}
	if len(returned) > 0 {
		errs = append(errs, fmt.Errorf("IPsec SAs of %s came back on %s during the %s verify window: the account may still "+
			"authenticate (replication not finished, or a certificate-only path)", name, strings.Join(returned, ", "), opts.Verify))
	}
	if len(cannotTell) > 0 || len(unverified) > 0 {
		var parts []string
		if len(cannotTell) > 0 {
			parts = append(parts, "cannot tell on "+strings.Join(cannotTell, ", "))
		}
		if len(unverified) > 0 {
			parts = append(parts, "could not verify on "+strings.Join(unverified, ", ")+" (no poll completed during the verify window, or the server stopped answering)")
		}
		errs = append(errs, fmt.Errorf("%s: %w", strings.Join(parts, "; "), errors.Join(causes...)))
	}
	if ctx.Err() != nil && len(errs) > 0 {
		errs = append(errs, fmt.Errorf("verify window cut short: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

func (b *Blocker) progress(ctx context.Context, msg string, fields map[string]any) {
	if b.Progress != nil {
		b.Progress(ctx, msg, fields)
	}
}

// shutdown asks the first server that answers to shut the device down through its manage-out path.
func (b *Blocker) shutdown(ctx context.Context, acct directory.Account, servers []string, cred *remoteaccess.Credential) error {
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
		requests, err := remoteaccess.FanOut(ctx, cluster, func(ctx context.Context, r remoteaccess.Runner) (remoteaccess.ShutdownRequest, error) {
			return remoteaccess.RequestShutdown(ctx, r, target, cred)
		})
		if err == nil {
			// Stop-Computer on a remote machine may not confirm a shutdown that started: say which it was.
			b.progress(ctx, "manage-out shutdown", map[string]any{"server": server, "computer": target, "result": requests[server].String()})
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("no Remote Access server could shut %s down through manage-out: %w", target, errors.Join(errs...))
}
