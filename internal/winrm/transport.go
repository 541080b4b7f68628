package winrm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/go-ntlmssp"
	"github.com/masterzen/winrm/soap"
)

// The pinned masterzen/winrm transports build their HTTP requests without a context, so a cancelled operation
// could not interrupt a long-polled Receive. This file is the HTTP side instead: the same NTLM negotiator
// (Azure/go-ntlmssp) and SPNEGO header (gokrb5) as the library's ClientNTLM and ClientKerberos, plus a context per
// operation, TLS server name, request counting and typed errors. The SOAP messages and their parsing remain the
// library's. NTLM authenticates a connection: the negotiator first sends each request without credentials, which a
// connection that already logged on passes, so a warm connection costs no authentication round trip.

const (
	soapContentType  = "application/soap+xml;charset=UTF-8"
	maxResponseBytes = 16 << 20
)

// lane is one HTTP connection pool used by one exchange at a time. NTLM authenticates a connection, and the
// three legs of a handshake must travel on the same one; giving each in-flight exchange a lane of its own keeps
// another request from taking the connection between the legs.
type lane struct {
	roundTripper http.RoundTripper
	transport    *http.Transport
	// legErr is the error of the exchange's last leg that failed (legRecorder): one exchange at a time uses a lane.
	legErr error
}

// legRecorder keeps the error of a failed leg of an NTLM handshake for post, because Azure/go-ntlmssp's Negotiator
// (v0.1.1, negotiator.go) answers a handshake whose second or third leg failed (a dropped connection, the
// context's end) with the server's first 401 and no error. That would read as a refused logon, and a Send as input
// the server refused (never sent), although the third leg carries the request and may have been carried out.
type legRecorder struct {
	lane *lane
	next http.RoundTripper
}

func (r legRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		r.lane.legErr = err
	}
	return resp, err
}

// httpTransport is shared by all operations of a Client.
type httpTransport struct {
	url       string
	auth      Auth
	username  string
	password  string
	kerberos  *kerberosAuth
	tlsConfig *tls.Config
	headerTTL time.Duration // ResponseHeaderTimeout: the longest a server may think before answering

	requests atomic.Int64

	mu    sync.Mutex
	idle  []*lane
	lanes []*lane
}

func newHTTPTransport(cfg Config, url string, headerTimeout time.Duration) (*httpTransport, error) {
	t := &httpTransport{url: url, auth: cfg.Auth, username: cfg.Username, password: cfg.Password, headerTTL: headerTimeout}
	if cfg.HTTPS {
		t.tlsConfig = &tls.Config{
			MinVersion:         tls.VersionTLS12,
			ServerName:         cfg.TLSServerName,
			InsecureSkipVerify: cfg.Insecure, //nolint:gosec // the user asked for it explicitly
		}
		if len(cfg.CACertPEM) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(cfg.CACertPEM) {
				return nil, errors.New("winrm: the CA certificate is not valid PEM")
			}
			t.tlsConfig.RootCAs = pool
		}
	}
	if cfg.Auth == AuthKerberos {
		k, err := newKerberosAuth(cfg)
		if err != nil {
			return nil, err
		}
		t.kerberos = k
	}
	return t, nil
}

func (t *httpTransport) getLane() *lane {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.idle); n > 0 {
		l := t.idle[n-1]
		t.idle = t.idle[:n-1]
		return l
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       t.tlsConfig,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: t.headerTTL,
		MaxIdleConnsPerHost:   1,
		IdleConnTimeout:       90 * time.Second,
	}
	l := &lane{transport: tr, roundTripper: countingRoundTripper{next: tr, count: &t.requests}}
	if t.auth == AuthNTLM {
		l.roundTripper = ntlmssp.Negotiator{RoundTripper: legRecorder{lane: l, next: l.roundTripper}}
	}
	t.lanes = append(t.lanes, l)
	return l
}

// idleLanes is the number of lanes no exchange uses now, each with its connection (logged on, with NTLM) unless the
// server closed it meanwhile.
func (t *httpTransport) idleLanes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.idle)
}

func (t *httpTransport) putLane(l *lane, healthy bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if healthy {
		t.idle = append(t.idle, l)
		return
	}
	l.transport.CloseIdleConnections()
	for i, known := range t.lanes {
		if known == l {
			t.lanes = append(t.lanes[:i], t.lanes[i+1:]...)
			break
		}
	}
}

func (t *httpTransport) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.lanes {
		l.transport.CloseIdleConnections()
	}
	t.idle, t.lanes = nil, nil
}

