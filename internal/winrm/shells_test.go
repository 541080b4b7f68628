package winrm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	masterzen "github.com/masterzen/winrm"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// These tests count shells on the lab's side: a shell the client forgets is still open there, and the lab, like
// Windows, allows an account 30 of them.

// allDeleted says whether the client has had an answer to a Delete for every shell it opened.
func allDeleted(c *winrm.Client) bool {
	s := c.Stats()
	return s.ShellsDeleted == s.ShellsOpened
}

// clientClosedByTheTest is a client that the test closes itself, to see what Close does.
func clientClosedByTheTest(t *testing.T, cfg winrm.Config) *winrm.Client {
	t.Helper()
	c, err := winrm.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openAfterClose closes c and returns the shells still open on srv when Close has returned.
func openAfterClose(t *testing.T, srv *wsman.Server, c *winrm.Client) int64 {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	return srv.Counters().OpenShells
}

// poolTwoShells runs two commands that overlap, so that c pools two shells (and two connections).
func poolTwoShells(t *testing.T, srv *wsman.Server, c *winrm.Client) {
	t.Helper()
	srv.Faults().SetStartLatency(300 * time.Millisecond)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { runEcho(t, c, nil) })
	}
	wg.Wait()
	srv.Faults().SetStartLatency(0)
}

// shortIdle is labConfig with pooled shells deleted after a short pause.
func shortIdle(srv *wsman.Server) winrm.Config {
	cfg := labConfig(srv)
	cfg.ShellIdle = 50 * time.Millisecond
	return cfg
}

func TestIdleShellsAreDeletedAfterAPause(t *testing.T) {
	srv := newLab(t, true)
	c, err := winrm.NewClient(shortIdle(srv)) // never closed: a provider process is stopped, not asked to clean up
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); runEcho(t, c, nil) }()
	}
	wg.Wait()
	runEcho(t, c, nil)
	poll.Until(t, "the lab has no open shell", func() bool { return srv.Counters().OpenShells == 0 })
	poll.Until(t, "the client counted the answers to its Deletes", func() bool { return allDeleted(c) })
	stats, counters := c.Stats(), srv.Counters()
	if stats.ShellsDeleted != stats.ShellsOpened || counters.Actions["Delete"] != stats.ShellsOpened || counters.ShellsExpired != 0 {
		t.Errorf("client %+v, lab %+v: want every shell the client opened deleted by the client", stats, counters)
	}
	if stats.ShellsReused == 0 {
		t.Errorf("stats = %+v: runs close together should reuse shells", stats)
	}
}

func TestCancelledRunDeletesItsShellAndSignalsTheCommand(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.ShellIdle = time.Hour // only the failure path may delete the shell
	c := newClient(t, cfg)
	runEcho(t, c, nil) // the hung run below reuses this pooled shell
	srv.Faults().SetHangCommands(true)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		poll.Until(t, "the command runs", func() bool { return srv.Counters().RunningCommands == 1 })
		cancel()
	}()
	wantKind(t, c.Run(ctx, script(t, "echo/v1"), nil, nil), winrm.KindCanceled)
	counters := srv.Counters()
	if counters.OpenShells != 0 || counters.RunningCommands != 0 {
		t.Errorf("after the cancelled run: %d shells open, %d commands running; want none", counters.OpenShells, counters.RunningCommands)
	}
	// The first run's Signal released its finished command; the cancelled one adds its own terminate signal.
	if counters.Actions["Signal"] != 2 || counters.Actions["Delete"] != 1 {
		t.Errorf("Signal requests %d, Delete requests %d; want the hung command signalled and its shell deleted",
			counters.Actions["Signal"], counters.Actions["Delete"])
	}
}

