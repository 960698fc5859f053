package elastic

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestMappingDiff(t *testing.T) {
	t.Parallel()
	have := map[string]json.RawMessage{
		"title": json.RawMessage(`{"type":"keyword","fields":{"text":{"type":"text"}}}`),
		"price": json.RawMessage(`{"type":"keyword","fields":{"num":{"type":"double"}}}`),
		"d":     json.RawMessage(`{"type":"date","format":"yyyy-MM-dd","ignore_malformed":true}`),
		"n":     json.RawMessage(`{"type":"long"}`),
	}
	want := map[string]any{
		"title": map[string]any{"type": "text", "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}},
		"price": map[string]any{"type": "double"},
		"d":     map[string]any{"type": "date", "format": "yyyy-MM-dd||epoch_millis", "ignore_malformed": true},
		"n":     map[string]any{"type": "long"},
		"new":   map[string]any{"type": "long"},
	}
	got := mappingDiff(have, want)
	exp := []string{
		`d: date {"format":"yyyy-MM-dd","ignore_malformed":true} -> date {"format":"yyyy-MM-dd||epoch_millis","ignore_malformed":true}`,
		"price: keyword+num -> double",
		"title: keyword+text -> text+keyword",
	}
	if !slices.Equal(got, exp) {
		t.Errorf("mappingDiff:\n got %q\nwant %q", got, exp)
	}
}

func TestSimpleMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything", true},
		{"shop.*", "shop.orders", true},
		{"shop.*", "shopx.orders", false},
		{"*.orders", "shop.orders", true},
		{"s*p.*s", "shop.orders", true},
		{"s*p.*x", "shop.orders", false},
		{"shop.orders", "shop.orders", true},
		{"shop.order", "shop.orders", false},
		{"a?c", "abc", false}, // only * is special
		{"**", "", true},
	} {
		if got := simpleMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("simpleMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
