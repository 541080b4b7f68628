package directory_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// watchEnables reads the account's userAccountControl over its own connection until stop is called, and returns how
// many times it saw the account enabled: where a block must hold, that is zero.
func (e *env) watchEnables(t *testing.T, dn string) (stop func() int) {
	conn := e.dc.AdminConn()
	done := make(chan struct{})
	var wg sync.WaitGroup
	enabled := 0
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
				"(objectClass=*)", []string{"userAccountControl"}, nil))
			if err == nil && len(res.Entries) == 1 {
				if uac, _ := strconv.ParseInt(res.Entries[0].GetAttributeValue("userAccountControl"), 10, 64); uac&2 == 0 {
					enabled++
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		return enabled
	}
}

func (e *env) setAttr(t *testing.T, dn, attr, value string) {
	t.Helper()
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace(attr, []string{value})
	if value == "" {
		m = ldap.NewModifyRequest(dn, nil)
		m.Replace(attr, []string{})
	}
	if err := e.dc.AdminConn().Modify(m); err != nil {
		t.Fatalf("setting %s of %s: %v", attr, dn, err)
	}
}

// read reads info, description and userAccountControl with ldbsearch.
func (e *env) read(t *testing.T, sam string) (uac uint32, info, descr string) {
	t.Helper()
	got := e.dc.LDBSearch("(sAMAccountName="+ldap.EscapeFilter(sam)+")", "userAccountControl", "info", "description")
	return e.uac(t, sam), strings.Join(got["info"], ""), strings.Join(got["description"], "")
}

// Samba counts attribute lengths in UTF-16 code units, as Active Directory does: 1,024 'a' or 512 astral characters
// fit in description; 1,023 'a' and one astral character, or 513 astral characters, do not. A block whose summary
// is shortened right at that limit is written whole.
func (e *env) testUTF16Limits(t *testing.T) {
	e.dc.CreateComputer("LIMITS1", true)
	c := e.client(t)
	acct, err := c.FindComputer(ctx(t), "limits1")
	if err != nil {
		t.Fatal(err)
	}
	const astral = "😀"
	for value, fits := range map[string]bool{
		strings.Repeat("a", 1024): true, strings.Repeat(astral, 512): true,
		strings.Repeat("a", 1023) + astral: false, strings.Repeat(astral, 513): false,
	} {
		m := ldap.NewModifyRequest(acct.DN, nil)
		m.Replace("description", []string{value})
		if err := e.dc.AdminConn().Modify(m); (err == nil) != fits {
			t.Errorf("description of %d UTF-16 units: %v; want fits=%v", utf16Units(value), err, fits)
		}
		// Shortened as the block shortens its texts, every one of them fits, and those that fit are kept whole.
		short := directory.TruncateUTF16(value, 1024)
		m = ldap.NewModifyRequest(acct.DN, nil)
		m.Replace("description", []string{short})
		if err := e.dc.AdminConn().Modify(m); err != nil || (fits && short != value) {
			t.Errorf("description of %d units shortened to %d units: %v (kept whole: %v)", utf16Units(value), utf16Units(short), err, short == value)
		}
	}
	e.setAttr(t, acct.DN, "description", "")
	for _, reason := range []string{strings.Repeat(astral, 600), "x" + strings.Repeat(astral, 600), strings.Repeat("é", 2000)} {
		res, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("u", reason), Record: true})
		if err != nil || res.RecordErr != nil || !res.Recorded {
			t.Fatalf("Hold with a reason of %d UTF-16 units = %+v, %v; want disabled and recorded", utf16Units(reason), res, err)
		}
		uac, info, descr := e.read(t, "LIMITS1$")
		if uac&2 == 0 || !strings.HasPrefix(descr, "Blocked by") || utf16Units(descr) > 1024 || utf16Units(info) > 1024 {
			t.Errorf("after the hold: userAccountControl %#x, description %d units, info %d units", uac, utf16Units(descr), utf16Units(info))
		}
		if _, err := c.Release(ctx(t), acct, "u", true); err != nil {
			t.Fatal(err)
		}
	}
	// Notes almost full: the account is disabled all the same, and the record's size is named.
	e.setAttr(t, acct.DN, "info", strings.Repeat("n", 900))
	res, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("full", "INC-9"), Record: true})
	var tooLong *directory.RecordTooLongError
	if err != nil || !errors.As(res.RecordErr, &tooLong) || tooLong.Attribute != "info" {
		t.Errorf("Hold on 900 characters of notes = %+v, %v; want disabled with a RecordTooLongError on info", res, err)
	}
	if uac, _, _ := e.read(t, "LIMITS1$"); uac&2 == 0 {
		t.Error("the account with full notes was not disabled")
	}
	if rel, err := c.Release(ctx(t), acct, "full", true); err != nil || !rel.Enabled {
		t.Errorf("releasing the unrecorded hold = %+v, %v", rel, err)
	}
}

