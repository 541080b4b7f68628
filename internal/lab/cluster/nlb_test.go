package cluster

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
)

func TestGetNodesListsEveryInterfaceAndTheDefaultHost(t *testing.T) {
	l := newLab(t)
	for _, server := range []string{"RAS1", "RAS2"} {
		got := succeed[nodesResult](t, l, server, "get-nodes/v1", map[string]any{}).Nodes
		var want []nodeView
		for _, iface := range []string{"Internet", "Corpnet"} {
			want = append(want,
				nodeView{Name: "RAS1", InterfaceName: iface, State: "Converged(default)", HostPriority: 1, IsLocal: server == "RAS1"},
				nodeView{Name: "RAS2", InterfaceName: iface, State: Converged, HostPriority: 2, IsLocal: server == "RAS2"})
		}
		if !slices.Equal(got, want) {
			t.Errorf("get-nodes on %s = %+v, want %+v", server, got, want)
		}
	}
	// The default host is the converged host with the highest priority: RAS2 once RAS1 is out.
	if err := l.SetNodeState("RAS1", Stopped); err != nil {
		t.Fatal(err)
	}
	got := succeed[nodesResult](t, l, "RAS2", "get-nodes/v1", map[string]any{}).Nodes
	if got[0].State != Stopped || got[1].State != "Converged(default)" {
		t.Errorf("get-nodes with RAS1 stopped = %+v", got)
	}
}

// drain starts drain-node on server in the background; the channel gets its exit code and output once it ends.
func (l *lab) drain(t *testing.T, ctx context.Context, server string, input any) <-chan outputDoc {
	t.Helper()
	done := make(chan outputDoc, 1)
	stdin := payload(t, "drain-node/v1", input)
	go func() {
		res := l.Executor(server).Execute(ctx, wsman.ExecRequest{Server: server, EncodedScript: testBootstrap, Stdin: stdin})
		var doc outputDoc
		if err := json.Unmarshal(res.Stdout, &doc); err != nil || (res.ExitCode == 0) != (doc.Error == nil) {
			doc.Error = &scriptError{Category: "TestFailure", Message: string(res.Stdout)}
		}
		done <- doc
	}()
	return done
}

