package remoteaccess

import (
	"errors"
	"slices"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// SplitUnanswered separates, in an error from FanOut, the servers that did not answer (unreachable, or no reply
// before the deadline) from the other failures. Only the former may be tolerated by a reader that asked for it: a
// server that refuses the logon or the TLS handshake, or whose script fails, answered, and hiding that would hide a
// configuration error. It returns the unanswered servers, sorted, and the rest of the error (nil when none).
func SplitUnanswered(err error) (unanswered []string, rest error) {
	var others []error
	for _, se := range serverErrors(err) {
		var we *winrm.Error
		if errors.As(se.Err, &we) && (we.Kind == winrm.KindUnreachable || we.Kind == winrm.KindTimeout) {
			unanswered = append(unanswered, se.Server)
			continue
		}
		others = append(others, se)
	}
	if err != nil && len(serverErrors(err)) == 0 {
		others = append(others, err)
	}
	slices.Sort(unanswered)
	return slices.Compact(unanswered), errors.Join(others...)
}
