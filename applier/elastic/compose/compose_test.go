package compose

import (
	"encoding/json"
	"testing"
)

func src(s string) Source {
	var m Source
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		panic(err)
	}
	return m
}

func TestDoc(t *testing.T) {
	s := &Spec{
		Index:   "films",
		Root:    Table{Name: "db.film", Index: "db.film", Key: "film_id"},
		Columns: []string{"title"},
		Lookups: []Lookup{{Field: "language", Table: Table{Key: "language_id"}, RootCol: "language_id", Columns: []string{"name"}}},
		Nested: []Nested{{Field: "actors", Table: Table{Key: "actor_id"}, Through: &Through{Parent: "film_id", Child: "actor_id"}, Columns: []string{"last_name"}},
			{Field: "notes", Table: Table{Key: "id"}, On: "film_id"}},
	}
	doc, err := s.Doc(Parts{
		Root:    src(`{"film_id":7,"title":"A","language_id":1,"length":90}`),
		Lookups: []Source{src(`{"language_id":1,"name":"English"}`)},
		Nested: [][]Source{
			{src(`{"actor_id":10,"last_name":"X","first_name":"f"}`), src(`{"actor_id":9,"last_name":"Y"}`), src(`{"actor_id":-3,"last_name":"Z"}`)},
			{src(`{"id":2,"film_id":7,"b":1,"a":"x"}`)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"film_id":7,"title":"A","language":{"name":"English"},"actors":[{"actor_id":-3,"last_name":"Z"},{"actor_id":9,"last_name":"Y"},{"actor_id":10,"last_name":"X"}],"notes":[{"a":"x","b":1,"film_id":7,"id":2}]}`
	if string(doc) != want {
		t.Errorf("doc\n got %s\nwant %s", doc, want)
	}
	doc, err = s.Doc(Parts{Root: src(`{"film_id":8,"title":null}`), Lookups: []Source{nil}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"film_id":8,"title":null,"language":null,"actors":[],"notes":[]}`; string(doc) != want {
		t.Errorf("doc\n got %s\nwant %s", doc, want)
	}
}

func TestKeys(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"9", "10", -1}, {"10", "9", 1}, {"-10", "-9", -1}, {"-1", "0", -1}, {`"18446744073709551615"`, "1", 1}, {"5", "5", 0}} {
		got, err := CompareKeys(json.RawMessage(c.a), json.RawMessage(c.b))
		if err != nil || (got < 0) != (c.want < 0) || (got > 0) != (c.want > 0) {
			t.Errorf("CompareKeys(%s, %s) = %d, %v; want sign %d", c.a, c.b, got, err, c.want)
		}
	}
	if _, ok, err := KeyText(json.RawMessage("null")); ok || err != nil {
		t.Errorf("null: ok %v err %v", ok, err)
	}
	if _, _, err := KeyText(json.RawMessage(`"abc"`)); err == nil {
		t.Error("text key accepted")
	}
}
