package remoteaccess

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// unverified lists the servers whose verdict is not Verified, sorted.
func unverified(verdicts map[string]ServerVerdict) []string {
	var names []string
	for server, v := range verdicts {
		if !v.Verified() {
			names = append(names, server)
		}
	}
	slices.Sort(names)
	return names
}

func TestWatchNamesTheServersWhereSAsCameBack(t *testing.T) {
	down := &fakeRunner{result: func(string) (string, error) { return "", errUnreachable }}
	// RAS2 is clean at first, then its client re-establishes: a watch must not stop at the first clean poll.
	var polls atomic.Int32
	comesBack := &fakeRunner{result: func(string) (string, error) {
		if polls.Add(1) < 3 {
			return `{"indeterminate":false,"main_mode":[],"quick_mode_count":0}`, nil
		}
		return `{"indeterminate":false,"main_mode":[{"name":"9","remote_first_id":"CORP\\CLIENT1$"}],"quick_mode_count":2}`, nil
	}}
	c, err := NewCluster(map[string]Runner{"RAS1": sasRunner(0), "RAS2": comesBack, "RAS3": down})
	if err != nil {
		t.Fatal(err)
	}
	hub := &VerifyHub{Interval: 5 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	verdicts, err := hub.Watch(ctx, c, []string{`CORP\CLIENT1$`}, true, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if got := unverified(verdicts); !slices.Equal(got, []string{"RAS2", "RAS3"}) {
		t.Errorf("unverified servers %q, want RAS2 (SAs came back) and RAS3 (never answered)", got)
	}
	if v := verdicts["RAS2"]; len(v.Returned) == 0 || v.Returned[0].Name != "9" {
		t.Errorf("RAS2's verdict %+v: want the SA that came back", v)
	}
	if v := verdicts["RAS3"]; v.Polls != 0 || !errors.Is(v.Err, errUnreachable) {
		t.Errorf("RAS3's verdict %+v: want no completed poll and its error", v)
	}
	if _, err := hub.Watch(ctx, c, nil, true, time.Millisecond); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Watch without identities: %v", err)
	}
}

// A server that answered the window's first polls and then stopped answering (its polls fail, or hang) is not
// verified, whatever those polls showed: the target may have come back there unseen. One whose polls fail at the end
// of the window is waited for, and verified when it answers again within one more poll.
func TestWatchDoesNotVerifyAServerThatStoppedAnswering(t *testing.T) {
	const window = 100 * time.Millisecond
	clean := `{"indeterminate":false,"main_mode":[],"quick_mode_count":0}`
	var stopsPolls, backPolls atomic.Int32
	stops := &fakeRunner{result: func(string) (string, error) {
		if stopsPolls.Add(1) <= 2 {
			return clean, nil
		}
		return "", errUnreachable
	}}
	start := time.Now()
	back := &fakeRunner{result: func(string) (string, error) {
		if backPolls.Add(1) > 1 && time.Since(start) < window+50*time.Millisecond {
			return "", errUnreachable // from its second poll until after the window
		}
		return clean, nil
	}}
	var hangsPolls atomic.Int32
	hangs := &fakeRunner{resultCtx: func(ctx context.Context, _ string) (string, error) {
		if hangsPolls.Add(1) == 1 {
			return clean, nil
		}
		<-ctx.Done() // until the poll's timeout
		return "", ctx.Err()
	}}
	c, err := NewCluster(map[string]Runner{"RAS1": sasRunner(0), "RAS2": stops, "RAS3": back, "RAS4": hangs})
	if err != nil {
		t.Fatal(err)
	}
	// The grace after the window (a poll's timeout) is far longer than RAS3 takes to answer again.
	hub := &VerifyHub{Interval: 5 * time.Millisecond, PollTimeout: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	verdicts, err := hub.Watch(ctx, c, []string{`CORP\CLIENT1$`}, true, window)
	if err != nil {
		t.Fatal(err)
	}
	if got := unverified(verdicts); !slices.Equal(got, []string{"RAS2", "RAS4"}) {
		t.Errorf("unverified servers %q, want RAS2 and RAS4 (they stopped answering); RAS3 answered again after the window", got)
	}
	if v := verdicts["RAS4"]; v.Polls != 1 || (v.Err == nil && !v.Overdue) {
		t.Errorf("RAS4's verdict %+v: want its one clean poll, and the hung poll's timeout or overdue", v)
	}
	if v := verdicts["RAS2"]; v.Polls != 2 || !errors.Is(v.Err, errUnreachable) {
		t.Errorf("RAS2's verdict %+v: want its two clean polls and the error of the last", v)
	}
}

// What a server's polls see while the window's end waits for another server counts: SAs that came back then are
// named, though the server had answered lately when the window ended.
func TestWatchCountsWhatComesBackWhileAnotherServerIsWaitedFor(t *testing.T) {
	const window = 100 * time.Millisecond
	start := time.Now()
	comesBack := &fakeRunner{result: func(string) (string, error) {
		if time.Since(start) < window+50*time.Millisecond {
			return `{"indeterminate":false,"main_mode":[],"quick_mode_count":0}`, nil
		}
		return `{"indeterminate":false,"main_mode":[{"name":"9","remote_first_id":"CORP\\CLIENT1$"}],"quick_mode_count":2}`, nil
	}}
	var hangsPolls atomic.Int32
	hangs := &fakeRunner{resultCtx: func(ctx context.Context, _ string) (string, error) {
		if hangsPolls.Add(1) == 1 {
			return `{"indeterminate":false,"main_mode":[],"quick_mode_count":0}`, nil
		}
		<-ctx.Done()
		return "", ctx.Err()
	}}
	c, err := NewCluster(map[string]Runner{"RAS1": comesBack, "RAS2": hangs})
	if err != nil {
		t.Fatal(err)
	}
	hub := &VerifyHub{Interval: 5 * time.Millisecond, PollTimeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	verdicts, err := hub.Watch(ctx, c, []string{`CORP\CLIENT1$`}, true, window)
	if err != nil {
		t.Fatal(err)
	}
	if v := verdicts["RAS1"]; v.Verified() || len(v.Returned) == 0 {
		t.Errorf("RAS1's verdict %+v: want the SA that came back while RAS2 was waited for", v)
	}
	if v := verdicts["RAS2"]; v.Verified() {
		t.Errorf("RAS2's verdict %+v: want it unverified (it hung)", v)
	}
}

// countingRunner answers get-ipsec-sas with one main-mode SA per identity asked about, and counts its runs and
// the largest number of runs at once.
type countingRunner struct {
	delay              time.Duration
	runs, running, max atomic.Int32
	fail               error
}

func (r *countingRunner) runner() *fakeRunner {
	f := &fakeRunner{}
	f.resultCtx = func(ctx context.Context, _ string) (string, error) {
		r.runs.Add(1)
		n := r.running.Add(1)
		defer r.running.Add(-1)
		for m := r.max.Load(); n > m && !r.max.CompareAndSwap(m, n); m = r.max.Load() {
		}
		select {
		case <-time.After(r.delay):
		case <-ctx.Done(): // a cancelled run ends, as WinRM's does once it has signalled the command
			return "", ctx.Err()
		}
		if r.fail != nil {
			return "", r.fail
		}
		calls := f.sent()
		input := calls[len(calls)-1].input
		var sas []string
		for i := range 200 {
			id := fmt.Sprintf(`CORP\\DEV%d$`, i) // as JSON writes it
			if strings.Contains(input, `"`+id+`"`) {
				sas = append(sas, fmt.Sprintf(`{"name":"%d","remote_first_id":"%s","quick_mode_count":2}`, i, id))
			}
		}
		return `{"indeterminate":false,"main_mode":[` + strings.Join(sas, ",") + `],"quick_mode_count":0}`, nil
	}
	return f
}

// Many previews at once (the plan of many new blocks) share the polls of each server, and each sees only its own
// device's SAs.
func TestSnapshotsShareOnePollPerServer(t *testing.T) {
	ras1, ras2 := &countingRunner{delay: 20 * time.Millisecond}, &countingRunner{delay: 20 * time.Millisecond}
	c, err := NewCluster(map[string]Runner{"RAS1": ras1.runner(), "RAS2": ras2.runner()})
	if err != nil {
		t.Fatal(err)
	}
	hub := &VerifyHub{Interval: time.Hour} // a snapshot must not wait for the interval
	const blocks = 50
	var wg sync.WaitGroup
	for i := range blocks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			id := fmt.Sprintf(`CORP\DEV%d$`, i)
			sas, err := hub.Snapshot(ctx, c, []string{id}, true)
			if err != nil || len(sas) != 2 {
				t.Errorf("Snapshot of %s = %+v, %v; want both servers", id, sas, err)
				return
			}
			for server, s := range sas {
				if len(s.MainMode) != 1 || s.MainMode[0].RemoteFirstID != id || s.QuickModeCount != 2 {
					t.Errorf("%s on %s: %+v; want its own SA only", id, server, s)
				}
			}
		})
	}
	wg.Wait()
	for name, r := range map[string]*countingRunner{"RAS1": ras1, "RAS2": ras2} {
		if runs := r.runs.Load(); runs > blocks/5 {
			t.Errorf("%s: %d PowerShell runs for %d snapshots; want them shared", name, runs, blocks)
		}
		if m := r.max.Load(); m != 1 {
			t.Errorf("%s: %d polls at once; want one at a time", name, m)
		}
	}
}

