package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/go-ldap/ldap/v3/gssapi"
	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/kerberos"
)

// dialer opens authenticated connections with the configured TLS and bind settings.
type dialer struct {
	cfg *validated

	krbMu sync.Mutex // gokrb5's client and gssapi's context state are not meant for concurrent binds
	krb   *krbclient.Client
}

func newDialer(cfg *validated) (*dialer, error) {
	d := &dialer{cfg: cfg}
	if k := cfg.Kerberos; k != nil {
		conf, err := krbconfig.Load(k.Krb5ConfPath)
		if err != nil {
			return nil, invalidConfig("Kerberos.Krb5ConfPath", k.Krb5ConfPath, err.Error())
		}
		var kt *keytab.Keytab
		if k.KeytabPath != "" {
			if kt, err = keytab.Load(k.KeytabPath); err != nil {
				return nil, invalidConfig("Kerberos.KeytabPath", k.KeytabPath, err.Error())
			}
		}
		d.krb = kerberos.NewClient(cfg.BindUsername, k.Realm, cfg.BindPassword, kt, conf)
	}
	return d, nil
}

// dialAny tries the URLs in order and returns the first authenticated connection. Only failures to
// reach a server move on to the next URL; a refused bind is returned at once, since another
// domain controller of the same domain would refuse it too (and retrying locks accounts out).
func (d *dialer) dialAny(ctx context.Context, urls []*url.URL) (*ldap.Conn, error) {
	var errs []error
	for _, u := range urls {
		conn, err := d.dial(ctx, u)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || !isUnreachable(err) {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// dial connects, secures and binds one connection. Every step is bounded by ctx and DialTimeout.
func (d *dialer) dial(ctx context.Context, u *url.URL) (conn *ldap.Conn, err error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.DialTimeout)
	defer cancel()
	nd := net.Dialer{}
	raw, err := nd.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", u.Redacted(), ldap.NewError(ldap.ErrorNetwork, err))
	}
	// The deadline bounds the TLS handshake, StartTLS and bind, which have no context of their own;
	// closing on cancellation makes a Ctrl-C effective at once.
	deadline, _ := ctx.Deadline()
	_ = raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer func() {
		stop()
		if err != nil {
			if conn != nil {
				_ = conn.Close()
			}
			_ = raw.Close()
			err = atDeadline(ctx, err)
		}
	}()

	tlsConfig := &tls.Config{
		ServerName:         u.Hostname(),
		RootCAs:            d.cfg.roots,
		InsecureSkipVerify: d.cfg.Insecure, //nolint:gosec // explicit opt-in for labs
		MinVersion:         tls.VersionTLS12,
	}
	if u.Scheme == "ldaps" {
		tc := tls.Client(raw, tlsConfig)
		if err = tc.HandshakeContext(ctx); err != nil {
			return nil, handshakeError(u, false, err)
		}
		conn = ldap.NewConn(tc, true)
	} else {
		conn = ldap.NewConn(raw, false)
	}
	conn.Start()
	if u.Scheme == "ldap" && d.cfg.StartTLS {
		if err = conn.StartTLS(tlsConfig); err != nil {
			return nil, handshakeError(u, true, err)
		}
	}
	if err = d.bind(conn, u); err != nil {
		return nil, fmt.Errorf("bind to %s as %s: %w", u.Redacted(), d.cfg.BindUsername, err)
	}
	_ = raw.SetDeadline(time.Time{})
	return conn, nil
}

func (d *dialer) bind(conn *ldap.Conn, u *url.URL) error {
	if d.krb == nil {
		_, err := conn.SimpleBind(ldap.NewSimpleBindRequest(d.cfg.BindUsername, d.cfg.BindPassword, nil))
		return err
	}
	spn, err := d.servicePrincipal(conn, u)
	if err != nil {
		return err
	}
	d.krbMu.Lock()
	defer d.krbMu.Unlock()
	if err := d.krb.AffirmLogin(); err != nil {
		return fmt.Errorf("kerberos login: %w", err)
	}
	// A fresh gssapi.Client per bind: it keeps the context's session keys in its fields.
	err = conn.GSSAPIBind(&gssapi.Client{Client: d.krb}, spn, "")
	if ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
		// The GSSAPI bind offers no SASL signing layer and relies on TLS instead, which Windows accepts;
		// Samba does only with "ldap server require strong auth = allow_sasl_over_tls".
		return fmt.Errorf("the server wants a SASL signing layer, which this client relies on TLS for: %w", err)
	}
	return err
}

