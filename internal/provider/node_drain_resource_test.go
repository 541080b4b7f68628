package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

const drainAddr = "remoteaccess_node_drain.test"

// startDrainLab starts a lab whose clients reconnect and whose nodes converge in moments, and makes the drain poll
// and check often enough for it.
func startDrainLab(t *testing.T) *testLab {
	t.Helper()
	return startDrainLabWith(t, lab.Config{})
}

// startDrainLabWith is startDrainLab with further settings in cfg.
func startDrainLabWith(t *testing.T, cfg lab.Config) *testLab {
	t.Helper()
	fastDrains(t)
	return startLabWith(t, drainLabConfig(cfg))
}

// fastDrains makes the provider's drains check every 100 ms and wait 2 s of quiet while t runs. The settings are the
// package's own: tests that run in parallel have them set by their parent, before they start.
func fastDrains(t *testing.T) {
	t.Helper()
	interval, window := drainInterval, quietWindow
	drainInterval, quietWindow = 100*time.Millisecond, 2*time.Second
	t.Cleanup(func() { drainInterval, quietWindow = interval, window })
}

// drainLabConfig is cfg with clients that re-establish their SAs, and nodes that converge, within 300 ms.
func drainLabConfig(cfg lab.Config) lab.Config {
	cfg.ReestablishDelay, cfg.ConvergenceDelay = 300*time.Millisecond, 300*time.Millisecond
	return cfg
}

func nodeDrainConfig(node, drainTimeout string, extra ...string) string {
	return fmt.Sprintf(`
resource "remoteaccess_node_drain" "test" {
  node          = %q
  drain_timeout = %q
  %s
}
`, node, drainTimeout, strings.Join(extra, "\n  "))
}

// checkNode compares a node's NLB state in the lab's model, on every interface, with want.
func checkNode(l *testLab, name string, want cluster.NodeState) resource.TestCheckFunc {
	return func(*terraform.State) error {
		states, err := l.Cluster().NodeStates(name)
		if err != nil {
			return err
		}
		for iface, s := range states {
			if s != want {
				return fmt.Errorf("%s is %s on %s in the lab, want %s (all: %v)", name, s, iface, want, states)
			}
		}
		return nil
	}
}

// checkConnections looks at the lab's model: server carries exactly count connections, and every one of want
// (TYPE:HOST:USERS) is among them, after giving dropped clients time to come back.
func checkConnections(l *testLab, server string, count int, want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var got []string
		for range 20 {
			var err error
			if got, err = l.Cluster().ConnectionsOn(context.Background(), server); err != nil {
				return err
			}
			missing := slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(got, w) })
			if (count < 0 || len(got) == count) && !missing {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("%s carries %q in the lab, want %d connection(s) including %q", server, got, count, want)
	}
}

// ras2Clients are the DirectAccess and VPN clients of RAS2 in the lab's seed that can reconnect elsewhere: carol's
// VPN connection cannot, her account is disabled in the directory seed.
var ras2Clients = []string{
	`DirectAccess:laptop-äö.corp.example:CORP\mallory`, `Vpn::CORP\bob`, `Vpn:client2.corp.example:client2.corp.example`,
}

func TestAccNodeDrain_sessionsMoveDriftAndResume(t *testing.T) {
	l := startDrainLab(t)
	config := l.providerConfig(nodeDrainConfig("RAS2", "2s"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             resource.ComposeAggregateTestCheckFunc(checkNode(l, "RAS2", cluster.Converged)),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(drainAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue(drainAddr, tfjsonpath.New("drained")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("id"), knownvalue.StringExact("RAS2")),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("server"), knownvalue.StringExact(l.info.ServerAddresses[1])),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("drained"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("load_balancer_state_before"), knownvalue.StringExact("Converged")),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("load_balancer_state_after"), knownvalue.StringExact("Stopped")),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("sessions_at_start"), knownvalue.Int64Exact(5)),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("sessions_at_end"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("drained_at"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkNode(l, "RAS2", cluster.Stopped),
					checkNode(l, "RAS1", cluster.Converged),
					checkConnections(l, "RAS2", 0),
					// RAS2's DirectAccess and VPN clients came back through RAS1 (CLIENT2 was already there too).
					checkConnections(l, "RAS1", -1, ras2Clients...),
				),
			},
			{
				// Someone starts the node from its console: the plan drains it again in place. CLIENT2, whose session
				// on RAS2 would come back by itself, is disabled first, so that only the NLB state tells the drift.
				PreConfig: func() {
					l.setEnabled(t, "CLIENT2$", false)
					if err := l.Cluster().SetNodeState("RAS2", cluster.Converged); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(drainAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("drained"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("load_balancer_state_before"), knownvalue.StringExact("Converged")),
				},
				Check: checkNode(l, "RAS2", cluster.Stopped),
			},
		},
	})
}

