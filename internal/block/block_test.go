package block_test

import (
	"context"
	"strings"
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

func (lagging) SetDisabled(context.Context, directory.Account, bool) (bool, error) { return true, nil }

func newBlocker(t *testing.T, l *lab.Lab, dir block.Directory) *block.Blocker {
	t.Helper()
	info := l.Info()
	clients := labclient.Clients(t, info)
	runners := map[string]remoteaccess.Runner{}
	for _, s := range info.Servers {
		runners[s.Address] = clients[s.Name]
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
		VerifyInterval: 100 * time.Millisecond,
	}
}

func startLab(t *testing.T) (*lab.Lab, *directory.Client) {
	t.Helper()
	l, err := lab.Start(lab.Config{ReestablishDelay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, labclient.Directory(t, l.Info())
}

func TestVerifyWindowNamesTheServersWhereSAsCameBack(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, lagging{dir})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	target, err := b.Resolve(ctx, directory.KindComputer, "CLIENT2")
	if err != nil {
		t.Fatal(err)
	}
	servers := l.Info().ServerAddresses
	out, err := b.Block(ctx, target, block.Options{Servers: servers, Purge: true, Verify: 2 * time.Second})
	if err == nil {
		t.Fatal("the verify window passed although the device re-established its SAs")
	}
	// CLIENT2 is connected through both servers and comes back on both.
	for _, s := range servers {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("the error does not name %s: %v", s, err)
		}
	}
	if !out.Disabled || len(out.Pending) != 0 || len(out.Purged) != 2 {
		t.Errorf("outcome = %+v, want the disable and both purges recorded", out)
	}
}

func TestBlockWithAServerDownRecordsWhatIsPending(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	target, err := b.Resolve(ctx, directory.KindComputer, "CLIENT2")
	if err != nil {
		t.Fatal(err)
	}
	servers := l.Info().ServerAddresses
	l.Server("RAS2").Faults().SetAuthFailure(true)
	out, err := b.Block(ctx, target, block.Options{Servers: servers, Purge: true, Verify: time.Second})
	if err == nil || !out.Disabled {
		t.Fatalf("Block = %+v, %v; want the account disabled and an error", out, err)
	}
	if len(out.Pending) != 1 || out.Pending[0] != servers[1] {
		t.Fatalf("pending = %q, want only %s", out.Pending, servers[1])
	}
	if _, ok := out.Purged[servers[0]]; !ok {
		t.Errorf("purged = %v, want %s recorded", out.Purged, servers[0])
	}

	l.Server("RAS2").Faults().Reset()
	out, err = b.Complete(ctx, out, block.Options{Servers: servers, Purge: true, Verify: time.Second})
	if err != nil || len(out.Pending) != 0 || len(out.Purged) != 2 {
		t.Fatalf("Complete = %+v, %v; want nothing pending and both servers purged", out, err)
	}
}

func TestUnblockLeavesAnAccountThatWasDisabledBefore(t *testing.T) {
	l, dir := startLab(t)
	b := newBlocker(t, l, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	target, err := b.Resolve(ctx, directory.KindComputer, "RETIRED1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.Block(ctx, target, block.Options{})
	if err != nil || out.WasEnabled {
		t.Fatalf("Block = %+v, %v; want was_enabled false", out, err)
	}
	if err := b.Unblock(ctx, directory.KindComputer, target.Account.ObjectGUID, out.WasEnabled); err != nil {
		t.Fatal(err)
	}
	acct, err := dir.FindComputer(ctx, "RETIRED1")
	if err != nil || acct.Enabled() {
		t.Fatalf("RETIRED1 enabled=%v (%v) after unblock, want it still disabled", acct.Enabled(), err)
	}
}
