package postgres

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// TestFanInTranslate: statements about one shard of a fan-in target as a whole concern
// its rows only; ADD COLUMN passes for the first shard and again for the next; a MODIFY
// the other shards lack is refused naming the tables; a rename out of the target is
// refused.
func TestFanInTranslate(t *testing.T) {
	cfg := testConfig(t, `[[tables]]
source = "s?.orders"
target = "all.orders"
[[tables]]
source = "other.*"
`)
	routes, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tg := &Target{cfg: cfg, routes: routes, pol: mapping.NewPolicy(cfg.Mapping), log: slog.New(slog.DiscardHandler)}
	def := func(db string) *schema.Table {
		return &schema.Table{Schema: db, Name: "orders", Key: []int{0}, KeyIsPrimary: true, Columns: []schema.Column{
			{Name: "id", DataType: "int", ColumnType: "int(11)"},
			{Name: "v", DataType: "int", ColumnType: "int(11)", Nullable: true},
		}}
	}
	cat := ddl.Catalog{{Schema: "s1", Name: "orders"}: def("s1"), {Schema: "s2", Name: "orders"}: def("s2"), {Schema: "other", Name: "t"}: def("other")}
	parse := func(q, db string) ddl.Change {
		t.Helper()
		ch, err := (&ddl.Parser{Flavor: ddl.MariaDB}).Parse(q, db)
		if err != nil || len(ch) != 1 {
			t.Fatalf("parse %s: %v %v", q, ch, err)
		}
		return ch[0]
	}
	stmts := func(q, db string, before ddl.Catalog) ([]string, error) {
		p, err := tg.translate(parse(q, db), before)
		return p.Statements, err
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"TRUNCATE TABLE s1.orders", []string{`DELETE FROM "all"."orders" WHERE "replicator_source" = E's1.orders'`}},
		{"DROP TABLE s2.orders, other.t", []string{`DELETE FROM "all"."orders" WHERE "replicator_source" = E's2.orders'`, `DROP TABLE IF EXISTS "other"."t"`}},
		{"RENAME TABLE s2.orders TO s3.orders", []string{`UPDATE "all"."orders" SET "replicator_source" = E's3.orders' WHERE "replicator_source" = E's2.orders'`}},
		{"DROP DATABASE s1", []string{`DELETE FROM "all"."orders" WHERE "replicator_source" = E's1.orders'`}},
	} {
		got, err := stmts(c.q, "s1", cat)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q (%v), want %q", c.q, got, err, c.want)
		}
	}
	if _, err := stmts("RENAME TABLE s1.orders TO other.orders", "s1", cat); err == nil || !strings.Contains(err.Error(), "tables[0]: RENAME TABLE s1.orders TO other.orders moves a table into or out of the fan-in target all.orders") {
		t.Errorf("rename out of the fan-in: %v", err)
	}

	add := "ALTER TABLE orders ADD COLUMN tag VARCHAR(20) NULL"
	got, err := stmts(add, "s1", cat)
	if err != nil || len(got) == 0 || !strings.Contains(got[0], `ALTER TABLE "all"."orders" ADD COLUMN IF NOT EXISTS "tag"`) {
		t.Fatalf("first ADD COLUMN: %q, %v", got, err)
	}
	after := ddl.Catalog{}
	for k, v := range cat {
		after[k] = v
	}
	if err := after.Apply(parse(add, "s1")); err != nil {
		t.Fatal(err)
	}
	if got2, err := stmts(add, "s2", after); err != nil || !reflect.DeepEqual(got2, got) {
		t.Errorf("second ADD COLUMN: %q (%v), want the same idempotent %q", got2, err, got)
	}
	_, err = stmts("ALTER TABLE orders MODIFY v BIGINT", "s1", cat)
	if err == nil || !strings.Contains(err.Error(), "after this change of s1.orders it could not hold the rows of s2.orders: column v would be bigint in s1.orders, integer in s2.orders") {
		t.Errorf("MODIFY on one shard: %v", err)
	}
	if err := tg.CheckDDL(parse("ALTER TABLE orders DROP COLUMN v", "s2"), cat); err == nil || !strings.Contains(err.Error(), "s2.orders would lack column v, which s1.orders still writes") {
		t.Errorf("DROP COLUMN on one shard: %v", err)
	}
}
