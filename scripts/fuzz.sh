#!/usr/bin/env bash
# make fuzz: runs every fuzz target of the repository (each `func FuzzXxx` in a _test.go file) for FUZZTIME
# (default 10s) on top of its committed seed corpus in testdata/fuzz/. A target fails when Go reports a failing input;
# Go 1.26 can also end a clean run with a bare "context deadline exceeded" when -fuzztime runs out while a worker
# is busy (golang/go#75804), which is told apart by the absence of a failing input and not counted as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10s}
passed=0
failed=0
# corpus_size counts a target's committed inputs; a target may have none yet (its seeds are f.Add calls).
corpus_size() {
  if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi
}
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' internal | xargs -n1 dirname | sort -u); do
  for target in $(go test -list '^Fuzz' "./$dir" | grep '^Fuzz'); do
    corpus="$dir/testdata/fuzz/$target"
    before=$(corpus_size "$corpus")
    log=$(mktemp)
    if go test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "./$dir" >"$log" 2>&1; then
      echo "ok   $target ($dir): $(grep -o 'execs: [0-9]*' "$log" | tail -1)"
      passed=$((passed + 1))
    elif [ "$(corpus_size "$corpus")" = "$before" ] && grep -q '^    context deadline exceeded$' "$log" &&
      ! grep -q 'Failing input written' "$log"; then
      echo "ok   $target ($dir): $(grep -o 'execs: [0-9]*' "$log" | tail -1) (ended by Go's fuzztime deadline race)"
      passed=$((passed + 1))
    else
      echo "FAIL $target ($dir)"
      cat "$log"
      failed=$((failed + 1))
    fi
    rm -f "$log"
  done
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
