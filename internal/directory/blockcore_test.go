package directory_test

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
)

// setAttr writes one string attribute of dn as an administrator would, straight over LDAP ("" removes it).
func setAttr(t *testing.T, conn *ldap.Conn, dn, attr, value string) {
	t.Helper()
	m := ldap.NewModifyRequest(dn, nil)
	if value == "" {
		m.Replace(attr, []string{})
	} else {
		m.Replace(attr, []string{value})
	}
	if err := conn.Modify(m); err != nil {
		t.Fatalf("setting %s of %s: %v", attr, dn, err)
	}
}

// enablesAfterFirstDisable counts the writes that cleared ACCOUNTDISABLE after it was first set.
func enablesAfterFirstDisable(history []uint32) int {
	disabled, n := false, 0
	for _, uac := range history {
		switch {
		case uac&directory.UFAccountDisable != 0:
			disabled = true
		case disabled:
			n++
			disabled = false
		}
	}
	return n
}

func utf16Units(s string) int { return len(utf16.Encode([]rune(s))) }

func hold(id, reason string) directory.Hold {
	return directory.Hold{ID: id, Since: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), By: "svc-" + id, Reason: reason}
}

// An account whose Notes already hold 900 characters, and a reason of 600 emoji: the account is disabled all the same,
// and what could not be recorded is said (attribute and size), never an enabled account.
func TestRecordNeverStopsABlock(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())

	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Repeat("n", 900)
	setAttr(t, conn, acct.DN, "info", notes)
	res, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("full", "INC-9 stolen"), Record: true})
	var tooLong *directory.RecordTooLongError
	if err != nil || !errors.As(res.RecordErr, &tooLong) || tooLong.Attribute != "info" || tooLong.Units <= 1024 ||
		!strings.Contains(res.RecordErr.Error(), "UTF-16") {
		t.Fatalf("Hold on 900 characters of notes = %+v, %v; want the account disabled and RecordErr naming info and its size", res, err)
	}
	if uac, info, _ := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable == 0 || info != notes {
		t.Errorf("after the hold: userAccountControl %#x, notes changed %v; want disabled, notes untouched", uac, info != notes)
	}

	// Notes of 450 astral characters: 450 characters but 900 UTF-16 code units, as the directory counts them.
	other, err := c.FindComputer(ctx(t), "client10")
	if err != nil {
		t.Fatal(err)
	}
	setAttr(t, conn, other.DN, "info", strings.Repeat("😀", 450))
	res, err = c.Hold(ctx(t), other, directory.HoldRequest{Hold: hold("astral", "INC-9"), Record: true})
	if err != nil || !errors.As(res.RecordErr, &tooLong) || tooLong.Units <= 1024 {
		t.Errorf("Hold on 450 astral characters of notes = %+v, %v; want RecordErr with the size in UTF-16 units", res, err)
	}
	if uac, _, _ := labAccount(t, l, "CLIENT10$"); uac&directory.UFAccountDisable == 0 {
		t.Error("CLIENT10 was not disabled")
	}

	user, err := c.FindUser(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	emoji := strings.Repeat("😀", 600)
	res, err = c.Hold(ctx(t), user, directory.HoldRequest{Hold: hold("emoji", emoji), Record: true})
	if err != nil || !res.Recorded || res.RecordErr != nil {
		t.Fatalf("Hold with a reason of 600 emoji = %+v, %v; want disabled and recorded (the reason shortened)", res, err)
	}
	uac, info, descr := labAccount(t, l, "alice")
	if uac&directory.UFAccountDisable == 0 || utf16Units(info) > 1024 || utf16Units(descr) > 1024 || !strings.HasPrefix(descr, "Blocked by") {
		t.Errorf("after the emoji hold: userAccountControl %#x, info %d and description %d UTF-16 units", uac, utf16Units(info), utf16Units(descr))
	}
}

