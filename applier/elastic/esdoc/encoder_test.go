package esdoc

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

func TestEncoderValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		col  schema.Column
		opts Options
		in   []byte
		want string
	}{
		{schema.Column{DataType: "int"}, Options{}, []byte("-2147483648"), `-2147483648`},
		{schema.Column{DataType: "bigint", Unsigned: true}, Options{UnsignedLong: true}, []byte("18446744073709551615"), `18446744073709551615`},
		{schema.Column{DataType: "bigint", Unsigned: true}, Options{}, []byte("18446744073709551615"), `"18446744073709551615"`},
		{schema.Column{DataType: "decimal", Precision: 65, Scale: 30}, Options{}, []byte("-12345678901234567890123456789012345.123456789012345678901234567890"), `"-12345678901234567890123456789012345.123456789012345678901234567890"`},
		{schema.Column{DataType: "decimal", Precision: 5, Scale: 2}, Options{}, []byte("1.50"), `"1.50"`},
		{schema.Column{DataType: "float"}, Options{}, []byte("1e+20"), `1e+20`},
		{schema.Column{DataType: "double"}, Options{}, []byte("-1.5e-07"), `-1.5e-07`},
		{schema.Column{DataType: "year"}, Options{}, []byte("0000"), `0`},
		{schema.Column{DataType: "year"}, Options{}, []byte("2006"), `2006`},
		{schema.Column{DataType: "varchar"}, Options{}, []byte("a\"b\\c\td\ne\x01😀<&>"), `"a\"b\\c\td\ne\u0001😀<&>"`},
		{schema.Column{DataType: "char"}, Options{}, []byte(""), `""`},
		{schema.Column{DataType: "enum"}, Options{}, []byte("G"), `"G"`},
		{schema.Column{DataType: "set"}, Options{}, []byte("Trailers,Deleted Scenes"), `["Trailers","Deleted Scenes"]`},
		{schema.Column{DataType: "set"}, Options{}, []byte(""), `[]`},
		{schema.Column{DataType: "set"}, Options{}, []byte("a,,b"), `["a","","b"]`},
		{schema.Column{DataType: "blob"}, Options{}, []byte{0, 1, 0xff, '\\'}, `"AAH/XA=="`},
		{schema.Column{DataType: "geometry"}, Options{}, []byte{0, 0, 0, 0, 1, 1}, `"AAAAAAEB"`},
		{schema.Column{DataType: "date"}, Options{}, []byte("0000-00-00"), `"0000-00-00"`},
		{schema.Column{DataType: "datetime", FracDigits: 6}, Options{}, []byte("2020-01-02 03:04:05.123456"), `"2020-01-02 03:04:05.123456"`},
		{schema.Column{DataType: "timestamp"}, Options{}, []byte("2006-02-15 04:34:33"), `"2006-02-15 04:34:33"`},
		{schema.Column{DataType: "time", FracDigits: 1}, Options{}, []byte("-838:59:59.0"), `"-838:59:59.0"`},
		{schema.Column{DataType: "bit", Precision: 1}, Options{}, []byte{1}, `1`},
		{schema.Column{DataType: "bit", Precision: 10}, Options{}, []byte{0x02, 0x01}, `513`},
		{schema.Column{DataType: "bit", Precision: 64}, Options{UnsignedLong: true}, []byte{0x80, 0, 0, 0, 0, 0, 0, 1}, `9223372036854775809`},
		{schema.Column{DataType: "bit", Precision: 64}, Options{}, []byte{0x80, 0, 0, 0, 0, 0, 0, 1}, `"9223372036854775809"`},
		{schema.Column{DataType: "json"}, Options{}, []byte(`{"a": [1, "x\ny"]}`), `{"a": [1, "x\ny"]}`},
		{schema.Column{DataType: "json"}, Options{}, []byte(`42`), `42`},
		{schema.Column{DataType: "longtext"}, Options{}, []byte(`{"mariadb":"json is longtext"}`), `"{\"mariadb\":\"json is longtext\"}"`},
	}
	for _, tc := range cases {
		col := tc.col
		col.Name = "c"
		tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{col}, Key: []int{0}}
		e := NewEncoder(mapping.Policy{}, tbl, []int{0}, tc.opts)
		got, err := e.AppendDoc(nil, change.Row{tc.in}, change.Origin{})
		if err != nil {
			t.Errorf("%s %q: %v", col.DataType, tc.in, err)
			continue
		}
		if want := `{"c":` + tc.want + `}`; string(got) != want {
			t.Errorf("%s %q:\n got  %s\n want %s", col.DataType, tc.in, got, want)
		}
		if !json.Valid(got) {
			t.Errorf("%s %q: invalid JSON %s", col.DataType, tc.in, got)
		}
	}
}

func TestEncoderRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		col schema.Column
		in  []byte
	}{
		{schema.Column{DataType: "int"}, []byte("012")},
		{schema.Column{DataType: "double"}, []byte("NaN")},
		{schema.Column{DataType: "varchar"}, []byte{0xff, 0xfe}},
		{schema.Column{DataType: "json"}, []byte(`{"a":`)},
		{schema.Column{DataType: "year"}, []byte("x")},
	}
	for _, tc := range cases {
		col := tc.col
		col.Name = "c"
		tbl := &schema.Table{Columns: []schema.Column{col}, Key: []int{0}}
		if _, err := NewEncoder(mapping.Policy{}, tbl, []int{0}, Options{}).AppendDoc(nil, change.Row{tc.in}, change.Origin{}); err == nil || !strings.Contains(err.Error(), "column c") {
			t.Errorf("%s %q: error %v, want one naming the column", col.DataType, tc.in, err)
		}
	}
}

func TestESDocumentAndIDs(t *testing.T) {
	t.Parallel()
	tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{
		{Name: "a", DataType: "int"},
		{Name: "skip", DataType: "int"},
		{Name: "b", DataType: "varchar"},
		{Name: "bin", DataType: "varbinary"},
		{Name: "n", DataType: "varchar"},
	}, Key: []int{0, 2}}
	row := change.Row{[]byte("7"), []byte("x"), []byte(`q"uo,te`), []byte{0xff}, nil}
	e := NewEncoder(mapping.Policy{}, tbl, []int{0, 2, 3, 4}, Options{})
	doc, err := e.AppendDoc(nil, row, change.Origin{})
	if err != nil || string(doc) != `{"a":7,"b":"q\"uo,te","bin":"/w==","n":null}` {
		t.Errorf("doc %s, %v", doc, err)
	}
	id, err := e.AppendID(nil, row)
	if err != nil || string(id) != `["7","q\"uo,te"]` {
		t.Errorf("composite id %s, %v", id, err)
	}
	// Projected rows (the snapshot's) give the same document and id.
	proj := change.Row{row[0], row[2], row[3], row[4]}
	pe := e.Projected()
	if d2, _ := pe.AppendDoc(nil, proj, change.Origin{}); string(d2) != string(doc) {
		t.Errorf("projected doc %s", d2)
	}
	if id2, _ := pe.AppendID(nil, proj); string(id2) != string(id) {
		t.Errorf("projected id %s", id2)
	}
	// Composite ids that would collide if joined with a separator stay apart.
	r1 := change.Row{[]byte("1"), nil, []byte(`2","3`), nil, nil}
	r2 := change.Row{[]byte(`1","2`), nil, []byte("3"), nil, nil}
	i1, _ := e.AppendID(nil, r1)
	tbl.Columns[0].DataType = "varchar"
	i2, _ := NewEncoder(mapping.Policy{}, tbl, []int{0, 2}, Options{}).AppendID(nil, r2)
	if string(i1) == string(i2) {
		t.Errorf("ids collide: %s", i1)
	}

	single := &schema.Table{Columns: []schema.Column{{Name: "id", DataType: "smallint"}, {Name: "k", DataType: "binary"}}, Key: []int{0}}
	if id, err := NewEncoder(mapping.Policy{}, single, []int{0, 1}, Options{}).AppendID(nil, change.Row{[]byte("42"), nil}); err != nil || string(id) != "42" {
		t.Errorf("single id %s, %v", id, err)
	}
	single.Key = []int{1}
	if id, err := NewEncoder(mapping.Policy{}, single, []int{0, 1}, Options{}).AppendID(nil, change.Row{nil, []byte{0, 0xfb}}); err != nil || string(id) != "APs=" {
		t.Errorf("binary id %s, %v", id, err)
	}
}

