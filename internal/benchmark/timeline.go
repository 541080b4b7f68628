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
// lines by request ("blocking account" from internal/provider/block_apply.go; "held", "purged" and "verify: ..."
// from internal/block): what the purges waited for and took, the verify windows, and the time from the end of one
// block to the start of the next in its Terraform slot (Terraform's state write after each block, its plan of the
// next, and the provider's plan of it).
type timeline struct {
	Blocks int `json:"blocks"`
	// Purge is from the account's hold to the end of its last purge pass; Verify from there to the last verify
	// verdict (blocks with a verify window only); Block from "blocking account" to the block's last line.
	Purge  spread `json:"purge"`
	Verify spread `json:"verify"`
	Block  spread `json:"block"`
	// Between is the time from the end of a block to the start of the next one in its slot (the i-th end to the
	// (i+parallelism)-th start), over the apply (Pairs of them) and over its first and last fifths.
	Pairs        int    `json:"between_pairs"`
	Between      spread `json:"between"`
	BetweenFirst spread `json:"between_first_fifth"`
	BetweenLast  spread `json:"between_last_fifth"`
	// StartStep is the time between two blocks that Terraform starts one after the other, less than 100 ms apart
	// (the successors of blocks that ended together), in the first and the last fifth of the starts after the first
	// parallelism blocks: Terraform does its work between two blocks one block at a time, and it grows with the state.
	StartStepFirst spread `json:"start_step_first_fifth"`
	StartStepLast  spread `json:"start_step_last_fifth"`
}

// closeStarts is how close two starts are to count as Terraform's back-to-back starts (StartStep).
const closeStarts = 100 * time.Millisecond

// spread is a median (the upper middle value) and a 90th percentile (the nearest rank), in seconds.
type spread struct {
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
}

func (s spread) String() string { return fmt.Sprintf("%.2f s (p90 %.2f s)", s.Median, s.P90) }

// spreadOf is the spread of v, zero for none.
func spreadOf(v []float64) spread {
	if len(v) == 0 {
		return spread{}
	}
	v = slices.Sorted(slices.Values(v))
	return spread{Median: v[len(v)/2], P90: v[len(v)*9/10]}
}

// providerLine is the prefix of the provider's log lines in Terraform's log:
// "2006-01-02T15:04:05.000Z [INFO]  provider.terraform-provider-remoteaccess: message: key=value ...". Each carries
// the provider's own timestamp= field, which is when it logged the line (Terraform writes it a few to a hundred ms
// later), and the request's tf_req_id=.
var (
	providerLine = regexp.MustCompile(`^\S+Z \[\w+\]\s+provider\.terraform-provider-remoteaccess: (.*)$`)
	requestField = regexp.MustCompile(`\btf_req_id=(\S+)`)
	timeField    = regexp.MustCompile(`\btimestamp=(\S+)`)
)

// readTimeline reads the apply log at path. parallelism is the apply's -parallelism.
func readTimeline(path string, parallelism int) (timeline, error) {
	f, err := os.Open(path)
	if err != nil {
		return timeline{}, err
	}
	defer f.Close()
	return parseTimeline(f, parallelism)
}

