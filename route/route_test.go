package route

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

func compile(t *testing.T, target string, rules ...config.TableRule) *Set {
	t.Helper()
	s, err := Compile(&config.Config{Target: config.Target{Type: target}, Tables: rules})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

// table builds a definition of columns named cols, the first pk of them its primary key.
func table(db, name string, pk int, cols ...string) *schema.Table {
	t := &schema.Table{Schema: db, Name: name}
	for _, c := range cols {
		t.Columns = append(t.Columns, schema.Column{Name: c, DataType: "int"})
	}
	for i := 0; i < pk; i++ {
		t.Key = append(t.Key, i)
	}
	t.KeyIsPrimary = pk > 0
	return t
}

func TestForFirstRuleWins(t *testing.T) {
	s := compile(t, config.TargetPostgres,
		config.TableRule{Source: "shop.orders", Target: "special.orders"},
		config.TableRule{Source: "shop.*"},
		config.TableRule{Source: "`my.db`.`t``q`"},
		config.TableRule{Source: "log?.ev_[0-9]"},
		config.TableRule{Source: "*", ExcludeColumns: []string{"x"}},
	)
	cases := []struct {
		db, table string
		index     int // -1: not selected
	}{
		{"shop", "orders", 0},
		{"shop", "items", 1},
		{"Shop", "items", 4}, // case-sensitive, as table names are on Linux
		{"my.db", "t`q", 2},
		{"log1", "ev_7", 3},
		{"log12", "ev_7", 4},
		{"other", "t", 4},
		{"mysql", "user", -1},
		{"information_schema", "TABLES", -1},
		{"performance_schema", "threads", -1},
		{"SYS", "x", -1},
	}
	for _, tc := range cases {
		r := s.For(tc.db, tc.table)
		if tc.index < 0 {
			if r != nil || s.Selects(tc.db, tc.table) {
				t.Errorf("For(%s.%s) = rule %d, want not selected", tc.db, tc.table, r.Index())
			}
			continue
		}
		if r == nil {
			t.Errorf("For(%s.%s) = nil, want rule %d", tc.db, tc.table, tc.index)
			continue
		}
		if r.Index() != tc.index || r.Source() != s.rules[tc.index].source {
			t.Errorf("For(%s.%s) = rule %d (%q), want %d", tc.db, tc.table, r.Index(), r.Source(), tc.index)
		}
	}
}

func TestSystemSchemaNamedExplicitly(t *testing.T) {
	s := compile(t, config.TargetPostgres, config.TableRule{Source: "mysql.user"})
	if !s.Selects("mysql", "user") {
		t.Errorf("a rule naming mysql.user does not select it")
	}
}

func TestSelectsDB(t *testing.T) {
	s := compile(t, config.TargetPostgres, config.TableRule{Source: "shop.orders"}, config.TableRule{Source: "log_*.*"}, config.TableRule{Source: "*.t"})
	for db, want := range map[string]bool{"shop": true, "log_1": true, "other": true, "mysql": false, "sys": false} {
		if got := s.SelectsDB(db); got != want {
			t.Errorf("SelectsDB(%s) = %v, want %v", db, got, want)
		}
	}
	s = compile(t, config.TargetPostgres, config.TableRule{Source: "shop.*"})
	if s.SelectsDB("other") {
		t.Errorf("SelectsDB(other) with only shop.* = true")
	}
}

func TestCompileRefusesBadPattern(t *testing.T) {
	_, err := Compile(&config.Config{Tables: []config.TableRule{{Source: "shop.*"}, {Source: "nodot"}}})
	if err == nil || !strings.Contains(err.Error(), "tables[1] source") {
		t.Fatalf("Compile = %v, want an error naming tables[1] source", err)
	}
}

func TestTargetNames(t *testing.T) {
	cases := []struct {
		source, target string
		db, table      string
		schema, name   string
		index          string
	}{
		{"shop.Orders", "", "shop", "Orders", "shop", "Orders", "shop.orders"},
		{"shop.*", "archive.*", "shop", "orders", "archive", "orders", ""},
		{"shop.*", "pg.{db}_{table}", "shop", "orders", "pg", "shop_orders", "pg.shop_orders"},
		{"*", "{db}_copy.{table}", "Shop", "Orders", "Shop_copy", "Orders", "shop_copy.orders"},
		{"shop.orders", "x.y", "shop", "orders", "x", "y", "x.y"},
		{"shop.orders", "idx", "shop", "orders", "idx", "", "idx"},
	}
	for _, tc := range cases {
		rule := config.TableRule{Source: tc.source, Target: tc.target}
		pg := compile(t, config.TargetPostgres, rule).For(tc.db, tc.table)
		if s, n := pg.PGTarget(); s != tc.schema || n != tc.name {
			t.Errorf("%q: PGTarget(%s.%s) = %s.%s, want %s.%s", tc.target, tc.db, tc.table, s, n, tc.schema, tc.name)
		}
		if tc.name != "" {
			if got, want := pg.TargetName(), tc.schema+"."+tc.name; got != want {
				t.Errorf("%q: PostgreSQL TargetName = %q, want %q", tc.target, got, want)
			}
		}
		if tc.index == "" {
			continue // not an Elasticsearch target template
		}
		es := compile(t, config.TargetElasticsearch, rule).For(tc.db, tc.table)
		if got := es.ESIndex(); got != tc.index {
			t.Errorf("%q: ESIndex(%s.%s) = %q, want %q", tc.target, tc.db, tc.table, got, tc.index)
		}
		if got := es.TargetName(); got != tc.index {
			t.Errorf("%q: Elasticsearch TargetName = %q, want %q", tc.target, got, tc.index)
		}
	}
}

func TestPGSchema(t *testing.T) {
	s := compile(t, config.TargetPostgres,
		config.TableRule{Source: "fixed.t", Target: "one.t"},
		config.TableRule{Source: "fixed.*"},
		config.TableRule{Source: "per_*.*", Target: "pg_{db}.*"},
		config.TableRule{Source: "plain.*"},
	)
	cases := []struct {
		db     string
		schema string
		ok     bool
	}{
		{"fixed", "", false}, // the first rule for fixed sends it to "one"
		{"per_a", "pg_per_a", true},
		{"plain", "plain", true},
		{"none", "", false},
	}
	for _, tc := range cases {
		got, ok := s.PGSchema(tc.db)
		if got != tc.schema || ok != tc.ok {
			t.Errorf("PGSchema(%s) = %q, %v; want %q, %v", tc.db, got, ok, tc.schema, tc.ok)
		}
	}
}

func TestColumns(t *testing.T) {
	cases := []struct {
		name   string
		target string
		rule   config.TableRule
		def    *schema.Table
		cols   []int  // nil with err
		key    []int  // the identity after Columns
		err    string // a part of the error
	}{
		{name: "all columns", target: config.TargetElasticsearch,
			rule: config.TableRule{Source: "d.t"}, def: table("d", "t", 1, "id", "a", "b"),
			cols: []int{0, 1, 2}, key: []int{0}},
		{name: "include list, case-insensitive", target: config.TargetElasticsearch,
			rule: config.TableRule{Source: "d.t", Columns: []string{"ID", "b"}}, def: table("d", "t", 1, "id", "a", "b"),
			cols: []int{0, 2}, key: []int{0}},
		{name: "exclude list", target: config.TargetPostgres,
			rule: config.TableRule{Source: "d.t", ExcludeColumns: []string{"A"}}, def: table("d", "t", 1, "id", "a", "b"),
			cols: []int{0, 2}, key: []int{0}},
		{name: "excluded column missing from a single table", target: config.TargetPostgres,
			rule: config.TableRule{Source: "d.t", ExcludeColumns: []string{"gone"}}, def: table("d", "t", 1, "id", "a"),
			err: `tables rule "d.t": column "gone" does not exist in d.t`},
		{name: "listed column dropped by DDL", target: config.TargetPostgres,
			rule: config.TableRule{Source: "d.t", Columns: []string{"id", "a", "b"}}, def: table("d", "t", 1, "id", "b"),
			err: `column "a" does not exist in d.t`},
		{name: "pattern lists apply where they fit", target: config.TargetPostgres,
			rule: config.TableRule{Source: "d.*", ExcludeColumns: []string{"gone", "b"}}, def: table("d", "t", 1, "id", "b", "c"),
			cols: []int{0, 2}, key: []int{0}},
		{name: "column added by DDL travels", target: config.TargetPostgres,
			rule: config.TableRule{Source: "d.t", ExcludeColumns: []string{"b"}}, def: table("d", "t", 1, "id", "b", "c", "added"),
			cols: []int{0, 2, 3}, key: []int{0}},
		{name: "column renamed by DDL into the exclude list", target: config.TargetPostgres,
			rule: config.TableRule{Source: "d.*", ExcludeColumns: []string{"secret"}}, def: table("d", "t", 1, "id", "secret"),
			cols: []int{0}, key: []int{0}},
		{name: "excluded key column", target: config.TargetPostgres,
			rule: config.TableRule{Source: "d.*", ExcludeColumns: []string{"id"}}, def: table("d", "t", 1, "id", "a"),
			err: `tables rule "d.*": key column "id" of d.t must be replicated (it identifies rows)`},
		{name: "key overrides the primary key", target: config.TargetElasticsearch,
			rule: config.TableRule{Source: "d.t", Key: []string{"B", "a"}}, def: table("d", "t", 1, "id", "a", "b"),
			cols: []int{0, 1, 2}, key: []int{2, 1}},
		{name: "key of a keyless table", target: config.TargetElasticsearch,
			rule: config.TableRule{Source: "d.t", Key: []string{"a"}}, def: table("d", "t", 0, "a", "b"),
			cols: []int{0, 1}, key: []int{0}},
		{name: "key column dropped by DDL", target: config.TargetPostgres,
			rule: config.TableRule{Source: "d.*", Key: []string{"a"}}, def: table("d", "t", 0, "b"),
			err: `tables rule "d.*": key column "a" does not exist in d.t`},
		{name: "keyless in PostgreSQL", target: config.TargetPostgres,
			rule: config.TableRule{Source: "d.t", Columns: []string{"a"}}, def: table("d", "t", 0, "a", "b"),
			cols: []int{0}, key: nil},
		{name: "keyless in Elasticsearch", target: config.TargetElasticsearch,
			rule: config.TableRule{Source: "d.t"}, def: table("d", "t", 0, "a", "b"),
			err: "table d.t has no primary key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := compile(t, tc.target, tc.rule).For(tc.def.Schema, tc.def.Name)
			cols, err := r.Columns(tc.def)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Columns = %v, %v; want an error with %q", cols, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Columns: %v", err)
			}
			if !slices.Equal(cols, tc.cols) {
				t.Errorf("Columns = %v, want %v", cols, tc.cols)
			}
			if !slices.Equal(tc.def.Key, tc.key) {
				t.Errorf("key after Columns = %v, want %v", tc.def.Key, tc.key)
			}
			if len(tc.rule.Key) > 0 && tc.def.KeyIsPrimary {
				t.Errorf("a configured key is marked primary")
			}
			for i, c := range tc.def.Columns {
				if got, want := r.Replicates(c.Name), slices.Contains(tc.cols, i); got != want {
					t.Errorf("Replicates(%q) = %v, want %v", c.Name, got, want)
				}
			}
		})
	}
}

