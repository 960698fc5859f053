package check

import (
	"strings"
	"testing"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

func TestColumnMappingWarnings(t *testing.T) {
	old := config.ActiveMapping()
	t.Cleanup(func() { config.SetActiveMapping(old) })
	tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{
		{Name: "id", DataType: "date"},
		{Name: "f", DataType: "float", ColumnType: "float"},
		{Name: "v", DataType: "varchar", Charset: "utf8mb4"},
		{Name: "j", DataType: "longtext", Charset: "utf8mb4", JSONValid: true},
		{Name: "g", DataType: "point"},
		{Name: "b", DataType: "tinyint", ColumnType: "tinyint(1)"},
		{Name: "x", DataType: "varchar", Charset: "armscii8"},
		{Name: "secret", DataType: "float", ColumnType: "float"},
	}, Key: []int{0}}
	rule := &config.TableRule{Source: "d.t", ExcludeColumns: []string{"secret"}}
	pg := &config.Config{Target: config.Target{Type: config.TargetPostgres}}

	config.SetActiveMapping(config.DefaultMapping())
	var r Report
	if !columnMapping(&r, pg, tbl, rule) {
		t.Error("spatial column not reported")
	}
	text := reportText(&r)
	for _, want := range []string{
		"FAIL  mapping.d.t  columns x (armscii8): character set cannot be converted",
		"columns id arrive as -infinity; in key columns id different zero dates collide",
		"a NUL byte in text columns v, x, which PostgreSQL text cannot hold, stops replication",
		"FLOAT columns f arrive as MySQL shows them",
		"MariaDB JSON columns j arrive as text",
		"spatial columns g arrive as bytea",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if strings.Contains(text, "secret") || strings.Contains(text, "TINYINT(1)") {
		t.Errorf("excluded column or an inactive rule reported:\n%s", text)
	}

	config.SetActiveMapping(config.Mapping{TinyInt1AsBoolean: true, ZeroDates: "null", TextNUL: "strip", Spatial: "postgis", MariaDBJSON: "json"})
	r = Report{}
	columnMapping(&r, pg, tbl, rule)
	text = reportText(&r)
	for _, want := range []string{
		"arrive as NULL; in the NOT NULL columns id as -infinity (in key columns id different zero dates collide)",
		"is removed (logged)",
		"TINYINT(1) columns b become boolean",
		"JSON columns j become jsonb",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if strings.Contains(text, "arrive as bytea") {
		t.Errorf("bytea warning with spatial = postgis:\n%s", text)
	}

	es := &config.Config{Target: config.Target{Type: config.TargetElasticsearch}}
	keyless := &schema.Table{Schema: "d", Name: "k", Columns: []schema.Column{{Name: "a", DataType: "int"}}, Key: []int{0}}
	r = Report{}
	columnMapping(&r, es, keyless, &config.TableRule{Source: "d.k", Key: []string{"a"}})
	if text := reportText(&r); !strings.Contains(text, "configured key (a) has no unique index") || strings.Contains(text, "NUL") {
		t.Errorf("keyless table on Elasticsearch:\n%s", text)
	}
	keyless.Indexes = []schema.Index{{Name: "u", Unique: true, Columns: []string{"A"}}}
	r = Report{}
	columnMapping(&r, es, keyless, &config.TableRule{Source: "d.k", Key: []string{"a"}})
	if len(r.Results) != 0 {
		t.Errorf("key with a unique index reported: %+v", r.Results)
	}
}

func reportText(r *Report) string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}
