package block_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// lostReply is a directory whose every Modify is sent and its reply lost, and whose re-read cannot settle it.
type lostReply struct{ *directory.Client }

func (d lostReply) Hold(_ context.Context, acct directory.Account, _ directory.HoldRequest) (directory.HoldResult, error) {
	return directory.HoldResult{}, &directory.OutcomeUnknownError{DN: acct.DN, Sent: io.ErrUnexpectedEOF}
}

// A completion after an earlier pending purge purges the pending servers only, records the block in the same pass,
// and reports every step: a server that is not pending is not touched, so its failure cannot hide another's.
func TestEnsureCompletesOnlyThePendingServers(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	servers := l.Info().ServerAddresses
	l.Server("RAS2").Faults().SetDropConnections(true)
	out, err := ensure(ctx, b, resolve(t, ctx, b, "CLIENT1"), block.Prior{}, block.Options{Servers: servers, Purge: true})
	if !out.Disabled || !slices.Equal(out.Pending, servers[1:]) || err == nil || !strings.Contains(err.Error(), servers[1]) {
		t.Fatalf("first Ensure = %+v, %v; want the account disabled and %s pending, named in the error", out, err, servers[1])
	}
	l.Server("RAS2").Faults().Reset()
	l.Server("RAS1").Faults().SetDropConnections(true) // a purge there now would fail
	ras1Commands := l.Server("RAS1").Counters().CommandsStarted
	target := resolve(t, ctx, b, "CLIENT1")
	out, err = ensure(ctx, b, target, block.Prior{Held: true, Pending: out.Pending},
		block.Options{Servers: servers, Purge: true, Record: true, Hold: directory.Hold{ID: "h1", Since: time.Now()}})
	if err != nil || len(out.Pending) != 0 || !slices.Equal(slices.Sorted(maps.Keys(out.Purged)), servers[1:]) || !out.Recorded {
		t.Fatalf("completion = %+v, %v; want %s purged, nothing pending, the block recorded", out, err, servers[1])
	}
	if n := l.Server("RAS1").Counters().CommandsStarted; n != ras1Commands {
		t.Errorf("RAS1, not pending, ran %d commands during the completion", n-ras1Commands)
	}
	acct, err := dir.FindComputer(ctx, "CLIENT1")
	if err != nil || acct.Enabled() || acct.BlockRecord() == nil || !slices.Contains(acct.BlockRecord().HoldIDs(), "h1") {
		t.Fatalf("CLIENT1 in the directory: %+v, %v; want it disabled with hold h1 recorded", acct, err)
	}
}

// A disable whose outcome is unknown keeps the block: every server pending, nothing purged, the failure named.
func TestEnsureWithTheDisableOutcomeUnknownKeepsEveryServerPending(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, lostReply{dir})
	ctx := testContext(t)
	servers := l.Info().ServerAddresses
	out, err := ensure(ctx, b, resolve(t, ctx, b, "CLIENT1"), block.Prior{}, block.Options{Servers: servers, Purge: true, Record: true,
		Hold: directory.Hold{ID: "h1", Since: time.Now()}})
	var unknown *directory.OutcomeUnknownError
	if !out.HoldUnknown || out.Disabled || !slices.Equal(out.Pending, servers) || len(out.Purged) != 0 || !errors.As(err, &unknown) {
		t.Fatalf("Ensure = %+v, %v; want the outcome unknown, every server pending, nothing purged", out, err)
	}
	if !out.WasEnabled {
		t.Error("was_enabled: want the state read before the disable (enabled)")
	}
}

