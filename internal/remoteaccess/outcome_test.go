package remoteaccess

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// A drain whose reply was lost while the node's state shows it never took effect is not sent again: the error says
// what the look found.
func TestDrainWhoseOutcomeIsUnknownAndDidNotTakeEffect(t *testing.T) {
	lost := &winrm.Error{Kind: winrm.KindUnreachable, Server: "RAS1", Script: "drain-node/v1", OutcomeUnknown: true}
	r := &fakeRunner{result: func(script string) (string, error) {
		switch script {
		case "drain-node/v1":
			return "", lost
		case "get-nodes/v1":
			return `{"nodes":[{"name":"RAS1","interface_name":"Internet","state":"Converged","is_local":true}]}`, nil
		}
		return `{"connections":[]}`, nil
	}}
	c, err := NewCluster(map[string]Runner{"RAS1": r})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := c.Drain(ctx, "RAS1", "RAS1", DrainOptions{Balancer: BalancerNLB, Timeout: time.Second, Interval: time.Millisecond})
	var ou *OutcomeUnknownError
	if !errors.Is(err, winrm.ErrOutcomeUnknown) || !errors.As(err, &ou) || !strings.Contains(ou.Found, "did not take effect") ||
		res.StateAfter != "Converged" || res.OutOfRotation {
		t.Fatalf("Drain = %+v, %v; want outcome unknown, found converged", res, err)
	}
	drains := 0
	for _, call := range r.sent() {
		if call.script == "drain-node/v1" {
			drains++
		}
	}
	if drains != 1 {
		t.Errorf("the drain was sent %d times, want once", drains)
	}
}
