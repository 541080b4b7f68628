package directory

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
)

// The block record is what a block writes on the account it disables, so that the directory itself says that the
// account is held, by whom, why and since when, and what its state was before the first block. Two blocks on one
// account (two configurations, two teams) then never undo each other: the last one released restores the state
// recorded by the first.
//
// It is a delimited section of the account's "info" attribute (the Notes field of Active Directory Users and
// Computers, single-valued, at most 1024 UTF-16 code units in the schema). Text that administrators keep above or
// below the section is theirs: it is kept on every write, and the last release removes only the section. The block's
// one-line summary replaces "description" while the block holds the account; the last release puts the earlier
// description back unless an administrator changed it meanwhile. The format is text, one item a line, values quoted as
// Go string literals:
//
//	-----BEGIN remoteaccess-block/v2-----
//	prior=enabled
//	hold id=3f9a1c2e5b7d9a0c since=2026-11-30T10:00:00Z by="svc-remoteaccess@corp.example" certs="1A2B,3C4D" reason="INC-1234 stolen laptop"
//	hold id=77c0de5a11b2e3f4 since=2026-12-01T08:00:00Z by="svc-remoteaccess@corp.example" account=enabled dialin=absent reason="INC-1240"
//	prior-description="Finance laptop"
//	-----END remoteaccess-block/v2-----
//
// Without a prior-description line the block left description alone (the record would not fit with it). A hold line
// without certs= does not say which certificates its block holds (Hold.Certificates); one with account=enabled keeps
// the account enabled; one with dialin= denies the user's dial-in, and says what msNPAllowDialin held before the
// first block that denied it (absent, true or false).
//
// Records of the first version (recordV1Marker on the first line, the whole of info, the earlier notes in a
// prior-info line) are still read, and rewritten as a section on the next change.
const (
	recordBegin       = "-----BEGIN remoteaccess-block/v2-----"
	recordEnd         = "-----END remoteaccess-block/v2-----"
	recordV1Marker    = recordFormatName + "v1"
	recordFormatName  = "remoteaccess-block/"
	attrInfo          = "info"
	attrDescription   = "description"
	maxRecordText     = 1024 // rangeUpper of info and description in the Active Directory schema, in UTF-16 code units
	MaxReasonInRecord = 200  // in UTF-16 code units
	descriptionPrefix = "Blocked by Terraform (remoteaccess) since "
	recordTimeLayout  = time.RFC3339
	summaryTimeLayout = "2006-01-02 15:04 UTC"
	priorEnabledWord  = "enabled"
	priorDisabledWord = "disabled"
	priorPrefix       = "prior="
	holdLinePrefix    = "hold "
	priorInfoPrefix   = "prior-info="
	priorDescrPrefix  = "prior-description="
	v1HeaderPrefix    = recordV1Marker + " prior="
)

// Hold is one block holding an account.
type Hold struct {
	// ID identifies the block (the resource's hold_id); random, so that two blocks of one account differ.
	ID     string
	Since  time.Time
	By     string // the account that wrote the block
	Reason string
	// KeepsEnabled marks a block that leaves the account enabled (a remote-access-only block: a certificate hold,
	// a dial-in deny). It is recorded so that the other blocks count it, and it never disables the account.
	KeepsEnabled bool
	// Certificates are the serials of the device certificates the block holds at its CAs (empty: none), so that
	// another block's release takes off hold only what no remaining block holds. Nil means unknown: a record written
	// before certificates were recorded, or a hold still being placed; another block then keeps every certificate of
	// the device on hold for it, which fails safe.
	Certificates []string
	// DeniesDialIn marks a block that denies the user's dial-in (msNPAllowDialin FALSE). PriorDialIn is what the
	// attribute held before the first such block (a block that finds another one's deny takes over its prior), so
	// that whichever of them is released last restores it.
	DeniesDialIn bool
	PriorDialIn  DialIn
}

