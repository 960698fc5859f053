package tracker

import (
	"strings"
	"testing"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

func testTracker(t *testing.T) *Tracker {
	t.Helper()
	cfg, err := config.Parse(`[source]
host = "h"
user = "u"
server_id = 1
[target]
type = "postgres"
[target.postgres]
url = "postgres://x@h/db"
[[tables]]
source = "shop.*"
`, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	routes, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return New(routes, nil)
}

func table(name string) *schema.Table {
	return &schema.Table{Schema: "shop", Name: name, Columns: []schema.Column{{Name: "id", DataType: "int"}}, Key: []int{0}, KeyIsPrimary: true}
}

// A name taken for a temporary table refuses a definition (rows arrived for it) until a
// statement gives it a known definition or drops it; the mark follows renames.
func TestMarkUnknown(t *testing.T) {
	tr := testTracker(t)
	n := func(s string) ddl.TableName { return ddl.TableName{Schema: "shop", Name: s} }
	tr.MarkUnknown(n("tmp"), n("t2"), "RENAME TABLE tmp TO t2 was taken for the rename of a temporary table")
	err := tr.Put(table("t2"))
	if err == nil || !strings.Contains(err.Error(), "table shop.t2 has rows, but RENAME TABLE tmp TO t2") {
		t.Fatalf("Put of a marked name: %v", err)
	}
	tr.MarkUnknown(n("t2"), n("t3"), "moved")
	if err := tr.Put(table("t2")); err != nil {
		t.Errorf("the mark did not move away from t2: %v", err)
	}
	if err := tr.Put(table("t3")); err == nil {
		t.Errorf("the mark did not move to t3")
	}
	tr.MarkUnknown(n("t3"), n("elsewhere"), "")
	tr.MarkUnknown(n("x"), ddl.TableName{Schema: "other", Name: "t"}, "unselected")
	if len(tr.unknown) != 1 {
		t.Errorf("marks %v: want only shop.elsewhere (an unselected name is not marked)", tr.unknown)
	}
	// CREATE TABLE gives the name a definition; DROP TABLE removes it.
	tr.MarkUnknown(ddl.TableName{}, n("c"), "c")
	tr.MarkUnknown(ddl.TableName{}, n("d"), "d")
	if err := tr.Apply(&ddl.CreateTable{Table: table("c")}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Apply(&ddl.DropTables{Names: []ddl.TableName{n("d"), n("elsewhere")}}); err != nil {
		t.Fatal(err)
	}
	if len(tr.unknown) != 0 {
		t.Errorf("marks left after CREATE and DROP: %v", tr.unknown)
	}
	tr.MarkUnknown(ddl.TableName{}, n("e"), "e")
	tr.Unmark(n("e"))
	if err := tr.Put(table("e")); err != nil {
		t.Errorf("Put after Unmark: %v", err)
	}
}
