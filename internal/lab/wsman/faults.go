package wsman

import (
	"bytes"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Faults are the misbehaviours a test or a demo can switch on at run time. Every setter is safe for concurrent
// use with the requests in flight; a zero value of any setting turns that fault off.
type Faults struct {
	requestLatency    atomic.Int64 // nanoseconds added before every HTTP request is handled
	startLatency      atomic.Int64 // nanoseconds a command waits before it starts, as powershell.exe takes to load
	quotaEvery        atomic.Int64 // every Nth SOAP request fails with the quota fault
	quotaNext         atomic.Int64 // the next N SOAP requests fail with the quota fault
	dropConnections   atomic.Bool  // every HTTP request has its connection closed without an answer
	wrongContentType  atomic.Bool  // answers carry text/html instead of application/soap+xml
	authFailure       atomic.Bool  // every request is refused with 401, even with the right password
	soapRequestNumber atomic.Int64
	loseReplyNext     atomic.Int64 // the next N commands run, then the Receive that would report them done loses its connection
	loseReplyEvery    atomic.Int64 // every Nth command's final Receive reply is lost the same way
	finishedReceives  atomic.Int64
	loseReplyScript   atomic.Value // string: only commands of this script (the first line of their stdin) count
	shellAccessDenied atomic.Bool  // AllowRemoteShellAccess = false: every new shell is refused
	strictCBT         atomic.Bool  // CbtHardeningLevel = Strict: logons without a channel binding token are refused

	mu            sync.Mutex
	actionLatency map[string]time.Duration // by action name (Create, Delete, ...)
	replyLatency  map[string]time.Duration // by action name: the action is done, its answer comes late
	actionQuota   map[string]int           // the next N requests of an action fail with the quota fault
	hang          *hangGate                // while commands hang: what they wait for (until signalled, deleted or the hang ends)
}

// hangGate is closed when the hang ends; run says whether the waiting commands then run or end as terminated.
type hangGate struct {
	done chan struct{}
	run  bool
}

// SetRequestLatency delays every HTTP request, handshakes included, by d.
func (f *Faults) SetRequestLatency(d time.Duration) { f.requestLatency.Store(int64(d)) }

// SetStartLatency delays the start of every command by d (powershell.exe start-up time).
func (f *Faults) SetStartLatency(d time.Duration) { f.startLatency.Store(int64(d)) }

// SetActionLatency delays the handling of every authenticated request of one action (Create, Command, Send,
// Receive, Signal or Delete) by d, after it is counted, e.g. a slow Delete; 0 turns it off.
func (f *Faults) SetActionLatency(action string, d time.Duration) {
	f.setLatency(&f.actionLatency, action, d)
}

// setLatency sets one action's delay in *m, or removes it when d is 0.
func (f *Faults) setLatency(m *map[string]time.Duration, action string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *m == nil {
		*m = map[string]time.Duration{}
	}
	if d <= 0 {
		delete(*m, action)
		return
	}
	(*m)[action] = d
}

// SetReplyLatency delays the answer to every request of one action by d once the action is done (a busy server
// or network on the way back): a client that stops listening meanwhile does not undo it, as on Windows, where a
// request received is carried out. 0 turns it off.
func (f *Faults) SetReplyLatency(action string, d time.Duration) {
	f.setLatency(&f.replyLatency, action, d)
}

func (f *Faults) replyLatencyOf(action string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.replyLatency[action]
}

func (f *Faults) latencyOf(action string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.actionLatency[action]
}

// SetQuotaNextOf makes the next n authenticated requests of one action (Create, Command, Send, Receive, Signal or
// Delete) fail with the quota fault; 0 turns it off.
func (f *Faults) SetQuotaNextOf(action string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.actionQuota == nil {
		f.actionQuota = map[string]int{}
	}
	f.actionQuota[action] = n
}

// actionQuotaNow says whether this request of action gets the quota fault set by SetQuotaNextOf.
func (f *Faults) actionQuotaNow(action string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.actionQuota[action] > 0 {
		f.actionQuota[action]--
		return true
	}
	return false
}

// SetQuotaEvery makes every nth authenticated SOAP request fail with the quota fault (0 turns it off).
func (f *Faults) SetQuotaEvery(n int) { f.quotaEvery.Store(int64(n)) }

// SetQuotaNext makes the next n authenticated SOAP requests fail with the quota fault.
func (f *Faults) SetQuotaNext(n int) { f.quotaNext.Store(int64(n)) }

// SetHangCommands makes commands wait before they run until they are signalled, deleted or the server closes;
// turning it off lets the waiting commands run.
func (f *Faults) SetHangCommands(on bool) { f.setHang(on, true) }

// setHang turns the hang on, or off with the waiting commands run or ended as terminated.
func (f *Faults) setHang(on, run bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case on && f.hang == nil:
		f.hang = &hangGate{done: make(chan struct{})}
	case !on && f.hang != nil:
		f.hang.run = run
		close(f.hang.done)
		f.hang = nil
	}
}

