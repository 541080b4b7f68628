package directory_test

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

// labAccount reads an account's userAccountControl, notes and description straight from the lab's directory.
func labAccount(t *testing.T, l *lab.Lab, sam string) (uac uint32, info, description string) {
	t.Helper()
	e, ok := l.Directory().Lookup(sam)
	if !ok {
		t.Fatalf("%s is not in the lab's directory", sam)
	}
	first := func(attr string) string {
		if v := e.Attributes[attr]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	n, err := strconv.ParseInt(first("userAccountControl"), 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(int32(n)), first("info"), first("description") //nolint:gosec // signed on the wire
}

// startDirectoryLab starts a lab and a client of its directory, with the client's configuration changed by mutate.
func startDirectoryLab(t *testing.T, mutate ...func(*directory.Config)) (*lab.Lab, *directory.Client) {
	t.Helper()
	l, err := lab.Start(lab.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, labclient.Directory(t, l.Info(), mutate...)
}

// Two blocks on one account do not undo each other, and the last one released restores the account, its notes and
// its description as the first one found them.
func TestHoldsNestAndRestore(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	notes := ldap.NewModifyRequest(acct.DN, nil)
	notes.Add("info", []string{"asset 42"})
	notes.Replace("description", []string{"Finance laptop"})
	if err := conn.Modify(notes); err != nil {
		t.Fatal(err)
	}
	uacBefore, _, _ := labAccount(t, l, "CLIENT1$")
	since := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	holdA := directory.Hold{ID: "aaaa1111", Since: since, By: "svc-a", Reason: "INC-1 stolen"}
	holdB := directory.Hold{ID: "bbbb2222", Since: since.Add(time.Hour), By: "svc-b", Reason: "team B"}

	res, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: holdA, Record: true})
	if err != nil || !res.PriorEnabled || !res.Recorded {
		t.Fatalf("Hold A = %+v, %v; want prior enabled, recorded", res, err)
	}
	// Placing the same hold again (a retried apply) changes nothing.
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: holdA, Record: true}); err != nil {
		t.Fatal(err)
	}
	uac, info, descr := labAccount(t, l, "CLIENT1$")
	if uac != uacBefore|directory.UFAccountDisable {
		t.Errorf("after hold A: userAccountControl %#x; want %#x", uac, uacBefore|directory.UFAccountDisable)
	}
	rec := directory.ParseBlockRecord(info)
	if rec == nil || !rec.PriorEnabled || len(rec.Holds) != 1 || !reflect.DeepEqual(rec.Holds[0], holdA) || !strings.HasPrefix(info, "asset 42\n") ||
		rec.PriorDescription != "Finance laptop" {
		t.Errorf("record after hold A = %+v (info %q)", rec, info)
	}
	if !strings.Contains(descr, "Blocked by Terraform") || !strings.Contains(descr, "INC-1 stolen") || !strings.Contains(descr, "svc-a") {
		t.Errorf("description after hold A = %q; want who, why and when", descr)
	}

	// Team B blocks the disabled account: the state before the first block is what it records.
	res, err = c.Hold(ctx(t), acct, directory.HoldRequest{Hold: holdB, Record: true})
	if err != nil || !res.PriorEnabled {
		t.Fatalf("Hold B = %+v, %v; want the recorded prior state (enabled)", res, err)
	}
	rel, err := c.Release(ctx(t), acct, holdA.ID, true)
	if err != nil || rel.Enabled || len(rel.OtherHolds) != 1 || rel.OtherHolds[0].ID != holdB.ID {
		t.Fatalf("Release A = %+v, %v; want still held by B", rel, err)
	}
	if uac, _, _ := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable == 0 {
		t.Fatal("releasing A enabled the account while B holds it")
	}
	rel, err = c.Release(ctx(t), acct, holdB.ID, false)
	if err != nil || !rel.Enabled || len(rel.OtherHolds) != 0 {
		t.Fatalf("Release B = %+v, %v; want enabled again", rel, err)
	}
	uac, info, descr = labAccount(t, l, "CLIENT1$")
	if uac != uacBefore || info != "asset 42" || descr != "Finance laptop" {
		t.Errorf("after the last release: userAccountControl %#x, info %q, description %q; want %#x, the notes and description from before",
			uac, info, descr, uacBefore)
	}
}

