package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// applyLog writes the provider's progress lines of one block as Terraform logs them at INFO, its fields in
// Terraform's (random) order, at the given seconds after 12:00:00.
func applyLog(b *strings.Builder, req string, start, held, purged, verified float64) {
	at := func(s float64) string { return fmt.Sprintf("2026-12-07T12:00:%06.3fZ", s) }
	const p = " [INFO]  provider.terraform-provider-remoteaccess: "
	fmt.Fprintf(b, "%s%sblocking account: tf_rpc=ApplyResourceChange @module=remoteaccess servers=[127.0.0.11, 127.0.0.12] tf_req_id=%s tf_resource_type=remoteaccess_blocked_device\n", at(start), p, req)
	fmt.Fprintf(b, "%s%sheld: account=\"MI0001$\" newly_disabled=true recorded=true tf_req_id=%s @module=remoteaccess\n", at(held), p, req)
	fmt.Fprintf(b, "%s%spurged: main_mode_sas=1 quick_mode_sas=2 server=127.0.0.11 tf_req_id=%s\n", at(purged-0.1), p, req)
	fmt.Fprintf(b, "%s%spurged: tf_req_id=%s vpn_connections=0 server=127.0.0.12\n", at(purged), p, req)
	fmt.Fprintf(b, "%s%sverify: nothing came back: polls=1 server=127.0.0.11 tf_req_id=%s\n", at(verified-0.01), p, req)
	fmt.Fprintf(b, "%s%sverify: nothing came back: polls=2 tf_req_id=%s server=127.0.0.12\n", at(verified), p, req)
}

func TestTimelineReadsTheBlocksProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString("2026-12-07T12:00:00.000Z [INFO]  Terraform version: 1.8.5\n")
	// A plan's warning in the apply (no progress of its own), spread over several lines as Terraform writes it.
	b.WriteString("2026-12-07T12:00:00.500Z [WARN]  provider.terraform-provider-remoteaccess: Response contains warning diagnostic: tf_req_id=plan-1\n  | - 127.0.0.11: 1 main-mode SA\n")
	// Three blocks one after the other (-parallelism=1): each holds at +0.01, purges 0.5 s later and verifies 2 s
	// after that; Terraform starts the next one 0.2, 0.4 s after the end of the last.
	applyLog(&b, "a", 1, 1.01, 1.51, 3.51)
	applyLog(&b, "b", 3.71, 3.72, 4.22, 6.22)
	applyLog(&b, "c", 6.62, 6.63, 7.13, 9.13)
	got, err := parseTimeline(strings.NewReader(b.String()), 1)
	if err != nil {
		t.Fatal(err)
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 0.0015 {
			t.Errorf("%s = %.3f, want %.3f", what, got, want)
		}
	}
	if got.Blocks != 3 {
		t.Errorf("blocks = %d, want 3", got.Blocks)
	}
	near("purge median", got.Purge.Median, 0.5)
	near("verify median", got.Verify.Median, 2)
	near("block median", got.Block.Median, 2.51)
	near("between median", got.Between.Median, 0.4) // of 0.2 and 0.4, the upper middle
	near("between p90", got.Between.P90, 0.4)
	if !strings.Contains(got.markdown(), "verify window 2.00 s (p90 2.00 s)") {
		t.Errorf("markdown = %q", got.markdown())
	}

	if _, err := parseTimeline(strings.NewReader("2026-12-07T12:00:00.000Z [INFO]  Terraform version: 1.8.5\n"), 1); err == nil {
		t.Error("a log without a block's progress: want an error (the apply was not logged at INFO)")
	}
}
