package remoteaccess_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// batchDevices are the lab's four devices (CLIENT1 and CLIENT10 side by side on RAS1, CLIENT2 on both servers,
// LAPTOP-ÄÖ on RAS2) and devices the lab does not hold, which a batch must answer with nothing removed.
var batchDevices = []string{"CLIENT1", "CLIENT10", "CLIENT2", "LAPTOP-ÄÖ", "GHOST1", "GHOST2", "GHOST3", "GHOST4"}

type devicePurge struct {
	results map[string]remoteaccess.PurgeDeviceResult
	err     error
}

// purgeAtOnce purges every device in its own goroutine, as concurrent blocks do, through a batcher that sends a
// batch only once it holds every device (its window is far longer than any test): the batch is the same whatever
// the machine's load.
func purgeAtOnce(ctx context.Context, c *remoteaccess.Cluster, devices []string) map[string]devicePurge {
	c = c.WithPurgeBatcher(&remoteaccess.PurgeBatcher{Window: time.Hour, MaxDevices: len(devices)})
	var mu sync.Mutex
	out := map[string]devicePurge{}
	var wg sync.WaitGroup
	for _, name := range devices {
		wg.Go(func() {
			results, err := c.PurgeDevice(ctx, deviceIdentities(name), name, true)
			mu.Lock()
			defer mu.Unlock()
			out[name] = devicePurge{results: results, err: err}
		})
	}
	wg.Wait()
	return out
}

// expectedPurges is, per device and server, what a purge of that device alone must remove: its SAs as a read
// lists them before the purge (the lab's devices have no VPN device tunnel on the purged servers but CLIENT2's).
func expectedPurges(t *testing.T, ctx context.Context, l *lab, devices []string) map[string]map[string]remoteaccess.PurgeDeviceResult {
	t.Helper()
	want := map[string]map[string]remoteaccess.PurgeDeviceResult{}
	for _, name := range devices {
		sas, err := l.cluster.GetDeviceSAs(ctx, deviceIdentities(name))
		if err != nil {
			t.Fatal(err)
		}
		want[name] = map[string]remoteaccess.PurgeDeviceResult{}
		for server, s := range sas {
			want[name][server] = remoteaccess.PurgeDeviceResult{MainModeRemoved: len(s.MainMode), QuickModeRemoved: s.QuickModeCount,
				VPNDeviceTunnelsDisconnected: len(s.DeviceTunnels())}
		}
	}
	return want
}

// Eight devices purged at once cost one PowerShell run per server, and each device gets what a purge of it alone
// would have removed: CLIENT1's batch neighbour CLIENT10 keeps its own count, a device the lab does not hold gets
// zero.
func TestLabBatchedPurgeGivesEachDeviceItsOwnResult(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, time.Minute)
	want := expectedPurges(t, ctx, l, batchDevices)
	if want["CLIENT1"]["RAS1"].MainModeRemoved != 2 || want["CLIENT10"]["RAS1"].MainModeRemoved != 2 || want["CLIENT2"]["RAS2"].VPNDeviceTunnelsDisconnected != 1 {
		t.Fatalf("the lab's devices before the purge: %+v", want)
	}

	got := purgeAtOnce(ctx, l.cluster, batchDevices)
	for _, name := range batchDevices {
		if p := got[name]; p.err != nil || fmt.Sprint(p.results) != fmt.Sprint(want[name]) {
			t.Errorf("%s purged in a batch = %+v, %v; want %+v", name, p.results, p.err, want[name])
		}
	}
	for server, counter := range l.scripts {
		if n, alone := counter.count("purge-devices/v1"), counter.count("purge-device/v1"); n != 1 || alone != 0 {
			t.Errorf("%s ran purge-devices/v1 %d times and purge-device/v1 %d times for %d devices; want one batch", server, n, alone, len(batchDevices))
		}
	}
	after := expectedPurges(t, ctx, l, batchDevices)
	for _, name := range batchDevices {
		for server, left := range after[name] {
			if left.MainModeRemoved != 0 {
				t.Errorf("%s still has %d main-mode SAs on %s after the batch", name, left.MainModeRemoved, server)
			}
		}
	}
}

