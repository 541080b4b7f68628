package remoteaccess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// A purge whose caller gives up while it waits for its batch is taken out of it and never sent; the batch goes
// without it.
func TestBatcherWithdrawsAPurgeNotSentYet(t *testing.T) {
	r := answer(`{"devices":[{"main_mode_removed":1,"indeterminate":false},{"main_mode_removed":2,"indeterminate":false}]}`)
	b := &PurgeBatcher{Window: time.Hour, MaxDevices: 2}
	in := func(name string) purgeDeviceInput {
		return purgeDeviceInput{Identities: []string{`CORP\` + name + `$`}}
	}

	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := b.purge(ctx, "RAS1", r, in("GONE"))
		gone <- err
	}()
	for b.PurgesWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond) // until the purge is queued: the batch is sent only once it holds two
	}
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("the withdrawn purge: %v; want not sent, cancelled", err)
	}

	results := make(chan int, 2)
	for _, name := range []string{"KEPT1", "KEPT2"} {
		go func() {
			res, err := b.purge(context.Background(), "RAS1", r, in(name))
			if err != nil {
				t.Error(err)
			}
			results <- res.MainModeRemoved
		}()
	}
	if got := <-results + <-results; got != 3 {
		t.Errorf("the two purges of the batch removed %d in all, want 1 + 2", got)
	}
	sent := r.sent()
	if len(sent) != 1 || sent[0].script != "purge-devices/v1" || strings.Contains(sent[0].input, "GONE") ||
		!strings.Contains(sent[0].input, "KEPT1") || !strings.Contains(sent[0].input, "KEPT2") {
		t.Errorf("sent %+v; want one batch of KEPT1 and KEPT2, without the withdrawn purge", sent)
	}
}

// A batch's answer whose entry for a device has no verdict (null, or empty) fails that device as malformed output:
// decoded, it would read as a purge that found nothing, with certainty.
func TestBatchEntryWithoutAVerdictIsMalformed(t *testing.T) {
	r := answer(`{"devices":[null,{}]}`)
	b := &PurgeBatcher{Window: time.Hour, MaxDevices: 2}
	errs := make(chan error, 2)
	for _, name := range []string{"CLIENT1", "CLIENT2"} {
		go func() {
			_, err := b.purge(context.Background(), "RAS1", r, purgeDeviceInput{Identities: []string{`CORP\` + name + `$`}})
			errs <- err
		}()
	}
	for range 2 {
		var werr *winrm.Error
		if err := <-errs; !errors.As(err, &werr) || werr.Kind != winrm.KindMalformedOutput || !strings.Contains(err.Error(), "has no verdict") {
			t.Errorf("a device whose entry has no verdict: %v; want malformed output", err)
		}
	}
}

// A purge withdrawn while it waits alone for its window leaves nothing to send when the window ends, and the
// batcher forgets the server.
func TestBatcherSendsNothingWhenTheOnlyPurgeIsWithdrawn(t *testing.T) {
	r := answer(`{"devices":[{"main_mode_removed":1,"indeterminate":false}]}`)
	b := &PurgeBatcher{Window: time.Second} // far longer than the withdrawal takes
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.purge(ctx, "RAS1", r, purgeDeviceInput{Identities: []string{`CORP\GONE$`}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("a purge whose context had ended: %v; want not sent, cancelled", err)
	}
	for !b.idle() {
		time.Sleep(10 * time.Millisecond) // until the window has ended and the batcher has let the server go
	}
	if sent := r.sent(); len(sent) != 0 {
		t.Errorf("sent %+v after the only purge was withdrawn", sent)
	}
}

// An answer that does not hold one entry per device sent is a failure for every device, not a guess at which entry
// is whose; and as the script ran, no device is sent again.
func TestBatcherRefusesAnAnswerOfTheWrongLength(t *testing.T) {
	r := answer(`{"devices":[{"main_mode_removed":1,"indeterminate":false}]}`)
	c, err := NewCluster(map[string]Runner{"RAS1": r})
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithPurgeBatcher(&PurgeBatcher{Window: time.Hour, MaxDevices: 2})
	errs := make(chan error, 2)
	for _, name := range []string{"A", "B"} {
		go func() {
			_, err := c.PurgeDevice(context.Background(), []string{`CORP\` + name + `$`}, "", false)
			errs <- err
		}()
	}
	for range 2 {
		var we *winrm.Error
		if err := <-errs; !errors.As(err, &we) || we.Kind != winrm.KindMalformedOutput {
			t.Errorf("a device of a batch answered for one of two: %v; want malformed output", err)
		}
	}
	if n := len(r.sent()); n != 1 {
		t.Errorf("%d runs, want the batch once", n)
	}
}

// idle reports whether the batcher holds no server.
func (b *PurgeBatcher) idle() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queues) == 0
}

// clockedRunner answers purge-devices/v1 with one entry per device sent and records when each run started.
type clockedRunner struct {
	mu     sync.Mutex
	starts []time.Time
}

func (c *clockedRunner) Run(_ context.Context, _ winrm.Script, input, output any) error {
	c.mu.Lock()
	c.starts = append(c.starts, time.Now())
	c.mu.Unlock()
	n := len(input.(purgeDevicesInput).Devices)
	return json.Unmarshal([]byte(`{"devices":[`+strings.TrimSuffix(strings.Repeat(`{"main_mode_removed":1,"indeterminate":false},`, n), ",")+`]}`), output)
}

func (c *clockedRunner) Check(context.Context) error { return nil }

func (c *clockedRunner) runs() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.starts)
}

// Batches that are not full are spaced: a purge that comes right after a batch started waits for the spacing to
// end (so that purges that keep coming share runs), while the first purge of a quiet server goes after the window.
func TestBatchesThatAreNotFullAreSpaced(t *testing.T) {
	r := &clockedRunner{}
	const spacing = 300 * time.Millisecond
	b := &PurgeBatcher{Window: time.Millisecond, Spacing: spacing}
	for _, name := range []string{"FIRST", "SECOND"} {
		if _, err := b.purge(context.Background(), "RAS1", r, purgeDeviceInput{Identities: []string{`CORP\` + name + `$`}}); err != nil {
			t.Fatal(err)
		}
	}
	starts := r.runs()
	if len(starts) != 2 {
		t.Fatalf("%d runs; want two batches of one", len(starts))
	}
	if gap := starts[1].Sub(starts[0]); gap < spacing {
		t.Errorf("the second batch started %s after the first; want at least the spacing, %s", gap, spacing)
	}
}

// Purges that keep arriving, each within a Window of the one before, share one batch: the blocks of a mass incident
// start together but not at once, and one that just missed a batch would wait for the whole next one.
func TestPurgesStillArrivingShareOneBatch(t *testing.T) {
	r := &clockedRunner{}
	b := &PurgeBatcher{Window: 500 * time.Millisecond, Gather: time.Minute}
	var wg sync.WaitGroup
	for i := range 10 { // over two Windows in all, each a fifth of a Window after the one before
		wg.Go(func() {
			if _, err := b.purge(context.Background(), "RAS1", r, purgeDeviceInput{Identities: []string{fmt.Sprintf(`CORP\DEV%d$`, i)}}); err != nil {
				t.Error(err)
			}
		})
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	if n := len(r.runs()); n != 1 {
		t.Errorf("%d runs; want the ten purges in one batch", n)
	}
}

// Gathering is bounded: purges that never stop arriving do not hold a batch back past Gather (its Window then
// ends at the bound, not a Window later).
func TestGatheringEndsAfterGather(t *testing.T) {
	r := &clockedRunner{}
	b := &PurgeBatcher{Window: 200 * time.Millisecond, Gather: 400 * time.Millisecond, MaxDevices: 1000}
	var wg sync.WaitGroup
	var last time.Time
	for i := range 150 { // a purge every 10 ms for a second and a half: never a Window without one
		wg.Go(func() {
			if _, err := b.purge(context.Background(), "RAS1", r, purgeDeviceInput{Identities: []string{fmt.Sprintf(`CORP\DEV%d$`, i)}}); err != nil {
				t.Error(err)
			}
		})
		last = time.Now()
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	if runs := r.runs(); len(runs) == 0 || !runs[0].Before(last) {
		t.Errorf("runs started at %v; want the first before the purges stopped arriving (%v)", runs, last)
	}
}

// A batch that the waiting purges fill goes at once, whatever the spacing.
func TestAFullBatchIsNotSpaced(t *testing.T) {
	r := &clockedRunner{}
	b := &PurgeBatcher{Window: time.Millisecond, Spacing: time.Hour, MaxDevices: 2}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // far below the spacing
	defer cancel()
	if _, err := b.purge(ctx, "RAS1", r, purgeDeviceInput{Identities: []string{`CORP\FIRST$`}}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, name := range []string{"A", "B"} {
		go func() {
			_, err := b.purge(ctx, "RAS1", r, purgeDeviceInput{Identities: []string{`CORP\` + name + `$`}})
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a purge of the full batch: %v; want it sent at once, not after the spacing", err)
		}
	}
	if n := len(r.runs()); n != 2 {
		t.Errorf("%d runs; want the first batch and the full one", n)
	}
}
