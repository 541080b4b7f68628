package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/tcp"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// errorSummaries are the summaries of the error diagnostics.
func errorSummaries(diags []*tfprotov6.Diagnostic) []string {
	var out []string
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			out = append(out, d.Summary+"\n"+d.Detail)
		}
	}
	return out
}

// A directory that does not answer is named as such, with what was being done: refreshing a block, or lifting it on
// destroy (which leaves it in state), never "securely to block", which sent the operator to the TLS settings for a
// hung domain controller.
func TestAnUnansweringDirectoryIsNamedForWhatWasBeingDone(t *testing.T) {
	ctx := context.Background()
	server, schemas := configuredProvider(t, map[string]any{
		"ldap": map[string]any{"urls": []string{"ldaps://" + tcp.Silent(t)}, "bind_username": "svc@corp.example", "bind_password": "x",
			"timeout": "300ms"},
	})
	typ := schemas.ResourceSchemas["remoteaccess_blocked_device"].ValueType()
	state, _ := blockedDeviceState(t)
	prior, err := tfprotov6.NewDynamicValue(typ, state.Raw)
	if err != nil {
		t.Fatal(err)
	}
	read, err := server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "remoteaccess_blocked_device", CurrentState: &prior})
	if err != nil {
		t.Fatal(err)
	}
	want := func(what string, got []string, title, detail string) {
		t.Helper()
		if len(got) != 1 || !strings.HasPrefix(got[0], title) || !strings.Contains(got[0], detail) || strings.Contains(got[0], "securely") {
			t.Errorf("%s: errors %q; want %q, saying %q", what, got, title, detail)
		}
	}
	want("refresh", errorSummaries(read.Diagnostics), `Cannot reach Active Directory to read the block of the computer "LAPTOP-0042"`,
		"then plan again")

	null, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
	if err != nil {
		t.Fatal(err)
	}
	destroyed, err := server.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{
		TypeName: "remoteaccess_blocked_device", PriorState: &prior, PlannedState: &null, Config: &null,
	})
	if err != nil {
		t.Fatal(err)
	}
	want("destroy", errorSummaries(destroyed.Diagnostics), `Cannot reach Active Directory to lift the block of the computer "LAPTOP-0042"`,
		"the block stays in state")
}