// Two holds, then a helpdesk line typed at the top of the Notes: lifting one hold leaves the account disabled, and
// lifting the last one keeps the helpdesk line and the earlier notes and removes only the block's section.
func TestTextAroundTheRecordIsKeptAndReleaseFindsTheSection(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	setAttr(t, conn, acct.DN, "info", "asset 42")
	setAttr(t, conn, acct.DN, "description", "Finance laptop")
	for _, id := range []string{"teamA", "teamB"} {
		if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold(id, "INC "+id), Record: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, info, _ := labAccount(t, l, "CLIENT1$")
	setAttr(t, conn, acct.DN, "info", "helpdesk: called the owner 10:05\r\n"+info+"\r\nreturned to IT")

	rel, err := c.Release(ctx(t), acct, "teamA", true)
	if err != nil || rel.Enabled {
		t.Fatalf("Release teamA = %+v, %v; want still held by teamB", rel, err)
	}
	uac, info, _ := labAccount(t, l, "CLIENT1$")
	if uac&directory.UFAccountDisable == 0 {
		t.Fatal("lifting one of two holds enabled the account")
	}
	if rec := directory.ParseBlockRecord(info); rec == nil || len(rec.Holds) != 1 || rec.Holds[0].ID != "teamB" ||
		!strings.HasPrefix(info, "helpdesk: called the owner 10:05\r\nasset 42\n") || !strings.HasSuffix(info, "\r\nreturned to IT") {
		t.Errorf("notes after releasing teamA: %q; want the helpdesk lines kept around teamB's hold", info)
	}
	if rel, err := c.Release(ctx(t), acct, "teamB", false); err != nil || !rel.Enabled {
		t.Fatalf("Release teamB = %+v, %v; want enabled", rel, err)
	}
	uac, info, descr := labAccount(t, l, "CLIENT1$")
	if uac&directory.UFAccountDisable != 0 || info != "helpdesk: called the owner 10:05\r\nasset 42\r\nreturned to IT" || descr != "Finance laptop" {
		t.Errorf("after the last release: userAccountControl %#x, notes %q, description %q", uac, info, descr)
	}
	if n := enablesAfterFirstDisable(l.Directory().AccountControlHistory("CLIENT1$")); n != 1 {
		t.Errorf("%d enables; want only the last release's", n)
	}
}

// An administrator's edit of the description during the block stays after the last release; the block restores only
// what it changed.
func TestAdministratorsEditDuringTheBlockStays(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	setAttr(t, conn, acct.DN, "description", "Finance laptop")
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true}); err != nil {
		t.Fatal(err)
	}
	setAttr(t, conn, acct.DN, "description", "Lost at the airport, see INC-1")
	if _, err := c.Release(ctx(t), acct, "a", true); err != nil {
		t.Fatal(err)
	}
	if _, info, descr := labAccount(t, l, "CLIENT1$"); descr != "Lost at the airport, see INC-1" || info != "" {
		t.Errorf("after the release: description %q, notes %q; want the administrator's description kept", descr, info)
	}
}

// description is written by compare-and-swap: a description written by someone else between the block's read and
// its write is not overwritten blindly; it becomes the description the block restores.
func TestDescriptionIsCompareAndSwap(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	setAttr(t, conn, acct.DN, "description", "old")
	var once sync.Once
	restore := directory.SetBeforeWrite(func(dn string) {
		once.Do(func() { setAttr(t, conn, dn, "description", "written meanwhile") })
	})
	_, err = c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true})
	restore()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Release(ctx(t), acct, "a", true); err != nil {
		t.Fatal(err)
	}
	if _, _, descr := labAccount(t, l, "CLIENT1$"); descr != "written meanwhile" {
		t.Errorf("description after the release = %q; want the one written during the block's write", descr)
	}
}

// editedRecord is CLIENT1 held by hold a, whose record an administrator then edited so that it cannot be read.
func editedRecord(t *testing.T) (*lab.Lab, *directory.Client, directory.Account, string) {
	t.Helper()
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true}); err != nil {
		t.Fatal(err)
	}
	_, info, _ := labAccount(t, l, "CLIENT1$")
	edited := strings.Replace(info, "hold id=a", "hold: someone typed here", 1)
	setAttr(t, conn, acct.DN, "info", edited)
	return l, c, acct, edited
}

// A record edited so that it cannot be read: the release changes nothing and says why (fail closed).
func TestUnreadableRecordFailsClosed(t *testing.T) {
	l, c, acct, edited := editedRecord(t)
	_, err := c.Release(ctx(t), acct, "a", true)
	var unreadable *directory.UnreadableRecordError
	if !errors.As(err, &unreadable) || !strings.Contains(err.Error(), "stays disabled") {
		t.Fatalf("Release of an edited record = %v; want an UnreadableRecordError", err)
	}
	if uac, now, _ := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable == 0 || now != edited {
		t.Errorf("after the refused release: userAccountControl %#x, notes changed %v; want nothing changed", uac, now != edited)
	}
}

// A block that leaves the account enabled exists only in the record: where the record cannot be read, its hold is
// refused with an error that says so (and why), and nothing is written.
func TestKeepEnabledHoldOverAnUnreadableRecordIsRefused(t *testing.T) {
	l, c, acct, edited := editedRecord(t)
	keep := hold("keep", "travel")
	keep.KeepsEnabled = true
	_, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: keep, Record: true})
	var unrecordable *directory.UnrecordableBlockError
	if !errors.As(err, &unrecordable) || !strings.Contains(err.Error(), "cannot be read") {
		t.Fatalf("keep-enabled Hold over an edited record = %v; want an UnrecordableBlockError saying the record cannot be read", err)
	}
	if _, now, _ := labAccount(t, l, "CLIENT1$"); now != edited {
		t.Errorf("the refused hold changed the Notes: %q", now)
	}
}

