package ldapserver

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// The in-chain rule finds members through nested groups, stops at cycles, and a plain equality on memberOf still
// sees direct memberships only.
func TestInChainMatchesNestedMembers(t *testing.T) {
	d := startLab(t)
	for _, g := range []Group{
		{Name: "Inner", Container: "OU=Groups", Members: []string{"mallory"}},
		{Name: "Outer", Container: "OU=Groups", Members: []string{"Inner"}},
	} {
		if err := d.AddGroups(g); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.AddMember("Inner", "Outer"); err != nil { // a cycle
		t.Fatal(err)
	}
	if err := d.AddMember("Domain Admins", "Outer"); err != nil {
		t.Fatal(err)
	}
	c := adminConn(t, d)
	admins := "CN=Domain Admins,CN=Users," + d.BaseDN()
	users := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree,
		"(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:="+ldap.EscapeFilter(admins)+"))", "name")
	if got := names(users); !slices.Contains(got, "Mallory Mole") || slices.Contains(got, "Alice Archer") {
		t.Errorf("in-chain members of Domain Admins: %v; want mallory (nested) and not alice", got)
	}
	direct := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(memberOf="+ldap.EscapeFilter(admins)+")", "name")
	if got := names(direct); slices.Contains(got, "Mallory Mole") {
		t.Errorf("direct members of Domain Admins: %v; mallory is only nested", got)
	}
}

// Two peers accept writes of the same attribute; replication keeps the later one on both, for the whole value.
func TestPeersReplicateLastWriterWins(t *testing.T) {
	d := startLab(t)
	peer, err := d.Peer("DC2")
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	e, _ := d.Lookup("CLIENT1$")
	for i, dir := range []*Directory{d, peer} {
		m := ldap.NewModifyRequest(e.DN, nil)
		m.Replace("info", []string{[]string{"first", "second"}[i]})
		if err := adminConn(t, dir).Modify(m); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := d.Lookup("CLIENT1$"); strings.Join(got.Attributes["info"], "") != "first" {
		t.Fatalf("before replication DC1 has %q", got.Attributes["info"])
	}
	if err := Replicate(d, peer); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []*Directory{d, peer} {
		if got, _ := dir.Lookup("CLIENT1$"); strings.Join(got.Attributes["info"], "") != "second" {
			t.Errorf("%s after replication: info %q; want the later write", dir.DNSHostName(), got.Attributes["info"])
		}
	}
	root := search(t, adminConn(t, peer), "", ldap.ScopeBaseObject, "(objectClass=*)", "dsServiceName")
	head := search(t, adminConn(t, peer), d.BaseDN(), ldap.ScopeBaseObject, "(objectClass=*)", "fSMORoleOwner")
	if !strings.Contains(root[0].GetAttributeValue("dsServiceName"), "CN=DC2,") || !strings.Contains(head[0].GetAttributeValue("fSMORoleOwner"), "CN=DC1,") {
		t.Errorf("DC2's dsServiceName %q, fsmoRoleOwner %q; want DC2 and the PDC DC1", root[0].GetAttributeValue("dsServiceName"),
			head[0].GetAttributeValue("fSMORoleOwner"))
	}
}
