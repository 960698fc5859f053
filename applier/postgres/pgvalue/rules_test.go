package pgvalue

import (
	"strings"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

func TestTypeUnderRules(t *testing.T) {
	t.Parallel()
	cols := []schema.Column{
		{Name: "t1", DataType: "tinyint", ColumnType: "tinyint(1)"},
		{Name: "t4", DataType: "tinyint", ColumnType: "tinyint(4)"},
		{Name: "j", DataType: "longtext", ColumnType: "longtext", JSONValid: true},
		{Name: "mj", DataType: "json", ColumnType: "json"},
		{Name: "g", DataType: "geometry"},
		{Name: "p", DataType: "point"},
		{Name: "gc", DataType: "geometrycollection"},
		{Name: "d", DataType: "date"},
	}
	check := func(p mapping.Policy, want []string) {
		t.Helper()
		for i, c := range cols {
			got, err := Type(p, &c)
			if err != nil || got != want[i] {
				t.Errorf("%s: %q, %v; want %q", c.Name, got, err, want[i])
			}
		}
	}
	check(mapping.NewPolicy(config.DefaultMapping()), []string{"smallint", "smallint", "text", "jsonb", "bytea", "bytea", "bytea", "date"})
	check(mapping.NewPolicy(config.Mapping{TinyInt1AsBoolean: true, MariaDBJSON: "json", Spatial: "postgis", ZeroDates: "null"}), []string{"boolean", "smallint", "jsonb", "jsonb", "geometry", "geometry(Point)", "geometry(GeometryCollection)", "date"})
}

func TestEncoderUnderRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		m    config.Mapping
		col  schema.Column
		in   string
		want string
	}{
		{config.Mapping{}, schema.Column{DataType: "tinyint", ColumnType: "tinyint(1)"}, "5", "5"},
		{config.Mapping{TinyInt1AsBoolean: true}, schema.Column{DataType: "tinyint", ColumnType: "tinyint(1)"}, "5", "t"},
		{config.Mapping{TinyInt1AsBoolean: true}, schema.Column{DataType: "tinyint", ColumnType: "tinyint(1) unsigned"}, "0", "f"},
		{config.Mapping{TinyInt1AsBoolean: true}, schema.Column{DataType: "tinyint", ColumnType: "tinyint(1)"}, "-128", "t"},
		{config.Mapping{ZeroDates: "null"}, schema.Column{DataType: "date", Nullable: true}, "0000-00-00", `\N`},
		{config.Mapping{ZeroDates: "null"}, schema.Column{DataType: "timestamp", Nullable: true}, "2020-00-01 00:00:00", `\N`},
		{config.Mapping{ZeroDates: "null"}, schema.Column{DataType: "timestamp"}, "0000-00-00 00:00:00", "-infinity"}, // NOT NULL
		{config.Mapping{ZeroDates: "null"}, schema.Column{DataType: "date"}, "2020-02-00", "-infinity"},
		{config.Mapping{ZeroDates: "null"}, schema.Column{DataType: "datetime"}, "2020-01-01 00:00:00", "2020-01-01 00:00:00"},
		{config.Mapping{}, schema.Column{DataType: "datetime", FracDigits: 3}, "0000-00-00 00:00:00.000", "-infinity"},
		{config.Mapping{TextNUL: "strip"}, schema.Column{DataType: "varchar"}, "a\x00b\x00", "ab"},
		{config.Mapping{TextNUL: "replace"}, schema.Column{DataType: "text"}, "a\x00\tb", "a\uFFFD\\tb"},
		{config.Mapping{TextNUL: "replace"}, schema.Column{DataType: "json"}, `["\u0000", "\\u0000", "x\u0000y"]`, `["\\ufffd", "\\\\u0000", "x\\ufffdy"]`},
		{config.Mapping{TextNUL: "strip"}, schema.Column{DataType: "longtext", JSONValid: true}, `"\u0000"`, `"\\u0000"`}, // text: 6 characters, no NUL
		{config.Mapping{TextNUL: "strip", MariaDBJSON: "json"}, schema.Column{DataType: "longtext", JSONValid: true}, `"\u0000"`, `""`},
		{config.Mapping{}, schema.Column{DataType: "json"}, ``, `null`},
		{config.Mapping{}, schema.Column{DataType: "point"}, "\x00\x00\x00\x00\x01\x01\x00\x00\x00", `\\x000000000101000000`},
		{config.Mapping{Spatial: "postgis"}, schema.Column{DataType: "point"},
			"\xe6\x10\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x00\x40",
			"0101000020e6100000000000000000f03f0000000000000040"},
		{config.Mapping{Spatial: "postgis"}, schema.Column{DataType: "geometry"}, // big-endian WKB
			"\xe6\x10\x00\x00\x00\x00\x00\x00\x01\x3f\xf0\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x00",
			"0020000001000010e63ff00000000000004000000000000000"},
		{config.Mapping{Spatial: "postgis"}, schema.Column{DataType: "geometry"}, "\x00\x00\x00\x00\x01\x07\x00\x00\x00\x00\x00\x00\x00", "010700000000000000"},
	}
	for _, tc := range cases {
		col := tc.col
		col.Name = "c"
		got, err := NewEncoder(mapping.NewPolicy(tc.m), "d.t", []*schema.Column{&col}).AppendRow(nil, change.Row{[]byte(tc.in)})
		if err != nil || string(got) != tc.want+"\n" {
			t.Errorf("%+v %s %q: got %q, %v; want %q", tc.m, col.DataType, tc.in, got, err, tc.want+"\n")
		}
	}
}

func TestEncoderNULErrorNamesTheRule(t *testing.T) {
	t.Parallel()
	for _, c := range []schema.Column{{Name: "v", DataType: "varchar"}, {Name: "j", DataType: "json"}} {
		col := c
		_, err := NewEncoder(mapping.NewPolicy(config.DefaultMapping()), "", []*schema.Column{&col}).AppendRow(nil, change.Row{[]byte(`"a\u0000` + "\x00" + `"`)})
		ve, ok := err.(*mapping.ValueError)
		if !ok || ve.Column != c.Name || !strings.Contains(ve.Reason, "mapping.text_nul") {
			t.Errorf("%s: err = %v, want a ValueError naming the column and mapping.text_nul", c.Name, err)
		}
	}
	col := schema.Column{Name: "g", DataType: "geometry"}
	if _, err := NewEncoder(mapping.NewPolicy(config.Mapping{Spatial: "postgis"}), "", []*schema.Column{&col}).AppendRow(nil, change.Row{[]byte{1, 2}}); err == nil {
		t.Error("a 2-byte spatial value encoded without error")
	}
}