// A block that does not record itself is refused on an account that carries another block's record (it would be
// undone when that one is released); the helper the plan calls says so before.
func TestUnrecordedBlockOfARecordedAccountIsRefused(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("recorded", "INC-1"), Record: true}); err != nil {
		t.Fatal(err)
	}
	_, before, _ := labAccount(t, l, "CLIENT1$")
	_, err = c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("plain", ""), Record: false})
	var others *directory.OtherHoldsError
	if !errors.As(err, &others) || len(others.Holds) != 1 || !strings.Contains(err.Error(), "record_blocks") {
		t.Fatalf("an unrecorded Hold = %v; want an OtherHoldsError naming the recorded hold and the remedy", err)
	}
	if _, after, _ := labAccount(t, l, "CLIENT1$"); after != before {
		t.Error("the refused hold changed the notes")
	}
	found, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	if holds, err := found.HeldByOthers("plain"); err != nil || len(holds) != 1 || holds[0].ID != "recorded" {
		t.Errorf("HeldByOthers = %v, %v; want the recorded hold", holds, err)
	}
}

// A record of the first version (the whole of Notes, starting at line 1) still releases correctly.
func TestFirstVersionRecordStillReleases(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	labclient.SetEnabled(t, l.Info(), "CLIENT1$", false)
	v1 := "remoteaccess-block/v1 prior=enabled\n" +
		`hold id=old1 since=2026-11-30T10:00:00Z by="svc" reason="INC-1"` + "\n" +
		`hold id=old2 since=2026-11-30T11:00:00Z by="svc" reason="INC-2"` + "\n" +
		`prior-info="asset 42"` + "\n" + `prior-description="Finance laptop"`
	setAttr(t, conn, acct.DN, "info", v1)
	setAttr(t, conn, acct.DN, "description", "Blocked by Terraform (remoteaccess) since 2026-11-30 10:00 UTC: INC-1 (by svc) and 1 more")
	if rel, err := c.Release(ctx(t), acct, "old1", false); err != nil || rel.Enabled || len(rel.OtherHolds) != 1 {
		t.Fatalf("Release old1 = %+v, %v; want still held by old2", rel, err)
	}
	if rel, err := c.Release(ctx(t), acct, "old2", false); err != nil || !rel.Enabled {
		t.Fatalf("Release old2 = %+v, %v; want enabled", rel, err)
	}
	if uac, info, descr := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable != 0 || info != "asset 42" {
		t.Errorf("after the last release: userAccountControl %#x, notes %q, description %q", uac, info, descr)
	}
}

// The one-line description carries no line breaks, control characters or bidirectional overrides.
func TestDescriptionIsOneLine(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindUser(ctx(t), "bob")
	if err != nil {
		t.Fatal(err)
	}
	reason := "INC-7\r\nline two\t\u202Egnp.exe\u2066x\u2069\u200F\x07end"
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", reason), Record: true}); err != nil {
		t.Fatal(err)
	}
	_, info, descr := labAccount(t, l, "bob")
	if strings.ContainsAny(descr, "\r\n\t\x07\u202E\u2066\u2069\u200F") || !strings.Contains(descr, "INC-7 line two gnp.exex end") {
		t.Errorf("description %q; want one plain line", descr)
	}
	if rec := directory.ParseBlockRecord(info); rec == nil || rec.Holds[0].Reason != reason {
		t.Errorf("record %+v; want the reason kept exactly in the record", rec)
	}
}

// A modify whose reply is lost (applied, then the connection dropped) is decided again on a fresh read: one hold, no
// duplicate, no orphan. When the account cannot be read back either, the outcome is unknown and said so.
// A disable applied by the directory whose caller gives up before the answer (Ctrl-C, a deadline) is an outcome
// unknown, never a failure that changed nothing: the provider would keep no state of a block that holds the
// account, and its hold line would be orphaned.
func TestAModifyWhoseCallerGaveUpIsAnOutcomeUnknown(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	l.Directory().DelayModifyReplies(10 * time.Second) // far longer than the test takes to give up
	defer l.Directory().DelayModifyReplies(0)
	writes := len(l.Directory().AccountControlHistory("CLIENT1$"))
	giveUp, cancel := context.WithCancel(ctx(t))
	go func() {
		poll.Until(t, "the disable is applied", func() bool { return len(l.Directory().AccountControlHistory("CLIENT1$")) > writes })
		cancel()
	}()
	_, err = c.Hold(giveUp, acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true})
	var unknown *directory.OutcomeUnknownError
	if !errors.As(err, &unknown) {
		t.Errorf("Hold whose caller gave up after the directory applied it = %v; want an OutcomeUnknownError", err)
	}
	if uac, _, _ := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable == 0 {
		t.Errorf("userAccountControl %#x: the lab did not apply the disable, so the test proves nothing", uac)
	}
}

