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
	tr = tracker.New(cfg, nil)
	if err := tr.Put(ddlTestTable()); err != nil {
		t.Fatal(err)
	}
	reloaded = new(int)
	h = &ddlHandler{cfg: cfg, tr: tr, log: slog.New(slog.DiscardHandler), refused: map[string]*ddlRefusal{},
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

// TestDDLHandlerRefusedStatement: a statement the target refused to translate (known
// from an earlier attempt) goes through ddl.on_error at the refused step: "stop" fails
// with the statement, the cause and the fix; "skip" reloads the named tables from the
// source and sends no schema change. The steps before the refused one still move the
// tracker, as when the reader translated.
func TestDDLHandlerRefusedStatement(t *testing.T) {
	cause := errors.New("cannot translate ALTER TABLE shop.orders ADD COLUMN g to PostgreSQL: a generated column")
	pos := change.Position{Flavor: "mariadb", GTID: "0-1-7"}
	query := "ALTER TABLE orders ADD COLUMN g INT AS (v * 2) STORED"

	h, tr, reloaded := testHandler(t, "stop", nil)
	h.refused["0-1-7"] = &ddlRefusal{gtid: "0-1-7", query: query, step: 0, err: cause}
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
	// Another GTID is not refused.
	if sc, err := h.handle(context.Background(), "shop", query, pos, "0-1-8"); err != nil || sc == nil || len(sc.Steps) != 1 {
		t.Fatalf("unrefused statement: %+v, %v", sc, err)
	}

	current := ddlTestTable()
	current.Columns = append(current.Columns, schema.Column{Name: "g", DataType: "int", ColumnType: "int(11)", Nullable: true})
	h, tr, reloaded = testHandler(t, "skip", current)
	h.refused["0-1-7"] = &ddlRefusal{gtid: "0-1-7", query: query, step: 0, err: cause}
	sc, err = h.handle(context.Background(), "shop", query, pos, "0-1-7")
	if sc != nil || err != nil {
		t.Fatalf("skip: %+v, %v; want nothing", sc, err)
	}
	if *reloaded != 1 || tr.Lookup("shop", "orders").ColumnIndex("g") != 2 {
		t.Errorf("skip: %d reloads, tracked columns %+v; want the source's definition", *reloaded, tr.Lookup("shop", "orders").Columns)
	}
}

// refusingApplier refuses to translate the schema change of one GTID.
type refusingApplier struct {
	*fakeApplier
	gtid string
}

func (r *refusingApplier) Begin(ctx context.Context) (Tx, error) {
	tx, err := r.fakeApplier.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &refusingTx{Tx: tx, gtid: r.gtid}, nil
}

type refusingTx struct {
	Tx
	gtid string
}

func (t *refusingTx) ApplySchema(ctx context.Context, sc *ddl.SchemaChange) error {
	if sc.GTID == t.gtid {
		return fmt.Errorf("translate: %w", &ddl.TranslateError{Step: 1, Err: errors.New("no such thing in PostgreSQL")})
	}
	return t.Tx.ApplySchema(ctx, sc)
}

// TestApplyStreamRefusedDDLStopsForOnError: a step the target cannot translate ends the
// attempt with a *ddlRefusal naming the statement and the step (Run then reads again
// for the reader to apply ddl.on_error); nothing of the batch holding it is committed,
// the batches before it are.
func TestApplyStreamRefusedDDLStopsForOnError(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	o := testOptions(f, 1000)
	o.Applier = &refusingApplier{fakeApplier: f, gtid: "0-1-2"}
	items := make(chan item, 16)
	for _, e := range txn(1, "a") {
		items <- item{ev: e}
	}
	sc := &ddl.SchemaChange{Query: "ALTER TABLE t ADD COLUMN x INT", Schema: "d", GTID: "0-1-2"}
	items <- item{ev: change.Event{Kind: change.DDL, GTID: "0-1-2", Schema: "d", Query: sc.Query}, schema: sc}
	items <- item{ev: change.Event{Kind: change.Commit, GTID: "0-1-2", Pos: change.Position{Flavor: "mariadb", GTID: "0-1-2"}}}
	close(items)
	_, err := applyStream(context.Background(), o, pos(0), nil, items, nil)
	var dr *ddlRefusal
	if !errors.As(err, &dr) || dr.gtid != "0-1-2" || dr.step != 1 || !strings.Contains(err.Error(), "ALTER TABLE t ADD COLUMN x INT") {
		t.Fatalf("error %v, want the refusal of 0-1-2 step 1", err)
	}
	for _, c := range f.commits {
		if c.pos.GTID == "0-1-2" {
			t.Fatalf("the batch holding the refused statement was committed: %+v", f.commits)
		}
	}
}

// TestBatcherDDLWithoutSchemaChange: a DDL event without what the handler made of it is
// an error, not dropped.
func TestBatcherDDLWithoutSchemaChange(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	items := make(chan item, 2)
	items <- item{ev: change.Event{Kind: change.DDL, GTID: "0-1-1", Query: "ALTER TABLE t ADD x INT"}}
	close(items)
	if _, err := applyStream(context.Background(), testOptions(f, 1000), pos(0), nil, items, nil); err == nil || !strings.Contains(err.Error(), "without its schema change") {
		t.Fatalf("error %v, want a DDL without its schema change refused", err)
	}
}