// TestSpecialIDs: keys Elasticsearch cannot take as an _id as they are (empty, over 512
// bytes) get ids beginning with "~", and keys that begin with "~" are escaped, so no two
// keys share an id.
func TestSpecialIDs(t *testing.T) {
	t.Parallel()
	text := &schema.Table{Columns: []schema.Column{{Name: "k", DataType: "varchar"}}, Key: []int{0}}
	bin := &schema.Table{Columns: []schema.Column{{Name: "k", DataType: "varbinary"}}, Key: []int{0}}
	pair := &schema.Table{Columns: []schema.Column{{Name: "a", DataType: "varchar"}, {Name: "b", DataType: "varchar"}}, Key: []int{0, 1}}
	long := strings.Repeat("x", 600)
	hash := func(s string) string { sum := sha256.Sum256([]byte(s)); return "~h" + hex.EncodeToString(sum[:]) }
	cases := []struct {
		tbl  *schema.Table
		row  change.Row
		want string
	}{
		{text, change.Row{[]byte("")}, "~"},
		{text, change.Row{[]byte("~")}, "~~"},
		{text, change.Row{[]byte("~h00")}, "~~h00"},
		{text, change.Row{[]byte("a~")}, "a~"},
		{text, change.Row{[]byte(strings.Repeat("y", 512))}, strings.Repeat("y", 512)},
		{text, change.Row{[]byte(strings.Repeat("y", 513))}, hash(strings.Repeat("y", 513))},
		{text, change.Row{[]byte("~" + strings.Repeat("y", 510))}, "~~" + strings.Repeat("y", 510)},
		{text, change.Row{[]byte("~" + strings.Repeat("y", 511))}, hash("~" + strings.Repeat("y", 511))},
		{text, change.Row{[]byte(long)}, hash(long)},
		{bin, change.Row{[]byte{}}, "~"},
		{bin, change.Row{make([]byte, 400)}, hash(base64.StdEncoding.EncodeToString(make([]byte, 400)))},
		{pair, change.Row{[]byte(""), []byte("")}, `["",""]`},
		{pair, change.Row{[]byte(long), []byte("b")}, hash(`["` + long + `","b"]`)},
	}
	seen := map[string]int{}
	for i, tc := range cases {
		id, err := NewEncoder(mapping.Policy{}, tc.tbl, []int{0}, Options{}).AppendID([]byte("prefix"), tc.row)
		if err != nil || string(id) != "prefix"+tc.want {
			t.Errorf("case %d: id %q, %v; want %q", i, id, err, "prefix"+tc.want)
		}
		if len(id)-len("prefix") > MaxIDBytes {
			t.Errorf("case %d: id of %d bytes", i, len(id)-len("prefix"))
		}
		if j, ok := seen[string(id)]; ok && tc.tbl == cases[j].tbl {
			t.Errorf("cases %d and %d share id %q", j, i, id)
		}
		seen[string(id)] = i
	}
}