// ldap.timeout bounds a write even when its caller has minutes (a resource's timeouts): a domain controller that
// stalls before it answers a disable ends the hold at the timeout (an outcome unknown once the modify was sent), not
// after a wait as long as the caller's.
func TestTheLDAPTimeoutBoundsAWriteUnderALongerDeadline(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	short := labclient.Directory(t, l.Info(), func(cfg *directory.Config) { cfg.Timeout = time.Second })
	l.Directory().DelayModifyReplies(4 * time.Second)
	defer l.Directory().DelayModifyReplies(0)
	_, err = short.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true}) // ctx(t) has a minute
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hold on a directory that answers after the LDAP timeout = %v; want it ended by the timeout", err)
	}
}

// A release whose answer was lost took the record off and enabled the account; another tool disables the account
// before the release reads it again. The retry sees no record and leaves the account disabled: it never enables an
// account that someone disabled after the block was lifted.
func TestARetriedReleaseDoesNotUndoADisableMadeAfterIt(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true}); err != nil {
		t.Fatal(err)
	}
	l.Directory().LoseModifyReplies(1, false)
	l.Directory().ThenOnLostReply(func() {
		if err := l.Directory().DisableAccount("CLIENT1$"); err != nil {
			t.Error(err)
		}
	})
	if _, err := c.Release(ctx(t), acct, "a", true); err != nil {
		t.Fatalf("Release with a lost reply = %v", err)
	}
	history := l.Directory().AccountControlHistory("CLIENT1$")
	if uac, info, _ := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable == 0 || directory.ParseBlockRecord(info) != nil ||
		len(history) != 3 {
		t.Errorf("userAccountControl %#x (history %v), notes %q; want the release applied once and the later disable kept", uac, history, info)
	}
}

// The same for a block that is not recorded (ldap.record_blocks = false): no record tells the retry that the lost
// release was applied, so the account found disabled is left so, and the release says it (LeftDisabled).
func TestARetriedUnrecordedReleaseDoesNotUndoADisableMadeAfterIt(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1")}); err != nil {
		t.Fatal(err)
	}
	l.Directory().LoseModifyReplies(1, false)
	l.Directory().ThenOnLostReply(func() {
		if err := l.Directory().DisableAccount("CLIENT1$"); err != nil {
			t.Error(err)
		}
	})
	res, err := c.Release(ctx(t), acct, "", true)
	if err != nil || !res.Lifted || !res.LeftDisabled || res.Enabled {
		t.Fatalf("Release with a lost reply = %+v, %v; want it lifted, the account left disabled", res, err)
	}
	if uac, _, _ := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable == 0 || len(l.Directory().AccountControlHistory("CLIENT1$")) != 3 {
		t.Errorf("userAccountControl %#x (history %v); want the release applied once and the later disable kept", uac,
			l.Directory().AccountControlHistory("CLIENT1$"))
	}
}

// The same when a block that keeps the account enabled (remote access only) stays in the record: the lost release
// enabled the account for it, and the retry that finds it disabled again says that it leaves it so.
func TestARetriedReleaseUnderAKeepsEnabledBlockSaysItLeavesTheAccountDisabled(t *testing.T) {
	l, c := startDirectoryLab(t)
	find := func() directory.Account {
		acct, err := c.FindComputer(ctx(t), "client1")
		if err != nil {
			t.Fatal(err)
		}
		return acct
	}
	if _, err := c.Hold(ctx(t), find(), directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true}); err != nil {
		t.Fatal(err)
	}
	keeps := hold("b", "INC-2")
	keeps.KeepsEnabled = true
	if _, err := c.Hold(ctx(t), find(), directory.HoldRequest{Hold: keeps, Record: true}); err != nil {
		t.Fatal(err)
	}
	l.Directory().LoseModifyReplies(1, false)
	l.Directory().ThenOnLostReply(func() {
		if err := l.Directory().DisableAccount("CLIENT1$"); err != nil {
			t.Error(err)
		}
	})
	res, err := c.Release(ctx(t), find(), "a", true)
	if err != nil || !res.Lifted || !res.LeftDisabled || res.Enabled || len(res.OtherHolds) != 1 {
		t.Errorf("Release with a lost reply under a block that keeps the account enabled = %+v, %v; want it lifted, "+
			"left disabled, the other block still there", res, err)
	}
}

