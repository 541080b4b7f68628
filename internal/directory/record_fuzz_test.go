package directory

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Whatever the notes above and below it and whatever the reason, a record written into the notes reads back with
// its hold, and the last release gives back exactly the administrators' text.
func FuzzRecordKeepsTheNotes(f *testing.F) {
	f.Add("asset 42", "", "INC-1\nsecond line")
	f.Add("", "returned to IT", "😀\u202e")
	f.Add("helpdesk\r\nline", "below\r\n", `"quoted" id=x`)
	f.Fuzz(func(t *testing.T, notes, below, reason string) {
		for _, s := range []string{notes, below} {
			if !utf8.ValidString(s) || strings.Contains(s, "remoteaccess-block/") || strings.HasSuffix(s, "\r") || strings.HasPrefix(s, "\n") {
				return
			}
		}
		cur := Account{DN: "CN=X", Info: notes, Description: "Finance laptop", UserAccountControl: 0x1000}
		info, descr, err := recordHold(cur, nil, Hold{ID: "h1", Since: time.Unix(0, 0).UTC(), By: "svc", Reason: reason})
		if err != nil {
			return // too long for the attribute: the block goes on without a record
		}
		if utf16Len(info) > maxRecordText || (descr != nil && (utf16Len(*descr) > maxRecordText || strings.ContainsAny(*descr, "\n\r\u202e"))) {
			t.Fatalf("record of %d units, description %q", utf16Len(info), *descr)
		}
		want := notes
		if below != "" {
			info += "\n" + below
			want = strings.TrimPrefix(notes+"\n"+below, "\n")
		}
		rec, err := ReadBlockRecord(info)
		if err != nil || rec == nil || len(rec.Holds) != 1 || rec.Holds[0].ID != "h1" {
			t.Fatalf("ReadBlockRecord(%q) = %+v, %v", info, rec, err)
		}
		if got := rec.notes(); got != want {
			t.Fatalf("notes after the release %q; want %q (record %q)", got, want, info)
		}
	})
}
