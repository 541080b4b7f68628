package remoteaccess_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// scriptCounter counts the commands a lab server ran, by the script named on the first line of their stdin.
type scriptCounter struct {
	next wsman.Executor
	mu   sync.Mutex
	runs map[string]int
}

func (c *scriptCounter) Execute(ctx context.Context, req wsman.ExecRequest) wsman.ExecResult {
	first, _, _ := strings.Cut(string(req.Stdin), "\n")
	c.mu.Lock()
	c.runs[strings.TrimPrefix(strings.TrimSpace(first), "# remoteaccess-script: ")]++
	c.mu.Unlock()
	return c.next.Execute(ctx, req)
}

func (c *scriptCounter) count(script string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[script]
}

// retrying gives the lab's cluster clients that retry transient failures, as the provider's do, so that a test
// sees whether a write is sent again.
func (l *lab) retrying(t *testing.T) {
	t.Helper()
	runners := map[string]remoteaccess.Runner{}
	for name, srv := range l.servers {
		host, port := srv.Endpoint()
		admin := l.dir.AdminCredentials()
		c, err := winrm.NewClient(winrm.Config{
			Host: host, Port: port, HTTPS: true, CACertPEM: srv.CACertPEM(), Username: admin.DownLevel, Password: admin.Password,
			Timeout: 15 * time.Second, Retry: winrm.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: 10 * time.Millisecond},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		l.clients[name], runners[name] = c, c
	}
	var err error
	if l.cluster, err = remoteaccess.NewCluster(runners); err != nil {
		t.Fatal(err)
	}
}

// loseReplyOf makes server lose the final reply of the next command of script, after running it.
func (l *lab) loseReplyOf(server, script string) {
	f := l.servers[server].Faults()
	f.SetLoseReplyScript(script)
	f.SetLoseReplyNext(1)
}

// outcomeUnknown checks that err names server alone, as an outcome-unknown write with what a read found.
func outcomeUnknown(t *testing.T, err error, server string) *remoteaccess.OutcomeUnknownError {
	t.Helper()
	var ou *remoteaccess.OutcomeUnknownError
	if !errors.Is(err, winrm.ErrOutcomeUnknown) || !errors.As(err, &ou) {
		t.Fatalf("error = %v, want an outcome-unknown write with a look afterwards", err)
	}
	if failed := remoteaccess.FailedServers(err); len(failed) != 1 || failed[0] != server || !strings.Contains(err.Error(), "outcome unknown") {
		t.Errorf("error names %q: %v; want %s, outcome unknown", failed, err, server)
	}
	return ou
}

// A disconnect whose reply is lost after the server ran it is not run again: the server ran it once, and a read of
// its connections says what holds now.
func TestLabLostReplyOfADisconnectIsNotResent(t *testing.T) {
	l := newLab(t)
	l.retrying(t)
	l.disable(t, "bob") // so that his client cannot reconnect before the look
	ctx := deadline(t, 30*time.Second)
	if !bobOnVPN(l.model(t, "RAS2")) {
		t.Fatalf("the lab has no VPN connection of bob on RAS2: %q", l.model(t, "RAS2"))
	}
	l.loseReplyOf("RAS2", "disconnect-vpn-users/v1")

	got, err := l.cluster.DisconnectVPNUsers(ctx, remoteaccess.VPNSelection{UserNames: []string{`CORP\bob`}})
	ou := outcomeUnknown(t, err, "RAS2")
	if !strings.Contains(ou.Found, "none of the selected VPN connections is connected") {
		t.Errorf("the look found %q, want bob gone", ou.Found)
	}
	if n := l.scripts["RAS2"].count("disconnect-vpn-users/v1"); n != 1 {
		t.Errorf("RAS2 ran the disconnect %d times, want once", n)
	}
	if n := l.scripts["RAS2"].count("get-connections/v1"); n != 1 {
		t.Errorf("RAS2 ran %d looks after the lost reply, want one", n)
	}
	if bobOnVPN(l.model(t, "RAS2")) {
		t.Errorf("bob is still connected to RAS2 in the lab: %q", l.model(t, "RAS2"))
	}
	if _, answered := got["RAS2"]; answered {
		t.Errorf("RAS2 is reported as answered: %+v", got["RAS2"])
	}
}

// A purge whose reply is lost is run once and reported as outcome unknown for that server only, with what a read
// of its SAs found.
func TestLabLostReplyOfAPurgeIsNotResent(t *testing.T) {
	l := newLab(t)
	l.retrying(t)
	ctx := deadline(t, 30*time.Second)
	l.disable(t, "CLIENT1$") // so that its SAs cannot come back before the look
	l.loseReplyOf("RAS1", "purge-sas/v1")
	got, err := l.cluster.PurgeSAs(ctx, remoteaccess.SASelection{Identities: []string{`CORP\CLIENT1$`}})
	if ou := outcomeUnknown(t, err, "RAS1"); !strings.Contains(ou.Found, "none of the selected main-mode SAs") {
		t.Errorf("the look found %q, want CLIENT1's SAs gone", ou.Found)
	}
	if n := l.scripts["RAS1"].count("get-ipsec-sas/v1"); n != 1 {
		t.Errorf("RAS1 ran %d looks after the lost reply, want one", n)
	}
	if n := l.scripts["RAS1"].count("purge-sas/v1"); n != 1 {
		t.Errorf("RAS1 ran the purge %d times, want once", n)
	}
	if _, ok := got["RAS2"]; !ok {
		t.Errorf("RAS2's purge is missing: %+v", got)
	}
}

// A drain whose reply is lost is not run again: the node's state, read afterwards, shows it drained, and the
// drain goes on from there.
func TestLabLostReplyOfADrainIsNotResent(t *testing.T) {
	l := newLab(t)
	l.retrying(t)
	ctx := deadline(t, 2*time.Minute)
	l.loseReplyOf("RAS1", "drain-node/v1")
	res, err := l.cluster.Drain(ctx, "RAS1", "RAS1", remoteaccess.DrainOptions{
		Balancer: remoteaccess.BalancerNLB, Timeout: time.Second, Interval: 50 * time.Millisecond,
	})
	if err != nil || res.StateAfter != "Stopped" || !res.OutOfRotation {
		t.Fatalf("Drain after a lost reply = %+v, %v; want the node found stopped", res, err)
	}
	if n := l.scripts["RAS1"].count("drain-node/v1"); n != 1 {
		t.Errorf("RAS1 ran the drain %d times, want once", n)
	}
	states, _ := l.emulated.NodeStates("RAS1")
	if states["Internet"] != cluster.Stopped || states["Corpnet"] != cluster.Stopped {
		t.Errorf("RAS1 in the lab = %v", states)
	}

	l.loseReplyOf("RAS1", "resume-node/v1")
	status, err := l.cluster.Resume(ctx, "RAS1", "RAS1", 50*time.Millisecond, nil)
	if err != nil || !status.InRotation() {
		t.Fatalf("Resume after a lost reply = %s, %v; want the node found back", status.State(), err)
	}
	if n := l.scripts["RAS1"].count("resume-node/v1"); n != 1 {
		t.Errorf("RAS1 ran the resume %d times, want once", n)
	}
}

func bobOnVPN(model []string) bool {
	for _, conn := range model {
		if strings.HasPrefix(conn, "Vpn:") && strings.Contains(conn, `CORP\bob`) {
			return true
		}
	}
	return false
}
