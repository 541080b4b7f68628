package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
)

// testBootstrap stands in for the provider's bootstrap: the lab looks only at its first line.
const testBootstrap = bootstrapLine + "\n$payload = [Console]::In.ReadToEnd()\n"

// fakeDirectory is an AccountChecker with a set of disabled accounts.
type fakeDirectory struct {
	mu       sync.Mutex
	disabled map[string]bool
	err      error
	asked    []string
	// whileAsked runs once, inside the next question, after its answer is read: what another command does while
	// a question is on its way to a real directory.
	whileAsked func()
}

func (d *fakeDirectory) AccountEnabled(_ context.Context, name string) (bool, error) {
	d.mu.Lock()
	d.asked = append(d.asked, name)
	enabled, err := !d.disabled[strings.ToUpper(name)], d.err
	during := d.whileAsked
	d.whileAsked = nil
	d.mu.Unlock()
	if during != nil {
		during()
	}
	return enabled, err
}

func (d *fakeDirectory) disable(names ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.disabled == nil {
		d.disabled = map[string]bool{}
	}
	for _, n := range names {
		d.disabled[strings.ToUpper(n)] = true
	}
}

// manualClock moves only when told to.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type lab struct {
	*Cluster
	dir   *fakeDirectory
	clock *manualClock
}

const (
	testDelay       = 5 * time.Second
	testConvergence = 3 * time.Second
)

// newLab builds the cluster of testdata/cluster.json with a fake directory and a manual clock.
func newLab(t *testing.T) *lab {
	t.Helper()
	seed, err := LoadSeed("testdata/cluster.json")
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{dir: &fakeDirectory{}, clock: &manualClock{now: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}}
	opts := seed.Options()
	opts.Directory, opts.Clock = l.dir, l.clock.Now
	opts.ReestablishDelay, opts.ConvergenceDelay = testDelay, testConvergence
	l.Cluster, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// payload builds stdin as the provider's client sends it: SCRIPT_TEXT, four NULs, base64(JSON input).
func payload(t *testing.T, script string, input any) []byte {
	t.Helper()
	data, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	text := "# remoteaccess-script: " + script + "\r\nparam([string]$InputJson)\r\n"
	return []byte(text + payloadSeparator + base64.StdEncoding.EncodeToString(data))
}

// execute runs a script through the server's wsman.Executor and returns its exit code and output document.
func (l *lab) execute(t *testing.T, server, script string, input any) (int, outputDoc) {
	t.Helper()
	// A bound on every script: an emulation that waits (drain-node) must not hang a test that expects an answer.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := l.Executor(server).Execute(ctx, wsman.ExecRequest{
		Server: server, EncodedScript: testBootstrap, Stdin: payload(t, script, input),
	})
	var doc outputDoc
	if err := json.Unmarshal(res.Stdout, &doc); err != nil {
		t.Fatalf("%s on %s: stdout %q is not JSON: %v", script, server, res.Stdout, err)
	}
	return res.ExitCode, doc
}

type outputDoc struct {
	Result json.RawMessage `json:"result"`
	Error  *scriptError    `json:"error"`
}

// succeed runs a script that must succeed and decodes its result.
func succeed[T any](t *testing.T, l *lab, server, script string, input any) T {
	t.Helper()
	code, doc := l.execute(t, server, script, input)
	if code != 0 || doc.Error != nil {
		t.Fatalf("%s on %s: exit %d, error %+v", script, server, code, doc.Error)
	}
	var out T
	if err := json.Unmarshal(doc.Result, &out); err != nil {
		t.Fatalf("%s on %s: result %s: %v", script, server, doc.Result, err)
	}
	return out
}

// fail runs a script that must fail and returns its error document.
func fail(t *testing.T, l *lab, server, script string, input any) *scriptError {
	t.Helper()
	code, doc := l.execute(t, server, script, input)
	if code != 1 || doc.Error == nil {
		t.Fatalf("%s on %s: exit %d, result %s; want an error with exit code 1", script, server, code, doc.Result)
	}
	return doc.Error
}

type sasResult struct {
	MainMode       []mainModeSA `json:"main_mode"`
	QuickModeCount int          `json:"quick_mode_count"`
}

type connectionsResult struct {
	Connections []connection `json:"connections"`
}

type purgeResult struct {
	MainModeRemoved              int `json:"main_mode_removed"`
	QuickModeRemoved             int `json:"quick_mode_removed"`
	VPNDeviceTunnelsDisconnected int `json:"vpn_device_tunnels_disconnected"`
	VPNConnectionsDisconnected   int `json:"vpn_connections_disconnected"`
}

type nodesResult struct {
	Nodes []nodeView `json:"nodes"`
}

func (l *lab) sas(t *testing.T, server string, identities ...string) sasResult {
	t.Helper()
	return succeed[sasResult](t, l, server, "get-ipsec-sas/v1", map[string]any{"identities": identities})
}

func (l *lab) connections(t *testing.T, server string) []connection {
	t.Helper()
	return succeed[connectionsResult](t, l, server, "get-connections/v1", map[string]any{}).Connections
}

// describe names each connection as TYPE:HOST:USERS for comparisons.
func describe(conns []connection) []string {
	var names []string
	for _, c := range conns {
		names = append(names, c.ConnectionType+":"+c.HostName+":"+strings.Join(c.UserNames, ","))
	}
	return names
}

var errDirectoryDown = errors.New("directory is down")
