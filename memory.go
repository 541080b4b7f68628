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

// limitMemoryUnlessSet sets memoryLimit unless GOMEMLIMIT chose another; it reports whether it set it.
func limitMemoryUnlessSet(lookup func(string) (string, bool), set func(int64) int64) bool {
	if v, ok := lookup("GOMEMLIMIT"); ok && v != "" {
		return false
	}
	set(memoryLimit)
	return true
}

func limitMemory() { limitMemoryUnlessSet(os.LookupEnv, debug.SetMemoryLimit) }
