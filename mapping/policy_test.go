package mapping

import (
	"math"
	"testing"

	"github.com/replicator/replicator/schema"
)

func TestBinlogValuesAsTheSourceShowsThem(t *testing.T) {
	cases := []struct {
		col  schema.Column
		in   any
		want string
	}{
		// FLOAT: 6 significant digits, as a SELECT shows it; then the snapshot's form.
		{schema.Column{DataType: "float", ColumnType: "float"}, float32(123456789), "1.23457e+08"},
		{schema.Column{DataType: "float", ColumnType: "float"}, float32(3.4028234e38), "3.40282e+38"},
		{schema.Column{DataType: "float", ColumnType: "float"}, float32(-1.17549435e-38), "-1.17549e-38"},
		{schema.Column{DataType: "float", ColumnType: "float"}, float32(1.1), "1.1"},
		{schema.Column{DataType: "float", ColumnType: "float"}, float32(1e-10), "1e-10"},
		{schema.Column{DataType: "float", ColumnType: "float"}, float32(999998.5), "999998"}, // ties to even
		{schema.Column{DataType: "float", ColumnType: "float"}, float32(16777217), "1.67772e+07"},
		{schema.Column{DataType: "float", ColumnType: "float"}, float32(0), "0"},
		{schema.Column{DataType: "float", ColumnType: "float"}, float32(-1e-50), "0"}, // a stored -0 shows as 0
		// FLOAT(M,D): D decimals.
		{schema.Column{DataType: "float", ColumnType: "float(10,3)"}, float32(1234567.125), "1.2345671e+06"},
		{schema.Column{DataType: "float", ColumnType: "float(10,3)"}, float32(3.142), "3.142"},
		{schema.Column{DataType: "float", ColumnType: "float(20,10) unsigned"}, float32(1234.5678901), "1234.5679"},
		// DOUBLE: every digit; DOUBLE(M,D) values are stored rounded already.
		{schema.Column{DataType: "double", ColumnType: "double"}, 123456789.123, "1.23456789123e+08"},
		{schema.Column{DataType: "double", ColumnType: "double"}, 5e-324, "5e-324"},
		{schema.Column{DataType: "double", ColumnType: "double"}, math.Copysign(0, -1), "0"},
		{schema.Column{DataType: "double", ColumnType: "double(20,5)"}, 0.00001, "1e-05"},
		// latin1 is Windows-1252 with the undefined bytes as C1 controls.
		{schema.Column{DataType: "varchar", Charset: "latin1"}, "\x80\x81\x8d\x8f\x90\x9d\xff", "€\u0081\u008d\u008f\u0090\u009dÿ"},
		// Bytes without a Unicode character show as '?', as the server converts them.
		{schema.Column{DataType: "varchar", Charset: "cp1251"}, "\x88\x98", "€?"},
		// CHAR pad spaces go after decoding (UCS2 pads with 00 20).
		{schema.Column{DataType: "char", Charset: "latin1"}, "\xe9  ", "é"},
		{schema.Column{DataType: "char", Charset: "ucs2"}, "\x00A\x00 \x00 ", "A"},
		// MySQL's empty binary JSON is the JSON null literal.
		{schema.Column{DataType: "json"}, "", "null"},
		{schema.Column{DataType: "json"}, `{"a":1}`, `{"a":1}`},
		{schema.Column{DataType: "year"}, 0, "0"},
		{schema.Column{DataType: "year"}, 2155, "2155"},
	}
	for _, tc := range cases {
		col := tc.col
		got, null, err := AppendBinlogValue(nil, &col, tc.in)
		if err != nil || null || string(got) != tc.want {
			t.Errorf("%s %s %#v: got %q null=%v err=%v; want %q", col.DataType, col.ColumnType, tc.in, got, null, err, tc.want)
		}
	}
}
