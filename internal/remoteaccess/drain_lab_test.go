package remoteaccess_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// progressLog records the progress a drain reports.
type progressLog struct {
	mu     sync.Mutex
	phases []string
}

func (p *progressLog) add(pr remoteaccess.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.phases) == 0 || p.phases[len(p.phases)-1] != pr.Phase {
		p.phases = append(p.phases, pr.Phase)
	}
}

func (l *lab) model(t *testing.T, server string) []string {
	t.Helper()
	conns, err := l.emulated.ConnectionsOn(context.Background(), server)
	if err != nil {
		t.Fatal(err)
	}
	return conns
}

func TestLabDrainMovesTheSessionsAndResumeConverges(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	topo, err := l.cluster.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	server, node, ok := topo.ServerOf("ras1")
	if !ok || server != "RAS1" || node != "RAS1" {
		t.Fatalf("ServerOf(ras1) = %s %s %v", server, node, ok)
	}
	if err := topo.CheckDrain(node, 1, false); err != nil {
		t.Fatal(err)
	}
	var progress progressLog
	res, err := l.cluster.Drain(ctx, server, node, remoteaccess.DrainOptions{
		Balancer: remoteaccess.BalancerNLB, Timeout: time.Second, DisconnectSessions: true, WaitForZeroSessions: true,
		Interval: 100 * time.Millisecond, Progress: progress.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.StateBefore != "Converged(default)" || res.StateAfter != "Stopped" || res.SessionsAtStart != 3 || res.SessionsAtEnd != 0 ||
		!res.Complete() || res.DrainedAt.IsZero() {
		t.Errorf("Drain = %+v", res)
	}
	if !slices.Contains(progress.phases, "draining") {
		t.Errorf("progress phases %q: want the drain's", progress.phases)
	}
	// The lab's model: RAS1 stopped on both interfaces and empty; its clients came back through RAS2.
	states, _ := l.emulated.NodeStates("RAS1")
	if states["Internet"] != cluster.Stopped || states["Corpnet"] != cluster.Stopped {
		t.Errorf("RAS1 in the lab = %v", states)
	}
	if got := l.model(t, "RAS1"); len(got) != 0 {
		t.Errorf("RAS1 still carries %q", got)
	}
	time.Sleep(2 * reestablishDelay)
	if got := l.model(t, "RAS2"); !slices.Contains(got, `DirectAccess:client1.corp.example:CORP\alice`) ||
		!slices.Contains(got, `DirectAccess:client10.corp.example:CORP\bob`) {
		t.Errorf("RAS2 after the drain carries %q, want CLIENT1 and CLIENT10 moved there", got)
	}

	topo, err = l.cluster.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := topo.CheckDrain("RAS2", 1, false); !errors.Is(err, remoteaccess.ErrTooFewNodes) {
		t.Errorf("draining RAS2 while RAS1 is drained: %v", err)
	}

	status, err := l.cluster.Resume(ctx, server, node, 50*time.Millisecond, nil)
	if err != nil || !status.InRotation() || status.State() != "Converged(default)" {
		t.Errorf("Resume = %+v (%s), %v", status, status.State(), err)
	}
}

func TestLabDrainRunsOnTheNodeItself(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	_, err := remoteaccess.DrainNode(ctx, l.clients["RAS2"], "RAS1", 5*time.Second)
	var we *winrm.Error
	if !errors.As(err, &we) || we.Kind != winrm.KindScript || we.Category != "InvalidOperation" {
		t.Errorf("draining RAS1 through RAS2: %v; want the script to refuse a remote node", err)
	}
	if states, _ := l.emulated.NodeStates("RAS1"); states["Internet"] != cluster.Converged {
		t.Errorf("RAS1 after a refused drain: %v", states)
	}
}

func TestLabCancelledDrainReportsHowFarItGot(t *testing.T) {
	l := newLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if states, _ := l.emulated.NodeStates("RAS1"); states["Internet"] == cluster.Draining {
				cancel() // Ctrl-C while the drain waits
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res, err := l.cluster.Drain(ctx, "RAS1", "RAS1", remoteaccess.DrainOptions{
		Balancer: remoteaccess.BalancerNLB, Timeout: 10 * time.Second, DisconnectSessions: true, WaitForZeroSessions: true,
		Interval: 100 * time.Millisecond,
	})
	if !errors.Is(err, context.Canceled) || res.OutOfRotation || res.Complete() || res.SessionsAtStart != 3 || res.StateBefore != "Converged(default)" {
		t.Errorf("cancelled Drain = %+v, %v", res, err)
	}
	// The client terminated the command: the lab's node keeps draining, its clients still connected.
	if states, _ := l.emulated.NodeStates("RAS1"); states["Internet"] != cluster.Draining || len(l.model(t, "RAS1")) != 3 {
		t.Errorf("RAS1 after the cancelled drain: %v, %q", states, l.model(t, "RAS1"))
	}
}

func TestLabExternalDrain(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	opts := remoteaccess.DrainOptions{
		Balancer: remoteaccess.BalancerExternal, Timeout: time.Second, DisconnectSessions: true, WaitForZeroSessions: true,
		Interval: 100 * time.Millisecond, QuietWindow: 4 * reestablishDelay,
	}
	// Still in the balancer's pool: the clients come straight back, and the drain says so.
	res, err := l.cluster.Drain(ctx, "RAS1", "RAS1", opts)
	if !errors.Is(err, remoteaccess.ErrStillInRotation) || res.OutOfRotation {
		t.Errorf("external drain of a node still in the pool = %+v, %v", res, err)
	}

	if err := l.emulated.SetInExternalPool("RAS1", false); err != nil {
		t.Fatal(err)
	}
	res, err = l.cluster.Drain(ctx, "RAS1", "RAS1", opts)
	if err != nil || !res.Complete() || res.StateAfter != remoteaccess.ExternalDrained || res.SessionsAtEnd != 0 ||
		res.Ended.MainModeSAs == 0 {
		t.Fatalf("external drain = %+v, %v", res, err)
	}
	if got := l.model(t, "RAS2"); !slices.Contains(got, `DirectAccess:client1.corp.example:CORP\alice`) {
		t.Errorf("RAS2 after the external drain carries %q, want CLIENT1", got)
	}
	// NLB was not touched.
	if states, _ := l.emulated.NodeStates("RAS1"); states["Internet"] != cluster.Converged {
		t.Errorf("RAS1's NLB state after an external drain: %v", states)
	}
}

// Behind an external balancer that still sends the node clients, sessions may come back faster than they can be
// counted, so the count never reaches zero: waiting for zero sessions must then end with the quiet window and say
// why, not run until the resource's timeout (thirty minutes by default).
func TestLabExternalDrainWhoseSessionsNeverReachZeroEndsWithTheQuietWindow(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	// Every request takes longer than a client needs to come back: no count can see the node empty.
	l.servers["RAS1"].Faults().SetRequestLatency(2 * reestablishDelay)
	opts := remoteaccess.DrainOptions{
		Balancer: remoteaccess.BalancerExternal, Timeout: time.Second, DisconnectSessions: true, WaitForZeroSessions: true,
		Interval: 100 * time.Millisecond, QuietWindow: 3 * time.Second,
	}
	start := time.Now()
	_, err := l.cluster.Drain(ctx, "RAS1", "RAS1", opts)
	if !errors.Is(err, remoteaccess.ErrStillInRotation) {
		t.Fatalf("external drain whose sessions keep coming back = %v; want ErrStillInRotation", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the drain ran until the deadline (%s) instead of ending with the quiet window", time.Since(start))
	}
}