// post sends one SOAP envelope and returns the response envelope.
func (t *httpTransport) post(ctx context.Context, envelope string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(envelope))
	if err != nil {
		return "", fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", soapContentType)
	switch t.auth {
	case AuthKerberos:
		if err := t.kerberos.authorize(req); err != nil {
			return "", err
		}
	default:
		// Basic sends it as is; the NTLM negotiator turns it into an NTLM handshake and never sends it.
		req.SetBasicAuth(t.username, t.password)
	}
	l := t.getLane()
	l.legErr = nil
	resp, err := l.roundTripper.RoundTrip(req)
	if err == nil && l.legErr != nil {
		// The negotiator's 401 stands for a leg that failed (legRecorder): report that failure instead.
		drainAndClose(resp)
		err = fmt.Errorf("NTLM handshake: %w", l.legErr)
	}
	if err != nil {
		t.putLane(l, false)
		return "", fmt.Errorf("POST %s: %w", t.url, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	t.putLane(l, err == nil)
	if err != nil {
		return "", fmt.Errorf("reading the reply of %s: %w", t.url, err)
	}
	return checkReply(resp, body)
}

func drainAndClose(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
}

// checkReply turns non-200 answers and SOAP faults into errors.
func checkReply(resp *http.Response, body []byte) (string, error) {
	isSOAP := strings.Contains(resp.Header.Get("Content-Type"), "application/soap+xml")
	if resp.StatusCode == http.StatusOK && isSOAP {
		return string(body), nil
	}
	if isSOAP {
		if fault, ok := parseFault(body); ok {
			return "", &fault
		}
	}
	return "", &httpStatusError{StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type")}
}

type httpStatusError struct {
	StatusCode  int
	ContentType string
}

func (e *httpStatusError) Error() string {
	if e.StatusCode == http.StatusOK {
		return fmt.Sprintf("HTTP 200 with content type %q instead of a SOAP envelope", e.ContentType)
	}
	return fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// wsmanFault is a SOAP fault with its Windows error code.
type wsmanFault struct {
	Code    uint32
	Subcode string
	Message string
}

func (f *wsmanFault) Error() string {
	msg := f.Message
	if f.Code == codeOperationTimeout && !strings.Contains(msg, "OperationTimeout") {
		msg += " (OperationTimeout)" // masterzen/winrm polls Receive again when it sees this word
	}
	return fmt.Sprintf("WS-Management fault %d (%s): %s", f.Code, f.Subcode, msg)
}

func parseFault(body []byte) (wsmanFault, bool) {
	var env struct {
		Fault *struct {
			Subcode string `xml:"Code>Subcode>Value"`
			Reason  string `xml:"Reason>Text"`
			Detail  struct {
				WSManFault struct {
					Code    uint32 `xml:"Code,attr"`
					Message string `xml:",innerxml"`
				} `xml:"WSManFault"`
			} `xml:"Detail"`
		} `xml:"Body>Fault"`
	}
	if xml.Unmarshal(body, &env) != nil || env.Fault == nil {
		return wsmanFault{}, false
	}
	f := env.Fault
	msg := strings.TrimSpace(f.Reason)
	if msg == "" {
		msg = strings.TrimSpace(stripTags(f.Detail.WSManFault.Message))
	}
	return wsmanFault{Code: f.Detail.WSManFault.Code, Subcode: strings.TrimSpace(f.Subcode), Message: msg}, true
}

var tagPattern = regexp.MustCompile(`<[^>]*>`)

func stripTags(s string) string { return tagPattern.ReplaceAllString(s, "") }

type countingRoundTripper struct {
	next  http.RoundTripper
	count *atomic.Int64
}

func (c countingRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	c.count.Add(1)
	return c.next.RoundTrip(req)
}

// opTransport sends the messages of one operation: its requests carry the operation's context, which is swapped
// for a short clean-up context once the operation is cancelled so that Signal and Delete still go out.
type opTransport struct {
	shared *httpTransport

	mu  sync.Mutex
	ctx context.Context
}

func newOpTransport(ctx context.Context, shared *httpTransport) *opTransport {
	return &opTransport{shared: shared, ctx: ctx}
}

// send posts one message of the library and returns the reply envelope.
func (o *opTransport) send(message *soap.SoapMessage) (string, error) {
	return o.shared.post(o.context(), message.String())
}

func (o *opTransport) context() context.Context {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ctx
}

func (o *opTransport) setContext(ctx context.Context) {
	o.mu.Lock()
	o.ctx = ctx
	o.mu.Unlock()
}
