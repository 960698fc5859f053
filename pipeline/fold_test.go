package pipeline

import (
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

func row(vals ...string) change.Row {
	r := make(change.Row, len(vals))
	for i, v := range vals {
		if v != "NULL" {
			r[i] = []byte(v)
		}
	}
	return r
}

func TestFoldLastStateWins(t *testing.T) {
	tbl := &schema.Table{Schema: "s", Name: "t", Columns: []schema.Column{{Name: "id"}, {Name: "v"}}, Key: []int{0}}
	other := &schema.Table{Schema: "s", Name: "u", Columns: []schema.Column{{Name: "a"}, {Name: "b"}}, Key: []int{0, 1}}
	evs := []change.Event{
		{Kind: change.Insert, Table: tbl, After: row("1", "a")},
		{Kind: change.Update, Table: tbl, Before: row("1", "a"), After: row("1", "b")},
		{Kind: change.Insert, Table: tbl, After: row("2", "x")},
		{Kind: change.Delete, Table: tbl, Before: row("2", "x")},
		{Kind: change.Update, Table: tbl, Before: row("1", "b"), After: row("3", "b")}, // key change
		{Kind: change.Insert, Table: tbl, After: row("1", "again")},
		{Kind: change.Insert, Table: other, After: row("1", "2")},
		{Kind: change.Insert, Table: other, After: row("12", "")}, // composite keys must not collide
		{Kind: change.Delete, Table: tbl, Before: row("4", "NULL")},
	}
	f := newFolder(nil)
	for i := range evs {
		f.add(&evs[i])
	}
	got := f.take()
	if len(got) != 2 || got[0].Table != tbl || got[1].Table != other {
		t.Fatalf("tables: %+v", got)
	}
	want := map[string]string{"1": "again", "3": "b"}
	if len(got[0].Upserts) != 2 {
		t.Fatalf("upserts: %q", got[0].Upserts)
	}
	for _, r := range got[0].Upserts {
		if want[string(r[0])] != string(r[1]) {
			t.Errorf("upsert %q", r)
		}
	}
	var dels []string
	for _, r := range got[0].Deletes {
		dels = append(dels, string(r[0]))
	}
	if len(dels) != 2 || dels[0] != "2" || dels[1] != "4" {
		t.Errorf("deletes %v, want [2 4]", dels)
	}
	if len(got[1].Upserts) != 2 {
		t.Errorf("composite keys folded together: %q", got[1].Upserts)
	}
	if !f.empty() || len(f.take()) != 0 {
		t.Error("take did not reset")
	}
}
