package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/tracker"
)

func ddlTestConfig(t *testing.T, onError string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(fmt.Sprintf(`[source]
host = "h"
user = "u"
server_id = 1
[target]
type = "postgres"
[target.postgres]
url = "postgres://x@h/db"
[ddl]
on_error = %q
[[tables]]
source = "shop.*"
`, onError), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func ddlTestTable() *schema.Table {
	return &schema.Table{Schema: "shop", Name: "orders", Key: []int{0}, KeyIsPrimary: true, Columns: []schema.Column{
		{Name: "id", DataType: "int", ColumnType: "int(11)"},
		{Name: "v", DataType: "int", ColumnType: "int(11)", Nullable: true},
	}}
}

// testHandler is a DDL handler over a tracker holding shop.orders; reloaded counts the
// definitions read again from the source (ddl.on_error = "skip"), which has current.
func testHandler(t *testing.T, onError string, current *schema.Table) (h *ddlHandler, tr *tracker.Tracker, reloaded *int) {
	t.Helper()
	cfg := ddlTestConfig(t, onError)
	routes, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr = tracker.New(routes, nil)
	if err := tr.Put(ddlTestTable()); err != nil {
		t.Fatal(err)
	}
	reloaded = new(int)
	h = &ddlHandler{cfg: cfg, tr: tr, log: slog.New(slog.DiscardHandler),
		refresh: func(_ context.Context, db, table string) (*schema.Table, error) {
			if db+"."+table != "shop.orders" {
				return nil, nil
			}
			*reloaded++
			return current.Clone(), nil
		}}
	return h, tr, reloaded
}

// TestDDLHandlerStepsCarryTheDefinitionsBeforeThem: each step carries the definitions it
// is translated against, and they stay as they were while the tracker moves on (the
// target translates later, in another goroutine).
func TestDDLHandlerStepsCarryTheDefinitionsBeforeThem(t *testing.T) {
	h, tr, _ := testHandler(t, "stop", nil)
	pos := change.Position{Flavor: "mariadb", GTID: "0-1-1"}
	sc, err := h.handle(context.Background(), "shop", "ALTER TABLE orders ADD COLUMN a INT; ALTER TABLE orders ADD COLUMN b INT", pos, "0-1-1")
	if err != nil || sc == nil || len(sc.Steps) != 2 {
		t.Fatalf("handle: %+v, %v; want two steps", sc, err)
	}
	first := sc.Steps[0].Before.Lookup("shop", "orders")
	if first == nil || len(first.Columns) != 2 {
		t.Fatalf("step 1 before: %+v", first)
	}
	if second := sc.Steps[1].Before.Lookup("shop", "orders"); second == nil || len(second.Columns) != 3 || second.Columns[2].Name != "a" {
		t.Fatalf("step 2 before: %+v", second)
	}
	if got := tr.Lookup("shop", "orders"); len(got.Columns) != 4 {
		t.Fatalf("tracker after the statement: %d columns, want 4", len(got.Columns))
	}
	if last := sc.Tables[len(sc.Tables)-1]; len(last.Columns) != 4 {
		t.Fatalf("definition after the statement: %+v", last)
	}
	// The tracker moves on; the step's definitions do not.
	if _, err := h.handle(context.Background(), "shop", "ALTER TABLE orders DROP COLUMN v", pos, "0-1-2"); err != nil {
		t.Fatal(err)
	}
	if again := sc.Steps[0].Before.Lookup("shop", "orders"); again != first || len(again.Columns) != 2 {
		t.Fatalf("step 1 before changed with the tracker: %+v", again)
	}
}

// TestDDLHandlerUntranslatableChange: a change the target's check refuses goes through
// ddl.on_error in the reader, before the tracker moves: "stop" fails with the statement,
// the cause and the fix; "skip" reloads the named tables from the source and sends no
// schema change. The check sees the definitions before the change.
func TestDDLHandlerUntranslatableChange(t *testing.T) {
	cause := errors.New("cannot translate ALTER TABLE shop.orders ADD COLUMN g to PostgreSQL: a generated column")
	pos := change.Position{Flavor: "mariadb", GTID: "0-1-7"}
	query := "ALTER TABLE orders ADD COLUMN g INT AS (v * 2) STORED"
	check := func(t *testing.T) func(ch ddl.Change, before ddl.Tables) error {
		return func(ch ddl.Change, before ddl.Tables) error {
			if def := before.Lookup("shop", "orders"); def == nil || len(def.Columns) != 2 {
				t.Errorf("check saw %+v, want the definition before the change", def)
			}
			if a, ok := ch.(*ddl.AlterTable); ok {
				for _, sp := range a.Specs {
					if ac, ok := sp.(*ddl.AddColumn); ok && ac.Column.Name == "g" {
						return cause
					}
				}
			}
			return nil
		}
	}

	h, tr, reloaded := testHandler(t, "stop", nil)
	h.check = check(t)
	sc, err := h.handle(context.Background(), "shop", query, pos, "0-1-7")
	if sc != nil || err == nil {
		t.Fatalf("stop: %+v, %v; want an error", sc, err)
	}
	for _, want := range []string{"DDL at GTID 0-1-7", "cannot be replicated", "cannot translate ALTER TABLE shop.orders ADD COLUMN g", `on_error = "skip"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("stop error %q lacks %q", err, want)
		}
	}
	if *reloaded != 0 || len(tr.Lookup("shop", "orders").Columns) != 2 {
		t.Errorf("stop moved the tracker or reloaded: %d reloads, %d columns", *reloaded, len(tr.Lookup("shop", "orders").Columns))
	}
	// A change the check takes goes on to the target.
	if sc, err := h.handle(context.Background(), "shop", "ALTER TABLE orders ADD COLUMN a INT", pos, "0-1-8"); err != nil || sc == nil || len(sc.Steps) != 1 {
		t.Fatalf("translatable statement: %+v, %v", sc, err)
	}

	current := ddlTestTable()
	current.Columns = append(current.Columns, schema.Column{Name: "g", DataType: "int", ColumnType: "int(11)", Nullable: true})
	h, tr, reloaded = testHandler(t, "skip", current)
	h.check = check(t)
	sc, err = h.handle(context.Background(), "shop", query, pos, "0-1-7")
	if sc != nil || err != nil {
		t.Fatalf("skip: %+v, %v; want nothing", sc, err)
	}
	if *reloaded != 1 || tr.Lookup("shop", "orders").ColumnIndex("g") != 2 {
		t.Errorf("skip: %d reloads, tracked columns %+v; want the source's definition", *reloaded, tr.Lookup("shop", "orders").Columns)
	}
}

// TestBatcherDDLWithoutSchemaChange: a DDL event without what the handler made of it is
// an error, not dropped.
func TestBatcherDDLWithoutSchemaChange(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	items := make(chan item, 2)
	items <- item{ev: change.Event{Kind: change.DDL, GTID: "0-1-1", Query: "ALTER TABLE t ADD x INT"}}
	close(items)
	if _, err := applyStream(context.Background(), testOptions(f, 1000), pos(0), 0, nil, items, nil); err == nil || !strings.Contains(err.Error(), "without its schema change") {
		t.Fatalf("error %v, want a DDL without its schema change refused", err)
	}
}