func TestFailedRunDeletesItsShell(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.ShellIdle = time.Hour
	c := newClient(t, cfg)
	srv.Faults().SetHangCommands(true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	wantKind(t, c.Run(ctx, script(t, "echo/v1"), nil, nil), winrm.KindTimeout)
	if n := srv.Counters().OpenShells; n != 0 {
		t.Errorf("%d shells open after the run timed out, want 0", n)
	}
}

// A client that never deletes its shells, as the provider's was: the 6th shell of the account is refused with the
// shell quota fault, and the account can run nothing until shells expire; the error names the quota and its setting.
func TestLeakyClientHitsTheShellQuota(t *testing.T) {
	srv := newLab(t, false) // 5 shells per user, Windows' default when no policy sets it
	host, port := srv.Endpoint()
	params := masterzen.NewParameters("PT5S", "en-US", 153600)
	params.TransportDecorator = func() masterzen.Transporter { return &masterzen.ClientNTLM{} }
	leaky, err := masterzen.NewClientWithParameters(masterzen.NewEndpoint(host, port, false, false, nil, nil, nil, 10*time.Second),
		testUser, testPassword, params)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 { // MaxShellsPerUser when no policy sets it (internal/lab/WINDOWS.md, WinRM)
		if _, err := leaky.CreateShell(); err != nil {
			t.Fatalf("shell %d: %v", i+1, err)
		}
	}
	_, err = leaky.CreateShell()
	var fault *masterzen.ExecuteCommandError
	if !errors.As(err, &fault) || !strings.Contains(fault.Body, `Code="2150859173"`) || !strings.Contains(fault.Body, "w:QuotaLimit") {
		t.Fatalf("the 6th shell: %v, want the shell quota fault", err)
	}
	err = newClient(t, labConfig(srv)).Run(context.Background(), script(t, "echo/v1"), nil, nil)
	if e := kindError(t, err, winrm.KindQuota); e.Code != 2150859173 || !strings.Contains(err.Error(), "MaxShellsPerUser") ||
		!strings.Contains(err.Error(), "max_concurrency_per_server") {
		t.Errorf("the shell quota error (code %d) does not name MaxShellsPerUser and the provider's setting: %v", e.Code, err)
	}
}

// Forty runs one after the other, each from a new client that is never closed, as forty provider processes that
// Terraform stopped: the pooled shells are deleted anyway, and the account never nears the 30-shell quota.
func TestSequentialRunsStayUnderTheShellQuota(t *testing.T) {
	srv := newLab(t, true)
	for i := range 40 {
		c, err := winrm.NewClient(shortIdle(srv))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Run(context.Background(), script(t, "echo/v1"), nil, nil); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		poll.Until(t, "the run's shell is deleted", func() bool { return srv.Counters().OpenShells == 0 })
	}
	if c := srv.Counters(); c.PeakShellsPerUser != 1 || c.Actions["Delete"] != 40 {
		t.Errorf("peak shells per user %d, Delete requests %d; want 1 and 40", c.PeakShellsPerUser, c.Actions["Delete"])
	}
}

// The account never holds more shells than MaxConcurrency: not under a burst of runs with an idle period short enough
// that shells are deleted while others are created, and not while a slow Delete of an idle shell is still in flight
// when new runs start (a shell being deleted still counts on the server).
func TestRunsNeverHoldMoreShellsThanMaxConcurrency(t *testing.T) {
	t.Run("burst", func(t *testing.T) {
		srv := newLab(t, true)
		cfg := labConfig(srv)
		cfg.MaxConcurrency, cfg.ShellIdle = 3, time.Millisecond
		c := newClient(t, cfg)
		var wg sync.WaitGroup
		for i := range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i%6) * 5 * time.Millisecond) // spread the starts over the reaper's work
				runEcho(t, c, nil)
			}()
		}
		wg.Wait()
		poll.Until(t, "the lab has no open shell", func() bool { return srv.Counters().OpenShells == 0 })
		poll.Until(t, "the client deleted every shell it opened", func() bool { return allDeleted(c) })
		if peak := srv.Counters().PeakShellsPerUser; peak > 3 {
			t.Errorf("the account held %d shells at once, want at most MaxConcurrency = 3", peak)
		}
	})
	t.Run("slow delete", func(t *testing.T) {
		srv := newLab(t, true)
		cfg := labConfig(srv)
		cfg.MaxConcurrency, cfg.ShellIdle = 2, 20*time.Millisecond
		c := newClient(t, cfg)
		runEcho(t, c, nil)
		srv.Faults().SetActionLatency("Delete", 300*time.Millisecond)
		poll.Until(t, "the idle shell's Delete is under way", func() bool { return srv.Counters().Actions["Delete"] == 1 })
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); runEcho(t, c, nil) }()
		}
		wg.Wait()
		if peak := srv.Counters().PeakShellsPerUser; peak > 2 {
			t.Errorf("the account held %d shells at once, want at most MaxConcurrency = 2", peak)
		}
	})
}

