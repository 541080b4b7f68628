package ldapserver

import (
	"bytes"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/jimlambrt/gldap"
)

// Names whose special characters must be matched literally once escaped.
var awkwardNames = []string{"client*", "x(y)", `back\slash`, "nul\x00byte"}

func TestEscapedFilterValuesMatchLiterally(t *testing.T) {
	d := startLab(t)
	var awkward []Computer
	for _, n := range awkwardNames {
		awkward = append(awkward, Computer{Name: n, Container: "OU=Odd"})
	}
	if err := d.AddComputers(awkward...); err != nil {
		t.Fatal(err)
	}
	c := adminConn(t, d)

	for _, n := range awkwardNames {
		filter := "(&(objectClass=computer)(sAMAccountName=" + ldap.EscapeFilter(n+"$") + "))"
		got := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, filter, "name", "sAMAccountName")
		if len(got) != 1 || got[0].GetAttributeValue("name") != n {
			t.Errorf("%q: %s matched %q, want exactly %q", n, filter, names(got), n)
		}
	}

	// An escaped '*' is a character, not a wildcard: CLIENT1 must not match.
	got := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(cn="+ldap.EscapeFilter("client*")+")", "name")
	if want := []string{"client*"}; !slices.Equal(names(got), want) {
		t.Errorf("escaped client*: got %q, want %q", names(got), want)
	}
	// The same text unescaped is a wildcard and matches case-insensitively.
	got = search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(cn=client*)", "name")
	if want := []string{"CLIENT1", "CLIENT10", "CLIENT2", "client*"}; !slices.Equal(names(got), want) {
		t.Errorf("wildcard client*: got %q, want %q", names(got), want)
	}
	// Exact identity: CLIENT1 is not CLIENT10.
	got = search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(sAMAccountName="+ldap.EscapeFilter("client1$")+")", "name")
	if want := []string{"CLIENT1"}; !slices.Equal(names(got), want) {
		t.Errorf("client1$: got %q, want %q", names(got), want)
	}
}

func TestNonASCIINameMatchesCaseInsensitively(t *testing.T) {
	d := startLab(t)
	c := adminConn(t, d)
	got := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(sAMAccountName="+ldap.EscapeFilter("laptop-äö$")+")", "sAMAccountName", "dNSHostName")
	if len(got) != 1 || got[0].GetAttributeValue("sAMAccountName") != "LAPTOP-ÄÖ$" {
		t.Fatalf("got %v", names(got))
	}
	if h := got[0].GetAttributeValue("dNSHostName"); h != "laptop-äö.corp.example" {
		t.Errorf("dNSHostName = %q", h)
	}
}

func TestFilterOperators(t *testing.T) {
	d := startLab(t)
	c := adminConn(t, d)
	cases := []struct {
		filter string
		want   []string
	}{
		// AD's bitwise AND rule: disabled accounts.
		{"(&(objectCategory=computer)(userAccountControl:1.2.840.113556.1.4.803:=2))", []string{"RETIRED1"}},
		{"(&(objectClass=user)(!(objectClass=computer))(userAccountControl:1.2.840.113556.1.4.803:=2))", []string{"Carol Carter", "krbtgt"}},
		// Domain controllers carry SERVER_TRUST_ACCOUNT (0x2000).
		{"(userAccountControl:1.2.840.113556.1.4.803:=8192)", []string{"DC1", "DC2"}},
		// The bitwise OR rule: any of the bits.
		{"(&(objectCategory=computer)(userAccountControl:1.2.840.113556.1.4.804:=8194))", []string{"DC1", "DC2", "RETIRED1"}},
		{"(&(objectClass=computer)(|(cn=RAS1)(cn=ras2)))", []string{"RAS1", "RAS2"}},
		{"(&(isCriticalSystemObject=TRUE)(objectCategory=person))", []string{"Administrator", "krbtgt"}},
		{"(&(objectCategory=group)(member=CN=Alice Archer,OU=Staff,DC=corp,DC=example))", []string{"Remote Access Users"}},
		{"(memberOf=cn=domain admins,cn=users,dc=corp,dc=example)", []string{"Administrator", "Remote Access provider service"}},
		{"(&(objectCategory=computer)(dNSHostName=*.corp.example)(operatingSystem=*Server*)(!(primaryGroupID=516)))", []string{"RAS1", "RAS2"}},
		{"(&(objectCategory=computer)(cn=C*T*0))", []string{"CLIENT10"}},
		{"(&(objectCategory=person)(userAccountControl>=66048))", []string{"Administrator"}},
		{"(&(objectCategory=person)(userAccountControl<=512)(!(sAMAccountName=svc*)))", []string{"Alice Archer", "Bob Baker", "Dave Dunn", "Erin Evans", "Mallory Mole"}},
		{"(userAccountControl:1.2.840.113556.1.4.1941:=2)", nil}, // unknown rule: Undefined
		{"(nosuchattribute=*)", nil},
	}
	for _, tc := range cases {
		got := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, tc.filter, "name")
		if !slices.Equal(names(got), tc.want) {
			t.Errorf("%s: got %q, want %q", tc.filter, names(got), tc.want)
		}
	}
}

