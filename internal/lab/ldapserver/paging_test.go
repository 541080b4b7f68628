package ldapserver

import (
	"fmt"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func addBulkComputers(t *testing.T, d *Directory, n int) {
	t.Helper()
	bulk := make([]Computer, n)
	for i := range bulk {
		bulk[i] = Computer{Name: fmt.Sprintf("BULK%05d", i), Container: "OU=Bulk,OU=Workstations"}
	}
	if err := d.AddComputers(bulk...); err != nil {
		t.Fatal(err)
	}
}

func TestPagingThroughFiveThousandComputers(t *testing.T) {
	d := startLab(t)
	addBulkComputers(t, d, 5000)
	c := adminConn(t, d)
	req := ldap.NewSearchRequest("OU=Bulk,OU=Workstations,"+d.BaseDN(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=computer)", []string{"sAMAccountName", "objectGUID"}, nil)
	res, err := c.SearchWithPaging(req, 500)
	if err != nil {
		t.Fatalf("paged search: %v", err)
	}
	if len(res.Entries) != 5000 {
		t.Fatalf("paged search returned %d entries, want 5000", len(res.Entries))
	}
	seen := map[string]bool{}
	guids := map[string]bool{}
	for _, e := range res.Entries {
		seen[e.GetAttributeValue("sAMAccountName")] = true
		guids[string(e.GetRawAttributeValue("objectGUID"))] = true
	}
	if len(seen) != 5000 || len(guids) != 5000 {
		t.Fatalf("%d distinct names and %d distinct GUIDs, want 5000 each", len(seen), len(guids))
	}

	// A page size above AD's MaxPageSize is served in pages of 1000.
	res, err = c.SearchWithPaging(ldap.NewSearchRequest(d.BaseDN(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(sAMAccountName=BULK*)", []string{"1.1"}, nil), 3000)
	if err != nil || len(res.Entries) != 5000 {
		t.Fatalf("paged search with size 3000: %d entries, %v", len(res.Entries), err)
	}
}

func TestUnpagedSearchStopsAtMaxPageSize(t *testing.T) {
	d := startLab(t)
	addBulkComputers(t, d, 1500)
	c := adminConn(t, d)
	res, err := c.Search(ldap.NewSearchRequest(d.BaseDN(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(sAMAccountName=BULK*)", []string{"1.1"}, nil))
	wantLDAPError(t, err, ldap.LDAPResultSizeLimitExceeded, "")
	if res == nil || len(res.Entries) != 1000 {
		t.Fatalf("unpaged search: want the first 1000 entries with the error, got %v", res)
	}

	// The client's own size limit applies too.
	res, err = c.Search(ldap.NewSearchRequest(d.BaseDN(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 10, 0, false,
		"(sAMAccountName=BULK*)", []string{"1.1"}, nil))
	wantLDAPError(t, err, ldap.LDAPResultSizeLimitExceeded, "")
	if res == nil || len(res.Entries) != 10 {
		t.Fatalf("size limit 10: got %v", res)
	}
}

func TestUnknownPagingCookieIsRefused(t *testing.T) {
	d := startLab(t)
	c := adminConn(t, d)
	paging := ldap.NewControlPaging(10)
	paging.SetCookie([]byte("no-such-cursor"))
	_, err := c.Search(ldap.NewSearchRequest(d.BaseDN(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", nil, []ldap.Control{paging}))
	wantLDAPError(t, err, ldap.LDAPResultUnwillingToPerform, "")
}

func TestUnknownCriticalControlIsRefused(t *testing.T) {
	d := startLab(t)
	c := adminConn(t, d)
	_, err := c.Search(ldap.NewSearchRequest(d.BaseDN(), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", nil, []ldap.Control{ldap.NewControlString("1.2.3.4.5", true, "")}))
	wantLDAPError(t, err, ldap.LDAPResultUnavailableCriticalExtension, "1.2.3.4.5")
}