// An account that was disabled before the first block stays disabled after the last one.
func TestHoldOnDisabledAccountKeepsItDisabled(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	labclient.SetEnabled(t, l.Info(), "CLIENT1$", false)
	res, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: directory.Hold{ID: "h1", Since: time.Now()}, Record: true})
	if err != nil || res.PriorEnabled {
		t.Fatalf("Hold = %+v, %v; want prior disabled", res, err)
	}
	// wasEnabled from state is ignored when the directory holds a record: the record knows better.
	rel, err := c.Release(ctx(t), acct, "h1", true)
	if err != nil || rel.Enabled {
		t.Fatalf("Release = %+v, %v; want the account left disabled", rel, err)
	}
	if uac, info, _ := labAccount(t, l, "CLIENT1$"); uac&directory.UFAccountDisable == 0 || info != "" {
		t.Errorf("after release: userAccountControl %#x, info %q; want disabled and no record", uac, info)
	}
}

// Another writer changes another bit of userAccountControl between the read and the write of a block: the
// directory refuses the stale compare-and-swap (as Windows does, unlike Samba: internal/lab/WINDOWS.md, Active Directory), the client reads
// again, and neither change is lost.
func TestConcurrentChangeOfAnotherBitIsNotLost(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	const dontExpirePassword = 0x10000
	before, _, _ := labAccount(t, l, "CLIENT1$")
	interfered := 0
	restore := directory.SetBeforeWrite(func(dn string) {
		if interfered > 0 {
			return
		}
		interfered++
		other := ldap.NewModifyRequest(dn, nil)
		other.Replace("userAccountControl", []string{strconv.Itoa(int(before | dontExpirePassword))})
		if err := conn.Modify(other); err != nil {
			t.Errorf("the other writer: %v", err)
		}
	})
	defer restore()
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: directory.Hold{ID: "h1", Since: time.Now()}, Record: true}); err != nil {
		t.Fatal(err)
	}
	if interfered != 1 {
		t.Fatalf("the other writer ran %d times; want 1", interfered)
	}
	want := before | dontExpirePassword | directory.UFAccountDisable
	if uac, _, _ := labAccount(t, l, "CLIENT1$"); uac != want {
		t.Errorf("userAccountControl %#x; want %#x (the block and the other writer's bit)", uac, want)
	}
}

// The record survives odd reasons and parses back to what was written.
func TestBlockRecordRoundTrip(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindUser(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	hold := directory.Hold{ID: "x1", Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), By: `CORP\svc "ra"`,
		Reason: "line one\nline two id=fake since=now `$(whoami)` ünïcode"}
	if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: hold, Record: true}); err != nil {
		t.Fatal(err)
	}
	_, info, _ := labAccount(t, l, "alice")
	rec := directory.ParseBlockRecord(info)
	if rec == nil || len(rec.Holds) != 1 || !reflect.DeepEqual(rec.Holds[0], hold) {
		t.Fatalf("parsed record %+v from %q; want the hold %+v", rec, info, hold)
	}
}

