package ldapserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jimlambrt/gldap"
)

// startTimeout bounds how long gldap may take to bind its internal port.
const startTimeout = 10 * time.Second

// endpoint is one listening port: a gldap server behind a relay.
type endpoint struct {
	server *gldap.Server
	relay  *relay
	ran    chan error // Run's result
}

// Start serves the directory on two ports of addr's host: LDAPS, and plain
// LDAP that accepts StartTLS. addr's port must be 0 ("127.0.0.1:0"); use
// StartListeners to pin ports.
func (d *Directory) Start(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("start directory: %w", err)
	}
	if port != "0" {
		return fmt.Errorf("start directory: %s: Start needs port 0, use StartListeners for fixed ports", addr)
	}
	anyPort := net.JoinHostPort(host, "0")
	return d.StartListeners(anyPort, anyPort)
}

// StartListeners serves LDAPS on ldapsAddr and plain LDAP with StartTLS on
// ldapAddr.
func (d *Directory) StartListeners(ldapsAddr, ldapAddr string) (err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.endpoints) > 0 {
		return errors.New("start directory: already started")
	}
	tlsConfig, err := serverTLS(d.ca, d.DNSHostName(), d.dom.dnsName)
	if err != nil {
		return fmt.Errorf("start directory: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, d.closeLocked())
		}
	}()
	ldaps, err := d.startEndpoint(ldapsAddr, tlsConfig, true)
	if err != nil {
		return fmt.Errorf("start LDAPS: %w", err)
	}
	d.endpoints = append(d.endpoints, ldaps)
	plain, err := d.startEndpoint(ldapAddr, tlsConfig, false)
	if err != nil {
		return fmt.Errorf("start LDAP: %w", err)
	}
	d.endpoints = append(d.endpoints, plain)
	d.ldapsURL = "ldaps://" + ldaps.relay.addr()
	d.ldapURL = "ldap://" + plain.relay.addr()
	return nil
}

func (d *Directory) startEndpoint(addr string, tlsConfig *tls.Config, implicitTLS bool) (*endpoint, error) {
	sess := newSessions(implicitTLS)
	logger := &listenAddrLogger{Logger: hclog.NewNullLogger(), addr: make(chan string, 1)}
	server, err := gldap.NewServer(gldap.WithLogger(logger), gldap.WithOnClose(sess.drop))
	if err != nil {
		return nil, fmt.Errorf("new gldap server: %w", err)
	}
	h := &handler{d: d, sessions: sess, tlsConfig: tlsConfig}
	mux, err := h.mux()
	if err != nil {
		return nil, err
	}
	if err := server.Router(mux); err != nil {
		return nil, fmt.Errorf("gldap router: %w", err)
	}
	var runOpts []gldap.Option
	if implicitTLS {
		runOpts = append(runOpts, gldap.WithTLSConfig(tlsConfig))
	}
	ep := &endpoint{server: server, ran: make(chan error, 1)}
	go func() { ep.ran <- server.Run("127.0.0.1:0", runOpts...) }()
	var backend string
	select {
	case backend = <-logger.addr:
	case err := <-ep.ran:
		return nil, fmt.Errorf("gldap run: %w", err)
	case <-time.After(startTimeout):
		_ = server.Stop()
		return nil, errors.New("gldap did not report its listening address")
	}
	if ep.relay, err = startRelay(addr, backend); err != nil {
		_ = server.Stop()
		return nil, err
	}
	return ep, nil
}

// listenAddrLogger learns the port gldap bound from its "listening" log
// line, the only place gldap v0.1.14 reveals it. Everything else is dropped.
type listenAddrLogger struct {
	hclog.Logger
	addr chan string
}

func (l *listenAddrLogger) Info(msg string, args ...any) {
	if msg != "listening" {
		return
	}
	for i := 0; i+1 < len(args); i += 2 {
		if a, ok := args[i+1].(net.Addr); ok && args[i] == "addr" {
			select {
			case l.addr <- a.String():
			default:
			}
		}
	}
}

// LDAPSURL is ldaps://127.0.0.1:port ("" before Start).
func (d *Directory) LDAPSURL() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ldapsURL
}

// LDAPURL is ldap://127.0.0.1:port, the port that accepts StartTLS.
func (d *Directory) LDAPURL() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ldapURL
}

// DropConnections closes every client connection, as a domain controller
// restart would; the directory keeps listening.
func (d *Directory) DropConnections() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ep := range d.endpoints {
		ep.relay.dropConnections()
	}
}

// Close stops listening and closes every connection; closing twice is a
// no-op. The objects stay, so Replica directories keep serving.
func (d *Directory) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closeLocked()
}

func (d *Directory) closeLocked() error {
	var errs []error
	for _, ep := range d.endpoints {
		if ep.relay != nil {
			errs = append(errs, ep.relay.close())
		}
		// With the relay's connections gone, every gldap connection sees EOF,
		// so Stop does not wait on idle clients.
		errs = append(errs, ep.server.Stop())
		if err := <-ep.ran; err != nil {
			errs = append(errs, fmt.Errorf("gldap run: %w", err))
		}
	}
	d.endpoints = nil
	d.ldapsURL, d.ldapURL = "", ""
	return errors.Join(errs...)
}
