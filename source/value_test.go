package source

import (
	"math"
	"testing"

	"github.com/replicator/replicator/schema"
)

func TestAppendBinlogValue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		col  schema.Column
		in   any
		want string
		null bool
	}{
		{schema.Column{DataType: "tinyint", Unsigned: true}, int8(-1), "255", false},
		{schema.Column{DataType: "smallint", Unsigned: true}, int16(-1), "65535", false},
		{schema.Column{DataType: "mediumint", Unsigned: true}, int32(-1), "16777215", false},
		{schema.Column{DataType: "int", Unsigned: true}, int32(-1), "4294967295", false},
		{schema.Column{DataType: "bigint", Unsigned: true}, int64(-1), "18446744073709551615", false},
		{schema.Column{DataType: "bigint"}, int64(-9223372036854775808), "-9223372036854775808", false},
		{schema.Column{DataType: "int"}, nil, "", true},
		{schema.Column{DataType: "enum", Elems: []string{"a", "b,c"}}, int64(2), "b,c", false},
		{schema.Column{DataType: "enum", Elems: []string{"a"}}, int64(0), "", false},
		{schema.Column{DataType: "set", Elems: []string{"x", "y", "z"}}, int64(5), "x,z", false},
		{schema.Column{DataType: "set", Elems: []string{"x"}}, int64(0), "", false},
		{schema.Column{DataType: "bit", Precision: 10}, int64(513), "\x02\x01", false},
		{schema.Column{DataType: "float"}, float32(1.1), "1.1", false},
		{schema.Column{DataType: "double"}, float64(-2.5e-300), "-2.5e-300", false},
		{schema.Column{DataType: "time", FracDigits: 2}, "12:00:00", "12:00:00.00", false},
		{schema.Column{DataType: "time", FracDigits: 3}, "-838:59:58.5", "-838:59:58.500", false},
		{schema.Column{DataType: "datetime", FracDigits: 6}, "2020-01-01 00:00:00.000001", "2020-01-01 00:00:00.000001", false},
		{schema.Column{DataType: "char", Charset: "utf8mb4"}, "ab  ", "ab", false},
		{schema.Column{DataType: "binary", CharLength: 4}, []byte{1}, "\x01\x00\x00\x00", false},
		{schema.Column{DataType: "varchar", Charset: "latin1"}, "caf\xe9 \x80", "café €", false},
		{schema.Column{DataType: "varchar", Charset: "cp1251"}, "\xcf\xf0\xe8\xe2\xe5\xf2", "Привет", false},
		{schema.Column{DataType: "text", Charset: "gbk"}, []byte("\xc4\xe3\xba\xc3"), "你好", false},
		{schema.Column{DataType: "blob"}, []byte{0, 0xff}, "\x00\xff", false},
	}
	for _, tc := range cases {
		col := tc.col
		got, null, err := AppendBinlogValue(nil, &col, tc.in)
		if err != nil || null != tc.null || string(got) != tc.want {
			t.Errorf("%s %#v: got %q null=%v err=%v; want %q null=%v", col.DataType, tc.in, got, null, err, tc.want, tc.null)
		}
	}
}

func TestBinlogValuesAsTheSourceShowsThem(t *testing.T) {
	t.Parallel()
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
