package directory

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The block record is what a block writes on the account it disables, so that the directory itself says that the
// account is held, by whom, why and since when, and what its state was before the first block. Two blocks on one
// account (two configurations, two teams) then never undo each other: the last one released restores the state
// recorded by the first.
//
// It lives in the account's "info" attribute (the Notes field of Active Directory Users and Computers, single-valued,
// at most 1024 characters in the schema), beside a one-line summary in "description" that administrators see in the
// account list. Both are restored to what they were when the last block is released. The format is text, one item a
// line, values quoted as Go string literals:
//
//	remoteaccess-block/v1 prior=enabled
//	hold id=3f9a1c2e5b7d9a0c since=2026-11-30T10:00:00Z by="svc-remoteaccess@corp.example" reason="INC-1234 stolen laptop"
//	prior-info=""
//	prior-description="Finance laptop"
const (
	recordMarker       = "remoteaccess-block/v1"
	attrInfo           = "info"
	attrDescription    = "description"
	maxRecordText      = 1024 // rangeUpper of info and description in the Active Directory schema
	maxReasonInRecord  = 200
	descriptionPrefix  = "Blocked by Terraform (remoteaccess) since "
	recordTimeLayout   = time.RFC3339
	summaryTimeLayout  = "2006-01-02 15:04 UTC"
	priorEnabledWord   = "enabled"
	priorDisabledWord  = "disabled"
	holdLinePrefix     = "hold "
	priorInfoPrefix    = "prior-info="
	priorDescrPrefix   = "prior-description="
	recordHeaderPrefix = recordMarker + " prior="
)

// Hold is one block holding an account.
type Hold struct {
	// ID identifies the block (the resource's hold_id); random, so that two blocks of one account differ.
	ID     string
	Since  time.Time
	By     string // the account that wrote the block
	Reason string
}

// BlockRecord is the parsed block record of an account.
type BlockRecord struct {
	// PriorEnabled is the account's state before the first block.
	PriorEnabled     bool
	PriorInfo        string
	PriorDescription string
	Holds            []Hold
}

// HoldIDs lists the ids of the holds.
func (r *BlockRecord) HoldIDs() []string {
	ids := make([]string, len(r.Holds))
	for i, h := range r.Holds {
		ids[i] = h.ID
	}
	return ids
}

func (r *BlockRecord) hold(id string) int {
	return slices.IndexFunc(r.Holds, func(h Hold) bool { return h.ID == id })
}

// ParseBlockRecord reads the record from an account's info attribute. It returns nil when info holds no record
// (never written, or replaced by hand): the account is then treated as not held by any recorded block.
func ParseBlockRecord(info string) *BlockRecord {
	lines := strings.Split(strings.ReplaceAll(info, "\r\n", "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], recordHeaderPrefix) {
		return nil
	}
	r := &BlockRecord{}
	switch strings.TrimPrefix(lines[0], recordHeaderPrefix) {
	case priorEnabledWord:
		r.PriorEnabled = true
	case priorDisabledWord:
	default:
		return nil
	}
	for _, line := range lines[1:] {
		switch {
		case strings.HasPrefix(line, holdLinePrefix):
			if h, ok := parseHold(strings.TrimPrefix(line, holdLinePrefix)); ok {
				r.Holds = append(r.Holds, h)
			}
		case strings.HasPrefix(line, priorInfoPrefix):
			r.PriorInfo, _ = strconv.Unquote(strings.TrimPrefix(line, priorInfoPrefix))
		case strings.HasPrefix(line, priorDescrPrefix):
			r.PriorDescription, _ = strconv.Unquote(strings.TrimPrefix(line, priorDescrPrefix))
		}
	}
	return r
}

// parseHold reads `id=... since=... by="..." reason="..."`.
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
		switch key {
		case "id":
			h.ID = value
		case "since":
			h.Since, _ = time.Parse(recordTimeLayout, value)
		case "by":
			h.By = value
		case "reason":
			h.Reason = value
		}
	}
	return h, h.ID != ""
}

// format writes the record as info text, shortening reasons so that it fits in the attribute. It fails when even
// that is too long (very long prior notes, or very many holds).
func (r *BlockRecord) format() (string, error) {
	for _, limit := range []int{maxReasonInRecord, 40, 0} {
		var b strings.Builder
		prior := priorDisabledWord
		if r.PriorEnabled {
			prior = priorEnabledWord
		}
		b.WriteString(recordHeaderPrefix + prior)
		for _, h := range r.Holds {
			fmt.Fprintf(&b, "\n%sid=%s since=%s by=%s reason=%s", holdLinePrefix, h.ID, h.Since.UTC().Format(recordTimeLayout),
				strconv.Quote(h.By), strconv.Quote(truncate(h.Reason, limit)))
		}
		fmt.Fprintf(&b, "\n%s%s\n%s%s", priorInfoPrefix, strconv.Quote(r.PriorInfo), priorDescrPrefix, strconv.Quote(r.PriorDescription))
		if utf8.RuneCountInString(b.String()) <= maxRecordText {
			return b.String(), nil
		}
	}
	return "", fmt.Errorf("the block record of %d holds and the account's earlier notes does not fit in the %d characters of "+
		"the info attribute", len(r.Holds), maxRecordText)
}

// summary is the description an administrator sees while the account is held.
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
	return truncate(s, maxRecordText)
}

func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	runes := []rune(s)
	if limit <= 1 {
		return string(runes[:limit])
	}
	return string(runes[:limit-1]) + "…"
}
