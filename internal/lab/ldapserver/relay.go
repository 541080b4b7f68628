package ldapserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// relay owns the public listener of an endpoint and copies bytes to the
// gldap server behind it. It exists because gldap v0.1.14 owns its listener:
// it does not tell the port it bound for "127.0.0.1:0", and its Stop waits
// until every client has hung up, so one idle client would hang Close. The
// relay knows every client connection and can close them all. It passes
// bytes through untouched, TLS included.
type relay struct {
	ln      net.Listener
	backend string

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	refusing bool // a fault: new connections are closed at once
	wg       sync.WaitGroup
}

// dialTimeout bounds the relay's connection to its own gldap server.
const dialTimeout = 5 * time.Second

func startRelay(addr, backend string) (*relay, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	r := &relay{ln: ln, backend: backend, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.serve()
	return r, nil
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) serve() {
	defer r.wg.Done()
	for {
		client, err := r.ln.Accept()
		if err != nil {
			return // listener closed
		}
		r.wg.Add(1)
		go r.pipe(client)
	}
}

func (r *relay) pipe(client net.Conn) {
	defer r.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	server, err := (&net.Dialer{}).DialContext(ctx, "tcp", r.backend)
	cancel()
	if err != nil {
		_ = client.Close()
		return
	}
	if !r.track(client, server) {
		_ = client.Close()
		_ = server.Close()
		return
	}
	defer r.untrack(client, server)
	done := make(chan struct{}, 2)
	copyThenSignal := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go copyThenSignal(server, client)
	go copyThenSignal(client, server)
	<-done
	// One side hung up: hang up the other so the second copy ends too.
	_ = client.Close()
	_ = server.Close()
	<-done
}

func (r *relay) track(conns ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.refusing {
		return false
	}
	for _, c := range conns {
		r.conns[c] = struct{}{}
	}
	return true
}

func (r *relay) untrack(conns ...net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range conns {
		delete(r.conns, c)
	}
}

// dropConnections closes every open connection, as a network failure or a
// domain controller restart would; the listener keeps accepting.
func (r *relay) dropConnections() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		_ = c.Close()
	}
}

func (r *relay) setRefusing(refusing bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refusing = refusing
}

// close stops accepting, drops every connection and waits for the copies.
func (r *relay) close() error {
	r.mu.Lock()
	r.closed = true
	err := r.ln.Close()
	for c := range r.conns {
		_ = c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close listener: %w", err)
	}
	return nil
}