// waitStates waits until every interface of a node is in state.
func (l *lab) waitStates(t *testing.T, name string, state NodeState) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		states, err := l.NodeStates(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(slices.Collect(maps.Values(states)), func(s NodeState) bool { return s != state }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v, want %s on every interface", name, states, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stillRunning fails the test if the drain already ended, giving it several of its polls to do so.
func stillRunning(t *testing.T, done <-chan outputDoc) {
	t.Helper()
	select {
	case doc := <-done:
		t.Fatalf("drain-node returned while it should wait: %s %+v", doc.Result, doc.Error)
	case <-time.After(5 * drainPoll):
	}
}

// modelConnections asks the model directly (not through a script) what a server carries.
func (l *lab) modelConnections(t *testing.T, server string) []string {
	t.Helper()
	conns, err := l.ConnectionsOn(context.Background(), server)
	if err != nil {
		t.Fatal(err)
	}
	return conns
}

func finished(t *testing.T, done <-chan outputDoc) outputDoc {
	t.Helper()
	select {
	case doc := <-done:
		return doc
	case <-time.After(10 * time.Second):
		t.Fatal("drain-node did not return")
		return outputDoc{}
	}
}

func TestDrainWaitsSecondsThenStopsTheNodeAndClientsMove(t *testing.T) {
	l := newLab(t)
	done := l.drain(t, context.Background(), "RAS1", map[string]any{"node_name": "ras1", "timeout_seconds": 30})
	l.waitStates(t, "RAS1", Draining)
	// The timeout counts seconds (WINDOWS.md, NLB): at 29 s the cmdlet still waits and RAS1 still serves its clients.
	l.clock.Advance(29 * time.Second)
	stillRunning(t, done)
	if n := len(l.modelConnections(t, "RAS1")); n != 3 {
		t.Fatalf("RAS1 carries %d connections while draining, want its 3", n)
	}
	l.clock.Advance(time.Second)
	doc := finished(t, done)
	var got nodesResult
	if doc.Error != nil || json.Unmarshal(doc.Result, &got) != nil {
		t.Fatalf("drain-node = %s, %+v", doc.Result, doc.Error)
	}
	want := []nodeView{
		{Name: "RAS1", InterfaceName: "Internet", State: Stopped, HostPriority: 1, IsLocal: true},
		{Name: "RAS1", InterfaceName: "Corpnet", State: Stopped, HostPriority: 1, IsLocal: true},
	}
	if !slices.Equal(got.Nodes, want) {
		t.Errorf("drain-node = %+v, want %+v", got.Nodes, want)
	}
	if conns := l.modelConnections(t, "RAS1"); len(conns) != 0 {
		t.Errorf("a stopped node still lists %q", conns)
	}
	// The interrupted clients come back through the remaining node; CLIENT2 was already connected there.
	l.clock.Advance(testDelay)
	wantRAS2 := []string{
		`DirectAccess:client1.corp.example:CORP\alice`, `DirectAccess:client10.corp.example:CORP\bob`,
		`DirectAccess:client2.corp.example:CORP\carol`, `DirectAccess:laptop-äö.corp.example:CORP\mallory`,
	}
	if got := describe(l.connections(t, "RAS2")); !slices.Equal(got[:4], wantRAS2) {
		t.Errorf("RAS2 after the drain = %q, want %q first", got, wantRAS2)
	}
}

func TestDrainEndsAsSoonAsTheSessionsMoved(t *testing.T) {
	l := newLab(t)
	done := l.drain(t, context.Background(), "RAS1", map[string]any{"node_name": "RAS1", "timeout_seconds": 3600})
	l.waitStates(t, "RAS1", Draining)
	// Purged while RAS1 drains, the clients (accounts enabled) reconnect: NLB sends them to RAS2 only.
	succeed[purgeResult](t, l, "RAS1", "purge-device/v1", map[string]any{
		"identities": []string{`CORP\CLIENT1$`, `CORP\CLIENT10$`, `CORP\CLIENT2$`},
	})
	// The purge leaves RAS1 without connections: the drain ends without waiting for its timeout.
	if doc := finished(t, done); doc.Error != nil {
		t.Fatalf("drain-node: %+v", doc.Error)
	}
	l.clock.Advance(testDelay)
	if conns := l.modelConnections(t, "RAS1"); len(conns) != 0 {
		t.Errorf("RAS1 after its drain lists %q", conns)
	}
	if got := l.modelConnections(t, "RAS2"); !slices.Contains(got, `DirectAccess:client1.corp.example:CORP\alice`) {
		t.Errorf("CLIENT1 did not move to RAS2: %q", got)
	}
}

func TestCancelledDrainLeavesTheNodeDrainingWithoutATimeout(t *testing.T) {
	l := newLab(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := l.drain(t, ctx, "RAS2", map[string]any{"node_name": "RAS2", "timeout_seconds": 10})
	l.waitStates(t, "RAS2", Draining)
	cancel()
	if doc := finished(t, done); doc.Error == nil || doc.Error.Category != "OperationStopped" {
		t.Fatalf("cancelled drain-node = %s, %+v", doc.Result, doc.Error)
	}
	// Nothing forces the stop any more: the node drains until its connections end by themselves.
	l.clock.Advance(time.Hour)
	states, err := l.NodeStates("RAS2")
	if err != nil || states["Internet"] != Draining || states["Corpnet"] != Draining || len(l.modelConnections(t, "RAS2")) != 5 {
		t.Errorf("RAS2 an hour after a cancelled drain: %v %v, %q", states, err, l.modelConnections(t, "RAS2"))
	}
}

func TestDrainAndResumeRunOnTheNodeItself(t *testing.T) {
	l := newLab(t)
	inputs := map[string]map[string]any{
		"drain-node/v1":  {"node_name": "RAS1", "timeout_seconds": 5},
		"resume-node/v1": {"node_name": "RAS1"},
	}
	for script, input := range inputs {
		e := fail(t, l, "RAS2", script, input)
		if e.Category != "InvalidOperation" || e.Target != "RAS1" {
			t.Errorf("%s for RAS1 on RAS2: %+v, want InvalidOperation", script, e)
		}
	}
	if e := fail(t, l, "RAS1", "drain-node/v1", map[string]any{"node_name": "RAS1", "timeout_seconds": 0}); e.Category != "InvalidArgument" {
		t.Errorf("drain with a zero timeout: %+v", e)
	}
	if e := fail(t, l, "RAS1", "drain-node/v1", map[string]any{"node_name": "RAS1", "timeout_minutes": 5}); e.Category != "InvalidArgument" {
		t.Errorf("drain with the old minutes field: %+v", e)
	}
	states, _ := l.NodeStates("RAS1")
	if states["Internet"] != Converged || states["Corpnet"] != Converged {
		t.Errorf("refused drains changed RAS1: %v", states)
	}
}

func TestResumeConvergesEveryInterface(t *testing.T) {
	l := newLab(t)
	if err := l.SetNodeState("RAS2", Suspended); err != nil {
		t.Fatal(err)
	}
	if conns := l.connections(t, "RAS2"); len(conns) != 0 {
		t.Errorf("a suspended node lists %q", describe(conns))
	}
	got := succeed[nodesResult](t, l, "RAS2", "resume-node/v1", map[string]any{"node_name": "RAS2"}).Nodes
	if len(got) != 2 || got[0].State != Converging || got[1].State != Converging {
		t.Fatalf("resume-node of a suspended node = %+v, want Converging on both interfaces", got)
	}
	l.clock.Advance(testConvergence)
	nodes := succeed[nodesResult](t, l, "RAS1", "get-nodes/v1", map[string]any{}).Nodes
	if nodes[1].State != Converged || nodes[3].State != Converged {
		t.Errorf("RAS2 after convergence = %+v", nodes)
	}
	l.clock.Advance(testDelay)
	if conns := l.connections(t, "RAS2"); len(conns) != 5 {
		t.Errorf("RAS2 after resume carries %q, want its 5 connections back", describe(conns))
	}
}

func TestANodeOutOfTheExternalPoolGetsNoNewClients(t *testing.T) {
	l := newLab(t)
	if err := l.SetInExternalPool("RAS1", false); err != nil {
		t.Fatal(err)
	}
	if n := len(l.modelConnections(t, "RAS1")); n != 3 {
		t.Fatalf("taking RAS1 out of the pool dropped connections: %d left", n)
	}
	succeed[purgeResult](t, l, "RAS1", "purge-device/v1", map[string]any{"identities": []string{`CORP\CLIENT1$`}})
	l.clock.Advance(testDelay)
	if got := l.modelConnections(t, "RAS1"); slices.Contains(got, `DirectAccess:client1.corp.example:CORP\alice`) {
		t.Errorf("CLIENT1 came back through RAS1, out of the pool: %q", got)
	}
	if got := l.modelConnections(t, "RAS2"); !slices.Contains(got, `DirectAccess:client1.corp.example:CORP\alice`) {
		t.Errorf("CLIENT1 did not move to RAS2: %q", got)
	}
	// NLB does not know the external pool: the node still reports converged.
	if nodes := succeed[nodesResult](t, l, "RAS1", "get-nodes/v1", map[string]any{}).Nodes; nodes[0].State != "Converged(default)" {
		t.Errorf("get-nodes = %+v", nodes)
	}
}
