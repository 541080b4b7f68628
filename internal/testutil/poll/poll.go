// Package poll waits in tests for a condition that background work makes true, such as a shell that a client or a
// server deletes after an idle period. It asserts an outcome, never a duration: the deadline is generous.
package poll

import (
	"testing"
	"time"
)

// Deadline is how long Until waits before it fails the test.
const Deadline = 15 * time.Second

// Until checks cond every few milliseconds until it holds, and fails the test if it still does not after Deadline.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Deadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
