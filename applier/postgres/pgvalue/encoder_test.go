package pgvalue

import (
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

func TestEncoderValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		col  schema.Column
		in   []byte
		want string
	}{
		{schema.Column{Name: "i", DataType: "int"}, []byte("-2147483648"), "-2147483648"},
		{schema.Column{Name: "u", DataType: "bigint", Unsigned: true}, []byte("18446744073709551615"), "18446744073709551615"},
		{schema.Column{Name: "d", DataType: "decimal", Precision: 65, Scale: 30}, []byte("-12345678901234567890123456789012345.123456789012345678901234567890"), "-12345678901234567890123456789012345.123456789012345678901234567890"},
		{schema.Column{Name: "s", DataType: "varchar"}, []byte("a\tb\nc\\d\re😀"), `a\tb\nc\\d\re😀`},
		{schema.Column{Name: "b", DataType: "blob"}, []byte{0, 1, 0xff, '\\'}, `\\x0001ff5c`},
		{schema.Column{Name: "dt", DataType: "date"}, []byte("0000-00-00"), "-infinity"},
		{schema.Column{Name: "dt", DataType: "date"}, []byte("2020-00-15"), "-infinity"},
		{schema.Column{Name: "dt", DataType: "date"}, []byte("2020-02-29"), "2020-02-29"},
		{schema.Column{Name: "ts", DataType: "timestamp", FracDigits: 6}, []byte("2038-01-19 03:14:07.999999"), "2038-01-19 03:14:07.999999+00"},
		{schema.Column{Name: "ts", DataType: "timestamp"}, []byte("0000-00-00 00:00:00"), "-infinity"},
		{schema.Column{Name: "dtm", DataType: "datetime"}, []byte("9999-12-31 23:59:59"), "9999-12-31 23:59:59"},
		{schema.Column{Name: "t", DataType: "time"}, []byte("-838:59:59"), "-838:59:59"},
		{schema.Column{Name: "bit1", DataType: "bit", Precision: 1}, []byte{1}, "1"},
		{schema.Column{Name: "bit10", DataType: "bit", Precision: 10}, []byte{0x02, 0x01}, "1000000001"},
		{schema.Column{Name: "bit64", DataType: "bit", Precision: 64}, []byte{0x80, 0, 0, 0, 0, 0, 0, 1}, "1000000000000000000000000000000000000000000000000000000000000001"},
		{schema.Column{Name: "j", DataType: "json"}, []byte(`{"a": "x\ny"}`), `{"a": "x\\ny"}`},
	}
	for _, tc := range cases {
		col := tc.col
		e := NewEncoder(mapping.Policy{}, "", []*schema.Column{&col})
		got, err := e.AppendRow(nil, change.Row{tc.in})
		if err != nil {
			t.Errorf("%s %q: %v", col.DataType, tc.in, err)
			continue
		}
		if string(got) != tc.want+"\n" {
			t.Errorf("%s %q: got %q, want %q", col.DataType, tc.in, got, tc.want+"\n")
		}
	}
}

func TestEncoderRowAndErrors(t *testing.T) {
	t.Parallel()
	a := schema.Column{Name: "a", DataType: "int"}
	b := schema.Column{Name: "b", DataType: "text"}
	e := NewEncoder(mapping.Policy{}, "", []*schema.Column{&a, &b})
	got, err := e.AppendRow(nil, change.Row{[]byte("1"), nil})
	if err != nil || string(got) != "1\t\\N\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	_, err = e.AppendRow(nil, change.Row{[]byte("1"), []byte("x\x00y")})
	if ve, ok := err.(*mapping.ValueError); !ok || ve.Column != "b" {
		t.Fatalf("NUL in text: err = %v, want ValueError naming column b", err)
	}
}

func TestTypes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		col  schema.Column
		want string
	}{
		{schema.Column{DataType: "tinyint"}, "smallint"},
		{schema.Column{DataType: "smallint", Unsigned: true}, "integer"},
		{schema.Column{DataType: "int", Unsigned: true}, "bigint"},
		{schema.Column{DataType: "bigint", Unsigned: true}, "numeric(20,0)"},
		{schema.Column{DataType: "decimal", Precision: 65, Scale: 30}, "numeric(65,30)"},
		{schema.Column{DataType: "float"}, "real"},
		{schema.Column{DataType: "double"}, "double precision"},
		{schema.Column{DataType: "datetime", FracDigits: 3}, "timestamp(3) without time zone"},
		{schema.Column{DataType: "timestamp"}, "timestamp(0) with time zone"},
		{schema.Column{DataType: "time", FracDigits: 6}, "interval(6)"},
		{schema.Column{DataType: "varchar", CharLength: 255}, "varchar(255)"},
		{schema.Column{DataType: "char", CharLength: 1}, "varchar(1)"},
		{schema.Column{DataType: "longtext"}, "text"},
		{schema.Column{DataType: "enum"}, "text"},
		{schema.Column{DataType: "set"}, "text"},
		{schema.Column{DataType: "varbinary"}, "bytea"},
		{schema.Column{DataType: "json"}, "jsonb"},
		{schema.Column{DataType: "bit", Precision: 64}, "bit(64)"},
		{schema.Column{DataType: "year"}, "smallint"},
		{schema.Column{DataType: "geometry"}, "bytea"},
	}
	for _, tc := range cases {
		got, err := Type(mapping.Policy{}, &tc.col)
		if err != nil || got != tc.want {
			t.Errorf("Type(%s unsigned=%v) = %q, %v; want %q", tc.col.DataType, tc.col.Unsigned, got, err, tc.want)
		}
	}
	if _, err := Type(mapping.Policy{}, &schema.Column{Name: "x", DataType: "weird", ColumnType: "weird"}); err == nil {
		t.Error("unknown type: no error")
	}
}

func TestAppendCopyEscaped(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"", ""},
		{"plain text, no escapes", "plain text, no escapes"},
		{"\\", `\\`},
		{"\t\n\r\\", `\t\n\r\\`},
		{"\ta", `\ta`},
		{"a\n", `a\n`},
		{"a\\\\b", `a\\\\b`},
		{"é\t😀\nend", `é\t😀\nend`},
	}
	for _, tc := range cases {
		if got := string(appendCopyEscaped([]byte("pre|"), []byte(tc.in))); got != "pre|"+tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, "pre|"+tc.want)
		}
	}
}

// BenchmarkEncoderSysbenchRow encodes a sysbench row (int, int, char(120), char(60)), the
// snapshot benchmark's shape.
func BenchmarkEncoderSysbenchRow(b *testing.B) {
	cols := []*schema.Column{{Name: "id", DataType: "int"}, {Name: "k", DataType: "int"},
		{Name: "c", DataType: "char", CharLength: 120}, {Name: "pad", DataType: "char", CharLength: 60}}
	e := NewEncoder(mapping.Policy{}, "", cols)
	row := change.Row{[]byte("123456"), []byte("499731"),
		[]byte("00000123456-e10adc3949ba59abbe56e057f20f883e-e10adc3949ba59abbe56e057f20f883f-7c4a8d09ca3762af61e59"),
		[]byte("fcea920f7412b5da7be0cf42b8c93759-7c4a8d09ca3762af61e595209")}
	var buf []byte
	b.SetBytes(int64(len(row[0]) + len(row[1]) + len(row[2]) + len(row[3])))
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = e.AppendRow(buf[:0], row); err != nil {
			b.Fatal(err)
		}
	}
}