// ReleaseAgain, the release of a destroy run again after its release's answer was lost, takes an account without a
// block record for released by that release: it leaves it as it is, enabled or disabled. A hold still in the record
// was not released, and is released as by Release.
func TestReleaseAgainLeavesAnAccountWithoutItsHoldAsItIs(t *testing.T) {
	l, c := startDirectoryLab(t)
	find := func(name string) directory.Account {
		t.Helper()
		acct, err := c.FindComputer(ctx(t), name)
		if err != nil {
			t.Fatal(err)
		}
		return acct
	}
	if _, err := c.Hold(ctx(t), find("client1"), directory.HoldRequest{Hold: hold("a", "INC-1")}); err != nil {
		t.Fatal(err)
	}
	writes := len(l.Directory().AccountControlHistory("CLIENT1$"))
	res, err := c.ReleaseAgain(ctx(t), find("client1"), "", true)
	if err != nil || !res.Lifted || !res.LeftDisabled || res.Enabled || len(l.Directory().AccountControlHistory("CLIENT1$")) != writes {
		t.Errorf("ReleaseAgain of an unrecorded block on a disabled account = %+v, %v (%d writes); want it left disabled, nothing written",
			res, err, len(l.Directory().AccountControlHistory("CLIENT1$"))-writes)
	}
	if _, err := c.Hold(ctx(t), find("client2"), directory.HoldRequest{Hold: hold("b", "INC-2"), Record: true}); err != nil {
		t.Fatal(err)
	}
	res, err = c.ReleaseAgain(ctx(t), find("client2"), "b", true)
	if uac, info, _ := labAccount(t, l, "CLIENT2$"); err != nil || res.Lifted || !res.Enabled || uac&directory.UFAccountDisable != 0 ||
		directory.ParseBlockRecord(info) != nil {
		t.Errorf("ReleaseAgain of a hold still recorded = %+v, %v (userAccountControl %#x, notes %q); want it released and the account enabled",
			res, err, uac, info)
	}
}

// A domain controller that answers a disable with busy did nothing: the hold is written again after a pause, with its
// record (the record was not what the directory refused); one that stays busy fails the hold as a write that did
// not happen, not as an outcome unknown, and leaves the account as it was.
func TestABusyDirectoryIsWrittenAgainAndNeverCostsTheRecord(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	l.Directory().RefuseModifiesAsBusy(2)
	res, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true})
	if err != nil || !res.Recorded || res.RecordErr != nil {
		t.Fatalf("Hold on a directory busy twice = %+v, %v; want it held with its record", res, err)
	}
	if _, err := c.Release(ctx(t), acct, "a", true); err != nil {
		t.Fatal(err)
	}
	before := len(l.Directory().AccountControlHistory("CLIENT1$"))
	l.Directory().RefuseModifiesAsBusy(100)
	defer l.Directory().RefuseModifiesAsBusy(0)
	_, err = c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("b", "INC-2"), Record: true})
	var unknown *directory.OutcomeUnknownError
	if err == nil || errors.As(err, &unknown) || !strings.Contains(err.Error(), "busy") {
		t.Errorf("Hold on a directory that stays busy = %v; want a failure that says busy and nothing written", err)
	}
	if n := len(l.Directory().AccountControlHistory("CLIENT1$")); n != before {
		t.Errorf("userAccountControl written %d times by a hold the directory refused", n-before)
	}
}

func TestLostModifyReply(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	l.Directory().LoseModifyReplies(1, false)
	res, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true})
	if err != nil || !res.Recorded {
		t.Fatalf("Hold with a lost reply = %+v, %v; want it recognised as done", res, err)
	}
	uac, info, _ := labAccount(t, l, "CLIENT1$")
	if rec := directory.ParseBlockRecord(info); uac&directory.UFAccountDisable == 0 || rec == nil || len(rec.Holds) != 1 {
		t.Fatalf("after the lost reply: userAccountControl %#x, record %+v; want disabled with one hold", uac, rec)
	}
	writes := len(l.Directory().AccountControlHistory("CLIENT1$"))

	l.Directory().LoseModifyReplies(1, true)
	_, err = c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("b", "INC-2"), Record: true})
	var unknown *directory.OutcomeUnknownError
	if !errors.As(err, &unknown) || !strings.Contains(err.Error(), "not known") {
		t.Fatalf("Hold with a lost reply and no read back = %v; want an OutcomeUnknownError", err)
	}
	l.Directory().SetReachable()
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("b", "INC-2"), Record: true}); err != nil {
		t.Fatal(err)
	}
	_, info, _ = labAccount(t, l, "CLIENT1$")
	if rec := directory.ParseBlockRecord(info); rec == nil || strings.Join(rec.HoldIDs(), ",") != "a,b" {
		t.Errorf("holds after the retry: %+v; want a and b once each", rec)
	}

	l.Directory().LoseModifyReplies(1, false)
	if _, err := c.Release(ctx(t), acct, "a", true); err != nil {
		t.Fatalf("Release with a lost reply = %v", err)
	}
	_, info, _ = labAccount(t, l, "CLIENT1$")
	if rec := directory.ParseBlockRecord(info); rec == nil || strings.Join(rec.HoldIDs(), ",") != "b" {
		t.Errorf("holds after the release: %+v; want b", rec)
	}
	if n := enablesAfterFirstDisable(l.Directory().AccountControlHistory("CLIENT1$")); n != 0 || writes != 1 {
		t.Errorf("%d enables, %d writes of userAccountControl for the first hold; want 0 and 1", n, writes)
	}
}

