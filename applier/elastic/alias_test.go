package elastic

import (
	"strings"
	"testing"
	"unicode/utf8"
)

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

func TestWriteAliasName(t *testing.T) {
	long := strings.Repeat("é", 123) + "-g000001" // 254 bytes
	for _, concrete := range []string{"shop.orders-g000001", long, strings.Repeat("a", 247) + "-g000001"} {
		a, b := newWriteAlias(concrete), newWriteAlias(concrete)
		switch {
		case a == b:
			t.Errorf("%q: two write aliases named alike: %s", concrete, a)
		case len(a) > 255 || !utf8.ValidString(a):
			t.Errorf("%q: write alias %q: %d bytes, valid UTF-8 %v", concrete, a, len(a), utf8.ValidString(a))
		case !strings.HasPrefix(a, writeAliasPrefix(concrete)) || len(a) != len(writeAliasPrefix(concrete))+8:
			t.Errorf("%q: write alias %q does not carry the prefix %q and 8 hex digits", concrete, a, writeAliasPrefix(concrete))
		}
	}
	if got := newWriteAlias("shop.orders-g000001"); !strings.HasPrefix(got, "shop.orders-g000001.w-") {
		t.Errorf("write alias %q, want shop.orders-g000001.w-XXXXXXXX", got)
	}
}