func TestClientAsksTheServerForAShortIdleTimeout(t *testing.T) {
	// The server's own setting: two hours, as on Windows Server; its floor for a client's request is lowered from
	// Windows' one minute to keep the test short.
	srv := newLabWith(t, wsman.Options{TLS: true, MinShellIdleTimeout: 50 * time.Millisecond})
	cfg := labConfig(srv)
	cfg.ShellIdle, cfg.ServerIdleTimeout = time.Hour, 100*time.Millisecond
	c, err := winrm.NewClient(cfg) // a process killed before it could delete its shell
	if err != nil {
		t.Fatal(err)
	}
	runEcho(t, c, nil)
	poll.Until(t, "the server expires the forgotten shell", func() bool { return srv.Counters().ShellsExpired == 1 })
	if n := srv.Counters().OpenShells; n != 0 {
		t.Errorf("%d shells open, want 0", n)
	}
}

// A warm run is Command, one Send that carries the input and ends stdin, Receive and Signal: 4 requests, with no
// authentication leg, since NTLM authenticated the kept-alive connection already.
func TestWarmRunRoundTrips(t *testing.T) {
	srv := newLab(t, true)
	c := newClient(t, labConfig(srv))
	runEcho(t, c, nil)
	cold, coldLab := c.Stats(), srv.Counters()
	runEcho(t, c, nil)
	warm, warmLab := c.Stats(), srv.Counters()
	if n := warm.HTTPRequests - cold.HTTPRequests; n > 4 {
		t.Errorf("a warm run took %d HTTP requests, want at most 4", n)
	}
	if n := warmLab.HTTPRequests - coldLab.HTTPRequests; n != warm.HTTPRequests-cold.HTTPRequests {
		t.Errorf("the lab saw %d requests, the client counted %d", n, warm.HTTPRequests-cold.HTTPRequests)
	}
	for action, want := range map[string]int64{"Create": 0, "Command": 1, "Send": 1, "Receive": 1, "Signal": 1, "Delete": 0} {
		if got := warmLab.Actions[action] - coldLab.Actions[action]; got != want {
			t.Errorf("a warm run sent %d %s requests, want %d", got, action, want)
		}
	}
	if warmLab.NTLMLogons != 1 || warmLab.AuthFailures != 0 {
		t.Errorf("NTLM logons %d, refused logons %d; want one logon for both runs", warmLab.NTLMLogons, warmLab.AuthFailures)
	}
	// The cold run adds Create and the NTLM handshake (an anonymous request refused with 401, then the negotiate
	// and authenticate legs).
	if cold.HTTPRequests > 7 {
		t.Errorf("a cold run took %d HTTP requests, want at most 7", cold.HTTPRequests)
	}
}

// A Delete is an operation like any other: when it meets a transient fault (here the quota fault, as a busy server
// answers), the client tries again instead of leaving the shell open on the server until its idle timeout.
func TestDeleteThatMeetsAQuotaFaultIsRetried(t *testing.T) {
	srv := newLab(t, true)
	cfg := shortIdle(srv)
	cfg.Retry = winrm.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: 10 * time.Millisecond}
	for _, byClose := range []bool{false, true} {
		c, err := winrm.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		runEcho(t, c, nil)
		srv.Faults().SetQuotaNext(1) // the Delete of the pooled shell, by the reaper or by Close
		if byClose {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}
		poll.Until(t, "the lab has no open shell", func() bool { return srv.Counters().OpenShells == 0 })
		if s := srv.Faults().Settings(); s.QuotaNext != 0 {
			t.Fatalf("the quota fault was not met (%+v)", s)
		}
		_ = c.Close()
	}
}

