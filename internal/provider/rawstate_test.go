package provider

import (
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The plan benchmarks look at a few attributes of the protocol's raw values.

// rawAttributes are the top-level attributes of a state, plan or identity value; none when it is null.
func rawAttributes(v tftypes.Value) (map[string]tftypes.Value, error) {
	if v.IsNull() || !v.IsKnown() {
		return map[string]tftypes.Value{}, nil
	}
	var attrs map[string]tftypes.Value
	if err := v.As(&attrs); err != nil {
		return nil, err
	}
	return attrs, nil
}

// rawString is a string attribute's value, "" when it is null, unknown or missing.
func rawString(v tftypes.Value) string {
	var s *string
	if !v.IsKnown() || v.As(&s) != nil || s == nil {
		return ""
	}
	return *s
}

// rawBool is a bool attribute's value, false when it is null, unknown or missing.
func rawBool(v tftypes.Value) bool {
	var b *bool
	if !v.IsKnown() || v.As(&b) != nil || b == nil {
		return false
	}
	return *b
}

// rawLen is the number of elements of a list, set or map attribute, 0 when it is null, unknown or missing.
func rawLen(v tftypes.Value) int {
	if !v.IsKnown() || v.IsNull() {
		return 0
	}
	var elems []tftypes.Value
	if err := v.As(&elems); err == nil {
		return len(elems)
	}
	var m map[string]tftypes.Value
	if err := v.As(&m); err == nil {
		return len(m)
	}
	return 0
}
