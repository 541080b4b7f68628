package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// validateBlock validates a device block's configuration with reason and ticket as Terraform does, and returns its
// diagnostics.
func validateBlock(t *testing.T, reason, ticket string) []*tfprotov6.Diagnostic {
	t.Helper()
	ctx := context.Background()
	server, schemas := configuredProvider(t, nil)
	config := deviceConfigValue(t, schemas.ResourceSchemas["remoteaccess_blocked_device"].ValueType(), map[string]tftypes.Value{
		"computer_name": tftypes.NewValue(tftypes.String, "LAPTOP-0042"),
		"reason":        tftypes.NewValue(tftypes.String, reason),
		"ticket":        tftypes.NewValue(tftypes.String, ticket),
	})
	resp, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "remoteaccess_blocked_device", Config: config})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Diagnostics
}

// The account's block record keeps "[ticket] reason" in 200 UTF-16 code units: a reason it will shorten is a warning
// at plan time that shows what the record keeps (the state keeps it whole), and a ticket too long to leave room for
// the reason (it goes first) is an error. An emoji counts two code units, as Active Directory counts it.
func TestALongReasonIsAWarningAndALongTicketAnError(t *testing.T) {
	for name, tc := range map[string]struct {
		reason, ticket string
		warning, err   string
	}{
		"short":                        {reason: "reported stolen at the airport", ticket: "INC-1"},
		"fits exactly":                 {reason: strings.Repeat("r", 200-len("[INC-1] ")), ticket: "INC-1"},
		"accents fit (one unit each)":  {reason: strings.Repeat("é", 200-len("[INC-1] ")), ticket: "INC-1"},
		"an emoji over the limit":      {reason: strings.Repeat("r", 200-len("[INC-1] ")-1) + "📱", ticket: "INC-1", warning: `"[INC-1] rrr`},
		"long reason":                  {reason: strings.Repeat("stolen ", 500), ticket: "INC-1", warning: `"[INC-1] stolen stolen`},
		"longest ticket leaves reason": {reason: strings.Repeat("stolen ", 50), ticket: strings.Repeat("T", 128), warning: "] stolen"},
		"ticket too long":              {reason: "stolen", ticket: strings.Repeat("T", 129), err: "128"},
	} {
		t.Run(name, func(t *testing.T) {
			var warnings, errs []string
			for _, d := range validateBlock(t, tc.reason, tc.ticket) {
				if d.Severity == tfprotov6.DiagnosticSeverityError {
					errs = append(errs, d.Summary+": "+d.Detail)
				} else {
					warnings = append(warnings, d.Summary+": "+d.Detail)
				}
			}
			if (tc.err == "") != (len(errs) == 0) || (tc.err != "" && !strings.Contains(errs[0], tc.err)) {
				t.Errorf("errors %q; want one naming %q", errs, tc.err)
			}
			if (tc.warning == "") != (len(warnings) == 0) || (tc.warning != "" && !strings.Contains(warnings[0], tc.warning)) {
				t.Errorf("warnings %q; want one showing %q", warnings, tc.warning)
			}
		})
	}
}
