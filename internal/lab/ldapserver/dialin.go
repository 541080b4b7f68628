package ldapserver

import "github.com/jimlambrt/gldap"

// attrDialIn is a user's Network Access Permission (the Dial-in tab): a single-valued Boolean, TRUE or FALSE, or
// absent (internal/lab/WINDOWS.md, Dial-in).
const attrDialIn = "msNPAllowDialin"

// applyDialIn applies the changes to msNPAllowDialin with the Boolean syntax: only TRUE or FALSE, one value at most.
func applyDialIn(cur *entry, changes []change, permissive bool) (*entry, error) {
	for _, c := range changes {
		if c.op == gldap.DeleteAttribute { // a delete names the value it removes
			continue
		}
		for _, v := range c.values {
			if v != "TRUE" && v != "FALSE" {
				return nil, errInvalidSyntax(attrDialIn)
			}
		}
	}
	values, err := applyValues(attrDialIn, syntaxString, cur.get(attrDialIn), changes, permissive)
	if err != nil {
		return nil, err
	}
	if len(values) > 1 {
		return nil, errConstraint(attrDialIn)
	}
	return cur.with(attrDialIn, values...), nil
}