// A block whose account is no longer under the search base is still found by objectGUID, in the whole domain.
func TestFindByGUIDOutsideTheSearchBase(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	narrow := labclient.Directory(t, l.Info(), func(cfg *directory.Config) { cfg.BaseDN = "OU=Staff," + l.Info().BaseDN })
	got, err := narrow.FindByGUID(ctx(t), directory.KindComputer, acct.ObjectGUID)
	if err != nil || got.DN != acct.DN {
		t.Errorf("FindByGUID outside the base = %s, %v; want %s", got.DN, err, acct.DN)
	}
	if _, err := narrow.FindByGUID(ctx(t), directory.KindComputer, "00000000-0000-0000-0000-0000000000aa"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("FindByGUID of no account = %v; want ErrNotFound", err)
	}
}

// A user whose primary group is a protected group, or a group nested in one, is refused: memberOf never lists the
// primary group, and LDAP_MATCHING_RULE_IN_CHAIN does not follow it.
func TestPrimaryGroupMembershipIsPrivileged(t *testing.T) {
	l, c := startDirectoryLab(t)
	d := l.Directory()
	refused := func(want string) {
		t.Helper()
		acct, err := c.FindUser(ctx(t), "mallory")
		if err != nil {
			t.Fatal(err)
		}
		err = c.Guard(acct, directory.GuardOptions{})
		var guard *directory.GuardError
		if !errors.As(err, &guard) || !strings.Contains(guard.Reason, want) {
			t.Errorf("Guard of mallory with primaryGroupID %d = %v; want a GuardError saying %q", acct.PrimaryGroupID, err, want)
		}
		if err := c.Guard(acct, directory.GuardOptions{AllowPrivileged: true}); err != nil {
			t.Errorf("Guard with allow_privileged: %v", err)
		}
	}
	if err := d.SetAttribute("mallory", "primaryGroupID", "512"); err != nil {
		t.Fatal(err)
	}
	refused("its primary group is a protected group (primaryGroupID 512)")

	if err := d.AddGroups(ldapserver.Group{Name: "Tier0 Operators", Container: "OU=Groups"}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddMember("Domain Admins", "Tier0 Operators"); err != nil {
		t.Fatal(err)
	}
	group, ok := d.Lookup("Tier0 Operators")
	if !ok || len(group.Attributes["objectSid"]) != 1 || len(group.Attributes["objectSid"][0]) < 12 {
		t.Fatalf("Tier0 Operators: %+v", group)
	}
	sid := []byte(group.Attributes["objectSid"][0])
	rid := binary.LittleEndian.Uint32(sid[len(sid)-4:])
	if err := d.SetAttribute("mallory", "primaryGroupID", strconv.FormatUint(uint64(rid), 10)); err != nil {
		t.Fatal(err)
	}
	refused("protected group CN=Domain Admins,")
}

// A member of Domain Admins through a nested group is refused, although adminCount is not set.
func TestNestedPrivilegedMemberIsRefused(t *testing.T) {
	l, c := startDirectoryLab(t)
	d := l.Directory()
	if err := d.AddGroups(ldapserver.Group{Name: "Tier0 Operators", Container: "OU=Groups", Members: []string{"mallory"}}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddGroups(ldapserver.Group{Name: "Tier0 Parent", Container: "OU=Groups", Members: []string{"Tier0 Operators"}}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddMember("Domain Admins", "Tier0 Parent"); err != nil {
		t.Fatal(err)
	}
	acct, err := c.FindUser(ctx(t), "mallory")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(acct.PrivilegedVia, "CN=Domain Admins,") {
		t.Errorf("PrivilegedVia = %q; want Domain Admins", acct.PrivilegedVia)
	}
	_, err = c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true})
	var guard *directory.GuardError
	if !errors.As(err, &guard) || !strings.Contains(guard.Reason, "Domain Admins") {
		t.Fatalf("Hold of a nested Domain Admin = %v; want a GuardError naming the group", err)
	}
	if uac, _, _ := labAccount(t, l, "mallory"); uac&directory.UFAccountDisable != 0 {
		t.Error("the nested Domain Admin was disabled")
	}
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("a", "INC-1"), Record: true,
		Guard: directory.GuardOptions{AllowPrivileged: true}}); err != nil {
		t.Errorf("Hold with AllowPrivileged = %v", err)
	}
}

// seedPath is the lab's seed, for tests that run directories of their own.
func seedPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "lab", "testdata", "seed.json")
}

// twoControllers starts the lab's directory as two domain controllers, DC1 the PDC emulator, not replicating until
// a test says so.
func twoControllers(t *testing.T) (dc1, dc2 *ldapserver.Directory) {
	t.Helper()
	seed, err := ldapserver.LoadSeed(seedPath())
	if err != nil {
		t.Fatal(err)
	}
	if dc1, err = ldapserver.New(seed); err != nil {
		t.Fatal(err)
	}
	dc2, err = dc1.Peer("DC2")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*ldapserver.Directory{dc1, dc2} {
		if err := d.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
	}
	return dc1, dc2
}