func TestAccNodeDrain_lastNodeRefusedAtPlan(t *testing.T) {
	l := startDrainLab(t)
	if err := l.Cluster().SetNodeState("RAS1", cluster.Stopped); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:      l.providerConfig(nodeDrainConfig("RAS2", "2s")),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)RAS2 is the last node in rotation.*RAS1 \(Stopped\)`),
			},
			{
				Config:      l.providerConfig(nodeDrainConfig("RAS9", "2s")),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`No server of the provider is the node "RAS9"`),
			},
			{
				Config:      l.providerConfig(nodeDrainConfig("RAS2", "20m", "allow_last_node = true", "timeouts {\n    create = \"30m\"\n  }")),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`create timeout is too short`),
			},
			{
				Config:             l.providerConfig(nodeDrainConfig("RAS2", "2s", "allow_last_node = true")),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
		CheckDestroy: checkNode(l, "RAS2", cluster.Converged),
	})
}

func TestAccNodeDrain_unreachableMidDrainCompletedByTheNextApply(t *testing.T) {
	l := startDrainLab(t)
	config := l.providerConfig(nodeDrainConfig("RAS2", "5s"))
	ras2 := l.Server("RAS2")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkNode(l, "RAS2", cluster.Converged),
		Steps: []resource.TestStep{
			{
				// RAS2 stops answering once its drain runs.
				PreConfig: func() {
					go func() {
						for range 600 {
							if states, _ := l.Cluster().NodeStates("RAS2"); states["Internet"] == cluster.Draining {
								ras2.Faults().SetDropConnections(true)
								return
							}
							time.Sleep(50 * time.Millisecond)
						}
					}()
				},
				Config:             config,
				ExpectNonEmptyPlan: true,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("drained"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("sessions_at_start"), knownvalue.Int64Exact(5)),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("drained_at"), knownvalue.Null()),
				},
			},
			{
				PreConfig: func() { ras2.Faults().Reset() },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(drainAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("drained"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("sessions_at_end"), knownvalue.Int64Exact(0)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(checkNode(l, "RAS2", cluster.Stopped), checkConnections(l, "RAS2", 0)),
			},
		},
	})
}

func TestAccNodeDrain_externalBalancer(t *testing.T) {
	l := startDrainLab(t)
	// The administrator took RAS2 out of the external balancer's pool before the window.
	if err := l.Cluster().SetInExternalPool("RAS2", false); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		// Destroy leaves the balancer alone: NLB was never touched.
		CheckDestroy: checkNode(l, "RAS2", cluster.Converged),
		Steps: []resource.TestStep{{
			Config: l.providerConfig(nodeDrainConfig("RAS2", "1s", `load_balancer = "external"`)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("drained"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("load_balancer_state_after"), knownvalue.StringExact("external: no new sessions")),
				statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("sessions_at_start"), knownvalue.Int64Exact(5)),
				statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("sessions_at_end"), knownvalue.Int64Exact(0)),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkNode(l, "RAS2", cluster.Converged),
				checkConnections(l, "RAS2", 0),
				checkConnections(l, "RAS1", -1, ras2Clients...),
			),
		}},
	})
}

// TestDrainImpactListsSessionsAndTakers checks the plan's impact warning against the lab, and its note when the
// node does not answer.
func TestDrainImpactListsSessionsAndTakers(t *testing.T) {
	l := startDrainLab(t)
	c := l.cluster(t)
	ctx := context.Background()
	topo, err := c.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ras2 := l.info.ServerAddresses[1]
	var diags diag.Diagnostics
	impact(ctx, c, topo, ras2, "RAS2", &diags)
	if len(diags) != 1 || diags[0].Summary() != "Draining RAS2: sessions that will move" {
		t.Fatalf("impact = %v", diags)
	}
	detail := diags[0].Detail()
	for _, want := range []string{"RAS2 carries 5 session(s) now", "reconnect through RAS1", `Vpn (CORP\bob)`,
		`DirectAccess laptop-äö.corp.example (CORP\mallory)`} {
		if !strings.Contains(detail, want) {
			t.Errorf("impact detail lacks %q:\n%s", want, detail)
		}
	}
	l.Server("RAS2").Faults().SetAuthFailure(true)
	diags = nil
	impact(ctx, c, topo, ras2, "RAS2", &diags)
	// A refused logon is an answer: it is not reported as a server that did not answer in time.
	if len(diags) != 1 || diags[0].Summary() != "Draining RAS2: impact not shown" ||
		!strings.Contains(diags[0].Detail(), "RAS2 refused the logon") || strings.Contains(diags[0].Detail(), "did not answer") {
		t.Errorf("impact with RAS2 refusing logons = %v", diags)
	}
}

// TestAccNodeDrain_timeoutLeavesStateTheNextApplyCompletes: the create timeout ends the wait for zero sessions
// (sessions are not disconnected, and the lab's clients never leave by themselves); the drain is recorded with
// drained = false, and the next apply, allowed to disconnect them, completes it in place.
func TestAccNodeDrain_timeoutLeavesStateTheNextApplyCompletes(t *testing.T) {
	l := startDrainLab(t)
	if err := l.Cluster().SetInExternalPool("RAS2", false); err != nil {
		t.Fatal(err)
	}
	external := `load_balancer = "external"`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: l.providerConfig(nodeDrainConfig("RAS2", "1s", external, "disconnect_sessions = false",
					"timeouts {\n    create = \"4s\"\n  }")),
				ExpectNonEmptyPlan: true,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("drained"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("sessions_at_start"), knownvalue.Int64Exact(5)),
				},
				Check: checkConnections(l, "RAS2", 5),
			},
			{
				Config: l.providerConfig(nodeDrainConfig("RAS2", "1s", external)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(drainAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("drained"), knownvalue.Bool(true)),
					// sessions_at_start keeps the count of the first attempt: the window's start.
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("sessions_at_start"), knownvalue.Int64Exact(5)),
					statecheck.ExpectKnownValue(drainAddr, tfjsonpath.New("sessions_at_end"), knownvalue.Int64Exact(0)),
				},
				Check: checkConnections(l, "RAS2", 0),
			},
		},
	})
}

// unusedRunner is a server that the code under test never asks.
type unusedRunner struct{}

func (unusedRunner) Run(context.Context, winrm.Script, any, any) error {
	return errors.New("unexpected run")
}
func (unusedRunner) Check(context.Context) error { return errors.New("unexpected check") }

// A node named by its server entry is found through that server's own answer: when that server did not answer, the
// node's name is not known and the rotation guard could not tell that it counts this node, so no node is found (the
// plan warns, the apply refuses) rather than the entry taken for the node's name.
func TestNodeByServerEntryNeedsItsServersAnswer(t *testing.T) {
	c, err := remoteaccess.NewCluster(map[string]remoteaccess.Runner{"10.0.0.1": unusedRunner{}, "10.0.0.2": unusedRunner{}})
	if err != nil {
		t.Fatal(err)
	}
	topo := remoteaccess.Topology{
		Nodes: []remoteaccess.NodeStatus{{Name: "RAS1"}, {Name: "RAS2"}},
		Local: map[string]string{"10.0.0.2": "RAS2"},
	}
	silent := errors.Join(&remoteaccess.ServerError{Server: "10.0.0.1", Err: errors.New("connection refused")})
	if server, node, ok := locateNode(c, topo, silent, "10.0.0.1"); ok {
		t.Errorf("locateNode(10.0.0.1) with its server silent = %s, %s; want no node", server, node)
	}
	if server, node, ok := locateNode(c, topo, silent, "10.0.0.2"); !ok || server != "10.0.0.2" || node != "RAS2" {
		t.Errorf("locateNode(10.0.0.2) = %s, %s, %v; want RAS2 on 10.0.0.2", server, node, ok)
	}
	// Behind an external balancer no server has NLB to answer with: the entry is the node.
	if server, node, ok := locateNode(c, remoteaccess.Topology{}, nil, "10.0.0.1"); !ok || server != "10.0.0.1" || node != "10.0.0.1" {
		t.Errorf("locateNode(10.0.0.1) without NLB = %s, %s, %v; want the entry", server, node, ok)
	}
}

// A drain waiting for its turn behind the drains before it in the apply stops at Ctrl-C (its context), with an
// error that says nothing was changed, and the turn is given back when the drain ends.
func TestDrainTurnWaitEndsWithItsContext(t *testing.T) {
	var diags diag.Diagnostics
	release, ok := takeDrainTurn(context.Background(), &diags)
	if !ok {
		t.Fatalf("the first drain did not get its turn: %v", diags)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := takeDrainTurn(ctx, &diags); ok || !diags.HasError() || !strings.Contains(diags.Errors()[0].Detail(), "Nothing was changed") {
		t.Fatalf("a drain stopped while it waited for its turn: ok %v, %v; want an error saying nothing was changed", ok, diags)
	}
	release()
	next, ok := takeDrainTurn(context.Background(), &diag.Diagnostics{})
	if !ok {
		t.Fatal("the turn was not given back")
	}
	next()
}

// A drain refused before it is sent (the create timeout, just long enough at plan time, is not once the apply has
// read the cluster) fails the apply and records nothing: the node stays in rotation, and a pipeline sees the failure
// instead of a warning and a zero exit code.
func TestAccNodeDrain_drainRefusedBeforeItIsSentFailsTheApply(t *testing.T) {
	l := startDrainLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			// RAS2 has two NLB interfaces: the drain may take 2 × 1 s and the margin, 62 s, which the plan accepts.
			Config:      l.providerConfig(nodeDrainConfig("RAS2", "1s", "timeouts {\n    create = \"62s\"\n  }")),
			ExpectError: regexp.MustCompile(`(?s)Cannot drain RAS2.*raise the create\s+timeout`),
			Check:       checkNode(l, "RAS2", cluster.Converged),
		}},
	})
	if err := checkNode(l, "RAS2", cluster.Converged)(nil); err != nil {
		t.Error(err)
	}
}

// TestAccNodeDrain_sessionsReturningAreDrift: behind an external balancer, RAS2 goes back into the pool out of band
// and RAS1 stops, so clients land on RAS2 again: Read reports the returned sessions, the plan shows an in-place update,
// and the apply says that the node still receives new sessions.
func TestAccNodeDrain_sessionsReturningAreDrift(t *testing.T) {
	l := startDrainLab(t)
	if err := l.Cluster().SetInExternalPool("RAS2", false); err != nil {
		t.Fatal(err)
	}
	config := l.providerConfig(nodeDrainConfig("RAS2", "1s", `load_balancer = "external"`, "allow_last_node = true"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  checkConnections(l, "RAS2", 0),
			},
			{
				PreConfig: func() {
					if err := l.Cluster().SetInExternalPool("RAS2", true); err != nil {
						t.Fatal(err)
					}
					if err := l.Cluster().SetNodeState("RAS1", cluster.Stopped); err != nil {
						t.Fatal(err)
					}
					if err := checkConnections(l, "RAS2", -1, `DirectAccess:client1.corp.example:CORP\alice`)(nil); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(drainAddr, plancheck.ResourceActionUpdate),
				}},
				ExpectError: regexp.MustCompile(`still receives new sessions`),
			},
		},
	})
}

// TestAccNodeDrain_twoDrainsInOneApply: both drains pass the plan (both nodes are in rotation then), but the apply
// runs them one after the other and the second one's guard sees the first node out: only one node is drained.
// twoDrainsConfig drains both nodes of the lab's two-node cluster, each in its own resource.
func twoDrainsConfig(l *testLab, extra string) string {
	return l.providerConfig(fmt.Sprintf(`
