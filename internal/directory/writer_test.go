package directory

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
)

// labAndClient starts a lab and a client of its directory (this package's tests cannot use internal/testutil/labclient,
// which imports it); the test closes the client.
func labAndClient(t *testing.T) (*lab.Lab, *Client) {
	t.Helper()
	l, err := lab.Start(lab.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	info := l.Info()
	c, err := New(Config{URLs: []string{info.LDAPSURL}, CACertPEM: []byte(info.CACertificatePEM),
		BindUsername: info.LDAPBindUsername, BindPassword: info.LDAPBindPassword})
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

// pdcEmulator is the NTDS Settings object of the PDC emulator, as the domain's fsmoRoleOwner names it.
func pdcEmulator(t *testing.T, c *Client) *ldap.DN {
	t.Helper()
	dom, err := c.Domain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	owner, err := c.readAttribute(context.Background(), dom.DomainDN, "fsmoRoleOwner")
	if err != nil {
		t.Fatal(err)
	}
	dsa, err := ldap.ParseDN(owner)
	if err != nil {
		t.Fatal(err)
	}
	return dsa
}

// Finding the writer asks each configured domain controller whether it is the PDC emulator. One that takes the bind
// and then stalls is given up when the context ends: writer discovery holds the lock that every write of the client
// waits for, and an answer that comes after the context's end does not count.
func TestServesDSAEndsWithItsContext(t *testing.T) {
	l, c := labAndClient(t)
	t.Cleanup(func() { _ = c.Close() })
	dsa := pdcEmulator(t, c)
	if !c.servesDSA(context.Background(), c.cfg.urls[0], dsa) {
		t.Fatalf("the lab's only domain controller does not serve %s, the PDC emulator's NTDS Settings", dsa)
	}
	l.Directory().DelayRootDSE(2 * time.Second)
	defer l.Directory().DelayRootDSE(0)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if c.servesDSA(ctx, c.cfg.urls[0], dsa) {
		t.Error("servesDSA counted an answer that came after its context ended")
	}
}

// A candidate that takes the connection and never answers does not hold up the others: the PDC emulator listed after
// it is found all the same.
func TestAStalledDomainControllerDoesNotHideThePDCEmulator(t *testing.T) {
	_, c := labAndClient(t)
	t.Cleanup(func() { _ = c.Close() })
	stalled, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stalled.Close() })
	go func() {
		for {
			conn, err := stalled.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() }) // held open, never answered
		}
	}()
	dsa := pdcEmulator(t, c)
	// Less than the stalled one's dial timeout: asked one after the other, the stalled one takes all of it.
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout-time.Second)
	defer cancel()
	stall := &url.URL{Scheme: "ldaps", Host: stalled.Addr().String()}
	if got := c.whichServesDSA(ctx, []*url.URL{stall, c.cfg.urls[0]}, dsa); got != c.cfg.urls[0] {
		t.Errorf("the PDC emulator after a controller that stalls: found %v, want %v", got, c.cfg.urls[0])
	}
}

// Close closes the writer's connections too, and a change after Close fails instead of dialing the writer again.
func TestCloseClosesTheWritersConnections(t *testing.T) {
	_, c := labAndClient(t)
	acct, err := c.FindUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetDialIn(context.Background(), acct, DialInAllow); err != nil {
		t.Fatal(err)
	}
	w := c.writerPool
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	idle, closed := len(w.idle), w.closed
	w.mu.Unlock()
	if idle != 0 || !closed {
		t.Errorf("after Close the writer keeps %d idle connections (closed %v); want none", idle, closed)
	}
	if _, err := c.SetDialIn(context.Background(), acct, DialInAbsent); err == nil {
		t.Error("a change after Close succeeded")
	}
}