// An account that changes before every write: the block gives up after its attempts with the directory's refusal in
// the error (an operator sees why), and the account is left as the other writer set it.
func TestAccountThatKeepsChangingNamesTheRefusal(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	defer directory.SetBeforeWrite(func(dn string) {
		n++
		other := ldap.NewModifyRequest(dn, nil)
		other.Replace("userAccountControl", []string{strconv.Itoa(0x1000 | n<<16)})
		if err := conn.Modify(other); err != nil {
			t.Errorf("the other writer: %v", err)
		}
	})()
	_, err = c.Hold(ctx(t), acct, directory.HoldRequest{Hold: directory.Hold{ID: "h1", Since: time.Now()}, Record: true})
	var refusal *ldap.Error
	if !errors.As(err, &refusal) || !strings.Contains(err.Error(), "kept changing") {
		t.Errorf("Hold on an account that keeps changing = %v; want the directory's refusal named", err)
	}
	if uac, _, _ := labAccount(t, l, "CLIENT1$"); uac != uint32(0x1000|n<<16) {
		t.Errorf("userAccountControl %#x; want the other writer's %#x", uac, 0x1000|n<<16)
	}
}

// A hold line says which certificates its block holds: unknown (no certs=) when the hold is placed without them, as
// records written before they were recorded are read; then the serials, none, and unknown again, each read back from
// the directory. Nothing else of the record changes, and a serial that would not read back is refused.
func TestRecordCertificatesRoundTrip(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "CLIENT2")
	if err != nil {
		t.Fatal(err)
	}
	hold := directory.Hold{ID: "c1", Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), By: "svc", Reason: "lost"}
	other := directory.Hold{ID: "c2", Since: hold.Since, By: "svc", Reason: "second", Certificates: []string{}}
	for _, h := range []directory.Hold{hold, other} {
		if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: h, Record: true}); err != nil {
			t.Fatal(err)
		}
	}
	read := func() (uint32, []directory.Hold) {
		t.Helper()
		uac, info, _ := labAccount(t, l, "CLIENT2$")
		rec, err := directory.ReadBlockRecord(info)
		if err != nil || rec == nil || len(rec.Holds) != 2 {
			t.Fatalf("record %+v, %v from %q", rec, err, info)
		}
		return uac, rec.Holds
	}
	uac, holds := read()
	if holds[0].Certificates != nil || holds[1].Certificates == nil || len(holds[1].Certificates) != 0 {
		t.Fatalf("certificates %#v and %#v; want unknown (nil) and none", holds[0].Certificates, holds[1].Certificates)
	}
	for _, want := range [][]string{{"1A2B3C", "4d5e"}, {}, nil} {
		if err := c.RecordCertificates(ctx(t), acct, "c1", want); err != nil {
			t.Fatal(err)
		}
		u, got := read()
		if !reflect.DeepEqual(got[0].Certificates, want) || u != uac || !reflect.DeepEqual(got[1], holds[1]) {
			t.Fatalf("recorded %#v: read back %#v, the other hold %+v, userAccountControl %#x (was %#x)", want, got[0].Certificates, got[1], u, uac)
		}
	}
	var invalid *directory.ValidationError
	if err := c.RecordCertificates(ctx(t), acct, "c1", []string{`1A" reason="x`}); !errors.As(err, &invalid) {
		t.Errorf("a serial with a quote: %v; want a validation error", err)
	}
	if err := c.RecordCertificates(ctx(t), acct, "absent", []string{"1A"}); err != nil {
		t.Errorf("a hold not in the record: %v; want nothing changed", err)
	}
	if _, holds := read(); holds[0].Certificates != nil {
		t.Errorf("a refused or misdirected record changed the hold line: %#v", holds[0].Certificates)
	}
}

