package directory_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

// dialInRoundTrip denies dial-in on a user whose msNPAllowDialin starts as each of the three states, checks the
// directory through read (not through the client), and restores exactly what was there.
func dialInRoundTrip(t *testing.T, c *directory.Client, conn *ldap.Conn, acct directory.Account, read func() []string) {
	t.Helper()
	for _, start := range []directory.DialIn{directory.DialInAbsent, directory.DialInAllow, directory.DialInDeny} {
		setRaw(t, conn, acct.DN, start)
		prior, err := c.SetDialIn(ctx(t), acct, directory.DialInDeny)
		if err != nil || prior != start {
			t.Fatalf("from %q: SetDialIn(FALSE) = %q, %v; want prior %q", start, prior, err, start)
		}
		if got := read(); len(got) != 1 || got[0] != "FALSE" {
			t.Fatalf("from %q: the directory holds msNPAllowDialin %q after the deny, want [FALSE]", start, got)
		}
		if found, err := c.RestoreDialIn(ctx(t), acct, prior, directory.DialInDeny); err != nil || found != directory.DialInDeny {
			t.Fatalf("from %q: RestoreDialIn = %q, %v", start, found, err)
		}
		want := []string{}
		if start != directory.DialInAbsent {
			want = []string{string(start)}
		}
		if got := read(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("restored %q to %q; want %q", start, got, want)
		}
	}
}

// setRaw writes msNPAllowDialin directly, as an administrator in the Dial-in tab would.
func setRaw(t *testing.T, conn *ldap.Conn, dn string, v directory.DialIn) {
	t.Helper()
	mod := ldap.NewModifyRequest(dn, nil)
	if v == directory.DialInAbsent {
		mod.Replace("msNPAllowDialin", []string{})
	} else {
		mod.Replace("msNPAllowDialin", []string{string(v)})
	}
	if err := conn.Modify(mod); err != nil {
		t.Fatalf("setting msNPAllowDialin %q: %v", v, err)
	}
}

// A release after someone else changed the attribute leaves their value.
func dialInChangedByOthers(t *testing.T, c *directory.Client, conn *ldap.Conn, acct directory.Account, read func() []string) {
	t.Helper()
	setRaw(t, conn, acct.DN, directory.DialInAbsent)
	prior, err := c.SetDialIn(ctx(t), acct, directory.DialInDeny)
	if err != nil {
		t.Fatal(err)
	}
	setRaw(t, conn, acct.DN, directory.DialInAllow) // an administrator allows the user by hand
	found, err := c.RestoreDialIn(ctx(t), acct, prior, directory.DialInDeny)
	if !errors.Is(err, directory.ErrDialInChanged) || found != directory.DialInAllow {
		t.Fatalf("RestoreDialIn after a change by hand = %q, %v; want ErrDialInChanged and TRUE", found, err)
	}
	if got := read(); len(got) != 1 || got[0] != "TRUE" {
		t.Fatalf("the administrator's TRUE became %q", got)
	}
	if got, err := c.ReadDialIn(ctx(t), acct); err != nil || got != directory.DialInAllow {
		t.Fatalf("ReadDialIn = %q, %v", got, err)
	}
}

// dialInReadBack waits for the deny on the domain controllers, and names a deny that does not show.
func dialInReadBack(t *testing.T, c *directory.Client, conn *ldap.Conn, acct directory.Account) {
	t.Helper()
	setRaw(t, conn, acct.DN, directory.DialInDeny)
	if err := c.WaitVisible(ctx(t), acct.DN, directory.Visible{DialInDenied: true}); err != nil {
		t.Fatalf("WaitVisible for a deny in place: %v", err)
	}
	setRaw(t, conn, acct.DN, directory.DialInAllow)
	short, cancel := context.WithTimeout(ctx(t), 1500*time.Millisecond)
	defer cancel()
	var verr *directory.VisibilityError
	if err := c.WaitVisible(short, acct.DN, directory.Visible{DialInDenied: true}); !errors.As(err, &verr) || !strings.Contains(err.Error(), "still allow access") {
		t.Fatalf("WaitVisible for a deny that never shows = %v; want the controller named, still allowing", err)
	}
	setRaw(t, conn, acct.DN, directory.DialInAbsent)
}