func TestKeyedColumnsNeedsKeyInPostgres(t *testing.T) {
	r := compile(t, config.TargetPostgres, config.TableRule{Source: "d.t"}).For("d", "t")
	if _, err := r.Columns(table("d", "t", 0, "a")); err != nil {
		t.Fatalf("Columns of a keyless table for PostgreSQL: %v", err)
	}
	if _, err := r.KeyedColumns(table("d", "t", 0, "a")); err == nil || !strings.Contains(err.Error(), "no primary key") {
		t.Fatalf("KeyedColumns of a keyless table = %v, want the no primary key error", err)
	}
}

func TestRuleSettings(t *testing.T) {
	s := compile(t, config.TargetPostgres,
		config.TableRule{Source: "d.k", Key: []string{"a", "b"}, KeylessIndex: nil},
		config.TableRule{Source: "d.*", KeylessIndex: []string{"x"}},
	)
	k, p := s.For("d", "k"), s.For("d", "other")
	if !slices.Equal(k.Key(), []string{"a", "b"}) || k.KeylessIndex() != nil || k.Wildcard() {
		t.Errorf("d.k: key %v, keyless_index %v, wildcard %v", k.Key(), k.KeylessIndex(), k.Wildcard())
	}
	if p.Key() != nil || !slices.Equal(p.KeylessIndex(), []string{"x"}) || !p.Wildcard() {
		t.Errorf("d.other: key %v, keyless_index %v, wildcard %v", p.Key(), p.KeylessIndex(), p.Wildcard())
	}
	if !s.Keyless() || compile(t, config.TargetElasticsearch).Keyless() {
		t.Errorf("Keyless: PostgreSQL replicates keyless tables, Elasticsearch does not")
	}
}

