package transform_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/replicator/replicator/applier/postgres/pgddl"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/transform"
)

// TestMapAlterTranslatesToTargetColumns parses source DDL, maps it with MapAlter and
// translates the result with the PostgreSQL translator over the target view of the
// table: the statements name the renamed target columns and keep hashed columns CHAR(64).
func TestMapAlterTranslatesToTargetColumns(t *testing.T) {
	t.Parallel()
	chs, err := ddl.Parse("CREATE TABLE orders (id bigint NOT NULL, email varchar(200), note text, phone varchar(20), PRIMARY KEY (id))", "shop")
	if err != nil {
		t.Fatal(err)
	}
	def := chs[0].(*ddl.CreateTable).Table
	r := compile(t, transform.Spec{Rule: 1, Rename: map[string]string{"email": "contact_email"}, Hash: []string{"phone"}, Metadata: []string{"gtid"}})
	v, err := r.View(def, []int{0, 1, 2, 3}, false)
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(db, table string) (pgddl.PGTarget, bool) { return pgddl.PGTarget{Schema: db, Table: table}, true }
	cases := []struct {
		sql  string
		want []string
		err  string
	}{
		{sql: "ALTER TABLE orders MODIFY email varchar(300)", want: []string{`ALTER TABLE "shop"."orders" ALTER COLUMN "contact_email" TYPE varchar(300) USING "contact_email"::varchar(300)`}},
		{sql: "ALTER TABLE orders ADD INDEX ie (email, note(10))", want: []string{`CREATE INDEX IF NOT EXISTS "orders_ie" ON "shop"."orders" ("contact_email", left("note", 10))`}},
		{sql: "ALTER TABLE orders DROP COLUMN email", want: []string{`ALTER TABLE "shop"."orders" DROP COLUMN IF EXISTS "contact_email"`}},
		{sql: "ALTER TABLE orders MODIFY phone int NOT NULL DEFAULT 5", want: []string{`ALTER TABLE "shop"."orders" ALTER COLUMN "phone" SET NOT NULL`}},
		{sql: "ALTER TABLE orders ALTER phone SET DEFAULT '1'", want: nil},
		{sql: "ALTER TABLE orders ADD FULLTEXT INDEX ft (phone)", want: nil},
		{sql: "ALTER TABLE orders ADD UNIQUE INDEX up (phone(5))", want: []string{`ALTER TABLE "shop"."orders" DROP CONSTRAINT IF EXISTS "orders_up"`, `ALTER TABLE "shop"."orders" ADD CONSTRAINT "orders_up" UNIQUE ("phone") DEFERRABLE INITIALLY DEFERRED`}},
		{sql: "ALTER TABLE orders ADD COLUMN x int AFTER email", want: []string{`ALTER TABLE "shop"."orders" ADD COLUMN IF NOT EXISTS "x" integer`}},
		{sql: "ALTER TABLE orders ADD COLUMN REPLICATOR_GTID int", err: "tables[1].metadata: column REPLICATOR_GTID added to shop.orders at the source has the name of metadata column replicator_gtid"},
		{sql: "ALTER TABLE orders ADD COLUMN contact_email int", err: `tables[1].rename: column contact_email added to shop.orders at the source has the name that column "email" is renamed to`},
		{sql: "ALTER TABLE orders RENAME COLUMN email TO mail", err: `tables[1].rename names "email"`},
		{sql: "ALTER TABLE orders CHANGE phone tel varchar(20)", err: `tables[1].hash names "phone"`},
		{sql: "ALTER TABLE orders RENAME COLUMN note TO contact_email", err: `tables[1].rename: column contact_email added`},
	}
	for _, tc := range cases {
		chs, err := ddl.Parse(tc.sql, "shop")
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		alter := chs[0].(*ddl.AlterTable)
		specs, err := r.MapAlter("shop.orders", alter.Specs)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.sql, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		mapped := *alter
		mapped.Specs = specs
		plan, err := pgddl.TranslatePG(&mapped, ddl.Catalog{{Schema: "shop", Name: "orders"}: v.Table}, resolve, mapping.Policy{})
		if err != nil {
			t.Errorf("%s: translate: %v", tc.sql, err)
			continue
		}
		if !reflect.DeepEqual(plan.Statements, tc.want) {
			t.Errorf("%s\n got  %q\n want %q", tc.sql, plan.Statements, tc.want)
		}
	}
	if alter := mustAlter(t, "ALTER TABLE orders MODIFY email varchar(300)"); alter.Specs[0].(*ddl.ModifyColumn).Column.Name != "email" {
		t.Fatal("MapAlter changed the source clause")
	}
}

func mustAlter(t *testing.T, sql string) *ddl.AlterTable {
	t.Helper()
	chs, err := ddl.Parse(sql, "shop")
	if err != nil {
		t.Fatal(err)
	}
	return chs[0].(*ddl.AlterTable)
}
