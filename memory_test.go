package main

import "testing"

func TestLimitMemoryUnlessSet(t *testing.T) {
	for name, tc := range map[string]struct {
		env       map[string]string
		wantLimit int64
	}{
		"nothing set":         {map[string]string{}, memoryLimit},
		"GOMEMLIMIT set":      {map[string]string{"GOMEMLIMIT": "1GiB"}, 0},
		"GOMEMLIMIT is empty": {map[string]string{"GOMEMLIMIT": ""}, memoryLimit},
	} {
		t.Run(name, func(t *testing.T) {
			var limit int64
			set := limitMemoryUnlessSet(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok },
				func(l int64) int64 { limit = l; return 0 })
			if limit != tc.wantLimit || set != (tc.wantLimit != 0) {
				t.Errorf("limit %d (set %v), want %d", limit, set, tc.wantLimit)
			}
		})
	}
}