// A snapshot on a server that fails names that server, and gives what the others answered.
func TestSnapshotNamesTheServersThatFailed(t *testing.T) {
	ok, down := &countingRunner{}, &countingRunner{fail: errUnreachable}
	c, err := NewCluster(map[string]Runner{"RAS1": ok.runner(), "RAS2": down.runner()})
	if err != nil {
		t.Fatal(err)
	}
	hub := &VerifyHub{Interval: time.Hour}
	sas, err := hub.Snapshot(context.Background(), c, []string{`CORP\DEV1$`}, true)
	if len(sas) != 1 || len(sas["RAS1"].MainMode) != 1 {
		t.Errorf("Snapshot = %+v; want RAS1's answer", sas)
	}
	if !errors.Is(err, errUnreachable) || !slices.Equal(FailedServers(err), []string{"RAS2"}) {
		t.Errorf("Snapshot error %v: want RAS2 unreachable", err)
	}
	if _, err := hub.Snapshot(context.Background(), c, nil, true); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Snapshot without identities: %v", err)
	}

	// A server that does not answer in time is named too, and the snapshot returns when ctx ends.
	slow := &countingRunner{delay: time.Hour}
	c, err = NewCluster(map[string]Runner{"RAS1": ok.runner(), "RAS3": slow.runner()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	sas, err = hub.Snapshot(ctx, c, []string{`CORP\DEV1$`}, true)
	if len(sas) != 1 || !errors.Is(err, context.DeadlineExceeded) || !slices.Equal(FailedServers(err), []string{"RAS3"}) {
		t.Errorf("Snapshot with RAS3 slow = %+v, %v; want RAS1's answer and RAS3 named", sas, err)
	}
	if waited := time.Since(start); waited > time.Minute {
		t.Errorf("Snapshot waited %s past its context (RAS3 answers after an hour)", waited)
	}
}

// A snapshot taken while a verify window watches the server joins its polls instead of adding runs, and starts the
// next poll at once rather than after the window's interval.
func TestSnapshotJoinsAVerifyWindowsPolls(t *testing.T) {
	r := &countingRunner{delay: 10 * time.Millisecond}
	c, err := NewCluster(map[string]Runner{"RAS1": r.runner()})
	if err != nil {
		t.Fatal(err)
	}
	// The window's interval is an hour, so that only the snapshot can start its second poll.
	hub := &VerifyHub{Interval: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		_, _ = hub.Watch(ctx, c, []string{`CORP\DEV1$`}, true, 2*time.Hour)
	}()
	for r.runs.Load() == 0 || r.running.Load() != 0 {
		time.Sleep(time.Millisecond) // until the window's first poll has ended and its poller pauses
	}
	start := time.Now()
	sas, err := hub.Snapshot(context.Background(), c, []string{`CORP\DEV2$`}, true)
	if err != nil || len(sas["RAS1"].MainMode) != 1 {
		t.Fatalf("Snapshot = %+v, %v", sas, err)
	}
	if waited := time.Since(start); waited > time.Minute {
		t.Errorf("Snapshot waited %s for the window's hour-long interval", waited)
	}
	if runs := r.runs.Load(); runs != 2 {
		t.Errorf("%d runs; want the window's first poll and one shared poll", runs)
	}
	cancel()
	<-watched
}

// A verify window cut short (Ctrl-C) returns only once the poll in flight has ended, which for WinRM means its
// command was signalled on the server: Terraform may stop the provider as soon as the block returns.
func TestWatchCutShortWaitsForThePollInFlight(t *testing.T) {
	var started, ended atomic.Bool
	slow := &fakeRunner{resultCtx: func(ctx context.Context, _ string) (string, error) {
		started.Store(true)
		<-ctx.Done()
		time.Sleep(200 * time.Millisecond) // signalling the command
		ended.Store(true)
		return "", ctx.Err()
	}}
	c, err := NewCluster(map[string]Runner{"RAS1": slow})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for !started.Load() {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := (&VerifyHub{}).Watch(ctx, c, []string{`CORP\DEV1$`}, true, time.Minute); err != nil {
		t.Fatal(err)
	}
	if !ended.Load() {
		t.Error("the verify window returned before its cancelled poll had ended")
	}
}
