package snapshot

import (
	"math"
	"testing"
)

func TestEvenChunks(t *testing.T) {
	cases := []struct {
		name                    string
		lo, hi, estimate        int64
		chunkRows               int
		wantChunks              int // 0: nil (walk the index instead)
		wantFirstHi, wantLastLo int64
	}{
		{"dense sysbench", 1, 1000000, 1000000, 100000, 10, 100000, 900000},
		{"two thirds dense", 1, 1500000, 1000000, 100000, 10, 150000, 1350000},
		{"estimate above the span", 1, 1000, 1500, 100, 15, 67, 938},
		{"negative keys", -500, 499, 1000, 100, 10, -401, 399},
		{"at the top of int64", math.MaxInt64 - 999, math.MaxInt64, 1000, 100, 10, math.MaxInt64 - 900, math.MaxInt64 - 100},
		{"sparse", 1, 10000000, 1000000, 100000, 0, 0, 0},
		{"span overflows", -math.MaxInt64, math.MaxInt64, 1000000, 100000, 0, 0, 0},
		{"lowest int64", math.MinInt64, math.MinInt64 + 999, 1000, 100, 0, 0, 0},
		{"no estimate", 1, 1000, 0, 100, 0, 0, 0},
	}
	for _, tc := range cases {
		got := evenChunks(tc.lo, tc.hi, tc.estimate, tc.chunkRows)
		if tc.wantChunks == 0 {
			if got != nil {
				t.Errorf("%s: %d chunks, want nil", tc.name, len(got))
			}
			continue
		}
		if len(got) != tc.wantChunks {
			t.Fatalf("%s: %d chunks, want %d", tc.name, len(got), tc.wantChunks)
		}
		// The chunks must partition every key: open at both ends, each starting where the
		// previous one ends.
		if got[0].Lo != nil || got[len(got)-1].Hi != nil {
			t.Errorf("%s: ends not open", tc.name)
		}
		for i := range got {
			if got[i].ID != i {
				t.Errorf("%s: chunk %d has ID %d", tc.name, i, got[i].ID)
			}
			if i > 0 && (got[i].Lo == nil || got[i-1].Hi == nil || *got[i].Lo != *got[i-1].Hi || (i > 1 && *got[i-1].Hi <= *got[i-1].Lo)) {
				t.Fatalf("%s: chunk %d does not continue chunk %d", tc.name, i, i-1)
			}
		}
		if *got[0].Hi != tc.wantFirstHi || *got[len(got)-1].Lo != tc.wantLastLo {
			t.Errorf("%s: first chunk ends at %d, last starts after %d; want %d and %d", tc.name, *got[0].Hi, *got[len(got)-1].Lo, tc.wantFirstHi, tc.wantLastLo)
		}
	}
}
