package remoteaccess

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var errUnreachable = errors.New("connection refused")

func TestFanOutRunsEveryServerAndNamesEachFailure(t *testing.T) {
	ok := answer(`{"devices":[{"main_mode_removed":1,"quick_mode_removed":2,"vpn_device_tunnels_disconnected":0,"indeterminate":false}]}`)
	down := &fakeRunner{result: func(string) (string, error) { return "", errUnreachable }}
	c, err := NewCluster(map[string]Runner{"RAS1": ok, "RAS2": down, "RAS3": ok, "RAS4": down})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.PurgeDevice(context.Background(), []string{`CORP\CLIENT1$`}, "", false)
	if len(got) != 2 || got["RAS1"].MainModeRemoved != 1 || got["RAS3"].QuickModeRemoved != 2 {
		t.Errorf("results = %+v, want those of RAS1 and RAS3", got)
	}
	if !errors.Is(err, errUnreachable) || !slices.Equal(FailedServers(err), []string{"RAS2", "RAS4"}) {
		t.Fatalf("error %v names %q, want RAS2 and RAS4 unreachable", err, FailedServers(err))
	}
	var se *ServerError
	if !errors.As(err, &se) || se.Server != "RAS2" || !strings.Contains(err.Error(), "RAS4: connection refused") {
		t.Errorf("error %q: want one ServerError per failed server", err)
	}
	if n := len(ok.sent()) + len(down.sent()); n != 4 {
		t.Errorf("%d scripts sent, want one per server", n)
	}
}

func TestFanOutRunsServersInParallel(t *testing.T) {
	var running atomic.Int32
	allRunning := make(chan struct{})
	slow := &fakeRunner{result: func(string) (string, error) {
		if running.Add(1) == 3 {
			close(allRunning)
		}
		select {
		case <-allRunning:
			return `{"nodes":[]}`, nil
		case <-time.After(10 * time.Second):
			return "", errors.New("the servers were not run at the same time")
		}
	}}
	c, err := NewCluster(map[string]Runner{"RAS1": slow, "RAS2": slow, "RAS3": slow})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetNodes(context.Background()); err != nil || len(got) != 3 {
		t.Errorf("GetNodes = %v, %v", got, err)
	}
}

func TestClusterValidatesOnceBeforeFanningOut(t *testing.T) {
	r := answer(`{"indeterminate":false}`)
	c, err := NewCluster(map[string]Runner{"RAS1": r, "RAS2": r})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisconnectVPN(context.Background(), VPNTarget{}); !errors.Is(err, ErrInvalidArgument) || len(FailedServers(err)) != 0 {
		t.Errorf("DisconnectVPN without a target: %v; want one invalid-argument error, not one per server", err)
	}
	if len(r.sent()) != 0 {
		t.Errorf("sent %+v", r.sent())
	}
	if _, err := NewCluster(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("NewCluster(nil): %v", err)
	}
}

// sasRunner reports SAs for the first `rounds` polls, then none.
func sasRunner(rounds int) *fakeRunner {
	var polls atomic.Int32
	return &fakeRunner{result: func(string) (string, error) {
		if int(polls.Add(1)) <= rounds {
			return `{"indeterminate":false,"main_mode":[{"name":"7","remote_first_id":"CORP\\CLIENT1$","quick_mode_count":2}],"quick_mode_count":2}`, nil
		}
		return `{"indeterminate":false,"main_mode":[],"quick_mode_count":0}`, nil
	}}
}
