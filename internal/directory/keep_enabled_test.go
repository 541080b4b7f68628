package directory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// A block that keeps the account enabled is only a hold line (account=enabled): the account stays enabled. A
// disabling block beside it disables the account, and its release enables the account again although the
// remote-access-only block still holds it; that block's release leaves userAccountControl alone.
func TestKeepEnabledHoldNeverDisables(t *testing.T) {
	l, c := startDirectoryLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	find := func() directory.Account {
		a, err := c.FindComputer(ctx, "CLIENT1")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	disabled := func() bool { uac, _, _ := labAccount(t, l, "CLIENT1$"); return uac&directory.UFAccountDisable != 0 }
	keep := directory.HoldRequest{Record: true, Hold: directory.Hold{ID: "keep", Since: time.Now(), KeepsEnabled: true}}
	if res, err := c.Hold(ctx, find(), keep); err != nil || !res.Recorded || disabled() || !res.Account.Enabled() {
		t.Fatalf("keep-enabled hold: %+v, %v; disabled in the lab %v; want recorded and enabled", res, err, disabled())
	}
	if _, info, _ := labAccount(t, l, "CLIENT1$"); !strings.Contains(info, "id=keep") || !strings.Contains(info, "account=enabled") {
		t.Fatalf("the record in info does not carry the keep-enabled hold: %q", info)
	}
	if _, err := c.Hold(ctx, find(), directory.HoldRequest{Record: true, Hold: directory.Hold{ID: "off", Since: time.Now()}}); err != nil || !disabled() {
		t.Fatalf("disabling hold: %v, disabled %v", err, disabled())
	}
	if res, err := c.Release(ctx, find(), "off", true); err != nil || !res.Enabled || disabled() || len(res.OtherHolds) != 1 {
		t.Fatalf("release of the disabling hold: %+v, %v; want the account enabled, the keep-enabled hold left", res, err)
	}
	if _, err := c.Hold(ctx, find(), directory.HoldRequest{Record: true, Hold: directory.Hold{ID: "off2", Since: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Release(ctx, find(), "keep", false); err != nil || res.Enabled || !disabled() {
		t.Fatalf("release of the keep-enabled hold under a disabling one: %+v, %v; want the account still disabled", res, err)
	}
}
