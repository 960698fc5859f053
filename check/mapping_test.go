package check

import (
	"strings"
	"testing"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/finding"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

func TestColumnMappingWarnings(t *testing.T) {
	t.Parallel()
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
	// An empty [mapping] section: the defaults apply.
	pg := &config.Config{Target: config.Target{Type: config.TargetPostgres}, Tables: []config.TableRule{{Source: "d.t", ExcludeColumns: []string{"secret"}}}}
	routes, err := route.Compile(pg)
	if err != nil {
		t.Fatal(err)
	}
	rule := routes.For("d", "t")

	// The sample found a zero date in id and a NUL byte in v; the sql_mode lets zero dates
	// be written.
	ev := &Evidence{SQLModeLacks: []string{"NO_ZERO_DATE"}, Sampled: 10, SampleLimit: 10,
		ZeroDates: map[string]int{"id": 2}, NUL: map[string]int{"v": 1}}
	var r finding.Report
	if !columnMapping(&r, pg, tbl, rule, ev) {
		t.Error("spatial column not reported")
	}
	text := reportText(&r)
	for _, want := range []string{
		"FAIL  mapping.charset",
		"character set cannot be converted to UTF-8: d.t (x (armscii8))",
		"found in the sample; they arrive as -infinity (mapping.zero_dates = \"infinity\"): d.t (id: 2 of 10 sampled rows)",
		`fix: set mapping.zero_dates = "null" to get NULL instead; or add NO_ZERO_DATE to the source's sql_mode`,
		"NUL bytes in text found in the sample, which PostgreSQL text cannot hold: replication stops at such a row with an error naming the column (mapping.text_nul = \"error\"): d.t (v: 1 of 10 sampled rows)",
		`fix: set mapping.text_nul = "strip" or "replace"`,
		"FLOAT columns arrive as MySQL shows them: 6 significant digits (FLOAT(M,D): D decimals), not every digit of the stored float32: d.t (f)",
		"MariaDB JSON columns arrive as text holding the JSON text (mapping.mariadb_json = \"text\"): d.t (j)",
		"spatial columns arrive as bytea",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if strings.Contains(text, "secret") || strings.Contains(text, "TINYINT(1)") {
		t.Errorf("excluded column or an inactive rule reported:\n%s", text)
	}

	pg.Mapping = config.Mapping{TinyInt1AsBoolean: true, ZeroDates: "null", TextNUL: "strip", Spatial: "postgis", MariaDBJSON: "json"}
	r = finding.Report{}
	columnMapping(&r, pg, tbl, rule, ev)
	text = reportText(&r)
	for _, want := range []string{
		"they arrive as NULL (as -infinity in NOT NULL columns)",
		"d.t (id: 2 of 10 sampled rows)",
		`fix: set mapping.zero_dates = "infinity" to keep them apart from NULL`,
		"the NUL bytes are removed (logged)",
		"TINYINT(1) columns become boolean",
		"JSON columns become jsonb",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if strings.Contains(text, "arrive as bytea") || strings.Contains(text, `set mapping.text_nul = "strip"`) {
		t.Errorf("bytea warning with spatial = postgis, or a fix that sets the value already set:\n%s", text)
	}

	// No evidence: the sql_mode refuses zero dates and the sample found neither: no
	// warning for values a column could hold in theory.
	pg.Mapping = config.DefaultMapping()
	r = finding.Report{}
	columnMapping(&r, pg, tbl, rule, &Evidence{ZeroDatesRefused: true, Sampled: 10, SampleLimit: 10})
	for _, x := range r.Results {
		if x.Kind == "mapping.zero_dates" || x.Kind == "mapping.text_nul" {
			t.Errorf("warning without evidence: %+v", x)
		}
	}
	// The sql_mode allows zero dates, none sampled: one warning whose fix changes the sql_mode.
	r = finding.Report{}
	columnMapping(&r, pg, tbl, rule, &Evidence{SQLModeLacks: []string{"NO_ZERO_DATE", "NO_ZERO_IN_DATE"}, SampleLimit: 10})
	if text := reportText(&r); !strings.Contains(text, "the source's sql_mode lacks NO_ZERO_DATE, NO_ZERO_IN_DATE") ||
		!strings.Contains(text, "fix: add NO_ZERO_DATE,NO_ZERO_IN_DATE to the source's sql_mode") {
		t.Errorf("zero dates the sql_mode allows:\n%s", text)
	}

	es := &config.Config{Target: config.Target{Type: config.TargetElasticsearch}, Tables: []config.TableRule{{Source: "d.k", Key: []string{"a"}}}}
	esRoutes, err := route.Compile(es)
	if err != nil {
		t.Fatal(err)
	}
	keyless := &schema.Table{Schema: "d", Name: "k", Columns: []schema.Column{{Name: "a", DataType: "int"}}, Key: []int{0}}
	r = finding.Report{}
	columnMapping(&r, es, keyless, esRoutes.For("d", "k"), nil)
	if text := reportText(&r); !strings.Contains(text, "configured key has no unique index at the source: rows sharing a key value would become one row in the target: d.k (a)") || strings.Contains(text, "NUL") {
		t.Errorf("keyless table on Elasticsearch:\n%s", text)
	}
	keyless.Indexes = []schema.Index{{Name: "u", Unique: true, Columns: []string{"A"}}}
	r = finding.Report{}
	columnMapping(&r, es, keyless, esRoutes.For("d", "k"), nil)
	if len(r.Results) != 0 {
		t.Errorf("key with a unique index reported: %+v", r.Results)
	}
}

func reportText(r *finding.Report) string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}

// TestColumnMappingFieldTypes: field_types on a column that is not a string fails check,
// naming the column and its type; on string columns it passes silently.
func TestColumnMappingFieldTypes(t *testing.T) {
	t.Parallel()
	es := &config.Config{Target: config.Target{Type: config.TargetElasticsearch}, Tables: []config.TableRule{
		{Source: "d.t", FieldTypes: map[string]string{"code": "keyword", "n": "text"}}}}
	routes, err := route.Compile(es)
	if err != nil {
		t.Fatal(err)
	}
	tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{
		{Name: "id", DataType: "int", ColumnType: "int(11)"}, {Name: "code", DataType: "varchar", Charset: "utf8mb4"}, {Name: "n", DataType: "int", ColumnType: "int(11)"}}, Key: []int{0}}
	var r finding.Report
	columnMapping(&r, es, tbl, routes.For("d", "t"), nil)
	if text := reportText(&r); !strings.Contains(text, "FAIL  mapping.field_types") || !strings.Contains(text, "d.t (n INT(11))") || strings.Contains(text, "code") {
		t.Errorf("field_types on an INT column:\n%s", text)
	}
}

// TestColumnMappingHashed: a hashed column arrives as its hash, so the findings of its
// source type are not reported for it (a hashed DATE has no zero dates at the target,
// a hashed FLOAT no lost digits); the same columns unhashed are.
func TestColumnMappingHashed(t *testing.T) {
	t.Parallel()
	tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{
		{Name: "id", DataType: "int"},
		{Name: "born", DataType: "date"},
		{Name: "f", DataType: "float", ColumnType: "float"},
		{Name: "seen", DataType: "datetime"},
	}, Key: []int{0}}
	cfg, err := config.Parse(`
[source]
host = "127.0.0.1"
user = "replicator"
password = "p"
server_id = 4201
[target]
type = "postgres"
[target.postgres]
url = "postgres://app@127.0.0.1:5432/app?sslmode=disable"
[[tables]]
source = "d.t"
hash = ["born", "f"]
`, func(k string) (string, bool) {
		return "a-hash-key-of-enough-length-0123456789", k == "REPLICATOR_HASH_KEY"
	})
	if err != nil {
		t.Fatal(err)
	}
	routes, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev := &Evidence{SQLModeLacks: []string{"NO_ZERO_DATE"}, Sampled: 10, SampleLimit: 10, ZeroDates: map[string]int{"born": 3, "seen": 1}}
	var r finding.Report
	columnMapping(&r, cfg, tbl, routes.For("d", "t"), ev)
	text := reportText(&r)
	if strings.Contains(text, "born") || strings.Contains(text, "d.t (f)") || strings.Contains(text, "FLOAT") {
		t.Errorf("findings for hashed columns:\n%s", text)
	}
	if !strings.Contains(text, "d.t (seen: 1 of 10 sampled rows)") {
		t.Errorf("no zero-date finding for the unhashed seen:\n%s", text)
	}
}