// One device whose SA removal fails inside the batch gets that failure, on that server only; the batch went on
// with the others, which are purged, and the failing device's SAs are still there.
func TestLabFailureInsideABatchIsThatDevicesOnly(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, time.Minute)
	want := expectedPurges(t, ctx, l, batchDevices)
	l.emulated.FailSARemoval("RAS1", `CORP\CLIENT10$`, true)

	got := purgeAtOnce(ctx, l.cluster, batchDevices)
	failed := got["CLIENT10"]
	var device *remoteaccess.DeviceFailureError
	if !errors.As(failed.err, &device) || device.Category != "PermissionDenied" || !slices.Equal(remoteaccess.FailedServers(failed.err), []string{"RAS1"}) {
		t.Errorf("CLIENT10 = %+v, %v; want its own PermissionDenied on RAS1 only", failed.results, failed.err)
	}
	if _, ok := failed.results["RAS2"]; !ok {
		t.Errorf("CLIENT10 has no result for RAS2, where nothing failed: %+v", failed.results)
	}
	for _, name := range batchDevices {
		if p := got[name]; name != "CLIENT10" && (p.err != nil || fmt.Sprint(p.results) != fmt.Sprint(want[name])) {
			t.Errorf("%s beside a failing device = %+v, %v; want %+v", name, p.results, p.err, want[name])
		}
	}
	still, err := l.cluster.GetDeviceSAs(ctx, deviceIdentities("CLIENT10"))
	if err != nil || len(still["RAS1"].MainMode) != 2 {
		t.Errorf("CLIENT10's SAs on RAS1 after its removal failed = %+v, %v; want both still there", still["RAS1"], err)
	}
	if n := l.scripts["RAS1"].count("purge-device/v1"); n != 0 {
		t.Errorf("RAS1 ran purge-device/v1 %d times: a device that failed inside a batch that ran is never sent again", n)
	}
}

// A batch whose reply is lost after the server ran it is outcome unknown for every device of it, on that server
// only, and is sent neither again nor per device, even by clients that retry transient failures.
func TestLabLostReplyOfABatchIsOutcomeUnknownForEveryDevice(t *testing.T) {
	l := newLab(t)
	l.retrying(t)
	ctx := deadline(t, time.Minute)
	l.loseReplyOf("RAS1", "purge-devices/v1")

	got := purgeAtOnce(ctx, l.cluster, batchDevices)
	for _, name := range batchDevices {
		p := got[name]
		if !errors.Is(p.err, winrm.ErrOutcomeUnknown) || !slices.Equal(remoteaccess.FailedServers(p.err), []string{"RAS1"}) {
			t.Errorf("%s in the lost batch: %v; want outcome unknown on RAS1 only", name, p.err)
		}
		if _, ok := p.results["RAS2"]; !ok {
			t.Errorf("%s has no result for RAS2, whose batch answered: %+v", name, p.results)
		}
	}
	if n, alone := l.scripts["RAS1"].count("purge-devices/v1"), l.scripts["RAS1"].count("purge-device/v1"); n != 1 || alone != 0 {
		t.Errorf("RAS1 ran purge-devices/v1 %d times and purge-device/v1 %d times; want the batch once and nothing else", n, alone)
	}
}

// A batch that the server refused before running it (the quota fault on its Command) provably touched nothing: each
// device is then purged by itself, with purge-device/v1, and gets its own result.
func TestLabRefusedBatchIsSentAgainPerDevice(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, time.Minute)
	want := expectedPurges(t, ctx, l, batchDevices)
	l.servers["RAS1"].Faults().SetQuotaNextOf("Command", 1)

	got := purgeAtOnce(ctx, l.cluster, batchDevices)
	for _, name := range batchDevices {
		if p := got[name]; p.err != nil || fmt.Sprint(p.results) != fmt.Sprint(want[name]) {
			t.Errorf("%s after its batch was refused = %+v, %v; want %+v", name, p.results, p.err, want[name])
		}
	}
	if n, alone := l.scripts["RAS1"].count("purge-devices/v1"), l.scripts["RAS1"].count("purge-device/v1"); n != 0 || alone != len(batchDevices) {
		t.Errorf("RAS1 ran purge-devices/v1 %d times and purge-device/v1 %d times; want the refused batch never run and one purge per device", n, alone)
	}
}

