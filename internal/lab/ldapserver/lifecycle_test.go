package ldapserver

import (
	"fmt"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestConcurrentClients(t *testing.T) {
	d := startLab(t)
	const workers = 8
	extra := make([]Computer, workers)
	for i := range extra {
		extra[i] = Computer{Name: fmt.Sprintf("PAR%d", i)}
	}
	if err := d.AddComputers(extra...); err != nil {
		t.Fatal(err)
	}
	creds := d.AdminCredentials()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- flipAndCheck(d, creds, fmt.Sprintf("PAR%d", i), i%2 == 0)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// flipAndCheck disables and re-enables one computer several times over its
// own connection, reading back each write.
func flipAndCheck(d *Directory, creds Credentials, name string, startTLS bool) error {
	cfg, err := trustLab(d, d.DNSHostName())
	if err != nil {
		return err
	}
	var c *ldap.Conn
	if startTLS {
		c, err = ldap.DialURL(d.LDAPURL())
	} else {
		c, err = ldap.DialURL(d.LDAPSURL(), ldap.DialWithTLSConfig(cfg))
	}
	if err != nil {
		return fmt.Errorf("%s: connect: %w", name, err)
	}
	defer func() { _ = c.Close() }()
	if startTLS {
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("%s: StartTLS: %w", name, err)
		}
	}
	if err := c.Bind(creds.UPN, creds.Password); err != nil {
		return fmt.Errorf("%s: bind: %w", name, err)
	}
	dn := "CN=" + name + ",CN=Computers," + d.BaseDN()
	for round := range 5 {
		want := []string{"4098", "4096"}[round%2]
		m := ldap.NewModifyRequest(dn, nil)
		m.Replace("userAccountControl", []string{want})
		if err := c.Modify(m); err != nil {
			return fmt.Errorf("%s: modify: %w", name, err)
		}
		res, err := c.Search(ldap.NewSearchRequest(d.BaseDN(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(sAMAccountName="+ldap.EscapeFilter(name+"$")+")", []string{"userAccountControl"}, nil))
		if err != nil {
			return fmt.Errorf("%s: search: %w", name, err)
		}
		if len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("userAccountControl") != want {
			return fmt.Errorf("%s: round %d read back %v, want %s", name, round, res.Entries, want)
		}
	}
	return nil
}

func TestCloseDoesNotWaitForIdleClients(t *testing.T) {
	seed, err := LoadSeed(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	idle := dialLDAPS(t, d)
	// Close returns although a client still holds its connection (gldap
	// alone would wait for it), and the client then sees the connection end.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := idle.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil)); err == nil {
		t.Fatal("search succeeded on a closed directory")
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestDropConnections(t *testing.T) {
	d := startLab(t)
	c := adminConn(t, d)
	d.DropConnections()
	if _, err := c.Search(ldap.NewSearchRequest(d.BaseDN(), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil)); err == nil {
		t.Fatal("search succeeded on a dropped connection")
	}
	// The directory keeps listening: a new connection works.
	c = adminConn(t, d)
	search(t, c, d.BaseDN(), ldap.ScopeBaseObject, "(objectClass=*)")
}

func TestReplicaSharesObjects(t *testing.T) {
	d := startLab(t)
	dc2, err := d.Replica("DC2")
	if err != nil {
		t.Fatal(err)
	}
	if err := dc2.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dc2.Close() })
	if _, err := d.Replica("CLIENT1"); err == nil {
		t.Error("CLIENT1 accepted as a domain controller")
	}

	m := ldap.NewModifyRequest("CN=CLIENT2,OU=Workstations,"+d.BaseDN(), nil)
	m.Replace("userAccountControl", []string{"4098"})
	if err := adminConn(t, d).Modify(m); err != nil {
		t.Fatal(err)
	}
	c := adminConn(t, dc2)
	root := search(t, c, "", ldap.ScopeBaseObject, "(objectClass=*)", "dnsHostName")[0]
	if h := root.GetAttributeValue("dnsHostName"); h != "dc2.corp.example" {
		t.Errorf("replica dnsHostName %q", h)
	}
	if got := readUAC(t, c, dc2, "CLIENT2$"); got != "4098" {
		t.Errorf("write through DC1 reads back %s on DC2", got)
	}
}