// TestFieldTypes: field_types answer by column name case-insensitively, and a single-table
// rule naming a column the table lacks is refused.
func TestFieldTypes(t *testing.T) {
	s := compile(t, config.TargetElasticsearch,
		config.TableRule{Source: "d.t", FieldTypes: map[string]string{"Code": "keyword"}},
		config.TableRule{Source: "d.*", FieldTypes: map[string]string{"nope": "text"}},
	)
	r := s.For("d", "t")
	if r.FieldType("code") != "keyword" || r.FieldType("CODE") != "keyword" || r.FieldType("other") != "" {
		t.Errorf("FieldType: %q %q %q", r.FieldType("code"), r.FieldType("CODE"), r.FieldType("other"))
	}
	if _, err := r.Columns(table("d", "t", 1, "id", "code")); err != nil {
		t.Errorf("Columns: %v", err)
	}
	if _, err := r.Columns(table("d", "t", 1, "id")); err == nil || !strings.Contains(err.Error(), `column "code" does not exist`) {
		t.Errorf("Columns without the field_types column: %v", err)
	}
	if _, err := s.For("d", "u").Columns(table("d", "u", 1, "id")); err != nil {
		t.Errorf("a pattern's field_types apply where they fit: %v", err)
	}
}

func TestESName(t *testing.T) {
	cases := []struct{ written, name, problem string }{
		{"shop.orders", "shop.orders", ""},
		{"shop.Orders", "shop.orders", ""},
		{"x.café", "x.café", ""},
		{"x.CAFÉ", "x.café", ""},
		{"x.order items", "x.order_items", ""},
		{`a\b/c*d?e"f<g>h|i,j#k:l`, "a_b_c_d_e_f_g_h_i_j_k_l", ""},
		{"x.tab\there", "x.tab_here", ""},
		{"_x.t", "_x.t", "starts with"},
		{"-x.t", "-x.t", "starts with"},
		{".x", ".x", "hidden"},
		{"..", "..", "not allowed"},
		{"x.log-g000001", "x.log-g000001", "concrete index"},
		{"x.log-g01", "x.log-g01", ""},
		{strings.Repeat("a", 247), strings.Repeat("a", 247), ""},
		{strings.Repeat("a", 248), strings.Repeat("a", 248), "bytes"},
	}
	for _, tc := range cases {
		got := ESName(tc.written)
		if got != tc.name {
			t.Errorf("ESName(%q) = %q, want %q", tc.written, got, tc.name)
		}
		if ESName(got) != got {
			t.Errorf("ESName(%q) is not stable: %q", got, ESName(got))
		}
		p := ESNameProblem(got)
		if tc.problem == "" && p != "" || tc.problem != "" && !strings.Contains(p, tc.problem) {
			t.Errorf("ESNameProblem(%q) = %q, want one containing %q", got, p, tc.problem)
		}
	}
}