// hanging is the gate the commands wait at; nil when commands do not hang.
func (f *Faults) hanging() *hangGate {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hang
}

// SetDropConnections closes the connection of every HTTP request without answering it.
func (f *Faults) SetDropConnections(on bool) { f.dropConnections.Store(on) }

// SetWrongContentType answers with Content-Type text/html, as a proxy's error page would.
func (f *Faults) SetWrongContentType(on bool) { f.wrongContentType.Store(on) }

// SetAuthFailure refuses every request with 401 Unauthorized.
func (f *Faults) SetAuthFailure(on bool) { f.authFailure.Store(on) }

// SetLoseReplyNext makes the next n commands run to their end, after which the Receive that would report them done
// has its connection closed without an answer: the client cannot tell whether the command ran.
func (f *Faults) SetLoseReplyNext(n int) { f.loseReplyNext.Store(int64(n)) }

// SetLoseReplyEvery loses the final Receive reply of every nth command in the same way (0 turns it off).
func (f *Faults) SetLoseReplyEvery(n int) { f.loseReplyEvery.Store(int64(n)) }

// SetLoseReplyScript limits the lost replies to the commands of one script, named as the first line of its stdin
// names it ("# remoteaccess-script: purge-sas/v1" is purge-sas/v1); "" counts every command.
func (f *Faults) SetLoseReplyScript(name string) { f.loseReplyScript.Store(name) }

func (f *Faults) loseReplyScriptName() string {
	name, _ := f.loseReplyScript.Load().(string)
	return name
}

// loseReplyNow says whether the final Receive reply of the command that just finished, whose stdin is given, is lost.
func (f *Faults) loseReplyNow(stdin []byte) bool {
	if name := f.loseReplyScriptName(); name != "" && !isScript(stdin, name) {
		return false
	}
	n := f.finishedReceives.Add(1)
	for {
		next := f.loseReplyNext.Load()
		if next <= 0 {
			break
		}
		if f.loseReplyNext.CompareAndSwap(next, next-1) {
			return true
		}
	}
	every := f.loseReplyEvery.Load()
	return every > 0 && n%every == 0
}

// SetRemoteShellAccess sets AllowRemoteShellAccess: false refuses every new shell (existing ones keep working).
func (f *Faults) SetRemoteShellAccess(allowed bool) { f.shellAccessDenied.Store(!allowed) }

// SetStrictChannelBinding sets CbtHardeningLevel to Strict (true) or Relaxed, the default (false).
func (f *Faults) SetStrictChannelBinding(strict bool) { f.strictCBT.Store(strict) }

// Reset turns every fault off. Commands that were hanging end as terminated: their callers may be long gone, and
// a purge that ran now would reach into whatever the lab does next.
func (f *Faults) Reset() {
	f.SetRequestLatency(0)
	f.SetStartLatency(0)
	f.SetQuotaEvery(0)
	f.SetQuotaNext(0)
	f.setHang(false, false)
	f.SetDropConnections(false)
	f.SetWrongContentType(false)
	f.SetAuthFailure(false)
	f.SetLoseReplyNext(0)
	f.SetLoseReplyEvery(0)
	f.SetLoseReplyScript("")
	f.SetRemoteShellAccess(true)
	f.SetStrictChannelBinding(false)
	f.mu.Lock()
	f.actionLatency, f.replyLatency, f.actionQuota = nil, nil, nil
	f.mu.Unlock()
}

// FaultSettings is what the fault switches are set to.
type FaultSettings struct {
	RequestLatency, StartLatency  time.Duration
	QuotaEvery, QuotaNext         int
	HangCommands                  bool
	DropConnections               bool
	WrongContentType              bool
	AuthFailure                   bool
	LoseReplyNext, LoseReplyEvery int
	LoseReplyScript               string
	RemoteShellAccessDenied       bool                     // AllowRemoteShellAccess = false
	StrictChannelBinding          bool                     // CbtHardeningLevel = Strict
	ActionLatency                 map[string]time.Duration // by action name; only the actions that have one
}

