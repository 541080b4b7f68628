package lab

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"time"
)

// front is the public HTTPS endpoint of one WinRM server. It terminates TLS with a certificate from the lab CA
// and pipes each client connection to its own connection to the wsman server, which serves plain HTTP on
// 127.0.0.1. The lab needs it because wsman issues its certificates from a CA of its own, for 127.0.0.1 only,
// while the provider dials 127.0.0.11, 127.0.0.12, ... and verifies that address. One backend connection per
// client connection keeps NTLM working: it authenticates the connection, not the request.
type front struct {
	ln      net.Listener
	backend string
	tls     *tls.Config

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// backendDialTimeout bounds the connection to the wsman server on the same machine.
const backendDialTimeout = 5 * time.Second

func serveFront(ln net.Listener, backend string, cfg *tls.Config) *front {
	f := &front{ln: ln, backend: backend, tls: cfg, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.serve()
	return f
}

func (f *front) serve() {
	defer f.wg.Done()
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return // listener closed
		}
		f.wg.Add(1)
		go f.pipe(conn)
	}
}

// pipe connects the backend before the TLS handshake: a closed wsman server then looks like a server that hangs up
// at once, which clients report as unreachable, not as a TLS failure.
func (f *front) pipe(raw net.Conn) {
	defer f.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), backendDialTimeout)
	backend, err := (&net.Dialer{}).DialContext(ctx, "tcp", f.backend)
	cancel()
	if err != nil {
		_ = raw.Close()
		return
	}
	client := tls.Server(raw, f.tls)
	if !f.track(client, backend) {
		return
	}
	defer f.untrack(client, backend)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(backend, client)
		_ = backend.Close() // the client hung up: end the backend's side too
		close(done)
	}()
	_, _ = io.Copy(client, backend)
	_ = client.Close()
	<-done
}

// track registers a connection pair, or closes it when the front is already closed.
func (f *front) track(conns ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *front) untrack(conns ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range conns {
		delete(f.conns, c)
	}
}

// close stops listening, hangs up every client and waits for the pipes to end.
func (f *front) close() error {
	err := f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	return err
}
