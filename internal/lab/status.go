package lab

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/labtls"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/strictjson"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
)

// The status endpoint shows the servers' counters (HTTP requests, shells, commands, commands per script) and fault
// switches to a person or a benchmark outside the Go API, and lets them set the switches:
//
//	GET  /status                  {"servers": {"RAS1": {"counters": ..., "commands_per_script": ..., "faults": ...}}}
//	POST /faults[?server=RAS1]    a JSON object of the switches to change (see faultSwitches), or {"reset": true}
//
// It serves HTTPS with a certificate from the lab's CA and requires HTTP Basic authentication with the lab's WinRM
// credentials (Info.WinRMUsername and Info.WinRMPassword).

// maxStatusBody bounds a POST body.
const maxStatusBody = 64 << 10

// scriptCounts counts the commands a server ran, by script name.
type scriptCounts struct {
	mu     sync.Mutex
	counts map[string]int64
}

func (c *scriptCounts) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// countCommands counts each command by the script its stdin carries ("" when it carries none of the provider's).
func countCommands(counts *scriptCounts, next wsman.Executor) wsman.Executor {
	return wsman.ExecutorFunc(func(ctx context.Context, req wsman.ExecRequest) wsman.ExecResult {
		counts.mu.Lock()
		counts.counts[wsman.ScriptOf(req.Stdin)]++
		counts.mu.Unlock()
		return next.Execute(ctx, req)
	})
}

// faultSwitches is the JSON form of wsman.FaultSettings: durations as strings ("25ms"). In a POST every field is
// optional and only the given ones change.
type faultSwitches struct {
	RequestLatency   *string `json:"request_latency,omitempty"`
	StartLatency     *string `json:"start_latency,omitempty"`
	QuotaEvery       *int    `json:"quota_every,omitempty"`
	QuotaNext        *int    `json:"quota_next,omitempty"`
	HangCommands     *bool   `json:"hang_commands,omitempty"`
	DropConnections  *bool   `json:"drop_connections,omitempty"`
	WrongContentType *bool   `json:"wrong_content_type,omitempty"`
	AuthFailure      *bool   `json:"auth_failure,omitempty"`
	LoseReplyNext    *int    `json:"lose_reply_next,omitempty"`   // the next N commands run, then their final reply is lost
	LoseReplyEvery   *int    `json:"lose_reply_every,omitempty"`  // every Nth command's final reply is lost
	LoseReplyScript  *string `json:"lose_reply_script,omitempty"` // only commands of this script, e.g. "purge-sas/v1"
	// AllowRemoteShellAccess and CbtHardeningLevel ("Relaxed" or "Strict") are the WinRM settings of that name.
	AllowRemoteShellAccess *bool             `json:"allow_remote_shell_access,omitempty"`
	CbtHardeningLevel      *string           `json:"cbt_hardening_level,omitempty"`
	ActionLatency          map[string]string `json:"action_latency,omitempty"` // e.g. {"Delete": "300ms"}; "0s" turns one off
	Reset                  bool              `json:"reset,omitempty"`          // turn every switch off first
	// The enterprise CA's switches, lab-wide whatever ?server= says (enterprise_ca.go).
	CAUnreachable  *bool `json:"ca_unreachable,omitempty"`
	CAAccessDenied *bool `json:"ca_access_denied,omitempty"`
}

func switchesOf(s wsman.FaultSettings) faultSwitches {
	requestLatency, startLatency := s.RequestLatency.String(), s.StartLatency.String()
	allowed, cbt := !s.RemoteShellAccessDenied, cbtLevel(s.StrictChannelBinding)
	sw := faultSwitches{
		RequestLatency: &requestLatency, StartLatency: &startLatency, QuotaEvery: &s.QuotaEvery, QuotaNext: &s.QuotaNext,
		HangCommands: &s.HangCommands, DropConnections: &s.DropConnections, WrongContentType: &s.WrongContentType,
		AuthFailure: &s.AuthFailure, LoseReplyNext: &s.LoseReplyNext, LoseReplyEvery: &s.LoseReplyEvery,
		LoseReplyScript: &s.LoseReplyScript, AllowRemoteShellAccess: &allowed, CbtHardeningLevel: &cbt,
		ActionLatency: map[string]string{},
	}
	for action, d := range s.ActionLatency {
		sw.ActionLatency[action] = d.String()
	}
	return sw
}