func TestField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		col  schema.Column
		opts Options
		want string
	}{
		{schema.Column{DataType: "tinyint"}, Options{}, `{"type":"long"}`},
		{schema.Column{DataType: "bigint", Unsigned: true}, Options{UnsignedLong: true}, `{"type":"unsigned_long"}`},
		{schema.Column{DataType: "bigint", Unsigned: true}, Options{}, `{"fields":{"keyword":{"type":"keyword"}},"type":"double"}`},
		{schema.Column{DataType: "decimal", Precision: 5, Scale: 2}, Options{}, `{"type":"double"}`},
		{schema.Column{DataType: "decimal", Precision: 15, Scale: 0}, Options{}, `{"type":"double"}`},
		{schema.Column{DataType: "decimal", Precision: 16, Scale: 4}, Options{}, `{"fields":{"keyword":{"type":"keyword"}},"type":"double"}`},
		{schema.Column{DataType: "decimal"}, Options{UnsignedLong: true}, `{"fields":{"keyword":{"type":"keyword"}},"type":"double"}`},
		{schema.Column{DataType: "float"}, Options{}, `{"type":"float"}`},
		{schema.Column{DataType: "double"}, Options{}, `{"type":"double"}`},
		{schema.Column{DataType: "bit", Precision: 8}, Options{}, `{"type":"long"}`},
		{schema.Column{DataType: "bit", Precision: 64}, Options{}, `{"fields":{"keyword":{"type":"keyword"}},"type":"double"}`},
		{schema.Column{DataType: "year"}, Options{}, `{"type":"short"}`},
		{schema.Column{DataType: "date"}, Options{}, `{"format":"yyyy-MM-dd||strict_date_optional_time||epoch_millis","ignore_malformed":true,"type":"date"}`},
		{schema.Column{DataType: "datetime", FracDigits: 3}, Options{}, `{"format":"yyyy-MM-dd HH:mm:ss.SSS||yyyy-MM-dd HH:mm:ss||yyyy-MM-dd||strict_date_optional_time||epoch_millis","ignore_malformed":true,"type":"date"}`},
		{schema.Column{DataType: "timestamp"}, Options{}, `{"format":"yyyy-MM-dd HH:mm:ss||yyyy-MM-dd||strict_date_optional_time||epoch_millis","ignore_malformed":true,"type":"date"}`},
		{schema.Column{DataType: "time"}, Options{}, `{"type":"keyword"}`},
		{schema.Column{DataType: "char", CharLength: 2}, Options{}, `{"type":"keyword"}`},
		{schema.Column{DataType: "varchar", CharLength: 45}, Options{}, `{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"}`},
		{schema.Column{DataType: "varchar", CharLength: 20000}, Options{}, `{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"}`},
		{schema.Column{DataType: "text"}, Options{}, `{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"}`},
		{schema.Column{DataType: "longtext"}, Options{}, `{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"}`},
		{schema.Column{DataType: "enum"}, Options{}, `{"type":"keyword"}`},
		{schema.Column{DataType: "set"}, Options{}, `{"type":"keyword"}`},
		{schema.Column{DataType: "uuid"}, Options{}, `{"type":"keyword"}`},
		{schema.Column{DataType: "binary", CharLength: 16}, Options{}, `{"type":"keyword"}`},
		{schema.Column{DataType: "varbinary", CharLength: 6141}, Options{}, `{"type":"keyword"}`},
		{schema.Column{DataType: "varbinary", CharLength: 6144}, Options{}, `{"ignore_above":8191,"type":"keyword"}`},
		{schema.Column{DataType: "blob"}, Options{}, `{"type":"binary"}`},
		{schema.Column{DataType: "geometry"}, Options{}, `{"type":"binary"}`},
		{schema.Column{DataType: "json"}, Options{}, `{"enabled":false,"type":"object"}`},
	}
	for _, tc := range cases {
		col := tc.col
		col.Name = "c"
		f, err := Field(mapping.Policy{}, &col, tc.opts)
		if err != nil {
			t.Errorf("%s: %v", col.DataType, err)
			continue
		}
		got, _ := json.Marshal(f)
		if string(got) != tc.want {
			t.Errorf("%s: got %s, want %s", col.DataType, got, tc.want)
		}
	}
	if _, err := Field(mapping.Policy{}, &schema.Column{Name: "c", DataType: "nonesuch", ColumnType: "nonesuch"}, Options{}); err == nil {
		t.Error("unknown type accepted")
	}
}

func TestPropertiesRejectsReservedNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a.b", "_id"} {
		tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{{Name: name, DataType: "int"}}}
		if _, err := Properties(mapping.Policy{}, tbl, []int{0}, Options{}, nil); err == nil || !strings.Contains(err.Error(), "exclude_columns") {
			t.Errorf("%q: %v", name, err)
		}
	}
	tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{{Name: "a", DataType: "int"}, {Name: "b", DataType: "text"}}}
	props, err := Properties(mapping.Policy{}, tbl, []int{1}, Options{}, nil)
	if err != nil || !reflect.DeepEqual(props, map[string]any{"b": textField()}) {
		t.Errorf("properties %v, %v", props, err)
	}
}

// TestPropertiesFieldTypes: field_types turns string columns into text or keyword and is
// refused, naming the column, on any other type.
func TestPropertiesFieldTypes(t *testing.T) {
	t.Parallel()
	tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{
		{Name: "code", DataType: "varchar", CharLength: 3}, {Name: "name", DataType: "char", CharLength: 20},
		{Name: "kind", DataType: "enum"}, {Name: "n", DataType: "int", ColumnType: "int(11)"}, {Name: "note", DataType: "text"}}}
	types := map[string]string{"code": "keyword", "name": "text", "kind": "text"}
	props, err := Properties(mapping.Policy{}, tbl, []int{0, 1, 2, 4}, Options{}, func(c string) string { return types[c] })
	want := map[string]any{"code": map[string]any{"type": "keyword"}, "name": textField(), "kind": textField(), "note": textField()}
	if err != nil || !reflect.DeepEqual(props, want) {
		t.Errorf("properties %v, %v; want %v", props, err, want)
	}
	types["n"] = "keyword"
	if _, err := Properties(mapping.Policy{}, tbl, []int{3}, Options{}, func(c string) string { return types[c] }); err == nil ||
		!strings.Contains(err.Error(), "column n is INT(11)") || !strings.Contains(err.Error(), "field_types") {
		t.Errorf("field_types on an INT column: %v", err)
	}
}

// TestFanInID: a shard's _id under another source value is the id AppendID makes of the
// row under that value, long ones hashed alike; a hashed id is refused.
func TestFanInID(t *testing.T) {
	tb := &schema.Table{Schema: "s", Name: "t", Columns: []schema.Column{
		{Name: "replicator_source", DataType: "varchar", ColumnType: "varchar(129)"},
		{Name: "id", DataType: "varchar", ColumnType: "varchar(600)"},
	}, Key: []int{0, 1}}
	enc := NewEncoder(mapping.Policy{}, tb, []int{0, 1}, Options{})
	for _, key := range []string{"7", `a"b`, strings.Repeat("x", 490), strings.Repeat("y", 600)} {
		old, err := enc.AppendID(nil, change.Row{[]byte("shop_1.orders"), []byte(key)})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := enc.AppendID(nil, change.Row{[]byte("shop_10.orders_x"), []byte(key)})
		got, err := FanInID(string(old), "shop_1.orders", "shop_10.orders_x")
		switch {
		case len(old) > 0 && old[0] == IDEscape:
			if err == nil {
				t.Errorf("key of %d bytes: hashed id %s moved to %s", len(key), old, got)
			}
		case err != nil || got != string(want):
			t.Errorf("key of %d bytes: FanInID(%s) = %s, %v; want %s", len(key), old, got, err, want)
		}
	}
	if _, err := FanInID(`["shop_2.orders","7"]`, "shop_1.orders", "shop_3.orders"); err == nil {
		t.Error("an id of another source value was moved")
	}
}