// Two teams whose ldap.urls list the domain controllers in different orders both block one account before
// replication: their writes go to the PDC emulator, so after replication both holds are there on both controllers.
func TestTwoTeamsWithDifferentURLOrdersLoseNoHold(t *testing.T) {
	dc1, dc2 := twoControllers(t)
	admin := dc1.AdminCredentials()
	team := func(urls ...string) *directory.Client {
		c, err := directory.New(directory.Config{URLs: urls, CACertPEM: dc1.CACertPEM(), BindUsername: admin.UPN,
			BindPassword: admin.Password, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a, b := team(dc1.LDAPSURL(), dc2.LDAPSURL()), team(dc2.LDAPSURL(), dc1.LDAPSURL())
	if w, err := b.Writer(ctx(t)); err != nil || !strings.Contains(dc1.LDAPSURL(), strings.TrimPrefix(w, "ldaps://")) {
		t.Errorf("team B writes to %s, %v; want the PDC emulator %s", w, err, dc1.LDAPSURL())
	}
	for _, tc := range []struct {
		c  *directory.Client
		id string
	}{{a, "teamA"}, {b, "teamB"}} {
		acct, err := tc.c.FindComputer(ctx(t), "client1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tc.c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold(tc.id, "INC "+tc.id), Record: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ldapserver.Replicate(dc1, dc2); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*ldapserver.Directory{dc1, dc2} {
		e, _ := d.Lookup("CLIENT1$")
		rec := directory.ParseBlockRecord(strings.Join(e.Attributes["info"], ""))
		if rec == nil || strings.Join(rec.HoldIDs(), ",") != "teamA,teamB" {
			t.Errorf("%s after replication: record %+v; want both teams' holds", d.DNSHostName(), rec)
		}
	}
	acct, err := a.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := a.Release(ctx(t), acct, "teamA", true); err != nil || rel.Enabled {
		t.Errorf("releasing team A's hold = %+v, %v; want the account still held by team B", rel, err)
	}
}

// Texts shortened as the block shortens them fit the directory's limit of 1,024 UTF-16 code units, astral characters
// included, and those that fit are kept whole.
func TestShortenedTextsFitTheDirectory(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	const astral = "😀"
	for value, fits := range map[string]bool{
		strings.Repeat("a", 1024): true, strings.Repeat(astral, 512): true,
		strings.Repeat("a", 1023) + astral: false, strings.Repeat(astral, 513): false,
	} {
		short := directory.TruncateUTF16(value, 1024)
		m := ldap.NewModifyRequest(acct.DN, nil)
		m.Replace("description", []string{short})
		if err := conn.Modify(m); err != nil || (fits && short != value) || utf16Units(short) > 1024 {
			t.Errorf("%d units shortened to %d: %v (kept whole: %v)", utf16Units(value), utf16Units(short), err, short == value)
		}
	}
}

// A deleted account (a tombstone) is ErrDeleted by objectGUID, which is ErrNotFound too: nothing is left to change.
func TestFindByGUIDOfADeletedAccount(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Directory().Delete("CLIENT1$"); err != nil {
		t.Fatal(err)
	}
	_, err = c.FindByGUID(ctx(t), directory.KindComputer, acct.ObjectGUID)
	if !errors.Is(err, directory.ErrDeleted) || !errors.Is(err, directory.ErrNotFound) || !strings.Contains(err.Error(), acct.ObjectGUID) {
		t.Errorf("FindByGUID of a deleted computer = %v; want ErrDeleted (and ErrNotFound) naming the GUID", err)
	}
	if _, err := c.FindComputer(ctx(t), "client1"); !errors.Is(err, directory.ErrNotFound) || errors.Is(err, directory.ErrDeleted) {
		t.Errorf("FindComputer of a deleted computer = %v; want ErrNotFound", err)
	}
	if _, err := c.Release(ctx(t), acct, "h1", true); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Release on a deleted computer = %v; want ErrNotFound", err)
	}
}

// A second block whose hold does not fit in the record beside the first one's is refused, never placed unrecorded:
// unrecorded, it would be undone when the first block is released (the record would say no block holds the account).
func TestRecordThatCannotTakeTheHoldStillBlocks(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("first", "INC-1"), Record: true}); err != nil {
		t.Fatal(err)
	}
	_, info, _ := labAccount(t, l, "CLIENT1$")
	full := strings.Repeat("n", 1000-utf16Units(info)) + "\n" + info // a hold line more does not fit in 1024 units
	setAttr(t, conn, acct.DN, "info", full)
	// An administrator enabled the account meanwhile: the second block must disable it, record or not.
	setAttr(t, conn, acct.DN, "userAccountControl", "4096")

	res, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold("second", "INC-2"), Record: true})
	if err != nil {
		t.Fatalf("Hold that does not fit beside another hold = %v; a record must never stop a block", err)
	}
	var others *directory.OtherHoldsError
	var tooLong *directory.RecordTooLongError
	if res.Recorded || !errors.As(res.RecordErr, &others) || len(others.Holds) != 1 || others.Holds[0].ID != "first" ||
		!errors.As(res.RecordErr, &tooLong) || !strings.Contains(res.RecordErr.Error(), "releasing those blocks enables it") {
		t.Fatalf("RecordErr = %v; want an OtherHoldsError naming the first hold, the size, and what releasing it does", res.RecordErr)
	}
	if uac, now, _ := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable == 0 || now != full {
		t.Errorf("after the unrecorded hold: userAccountControl %#x, notes changed %v; want disabled, notes untouched",
			uac, now != full)
	}
}