// Settings returns the current fault settings.
func (f *Faults) Settings() FaultSettings {
	s := FaultSettings{
		RequestLatency:          time.Duration(f.requestLatency.Load()),
		StartLatency:            time.Duration(f.startLatency.Load()),
		QuotaEvery:              int(f.quotaEvery.Load()),
		QuotaNext:               int(f.quotaNext.Load()),
		HangCommands:            f.hanging() != nil,
		DropConnections:         f.dropConnections.Load(),
		WrongContentType:        f.wrongContentType.Load(),
		AuthFailure:             f.authFailure.Load(),
		LoseReplyNext:           int(f.loseReplyNext.Load()),
		LoseReplyEvery:          int(f.loseReplyEvery.Load()),
		LoseReplyScript:         f.loseReplyScriptName(),
		RemoteShellAccessDenied: f.shellAccessDenied.Load(),
		StrictChannelBinding:    f.strictCBT.Load(),
		ActionLatency:           map[string]time.Duration{},
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for action, d := range f.actionLatency {
		s.ActionLatency[action] = d
	}
	return s
}

// quotaNow says whether this SOAP request gets the injected quota fault.
func (f *Faults) quotaNow() bool {
	n := f.soapRequestNumber.Add(1)
	for {
		next := f.quotaNext.Load()
		if next <= 0 {
			break
		}
		if f.quotaNext.CompareAndSwap(next, next-1) {
			return true
		}
	}
	every := f.quotaEvery.Load()
	return every > 0 && n%every == 0
}

// scriptLinePrefix starts the first line of every provider script (internal/remoteaccess/scripts/CONTRACT.md).
const scriptLinePrefix = "# remoteaccess-script: "

// isScript reports stdin whose first line names the script.
func isScript(stdin []byte, name string) bool { return ScriptOf(stdin) == name }

// ScriptOf is the name on the first line of the script a command received on stdin ("# remoteaccess-script: NAME"),
// or "" when it carries none of the provider's.
func ScriptOf(stdin []byte) string {
	first, _, _ := bytes.Cut(stdin, []byte("\n"))
	name, ok := strings.CutPrefix(string(bytes.TrimSpace(first)), scriptLinePrefix)
	if !ok {
		return ""
	}
	return name
}

// Counters is a snapshot of what the server has seen.
type Counters struct {
	HTTPRequests       int64            `json:"http_requests"`        // every HTTP request, authentication handshakes included
	AuthFailures       int64            `json:"auth_failures"`        // requests answered 401 after credentials were offered
	KerberosLogons     int64            `json:"kerberos_logons"`      // requests authenticated by a Kerberos ticket
	OpenShells         int64            `json:"open_shells"`          // shells created and not yet deleted or expired
	PeakShellsPerUser  int64            `json:"peak_shells_per_user"` // the most shells one account held at once
	ShellsExpired      int64            `json:"shells_expired"`       // shells deleted by their idle timeout
	NTLMLogons         int64            `json:"ntlm_logons"`          // NTLM handshakes that verified (each authenticates one connection)
	BasicLogons        int64            `json:"basic_logons"`         // requests authenticated with Basic (local accounts only)
	RunningCommands    int64            `json:"running_commands"`     // commands started and not yet finished
	MaxRunningCommands int64            `json:"max_running_commands"` // the most commands that ever ran at once
	CommandsStarted    int64            `json:"commands_started"`     // commands handed to the executor (or hung) since the start
	Actions            map[string]int64 `json:"actions"`              // authenticated SOAP requests by action: Create, Command, Send, Receive, Signal, Delete
}

type counters struct {
	httpRequests, authFailures, kerberosLogons, ntlmLogons, basicLogons atomic.Int64
	openShells, peakShellsPerUser, shellsExpired                        atomic.Int64
	running, maxRunning, started                                        atomic.Int64
	actions                                                             map[string]*atomic.Int64
}

func newCounters() *counters {
	c := &counters{actions: map[string]*atomic.Int64{}}
	for _, name := range actionNames {
		c.actions[name] = new(atomic.Int64)
	}
	return c
}

func (c *counters) commandStarted() {
	c.started.Add(1)
	raise(&c.maxRunning, c.running.Add(1))
}

// raise sets peak to n if n is larger.
func raise(peak *atomic.Int64, n int64) {
	for {
		old := peak.Load()
		if n <= old || peak.CompareAndSwap(old, n) {
			return
		}
	}
}

func (c *counters) snapshot() Counters {
	s := Counters{
		HTTPRequests:       c.httpRequests.Load(),
		AuthFailures:       c.authFailures.Load(),
		KerberosLogons:     c.kerberosLogons.Load(),
		OpenShells:         c.openShells.Load(),
		PeakShellsPerUser:  c.peakShellsPerUser.Load(),
		ShellsExpired:      c.shellsExpired.Load(),
		NTLMLogons:         c.ntlmLogons.Load(),
		BasicLogons:        c.basicLogons.Load(),
		RunningCommands:    c.running.Load(),
		MaxRunningCommands: c.maxRunning.Load(),
		CommandsStarted:    c.started.Load(),
		Actions:            make(map[string]int64, len(c.actions)),
	}
	for name, n := range c.actions {
		s.Actions[name] = n.Load()
	}
	return s
}
