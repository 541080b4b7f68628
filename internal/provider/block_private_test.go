package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
)

// memPrivate is a resource's private state in memory.
type memPrivate map[string][]byte

func (m memPrivate) GetKey(_ context.Context, key string) ([]byte, diag.Diagnostics) {
	return m[key], nil
}

func (m memPrivate) SetKey(_ context.Context, key string, value []byte) diag.Diagnostics {
	m[key] = value
	return nil
}

// The hold id is chosen once, before anything is written, and kept in private state: a retry or the next apply
// that finds no hold_id in state (a lost reply, a record that was not written) uses the same id, so that it
// recognises its own hold on the account instead of adding a second one.
func TestHoldIDIsChosenOnceAndKept(t *testing.T) {
	ctx := context.Background()
	var diags diag.Diagnostics
	created := memPrivate{}
	id := holdID(ctx, types.StringNull(), nil, created, &diags)
	if len(id) != 16 || len(created[privateHoldKey]) == 0 {
		t.Fatalf("new hold id %q, private state %q; want 16 hex digits saved before the write", id, created)
	}
	if again := holdID(ctx, types.StringNull(), created, memPrivate{}, &diags); again != id {
		t.Errorf("the next apply chose %q; want the hold id saved in private state, %q", again, id)
	}
	if inState := holdID(ctx, types.StringValue("0123456789abcdef"), created, memPrivate{}, &diags); inState != "0123456789abcdef" {
		t.Errorf("hold id %q; want the one in state", inState)
	}
	if diags.HasError() {
		t.Fatal(diags)
	}
}

// purged adds up what each purge removed, server by server: the apply that completes a pending block purges servers
// that an earlier apply purged already (every server, after a verify window cut short), and what that one removed
// stays counted.
func TestPurgedCountsAddUpOverApplies(t *testing.T) {
	ctx := context.Background()
	r := newBlockedDevice()
	var m blockedDeviceModel
	counts := func(mm, qm, vpn int64) attr.Value {
		return types.ObjectValueMust(purgedType.AttrTypes, map[string]attr.Value{
			"main_mode_sas": types.Int64Value(mm), "quick_mode_sas": types.Int64Value(qm), "vpn_connections": types.Int64Value(vpn)})
	}
	m.Purged = types.MapValueMust(purgedType, map[string]attr.Value{"ras1": counts(1, 2, 0)})
	var diags diag.Diagnostics
	r.ops.record(ctx, &m, block.Outcome{Purged: map[string]block.Counts{
		"ras1": {}, "ras2": {MainModeSAs: 1, QuickModeSAs: 1, VPNConnections: 1},
	}}, &diags)
	if diags.HasError() {
		t.Fatal(diags)
	}
	want := types.MapValueMust(purgedType, map[string]attr.Value{"ras1": counts(1, 2, 0), "ras2": counts(1, 1, 1)})
	if !m.Purged.Equal(want) {
		t.Errorf("purged %s; want %s", m.Purged, want)
	}
}