// Two purges of one device in one batch (two blocks of the same account, from two configurations): the first
// removes its SAs, the second finds them gone, which is neither a removal nor a failure.
func TestLabSameDeviceTwiceInABatchRemovesOnce(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, time.Minute)
	c := l.cluster.WithPurgeBatcher(&remoteaccess.PurgeBatcher{Window: time.Hour, MaxDevices: 2})
	removed := make(chan int, 2)
	for range 2 {
		go func() {
			results, err := c.PurgeDevice(ctx, client1, "CLIENT1", true)
			if err != nil {
				t.Error(err)
			}
			removed <- results["RAS1"].MainModeRemoved
		}()
	}
	first, second := <-removed, <-removed
	if first+second != 2 || first*second != 0 {
		t.Errorf("CLIENT1 purged twice in one batch removed %d and %d main-mode SAs on RAS1; want 2 and 0", first, second)
	}
	if n := l.scripts["RAS1"].count("purge-devices/v1"); n != 1 {
		t.Errorf("RAS1 ran purge-devices/v1 %d times, want one batch", n)
	}
}

// A verify window's poll that finds purges waiting on a server rides their batch: one PowerShell run per server
// purges CLIENT1 and CLIENT2, then lists the server for the watched devices, as the purges left it (CLIENT1's SAs
// gone, its neighbour CLIENT10's still there), and no get-ipsec-sas/v1 runs.
func TestLabPollRidesTheBatchAndSeesTheServerAfterItsPurges(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, time.Minute)
	b := &remoteaccess.PurgeBatcher{Window: time.Hour, MaxDevices: 2}
	c := l.cluster.WithPurgeBatcher(b)
	servers := c.Servers()
	waitFor := func(what string, count func(server string, r remoteaccess.Runner) int) {
		t.Helper()
		for _, s := range servers {
			for count(s, l.clients[s]) != 1 {
				if ctx.Err() != nil {
					t.Fatalf("%s on %s: %v", what, s, ctx.Err())
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	purged := make(chan error, 2)
	purge := func(name string) {
		_, err := c.PurgeDevice(ctx, deviceIdentities(name), name, true)
		purged <- err
	}
	go purge("CLIENT1")
	waitFor("CLIENT1's purge waiting", b.PurgesWaiting)
	hub := &remoteaccess.VerifyHub{Interval: time.Hour}
	type watch struct {
		verdicts map[string]remoteaccess.ServerVerdict
		err      error
	}
	looked := make(chan watch, 1)
	go func() {
		verdicts, err := hub.Watch(ctx, c, append(deviceIdentities("CLIENT1"), deviceIdentities("CLIENT10")...), true, time.Millisecond)
		looked <- watch{verdicts, err}
	}()
	waitFor("the look waiting", b.LooksWaiting)
	go purge("CLIENT2") // fills each server's batch
	if err := errors.Join(<-purged, <-purged); err != nil {
		t.Fatal(err)
	}
	got := <-looked
	if got.err != nil {
		t.Fatal(got.err)
	}
	ras1 := got.verdicts["RAS1"]
	var seen []string
	for _, sa := range ras1.Returned {
		seen = append(seen, sa.RemoteFirstID)
	}
	if ras1.Polls != 1 || fmt.Sprint(seen) != `[CORP\CLIENT10$ CORP\CLIENT10$]` {
		t.Errorf("RAS1 as the batch's look saw it: %d polls, SAs of %v; want one poll, CLIENT1's SAs gone and CLIENT10's two", ras1.Polls, seen)
	}
	for _, s := range servers {
		if n, looks := l.scripts[s].count("purge-devices/v1"), l.scripts[s].count("get-ipsec-sas/v1"); n != 1 || looks != 0 {
			t.Errorf("%s ran purge-devices/v1 %d times and get-ipsec-sas/v1 %d times; want one batch and no look of its own", s, n, looks)
		}
	}
}
