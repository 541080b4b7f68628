package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// timeline is where the blocks' time went in an apply logged with -log-applies, read from the provider's progress
// events (internal/block: "blocking account", "held", "purged", "verify: ...") by request: what the purges waited
// for and took, the verify windows, and what Terraform took between the end of one block and the start of the next
// in its slot (its state write after each block, its plan of the next, and the provider's plan checks).
type timeline struct {
	Blocks int `json:"blocks"`
	// Purge is from the account's hold to the last server's purge; Verify from there to the last verify verdict;
	// Block from "blocking account" to that verdict. Medians and 90th percentiles, in seconds.
	Purge  spread `json:"purge"`
	Verify spread `json:"verify"`
	Block  spread `json:"block"`
	// Between is the time from the end of a block to the start of the next one in its slot (the i-th end to the
	// (i+parallelism)-th start), over the apply and over its first and last fifths: Terraform writes the whole state
	// after each block, so that it grows with the blocks already done.
	Between      spread `json:"between"`
	BetweenFirst spread `json:"between_first_fifth"`
	BetweenLast  spread `json:"between_last_fifth"`
}

// spread is a median and a 90th percentile, in seconds.
type spread struct {
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
}

func (s spread) String() string { return fmt.Sprintf("%.2f s (p90 %.2f s)", s.Median, s.P90) }

func spreadOf(v []float64) spread {
	if len(v) == 0 {
		return spread{}
	}
	v = slices.Sorted(slices.Values(v))
	return spread{Median: v[len(v)/2], P90: v[len(v)*9/10]}
}

// logLine is the time, the message and the request of one provider log line: Terraform's log format is
// "2006-01-02T15:04:05.000Z [INFO]  provider.terraform-provider-remoteaccess: message: key=value ...".
var logLine = regexp.MustCompile(`^(\S+Z) \[\w+\]\s+provider\.terraform-provider-remoteaccess: ([^:]+(?:: [a-zA-Z ]+)?):.*\btf_req_id=(\S+)`)

// readTimeline reads the apply log at path. parallelism is the apply's -parallelism.
func readTimeline(path string, parallelism int) (timeline, error) {
	f, err := os.Open(path)
	if err != nil {
		return timeline{}, err
	}
	defer f.Close()
	return parseTimeline(f, parallelism)
}

func parseTimeline(r io.Reader, parallelism int) (timeline, error) {
	type block struct{ start, held, purged, end time.Time }
	blocks := map[string]*block{}
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for scanner.Scan() {
		m := logLine.FindStringSubmatch(scanner.Text())
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			continue
		}
		b := blocks[m[3]]
		if b == nil {
			b = &block{}
			blocks[m[3]] = b
		}
		switch event := m[2]; {
		case event == "blocking account":
			b.start = at
		case event == "held":
			b.held = at
		case event == "purged":
			b.purged = at // the last server's, as the lines come in order
		case strings.HasPrefix(event, "verify: "):
			b.end = at
		}
	}
	if err := scanner.Err(); err != nil {
		return timeline{}, err
	}
	var purge, verify, whole []float64
	var starts, ends []time.Time
	for _, b := range blocks {
		if b.start.IsZero() || b.held.IsZero() || b.purged.IsZero() || b.end.IsZero() {
			continue // a plan's request, or a block that did not go through (the apply would have failed)
		}
		purge = append(purge, b.purged.Sub(b.held).Seconds())
		verify = append(verify, b.end.Sub(b.purged).Seconds())
		whole = append(whole, b.end.Sub(b.start).Seconds())
		starts, ends = append(starts, b.start), append(ends, b.end)
	}
	if len(whole) == 0 {
		return timeline{}, fmt.Errorf("no block with its purge and verify window in the log: was it written at INFO?")
	}
	slices.SortFunc(starts, time.Time.Compare)
	slices.SortFunc(ends, time.Time.Compare)
	var between []float64
	for i := 0; i+parallelism < len(starts); i++ {
		between = append(between, starts[i+parallelism].Sub(ends[i]).Seconds())
	}
	fifth := len(between) / 5
	return timeline{Blocks: len(whole), Purge: spreadOf(purge), Verify: spreadOf(verify), Block: spreadOf(whole),
		Between: spreadOf(between), BetweenFirst: spreadOf(between[:fifth]), BetweenLast: spreadOf(between[len(between)-fifth:])}, nil
}

func (t timeline) markdown() string {
	text := fmt.Sprintf("Where a block's time went (%d blocks, from the provider's INFO log: medians, 90th percentiles): purge "+
		"(from the account's hold to the last server's purge) %s, verify window %s, block %s; from the end of a block to the "+
		"start of the next in its slot (Terraform's state write after each block and its plan of the next) %s",
		t.Blocks, t.Purge, t.Verify, t.Block, t.Between)
	if t.BetweenFirst != (spread{}) {
		text += fmt.Sprintf(", %s in the first fifth of the apply and %s in the last", t.BetweenFirst, t.BetweenLast)
	}
	return text + ".\n"
}
