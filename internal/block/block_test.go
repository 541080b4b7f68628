package block_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

// lagging is a directory whose writes never reach the domain controller the Remote Access servers authenticate
// against, as during a replication delay: the account stays enabled there.
type lagging struct{ *directory.Client }

func (l lagging) Hold(_ context.Context, acct directory.Account, _ directory.HoldRequest) (directory.HoldResult, error) {
	return directory.HoldResult{PriorEnabled: true, Account: acct}, nil
}

// replicating is a directory whose disable reaches the domain controller the Remote Access servers authenticate
// against only when the read-back of the controllers ends, after delay: the account is enabled there until then.
type replicating struct {
	*directory.Client
	t     *testing.T
	info  lab.Info
	delay time.Duration
}

func (r replicating) Hold(_ context.Context, acct directory.Account, _ directory.HoldRequest) (directory.HoldResult, error) {
	return directory.HoldResult{PriorEnabled: true, Account: acct}, nil
}

func (r replicating) WaitVisible(ctx context.Context, dn string, want directory.Visible) error {
	time.Sleep(r.delay)
	// The lab's servers take a client back when something reads them (its model is lazy): read RAS1 while the
	// account is still enabled on the controller, then let the disable arrive.
	if _, err := remoteaccess.GetIPsecSAs(ctx, labclient.Clients(r.t, r.info)["RAS1"], nil); err != nil {
		return err
	}
	labclient.SetEnabled(r.t, r.info, "CLIENT1$", !want.Disabled)
	return nil
}

func newBlocker(t *testing.T, l *lab.Lab, dir block.Directory) *block.Blocker {
	t.Helper()
	return newBlockerWrapping(t, l, dir, nil)
}

// newBlockerWrapping is newBlocker whose runner of each server goes through wrap (nil: as it is).
func newBlockerWrapping(t *testing.T, l *lab.Lab, dir block.Directory, wrap func(name string, r remoteaccess.Runner) remoteaccess.Runner) *block.Blocker {
	t.Helper()
	info := l.Info()
	clients := labclient.Clients(t, info)
	runners := map[string]remoteaccess.Runner{}
	for _, s := range info.Servers {
		runners[s.Address] = clients[s.Name]
		if wrap != nil {
			runners[s.Address] = wrap(s.Name, clients[s.Name])
		}
	}
	return &block.Blocker{
		Directory: dir,
		Cluster: func(servers []string) (*remoteaccess.Cluster, error) {
			subset := map[string]remoteaccess.Runner{}
			for _, s := range servers {
				subset[s] = runners[s]
			}
			return remoteaccess.NewCluster(subset)
		},
		Verify: &remoteaccess.VerifyHub{Interval: 100 * time.Millisecond},
	}
}

// ensure runs one Ensure and returns its outcome with every failure joined.
func ensure(ctx context.Context, b *block.Blocker, target block.Target, prior block.Prior, opts block.Options) (block.Outcome, error) {
	out := b.Ensure(ctx, target, opts, prior)
	return out, out.Err()
}

// testContext is a minute-long context, cancelled when the test ends.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// resolve looks a computer up through the blocker, as a block does.
func resolve(t *testing.T, ctx context.Context, b *block.Blocker, name string) block.Target {
	t.Helper()
	target, err := b.Resolve(ctx, directory.KindComputer, name, directory.GuardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return target
}

func startLab(t *testing.T) (*lab.Lab, *directory.Client) {
	t.Helper()
	return startLabWithSeed(t, "")
}

// startLabWithSeed starts a lab whose Remote Access cluster is the seed file's (the lab's own when empty).
func startLabWithSeed(t *testing.T, clusterSeed string) (*lab.Lab, *directory.Client) {
	t.Helper()
	l, err := lab.Start(lab.Config{ReestablishDelay: 200 * time.Millisecond, ClusterSeed: clusterSeed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, labclient.Directory(t, l.Info())
}

func TestVerifyWindowNamesTheServersWhereSAsCameBack(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, lagging{dir})
	ctx := testContext(t)
	target := resolve(t, ctx, b, "CLIENT2")
	servers := l.Info().ServerAddresses
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: servers, Purge: true, Verify: 2 * time.Second})
	if err == nil {
		t.Fatal("the verify window passed although the device re-established its SAs")
	}
	// CLIENT2 is connected through both servers and comes back on both.
	for _, s := range servers {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("the error does not name %s: %v", s, err)
		}
	}
	// The servers where SAs came back stay pending, so that the next apply purges them again.
	if !out.Disabled || len(out.Pending) != 2 || len(out.Purged) != 2 {
		t.Errorf("outcome = %+v, want the disable and both purges recorded, both servers pending", out)
	}
}

