package plugin

import "testing"

func TestLimitMemoryUnlessSet(t *testing.T) {
	for name, tc := range map[string]struct {
		env         map[string]string
		wantLimit   int64
		wantPercent int
	}{
		"nothing set":         {map[string]string{}, memoryLimit, gcPercent},
		"GOMEMLIMIT set":      {map[string]string{"GOMEMLIMIT": "1GiB"}, 0, gcPercent},
		"GOMEMLIMIT is empty": {map[string]string{"GOMEMLIMIT": ""}, memoryLimit, gcPercent},
		"GOGC set":            {map[string]string{"GOGC": "100"}, memoryLimit, 0},
	} {
		t.Run(name, func(t *testing.T) {
			var limit int64
			var percent int
			setLimit, setPercent := limitMemoryUnlessSet(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok },
				func(l int64) int64 { limit = l; return 0 }, func(p int) int { percent = p; return 0 })
			if limit != tc.wantLimit || setLimit != (tc.wantLimit != 0) {
				t.Errorf("limit %d (set %v), want %d", limit, setLimit, tc.wantLimit)
			}
			if percent != tc.wantPercent || setPercent != (tc.wantPercent != 0) {
				t.Errorf("GC percent %d (set %v), want %d", percent, setPercent, tc.wantPercent)
			}
		})
	}
}
