package provider

import (
	"context"
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

var (
	_ validator.String = exactNameValidator{}
	_ validator.String = ipAddressValidator{}
)

// exactNameValidator refuses, at plan time, a name the servers could never match exactly: empty, padded, with a
// control character, or with a wildcard character (the provider never matches patterns).
type exactNameValidator struct {
	field string
}

func (exactNameValidator) Description(context.Context) string {
	return "must be an exact name: not empty, no leading or trailing spaces, no control character, no * or ?"
}

func (v exactNameValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v exactNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := remoteaccess.ExactName(v.field, req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid name", err.Error())
	}
}

// ipAddressValidator accepts an IPv4 or IPv6 address without a zone.
type ipAddressValidator struct{}

func (ipAddressValidator) Description(context.Context) string {
	return "must be an IPv4 or IPv6 address"
}

func (v ipAddressValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (ipAddressValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if a, err := netip.ParseAddr(req.ConfigValue.ValueString()); err != nil || a.Zone() != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid IP address",
			req.ConfigValue.ValueString()+" is not an IPv4 or IPv6 address (without a zone).")
	}
}