func TestDialInRoundTripOnTheLab(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindUser(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	read := func() []string {
		e, ok := l.Directory().Lookup("alice")
		if !ok {
			t.Fatal("alice is gone")
		}
		return e.Attributes["msNPAllowDialin"]
	}
	dialInRoundTrip(t, c, conn, acct, read)
	dialInChangedByOthers(t, c, conn, acct, read)
	dialInReadBack(t, c, conn, acct)
	dialInDeniesNest(t, c, conn, acct, read)
	bad := ldap.NewModifyRequest(acct.DN, nil)
	bad.Replace("msNPAllowDialin", []string{"maybe"})
	if err := conn.Modify(bad); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidAttributeSyntax) {
		t.Fatalf("the lab accepted msNPAllowDialin=maybe: %v", err)
	}
}

func (e *env) testDialIn(t *testing.T) {
	c := e.client(t)
	acct, err := c.FindUser(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	conn := e.dc.AdminConn()
	read := func() []string { return e.dc.LDBSearch("(sAMAccountName=alice)", "msNPAllowDialin")["msNPAllowDialin"] }
	dialInRoundTrip(t, c, conn, acct, read)
	dialInChangedByOthers(t, c, conn, acct, read)
	dialInReadBack(t, c, conn, acct)
	dialInDeniesNest(t, c, conn, acct, read)
}

// dialInDeniesNest has two blocks deny dial-in of the account, which an administrator had allowed (TRUE): the first
// one's hold line records TRUE, and the second, placed after the first one's deny, takes that over rather than the
// FALSE it finds. Released in creation order, the first leaves the deny for the second, whose release restores TRUE
// in the modify that removes its line. read is the directory's msNPAllowDialin, not the client's.
func dialInDeniesNest(t *testing.T, c *directory.Client, conn *ldap.Conn, acct directory.Account, read func() []string) {
	t.Helper()
	find := func() directory.Account {
		cur, err := c.FindByGUID(ctx(t), directory.KindUser, acct.ObjectGUID)
		if err != nil {
			t.Fatal(err)
		}
		return cur
	}
	setRaw(t, conn, acct.DN, directory.DialInAllow)
	for _, id := range []string{"first", "second"} {
		req := directory.HoldRequest{Record: true, Hold: directory.Hold{ID: id, Since: time.Now(), KeepsEnabled: true, DeniesDialIn: true}}
		if _, err := c.Hold(ctx(t), find(), req); err != nil {
			t.Fatal(err)
		}
		rec, err := find().ReadBlockRecord()
		if i := slices.IndexFunc(rec.Holds, func(h directory.Hold) bool { return h.ID == id }); err != nil || i < 0 ||
			!rec.Holds[i].DeniesDialIn || rec.Holds[i].PriorDialIn != directory.DialInAllow {
			t.Fatalf("hold %s: record %+v, %v; want its line to deny dial-in and restore TRUE", id, rec, err)
		}
		if _, err := c.SetDialIn(ctx(t), find(), directory.DialInDeny); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.Release(ctx(t), find(), "first", false)
	if err != nil || res.DialIn.Restored || res.DialIn.DeniedFor != "second" || strings.Join(read(), ",") != "FALSE" {
		t.Fatalf("release of the first: %+v, %v, msNPAllowDialin %q; want FALSE kept for the second", res.DialIn, err, read())
	}
	res, err = c.Release(ctx(t), find(), "second", false)
	if err != nil || !res.DialIn.Restored || strings.Join(read(), ",") != "TRUE" {
		t.Fatalf("release of the second: %+v, %v, msNPAllowDialin %q; want TRUE restored", res.DialIn, err, read())
	}
	setRaw(t, conn, acct.DN, directory.DialInAbsent)
}

// A release that races a new block of another team: the new block's hold and deny land between the release's read
// and its write. The release's modify, which removes its line and restores dial-in together, then fails on the
// changed notes, and the release decides again: the new block denies dial-in, so it stays FALSE, and the new block's
// own release restores what was there before both (TRUE). Read from the lab's directory.
func TestAReleaseRacingANewDenyLeavesItDenied(t *testing.T) {
	l, c := startDirectoryLab(t)
	other := labclient.Directory(t, l.Info()) // another team's provider
	conn := labclient.LDAP(t, l.Info())
	find := func(c *directory.Client) directory.Account {
		acct, err := c.FindUser(ctx(t), "alice")
		if err != nil {
			t.Fatal(err)
		}
		return acct
	}
	deny := func(c *directory.Client, id string) {
		req := directory.HoldRequest{Record: true, Hold: directory.Hold{ID: id, Since: time.Now(), KeepsEnabled: true, DeniesDialIn: true}}
		if _, err := c.Hold(ctx(t), find(c), req); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SetDialIn(ctx(t), find(c), directory.DialInDeny); err != nil {
			t.Fatal(err)
		}
	}
	read := func() []string { e, _ := l.Directory().Lookup("alice"); return e.Attributes["msNPAllowDialin"] }
	setRaw(t, conn, find(c).DN, directory.DialInAllow)
	deny(c, "first")
	var fired atomic.Bool
	restore := directory.SetBeforeWrite(func(string) {
		if fired.CompareAndSwap(false, true) {
			deny(other, "second")
		}
	})
	res, err := c.Release(ctx(t), find(c), "first", false)
	restore()
	if err != nil || !fired.Load() {
		t.Fatalf("release: %v (the other block placed meanwhile: %v)", err, fired.Load())
	}
	if res.DialIn.Restored || res.DialIn.DeniedFor != "second" || strings.Join(read(), ",") != "FALSE" {
		t.Fatalf("release under a new deny: %+v, msNPAllowDialin %q; want it left FALSE for the second block", res.DialIn, read())
	}
	if res, err := other.Release(ctx(t), find(other), "second", false); err != nil || !res.DialIn.Restored || strings.Join(read(), ",") != "TRUE" {
		t.Fatalf("the second block's release: %+v, %v, msNPAllowDialin %q; want TRUE restored", res.DialIn, err, read())
	}
}

// A dial-in write whose answer is lost is run again on a fresh connection, which reads the value the write put
// there: the deny still reports what was there before it, so that the release restores that, and the restore whose
// answer is lost is done, not a value changed by someone else.
func TestDialInWritesWhoseAnswerIsLost(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindUser(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetDialIn(ctx(t), acct, directory.DialInAllow); err != nil { // and a connection to the writer, reused below
		t.Fatal(err)
	}
	l.Directory().LoseModifyReplies(1, false)
	prior, err := c.SetDialIn(ctx(t), acct, directory.DialInDeny)
	if err != nil || prior != directory.DialInAllow {
		t.Fatalf("deny with a lost answer = %q, %v; want the earlier %q", prior, err, directory.DialInAllow)
	}
	l.Directory().LoseModifyReplies(1, false)
	if _, err := c.RestoreDialIn(ctx(t), acct, prior, directory.DialInDeny); err != nil {
		t.Fatalf("restore with a lost answer = %v; want it done", err)
	}
	if e, _ := l.Directory().Lookup("alice"); strings.Join(e.Attributes["msNPAllowDialin"], ",") != string(directory.DialInAllow) {
		t.Errorf("msNPAllowDialin = %v after the restore; want %s", e.Attributes["msNPAllowDialin"], directory.DialInAllow)
	}
}

// A deny that meets another writer's deny between its read and its write is refused by the compare-and-swap and
// finds the deny on a fresh read: what was there before is that deny, not the first read, so that the release of an
// unrecorded block leaves the other writer's deny in place instead of restoring what it replaced.
func TestADenyRacingAnotherDenyReportsItAsThePrior(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindUser(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	setRaw(t, conn, acct.DN, directory.DialInAllow)
	var fired atomic.Bool
	restore := directory.SetBeforeWrite(func(string) {
		if fired.CompareAndSwap(false, true) {
			setRaw(t, conn, acct.DN, directory.DialInDeny) // an administrator denies at that moment
		}
	})
	prior, err := c.SetDialIn(ctx(t), acct, directory.DialInDeny)
	restore()
	if err != nil || !fired.Load() || prior != directory.DialInDeny {
		t.Fatalf("deny racing another deny = %q, %v (the other deny written: %v); want %q", prior, err, fired.Load(), directory.DialInDeny)
	}
}
