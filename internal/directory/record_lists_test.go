package directory

import (
	"strings"
	"testing"
	"time"
)

// The first block on an account whose notes leave little room gives up managing the description before its own list
// of certificates (none, for a block without a certificate hold): the list is what lets a certificate-holding block's
// release take its certificates off hold.
func TestFirstHoldLeavesTheDescriptionBeforeItsList(t *testing.T) {
	hold := Hold{ID: "h1", Since: time.Unix(0, 0).UTC(), By: "svc", Reason: "stolen", Certificates: []string{}}
	description := strings.Repeat("d", 100)
	for n := 700; n < 1024; n++ {
		cur := Account{DN: "CN=X", Info: strings.Repeat("n", n), Description: description, UserAccountControl: 0x200}
		info, _, err := recordHold(cur, nil, hold)
		if err != nil {
			return // past the room for any record
		}
		rec, err := ReadBlockRecord(info)
		if err != nil || rec == nil || len(rec.Holds) != 1 {
			t.Fatalf("notes of %d: %+v, %v", n, rec, err)
		}
		if rec.Holds[0].Certificates == nil && utf16Len(strings.Repeat("n", n)+"\n"+(&BlockRecord{PriorEnabled: true, Holds: []Hold{hold}}).section(0)) <= maxRecordText {
			t.Fatalf("notes of %d: the list was left out while the record fits without the description:\n%s", n, info)
		}
	}
	t.Fatal("no size of notes left the record out")
}