// BlockRecord is the parsed block record of an account.
type BlockRecord struct {
	// PriorEnabled is the account's state before the first block.
	PriorEnabled bool
	// PriorDescription is the description before the first block; meaningful when ManagesDescription is set.
	PriorDescription string
	// ManagesDescription is set when the block wrote its summary into description and restores PriorDescription.
	ManagesDescription bool
	Holds              []Hold

	// before and after are the notes outside the section, with the line breaks that joined them to it.
	before, after       string
	sepBefore, sepAfter string
}

// HoldIDs lists the ids of the holds.
func (r *BlockRecord) HoldIDs() []string {
	ids := make([]string, len(r.Holds))
	for i, h := range r.Holds {
		ids[i] = h.ID
	}
	return ids
}

// Others lists the holds other than holdID.
func (r *BlockRecord) Others(holdID string) []Hold {
	var out []Hold
	for _, h := range r.Holds {
		if h.ID != holdID {
			out = append(out, h)
		}
	}
	return out
}

func (r *BlockRecord) hold(id string) int {
	return slices.IndexFunc(r.Holds, func(h Hold) bool { return h.ID == id })
}

// HoldWithID returns the hold of the record whose id is id, if the record has one.
func (r *BlockRecord) HoldWithID(id string) (Hold, bool) {
	if i := r.hold(id); i >= 0 {
		return r.Holds[i], true
	}
	return Hold{}, false
}

// UnreadableRecordError is a block record that exists on the account but was edited so that it cannot be read. A
// release changes nothing then: the account stays disabled until the record is repaired or removed by hand.
type UnreadableRecordError struct {
	DN     string
	Reason string
}

func (e *UnreadableRecordError) Error() string {
	dn := e.DN
	if dn == "" {
		dn = "the account"
	}
	return fmt.Sprintf("directory: the block record in the Notes (info) of %s cannot be read (%s); nothing was changed and the "+
		"account stays disabled: restore the section between %q and %q as it was written, or, when no block should hold "+
		"the account any more, remove the section and enable the account by hand", dn, e.Reason, recordBegin, recordEnd)
}

// RecordTooLongError says that the block record or its summary does not fit in an attribute.
type RecordTooLongError struct {
	Attribute string
	Units     int // the length it would have, in UTF-16 code units
	Limit     int
}

func (e *RecordTooLongError) Error() string {
	return fmt.Sprintf("the block record does not fit in %s: it would be %d UTF-16 code units, the limit is %d "+
		"(shorten the Notes of the account, or release other holds)", e.Attribute, e.Units, e.Limit)
}

// ParseBlockRecord reads the record from an account's info attribute. It returns nil when info holds no record, or
// one that cannot be read (ReadBlockRecord says why).
func ParseBlockRecord(info string) *BlockRecord {
	r, err := ReadBlockRecord(info)
	if err != nil {
		return nil
	}
	return r
}

// ReadBlockRecord reads the record from an account's info attribute: nil without error when there is none, an
// *UnreadableRecordError when the section is there but cannot be read.
func ReadBlockRecord(info string) (*BlockRecord, error) {
	if first, _, _ := strings.Cut(info, "\n"); strings.HasPrefix(strings.TrimSuffix(first, "\r"), v1HeaderPrefix) {
		return readV1(info)
	}
	lines := splitLines(info)
	begin, end := -1, -1
	for i, l := range lines {
		switch l.text {
		case recordBegin:
			if begin >= 0 {
				return nil, &UnreadableRecordError{Reason: "the section begins twice"}
			}
			begin = i
		case recordEnd:
			if begin < 0 {
				return nil, &UnreadableRecordError{Reason: "the section ends before it begins"}
			}
			if end < 0 {
				end = i
			}
		}
	}
	if begin >= 0 && end < 0 {
		return nil, &UnreadableRecordError{Reason: "the section has no end line"}
	}
	if err := strayMarker(lines, begin, end); err != nil {
		return nil, err
	}
	if begin < 0 {
		return nil, nil
	}
	r := &BlockRecord{}
	if err := r.parseBody(lines[begin+1:end], false); err != nil {
		return nil, err
	}
	r.before, r.sepBefore = outside(info[:lines[begin].start], true)
	r.after, r.sepAfter = outside(info[lines[end].start+len(lines[end].text):], false)
	return r, nil
}