func TestScopesAndNamingContexts(t *testing.T) {
	d := startLab(t)
	c := adminConn(t, d)
	ws := "OU=Workstations," + d.BaseDN()

	if got := names(search(t, c, ws, ldap.ScopeBaseObject, "(objectClass=*)")); !slices.Equal(got, []string{"Workstations"}) {
		t.Errorf("base: %q", got)
	}
	if got := names(search(t, c, ws, ldap.ScopeSingleLevel, "(objectClass=*)")); !slices.Equal(got, []string{"CLIENT1", "CLIENT10", "CLIENT2", "Laptops", "RETIRED1"}) {
		t.Errorf("one level: %q", got)
	}
	if got := names(search(t, c, "ou=workstations,dc=CORP,dc=example", ldap.ScopeWholeSubtree, "(objectClass=computer)")); !slices.Equal(got, []string{"CLIENT1", "CLIENT10", "CLIENT2", "LAPTOP-ÄÖ", "RETIRED1"}) {
		t.Errorf("subtree: %q", got)
	}
	// The Configuration partition is another naming context.
	if got := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(objectClass=crossRef)"); len(got) != 0 {
		t.Errorf("domain subtree search returned %d configuration objects", len(got))
	}
	_, err := c.Search(ldap.NewSearchRequest("OU=Nowhere,"+d.BaseDN(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
	wantLDAPError(t, err, ldap.LDAPResultNoSuchObject, "DC=corp,DC=example")
	// Another domain's base is referred there, as AD refers it; a base in no domain at all is simply missing.
	_, err = c.Search(ldap.NewSearchRequest("OU=Laptops,DC=Other,DC=Example", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
	wantLDAPError(t, err, ldap.LDAPResultReferral, "ref 1: 'other.example'")
	_, err = c.Search(ldap.NewSearchRequest("O=Nowhere", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
	wantLDAPError(t, err, ldap.LDAPResultNoSuchObject, "")
}

func TestAttributeSelection(t *testing.T) {
	d := startLab(t)
	c := adminConn(t, d)
	got := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(sAMAccountName=CLIENT1$)", "samaccountname", "USERACCOUNTCONTROL")
	if len(got) != 1 {
		t.Fatalf("got %d entries", len(got))
	}
	var attrNames []string
	for _, a := range got[0].Attributes {
		attrNames = append(attrNames, a.Name)
	}
	slices.Sort(attrNames)
	if want := []string{"sAMAccountName", "userAccountControl"}; !slices.Equal(attrNames, want) {
		t.Errorf("attributes %q, want %q (AD spelling)", attrNames, want)
	}
	if got[0].DN != "CN=CLIENT1,OU=Workstations,DC=corp,DC=example" {
		t.Errorf("DN %q", got[0].DN)
	}
	none := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(sAMAccountName=CLIENT1$)", "1.1")
	if len(none) != 1 || len(none[0].Attributes) != 0 {
		t.Errorf("1.1: %+v", none)
	}
}

func TestComputerAccountShape(t *testing.T) {
	d := startLab(t)
	c := adminConn(t, d)
	e := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(sAMAccountName=CLIENT1$)")[0]
	want := map[string]string{
		"cn": "CLIENT1", "name": "CLIENT1", "dNSHostName": "client1.corp.example", "userAccountControl": "4096",
		"distinguishedName": "CN=CLIENT1,OU=Workstations,DC=corp,DC=example", "primaryGroupID": "515",
		"objectCategory": "CN=Computer,CN=Schema,CN=Configuration,DC=corp,DC=example", "whenChanged": "20240115090000.0Z",
	}
	for attr, v := range want {
		if got := e.GetAttributeValue(attr); got != v {
			t.Errorf("%s = %q, want %q", attr, got, v)
		}
	}
	if oc := e.GetAttributeValues("objectClass"); !slices.Equal(oc, []string{"top", "person", "organizationalPerson", "user", "computer"}) {
		t.Errorf("objectClass %q", oc)
	}
	dc := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(sAMAccountName=DC1$)")[0]
	if dc.DN != "CN=DC1,OU=Domain Controllers,DC=corp,DC=example" || dc.GetAttributeValue("isCriticalSystemObject") != "TRUE" ||
		dc.GetAttributeValue("userAccountControl") != "532480" {
		t.Errorf("DC1: %s uac=%s critical=%s", dc.DN, dc.GetAttributeValue("userAccountControl"), dc.GetAttributeValue("isCriticalSystemObject"))
	}
}

func TestObjectGUIDAndSIDSearch(t *testing.T) {
	d := startLab(t)
	c := adminConn(t, d)
	e := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(sAMAccountName=CLIENT1$)", "objectGUID", "objectSid")[0]
	guid := e.GetRawAttributeValue("objectGUID")
	if len(guid) != 16 {
		t.Fatalf("objectGUID is %d bytes", len(guid))
	}
	// Windows order: the first three groups are little-endian.
	s, err := GUIDString(guid)
	if err != nil {
		t.Fatal(err)
	}
	wantPrefix := []byte{guid[3], guid[2], guid[1], guid[0]}
	if first, err := hex.DecodeString(s[0:8]); err != nil || !bytes.Equal(first, wantPrefix) {
		t.Errorf("GUID %s does not start with the reversed first four bytes % x", s, guid[:4])
	}

	byGUID := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(objectGUID="+ldap.EscapeFilter(string(guid))+")", "name")
	if !slices.Equal(names(byGUID), []string{"CLIENT1"}) {
		t.Errorf("objectGUID search: %q", names(byGUID))
	}

	sid := e.GetRawAttributeValue("objectSid")
	if len(sid) != 28 || sid[0] != 1 || sid[1] != 5 {
		t.Fatalf("objectSid % x is not a domain account SID", sid)
	}
	bySID := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(objectSid="+ldap.EscapeFilter(string(sid))+")", "name")
	if !slices.Equal(names(bySID), []string{"CLIENT1"}) {
		t.Errorf("binary objectSid search: %q", names(bySID))
	}
	// AD also takes the SID's string form in a filter.
	sidText, err := gldap.SIDBytesToString(sid)
	if err != nil {
		t.Fatal(err)
	}
	bySIDText := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(objectSid="+ldap.EscapeFilter(sidText)+")", "name")
	if !slices.Equal(names(bySIDText), []string{"CLIENT1"}) {
		t.Errorf("objectSid %s search: %q", sidText, names(bySIDText))
	}
	admin := search(t, c, d.BaseDN(), ldap.ScopeWholeSubtree, "(sAMAccountName=Administrator)", "objectSid")[0]
	adminSID := admin.GetRawAttributeValue("objectSid")
	if rid := uint32(adminSID[24]) | uint32(adminSID[25])<<8 | uint32(adminSID[26])<<16 | uint32(adminSID[27])<<24; rid != 500 {
		t.Errorf("Administrator RID %d, want 500", rid)
	}
}