// A user block's verify window watches the user's VPN connections as well as his SAs: a VPN connection that comes
// back (the server's network policy asked a controller that still shows the account enabled) keeps its server
// pending, named in the error.
func TestVerifyWindowWatchesAUsersVPNConnections(t *testing.T) {
	l, dir := startLabWithSeed(t, "testdata/cluster-dns-user-vpn.json") // bob: VPN on RAS2, DirectAccess on RAS1
	b := newBlocker(t, l, lagging{dir})
	ctx := testContext(t)
	servers := l.Info().ServerAddresses
	target, err := b.Resolve(ctx, directory.KindUser, "bob", directory.GuardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: servers, Purge: true, Verify: 2 * time.Second})
	if err == nil || !slices.Contains(out.Pending, servers[1]) || !strings.Contains(err.Error(), "a VPN connection of bob came back on "+servers[1]) {
		t.Fatalf("Ensure = %+v, %v; want %s pending, its VPN connection named as come back", out, err, servers[1])
	}
}

func TestBlockWithAServerDownRecordsWhatIsPending(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	target := resolve(t, ctx, b, "CLIENT2")
	servers := l.Info().ServerAddresses
	l.Server("RAS2").Faults().SetDropConnections(true)
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: servers, Purge: true, Verify: time.Second})
	if err == nil || !out.Disabled {
		t.Fatalf("Block = %+v, %v; want the account disabled and an error", out, err)
	}
	if len(out.Pending) != 1 || out.Pending[0] != servers[1] {
		t.Fatalf("pending = %q, want only %s", out.Pending, servers[1])
	}
	if _, ok := out.Purged[servers[0]]; !ok {
		t.Errorf("purged = %v, want %s recorded", out.Purged, servers[0])
	}

	// CLIENT2 also has an Always On VPN device tunnel on RAS2, which comes back on its certificate whatever the
	// account's state: the block names it and stays pending there until the certificate is revoked.
	l.Server("RAS2").Faults().Reset()
	out, err = ensure(ctx, b, out.Target, block.Prior{Held: true, Pending: out.Pending}, block.Options{Servers: servers, Purge: true, Verify: time.Second})
	if err == nil || !strings.Contains(err.Error(), "device tunnel of CLIENT2$ came back on "+servers[1]) ||
		!strings.Contains(err.Error(), "Revoke the device certificate") || !slices.Equal(out.Pending, []string{servers[1]}) {
		t.Fatalf("Complete with the certificate valid = %+v, %v; want the device tunnel named and %s pending", out, err, servers[1])
	}
	l.Cluster().SetCertificateRevoked("CLIENT2", true)
	out, err = ensure(ctx, b, out.Target, block.Prior{Held: true, Pending: out.Pending}, block.Options{Servers: servers, Purge: true, Verify: time.Second})
	if _, ok := out.Purged[servers[1]]; err != nil || len(out.Pending) != 0 || len(out.Purged) != 1 || !ok {
		t.Fatalf("Ensure = %+v, %v; want nothing pending and only the pending server purged again", out, err)
	}
}

func TestUnblockLeavesAnAccountThatWasDisabledBefore(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	target := resolve(t, ctx, b, "RETIRED1")
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{})
	if err != nil || out.WasEnabled {
		t.Fatalf("Block = %+v, %v; want was_enabled false", out, err)
	}
	if _, err := b.Release(ctx, directory.KindComputer, target.Account.ObjectGUID, "", block.ReleaseOptions{WasEnabled: out.WasEnabled}); err != nil {
		t.Fatal(err)
	}
	acct, err := dir.FindComputer(ctx, "RETIRED1")
	if err != nil || acct.Enabled() {
		t.Fatalf("RETIRED1 enabled=%v (%v) after unblock, want it still disabled", acct.Enabled(), err)
	}
}

// A server that refuses the provider's logon is a configuration error: the block stops before the account is
// touched, and says which settings to check.
func TestWrongWinRMSettingsChangeNothing(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	target := resolve(t, ctx, b, "CLIENT1")
	l.Server("RAS2").Faults().SetAuthFailure(true)
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: l.Info().ServerAddresses, Purge: true, Record: true,
		Hold: directory.Hold{ID: "h1", Since: time.Now()}})
	var config *block.ConfigurationError
	if !errors.As(err, &config) || out.Disabled || !strings.Contains(err.Error(), "winrm.username") {
		t.Fatalf("Block = %+v, %v; want a configuration error naming winrm.username and nothing disabled", out, err)
	}
	if !labclient.Enabled(t, l.Info(), "CLIENT1$") {
		t.Fatal("CLIENT1 was disabled although the preflight failed")
	}
}

