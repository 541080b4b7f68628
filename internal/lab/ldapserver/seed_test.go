package ldapserver

import (
	"slices"
	"strings"
	"testing"
)

func TestSeedIsReproducible(t *testing.T) {
	seed, err := LoadSeed(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(seed)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(seed)
	if err != nil {
		t.Fatal(err)
	}
	for _, sam := range []string{"CLIENT1$", "LAPTOP-ÄÖ$", "DC1$", "alice", "Domain Admins"} {
		ea, okA := a.Lookup(sam)
		eb, okB := b.Lookup(sam)
		if !okA || !okB {
			t.Fatalf("%s missing", sam)
		}
		for _, attr := range []string{"objectGUID", "objectSid", "distinguishedName"} {
			if !slices.Equal(ea.Attributes[attr], eb.Attributes[attr]) || len(ea.Attributes[attr]) != 1 {
				t.Errorf("%s %s differs between two directories from one seed", sam, attr)
			}
		}
	}
	c1, _ := a.Lookup("CLIENT1$")
	c10, _ := a.Lookup("CLIENT10$")
	if c1.Attributes["objectGUID"][0] == c10.Attributes["objectGUID"][0] || c1.Attributes["objectSid"][0] == c10.Attributes["objectSid"][0] {
		t.Error("CLIENT1 and CLIENT10 share an identifier")
	}
	alice, _ := a.Lookup("alice")
	if !slices.Contains(alice.Attributes["memberOf"], "CN=Remote Access Users,OU=Groups,DC=corp,DC=example") {
		t.Errorf("alice memberOf %q", alice.Attributes["memberOf"])
	}
}

func TestSeedGivenIdentifiersWin(t *testing.T) {
	seed, err := LoadSeed(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	seed.Domain.SID = "S-1-5-21-1-2-3"
	seed.Computers = append(seed.Computers, Computer{Name: "FIXED", ObjectGUID: "00112233-4455-6677-8899-aabbccddeeff", RID: 4242})
	d, err := New(seed)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := d.Lookup("FIXED$")
	wire := []byte(e.Attributes["objectGUID"][0])
	want := []byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	if !slices.Equal(wire, want) {
		t.Errorf("objectGUID on the wire % x, want % x", wire, want)
	}
	if s, _ := GUIDString(wire); s != "00112233-4455-6677-8899-aabbccddeeff" {
		t.Errorf("GUIDString %s", s)
	}
	if got, want := []byte(e.Attributes["objectSid"][0]), (sid{authority: 5, subs: []uint32{21, 1, 2, 3, 4242}}).bytes(); !slices.Equal(got, want) {
		t.Errorf("objectSid % x, want % x", got, want)
	}
}

func TestSeedValidation(t *testing.T) {
	cases := map[string]string{
		"unknown field":    `{"domain":{"dns_name":"corp.example","netbios_name":"CORP"},"bind_user":"a","users":[{"sam_account_name":"a","password":"p"}],"domain_controllers":[{"name":"DC1"}],"computerz":[]}`,
		"no bind user":     `{"domain":{"dns_name":"corp.example","netbios_name":"CORP"},"bind_user":"nobody","domain_controllers":[{"name":"DC1"}]}`,
		"no DC":            `{"domain":{"dns_name":"corp.example","netbios_name":"CORP"},"bind_user":"a","users":[{"sam_account_name":"a","password":"p"}]}`,
		"bad NetBIOS name": `{"domain":{"dns_name":"corp.example","netbios_name":"MUCH-TOO-LONG-NAME"},"bind_user":"a","users":[{"sam_account_name":"a","password":"p"}],"domain_controllers":[{"name":"DC1"}]}`,
	}
	for name, doc := range cases {
		if _, err := ParseSeed([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	dup := `{"domain":{"dns_name":"corp.example","netbios_name":"CORP"},"bind_user":"a","users":[{"sam_account_name":"a","password":"p"}],
		"domain_controllers":[{"name":"DC1"}],"computers":[{"name":"PC1"},{"name":"pc1","container":"OU=Other"}]}`
	seed, err := ParseSeed([]byte(dup))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(seed); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate sAMAccountName: %v", err)
	}
}
