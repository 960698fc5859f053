package elastic

import "testing"

func TestGenerationOf(t *testing.T) {
	cases := []struct {
		alias, concrete string
		want            int
	}{
		{"x.t", "x.t", 0},
		{"x.t", concreteName("x.t", 1), 1},
		{"x.t", "x.t-g000042", 42},
		{"x.t", "x.t-g1234567", 1234567},
		{"x.t", "x.t-g01", -1},
		{"x.t", "x.tt-g000001", -1},
		{"x.t", "x.t-g000001-g000002", -1},
		{"x.t", "y.t-g000001", -1},
	}
	for _, c := range cases {
		if got := generationOf(c.alias, c.concrete); got != c.want {
			t.Errorf("generationOf(%q, %q) = %d, want %d", c.alias, c.concrete, got, c.want)
		}
	}
}