// servicePrincipal names the directory service to ask a ticket for. Tickets are issued for host
// names, so an IP address in the URL is replaced by the server's own dnsHostName, which the root
// DSE gives to anyone before a bind.
func (d *dialer) servicePrincipal(conn *ldap.Conn, u *url.URL) (string, error) {
	if spn := d.cfg.Kerberos.SPN; spn != "" {
		return spn, nil
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil {
		res, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"dnsHostName"}, nil))
		if err != nil || len(res.Entries) == 0 || res.Entries[0].GetAttributeValue("dnsHostName") == "" {
			return "", fmt.Errorf("cannot derive the service principal of %s; set Kerberos.SPN: %w", host, err)
		}
		host = res.Entries[0].GetAttributeValue("dnsHostName")
	}
	return "ldap/" + host, nil
}

// isUnreachable reports failures to reach a server at all, as opposed to a server's refusal.
// IsUnreachable says whether err is a domain controller that could not be reached or was too busy to answer,
// rather than one that answered with a refusal.
func IsUnreachable(err error) bool { return isUnreachable(err) }

// handshakeError is a TLS handshake with a domain controller that failed. A handshake cut short by the network (a
// timeout, a connection closed, reset or unreachable before the server answered) means that the directory did not
// answer, not that its certificate was refused: a network error then, which no TLS setting can mend; one cut short
// by the caller is the caller's error. Any other failure (a certificate the configured CA does not sign, a wrong host
// name, a TLS alert either side sent) is a *TLSError. go-ldap's StartTLS flattens the handshake's error into text,
// which is all startTLSCutShort has to go by.
func handshakeError(u *url.URL, startTLS bool, err error) error {
	var op *net.OpError
	var netErr net.Error
	switch {
	case errors.As(err, &op) && (op.Op == "remote error" || op.Op == "local error"): // a TLS alert (crypto/tls)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("the TLS handshake with %s was cut short: %w", u.Redacted(), err)
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("the TLS handshake with %s got no answer: %w", u.Redacted(), err))
	case startTLS && startTLSCutShort(err):
		return ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("StartTLS with %s got no answer: %w", u.Redacted(), err))
	}
	return &TLSError{URL: u.Redacted(), StartTLS: startTLS, Err: err}
}

// startTLSCutShort recognises, in go-ldap's StartTLS error (v3: the handshake's cause is flattened into text, and a
// failed read is a plain error), a StartTLS the network cut short: no answer to its request (the response channel
// closed, or reading it failed), or a handshake that failed for want of the server (end of file, a timeout, a reset).
// A server that answers the request with a refusal, and a certificate or protocol failure of the handshake, are not.
func startTLSCutShort(err error) bool {
	msg := err.Error()
	if strings.Contains(msg, "TLS handshake failed") {
		for _, cut := range []string{"EOF", "i/o timeout", "connection reset", "broken pipe", "use of closed network connection"} {
			if strings.Contains(msg, cut) {
				return true
			}
		}
		return false
	}
	var refused *ldap.Error
	return !errors.As(err, &refused) || refused.ResultCode == ldap.ErrorNetwork
}

func isUnreachable(err error) bool {
	var netErr net.Error
	return ldap.IsErrorAnyOf(err, ldap.ErrorNetwork, ldap.LDAPResultUnavailable, ldap.LDAPResultBusy) ||
		errors.As(err, &netErr)
}
