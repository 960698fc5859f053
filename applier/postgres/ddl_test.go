package postgres

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/replicator/replicator/applier/postgres/pgddl"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// TestApplySchemaRefusesUntranslatableStepFirst: ApplySchema translates every step against
// the definitions it carries before it runs anything, and names the step it cannot
// translate; CheckDDL, which the reader calls, refuses the same step. The batch here has
// no transaction: running a statement would panic.
func TestApplySchemaRefusesUntranslatableStepFirst(t *testing.T) {
	cfg := testConfig(t, `[[tables]]
source = "shop.*"
exclude_columns = ["x"]
`)
	orders := &schema.Table{Schema: "shop", Name: "orders", Key: []int{0}, KeyIsPrimary: true, Columns: []schema.Column{
		{Name: "id", DataType: "int", ColumnType: "int(11)"},
		{Name: "v", DataType: "int", ColumnType: "int(11)", Nullable: true},
	}}
	before := ddl.Catalog{{Schema: "shop", Name: "orders"}: orders}
	p := ddl.Parser{Flavor: ddl.MariaDB}
	changes, err := p.Parse("ALTER TABLE orders ADD COLUMN a INT; ALTER TABLE orders RENAME COLUMN v TO x", "shop")
	if err != nil || len(changes) != 2 {
		t.Fatalf("parse: %v, %v", changes, err)
	}
	after := ddl.Catalog{{Schema: "shop", Name: "orders"}: orders}
	if err := after.Apply(changes[0]); err != nil {
		t.Fatal(err)
	}
	sc := &ddl.SchemaChange{GTID: "0-1-9", Steps: []ddl.Step{{Change: changes[0], Before: before}, {Change: changes[1], Before: after}}}
	routes, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{t: &Target{cfg: cfg, routes: routes, log: slog.New(slog.DiscardHandler)}}
	err = b.ApplySchema(context.Background(), sc)
	var ue *pgddl.UntranslatableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "change 2 of the statement") {
		t.Fatalf("error %v, want the *pgddl.UntranslatableError of change 2", err)
	}
	if err := b.t.CheckDDL(changes[0], before); err != nil {
		t.Errorf("CheckDDL refuses ADD COLUMN a INT: %v", err)
	}
	if err := b.t.CheckDDL(changes[1], after); !errors.As(err, &ue) {
		t.Errorf("CheckDDL takes the rename out of the replicated columns: %v", err)
	}
}

// testConfig is a PostgreSQL configuration with the [[tables]] rules tables.
func testConfig(t *testing.T, tables string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(`[source]
host = "h"
user = "u"
server_id = 1
[target]
type = "postgres"
[target.postgres]
url = "postgres://x@h/db"
`+tables, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
