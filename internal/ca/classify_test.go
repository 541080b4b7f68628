package ca

import (
	"errors"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// ReadError says "the change was made, its read-back failed" only from a script that writes (ca-revoke, ca-unrevoke):
// a read-only script failing with PowerShell's own ReadError category changed nothing.
func TestReadErrorIsAnOutcomeUnknownOnlyFromAWrite(t *testing.T) {
	failed := &winrm.Error{Kind: winrm.KindScript, Category: "ReadError", Target: "serial", Message: "reading failed"}
	if err := classify(failed, true); !IsOutcomeUnknown(err) || !errors.Is(err, ErrReadBackFailed) {
		t.Errorf("ReadError from a write = %v; want ErrReadBackFailed, an outcome unknown", err)
	}
	if err := classify(failed, false); IsOutcomeUnknown(err) || errors.Is(err, ErrReadBackFailed) {
		t.Errorf("ReadError from a read = %v; want a plain script error", err)
	}
}