// A record whose lines an administrator indented no longer reads as a section: the release must not take the record
// for plain notes (no holds, enable by the state) but fail closed and leave the account disabled.
func TestEditedSectionLineFailsClosed(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold(id, "INC-"+id), Record: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, info, _ := labAccount(t, l, "CLIENT1$")
	edited := "  " + strings.ReplaceAll(info, "\n", "\n  ")
	setAttr(t, conn, acct.DN, "info", edited)
	_, err = c.Release(ctx(t), acct, "a", true)
	var unreadable *directory.UnreadableRecordError
	if !errors.As(err, &unreadable) {
		t.Errorf("Release of an indented record = %v; want an UnreadableRecordError", err)
	}
	if uac, now, _ := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable == 0 || now != edited {
		t.Errorf("after the release: userAccountControl %#x, notes changed %v; want disabled (hold b remains), notes as edited",
			uac, now != edited)
	}
}

// Every edit that leaves a line naming the record outside a readable section makes the record unreadable.
func TestStrayRecordLinesAreUnreadable(t *testing.T) {
	section := "-----BEGIN remoteaccess-block/v2-----\nprior=enabled\nhold id=a since=2026-12-01T09:00:00Z by=\"x\" reason=\"\"\n" +
		"-----END remoteaccess-block/v2-----"
	for name, info := range map[string]string{
		"begin line with a trailing space": strings.Replace(section, "v2-----\n", "v2----- \n", 1),
		"end line indented":                strings.Replace(section, "\n-----END", "\n\t-----END", 1),
		"end line twice":                   section + "\n-----END remoteaccess-block/v2-----",
		"first version below other notes":  "asset 42\nremoteaccess-block/v1 prior=enabled\nhold id=a since=2026-12-01T09:00:00Z",
	} {
		if rec, err := directory.ReadBlockRecord(info); rec != nil || err == nil {
			t.Errorf("%s: ReadBlockRecord = %+v, %v; want an UnreadableRecordError", name, rec, err)
		}
	}
	if rec, err := directory.ReadBlockRecord("asset 42\n" + section + "\nreturned to IT"); err != nil || rec == nil {
		t.Errorf("a section between notes = %+v, %v; want it read", rec, err)
	}
}

// A team whose ldap.urls list another controller first still writes msNPAllowDialin on the PDC emulator, where every
// block write goes: its compare-and-swap and a release's read then see the same value.
func TestDialInIsWrittenOnThePDCEmulator(t *testing.T) {
	dc1, dc2 := twoControllers(t)
	admin := dc1.AdminCredentials()
	c, err := directory.New(directory.Config{URLs: []string{dc2.LDAPSURL(), dc1.LDAPSURL()}, CACertPEM: dc1.CACertPEM(),
		BindUsername: admin.UPN, BindPassword: admin.Password, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	acct, err := c.FindUser(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetDialIn(ctx(t), acct, directory.DialInDeny); err != nil {
		t.Fatal(err)
	}
	e, _ := dc1.Lookup("alice")
	if got := e.Attributes["msNPAllowDialin"]; strings.Join(got, ",") != "FALSE" {
		t.Errorf("the PDC emulator (DC1) holds msNPAllowDialin %q before replication; want FALSE", got)
	}
}

// A hold id the record could not read back as written (empty, or with a space that splits the hold line) is refused
// before anything changes: its release would not find it, or the whole record would become unreadable.
func TestHoldIDThatTheRecordCannotCarryIsRefused(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "a b", `a"b`, "a\nprior=enabled"} {
		_, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold(id, "INC-1"), Record: true})
		var invalid *directory.ValidationError
		if !errors.As(err, &invalid) {
			t.Errorf("Hold with id %q = %v; want a ValidationError", id, err)
		}
	}
	if uac, info, _ := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable != 0 || info != "" {
		t.Errorf("after the refused holds: userAccountControl %#x, notes %q; want nothing changed", uac, info)
	}
}
