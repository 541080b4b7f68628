package main

import (
	"os"
	"runtime/debug"
)

// memoryLimit is the soft limit of the plugin's heap. A plan allocates, in the framework, about a megabyte for each
// block in state, and with Terraform's parallel requests the plugin's resident set peaked at about 160 MiB in a plan
// of 1,000 blocks; under this limit it stays under 100 MiB (the rest of the resident set is code and stacks), for
// some more work of the garbage collector near the limit (see README, Performance). GOMEMLIMIT overrides it.
const memoryLimit = 80 << 20

// gcPercent lets the heap grow to five times what is live before a collection: a plan's heap is mostly short-lived
// request data, and with Go's default (100) the collector took about a third of the plugin's CPU in a plan of 1,000
// blocks. memoryLimit still bounds the heap. GOGC overrides it.
const gcPercent = 400

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

func limitMemory() { limitMemoryUnlessSet(os.LookupEnv, debug.SetMemoryLimit, debug.SetGCPercent) }