// strayMarker fails closed on a line outside the section (lines begin to end; begin -1 when there is none) that names
// the record's format: a begin or end line edited (indented, a space added) or a first-version header moved down. Read
// as notes, it would hide the holds it carries and a release would enable the account under them.
func strayMarker(lines []line, begin, end int) error {
	for i, l := range lines {
		if (begin < 0 || i < begin || i > end) && strings.Contains(l.text, recordFormatName) {
			return &UnreadableRecordError{Reason: fmt.Sprintf("line %d, %q, names the record but is outside its section", i+1, l.text)}
		}
	}
	return nil
}

// readV1 reads a first-version record: the whole of info, the earlier notes in prior-info.
func readV1(info string) (*BlockRecord, error) {
	lines := splitLines(info)
	r := &BlockRecord{ManagesDescription: true}
	body := append([]line{{text: priorPrefix + strings.TrimPrefix(lines[0].text, v1HeaderPrefix)}}, lines[1:]...)
	if err := r.parseBody(body, true); err != nil {
		return nil, err
	}
	return r, nil
}

// parseBody reads the lines of a record strictly: a line it does not know makes the record unreadable, since a
// release must not guess which holds remain.
func (r *BlockRecord) parseBody(lines []line, v1 bool) error {
	sawPrior := false
	for _, l := range lines {
		text := l.text
		switch {
		case strings.HasPrefix(text, priorPrefix):
			switch strings.TrimPrefix(text, priorPrefix) {
			case priorEnabledWord:
				r.PriorEnabled = true
			case priorDisabledWord:
			default:
				return &UnreadableRecordError{Reason: fmt.Sprintf("line %q", text)}
			}
			sawPrior = true
		case strings.HasPrefix(text, holdLinePrefix):
			h, ok := parseHold(strings.TrimPrefix(text, holdLinePrefix))
			if !ok {
				return &UnreadableRecordError{Reason: fmt.Sprintf("hold line %q", text)}
			}
			r.Holds = append(r.Holds, h)
		case strings.HasPrefix(text, priorDescrPrefix):
			v, err := strconv.Unquote(strings.TrimPrefix(text, priorDescrPrefix))
			if err != nil {
				return &UnreadableRecordError{Reason: fmt.Sprintf("line %q", text)}
			}
			r.PriorDescription, r.ManagesDescription = v, true
		case v1 && strings.HasPrefix(text, priorInfoPrefix):
			v, err := strconv.Unquote(strings.TrimPrefix(text, priorInfoPrefix))
			if err != nil {
				return &UnreadableRecordError{Reason: fmt.Sprintf("line %q", text)}
			}
			r.before = v
		case v1 && text == "":
		default:
			return &UnreadableRecordError{Reason: fmt.Sprintf("unknown line %q", text)}
		}
	}
	if !sawPrior {
		return &UnreadableRecordError{Reason: "no prior= line"}
	}
	return nil
}

// line is one line of info: its text without the line break, where it starts and where the next one starts.
type line struct {
	text        string
	start, next int
}

func splitLines(s string) []line {
	var out []line
	for start := 0; ; {
		i := strings.IndexByte(s[start:], '\n')
		if i < 0 {
			return append(out, line{text: strings.TrimSuffix(s[start:], "\r"), start: start, next: len(s)})
		}
		out = append(out, line{text: strings.TrimSuffix(s[start:start+i], "\r"), start: start, next: start + i + 1})
		start += i + 1
	}
}

