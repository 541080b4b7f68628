package directory

import (
	"strings"
	"testing"
	"time"
)

// A block that denies dial-in writes in its hold line what the last release restores, and reads it back; a value
// that is not one of the three states makes the record unreadable (a release then changes nothing).
func TestHoldLineKeepsWhatTheDialInDenyRestores(t *testing.T) {
	for _, prior := range []DialIn{DialInAbsent, DialInAllow, DialInDeny} {
		hold := Hold{ID: "h1", Since: time.Unix(0, 0).UTC(), By: "svc", Reason: "left", DeniesDialIn: true, PriorDialIn: prior}
		info, _, err := recordHold(Account{DN: "CN=X", UserAccountControl: 0x200}, nil, hold)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(info, " dialin="+prior.Word()+" ") {
			t.Fatalf("hold line without dialin=%s:\n%s", prior.Word(), info)
		}
		rec, err := ReadBlockRecord(info)
		if err != nil || len(rec.Holds) != 1 || !rec.Holds[0].DeniesDialIn || rec.Holds[0].PriorDialIn != prior {
			t.Fatalf("read back %+v, %v; want a deny restoring %s", rec, err, prior.Word())
		}
	}
	noDeny, _, _ := recordHold(Account{DN: "CN=X", UserAccountControl: 0x200}, nil, Hold{ID: "h1", Since: time.Unix(0, 0).UTC()})
	if strings.Contains(noDeny, "dialin=") {
		t.Fatalf("a block that does not deny dial-in wrote dialin=:\n%s", noDeny)
	}
	edited := strings.Replace(recordOf(t, Hold{ID: "h1", Since: time.Unix(0, 0).UTC(), DeniesDialIn: true}), "dialin=absent", "dialin=yes", 1)
	if _, err := ReadBlockRecord(edited); err == nil {
		t.Fatalf("dialin=yes read as a record:\n%s", edited)
	}
}

func recordOf(t *testing.T, holds ...Hold) string {
	t.Helper()
	rec := &BlockRecord{PriorEnabled: true, Holds: holds}
	info, _, err := rec.format()
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// What a deny restores: its own line's prior once recorded; the value it replaced; and, when that is another
// block's deny, that block's prior, so that the last of them released restores what was there before both.
func TestPriorDialInTakesOverAnotherBlocksDeny(t *testing.T) {
	since := time.Unix(0, 0).UTC()
	denier := Hold{ID: "first", Since: since, DeniesDialIn: true, PriorDialIn: DialInAllow}
	disabler := Hold{ID: "other", Since: since}
	own := Hold{ID: "second", Since: since, DeniesDialIn: true, PriorDialIn: DialInAbsent}
	for _, tc := range []struct {
		name  string
		holds []Hold
		found DialIn
		want  DialIn
	}{
		{"no record", nil, DialInAllow, DialInAllow},
		{"another block's deny", []Hold{denier}, DialInDeny, DialInAllow},
		{"denied by someone else, the other block does not deny", []Hold{disabler}, DialInDeny, DialInDeny},
		{"allowed since the other block's deny", []Hold{denier}, DialInAbsent, DialInAbsent},
		{"own line recorded", []Hold{denier, own}, DialInDeny, DialInAbsent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acct := Account{DN: "CN=bob"}
			if tc.holds != nil {
				acct.Info = recordOf(t, tc.holds...)
			}
			if got := acct.DialInToRestore("second", tc.found); got != tc.want {
				t.Errorf("DialInToRestore(found %s) = %s; want %s", tc.found.Word(), got.Word(), tc.want.Word())
			}
		})
	}
}
