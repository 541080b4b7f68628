package wsman

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ntlm"
)

// NTLM over HTTP authenticates the connection, not the request (as HTTP.sys does for WinRM): the challenge is
// kept with the connection that asked for it, and once the AUTHENTICATE message verifies, later requests on that
// connection need no Authorization header. Go's NTLM client relies on this: it first sends every request
// without credentials and only negotiates when it gets 401.
type connState struct {
	mu        sync.Mutex
	challenge *ntlm.Challenge
	user      string
}

type connStateKey struct{}

func withConnState(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connStateKey{}, &connState{})
}

func connStateOf(r *http.Request) *connState {
	if cs, ok := r.Context().Value(connStateKey{}).(*connState); ok {
		return cs
	}
	return &connState{} // a request served outside Start (httptest): no connection memory
}

type account struct {
	name     string // DOMAIN\user, what the executor sees
	password string // "" for an account that may log on with Kerberos only
}

// accountKey reduces "user", "DOMAIN\user" and "user@domain.example" to the account name, and reports
// whether the domain part (if any) is this server's domain.
func (s *Server) accountKey(name, domain string) (string, bool) {
	if domain == "" {
		name, domain = splitAccount(name)
	}
	if domain != "" && s.opts.Domain != "" {
		firstLabel, _, _ := strings.Cut(domain, ".")
		if !strings.EqualFold(domain, s.opts.Domain) && !strings.EqualFold(firstLabel, s.opts.Domain) {
			return "", false
		}
	}
	return strings.ToLower(name), name != ""
}

func splitAccount(name string) (user, domain string) {
	if before, after, ok := strings.Cut(name, `\`); ok {
		return after, before
	}
	if i := strings.LastIndex(name, "@"); i > 0 {
		return name[:i], name[i+1:]
	}
	return name, ""
}

// lookupLocal finds a local account named "user", ".\user" or "NAME\user" (NAME being this server's).
func (s *Server) lookupLocal(name, domain string) (account, bool) {
	if domain == "" {
		if strings.Contains(name, "@") {
			return account{}, false // a UPN names a domain account
		}
		name, domain = splitAccount(name)
	}
	if domain != "" && domain != "." && !strings.EqualFold(domain, s.opts.Name) {
		return account{}, false
	}
	a, ok := s.localUsers[strings.ToLower(name)]
	return a, ok
}

// ntlmAccount finds the account an NTLM logon names: a local account when the domain is empty, "." or this
// server's name and such a local account exists, a domain account otherwise.
func (s *Server) ntlmAccount(name, domain string) (account, bool) {
	if a, ok := s.lookupLocal(name, domain); ok {
		return a, true
	}
	return s.lookup(name, domain)
}

func (s *Server) lookup(name, domain string) (account, bool) {
	key, ok := s.accountKey(name, domain)
	if !ok {
		return account{}, false
	}
	a, ok := s.users[key]
	return a, ok
}

// authenticate returns the caller's account name, or writes a 401 answer and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	cs := connStateOf(r)
	if s.faults.authFailure.Load() {
		s.refuse(w, true)
		return "", false
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch strings.ToLower(scheme) {
	case "":
		cs.mu.Lock()
		user := cs.user
		cs.mu.Unlock()
		if user != "" {
			return user, true
		}
		s.refuse(w, false)
	case "basic":
		// "You can supply UserName and Password for a domain account when using negotiate or Kerberos
		// authentication, or for a local account with Basic authentication" (Microsoft's WinRM scripting API,
		// ConnectionOptions.UserName): a domain account is refused over Basic, in any spelling, like a wrong password.
		name, password, _ := r.BasicAuth()
		if a, ok := s.lookupLocal(name, ""); ok && a.password == password {
			s.counters.basicLogons.Add(1)
			return a.name, true
		}
		s.refuse(w, true)
	case "negotiate", "ntlm":
		return s.negotiate(w, cs, scheme, token)
	case "kerberos":
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token)); err == nil && s.kerberos != nil {
			return s.kerberosLogon(w, raw)
		}
		s.refuse(w, true)
	default:
		s.refuse(w, true)
	}
	return "", false
}

func (s *Server) negotiate(w http.ResponseWriter, cs *connState, scheme, token string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil {
		s.refuse(w, true)
		return "", false
	}
	typ, err := ntlm.MessageType(raw)
	if err != nil { // not NTLM: a SPNEGO or Kerberos token
		if s.kerberos != nil {
			return s.kerberosLogon(w, raw)
		}
		s.refuse(w, true)
		return "", false
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	switch typ {
	case ntlm.TypeNegotiate:
		challenge, err := ntlm.NewChallenge(s.opts.Domain, s.opts.Name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return "", false
		}
		cs.challenge, cs.user = challenge, ""
		w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(challenge.Marshal()))
		w.WriteHeader(http.StatusUnauthorized)
		return "", false
	case ntlm.TypeAuthenticate:
		challenge := cs.challenge
		cs.challenge = nil // a challenge answers one logon only
		msg, err := ntlm.ParseAuthenticate(raw)
		if err == nil && challenge != nil {
			if s.faults.strictCBT.Load() && !msg.HasChannelBindings() {
				break // CbtHardeningLevel = Strict: a logon without a channel binding token is refused like a wrong password
			}
			if a, ok := s.ntlmAccount(msg.User, msg.Domain); ok && a.password != "" && challenge.Verify(msg, a.password) == nil {
				s.counters.ntlmLogons.Add(1)
				cs.user = a.name
				return a.name, true
			}
		}
	}
	s.refuse(w, true)
	return "", false
}

// kerberosLogon authenticates one request by its Kerberos ticket; unlike NTLM, every request carries its own.
// The ticket proves who the caller is, and the account list says who may use WinRM, as WinRM's RootSDDL does.
func (s *Server) kerberosLogon(w http.ResponseWriter, token []byte) (string, bool) {
	logon, err := s.kerberos.accept(token)
	// CbtHardeningLevel = Strict: the lab does not read a Kerberos channel binding, and the provider's Kerberos
	// client (gokrb5) sends none (an all-zero Bnd in the authenticator checksum), so Strict refuses every ticket.
	if err == nil && !s.faults.strictCBT.Load() {
		if a, ok := s.users[strings.ToLower(logon.user)]; ok {
			s.counters.kerberosLogons.Add(1)
			if logon.netBIOSDomain != "" {
				return logon.netBIOSDomain + `\` + logon.user, true
			}
			return a.name, true
		}
	}
	s.refuse(w, true)
	return "", false
}

// refuse answers 401 with the schemes WinRM offers. The body is empty, so the client can reuse the connection
// for the next leg of the handshake.
func (s *Server) refuse(w http.ResponseWriter, credentialsOffered bool) {
	if credentialsOffered {
		s.counters.authFailures.Add(1)
	}
	w.Header().Add("WWW-Authenticate", "Negotiate")
	if s.kerberos != nil {
		w.Header().Add("WWW-Authenticate", "Kerberos")
	}
	w.Header().Add("WWW-Authenticate", `Basic realm="WSMAN"`)
	w.WriteHeader(http.StatusUnauthorized)
}
