package ldapserver

import (
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func readUAC(t *testing.T, c *ldap.Conn, d *Directory, sam string) string {
	t.Helper()
	got := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(sAMAccountName="+ldap.EscapeFilter(sam)+")", "userAccountControl")
	if len(got) != 1 {
		t.Fatalf("%s: %d entries", sam, len(got))
	}
	return got[0].GetAttributeValue("userAccountControl")
}

func TestFlipUserAccountControl(t *testing.T) {
	d := startLab(t)
	admin := adminConn(t, d)
	dn := "CN=CLIENT1,OU=Workstations," + d.BaseDN()

	disable := ldap.NewModifyRequest(dn, nil)
	disable.Replace("userAccountControl", []string{"4098"})
	if err := admin.Modify(disable); err != nil {
		t.Fatalf("disable: %v", err)
	}
	// Read back on another connection, over StartTLS.
	reader := dialStartTLS(t, d)
	creds := d.AdminCredentials()
	if err := reader.Bind(creds.DN, creds.Password); err != nil {
		t.Fatal(err)
	}
	if got := readUAC(t, reader, d, "CLIENT1$"); got != "4098" {
		t.Fatalf("after disable: userAccountControl %s", got)
	}
	if e, _ := d.Lookup("CLIENT1$"); e.Attributes["whenChanged"][0] == "20240115090000.0Z" {
		t.Error("whenChanged not stamped")
	}

	// Compare-and-swap: delete the value read, add the new one.
	enable := ldap.NewModifyRequest(dn, nil)
	enable.Delete("userAccountControl", []string{"4098"})
	enable.Add("userAccountControl", []string{"4096"})
	if err := admin.Modify(enable); err != nil {
		t.Fatalf("enable: %v", err)
	}
	if got := readUAC(t, reader, d, "CLIENT1$"); got != "4096" {
		t.Fatalf("after enable: userAccountControl %s", got)
	}

	// The same swap again is stale: 4098 is no longer there, nothing changes.
	wantLDAPError(t, admin.Modify(enable), ldap.LDAPResultNoSuchAttribute, "NO_ATTRIBUTE_OR_VAL")
	if got := readUAC(t, reader, d, "CLIENT1$"); got != "4096" {
		t.Fatalf("after stale swap: userAccountControl %s", got)
	}
}

func TestUserAccountControlWriteRules(t *testing.T) {
	d := startLab(t)
	admin := adminConn(t, d)
	client1 := "CN=CLIENT1,OU=Workstations," + d.BaseDN()
	modify := func(dn string, build func(*ldap.ModifyRequest)) *ldap.ModifyRequest {
		m := ldap.NewModifyRequest(dn, nil)
		build(m)
		return m
	}

	// A user who is not a Domain Admin may read but not write.
	alice, _ := d.Credentials("alice")
	user := dialLDAPS(t, d)
	if err := user.Bind(alice.UPN, alice.Password); err != nil {
		t.Fatal(err)
	}
	err := user.Modify(modify(client1, func(m *ldap.ModifyRequest) { m.Replace("userAccountControl", []string{"4098"}) }))
	wantLDAPError(t, err, ldap.LDAPResultInsufficientAccessRights, "INSUFF_ACCESS_RIGHTS")
	if got := readUAC(t, user, d, "CLIENT1$"); got != "4096" {
		t.Fatalf("refused write changed userAccountControl to %s", got)
	}

	cases := []struct {
		name  string
		req   *ldap.ModifyRequest
		code  uint16
		text  string
		after string
	}{
		{"other attribute", modify(client1, func(m *ldap.ModifyRequest) { m.Replace("displayName", []string{"x"}) }), ldap.LDAPResultUnwillingToPerform, "only writes userAccountControl", "4096"},
		{"stale notes", modify(client1, func(m *ldap.ModifyRequest) {
			m.Delete("info", []string{"not what is there"})
			m.Add("info", []string{"new"})
			m.Replace("userAccountControl", []string{"4098"})
		}), ldap.LDAPResultNoSuchAttribute, "NO_ATTRIBUTE_OR_VAL", "4096"},
		{"two notes", modify(client1, func(m *ldap.ModifyRequest) { m.Add("info", []string{"a", "b"}) }), ldap.LDAPResultConstraintViolation, "CONSTRAINT_ATT_TYPE", "4096"},
		{"not a number", modify(client1, func(m *ldap.ModifyRequest) { m.Replace("userAccountControl", []string{"disabled"}) }), ldap.LDAPResultInvalidAttributeSyntax, "conversion", "4096"},
		{"two values", modify(client1, func(m *ldap.ModifyRequest) { m.Add("userAccountControl", []string{"4098"}) }), ldap.LDAPResultConstraintViolation, "CONSTRAINT_ATT_TYPE", "4096"},
		{"same value added", modify(client1, func(m *ldap.ModifyRequest) { m.Add("userAccountControl", []string{"4096"}) }), ldap.LDAPResultAttributeOrValueExists, "ATT_OR_VALUE_EXISTS", "4096"},
		{"account type lost", modify(client1, func(m *ldap.ModifyRequest) { m.Replace("userAccountControl", []string{"2"}) }), ldap.LDAPResultUnwillingToPerform, "account type", "4096"},
		{"no such object", modify("CN=GHOST,OU=Workstations,"+d.BaseDN(), func(m *ldap.ModifyRequest) { m.Replace("userAccountControl", []string{"4098"}) }), ldap.LDAPResultNoSuchObject, "OU=Workstations", "4096"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantLDAPError(t, admin.Modify(tc.req), tc.code, tc.text)
			if got := readUAC(t, admin, d, "CLIENT1$"); got != tc.after {
				t.Fatalf("userAccountControl %s, want %s", got, tc.after)
			}
		})
	}

	// Permissive modify (AD's control) tolerates the stale delete.
	stale := modify(client1, func(m *ldap.ModifyRequest) {
		m.Delete("userAccountControl", []string{"4098"})
		m.Replace("userAccountControl", []string{"4098"})
	})
	stale.Controls = append(stale.Controls, ldap.NewControlString("1.2.840.113556.1.4.1413", true, ""))
	if err := admin.Modify(stale); err != nil {
		t.Fatalf("permissive modify: %v", err)
	}
	if got := readUAC(t, admin, d, "CLIENT1$"); got != "4098" {
		t.Fatalf("after permissive modify: %s", got)
	}

	// The notes are a compare-and-swap too: delete the value read, add the new one, in the same modify as the state.
	notes := modify(client1, func(m *ldap.ModifyRequest) {
		m.Add("info", []string{"first"})
		m.Replace("description", []string{"Finance laptop"})
	})
	if err := admin.Modify(notes); err != nil {
		t.Fatalf("adding notes: %v", err)
	}
	swap := modify(client1, func(m *ldap.ModifyRequest) {
		m.Delete("info", []string{"FIRST"}) // Unicode string syntax compares case-insensitively
		m.Add("info", []string{"second"})
	})
	if err := admin.Modify(swap); err != nil {
		t.Fatalf("swapping notes: %v", err)
	}
	if e, _ := d.Lookup("CLIENT1$"); !slices.Equal(e.Attributes["info"], []string{"second"}) ||
		!slices.Equal(e.Attributes["description"], []string{"Finance laptop"}) {
		t.Fatalf("after the swap: info %q, description %q", e.Attributes["info"], e.Attributes["description"])
	}

	// Like Samba, the directory lets an admin disable a DC: the client guards.
	dc := modify("CN=DC2,OU=Domain Controllers,"+d.BaseDN(), func(m *ldap.ModifyRequest) { m.Replace("userAccountControl", []string{"532482"}) })
	if err := admin.Modify(dc); err != nil {
		t.Fatalf("disable DC2: %v", err)
	}
}

func TestAddAndDeleteAreRefused(t *testing.T) {
	d := startLab(t)
	admin := adminConn(t, d)
	add := ldap.NewAddRequest("CN=NEW,CN=Computers,"+d.BaseDN(), nil)
	add.Attribute("objectClass", []string{"computer"})
	wantLDAPError(t, admin.Add(add), ldap.LDAPResultUnwillingToPerform, "does not add or delete")
	wantLDAPError(t, admin.Del(ldap.NewDelRequest("CN=CLIENT1,OU=Workstations,"+d.BaseDN(), nil)), ldap.LDAPResultUnwillingToPerform, "does not add or delete")
	if _, ok := d.Lookup("CLIENT1$"); !ok {
		t.Fatal("CLIENT1 is gone")
	}
}