// A reaper that is waiting to try a Delete again (the server answered the first with the quota fault) holds up
// neither Close's deletes of the other idle shells nor its own: Close deletes the reaper's shell too, since Terraform
// kills the plugin about two seconds after it asks it to stop, and a shell not deleted by then stays on the server
// until its idle timeout.
func TestCloseDoesNotWaitForTheReaperBeforeDeleting(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.ShellIdle = 300 * time.Millisecond
	cfg.Retry = winrm.RetryPolicy{Attempts: 3, Base: 4 * time.Second, Max: 4 * time.Second} // the reaper waits 2 to 4 s
	c, err := winrm.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	poolTwoShells(t, srv, c)
	if n := srv.Counters().OpenShells; n != 2 {
		t.Fatalf("%d shells pooled; want the two runs' shells", n)
	}
	srv.Faults().SetQuotaNext(1) // the reaper's first Delete
	poll.Until(t, "the reaper meets the quota fault", func() bool { return srv.Faults().Settings().QuotaNext == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 1900*time.Millisecond) // below the reaper's least wait
	defer cancel()
	_ = c.CloseContext(ctx)
	if n := srv.Counters().OpenShells; n != 0 {
		t.Errorf("%d shells open when Close returned; want the idle one and the reaper's deleted by Close", n)
	}
}

// Close tries a Delete refused for quota again at once rather than after the configured backoff, which could be
// longer than the time Terraform leaves a plugin at exit: the shell is deleted within Close's bound.
func TestCloseRetriesARefusedDeleteWithinItsBound(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.Retry = winrm.RetryPolicy{Attempts: 3, Base: time.Minute, Max: time.Minute} // longer than Close's bound
	c, err := winrm.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runEcho(t, c, nil)                                                      // one pooled shell (the default idle time is far longer than this test)
	srv.Faults().SetQuotaNext(1)                                            // Close's Delete
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // ample for a busy machine
	defer cancel()
	if err := c.CloseContext(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	if s := srv.Faults().Settings(); s.QuotaNext != 0 {
		t.Fatalf("the quota fault was not met (%+v)", s)
	}
	if n := srv.Counters().OpenShells; n != 0 {
		t.Errorf("%d shells open when Close returned; want its Delete tried again within the bound", n)
	}
}

// reaperRefused is a client whose idle-shell reaper gave up deleting its one shell: both of its Delete attempts
// were refused for quota.
func reaperRefused(t *testing.T) (*wsman.Server, *winrm.Client) {
	t.Helper()
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.ShellIdle = 100 * time.Millisecond
	cfg.Retry = winrm.RetryPolicy{Attempts: 2, Base: 10 * time.Millisecond, Max: 10 * time.Millisecond}
	c := newClient(t, cfg)
	srv.Faults().SetQuotaNextOf("Delete", 2)
	runEcho(t, c, nil)
	poll.Until(t, "the reaper's Deletes are refused", func() bool { return srv.Counters().Actions["Delete"] == 2 })
	return srv, c
}

// A shell whose Delete the reaper gave up on is not forgotten: Close deletes it.
func TestAShellTheReaperCouldNotDeleteIsDeletedAtClose(t *testing.T) {
	srv, c := reaperRefused(t)
	if n := srv.Counters().OpenShells; n != 1 {
		t.Fatalf("%d shells open after the refused Deletes; want the pooled one", n)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n := srv.Counters().OpenShells; n != 0 {
		t.Errorf("%d shells open when Close returned; want the one the reaper could not delete deleted", n)
	}
}

// The reaper's next pass tries again the Delete it gave up on before.
func TestTheReapersNextPassDeletesAShellItCouldNotDelete(t *testing.T) {
	srv, c := reaperRefused(t)
	runEcho(t, c, nil) // a second shell, whose expiry starts the reaper's next pass
	poll.Until(t, "both shells are deleted before Close", func() bool { return srv.Counters().OpenShells == 0 })
}

// A caller that gave up before its turn sends nothing, not even a Create: its slot and its context's end race in a
// select, which picks either.
func TestACallerThatGaveUpCreatesNoShell(t *testing.T) {
	srv := newLab(t, true)
	c := newClient(t, labConfig(srv))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 32 {
		if err := c.Run(ctx, script(t, "echo/v1"), nil, nil); err == nil {
			t.Fatal("a run whose caller had given up succeeded")
		}
	}
	if n := srv.Counters().Actions["Create"]; n != 0 {
		t.Errorf("%d shells created for callers that had given up", n)
	}
}

// A caller that gives up while its shell's Create is on the way (a verify window that ends, Ctrl-C) does not leave a
// shell on the server whose id the client never learned: the Create is waited for, and the shell deleted or pooled.
func TestACreateAbandonedByItsCallerLeavesNoShell(t *testing.T) {
	srv := newLab(t, true)
	c, err := winrm.NewClient(labConfig(srv))
	if err != nil {
		t.Fatal(err)
	}
	srv.Faults().SetReplyLatency("Create", 500*time.Millisecond) // the shell exists before its id reaches the client
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		poll.Until(t, "the Create reaches the server", func() bool { return srv.Counters().OpenShells == 1 })
		cancel()
	}()
	var out echoResult
	err = c.Run(ctx, script(t, "echo/v1"), nil, &out)
	if err == nil {
		t.Fatal("a run whose caller gave up succeeded")
	}
	if errors.Is(err, winrm.ErrOutcomeUnknown) || srv.Counters().Actions["Command"] != 0 {
		t.Errorf("error = %v after %d Commands; want none sent, and so no outcome in doubt", err, srv.Counters().Actions["Command"])
	}
	srv.Faults().SetReplyLatency("Create", 0)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := srv.Counters().OpenShells; n != 0 {
		t.Errorf("%d shells open after Close; want the abandoned Create's shell deleted", n)
	}
}

// A run that discards its shell (the server refused its Signal for quota, so the shell is not trusted again) deletes
// it even when its caller gives up while the Delete is on the way, as a verify window that ends does at the end of an
// apply: the Delete has a clean-up context of its own, not the caller's.
func TestADiscardedShellIsDeletedWhenItsCallerGivesUpDuringTheDelete(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.ShellIdle = time.Hour // only the discard may delete the shell before Close
	c := newClient(t, cfg)
	srv.Faults().SetQuotaNextOf("Signal", 1)
	srv.Faults().SetActionLatency("Delete", 300*time.Millisecond) // the server deletes it only if the request lasts
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		poll.Until(t, "the discarded shell's Delete reaches the server", func() bool { return srv.Counters().Actions["Delete"] == 1 })
		cancel()
	}()
	_ = c.Run(ctx, script(t, "echo/v1"), nil, nil) // its output is complete; only its shell is in doubt
	if c := srv.Counters(); c.Actions["Delete"] != 1 || c.OpenShells != 0 {
		t.Errorf("%d Deletes sent, %d shells open when the run returned; want its one Delete carried out", c.Actions["Delete"], c.OpenShells)
	}
}

// A discarded shell whose Delete is refused on every attempt is not forgotten: the reaper's next pass and Close try
// it again.
func TestADiscardedShellWhoseDeleteFailedIsDeletedAtClose(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.ShellIdle = time.Hour
	cfg.Retry = winrm.RetryPolicy{Attempts: 2, Base: 10 * time.Millisecond, Max: 10 * time.Millisecond}
	c := clientClosedByTheTest(t, cfg)
	srv.Faults().SetQuotaNextOf("Signal", 1)
	srv.Faults().SetQuotaNextOf("Delete", 2) // both of the discard's attempts
	runEcho(t, c, nil)
	if c := srv.Counters(); c.Actions["Delete"] != 2 || c.OpenShells != 1 {
		t.Fatalf("%d Deletes sent, %d shells open after the run; want two refused and the shell still open", c.Actions["Delete"], c.OpenShells)
	}
	if n := openAfterClose(t, srv, c); n != 0 {
		t.Errorf("%d shells open when Close returned; want the discarded shell deleted", n)
	}
}

// Close deletes the pooled shells on the connections that are logged on already, as many at once as there are,
// rather than opening new ones, whose TLS handshake and NTLM logon a busy machine may not finish before Terraform
// kills the plugin.
func TestCloseDeletesOnTheConnectionsLoggedOnAlready(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.ShellIdle = time.Hour
	c := clientClosedByTheTest(t, cfg)
	poolTwoShells(t, srv, c)
	winrm.DropConnections(c)
	runEcho(t, c, nil) // one connection logged on again, two shells pooled
	before := srv.Counters()
	if before.OpenShells != 2 {
		t.Fatalf("%d shells pooled; want the two runs' shells", before.OpenShells)
	}
	if n, logons := openAfterClose(t, srv, c), srv.Counters().NTLMLogons-before.NTLMLogons; n != 0 || logons != 0 {
		t.Errorf("%d shells open and %d NTLM logons at Close; want both shells deleted on the one connection logged on", n, logons)
	}
}

// A Create that the server is slow to answer has the run's time, not only a clean-up's few seconds: cut short, the
// server would create the shell after the client stopped listening, and the shell would stay open until its idle
// timeout.
func TestASlowCreateHasTheRunsTime(t *testing.T) {
	srv := newLab(t, true)
	c := clientClosedByTheTest(t, labConfig(srv))                 // a run has 10 s
	srv.Faults().SetReplyLatency("Create", 5500*time.Millisecond) // longer than a clean-up's bound (5 s)
	runEcho(t, c, nil)
	srv.Faults().SetReplyLatency("Create", 0)
	if n, creates := openAfterClose(t, srv, c), srv.Counters().Actions["Create"]; creates != 1 || n != 0 {
		t.Errorf("%d Creates, %d shells open after Close; want one Create and its shell deleted", creates, n)
	}
}

// A caller that gives up while the server is slow to answer its Create waits for it a clean-up's bound (5 s) at
// most, not the rest of its run's time: Ctrl-C ends a block within seconds even on a server that hangs.
func TestACallerThatGaveUpWaitsForItsCreateACleanUpsBoundAtMost(t *testing.T) {
	srv := newLab(t, true)
	cfg := labConfig(srv)
	cfg.Timeout = time.Minute
	c := newClient(t, cfg)
	srv.Faults().SetReplyLatency("Create", 9*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		poll.Until(t, "the Create reaches the server", func() bool { return srv.Counters().OpenShells == 1 })
		cancel()
	}()
	start := time.Now()
	err := c.Run(ctx, script(t, "echo/v1"), nil, nil)
	if took := time.Since(start); err == nil || took >= 8*time.Second {
		t.Errorf("the run ended after %s with %v; want it given up after the clean-up's 5 s, before the Create's answer at 9 s", took, err)
	}
}

// A caller whose deadline passes while the server is slow to answer its Create (a verify window's poll, a run out of
// winrm.timeout) does not leave the shell behind either: the Create has a clean-up's bound more to learn its id.
func TestACreateOutlivedByItsCallersDeadlineLeavesNoShell(t *testing.T) {
	srv := newLab(t, true)
	c := clientClosedByTheTest(t, labConfig(srv))
	// The shell exists before its id reaches the client, a second after the run's deadline, itself beyond a clean-up's
	// bound (5 s) from the start.
	srv.Faults().SetReplyLatency("Create", 7*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	if err := c.Run(ctx, script(t, "echo/v1"), nil, nil); err == nil {
		t.Fatal("a run whose deadline passed during its Create succeeded")
	}
	srv.Faults().SetReplyLatency("Create", 0)
	if n := openAfterClose(t, srv, c); n != 0 {
		t.Errorf("%d shells open after Close; want the late Create's shell pooled and deleted", n)
	}
}

// A shell whose Create answers after its caller gave up and after Close (Ctrl-C while the server is slow to answer)
// is deleted when it arrives, not left to the server's idle timeout.
func TestAShellCreatedAfterCloseForACallerThatGaveUpIsDeleted(t *testing.T) {
	srv := newLab(t, true)
	c := newClient(t, labConfig(srv))
	srv.Faults().SetReplyLatency("Create", 3*time.Second) // time to give up and close, within the 5 s a late Create is waited for
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, script(t, "echo/v1"), nil, nil) }()
	poll.Until(t, "the lab created the shell", func() bool { return srv.Counters().OpenShells == 1 })
	cancel()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("the run whose caller gave up succeeded")
	}
	if n := srv.Counters().OpenShells; n != 0 {
		t.Errorf("%d shells open after the run ended; want the late shell deleted", n)
	}
}