// Ten blocks watched at once cost one poll per server per interval, not one per block.
func TestVerifyWindowsShareOnePollPerServer(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	var mu sync.Mutex
	polls, blocksPerPoll := map[string]int{}, map[string]int{}
	b.Verify.OnPoll = func(server string, blocks int, err error) {
		mu.Lock()
		defer mu.Unlock()
		polls[server]++
		blocksPerPoll[server] = max(blocksPerPoll[server], blocks)
	}
	b.Verify.Interval = 300 * time.Millisecond
	ctx := testContext(t)
	cluster, err := b.Cluster(l.Info().ServerAddresses)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			verdicts, err := b.Verify.Watch(ctx, cluster, []string{fmt.Sprintf(`CORP\\NOBODY%d$`, i)}, true, time.Second)
			if err != nil {
				t.Error(err)
			}
			for server, v := range verdicts {
				if !v.Verified() {
					t.Errorf("block %d on %s: %+v; want verified", i, server, v)
				}
			}
		})
	}
	wg.Wait()
	for server, n := range polls {
		// About 1 s / 300 ms polls for all ten blocks together; one poll per block would be ten times that.
		if n > 8 {
			t.Errorf("%s was polled %d times for ten blocks in one second", server, n)
		}
		if blocksPerPoll[server] < 2 {
			t.Errorf("%s: at most %d blocks shared a poll; want the windows to share", server, blocksPerPoll[server])
		}
	}
}

// With servers that answer slower than the window, the window waits for one completed poll of each server, and a
// server that never answers is named as not verified.
func TestVerifyWindowWaitsForOnePollPerServer(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	cluster, err := b.Cluster(l.Info().ServerAddresses)
	if err != nil {
		t.Fatal(err)
	}
	l.Server("RAS1").Faults().SetStartLatency(1500 * time.Millisecond)
	verdicts, err := b.Verify.Watch(ctx, cluster, []string{`CORP\NOBODY$`}, true, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for server, v := range verdicts {
		if !v.Verified() {
			t.Errorf("%s: %+v; want one completed poll with nothing seen", server, v)
		}
	}

	l.Server("RAS1").Faults().SetStartLatency(0)
	l.Server("RAS2").Faults().SetHangCommands(true)
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	target := resolve(t, ctx, b, "CLIENT1")
	out, err := ensure(short, b, target, block.Prior{}, block.Options{Servers: l.Info().ServerAddresses, Purge: true, Verify: 200 * time.Millisecond})
	ras2 := l.Info().ServerAddresses[1]
	if err == nil || !strings.Contains(err.Error(), ras2) || !slices.Contains(out.Pending, ras2) || !out.Disabled {
		t.Fatalf("Ensure with a hung server = %+v, %v; want %s named and pending, the account disabled", out, err, ras2)
	}
}

// A server that answers the verify window's first poll and then drops every connection stays pending, named: the
// device may have come back there unseen (the lab's RAS2 drops connections from its first verify poll on).
func TestVerifyWindowKeepsAServerThatStoppedAnsweringPending(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	b.Verify.PollTimeout = 2 * time.Second // bounds the wait for RAS2 after the window
	ras2 := l.Info().ServerAddresses[1]
	var dropped sync.Once
	b.Verify.OnPoll = func(server string, blocks int, err error) {
		if server == ras2 && blocks > 0 && err == nil {
			dropped.Do(func() { l.Server("RAS2").Faults().SetDropConnections(true) })
		}
	}
	ctx := testContext(t)
	target := resolve(t, ctx, b, "CLIENT1")
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: l.Info().ServerAddresses, Purge: true, Verify: time.Second})
	if err == nil || !strings.Contains(err.Error(), "could not verify on "+ras2) || !slices.Equal(out.Pending, []string{ras2}) || !out.Disabled {
		t.Fatalf("Ensure = pending %q, disabled %v, %v; want %s alone pending and named, the account disabled", out.Pending, out.Disabled, err, ras2)
	}
}