// A new block of an account disabled before (by hand) whose hold the directory refuses is not in effect: it wrote
// nothing, purged nothing and is recorded nowhere, so that the provider keeps no state of it rather than a block that
// looks complete. A block in state whose hold cannot be placed again keeps every server it had still to purge.
func TestEnsureWhoseHoldFailsIsNotInEffect(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	servers := l.Info().ServerAddresses
	if err := l.Directory().DisableAccount("CLIENT1$"); err != nil {
		t.Fatal(err)
	}
	target := resolve(t, ctx, b, "CLIENT1")
	l.Directory().RefuseModifiesAsBusy(1000)
	hold := directory.Hold{ID: "h1", Since: time.Now()}
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: servers, Purge: true, Record: true, Hold: hold})
	if out.Disabled || out.HoldUnknown || len(out.Purged) != 0 || err == nil || !strings.Contains(err.Error(), "busy") {
		t.Errorf("new block whose hold is refused = %+v, %v; want it not in effect, nothing purged, the refusal named", out, err)
	}
	l.Directory().RefuseModifiesAsBusy(0)
	l.Server("RAS2").Faults().SetDropConnections(true)
	out, _ = ensure(ctx, b, target, block.Prior{}, block.Options{Servers: servers, Purge: true})
	l.Server("RAS2").Faults().Reset()
	if !out.Disabled || !slices.Equal(out.Pending, servers[1:]) {
		t.Fatalf("unrecorded block with RAS2 down = %+v; want it in effect with %s pending", out, servers[1])
	}
	l.Directory().RefuseModifiesAsBusy(1000)
	defer l.Directory().RefuseModifiesAsBusy(0)
	out, err = ensure(ctx, b, resolve(t, ctx, b, "CLIENT1"), block.Prior{Held: true, Pending: out.Pending},
		block.Options{Servers: servers, Purge: true, Record: true, Hold: hold}) // recording the block needs the hold again
	if !out.Disabled || !slices.Equal(out.Pending, servers[1:]) || err == nil {
		t.Errorf("completion whose hold is refused = %+v, %v; want %s still pending and the refusal named", out, err, servers[1])
	}
}

