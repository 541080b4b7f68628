// Package tcp serves throwaway loopback TCP servers for tests of what a client does when a server misbehaves: one
// that accepts connections and never answers, closes them at once, or answers with the wrong protocol.
package tcp

import (
	"net"
	"sync"
	"testing"
)

// Serve listens on a loopback port and hands every connection to handle, in a goroutine of its own; it returns the
// address. The listener and every connection are closed when the test ends.
func Serve(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	tb.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			go handle(conn)
		}
	}()
	return l.Addr().String()
}

// Silent is a server that accepts connections and never answers, as a hung domain controller or WinRM service.
func Silent(tb testing.TB) string {
	tb.Helper()
	return Serve(tb, func(net.Conn) {})
}
