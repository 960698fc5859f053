package esdoc

import (
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

func TestEncoderUnderRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		m    config.Mapping
		col  schema.Column
		in   string
		want string
	}{
		{config.Mapping{TinyInt1AsBoolean: true}, schema.Column{DataType: "tinyint", ColumnType: "tinyint(1)"}, "0", `false`},
		{config.Mapping{TinyInt1AsBoolean: true}, schema.Column{DataType: "tinyint", ColumnType: "tinyint(1)"}, "-1", `true`},
		{config.Mapping{}, schema.Column{DataType: "tinyint", ColumnType: "tinyint(1)"}, "-1", `-1`},
		{config.Mapping{ZeroDates: "null"}, schema.Column{DataType: "date", Nullable: true}, "2020-00-15", `null`},
		{config.Mapping{ZeroDates: "null"}, schema.Column{DataType: "date"}, "2020-00-15", `"2020-00-15"`}, // NOT NULL
		{config.Mapping{}, schema.Column{DataType: "date"}, "2020-00-15", `"2020-00-15"`},
		{config.Mapping{MariaDBJSON: "json"}, schema.Column{DataType: "longtext", JSONValid: true}, `{"a": [1]}`, `{"a": [1]}`},
		{config.Mapping{}, schema.Column{DataType: "longtext", JSONValid: true}, `{"a": [1]}`, `"{\"a\": [1]}"`},
		{config.Mapping{}, schema.Column{DataType: "json"}, ``, `null`},
		{config.Mapping{}, schema.Column{DataType: "varchar"}, "a\x00b", `"a\u0000b"`},
	}
	for _, tc := range cases {
		col := tc.col
		col.Name = "c"
		tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{col}, Key: []int{0}}
		got, err := NewEncoder(mapping.NewPolicy(tc.m), tbl, []int{0}, Options{}).AppendDoc(nil, change.Row{[]byte(tc.in)}, change.Origin{})
		if want := `{"c":` + tc.want + `}`; err != nil || string(got) != want {
			t.Errorf("%+v %s %q: got %s, %v; want %s", tc.m, col.DataType, tc.in, got, err, want)
		}
	}
	p := mapping.NewPolicy(config.Mapping{TinyInt1AsBoolean: true, MariaDBJSON: "json"})
	for _, c := range []struct {
		col  schema.Column
		want string
	}{
		{schema.Column{DataType: "tinyint", ColumnType: "tinyint(1)"}, "boolean"},
		{schema.Column{DataType: "longtext", JSONValid: true}, "object"},
	} {
		f, err := Field(p, &c.col, Options{})
		if err != nil || f["type"] != c.want {
			t.Errorf("%s: field %v, %v; want %s", c.col.DataType, f, err, c.want)
		}
	}
}