// A server whose polls hang from the second one on stays pending, named, also when the block's own time ends while
// the window's end waits for it (a Ctrl-C, the apply's timeout): its first poll cannot vouch for the rest of the
// window, and a hung poll has no error to show for it.
func TestVerifyWindowKeepsAHungServerPending(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	b.Verify.PollTimeout = time.Minute // the hung poll outlives the block
	ras2 := l.Info().ServerAddresses[1]
	ctx := testContext(t)
	// The block's time ends two seconds after the window (3 s) has: during the wait for RAS2, counted from RAS2's
	// first poll of the window, whatever the purge before it took.
	short, cancel := context.WithCancel(ctx)
	defer cancel()
	var hung sync.Once
	b.Verify.OnPoll = func(server string, blocks int, err error) {
		if server == ras2 && blocks > 0 && err == nil {
			hung.Do(func() {
				l.Server("RAS2").Faults().SetHangCommands(true)
				time.AfterFunc(5*time.Second, cancel)
			})
		}
	}
	t.Cleanup(func() { l.Server("RAS2").Faults().Reset() })
	target := resolve(t, ctx, b, "CLIENT1")
	out, err := ensure(short, b, target, block.Prior{}, block.Options{Servers: l.Info().ServerAddresses, Purge: true, Verify: 3 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "could not verify on "+ras2) || !slices.Equal(out.Pending, []string{ras2}) || !out.Disabled {
		t.Fatalf("Ensure = pending %q, disabled %v, %v; want %s alone pending and named, the account disabled", out.Pending, out.Disabled, err, ras2)
	}
}

// Sessions that come back while the domain controllers replicate the disable are purged again once they have: the
// verify window after it sees nothing come back.
func TestSessionsBackDuringReplicationArePurgedAgain(t *testing.T) {
	l, dir := startLab(t)
	ras1 := l.Info().ServerAddresses[0]
	b := newBlocker(t, l, replicating{Client: dir, t: t, info: l.Info(), delay: time.Second}) // five re-establishments
	ctx := testContext(t)
	target := resolve(t, ctx, b, "CLIENT1")
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: l.Info().ServerAddresses, Purge: true, WaitVisible: true, Verify: time.Second})
	if err != nil || len(out.Pending) != 0 {
		t.Fatalf("Block = %+v, %v; want complete", out, err)
	}
	// CLIENT1's two tunnels on RAS1, purged before the replication and again after.
	if got := out.Purged[ras1].MainModeSAs; got != 4 {
		t.Errorf("main-mode SAs purged on RAS1: %d; want 2 before the replication and 2 after", got)
	}
}

// A device tunnel that the statistics list under the bare computer name still counts: the purge ends it, and when
// it comes back on the device's certificate the verify window sees it and the server stays pending.
func TestDeviceTunnelListedByBareNameIsSeenComingBack(t *testing.T) {
	l, dir := startLabWithSeed(t, "testdata/cluster-bare-device-tunnel.json")
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	target := resolve(t, ctx, b, "CLIENT2")
	servers := l.Info().ServerAddresses
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: servers, Purge: true, Verify: time.Second})
	if out.Purged[servers[1]].VPNConnections != 1 {
		t.Errorf("purged on RAS2: %+v; want its device tunnel", out.Purged[servers[1]])
	}
	if err == nil || !strings.Contains(err.Error(), servers[1]) || !slices.Equal(out.Pending, []string{servers[1]}) {
		t.Errorf("Block = pending %q, %v; want RAS2 pending, its device tunnel back on the certificate", out.Pending, err)
	}
}

// A domain controller that does not answer is named when the read-back ends at the LDAP timeout; the purge ran
// meanwhile (and again after where sessions came back), and the block completes.
func TestUnreachableDomainControllerIsNamedNotWaitedFor(t *testing.T) {
	l, _ := startLab(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadDC := "ldaps://" + closed.Addr().String()
	_ = closed.Close()
	dir := labclient.Directory(t, l.Info(), func(c *directory.Config) {
		c.DomainControllers, c.Timeout = []string{l.Info().LDAPSURL, deadDC}, 2*time.Second
	})
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	target := resolve(t, ctx, b, "CLIENT2")
	start := time.Now()
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: l.Info().ServerAddresses, Purge: true, WaitVisible: true})
	if err != nil || len(out.Pending) != 0 {
		t.Fatalf("Block = %+v, %v; want complete", out, err)
	}
	if len(out.Lagging) != 1 || !strings.Contains(out.Lagging[0], closed.Addr().String()) {
		t.Errorf("lagging = %v; want the unreachable controller named", out.Lagging)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the block took %s; the read-back must end at the 2 s LDAP timeout", took)
	}
}

// A server whose SAs carry no readable identity cannot tell whether the device still has sessions there: the purge
// does not count it as purged, and the block names it and keeps it pending.
func TestCannotTellIsNotSuccess(t *testing.T) {
	l, dir := startLabWithSeed(t, "../remoteaccess/testdata/cluster-unreadable.json")
	b := newBlocker(t, l, dir)
	ctx := testContext(t)
	target := resolve(t, ctx, b, "CLIENT1")
	servers := l.Info().ServerAddresses
	out, err := ensure(ctx, b, target, block.Prior{}, block.Options{Servers: servers, Purge: true, Verify: time.Second})
	if err == nil || !strings.Contains(err.Error(), "cannot tell on "+servers[0]) || !slices.Contains(out.Pending, servers[0]) {
		t.Fatalf("Block = %+v, %v; want \"cannot tell on %s\" and the server pending", out, err, servers[0])
	}
}
