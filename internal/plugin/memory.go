package plugin

import (
	"os"
	"runtime/debug"
)

// memoryLimit is the soft limit of the plugin's heap. A plan allocates, in the framework, about a megabyte for each
// block in state, nearly all of it short-lived: with the requests' contexts let go of (internal/provider,
// request_contexts.go) the live heap stays at a few megabytes, and this limit only bounds the heap should that ever
// change (see README, Performance). GOMEMLIMIT overrides it.
const memoryLimit = 80 << 20

// gcPercent lets the heap grow to four times what is live before a collection: on a plan of 1,000 blocks, with Go's
// default (100) and with 200, 300 and 400 the plan took 7.8, 7.1, 6.7 and 6.7 s, and the plugin's resident set peaked
// at 37, 46, 54 and 63 MiB (medians of three, interleaved). GOGC overrides it.
const gcPercent = 300

// limitMemoryUnlessSet sets memoryLimit unless GOMEMLIMIT chose another, and gcPercent unless GOGC did; it reports
// whether it set each.
func limitMemoryUnlessSet(lookup func(string) (string, bool), setLimit func(int64) int64, setPercent func(int) int) (limit, percent bool) {
	if v, ok := lookup("GOMEMLIMIT"); !ok || v == "" {
		setLimit(memoryLimit)
		limit = true
	}
	if v, ok := lookup("GOGC"); !ok || v == "" {
		setPercent(gcPercent)
		percent = true
	}
	return limit, percent
}

// LimitMemory sets the plugin's memory limit and collector pace (limitMemoryUnlessSet).
func LimitMemory() { limitMemoryUnlessSet(os.LookupEnv, debug.SetMemoryLimit, debug.SetGCPercent) }