// apply checks every value first, then sets them, so that a bad request changes nothing.
func (sw faultSwitches) apply(f *wsman.Faults) error {
	var sets []func()
	duration := func(name, text string, set func(time.Duration)) error {
		d, err := time.ParseDuration(text)
		if err != nil || d < 0 {
			return fmt.Errorf("%s %q is not a duration such as \"25ms\"", name, text)
		}
		sets = append(sets, func() { set(d) })
		return nil
	}
	if sw.RequestLatency != nil {
		if err := duration("request_latency", *sw.RequestLatency, f.SetRequestLatency); err != nil {
			return err
		}
	}
	if sw.StartLatency != nil {
		if err := duration("start_latency", *sw.StartLatency, f.SetStartLatency); err != nil {
			return err
		}
	}
	for action, text := range sw.ActionLatency {
		if err := duration("action_latency."+action, text, func(d time.Duration) { f.SetActionLatency(action, d) }); err != nil {
			return err
		}
	}
	for name, n := range map[string]*int{"quota_every": sw.QuotaEvery, "quota_next": sw.QuotaNext,
		"lose_reply_next": sw.LoseReplyNext, "lose_reply_every": sw.LoseReplyEvery} {
		if n != nil && *n < 0 {
			return fmt.Errorf("%s must not be negative", name)
		}
	}
	strict, err := parseCbtLevel(sw.CbtHardeningLevel)
	if err != nil {
		return err
	}
	if sw.Reset {
		f.Reset()
	}
	for _, set := range sets {
		set()
	}
	setInt(sw.QuotaEvery, f.SetQuotaEvery)
	setInt(sw.QuotaNext, f.SetQuotaNext)
	setInt(sw.LoseReplyNext, f.SetLoseReplyNext)
	setInt(sw.LoseReplyEvery, f.SetLoseReplyEvery)
	if sw.LoseReplyScript != nil {
		f.SetLoseReplyScript(*sw.LoseReplyScript)
	}
	setBool(sw.AllowRemoteShellAccess, f.SetRemoteShellAccess)
	setBool(strict, f.SetStrictChannelBinding)
	setBool(sw.HangCommands, f.SetHangCommands)
	setBool(sw.DropConnections, f.SetDropConnections)
	setBool(sw.WrongContentType, f.SetWrongContentType)
	setBool(sw.AuthFailure, f.SetAuthFailure)
	return nil
}

// cbtLevel names CbtHardeningLevel as WinRM does.
func cbtLevel(strict bool) string {
	if strict {
		return "Strict"
	}
	return "Relaxed"
}

// parseCbtLevel reads a CbtHardeningLevel: nil when none is given, else whether it is Strict. The lab knows Relaxed
// (the default) and Strict; None would accept what Relaxed accepts from the provider's clients, which send no token.
func parseCbtLevel(level *string) (*bool, error) {
	if level == nil {
		return nil, nil
	}
	switch strings.ToLower(*level) {
	case "strict":
		return new(true), nil
	case "relaxed", "none":
		return new(false), nil
	}
	return nil, fmt.Errorf("cbt_hardening_level %q is not Relaxed, Strict or None", *level)
}

func setInt(v *int, set func(int)) {
	if v != nil {
		set(*v)
	}
}

func setBool(v *bool, set func(bool)) {
	if v != nil {
		set(*v)
	}
}

// serverStatus is one server in GET /status.
type serverStatus struct {
	Counters          wsman.Counters   `json:"counters"`
	CommandsPerScript map[string]int64 `json:"commands_per_script"`
	Faults            faultSwitches    `json:"faults"`
}

// statusServer serves the endpoint.
type statusServer struct {
	lab                *Lab
	username, password string
	http               *http.Server
	url                string
}

func (l *Lab) startStatus(cfg Config, ca *labtls.CA) error {
	ip := net.IPv4(127, 0, 0, 1)
	tlsConfig, err := serverTLS(ca, "remoteaccess-lab status", []string{"localhost"}, ip)
	if err != nil {
		return fmt.Errorf("lab status: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(cfg.StatusPort)))
	if err != nil {
		return fmt.Errorf("lab status: %w", err)
	}
	s := &statusServer{lab: l, username: cfg.Username, password: cfg.Password}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	s.url = "https://" + ln.Addr().String() + "/status"
	l.status, l.info.StatusURL = s, s.url
	go func() { _ = s.http.Serve(tls.NewListener(ln, tlsConfig)) }()
	return nil
}

func (s *statusServer) close() error {
	if err := s.http.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

func (s *statusServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, password, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.username)) != 1 ||
		subtle.ConstantTimeCompare([]byte(password), []byte(s.password)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="remoteaccess-lab"`)
		http.Error(w, "the lab's WinRM credentials are required", http.StatusUnauthorized)
		return
	}
	switch {
	case r.URL.Path == "/status" && r.Method == http.MethodGet:
		s.writeStatus(w)
	case r.URL.Path == "/faults" && r.Method == http.MethodPost:
		s.setFaults(w, r)
	default:
		http.Error(w, "GET /status or POST /faults", http.StatusNotFound)
	}
}

func (s *statusServer) writeStatus(w http.ResponseWriter) {
	doc := struct {
		Servers map[string]serverStatus `json:"servers"`
	}{Servers: map[string]serverStatus{}}
	for i, info := range s.lab.info.Servers {
		srv := s.lab.servers[i]
		doc.Servers[info.Name] = serverStatus{
			Counters:          srv.Counters(),
			CommandsPerScript: s.lab.scripts[i].snapshot(),
			Faults:            switchesOf(srv.Faults().Settings()),
		}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc)
}

func (s *statusServer) setFaults(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxStatusBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var sw faultSwitches
	if err := strictjson.Decode(body, &sw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	targets := s.lab.servers
	if name := r.URL.Query().Get("server"); name != "" {
		srv := s.lab.Server(name)
		if srv == nil {
			http.Error(w, fmt.Sprintf("no server %q", name), http.StatusNotFound)
			return
		}
		targets = []*wsman.Server{srv}
	}
	for _, srv := range targets {
		if err := sw.apply(srv.Faults()); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	s.lab.applyCAFaults(sw)
	s.writeStatus(w)
}
