package route

import (
	"reflect"
	"strings"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

// TestFanInRoutes: a pattern rule with one target sends every shard there, its view
// adds the source column, which leads the key, and each shard's rows and keys carry
// their own "db.table", so equal keys of two shards are two target rows.
func TestFanInRoutes(t *testing.T) {
	s := compile(t, config.TargetPostgres, config.TableRule{Source: "shop_*.orders", Target: "all.orders"})
	a, b := s.For("shop_1", "orders"), s.For("shop_2", "orders")
	if a == nil || b == nil {
		t.Fatal("shards not selected")
	}
	for _, rt := range []*Route{a, b} {
		if sch, n := rt.PGTarget(); sch != "all" || n != "orders" {
			t.Fatalf("PGTarget = %s.%s", sch, n)
		}
		if rt.FanIn() != "replicator_source" {
			t.Fatalf("FanIn = %q", rt.FanIn())
		}
	}
	def1 := table("shop_1", "orders", 1, "id", "total")
	def1.Indexes = []schema.Index{{Name: "u_total", Unique: true, Columns: []string{"total"}}, {Name: "i_total", Columns: []string{"total"}}}
	def2 := table("shop_2", "orders", 1, "id", "total")
	v1, err := a.View(def1)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := b.View(def2)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range v1.Table.Columns {
		names = append(names, c.Name)
	}
	if want := []string{"id", "total", "replicator_source"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("view columns %v, want %v", names, want)
	}
	if want := []int{2, 0}; !reflect.DeepEqual(v1.Table.Key, want) {
		t.Fatalf("view key %v, want %v (source first)", v1.Table.Key, want)
	}
	if v1.Table.Columns[2].Nullable {
		t.Fatal("source column nullable")
	}
	if got := v1.Table.Indexes[0].Columns; !reflect.DeepEqual(got, []string{"replicator_source", "total"}) {
		t.Fatalf("unique index columns %v: unique within each shard", got)
	}
	if got := v1.Table.Indexes[1].Columns; !reflect.DeepEqual(got, []string{"total"}) {
		t.Fatalf("plain index columns %v", got)
	}
	row := change.Row{[]byte("7"), []byte("1.50")}
	r1, r2 := v1.Row(row, change.Origin{}), v2.Row(row, change.Origin{})
	if string(r1[2]) != "shop_1.orders" || string(r2[2]) != "shop_2.orders" || string(r1[0]) != "7" {
		t.Fatalf("rows %q / %q", r1, r2)
	}
	k1, k2 := v1.Key(row), v2.Key(row)
	if string(k1[0]) != "shop_1.orders" || string(k1[1]) != "7" || string(k2[0]) != "shop_2.orders" {
		t.Fatalf("keys %q / %q", k1, k2)
	}
	if sel := v1.Selected(row, change.Origin{}); string(sel[2]) != "shop_1.orders" {
		t.Fatalf("Selected %q", sel)
	}
	if !strings.Contains(a.Transforms().Describe(), "fan-in source column replicator_source") {
		t.Fatalf("Describe = %q", a.Transforms().Describe())
	}
	g := s.FanInGroups([]string{"shop_1.orders", "other.t", "shop_2.orders"})
	if want := map[string][]string{"all.orders": {"shop_1.orders", "shop_2.orders"}}; !reflect.DeepEqual(g, want) {
		t.Fatalf("FanInGroups = %v", g)
	}
}

// TestFanInRefusals: a shard without a key, with a column named like the source column
// or with a foreign key action cannot be merged; errors name the key.
func TestFanInRefusals(t *testing.T) {
	s := compile(t, config.TargetPostgres, config.TableRule{Source: "shop_*.orders", Target: "all.orders", SourceColumn: "shard"})
	rt := s.For("shop_1", "orders")
	cases := []struct {
		def  *schema.Table
		want string
	}{
		{table("shop_1", "orders", 0, "a", "b"), `tables[0].target: table shop_1.orders has no key`},
		{table("shop_1", "orders", 1, "id", "Shard"), `tables[0].source_column: shop_1.orders already has a column named shard`},
		{func() *schema.Table {
			d := table("shop_1", "orders", 1, "id", "cust")
			d.ForeignKeys = []schema.ForeignKey{{Name: "fk_c", OnDelete: "CASCADE", RefTable: "customers", Columns: []string{"cust"}, RefColumns: []string{"id"}}}
			return d
		}(), `tables[0].target: shop_1.orders has foreign key fk_c with an action (ON DELETE CASCADE`},
	}
	for _, c := range cases {
		_, err := rt.View(c.def)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
}

// typeText is a TypeOf for the tests: the column type as written.
func typeText(c *schema.Column) (string, error) { return c.ColumnType, nil }

func shard(db string, cols ...schema.Column) *schema.Table {
	return &schema.Table{Schema: db, Name: "orders", Columns: cols, Key: []int{0}, KeyIsPrimary: true}
}

func col(name, typ string, nullable bool) schema.Column {
	return schema.Column{Name: name, DataType: strings.SplitN(typ, "(", 2)[0], ColumnType: typ, Nullable: nullable}
}

// TestFanInShapes: SameShape refuses shards a target cannot hold alike, naming both and
// the difference; CheckFanInChange lets the first shard's ADD COLUMN and the others' same
// ALTER through, and refuses a drop, a type change and a key change the others lack.
func TestFanInShapes(t *testing.T) {
	s := compile(t, config.TargetPostgres, config.TableRule{Source: "s?.orders", Target: "all.orders"})
	rt := s.For("s1", "orders")
	id, v := col("id", "int", false), col("v", "int", true)
	base1, base2 := shard("s1", id, v), shard("s2", id, v)
	if err := rt.SameShape(base1, base2, typeText); err != nil {
		t.Fatalf("alike shards refused: %v", err)
	}
	for _, c := range []struct {
		b    *schema.Table
		want string
	}{
		{shard("s2", id, v, col("x", "int", true)), "s1.orders and s2.orders are merged into all.orders (fan-in), but column x is in s2.orders only"},
		{shard("s2", id, col("v", "bigint", true)), "column v is int in s1.orders, bigint in s2.orders"},
		{shard("s2", id, col("v", "int", false)), "column v is int in s1.orders, int NOT NULL in s2.orders"},
		{func() *schema.Table { x := shard("s2", id, v); x.Key = []int{1}; return x }(), "the key of s1.orders is (replicator_source, id), of s2.orders (replicator_source, v)"},
	} {
		if err := rt.SameShape(base1, c.b, typeText); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "tables[0]") {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}

	added := shard("s1", id, v, col("tag", "varchar(20)", true))
	if err := rt.CheckFanInChange(base1, added, []*schema.Table{base2}, typeText); err != nil {
		t.Errorf("first shard's ADD COLUMN refused: %v", err)
	}
	added2 := shard("s2", id, v, col("tag", "varchar(20)", true))
	if err := rt.CheckFanInChange(base2, added2, []*schema.Table{added}, typeText); err != nil {
		t.Errorf("second shard's same ADD COLUMN refused: %v", err)
	}
	// A change unrelated to a column another shard got first passes.
	indexed := shard("s2", id, v)
	indexed.Indexes = []schema.Index{{Name: "iv", Columns: []string{"v"}}}
	if err := rt.CheckFanInChange(base2, indexed, []*schema.Table{added}, typeText); err != nil {
		t.Errorf("ADD INDEX refused while another shard has a column more: %v", err)
	}
	defaulted := col("n", "int", false)
	zero := "0"
	defaulted.Default = &zero
	if err := rt.CheckFanInChange(base1, shard("s1", id, v, defaulted), []*schema.Table{base2}, typeText); err != nil {
		t.Errorf("NOT NULL DEFAULT 0 column refused: %v", err)
	}
	for _, c := range []struct {
		nu   *schema.Table
		want string
	}{
		{shard("s1", id), "after this change of s1.orders it could not hold the rows of s2.orders: s1.orders would lack column v, which s2.orders still writes"},
		{shard("s1", id, col("v", "bigint", true)), "column v would be bigint in s1.orders, int in s2.orders"},
		{shard("s1", id, v, col("n", "int", false)), "column n int NOT NULL without a constant default would be added for s1.orders"},
		{func() *schema.Table {
			x := shard("s1", id, v)
			x.Key = []int{0, 1}
			v2 := x.Columns[1]
			v2.Nullable = false
			x.Columns[1] = v2
			return x
		}(), "s1.orders would have key (replicator_source, id, v), s2.orders has (replicator_source, id)"},
	} {
		err := rt.CheckFanInChange(base1, c.nu, []*schema.Table{base2}, typeText)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `fan-in target all.orders holds one definition for the source tables of "s?.orders"`) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
	// A shard created with another shape is refused too.
	if err := rt.CheckFanInChange(nil, shard("s3", id), []*schema.Table{base1}, typeText); err == nil || !strings.Contains(err.Error(), "s3.orders would lack column v") {
		t.Errorf("created shard: err = %v", err)
	}
}