// outside splits the notes beside the section from the line break that joins them to it (at the end of the text
// above, at the start of the text below).
func outside(s string, above bool) (text, sep string) {
	for _, br := range []string{"\r\n", "\n"} {
		if above && strings.HasSuffix(s, br) {
			return strings.TrimSuffix(s, br), br
		}
		if !above && strings.HasPrefix(s, br) {
			return strings.TrimPrefix(s, br), br
		}
	}
	return s, ""
}

// parseHold reads `id=... since=... by="..." [account=enabled] [certs="..."] [dialin=...] reason="..."`.
func parseHold(s string) (Hold, bool) {
	var h Hold
	for s != "" {
		key, rest, ok := strings.Cut(s, "=")
		if !ok {
			return h, false
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			quoted, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return h, false
			}
			value, _ = strconv.Unquote(quoted)
			rest = rest[len(quoted):]
		} else {
			value, rest, _ = strings.Cut(rest, " ")
		}
		s = strings.TrimPrefix(rest, " ")
		var err error
		switch key {
		case "id":
			h.ID = value
		case "since":
			h.Since, err = time.Parse(recordTimeLayout, value)
		case "by":
			h.By = value
		case "reason":
			h.Reason = value
		case "account":
			h.KeepsEnabled = value == "enabled"
		case "dialin":
			// What the deny's last release restores: anything else makes the line unreadable (fail closed).
			h.DeniesDialIn = true
			if h.PriorDialIn, ok = DialInOfWord(value); !ok {
				return h, false
			}
		case "certs":
			// Serials separated by commas, also as typed by hand ("1A2B, 3C4D"); anything but a serial there makes the
			// line unreadable, since a serial misread would be taken off hold while this block still holds it.
			h.Certificates = []string{}
			for _, serial := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
				if !validSerial(serial) {
					return h, false
				}
				h.Certificates = append(h.Certificates, serial)
			}
		}
		if err != nil {
			return h, false
		}
	}
	return h, h.ID != ""
}

