package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// logBlock writes the provider's progress lines of one block as Terraform logs them at INFO, fields in Terraform's
// (random) order, at the given seconds after 12:00:00 by the provider's timestamp= field; Terraform's own time at the
// start of the "held" line is 50 ms later, as when it is busy. verified < 0 leaves the verify window out.
func logBlock(b *strings.Builder, req string, start, held, purged, verified float64) {
	at := func(s float64) string { return fmt.Sprintf("2026-12-07T12:00:%06.3fZ", s) }
	line := func(written, logged float64, message string) {
		fmt.Fprintf(b, "%s [INFO]  provider.terraform-provider-remoteaccess: %s timestamp=%s\n", at(written), message, at(logged))
	}
	caller := "@caller=github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/provider/block_common.go:119"
	line(start, start, "blocking account: tf_rpc=ApplyResourceChange @module=remoteaccess servers=[127.0.0.11, 127.0.0.12] tf_req_id="+req)
	line(held+0.05, held, "held: "+caller+` account="MI0001$" newly_disabled=true recorded=true tf_req_id=`+req)
	line(purged, purged, "purged: main_mode_sas=1 quick_mode_sas=2 server=127.0.0.12 tf_req_id="+req)
	line(purged, purged, "purged: tf_req_id="+req+" vpn_connections=0 server=127.0.0.11")
	if verified >= 0 {
		line(verified, verified-0.01, "verify: nothing came back: polls=1 server=127.0.0.11 tf_req_id="+req)
		line(verified, verified, "verify: could not verify: "+caller+" server=127.0.0.12 tf_req_id="+req)
	}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 0.0015 {
		t.Errorf("%s = %.3f, want %.3f", what, got, want)
	}
}

func TestTimelineReadsTheBlocksProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString("2026-12-07T12:00:00.000Z [INFO]  Terraform version: 1.8.5\n")
	// A plan's warning in the apply, over several lines as Terraform writes it, its request on a later line.
	b.WriteString("2026-12-07T12:00:00.500Z [WARN]  provider.terraform-provider-remoteaccess: Response contains warning diagnostic: diagnostic_detail=\n" +
		"  | - 127.0.0.11: 1 main-mode SA\n   diagnostic_summary=\"Impact of blocking MI0001\" tf_req_id=plan-1 timestamp=2026-12-07T12:00:00.500Z\n")
	// Eight blocks in two slots (-parallelism=2): each holds 10 ms after it starts, ends its last purge 0.5 s later
	// and its verify window 2 s after that; Terraform starts the next block of a slot gaps[i] after the i-th end.
	gaps := []float64{0.1, 0.2, 0.2, 0.2, 0.2, 0.3}
	starts := []float64{1, 1.05}
	for i := range 8 {
		if i >= 2 {
			starts = append(starts, starts[i-2]+2.51+gaps[i-2])
		}
		s := starts[i]
		logBlock(&b, fmt.Sprintf("apply-%d", i), s, s+0.01, s+0.51, s+2.51)
	}
	got, err := parseTimeline(strings.NewReader(b.String()), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Blocks != 8 || got.Pairs != 6 {
		t.Errorf("blocks %d, pairs %d; want 8 blocks and 6 ends followed by a start in their slot", got.Blocks, got.Pairs)
	}
	near(t, "purge median", got.Purge.Median, 0.5)
	near(t, "verify median", got.Verify.Median, 2)
	near(t, "block median", got.Block.Median, 2.51)
	near(t, "between median", got.Between.Median, 0.2)
	near(t, "between p90", got.Between.P90, 0.3)
	near(t, "between in the first fifth", got.BetweenFirst.Median, 0.1)
	near(t, "between in the last fifth", got.BetweenLast.Median, 0.3)
	for _, want := range []string{"verify window 2.00 s (p90 2.00 s)", "in its slot (Terraform's", "0.10 s (p90 0.10 s) in the first fifth"} {
		if !strings.Contains(got.markdown(), want) {
			t.Errorf("markdown = %q, want it to say %q", got.markdown(), want)
		}
	}
}

// A block without a verify window ends with its purge; an apply with fewer blocks than its parallelism has no
// "between" to report; a log without any block's progress is an error, not zeros.
func TestTimelineWithoutVerifyWindowsOrSlotsToReuse(t *testing.T) {
	var b strings.Builder
	logBlock(&b, "a", 1, 1.01, 1.51, -1)
	logBlock(&b, "b", 1, 1.01, 1.61, 3.61)
	got, err := parseTimeline(strings.NewReader(b.String()), 50)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "block median", got.Block.Median, 2.61) // a's 0.51 and b's 2.61: the upper middle
	near(t, "verify median", got.Verify.Median, 2)  // b's alone
	if got.Pairs != 0 || strings.Contains(got.markdown(), "in its slot") {
		t.Errorf("pairs %d, markdown %q: want no time between blocks with every block in a slot of its own", got.Pairs, got.markdown())
	}
	if _, err := parseTimeline(strings.NewReader("2026-12-07T12:00:00.000Z [INFO]  Terraform version: 1.8.5\n"), 1); err == nil {
		t.Error("a log without a block's progress: want an error")
	}
}

// The steps between blocks started back to back are read apart in the first and the last fifth of the apply, after
// the first wave (which starts at once); starts further apart than closeStarts (another wave) are not steps.
func TestTimelineStartSteps(t *testing.T) {
	var b strings.Builder
	starts := []float64{1, 1.001, 1.002, 4, 4.006, 5, 5.01, 5.02, 5.03, 6, 6.5, 8, 8.025}
	for i, start := range starts {
		logBlock(&b, fmt.Sprintf("apply-%d", i), start, start+0.01, start+0.51, start+2.51)
	}
	got, err := parseTimeline(strings.NewReader(b.String()), 3) // the first wave: 1, 1.001, 1.002
	if err != nil {
		t.Fatal(err)
	}
	near(t, "start step in the first fifth", got.StartStepFirst.Median, 0.006)
	near(t, "start step in the last fifth", got.StartStepLast.Median, 0.025)
	if want := "start 6 ms apart in the first fifth of the apply and 25 ms apart in the last"; !strings.Contains(got.markdown(), want) {
		t.Errorf("markdown = %q, want it to say %q", got.markdown(), want)
	}
}
