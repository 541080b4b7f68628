// Package wsman is the lab's WS-Management server: the subset of Windows Remote Shell (WinRS) over SOAP 1.2 that
// WinRM clients use to run a command (Create, Command, Send, Receive, Signal, Delete), with Basic, NTLM and
// Kerberos authentication (the last with a keytab from a real domain, see KerberosOptions), HTTPS from a private
// CA, per-user shell quotas, and faults that tests switch on at run time.
// Commands are handed to an Executor; the server itself runs nothing.
//
// What it imitates, and the Windows behaviour it rests on:
//   - answers are HTTP 200 with Content-Type application/soap+xml;charset=UTF-8; faults are HTTP 500 with an
//     s:Fault carrying a wsmanfault:WSManFault Code (2150858843 unknown shell, 2150859173 shell quota,
//     2150859174 operation quota, 2150859180 remote shells not allowed, 2150858793 operation timeout), as in the
//     captures in masterzen/winrm's fixture_test.go and the Windows SDK's codes;
//   - Create returns the shell id both in the ResourceCreated selector set and in rsp:Shell/rsp:ShellId;
//   - Receive is long-polled: it answers when the command is done, or with the OperationTimeout fault after the
//     shorter of the request's OperationTimeout and Options.ReceiveWait, and the client polls again;
//   - MaxShellsPerUser (5 unless set: Microsoft's WinRM configuration page) is enforced per account, shells expire
//     when idle (idle.go), and AllowRemoteShellAccess and CbtHardeningLevel = Strict can be switched on (Faults);
//   - NTLM authenticates the connection, Kerberos each request, and Basic only local accounts (see auth.go);
//   - a Kerberos caller is named as its ticket's PAC names it (NETBIOS\user).
package wsman

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	Name   string // computer name: ExecRequest.Server, NTLM target, fault Machine attribute
	Domain string // NetBIOS domain name, e.g. CORP; "" accepts any domain in user names
	// Users are the accounts that may use WinRM: account -> password; keys may be "user", `DOMAIN\user` or
	// "user@domain". An empty password admits the account through Kerberos only.
	Users map[string]string
	// LocalUsers are accounts of the server itself: user name -> password. Only these may log on with Basic; with
	// NTLM they are named "user", ".\user" or "NAME\user".
	LocalUsers    map[string]string
	Kerberos      *KerberosOptions // accept Kerberos logons too; nil: NTLM and Basic only
	Executor      Executor
	TLS           bool     // serve HTTPS with a certificate from a private CA (see CACertPEM)
	ExtraDNSNames []string // DNS names added to the certificate besides localhost, 127.0.0.1 and ::1
	// MaxShellsPerUser is the shells one account may hold at once: default 5, the value Microsoft's "Installation
	// and configuration for Windows Remote Management" gives when no policy sets it (MS-WSMV's schema says 30).
	MaxShellsPerUser int
	// DenyRemoteShellAccess starts the server with AllowRemoteShellAccess = false: every new shell is refused.
	DenyRemoteShellAccess bool
	// StrictChannelBinding starts the server with CbtHardeningLevel = Strict: a logon without a channel binding
	// token is refused.
	StrictChannelBinding bool
	ReceiveWait          time.Duration // longest a Receive waits for a command to finish; default 5s
	// ShellIdleTimeout is the server's IdleTimeout setting: the idle timeout of a shell whose client asked for
	// none, and the most a client may ask for. Default DefaultShellIdleTimeout (two hours); tests set less.
	ShellIdleTimeout time.Duration
	// MinShellIdleTimeout is the least idle timeout a client's request gets (default DefaultMinShellIdleTimeout, one
	// minute, as on Windows); tests set less to watch a forgotten shell expire.
	MinShellIdleTimeout time.Duration
}

// DefaultMaxShellsPerUser is MaxShellsPerUser when no policy sets it (Microsoft's WinRM configuration page).
const DefaultMaxShellsPerUser = 5

const maxRequestBytes = 1 << 20 // well above the 512 KB MaxEnvelopeSizekb of current Windows