// validSerial reports whether s can be a certificate serial in a hold line: letters and digits only (hexadecimal as
// the CAs print it; nothing that could end the quoted list or the line).
func validSerial(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// newRecord starts the record of the first block on cur.
func newRecord(cur Account) *BlockRecord {
	r := &BlockRecord{PriorEnabled: cur.Enabled(), PriorDescription: cur.Description, ManagesDescription: true, before: cur.Info}
	if strings.Contains(cur.Info, "\r\n") { // notes typed in Active Directory Users and Computers
		r.sepBefore = "\r\n"
	}
	return r
}

// notes is the text administrators keep outside the section, as it will be when the section is gone.
func (r *BlockRecord) notes() string {
	switch {
	case r.before == "":
		return r.after
	case r.after == "":
		return r.before
	}
	sep := r.sepAfter
	if sep == "" {
		sep = orNewline(r.sepBefore)
	}
	return r.before + sep + r.after
}

// section writes the record's section with reasons shortened to limit UTF-16 code units.
func (r *BlockRecord) section(limit int) string {
	var b strings.Builder
	prior := priorDisabledWord
	if r.PriorEnabled {
		prior = priorEnabledWord
	}
	b.WriteString(recordBegin + "\n" + priorPrefix + prior)
	for _, h := range r.Holds {
		keep := ""
		if h.KeepsEnabled {
			keep = " account=enabled"
		}
		if h.Certificates != nil {
			keep += " certs=" + strconv.Quote(strings.Join(h.Certificates, ","))
		}
		if h.DeniesDialIn {
			keep += " dialin=" + dialInWords[h.PriorDialIn]
		}
		fmt.Fprintf(&b, "\n%sid=%s since=%s by=%s%s reason=%s", holdLinePrefix, h.ID, h.Since.UTC().Format(recordTimeLayout),
			strconv.Quote(h.By), keep, strconv.Quote(truncateUTF16(h.Reason, limit)))
	}
	if r.ManagesDescription {
		fmt.Fprintf(&b, "\n%s%s", priorDescrPrefix, strconv.Quote(r.PriorDescription))
	}
	b.WriteString("\n" + recordEnd)
	return b.String()
}

// withSection places the section between the notes above and below it.
func (r *BlockRecord) withSection(section string) string {
	s := section
	if r.before != "" {
		s = r.before + orNewline(r.sepBefore) + s
	}
	if r.after != "" {
		s += orNewline(r.sepAfter) + r.after
	}
	return s
}

func orNewline(sep string) string {
	if sep == "" {
		return "\n"
	}
	return sep
}

// format writes info with the record in it, shortening the holds' reasons until it fits, and as a last resort
// leaving out the lists of certificates the holds hold (a hold line without its list is read as "may hold any", so
// that every other block keeps them on hold: it fails safe, while a hold left out of the record would let the other
// blocks' releases undo it). The reasons and lists kept are those the returned record holds, so that its summary is
// the one a later read computes. A record that still does not fit is a *RecordTooLongError.
func (r *BlockRecord) format() (string, *BlockRecord, error) { return r.formatMay(true) }

// formatMay is format, leaving the lists of certificates out as a last resort only when mayForget is set.
func (r *BlockRecord) formatMay(mayForget bool) (string, *BlockRecord, error) {
	var units int
	tries := []bool{false}
	if mayForget {
		tries = append(tries, true)
	}
	for _, forget := range tries {
		rec := *r
		rec.Holds = slices.Clone(r.Holds)
		if forget {
			for i := range rec.Holds {
				rec.Holds[i].Certificates = nil
			}
		}
		for _, limit := range []int{MaxReasonInRecord, 40, 0} {
			info := rec.withSection(rec.section(limit))
			if units = utf16Len(info); units <= maxRecordText {
				for i := range rec.Holds {
					rec.Holds[i].Reason = truncateUTF16(rec.Holds[i].Reason, limit)
				}
				return info, &rec, nil
			}
		}
	}
	return "", nil, &RecordTooLongError{Attribute: attrInfo, Units: units, Limit: maxRecordText}
}

// summary is the one-line description an administrator sees while the account is held: no line breaks, control
// or bidirectional formatting characters, at most maxRecordText UTF-16 code units.
func (r *BlockRecord) summary() string {
	if len(r.Holds) == 0 {
		return r.PriorDescription
	}
	first := r.Holds[0]
	s := descriptionPrefix + first.Since.UTC().Format(summaryTimeLayout)
	if first.Reason != "" {
		s += ": " + first.Reason
	}
	if first.By != "" {
		s += " (by " + first.By + ")"
	}
	if n := len(r.Holds); n > 1 {
		s += fmt.Sprintf(" and %d more", n-1)
	}
	return truncateUTF16(OneLine(s), maxRecordText)
}

// OneLine makes s one line of plain text: line breaks, tabs and other control characters become spaces, runs of
// spaces one space, and the bidirectional embedding, override, isolate and mark characters (which can make a line
// read differently from what it holds) are dropped.
func OneLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case isBidiControl(r):
			continue
		case unicode.IsControl(r) || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') || r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// ReasonInRecord is what a block record keeps at most of a hold's reason: its first MaxReasonInRecord UTF-16 code
// units (fewer when the Notes are nearly full, see format).
func ReasonInRecord(reason string) string { return truncateUTF16(reason, MaxReasonInRecord) }

// utf16Len is the length of s as Active Directory counts it: UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncateUTF16 shortens s to at most limit UTF-16 code units, never splitting a character, and marks a cut with "…".
func truncateUTF16(s string, limit int) string {
	if utf16Len(s) <= limit {
		return s
	}
	if limit <= 0 {
		return ""
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n+utf16.RuneLen(r) > limit-1 {
			break
		}
		n += utf16.RuneLen(r)
		b.WriteRune(r)
	}
	return b.String() + "…"
}