// Two holds, then a helpdesk line at the top of the Notes: the first release leaves the account disabled (no enable
// is ever seen), the last one keeps the line and restores the description.
func (e *env) testRecordSection(t *testing.T) {
	e.dc.CreateComputer("SECTION1", true)
	c := e.client(t)
	acct, err := c.FindComputer(ctx(t), "section1")
	if err != nil {
		t.Fatal(err)
	}
	e.setAttr(t, acct.DN, "description", "Finance laptop")
	for _, id := range []string{"a", "b"} {
		if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold(id, "INC "+id+"\n\u202Eevil"), Record: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, info, descr := e.read(t, "SECTION1$")
	if strings.ContainsAny(descr, "\n\u202E") {
		t.Errorf("description %q; want one line without a bidirectional override", descr)
	}
	e.setAttr(t, acct.DN, "info", "helpdesk: owner called\n"+info)
	stop := e.watchEnables(t, acct.DN)
	rel, err := c.Release(ctx(t), acct, "a", true)
	if n := stop(); err != nil || rel.Enabled || n != 0 {
		t.Fatalf("Release a = %+v, %v, %d enables seen; want still held by b, never enabled", rel, err, n)
	}
	if rel, err := c.Release(ctx(t), acct, "b", false); err != nil || !rel.Enabled {
		t.Fatalf("Release b = %+v, %v", rel, err)
	}
	if uac, info, descr := e.read(t, "SECTION1$"); uac&2 != 0 || info != "helpdesk: owner called" || descr != "Finance laptop" {
		t.Errorf("after the last release: %#x, notes %q, description %q", uac, info, descr)
	}
}

// A member of Domain Admins through a nested group is refused (Samba never sets adminCount).
func (e *env) testNestedAdmin(t *testing.T) {
	conn := e.dc.AdminConn()
	e.dc.CreateUser("nina", "N1na!Passw0rd")
	inner, outer := "CN=Tier0 Ops,CN=Users,"+e.dc.BaseDN, "CN=Tier0 Parent,CN=Users,"+e.dc.BaseDN
	ninaDN := "CN=nina,CN=Users," + e.dc.BaseDN
	for _, g := range []struct{ dn, sam, member string }{{inner, "Tier0 Ops", ninaDN}, {outer, "Tier0 Parent", inner}} {
		add := ldap.NewAddRequest(g.dn, nil)
		add.Attribute("objectClass", []string{"group"})
		add.Attribute("sAMAccountName", []string{g.sam})
		add.Attribute("member", []string{g.member})
		if err := conn.Add(add); err != nil {
			t.Fatal(err)
		}
	}
	admins := "CN=Domain Admins,CN=Users," + e.dc.BaseDN
	m := ldap.NewModifyRequest(admins, nil)
	m.Add("member", []string{outer})
	if err := conn.Modify(m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m := ldap.NewModifyRequest(admins, nil)
		m.Delete("member", []string{outer})
		_ = conn.Modify(m)
		_ = conn.Del(ldap.NewDelRequest(outer, nil))
		_ = conn.Del(ldap.NewDelRequest(inner, nil))
	})
	c := e.client(t)
	acct, err := c.FindUser(ctx(t), "nina")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(acct.PrivilegedVia, admins) || acct.AdminCount != 0 {
		t.Errorf("nina: PrivilegedVia %q, adminCount %d; want Domain Admins found through the nested groups", acct.PrivilegedVia, acct.AdminCount)
	}
	_, err = c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true})
	var guard *directory.GuardError
	if !errors.As(err, &guard) || !strings.Contains(guard.Reason, "Domain Admins") {
		t.Errorf("Hold of a nested Domain Admin = %v; want a GuardError", err)
	}
	if uac, _, _ := e.read(t, "nina"); uac&2 != 0 {
		t.Error("the nested Domain Admin was disabled")
	}
	// A lookup for the guards finds the nested membership; a refresh's lookup (ReadByGUID) skips that search, also
	// when both share one search.
	var found, read directory.Account
	var foundErr, readErr error
	var wg sync.WaitGroup
	wg.Go(func() { found, foundErr = c.FindByGUID(ctx(t), directory.KindUser, acct.ObjectGUID) })
	wg.Go(func() { read, readErr = c.ReadByGUID(ctx(t), directory.KindUser, acct.ObjectGUID) })
	wg.Wait()
	if foundErr != nil || !strings.EqualFold(found.PrivilegedVia, admins) {
		t.Errorf("FindByGUID of nina: PrivilegedVia %q, %v; want Domain Admins", found.PrivilegedVia, foundErr)
	}
	if readErr != nil || read.PrivilegedVia != "" || read.DN != acct.DN {
		t.Errorf("ReadByGUID of nina: %s, PrivilegedVia %q, %v; want her account without the membership search", read.DN, read.PrivilegedVia, readErr)
	}
}

