package source

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"testing"

	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/applier/postgres/pgvalue"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// fuzzColumns are the column kinds the fuzzer picks from: every DATA_TYPE the mapping
// knows, with the attributes that change its encoding.
var fuzzColumns = []schema.Column{
	{DataType: "tinyint"}, {DataType: "tinyint", Unsigned: true}, {DataType: "tinyint", ColumnType: "tinyint(1)"},
	{DataType: "smallint"}, {DataType: "smallint", Unsigned: true}, {DataType: "mediumint"}, {DataType: "mediumint", Unsigned: true},
	{DataType: "int"}, {DataType: "int", Unsigned: true}, {DataType: "bigint"}, {DataType: "bigint", Unsigned: true},
	{DataType: "decimal", Precision: 65, Scale: 30}, {DataType: "float", ColumnType: "float"}, {DataType: "float", ColumnType: "float(10,3)"},
	{DataType: "double", ColumnType: "double"}, {DataType: "double", ColumnType: "double(20,5)"},
	{DataType: "bit", Precision: 1}, {DataType: "bit", Precision: 10}, {DataType: "bit", Precision: 64}, {DataType: "year"},
	{DataType: "date"}, {DataType: "datetime", FracDigits: 6}, {DataType: "timestamp", FracDigits: 3}, {DataType: "time", FracDigits: 2}, {DataType: "time"},
	{DataType: "char", CharLength: 10, Charset: "utf8mb4"}, {DataType: "varchar", Charset: "latin1"}, {DataType: "varchar", Charset: "gbk"},
	{DataType: "varchar", Charset: "cp1251"}, {DataType: "text", Charset: "ucs2"}, {DataType: "char", Charset: "utf16"}, {DataType: "longtext", Charset: "utf8mb4", JSONValid: true},
	{DataType: "enum", Elems: []string{"a", "b,c", ""}}, {DataType: "set", Elems: []string{"x", "y", "z"}},
	{DataType: "binary", CharLength: 4}, {DataType: "varbinary"}, {DataType: "blob"}, {DataType: "json"},
	{DataType: "geometry"}, {DataType: "point"}, {DataType: "multipolygon"}, {DataType: "vector"},
}

// fuzzMappings are the [mapping] rule sets every input is encoded under.
var fuzzMappings = []config.Mapping{
	config.DefaultMapping(),
	{TinyInt1AsBoolean: true, ZeroDates: "null", TextNUL: "replace", Spatial: "postgis", MariaDBJSON: "json"},
	{TextNUL: "strip", MariaDBJSON: "json"},
}

// binlogValue builds a value of the Go type go-mysql decodes for a kind, from fuzz bytes.
func binlogValue(kind byte, data []byte) any {
	var b [8]byte
	copy(b[:], data)
	u := binary.LittleEndian.Uint64(b[:])
	switch kind % 12 {
	case 0:
		return nil
	case 1:
		return int8(u)
	case 2:
		return int16(u)
	case 3:
		return int32(u)
	case 4:
		return int64(u)
	case 5:
		return int(int32(u))
	case 6:
		return u
	case 7:
		return math.Float32frombits(uint32(u))
	case 8:
		return math.Float64frombits(u)
	case 9:
		return string(data)
	case 10:
		return data
	}
	return struct{}{} // a type the decoder does not know: an error, never a panic
}

// FuzzRowValues drives the row-value boundary: a value as go-mysql decodes it from a row
// event goes through AppendBinlogValue, then (as canonical bytes) through the PostgreSQL
// COPY encoder and the Elasticsearch document and id encoders under every [mapping] rule
// set; the raw fuzz bytes also go in directly as a canonical value (the snapshot's text).
// None may panic; a document the ES encoder accepts must be valid JSON, and a COPY line
// must hold exactly its two fields.
func FuzzRowValues(f *testing.F) {
	f.Add(byte(0), byte(4), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(byte(12), byte(7), []byte{0x4d, 0x61, 0xbc, 0x7f})
	f.Add(byte(21), byte(9), []byte("0000-00-00 00:00:00.000000"))
	f.Add(byte(26), byte(9), []byte("caf\xe9 \x80\x81"))
	f.Add(byte(31), byte(9), []byte(`{"a":"\u0000"}`))
	f.Add(byte(33), byte(4), []byte{5})
	f.Add(byte(38), byte(10), []byte("\xe6\x10\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x00\x40"))
	f.Add(byte(23), byte(9), []byte("-838:59:59.5"))
	f.Add(byte(18), byte(4), []byte{1, 0, 0, 0, 0, 0, 0, 0x80})
	f.Add(byte(25), byte(9), []byte("a\x00\tb\\\n"))
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.Fuzz(func(t *testing.T, colIdx, kind byte, data []byte) {
		col := fuzzColumns[int(colIdx)%len(fuzzColumns)]
		col.Name = "c"
		key := schema.Column{Name: "k", DataType: col.DataType, ColumnType: col.ColumnType, Precision: col.Precision, Charset: col.Charset}
		tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{key, col}, Key: []int{0}}
		canon, null, err := AppendBinlogValue(nil, &tbl.Columns[1], binlogValue(kind, data))
		rows := []change.Row{{data, data}, {data, nil}}
		if err == nil && !null {
			rows = append(rows, change.Row{canon, canon})
		}
		for _, m := range fuzzMappings {
			p := mapping.NewPolicy(m)
			pg := pgvalue.NewEncoder(p, "d.t", []*schema.Column{&tbl.Columns[0], &tbl.Columns[1]})
			es := esdoc.NewEncoder(p, tbl, []int{0, 1}, esdoc.Options{UnsignedLong: kind%2 == 0})
			for _, row := range rows {
				if line, err := pg.AppendRow(nil, row); err == nil {
					if n := bytes.Count(line, []byte{'\t'}); n != 1 || bytes.IndexByte(line, '\n') != len(line)-1 {
						t.Fatalf("COPY line %q for %q: %d tabs", line, row, n)
					}
				}
				if doc, err := es.AppendDoc(nil, row, change.Origin{}); err == nil && !json.Valid(doc) {
					t.Fatalf("invalid document %q for %q", doc, row)
				}
				_, _ = es.AppendID(nil, row)
			}
		}
	})
}