// A certs= list typed or tidied by hand reads as the serials it names, whatever commas and spaces separate them; a
// list with anything else in it makes the record unreadable (a release then changes nothing), never a serial misread.
func TestHoldLineCertsAsTypedByHand(t *testing.T) {
	record := func(certs string) string {
		return "-----BEGIN remoteaccess-block/v2-----\nprior=enabled\nhold id=h1 since=2026-01-02T03:04:05Z by=\"svc\" certs=" +
			certs + " reason=\"lost\"\n-----END remoteaccess-block/v2-----"
	}
	for certs, want := range map[string][]string{
		`"1A2B,3C4D"`: {"1A2B", "3C4D"}, `"1A2B, 3C4D"`: {"1A2B", "3C4D"}, `" 1A2B 3C4D "`: {"1A2B", "3C4D"},
		`"1A2B,,3c4d,"`: {"1A2B", "3c4d"}, `""`: {}, `1A2B,3C4D`: {"1A2B", "3C4D"},
	} {
		rec, err := directory.ReadBlockRecord(record(certs))
		if err != nil || rec == nil || !reflect.DeepEqual(rec.Holds[0].Certificates, want) {
			t.Errorf("certs=%s: read %+v, %v; want %q", certs, rec, err, want)
		}
	}
	for _, certs := range []string{`"1A2B;3C4D"`, `"1A2B/3C4D"`, `"1A2B-3C4D"`} {
		var unreadable *directory.UnreadableRecordError
		if rec, err := directory.ReadBlockRecord(record(certs)); !errors.As(err, &unreadable) {
			t.Errorf("certs=%s: read %+v, %v; want the record unreadable", certs, rec, err)
		}
	}
}

// A block's hold is recorded even where the other blocks' lists of certificates leave no room for it in the Notes:
// the lists give way (each line then says "may hold any", which keeps every certificate on hold for it), since a hold
// left out of the record would let the other blocks' releases enable the account under it. A list that would fit
// only by forgetting the others is refused, and the record stays as it was.
func TestCertificateListsGiveWayToAHold(t *testing.T) {
	l, c := startDirectoryLab(t)
	conn := labclient.LDAP(t, l.Info())
	acct, err := c.FindComputer(ctx(t), "CLIENT2")
	if err != nil {
		t.Fatal(err)
	}
	setAttr(t, conn, acct.DN, "info", strings.Repeat("asset register entry. ", 15))
	serials := func(b byte) []string {
		out := make([]string, 4)
		for i := range out {
			out[i] = strings.Repeat(string(rune(b+byte(i))), 38) // the length of an AD CS serial
		}
		return out
	}
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, id := range []string{"aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"} {
		acct, err = c.FindComputer(ctx(t), "CLIENT2")
		if err != nil {
			t.Fatal(err)
		}
		h := directory.Hold{ID: id, Since: since, By: "svc-remoteaccess@corp.example", Reason: "lost", KeepsEnabled: true}
		if res, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: h, Record: true}); err != nil || !res.Recorded {
			t.Fatalf("hold %s: %+v, %v", id, res, err)
		}
		if err := c.RecordCertificates(ctx(t), acct, id, serials(byte('A'+4*i))); err != nil {
			t.Fatalf("certificates of %s: %v", id, err)
		}
	}
	acct, err = c.FindComputer(ctx(t), "CLIENT2")
	if err != nil {
		t.Fatal(err)
	}
	plain := directory.Hold{ID: "cccccccccccccccc", Since: since, By: "svc-remoteaccess@corp.example", Reason: "stolen", Certificates: []string{}}
	res, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: plain, Record: true})
	if err != nil || !res.Recorded {
		t.Fatalf("the third hold: %+v, %v; want it recorded", res, err)
	}
	read := func() []directory.Hold {
		t.Helper()
		_, info, _ := labAccount(t, l, "CLIENT2$")
		rec, err := directory.ReadBlockRecord(info)
		if err != nil || rec == nil || len(rec.Holds) != 3 {
			t.Fatalf("record %+v, %v from %q", rec, err, info)
		}
		return rec.Holds
	}
	holds := read()
	for _, h := range holds {
		if h.Certificates != nil {
			t.Errorf("hold %s still lists %q; want every list given way (unknown)", h.ID, h.Certificates)
		}
	}
	if err := c.RecordCertificates(ctx(t), res.Account, "aaaaaaaaaaaaaaaa", serials('A')); err != nil {
		t.Fatalf("one list, which fits beside the three lines: %v", err)
	}
	holds = read()
	var tooLong *directory.RecordTooLongError
	if err := c.RecordCertificates(ctx(t), res.Account, "bbbbbbbbbbbbbbbb", serials('E')); !errors.As(err, &tooLong) {
		t.Errorf("a list that fits only by forgetting the other: %v; want RecordTooLongError", err)
	}
	if got := read(); !reflect.DeepEqual(got, holds) || len(got[0].Certificates) != 4 || got[1].Certificates != nil {
		t.Errorf("the refused list changed the record: %+v; was %+v", got, holds)
	}
	if err := c.RecordCertificates(ctx(t), res.Account, "cccccccccccccccc", nil); err != nil {
		t.Errorf("marking a line unknown: %v", err)
	}
}

