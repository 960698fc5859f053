package elastic

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
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

// TestWithOwnMeta: a mapping taken over from another index names this replicator in
// _meta.replicator, keeps the rest of _meta and the fields, and drops the settings a
// snapshot recorded there.
func TestWithOwnMeta(t *testing.T) {
	t.Parallel()
	tg := &Target{cfg: &config.Config{}}
	tg.cfg.State.Name, tg.cfg.State.Index = "default", "replicator-state"
	from := json.RawMessage(`{"dynamic":"strict","_meta":{"team":"search","replicator":{"source":"shop.a","name":"other","restore":{"refresh_interval":"5s"}}},"properties":{"id":{"type":"long"}}}`)
	for _, tc := range []struct {
		in   json.RawMessage
		def  *schema.Table
		want string
	}{
		{from, nil, `{"_meta":{"replicator":{"source":"shop.a","name":"default","state":"replicator-state"},"team":"search"},"dynamic":"strict","properties":{"id":{"type":"long"}}}`},
		{from, &schema.Table{Schema: "shop", Name: "b"}, `{"_meta":{"replicator":{"source":"shop.b","name":"default","state":"replicator-state"},"team":"search"},"dynamic":"strict","properties":{"id":{"type":"long"}}}`},
		{json.RawMessage(`{"properties":{}}`), nil, `{"_meta":{"replicator":{"source":"","name":"default","state":"replicator-state"}},"properties":{}}`},
	} {
		got, err := tg.withOwnMeta(tc.in, tc.def)
		if err != nil || string(got) != tc.want {
			t.Errorf("withOwnMeta(%s) = %s, %v\nwant %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := tg.withOwnMeta(json.RawMessage(`[1]`), nil); err == nil {
		t.Error("withOwnMeta of a mapping that is no object: no error")
	}
}