resource "remoteaccess_node_drain" "one" {
  node          = "RAS1"
  drain_timeout = "1s"
  %[1]s
}

resource "remoteaccess_node_drain" "two" {
  node          = "RAS2"
  drain_timeout = "1s"
  %[1]s
}
`, extra))
}

// checkBothNodes compares both nodes' NLB state in the lab's model with want.
func checkBothNodes(l *testLab, want cluster.NodeState) resource.TestCheckFunc {
	return resource.ComposeAggregateTestCheckFunc(checkNode(l, "RAS1", want), checkNode(l, "RAS2", want))
}

// Two drains in one configuration, one per node of a two-node cluster: each plan sees only itself, so the plan of
// the second one counts the first as drained and refuses, before anything is applied. With allow_last_node the
// plan lets both through.
func TestAccNodeDrain_twoDrainsRefusedByThePlan(t *testing.T) {
	l := startDrainLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:      twoDrainsConfig(l, ""),
				ExpectError: regexp.MustCompile(`(?s)RAS[12] is the last node in rotation.*RAS[12] \(Stopped: another\s+remoteaccess_node_drain\s+of\s+this\s+plan`),
			},
			{
				// Nothing was drained: the refusal came before the apply.
				PreConfig: func() {
					if err := checkBothNodes(l, cluster.Converged)(nil); err != nil {
						t.Error(err)
					}
				},
				Config: twoDrainsConfig(l, "allow_last_node = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("remoteaccess_node_drain.one", plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction("remoteaccess_node_drain.two", plancheck.ResourceActionCreate),
				}},
				Check: checkBothNodes(l, cluster.Stopped),
			},
		},
		CheckDestroy: checkBothNodes(l, cluster.Converged),
	})
}

// A drain in state that the cluster no longer lets through (its node was started by hand, the other one stopped)
// is warned about, not refused, by the plan: terraform destroy plans the configuration first, and a refusal there
// would keep the node out. The destroy puts the node back.
func TestAccNodeDrain_destroyIsNeverRefused(t *testing.T) {
	l := startDrainLab(t)
	config := l.providerConfig(nodeDrainConfig("RAS1", "1s"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config, Check: checkNode(l, "RAS1", cluster.Stopped)},
			{
				PreConfig: func() {
					for name, state := range map[string]cluster.NodeState{"RAS1": cluster.Converged, "RAS2": cluster.Stopped} {
						if err := l.Cluster().SetNodeState(name, state); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config:  config,
				Destroy: true, // terraform plan -destroy, with its refresh, then apply
			},
		},
		CheckDestroy: checkNode(l, "RAS1", cluster.Converged),
	})
}

// A server that refuses the TLS handshake answered: the drain says so, naming each server and what it refused,
// instead of reporting a server that did not answer in time; nothing is drained.
func TestAccNodeDrain_tlsRefusalIsNotSilence(t *testing.T) {
	l := startDrainLab(t)
	l.winrmExtra = `tls_server_name = "not-the-server.invalid"`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: l.providerConfig(nodeDrainConfig("RAS2", "2s")),
			ExpectError: regexp.MustCompile(`(?s)Cannot find the node: a server refused the provider.*` +
				regexp.QuoteMeta(l.info.ServerAddresses[1]) + ` refused the TLS handshake`),
		}},
	})
	if err := checkBothNodes(l, cluster.Converged)(nil); err != nil {
		t.Error(err)
	}
}

// A plan that lists servers says how each failed: a refused TLS handshake, logon or connection is not a server that
// did not answer in time.
func TestServerFailureSaysWhatTheServerRefused(t *testing.T) {
	err := errors.Join(
		&remoteaccess.ServerError{Server: "ras1", Err: &winrm.Error{Kind: winrm.KindTLS, Server: "ras1"}},
		&remoteaccess.ServerError{Server: "ras2", Err: &winrm.Error{Kind: winrm.KindUnreachable, Server: "ras2"}},
		&remoteaccess.ServerError{Server: "ras3", Err: &winrm.Error{Kind: winrm.KindTimeout, Server: "ras3"}},
		&remoteaccess.ServerError{Server: "ras4", Err: &winrm.Error{Kind: winrm.KindAuth, Server: "ras4"}},
	)
	for server, want := range map[string]string{
		"ras1": "refused the TLS handshake", "ras2": "could not be reached (connection refused, dropped or no route)",
		"ras3": "did not answer within 10s", "ras4": "refused the logon", "ras5": "did not answer within 10s",
	} {
		if got := serverFailure(err, server, 10*time.Second); got != want {
			t.Errorf("serverFailure(%s) = %q, want %q", server, got, want)
		}
	}
}