// A new unrecorded block of an account that carries another block's record is refused before anything is changed.
func TestEnsureRefusesAnUnrecordedBlockOverARecord(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	if _, err := ensure(ctx, b, resolve(t, ctx, b, "CLIENT1"), block.Prior{}, block.Options{Record: true, Hold: directory.Hold{ID: "team-a", Since: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	history := len(l.Directory().AccountControlHistory("CLIENT1$"))
	out, err := ensure(ctx, b, resolve(t, ctx, b, "CLIENT1"), block.Prior{}, block.Options{Record: false})
	var conflict *directory.OtherHoldsError
	if !errors.As(err, &conflict) || out.Disabled || !strings.Contains(err.Error(), "ldap.record_blocks = true") {
		t.Fatalf("Ensure = %+v, %v; want an OtherHoldsError with the remedy", out, err)
	}
	if n := len(l.Directory().AccountControlHistory("CLIENT1$")); n != history {
		t.Errorf("CLIENT1 was written %d times by the refused block", n-history)
	}
}

// A server that fails every poll ends the verify window one poll after verify_seconds, named as not verified:
// the window does not wait for the caller's own deadline.
func TestVerifyWindowEndsOnePollAfterTheWindow(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	// The window ends one poll (PollTimeout + Interval) after verify_seconds: an interval of 2 s leaves the failing
	// poll (1 s) ample time to report its error, also under the race detector on a busy machine (with 100 ms it once
	// ended before the error was in).
	b.Verify = &remoteaccess.VerifyHub{Interval: 2 * time.Second, PollTimeout: time.Second}
	cluster, err := b.Cluster(l.Info().ServerAddresses)
	if err != nil {
		t.Fatal(err)
	}
	l.Server("RAS2").Faults().SetHangCommands(true)
	t.Cleanup(func() { l.Server("RAS2").Faults().Reset() })
	ctx := testContext(t) // a minute: fifty times the window and its last poll
	verdicts, err := b.Verify.Watch(ctx, cluster, []string{`CORP\NOBODY$`}, true, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the verify window waited until the caller's deadline for a server that fails every poll")
	}
	ras1, ras2 := l.Info().ServerAddresses[0], l.Info().ServerAddresses[1]
	if !verdicts[ras1].Verified() || verdicts[ras2].Polls != 0 || verdicts[ras2].Err == nil {
		t.Fatalf("verdicts = %+v; want %s verified and %s with no completed poll and its error", verdicts, ras1, ras2)
	}
}

// Without a purge no server is pending, whatever an earlier apply left pending: nothing would ever complete it.
func TestEnsureWithoutPurgeKeepsNoServerPending(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	servers := l.Info().ServerAddresses
	out, err := ensure(ctx, b, resolve(t, ctx, b, "CLIENT1"), block.Prior{Pending: servers[1:]}, block.Options{Servers: servers})
	if err != nil || !out.Disabled || len(out.Pending) != 0 || len(out.Purged) != 0 {
		t.Fatalf("Ensure without a purge = %+v, %v; want the account disabled, nothing purged, nothing pending", out, err)
	}
}

// bobsVPNOn reports whether the lab's model shows bob's VPN connection on the server.
func bobsVPNOn(t *testing.T, l *lab.Lab, server string) bool {
	t.Helper()
	rows, err := l.Cluster().ConnectionsOn(testContext(t), server)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(rows, func(r string) bool { return strings.HasPrefix(r, `Vpn::CORP\bob`) })
}

// vpnOnlyBlockOfBob resolves bob and the options of a block that leaves his account enabled and stops his VPN by
// the dial-in deny, which deny writes (nil: the write fails).
func vpnOnlyBlockOfBob(t *testing.T, ctx context.Context, b *block.Blocker, servers []string, deny *directory.Client) (block.Target, block.Options) {
	t.Helper()
	target, err := b.Resolve(ctx, directory.KindUser, "bob", directory.GuardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return target, block.Options{Servers: servers, Purge: true, Record: true,
		Hold: directory.Hold{ID: "h1", Since: time.Now(), KeepsEnabled: true},
		BeforePurge: func(ctx context.Context, acct directory.Account) bool {
			if deny == nil {
				return false
			}
			_, err := deny.SetDialIn(ctx, acct, directory.DialInDeny)
			return err == nil
		},
	}
}

// A block that leaves the account enabled and stops VPN by the dial-in deny, whose deny could not be written at
// its first apply: bob's VPN, ended by the purge, came straight back. The apply that writes the deny later ends it
// on every server, not only on those still pending (none), and it stays out.
func TestEnsureThatWritesTheDenyLaterPurgesEveryServer(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	servers := l.Info().ServerAddresses
	target, opts := vpnOnlyBlockOfBob(t, ctx, b, servers, nil) // the deny's write fails
	if out, err := ensure(ctx, b, target, block.Prior{}, opts); err != nil || len(out.Pending) != 0 {
		t.Fatalf("first Ensure = %+v, %v; want every server purged", out, err)
	}
	poll.Until(t, "bob's VPN comes back (his dial-in is not denied yet)", func() bool { return bobsVPNOn(t, l, "RAS2") })

	target, opts = vpnOnlyBlockOfBob(t, ctx, b, servers, dir)
	out, err := ensure(ctx, b, target, block.Prior{Held: true}, opts)
	if err != nil || len(out.Pending) != 0 || out.Purged[servers[1]].VPNConnections != 1 {
		t.Fatalf("completion = %+v, %v; want bob's VPN connection ended on %s", out, err, servers[1])
	}
	time.Sleep(time.Second) // five times the lab's reestablish delay
	if bobsVPNOn(t, l, "RAS2") {
		t.Error("bob's VPN is up although his dial-in is denied")
	}
}

// A block that leaves the account enabled and denies dial-in ends the user's VPN connection printed as
// dns.domain\user (directory.VPNUserNames), and its verify window watches the VPN alone: the user's DirectAccess
// tunnel, which it does not stop, is neither purged nor counted as come back.
func TestEnsureVPNOnlyEndsTheDNSFormConnectionAndLeavesDirectAccess(t *testing.T) {
	l, dir := startLabWithSeed(t, "testdata/cluster-dns-user-vpn.json")
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	servers := l.Info().ServerAddresses
	connected := func(server, prefix string) bool {
		rows, err := l.Cluster().ConnectionsOn(ctx, server)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(rows, func(r string) bool { return strings.HasPrefix(r, prefix) })
	}
	const vpn, da = `Vpn::corp.example\bob`, `DirectAccess:client10.corp.example:`
	if !connected("RAS2", vpn) || !connected("RAS1", da) {
		t.Fatal("the seed does not give bob a dns.domain\\user VPN connection on RAS2 and a DirectAccess tunnel on RAS1")
	}
	target, opts := vpnOnlyBlockOfBob(t, ctx, b, servers, dir)
	opts.Verify = time.Second
	out, err := ensure(ctx, b, target, block.Prior{}, opts)
	if err != nil || len(out.Pending) != 0 || out.Purged[servers[1]].VPNConnections != 1 || out.Purged[servers[0]] != (block.Counts{}) {
		t.Fatalf("Ensure = %+v, %v; want bob's VPN connection ended on %s, nothing else, nothing pending", out, err, servers[1])
	}
	if connected("RAS2", vpn) {
		t.Error("bob's VPN connection is up although the block ended it and denies his dial-in")
	}
	if !connected("RAS1", da) {
		t.Error("bob's DirectAccess tunnel was ended by a block that does not stop it")
	}
}

// A server where the disconnect failed under one of the user's names (here the first, CORP\bob, its reply lost)
// is not purged, although the disconnect under the other name (corp.example\bob, the connection's) succeeded there:
// it stays pending, named in the error.
func TestEnsureVPNOnlyKeepsAServerPendingWhenOneNameFailed(t *testing.T) {
	l, dir := startLabWithSeed(t, "testdata/cluster-dns-user-vpn.json")
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	servers := l.Info().ServerAddresses
	target, err := b.Resolve(ctx, directory.KindUser, "bob", directory.GuardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l.Server("RAS2").Faults().SetLoseReplyScript("disconnect-vpn/v1")
	l.Server("RAS2").Faults().SetLoseReplyNext(1)
	t.Cleanup(func() { l.Server("RAS2").Faults().Reset() })
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: servers, Purge: true, Record: true,
		Hold: directory.Hold{ID: "h1", Since: time.Now(), KeepsEnabled: true}})
	if _, purged := out.Purged[servers[1]]; purged || !slices.Equal(out.Pending, servers[1:]) || err == nil || !strings.Contains(err.Error(), servers[1]) {
		t.Fatalf("Ensure = %+v, %v; want %s pending and named in the error, not purged", out, err, servers[1])
	}
}

// replicatingDeny is a directory whose dial-in deny reaches the domain controller NPS asks only once the read-back
// of the controllers has seen bob's VPN come back after the purge ended it (the deny written on the writer
// controller, not replicated yet).
type replicatingDeny struct {
	*directory.Client
	t      *testing.T
	l      *lab.Lab
	purged <-chan struct{} // closed when the first disconnect on RAS2 has ended
}

func (r replicatingDeny) WaitVisible(ctx context.Context, dn string, want directory.Visible) error {
	if !want.DialInDenied {
		return r.Client.WaitVisible(ctx, dn, want)
	}
	select {
	case <-r.purged:
	case <-ctx.Done():
		return ctx.Err()
	}
	poll.Until(r.t, "bob's VPN comes back while his dial-in is allowed on the controller NPS asks", func() bool { return bobsVPNOn(r.t, r.l, "RAS2") })
	acct, err := r.FindUser(ctx, "bob")
	if err == nil {
		_, err = r.SetDialIn(ctx, acct, directory.DialInDeny)
	}
	return err
}

// endedRun is a runner that closes ended once its first run of script has ended.
type endedRun struct {
	remoteaccess.Runner
	script string
	once   sync.Once
	ended  chan struct{}
}

func (e *endedRun) Run(ctx context.Context, s winrm.Script, input, output any) error {
	err := e.Runner.Run(ctx, s, input, output)
	if s.Name == e.script {
		e.once.Do(func() { close(e.ended) })
	}
	return err
}

// A dial-in deny is read back on the domain controllers as a disable is: the VPN connection that came back through
// a controller that did not show the deny yet is ended again once they all do, and the verify window sees nothing.
// Also when another server's purge failed: that one stays pending, and what came back elsewhere is ended all the same.
func TestDialInDenyIsReadBackAndWhatCameBackPurgedAgain(t *testing.T) {
	t.Run("every server purged", func(t *testing.T) { dialInDenyIsReadBackAndWhatCameBackPurgedAgain(t, false) })
	t.Run("one server's purge failed", func(t *testing.T) { dialInDenyIsReadBackAndWhatCameBackPurgedAgain(t, true) })
}

func dialInDenyIsReadBackAndWhatCameBackPurgedAgain(t *testing.T, ras1Fails bool) {
	l, dir := startLab(t)
	disconnected := &endedRun{script: "disconnect-vpn/v1", ended: make(chan struct{})}
	b := newBlockerWrapping(t, l, replicatingDeny{Client: dir, t: t, l: l, purged: disconnected.ended},
		func(name string, r remoteaccess.Runner) remoteaccess.Runner {
			if name != "RAS2" {
				return r
			}
			disconnected.Runner = r
			return disconnected
		})
	ctx := testContext(t)
	servers := l.Info().ServerAddresses
	target, opts := vpnOnlyBlockOfBob(t, ctx, b, servers, nil)
	opts.BeforePurge = func(context.Context, directory.Account) bool { return true } // written, not visible yet
	opts.Hold.DeniesDialIn, opts.WaitVisible, opts.Verify = true, true, time.Second
	var pending []string
	if ras1Fails {
		l.Server("RAS1").Faults().SetDropConnections(true)
		defer l.Server("RAS1").Faults().Reset()
		pending = servers[:1]
	}
	out, err := ensure(ctx, b, target, block.Prior{}, opts)
	if (err == nil) == ras1Fails || !slices.Equal(out.Pending, pending) || out.Purged[servers[1]].VPNConnections != 2 {
		t.Fatalf("Ensure = %+v, %v; want bob's VPN ended twice on %s (before and after the read-back) and %v pending", out, err, servers[1], pending)
	}
	if bobsVPNOn(t, l, "RAS2") {
		t.Error("bob's VPN is up although his dial-in is denied on every controller")
	}
}