// FindByGUID finds an account outside the search base in the whole domain, and says when it was deleted.
func (e *env) testFindByGUIDAcrossTheDomain(t *testing.T) {
	e.dc.CreateComputer("GONE1", true)
	c := e.client(t)
	gone, err := c.FindComputer(ctx(t), "gone1")
	if err != nil {
		t.Fatal(err)
	}
	user, err := c.FindUser(ctx(t), "bob")
	if err != nil {
		t.Fatal(err)
	}
	narrow := e.client(t, func(cfg *directory.Config) { cfg.BaseDN = "OU=Laptops," + e.dc.BaseDN })
	if got, err := narrow.FindByGUID(ctx(t), directory.KindUser, user.ObjectGUID); err != nil || got.DN != user.DN {
		t.Errorf("FindByGUID of a user outside the base = %s, %v", got.DN, err)
	}
	if err := e.dc.AdminConn().Del(ldap.NewDelRequest(gone.DN, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := narrow.FindByGUID(ctx(t), directory.KindComputer, gone.ObjectGUID); !errors.Is(err, directory.ErrDeleted) {
		t.Errorf("FindByGUID of a deleted computer = %v; want ErrDeleted", err)
	}
	if _, err := narrow.FindByGUID(ctx(t), directory.KindComputer, "00000000-0000-0000-0000-0000000000aa"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("FindByGUID of no account = %v; want ErrNotFound", err)
	}
}

// Writes go to the PDC emulator, which Samba's single DC is: the writer is found among the configured URLs.
func (e *env) testWriter(t *testing.T) {
	c := e.client(t, func(cfg *directory.Config) { cfg.URLs = []string{"ldaps://127.0.0.1:1", e.dc.LDAPSURL} })
	w, err := c.Writer(context.Background())
	if err != nil || w != e.dc.LDAPSURL+":636" && w != e.dc.LDAPSURL {
		t.Errorf("Writer = %q, %v; want %s", w, err, e.dc.LDAPSURL)
	}
}
