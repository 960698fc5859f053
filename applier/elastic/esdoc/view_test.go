package esdoc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/transform"
)

const viewKey = "esdoc-view-test-key-0123456789"

func hmacHex(v string) string {
	m := hmac.New(sha256.New, []byte(viewKey))
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

// viewOf compiles a rule that renames email and note, hashes the key id and email, and
// adds every metadata column, and returns its view of people (id, email, skip, v, note)
// with skip left out.
func viewOf(t *testing.T) (*schema.Table, *transform.View) {
	t.Helper()
	def := &schema.Table{Schema: "shop", Name: "people", Columns: []schema.Column{
		{Name: "id", DataType: "int", ColumnType: "int"},
		{Name: "email", DataType: "varchar", ColumnType: "varchar(100)", CharLength: 100, Nullable: true},
		{Name: "skip", DataType: "int", ColumnType: "int"},
		{Name: "v", DataType: "bigint", ColumnType: "bigint"},
		{Name: "note", DataType: "varchar", ColumnType: "varchar(64)", CharLength: 64, Nullable: true},
	}, Key: []int{0}, KeyIsPrimary: true}
	r, err := transform.Compile(transform.Spec{Rule: 0, Rename: map[string]string{"email": "contact_email", "note": "remark"},
		Hash: []string{"id", "email"}, Metadata: []string{"source_db", "source_table", "commit_time", "gtid"}, Elasticsearch: true},
		func(string) (string, bool) { return viewKey, true })
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.View(def, []int{0, 1, 3, 4}, false)
	if err != nil {
		t.Fatal(err)
	}
	return def, v
}

// TestViewEncoder: documents of a view hold the renamed fields, the hashes of the hashed
// columns (HMAC-SHA256 of the value's text, computed here), the metadata fields of the
// row's origin (a stream transaction: its GTID and commit time; a copy: its GTID set and
// null), and no field of a source name; the _id is the hashed key; projected rows (the
// snapshot's) and full rows (the stream's) give the same document and _id, and a delete's
// key-only row the same _id.
func TestViewEncoder(t *testing.T) {
	t.Parallel()
	def, v := viewOf(t)
	e := NewViewEncoder(mapping.Policy{}, v, Options{})
	full := change.Row{[]byte("42"), []byte("ann@example.com"), []byte("9"), []byte("7"), nil}
	at := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)
	doc, err := e.AppendDoc(nil, full, change.Origin{GTID: "0-1-77", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"` + hmacHex("42") + `","contact_email":"` + hmacHex("ann@example.com") + `","v":7,"remark":null,` +
		`"replicator_source_db":"shop","replicator_source_table":"people","replicator_commit_time":"2023-11-14 22:13:20","replicator_gtid":"0-1-77"}`
	if string(doc) != want {
		t.Errorf("document\n got %s\nwant %s", doc, want)
	}
	id, err := e.AppendID(nil, full)
	if err != nil || string(id) != hmacHex("42") {
		t.Errorf("_id %s (%v), want the key's hash %s", id, err, hmacHex("42"))
	}
	// The snapshot's rows hold the travelling columns only; its metadata shows its GTID set.
	proj := change.Row{full[0], full[1], full[3], full[4]}
	pe := e.Projected()
	pdoc, err := pe.AppendDoc(nil, proj, change.Origin{GTID: "0-1-70"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(pdoc, &got); err != nil {
		t.Fatal(err)
	}
	if got["replicator_gtid"] != "0-1-70" || got["replicator_commit_time"] != nil || got["id"] != hmacHex("42") || got["remark"] != nil {
		t.Errorf("projected document %s", pdoc)
	}
	for _, src := range []string{"email", "note", "skip"} {
		if _, ok := got[src]; ok {
			t.Errorf("projected document has source field %s: %s", src, pdoc)
		}
	}
	if pid, _ := pe.AppendID(nil, proj); string(pid) != string(id) {
		t.Errorf("projected _id %s, full %s", pid, id)
	}
	keyOnly := make(change.Row, len(def.Columns))
	keyOnly[0] = full[0]
	if kid, _ := e.AppendID(nil, keyOnly); string(kid) != string(id) {
		t.Errorf("key-only row's _id %s, full %s", kid, id)
	}
	// The identity view (no transforms) writes what the plain encoder writes.
	iv, err := (*transform.Rules)(nil).View(def, []int{0, 1, 3, 4}, false)
	if err != nil {
		t.Fatal(err)
	}
	plain := NewEncoder(mapping.Policy{}, def, []int{0, 1, 3, 4}, Options{})
	d1, _ := NewViewEncoder(mapping.Policy{}, iv, Options{}).AppendDoc(nil, full, change.Origin{})
	d2, _ := plain.AppendDoc(nil, full, change.Origin{})
	if string(d1) != string(d2) {
		t.Errorf("identity view %s, plain %s", d1, d2)
	}
}

// TestViewProperties: the mapping of a view maps the target names (a hashed column as a
// keyword, a renamed one as its type), the metadata fields as keywords and a date, and
// field_types by source name.
func TestViewProperties(t *testing.T) {
	t.Parallel()
	_, v := viewOf(t)
	props, err := ViewProperties(mapping.Policy{}, v, Options{}, func(c string) string {
		if c == "note" {
			return FieldKeyword
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	kw := map[string]any{"type": "keyword"}
	want := map[string]any{
		"id":                      kw,
		"contact_email":           kw,
		"v":                       map[string]any{"type": "long"},
		"remark":                  kw,
		"replicator_source_db":    kw,
		"replicator_source_table": kw,
		"replicator_commit_time":  map[string]any{"type": "date", "format": "yyyy-MM-dd HH:mm:ss||yyyy-MM-dd||strict_date_optional_time||epoch_millis", "ignore_malformed": true},
		"replicator_gtid":         map[string]any{"type": "keyword", "ignore_above": esKeywordMax},
	}
	if !reflect.DeepEqual(props, want) {
		t.Errorf("properties\n got %v\nwant %v", props, want)
	}
}

// TestPreparedRow: a prepared row (the view's row made once, the hashed key hashed once)
// gives the _id and document AppendID and AppendDoc give, for full and projected rows,
// with and without a fan-in source leading the key.
func TestPreparedRow(t *testing.T) {
	t.Parallel()
	def, v := viewOf(t)
	fan, err := transform.Compile(transform.Spec{Rule: 0, Hash: []string{"id"}, FanIn: "replicator_source", Elasticsearch: true},
		func(string) (string, bool) { return viewKey, true })
	if err != nil {
		t.Fatal(err)
	}
	fv, err := fan.View(def, []int{0, 1, 3, 4}, true)
	if err != nil {
		t.Fatal(err)
	}
	o := change.Origin{GTID: "0-1-9", Time: time.Unix(1700000000, 0)}
	full := change.Row{[]byte("7"), []byte("a@b.c"), []byte("x"), []byte("12"), nil}
	sel := change.Row{[]byte("7"), []byte("a@b.c"), []byte("12"), nil}
	for name, view := range map[string]*transform.View{"transforms": v, "fan-in": fv} {
		for _, e := range []*Encoder{NewViewEncoder(mapping.Policy{}, view, Options{}), NewViewEncoder(mapping.Policy{}, view, Options{}).Projected()} {
			row := full
			if e.projected {
				row = sel
			}
			wantID, err1 := e.AppendID(nil, row)
			wantDoc, err2 := e.AppendDoc(nil, row, o)
			p := e.Prepare(row, o)
			id, err3 := e.AppendPreparedID(nil, p)
			doc, err4 := e.AppendPreparedDoc(nil, p)
			if err1 != nil || err2 != nil || err3 != nil || err4 != nil || string(id) != string(wantID) || string(doc) != string(wantDoc) {
				t.Errorf("%s (projected %v): prepared %s %s, want %s %s (%v %v %v %v)", name, e.projected, id, doc, wantID, wantDoc, err1, err2, err3, err4)
			}
		}
	}
	plain := NewEncoder(mapping.Policy{}, def, []int{0, 1, 3}, Options{})
	wantID, _ := plain.AppendID(nil, full)
	if id, err := plain.AppendPreparedID(nil, plain.Prepare(full, o)); err != nil || string(id) != string(wantID) {
		t.Errorf("without transforms: prepared id %s (%v), want %s", id, err, wantID)
	}
}
