package remoteaccess

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// lookIn is a device look of one device, as VerifyHub's device pollers ask.
func lookIn(name string) func() identitiesInput {
	return func() identitiesInput {
		return identitiesInput{Identities: []string{`CORP\` + name + `$`}, Device: true}
	}
}

func deviceIn(name string) purgeDeviceInput {
	return purgeDeviceInput{Identities: []string{`CORP\` + name + `$`}}
}

// startPurge sends a purge in the background and returns where its outcome arrives.
func startPurge(b *PurgeBatcher, r Runner, name string) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := b.purge(context.Background(), "RAS1", r, deviceIn(name))
		done <- err
	}()
	return done
}

// A look that arrives while a purge waits for its batch rides that batch: one PowerShell run purges the devices
// and then lists the server for the look, whose answer is the batch's listing.
func TestALookRidesTheBatchThatPurgesWaitFor(t *testing.T) {
	r := answer(`{"devices":[{"main_mode_removed":1,"indeterminate":false},{"main_mode_removed":1,"indeterminate":false}],` +
		`"look":{"indeterminate":false,"main_mode":[{"name":"7","remote_first_id":"CORP\\LOOKED$","matched_by":"identity"}],"vpn_connections":[]},"look_error":null}`)
	b := &PurgeBatcher{Window: time.Hour, MaxDevices: 2}
	first := startPurge(b, r, "A")
	for b.PurgesWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond)
	}
	looked := make(chan IPsecSAs, 1)
	go func() {
		sas, rode, err := b.look(context.Background(), "RAS1", r, lookIn("LOOKED"), nil)
		if err != nil || !rode {
			t.Errorf("the look: rode %v, %v", rode, err)
		}
		looked <- sas
	}()
	for b.LooksWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond)
	}
	second := startPurge(b, r, "B") // fills the batch
	if err := errors.Join(<-first, <-second); err != nil {
		t.Fatal(err)
	}
	if sas := <-looked; len(sas.MainMode) != 1 || sas.MainMode[0].RemoteFirstID != `CORP\LOOKED$` {
		t.Errorf("the look got %+v, want the batch's listing", sas)
	}
	sent := r.sent()
	if len(sent) != 1 || sent[0].script != "purge-devices/v1" ||
		!strings.Contains(sent[0].input, `"look":{"identities":["CORP\\LOOKED$"],"device":true}`) {
		t.Errorf("sent %+v; want one batch that carries the look", sent)
	}
}

// With no purge waiting, a look runs by itself at once.
func TestALookWithNoBatchToRideRunsAlone(t *testing.T) {
	r := answer(`{"indeterminate":false,"main_mode":[],"vpn_connections":[]}`)
	b := &PurgeBatcher{Window: time.Hour}
	if _, rode, err := b.look(context.Background(), "RAS1", r, lookIn("LOOKED"), nil); err != nil || rode {
		t.Fatalf("look: rode %v, %v; want a run of its own", rode, err)
	}
	if sent := r.sent(); len(sent) != 1 || sent[0].script != "get-ipsec-sas/v1" {
		t.Errorf("sent %+v; want one get-ipsec-sas/v1 run", sent)
	}
}

// A look names what it looks for when its batch is sent: a watcher that joined the poll while it waited for the
// batch is in it (its purge ended before it joined, so before the batch lists the server).
func TestALookTakesWhatJoinedWhileItWaited(t *testing.T) {
	r := answer(`{"devices":[{"main_mode_removed":1,"indeterminate":false},{"main_mode_removed":1,"indeterminate":false}],"look":{"indeterminate":false,"main_mode":[],"vpn_connections":[]},"look_error":null}`)
	b := &PurgeBatcher{Window: time.Hour, MaxDevices: 2}
	first := startPurge(b, r, "A")
	for b.PurgesWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond)
	}
	var mu sync.Mutex
	watched := []string{`CORP\EARLY$`}
	collect := func() identitiesInput {
		mu.Lock()
		defer mu.Unlock()
		return identitiesInput{Identities: slices.Clone(watched), Device: true}
	}
	looked := make(chan error, 1)
	go func() {
		_, _, err := b.look(context.Background(), "RAS1", r, collect, nil)
		looked <- err
	}()
	for b.LooksWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	watched = append(watched, `CORP\LATE$`)
	mu.Unlock()
	second := startPurge(b, r, "B")
	if err := errors.Join(<-first, <-second, <-looked); err != nil {
		t.Fatal(err)
	}
	if sent := r.sent(); len(sent) != 1 || !strings.Contains(sent[0].input, `"look":{"identities":["CORP\\EARLY$","CORP\\LATE$"],"device":true}`) {
		t.Errorf("sent %+v; want the batch's look to name the watcher that joined while it waited", sent)
	}
}

// rideOneBatch queues a purge, then a look, then fills the batch with a second purge, and returns the look's answer.
func rideOneBatch(t *testing.T, r *fakeRunner) (IPsecSAs, error) {
	t.Helper()
	b := &PurgeBatcher{Window: time.Hour, MaxDevices: 2}
	first := startPurge(b, r, "A")
	for b.PurgesWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond)
	}
	type answer struct {
		sas IPsecSAs
		err error
	}
	looked := make(chan answer, 1)
	go func() {
		sas, _, err := b.look(context.Background(), "RAS1", r, lookIn("LOOKED"), nil)
		looked <- answer{sas, err}
	}()
	for b.LooksWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond)
	}
	second := startPurge(b, r, "B")
	_, _ = <-first, <-second // the purges' own outcomes are the batcher tests' business
	a := <-looked
	return a.sas, a.err
}

// A batch whose reply is lost is a failed poll for its look, never an empty listing (which would verify the block),
// and is not sent again.
func TestALookOfALostBatchIsAFailedPoll(t *testing.T) {
	lost := &winrm.Error{Kind: winrm.KindTimeout, Server: "RAS1", Script: "purge-devices/v1", OutcomeUnknown: true}
	r := &fakeRunner{result: func(string) (string, error) { return "", lost }}
	if _, err := rideOneBatch(t, r); !errors.Is(err, winrm.ErrOutcomeUnknown) {
		t.Errorf("the look of a lost batch: %v; want the batch's outcome-unknown error", err)
	}
	if sent := r.sent(); len(sent) != 1 {
		t.Errorf("sent %+v; want the batch once, and no look after it", sent)
	}
}

// A batch that provably never reached the server leaves its look to run by itself.
func TestALookOfABatchNeverSentRunsAlone(t *testing.T) {
	r := &fakeRunner{result: func(script string) (string, error) {
		switch script {
		case "purge-devices/v1":
			return "", &winrm.Error{Kind: winrm.KindUnreachable, Server: "RAS1", Script: script}
		case "get-ipsec-sas/v1":
			return `{"indeterminate":false,"main_mode":[{"name":"9"}],"vpn_connections":[]}`, nil
		}
		return `{"main_mode_removed":0,"indeterminate":false}`, nil
	}}
	sas, err := rideOneBatch(t, r)
	if err != nil || len(sas.MainMode) != 1 {
		t.Errorf("the look of a batch never sent: %+v, %v; want its own listing", sas, err)
	}
	looks := 0
	for _, c := range r.sent() {
		if c.script == "get-ipsec-sas/v1" {
			looks++
		}
	}
	if looks != 1 {
		t.Errorf("sent %+v; want one get-ipsec-sas/v1 run for the look", r.sent())
	}
}

// A look that fails inside its batch is that look's failure: the devices keep their results.
func TestALookThatFailsInItsBatchFailsAlone(t *testing.T) {
	r := answer(`{"devices":[{"main_mode_removed":1,"indeterminate":false},{"main_mode_removed":1,"indeterminate":false}],"look":null,` +
		`"look_error":{"category":"ResourceUnavailable","message":"the IPsec service did not answer","target":"RAS1"}}`)
	_, err := rideOneBatch(t, r)
	var we *winrm.Error
	if !errors.As(err, &we) || we.Kind != winrm.KindScript || we.Category != "ResourceUnavailable" {
		t.Errorf("the failed look: %v; want its script error", err)
	}
}

// A look whose caller gives up while it waits for its batch is taken out of it; the batch goes without it.
func TestALookWithdrawnBeforeItsBatchIsNotSent(t *testing.T) {
	r := answer(`{"devices":[{"main_mode_removed":1,"indeterminate":false},{"main_mode_removed":1,"indeterminate":false}],"look":null,"look_error":null}`)
	b := &PurgeBatcher{Window: time.Hour, MaxDevices: 2}
	first := startPurge(b, r, "A")
	for b.PurgesWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, _, err := b.look(ctx, "RAS1", r, lookIn("GONE"), nil)
		gone <- err
	}()
	for b.LooksWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("the withdrawn look: %v; want not sent, cancelled", err)
	}
	second := startPurge(b, r, "B")
	if err := errors.Join(<-first, <-second); err != nil {
		t.Fatal(err)
	}
	if sent := r.sent(); len(sent) != 1 || strings.Contains(sent[0].input, "look") {
		t.Errorf("sent %+v; want one batch without a look", sent)
	}
}

// queueLook queues a look behind a waiting purge and returns the purge's and the look's outcomes.
func queueLook(t *testing.T, b *PurgeBatcher, r *fakeRunner, purgeCtx, lookCtx context.Context, hurry chan struct{}) (chan error, chan lookOutcome) {
	t.Helper()
	purged := make(chan error, 1)
	go func() {
		_, err := b.purge(purgeCtx, "RAS1", r, deviceIn("A"))
		purged <- err
	}()
	for b.PurgesWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond)
	}
	looked := make(chan lookOutcome, 1)
	go func() {
		sas, rode, err := b.look(lookCtx, "RAS1", r, lookIn("LOOKED"), hurry)
		looked <- lookOutcome{sas, rode, err}
	}()
	for b.LooksWaiting("RAS1", r) != 1 {
		time.Sleep(time.Millisecond)
	}
	return purged, looked
}

type lookOutcome struct {
	sas  IPsecSAs
	rode bool
	err  error
}

// A look whose purges are all withdrawn before their batch goes has no batch to ride: it runs alone.
func TestALookRunsAloneWhenItsPurgesAreWithdrawn(t *testing.T) {
	r := answer(`{"indeterminate":false,"main_mode":[{"name":"1"}],"vpn_connections":[]}`)
	b := &PurgeBatcher{Window: time.Hour, MaxDevices: 2}
	ctx, cancel := context.WithCancel(context.Background())
	purged, looked := queueLook(t, b, r, ctx, context.Background(), nil)
	cancel()
	if err := <-purged; !errors.Is(err, context.Canceled) {
		t.Fatalf("the withdrawn purge: %v", err)
	}
	if got := <-looked; got.err != nil || got.rode || len(got.sas.MainMode) != 1 {
		t.Errorf("the look left alone: %+v; want its own listing", got)
	}
	if sent := r.sent(); len(sent) != 1 || sent[0].script != "get-ipsec-sas/v1" {
		t.Errorf("sent %+v; want the look's own get-ipsec-sas/v1 run and no batch", sent)
	}
}

// A look released to run alone after its own context ended is a failed poll, not an empty listing.
func TestALookReleasedAfterItsContextEndedFails(t *testing.T) {
	r := answer(`{"indeterminate":false,"main_mode":[],"vpn_connections":[]}`)
	b := &PurgeBatcher{Window: time.Hour, MaxDevices: 2}
	lookCtx, cancelLook := context.WithCancel(context.Background())
	purgeCtx, cancelPurge := context.WithCancel(context.Background())
	defer cancelPurge()
	_, looked := queueLook(t, b, r, purgeCtx, lookCtx, nil)
	b.mu.Lock() // the look's context ends and the look is released to run alone at the same moment
	cancelLook()
	releaseLooksLocked(b.queues[batchKey{server: "RAS1", runner: r}])
	b.mu.Unlock()
	if got := <-looked; got.err == nil || !errors.Is(got.err, context.Canceled) {
		t.Errorf("the look: %+v; want a failed poll (cancelled)", got)
	}
	for _, c := range r.sent() {
		if c.script == "get-ipsec-sas/v1" {
			t.Errorf("sent %+v after the look's context ended", c)
		}
	}
}

// A snapshot that cannot wait for a batch hurries the poll: a look not sent yet leaves its batch and runs alone.
func TestAHurriedLookLeavesItsBatch(t *testing.T) {
	r := &fakeRunner{result: func(script string) (string, error) {
		if script == "get-ipsec-sas/v1" {
			return `{"indeterminate":false,"main_mode":[{"name":"1"}],"vpn_connections":[]}`, nil
		}
		return `{"devices":[{"main_mode_removed":1,"indeterminate":false},{"main_mode_removed":1,"indeterminate":false}],"look":null,"look_error":null}`, nil
	}}
	b := &PurgeBatcher{Window: time.Hour, MaxDevices: 2}
	hurry := make(chan struct{}, 1)
	first, looked := queueLook(t, b, r, context.Background(), context.Background(), hurry)
	hurry <- struct{}{}
	if got := <-looked; got.err != nil || got.rode || len(got.sas.MainMode) != 1 {
		t.Errorf("the hurried look: %+v; want its own listing at once", got)
	}
	second := startPurge(b, r, "B")
	if err := errors.Join(<-first, <-second); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.sent() {
		if c.script == "purge-devices/v1" && strings.Contains(c.input, "look") {
			t.Errorf("the batch still carried the hurried look: %+v", c)
		}
	}
}

// A look the batch's answer holds in a shape that does not read fails the look alone: the devices keep their results.
func TestALookThatDoesNotReadFailsAlone(t *testing.T) {
	// A listing that is not one, and one without its verdict, which would read as a certain "nothing there".
	for _, look := range []string{`"not a listing"`, `{"main_mode":[],"vpn_connections":[]}`} {
		r := answer(`{"devices":[{"main_mode_removed":1,"indeterminate":false},{"main_mode_removed":1,"indeterminate":false}],"look":` + look + `,"look_error":null}`)
		b := &PurgeBatcher{Window: time.Hour, MaxDevices: 2}
		first, looked := queueLook(t, b, r, context.Background(), context.Background(), nil)
		second := startPurge(b, r, "B")
		if err := errors.Join(<-first, <-second); err != nil {
			t.Errorf("the devices of a batch whose look is %s: %v; want their results", look, err)
		}
		var we *winrm.Error
		if got := <-looked; !errors.As(got.err, &we) || we.Kind != winrm.KindMalformedOutput {
			t.Errorf("the look %s: %+v; want malformed output", look, got)
		}
	}
}
