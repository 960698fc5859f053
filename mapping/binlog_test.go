package mapping

import (
	"testing"

	"github.com/replicator/replicator/schema"
)

func TestAppendBinlogValue(t *testing.T) {
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