// Server is a WS-Management endpoint at /wsman.
type Server struct {
	opts       Options
	users      map[string]account // domain accounts, by lower-case name
	localUsers map[string]account // local accounts, by lower-case name
	certs      *certificates
	kerberos   *kerberosAcceptor // nil without Options.Kerberos
	faults     Faults
	counters   *counters

	ctx    context.Context // parent of every command; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // running commands

	mu       sync.Mutex
	shells   map[string]*shell
	http     *http.Server
	listener net.Listener
}

// NewServer checks the options and prepares the certificates; Start begins serving.
func NewServer(opts Options) (*Server, error) {
	if opts.Executor == nil {
		return nil, errors.New("wsman: an Executor is required")
	}
	if opts.Name == "" {
		opts.Name = "localhost"
	}
	if opts.MaxShellsPerUser <= 0 {
		opts.MaxShellsPerUser = DefaultMaxShellsPerUser
	}
	if opts.ReceiveWait <= 0 {
		opts.ReceiveWait = 5 * time.Second
	}
	if opts.ShellIdleTimeout <= 0 {
		opts.ShellIdleTimeout = DefaultShellIdleTimeout
	}
	if opts.MinShellIdleTimeout <= 0 {
		opts.MinShellIdleTimeout = DefaultMinShellIdleTimeout
	}
	s := &Server{opts: opts, users: map[string]account{}, localUsers: map[string]account{}, counters: newCounters(), shells: map[string]*shell{}}
	for name, password := range opts.LocalUsers {
		if strings.ContainsAny(name, `\@`) || name == "" {
			return nil, fmt.Errorf("wsman: local user %q must be a bare user name", name)
		}
		s.localUsers[strings.ToLower(name)] = account{name: opts.Name + `\` + name, password: password}
	}
	for name, password := range opts.Users {
		key, ok := s.accountKey(name, "")
		if !ok {
			return nil, fmt.Errorf("wsman: user %q is not in domain %q", name, opts.Domain)
		}
		display, _ := splitAccount(name)
		if opts.Domain != "" {
			display = opts.Domain + `\` + display
		}
		s.users[key] = account{name: display, password: password}
	}
	if opts.Kerberos != nil {
		k, err := newKerberosAcceptor(*opts.Kerberos)
		if err != nil {
			return nil, err
		}
		s.kerberos = k
	}
	if opts.TLS {
		certs, err := newCertificates(opts.Name, opts.ExtraDNSNames)
		if err != nil {
			return nil, fmt.Errorf("wsman: %w", err)
		}
		s.certs = certs
	}
	s.faults.SetRemoteShellAccess(!opts.DenyRemoteShellAccess)
	s.faults.SetStrictChannelBinding(opts.StrictChannelBinding)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start listens on addr (such as "127.0.0.1:0") and serves in the background.
func (s *Server) Start(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return errors.New("wsman: already started")
	}
	l, err := (&net.ListenConfig{}).Listen(s.ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("wsman: %w", err)
	}
	if s.certs != nil {
		l = tls.NewListener(l, &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{s.certs.server},
			NextProtos:   []string{"http/1.1"}, // NTLM needs HTTP/1.1 connections
		})
	}
	s.listener = l
	s.http = &http.Server{
		Handler: s, ConnContext: withConnState, ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0), // refused TLS handshakes are what fault tests provoke
	}
	go func() { _ = s.http.Serve(l) }()
	return nil
}

// Endpoint returns the address the server listens on.
func (s *Server) Endpoint() (host string, port int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return "", 0
	}
	h, p, _ := net.SplitHostPort(s.listener.Addr().String())
	port, _ = strconv.Atoi(p)
	return h, port
}

// URL returns the endpoint URL, e.g. https://127.0.0.1:5986/wsman.
func (s *Server) URL() string {
	host, port := s.Endpoint()
	scheme := "http"
	if s.certs != nil {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/wsman"}).String()
}

// CACertPEM returns the PEM certificate of the CA that signed the server certificate (nil without TLS).
func (s *Server) CACertPEM() []byte {
	if s.certs == nil {
		return nil
	}
	return append([]byte(nil), s.certs.caPEM...)
}

// Faults returns the server's fault switches.
func (s *Server) Faults() *Faults { return &s.faults }

// Counters returns a snapshot of the server's counters.
func (s *Server) Counters() Counters { return s.counters.snapshot() }

// ExpireShells forgets every shell and terminates its commands, as a restart of the WinRM service or the
// shell idle timeout would: clients holding a shell id get the invalid-shell fault (2150858843) next time.
func (s *Server) ExpireShells() {
	s.mu.Lock()
	shells := make([]*shell, 0, len(s.shells))
	for _, sh := range s.shells {
		shells = append(shells, sh)
	}
	s.mu.Unlock()
	for _, sh := range shells {
		s.deleteShell(s.ctx, sh)
	}
}

// OpenShell describes a shell the server holds, for a test that finds one left open.
type OpenShell struct {
	ID, Owner         string
	Created, LastUsed time.Time
	Commands          int // commands created in it and not yet deleted by a Signal
}

// OpenShells describes the shells the server holds now, oldest first.
func (s *Server) OpenShells() []OpenShell {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := make([]OpenShell, 0, len(s.shells))
	for _, sh := range s.shells {
		open = append(open, OpenShell{ID: sh.id, Owner: sh.owner, Created: sh.created, LastUsed: sh.lastUsed, Commands: len(sh.commands)})
	}
	slices.SortFunc(open, func(a, b OpenShell) int { return a.Created.Compare(b.Created) })
	return open
}

// Close stops serving, cancels every command and waits for them to return.
func (s *Server) Close() error {
	s.cancel()
	s.mu.Lock()
	srv := s.http
	for _, sh := range s.shells {
		sh.timer.Stop()
	}
	s.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
	}
	s.wg.Wait()
	return err
}

// ServeHTTP handles one WS-Management request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.counters.httpRequests.Add(1)
	if !sleep(r.Context(), time.Duration(s.faults.requestLatency.Load())) {
		return
	}
	if s.faults.dropConnections.Load() {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	if r.URL.Path != "/wsman" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	user, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if !strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/soap+xml") {
		http.Error(w, "unsupported media type", http.StatusUnsupportedMediaType)
		return
	}
	req, err := parseRequest(body)
	if err != nil {
		s.reply(w, "", "", "", invalidRequestFault("%v", err))
		return
	}
	name, ok := actionNames[req.Header.Action]
	if ok {
		s.counters.actions[name].Add(1)
		if !sleep(r.Context(), s.faults.latencyOf(name)) {
			return
		}
	}
	if s.faults.quotaNow() || ok && s.faults.actionQuotaNow(name) {
		s.reply(w, req.Header.MessageID, "", "", operationQuotaFault())
		return
	}
	action, out, fault := s.dispatch(r, user, req)
	time.Sleep(s.faults.replyLatencyOf(name)) // done already: the answer is late, whoever still listens
	if fault == errLoseReply {
		dropConnection(w) // the command ran; its client never learns how it ended
		return
	}
	s.reply(w, req.Header.MessageID, action, out, fault)
}

// errLoseReply is dispatch's answer when the fault switches lose the reply (Faults.SetLoseReplyNext).
var errLoseReply = &Fault{Message: "reply lost"}

// dropConnection closes the request's connection without an answer, as a network failure would.
func dropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// dispatch runs one action and returns the response action and body, or a fault.
func (s *Server) dispatch(r *http.Request, user string, req *request) (string, string, *Fault) {
	shellID := req.selector("ShellId")
	switch req.Header.Action {
	case actionCreate:
		var requested string
		if req.Body.Shell != nil {
			requested = strings.TrimSpace(req.Body.Shell.IdleTimeOut)
		}
		idle, fault := s.idleTimeoutFor(requested)
		if fault != nil {
			return "", "", fault
		}
		id, fault := s.createShell(user, idle)
		if fault != nil {
			return "", "", fault
		}
		return actionCreate + "Response", s.createdBody(r, user, id, idle), nil
	case actionCommand:
		if req.Body.CommandLine == nil {
			return "", "", invalidRequestFault("the Command request has no rsp:CommandLine")
		}
		line := strings.Join(append([]string{req.Body.CommandLine.Command}, req.Body.CommandLine.Arguments...), " ")
		cmd, fault := s.newCommand(user, shellID, line)
		if fault != nil {
			return "", "", fault
		}
		return actionCommand + "Response", `<rsp:CommandResponse><rsp:CommandId>` + cmd.id + `</rsp:CommandId></rsp:CommandResponse>`, nil
	case actionSend:
		return s.handleSend(user, shellID, req)
	case actionReceive:
		if req.Body.Receive == nil {
			return "", "", invalidRequestFault("the Receive request has no rsp:Receive")
		}
		cmd, fault := s.commandFor(user, shellID, req.Body.Receive.DesiredStream.CommandID)
		if fault != nil {
			return "", "", fault
		}
		wait := s.opts.ReceiveWait
		if t := req.operationTimeout(); t > 0 && t < wait {
			wait = t
		}
		out, fault := s.receive(r.Context(), cmd, wait)
		_, _ = s.shellFor(user, shellID) // the long poll ends: the shell was busy until now
		if fault == nil && strings.Contains(out, commandStateDone) && s.faults.loseReplyNow(cmd.stdin()) {
			return "", "", errLoseReply
		}
		return actionReceive + "Response", out, fault
	case actionSignal:
		if req.Body.Signal == nil {
			return "", "", invalidRequestFault("the Signal request has no rsp:Signal")
		}
		sh, fault := s.shellFor(user, shellID)
		if fault != nil {
			return "", "", fault
		}
		if cmd, fault := s.commandFor(user, shellID, req.Body.Signal.CommandID); fault == nil {
			s.terminate(r.Context(), sh, cmd) // terminate, ctrl_c and ctrl_break all end the command here
		}
		return actionSignal + "Response", `<rsp:SignalResponse/>`, nil
	case actionDelete:
		sh, fault := s.shellFor(user, shellID)
		if fault != nil {
			return "", "", fault
		}
		s.deleteShell(r.Context(), sh)
		return actionDelete + "Response", "", nil
	default:
		return "", "", &Fault{Code: codeActionNotFound, Subcode: "a:ActionNotSupported", Sender: true,
			Message: "The WS-Management service cannot process the request because the action " + req.Header.Action + " is not supported."}
	}
}

func (s *Server) handleSend(user, shellID string, req *request) (string, string, *Fault) {
	if req.Body.Send == nil {
		return "", "", invalidRequestFault("the Send request has no rsp:Send")
	}
	for _, st := range req.Body.Send.Streams {
		if st.Name != "stdin" {
			return "", "", invalidRequestFault("the shell has no input stream %q", st.Name)
		}
		cmd, fault := s.commandFor(user, shellID, st.CommandID)
		if fault != nil {
			return "", "", fault
		}
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st.Data))
		if err != nil {
			return "", "", invalidRequestFault("the stdin stream is not base64: %v", err)
		}
		s.sendInput(cmd, data, st.End == "true")
	}
	return actionSend + "Response", `<rsp:SendResponse/>`, nil
}

func (s *Server) createdBody(r *http.Request, user, id string, idle time.Duration) string {
	clientIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	address := scheme + "://" + r.Host + "/wsman"
	return `<x:ResourceCreated><a:Address>` + esc(address) + `</a:Address><a:ReferenceParameters>` +
		`<w:ResourceURI>` + resourceURIShellCmd + `</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">` + id +
		`</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>` +
		`<rsp:Shell xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><rsp:ShellId>` + id + `</rsp:ShellId>` +
		`<rsp:ResourceUri>` + resourceURIShellCmd + `</rsp:ResourceUri><rsp:Owner>` + esc(user) + `</rsp:Owner>` +
		`<rsp:ClientIP>` + esc(clientIP) + `</rsp:ClientIP><rsp:IdleTimeOut>` + fmt.Sprintf("PT%.3fS", idle.Seconds()) + `</rsp:IdleTimeOut>` +
		`<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`
}

// reply writes a response envelope, or the fault with status 500.
func (s *Server) reply(w http.ResponseWriter, relatesTo, action, body string, fault *Fault) {
	contentType := soapContentType
	if s.faults.wrongContentType.Load() {
		contentType = "text/html; charset=utf-8"
	}
	w.Header().Set("Content-Type", contentType)
	if fault != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, fault.render(s.opts.Name, relatesTo)) //nolint:gosec // XML-escaped SOAP, not HTML
		return
	}
	_, _ = io.WriteString(w, envelope(action, relatesTo, body))
}

// sleep waits d (nothing for d <= 0) and reports whether ctx, the client's request, is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
	}
	return ctx.Err() == nil
}
