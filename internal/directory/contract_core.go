package directory

import (
	"errors"
	"fmt"
)

// The types below are the names the block core codes against; the directory's own change defines them, and this
// file goes at merge in favour of it. They carry no behaviour.

// ErrDeleted is an account that was deleted (a tombstone): there is nothing left to release.
var ErrDeleted = errors.New("directory: account deleted")

// OutcomeUnknownError is a Modify that was sent and whose reply was lost, and that a re-read could not settle.
type OutcomeUnknownError struct {
	DN  string
	Err error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("the change of %s was sent but its outcome is unknown: %v", e.DN, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// UnreadableRecordError is a block record whose section was edited so that it cannot be read: nothing was changed.
type UnreadableRecordError struct {
	DN  string
	Err error
}

func (e *UnreadableRecordError) Error() string {
	return fmt.Sprintf("the block record on %s cannot be read: %v", e.DN, e.Err)
}

func (e *UnreadableRecordError) Unwrap() error { return e.Err }