// parseTimeline reads an apply's log: blocks are told apart by their request (ApplyResourceChange), and a request
// without the lines of a block (a plan's) is left out.
func parseTimeline(r io.Reader, parallelism int) (timeline, error) {
	type block struct{ start, held, purged, verified time.Time }
	blocks := map[string]*block{}
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for scanner.Scan() {
		m := providerLine.FindStringSubmatch(scanner.Text())
		if m == nil {
			continue
		}
		message := m[1]
		req, at := requestField.FindStringSubmatch(message), timeField.FindStringSubmatch(message)
		if req == nil || at == nil {
			continue
		}
		when, err := time.Parse(time.RFC3339Nano, at[1])
		if err != nil {
			continue
		}
		b := blocks[req[1]]
		if b == nil {
			b = &block{}
			blocks[req[1]] = b
		}
		switch {
		case strings.HasPrefix(message, "blocking account:"):
			b.start = when
		case strings.HasPrefix(message, "held:"):
			b.held = when
		case strings.HasPrefix(message, "purged:"):
			// A pass logs its servers together once it has ended; a second pass (sessions back after the read-back
			// of the domain controllers) logs later: the last line is the end of the last pass.
			b.purged = when
		case strings.HasPrefix(message, "verify: "):
			b.verified = when
		}
	}
	if err := scanner.Err(); err != nil {
		return timeline{}, err
	}
	var purge, verify, whole []float64
	var starts, ends []time.Time
	for _, b := range blocks {
		if b.start.IsZero() || b.held.IsZero() || b.purged.IsZero() {
			continue // a plan's request, or a block that did not go through (the apply would have failed)
		}
		end := b.purged
		purge = append(purge, b.purged.Sub(b.held).Seconds())
		if !b.verified.IsZero() {
			end = b.verified
			verify = append(verify, b.verified.Sub(b.purged).Seconds())
		}
		whole = append(whole, end.Sub(b.start).Seconds())
		starts, ends = append(starts, b.start), append(ends, end)
	}
	if len(whole) == 0 {
		return timeline{}, fmt.Errorf("no block's hold and purge in the log (the apply's log at INFO, with TF_LOG=INFO)")
	}
	slices.SortFunc(starts, time.Time.Compare)
	slices.SortFunc(ends, time.Time.Compare)
	slots := max(parallelism, 1)
	var between []float64
	for i := 0; i+slots < len(starts); i++ {
		between = append(between, starts[i+slots].Sub(ends[i]).Seconds())
	}
	fifth := len(between) / 5
	t := timeline{Blocks: len(whole), Purge: spreadOf(purge), Verify: spreadOf(verify), Block: spreadOf(whole),
		Pairs: len(between), Between: spreadOf(between), BetweenFirst: spreadOf(between[:fifth]),
		BetweenLast: spreadOf(between[len(between)-fifth:])}
	// The first blocks all start at once, before any has ended: the steps are those of the starts after them.
	later := starts[min(slots, len(starts)):]
	t.StartStepFirst, t.StartStepLast = startSteps(later[:len(later)/5]), startSteps(later[len(later)-len(later)/5:])
	return t, nil
}

// startSteps are the steps between sorted starts that are less than closeStarts apart.
func startSteps(starts []time.Time) spread {
	var steps []float64
	for i := 1; i < len(starts); i++ {
		if step := starts[i].Sub(starts[i-1]); step < closeStarts {
			steps = append(steps, step.Seconds())
		}
	}
	return spreadOf(steps)
}

func (t timeline) markdown() string {
	text := fmt.Sprintf("Where a block's time went (%d blocks, from the provider's INFO log: medians, 90th percentiles): purge "+
		"(from the account's hold to the end of its last purge) %s, verify window %s, block %s", t.Blocks, t.Purge, t.Verify, t.Block)
	if t.Pairs > 0 {
		text += fmt.Sprintf("; from the end of a block to the start of the next in its slot (Terraform's state write "+
			"after each block, and the plan of the next by Terraform and the provider) %s", t.Between)
	}
	if t.Pairs >= 5 {
		text += fmt.Sprintf(", %s in the first fifth of the apply and %s in the last", t.BetweenFirst, t.BetweenLast)
	}
	if t.StartStepFirst != (spread{}) && t.StartStepLast != (spread{}) {
		text += fmt.Sprintf("; blocks that Terraform starts back to back (less than %d ms apart, after the first wave) start "+
			"%.0f ms apart in the first fifth of the apply and %.0f ms apart in the last (medians)", closeStarts.Milliseconds(),
			1000*t.StartStepFirst.Median, 1000*t.StartStepLast.Median)
	}
	return text + ".\n"
}