// A block's reason changed in its configuration is written in its own hold line and, when the description shows the
// blocks' summary of that hold, there: the other holds, the account's state and an administrator's text stay as
// they are. A description an administrator edited during the block stays too.
func TestRecordReasonRewritesItsOwnLine(t *testing.T) {
	l, c := startDirectoryLab(t)
	acct, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	holdA := directory.Hold{ID: "aaaa1111", Since: since, By: "svc-a", Reason: "INC-1 lost"}
	holdB := directory.Hold{ID: "bbbb2222", Since: since.Add(time.Hour), By: "svc-b", Reason: "team B"}
	for _, h := range []directory.Hold{holdA, holdB} {
		if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: h, Record: true}); err != nil {
			t.Fatal(err)
		}
	}
	uacBefore, _, _ := labAccount(t, l, "CLIENT1$")
	if err := c.RecordReason(ctx(t), acct, holdA.ID, "[INC-1] stolen, not lost"); err != nil {
		t.Fatal(err)
	}
	uac, info, descr := labAccount(t, l, "CLIENT1$")
	rec := directory.ParseBlockRecord(info)
	if uac != uacBefore || rec == nil || len(rec.Holds) != 2 || rec.Holds[0].Reason != "[INC-1] stolen, not lost" || rec.Holds[1].Reason != "team B" {
		t.Fatalf("after the new reason: userAccountControl %#x (was %#x), record %+v", uac, uacBefore, rec)
	}
	if !strings.Contains(descr, "[INC-1] stolen, not lost") || strings.Contains(descr, "INC-1 lost") {
		t.Errorf("description %q; want the summary with the new reason", descr)
	}
	// Team B's reason is not in the summary: its change leaves the description alone.
	if err := c.RecordReason(ctx(t), acct, holdB.ID, "team B, still"); err != nil {
		t.Fatal(err)
	}
	if _, info, after := labAccount(t, l, "CLIENT1$"); after != descr || directory.ParseBlockRecord(info).Holds[1].Reason != "team B, still" {
		t.Errorf("after B's new reason: description %q (was %q), info %q", after, descr, info)
	}
	conn := labclient.LDAP(t, l.Info())
	edit := ldap.NewModifyRequest(acct.DN, nil)
	edit.Replace("description", []string{"Finance laptop, with the helpdesk"})
	if err := conn.Modify(edit); err != nil {
		t.Fatal(err)
	}
	if err := c.RecordReason(ctx(t), acct, holdA.ID, "[INC-1] stolen"); err != nil {
		t.Fatal(err)
	}
	if _, info, after := labAccount(t, l, "CLIENT1$"); after != "Finance laptop, with the helpdesk" || directory.ParseBlockRecord(info).Holds[0].Reason != "[INC-1] stolen" {
		t.Errorf("after an administrator's edit: description %q, info %q; want the edit kept and the line rewritten", after, info)
	}
	// A hold the record does not list changes nothing.
	_, before, _ := labAccount(t, l, "CLIENT1$")
	if err := c.RecordReason(ctx(t), acct, "cccc3333", "other"); err != nil {
		t.Fatal(err)
	}
	if _, after, _ := labAccount(t, l, "CLIENT1$"); after != before {
		t.Errorf("RecordReason of no hold changed the notes: %q", after)
	}
}