func TestESCollisions(t *testing.T) {
	cases := []struct {
		rules  []config.TableRule
		tables []string
		want   map[string][]string
	}{
		{[]config.TableRule{{Source: "x.*"}}, []string{"x.Users", "x.users", "x.orders"}, map[string][]string{"x.users": {"x.Users", "x.users"}}},
		{[]config.TableRule{{Source: "x.*"}}, []string{"x.order items", "x.order_items"}, map[string][]string{"x.order_items": {"x.order items", "x.order_items"}}},
		// One index for several tables on purpose: no collision.
		{[]config.TableRule{{Source: "x.*", Target: "all"}}, []string{"x.a", "x.b"}, map[string][]string{}},
		{[]config.TableRule{{Source: "x.*"}}, []string{"x.a", "x.b"}, map[string][]string{}},
	}
	for _, tc := range cases {
		got := compile(t, config.TargetElasticsearch, tc.rules...).ESCollisions(tc.tables)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ESCollisions(%v) = %v, want %v", tc.tables, got, tc.want)
		}
	}
}

func TestPGCollisions(t *testing.T) {
	cases := []struct {
		name   string
		rules  []config.TableRule
		tables []string
		want   map[string][]string
	}{
		{"shards without {db} in the target", []config.TableRule{{Source: "shop_*.orders", Target: "all.*"}}, []string{"shop_1.orders", "shop_2.orders"},
			map[string][]string{"all.orders": {"shop_1.orders", "shop_2.orders"}}},
		{"every table of several databases into one schema", []config.TableRule{{Source: "*.*", Target: "all.*"}}, []string{"a.t", "b.t", "b.u"},
			map[string][]string{"all.t": {"a.t", "b.t"}}},
		{"two rules naming one table", []config.TableRule{{Source: "a.t", Target: "x.t"}, {Source: "b.t", Target: "x.t"}}, []string{"a.t", "b.t"},
			map[string][]string{"x.t": {"a.t", "b.t"}}},
		{"fan-in on purpose", []config.TableRule{{Source: "shop_*.orders", Target: "all.orders"}}, []string{"shop_1.orders", "shop_2.orders"}, map[string][]string{}},
		{"two fan-in rules into one table", []config.TableRule{{Source: "a_*.t", Target: "all.t"}, {Source: "b_*.t", Target: "all.t"}}, []string{"a_1.t", "b_1.t"},
			map[string][]string{"all.t": {"a_1.t", "b_1.t"}}},
		{"{db} keeps them apart", []config.TableRule{{Source: "shop_*.orders", Target: "{db}_copy.*"}}, []string{"shop_1.orders", "shop_2.orders"}, map[string][]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := compile(t, config.TargetPostgres, tc.rules...).PGCollisions(tc.tables)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PGCollisions(%v) = %v, want %v", tc.tables, got, tc.want)
			}
		})
	}
}

func TestESIndexShared(t *testing.T) {
	s := compile(t, config.TargetElasticsearch,
		config.TableRule{Source: "x.a", Target: "both"},
		config.TableRule{Source: "x.b", Target: "both"},
		config.TableRule{Source: "x.c", Target: "own"},
		config.TableRule{Source: "x.*"},
	)
	for _, c := range []struct {
		table  string
		shared bool
	}{{"a", true}, {"b", true}, {"c", false}, {"d", false}} {
		if got := s.For("x", c.table).ESIndexShared(); got != c.shared {
			t.Errorf("x.%s: ESIndexShared = %v, want %v", c.table, got, c.shared)
		}
	}
}
