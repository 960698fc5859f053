package pipeline

import (
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// TestFoldKeepsKeylessChangesInOrder: a table without a key is not folded (two identical
// rows must stay two, and an update changes one of them), a keyed table still is.
func TestFoldKeepsKeylessChangesInOrder(t *testing.T) {
	nk := &schema.Table{Schema: "d", Name: "nk", Columns: []schema.Column{{Name: "a"}, {Name: "b"}}}
	k := &schema.Table{Schema: "d", Name: "k", Columns: []schema.Column{{Name: "id"}, {Name: "v"}}, Key: []int{0}, KeyIsPrimary: true}
	f := newFolder(nil)
	for _, ev := range []change.Event{
		{Kind: change.Insert, Table: nk, After: fkRow("1", "x")},
		{Kind: change.Insert, Table: nk, After: fkRow("1", "x")},
		{Kind: change.Insert, Table: k, After: fkRow("1", "a")},
		{Kind: change.Update, Table: nk, Before: fkRow("1", "x"), After: fkRow("1", "y")},
		{Kind: change.Update, Table: k, Before: fkRow("1", "a"), After: fkRow("1", "b")},
		{Kind: change.Delete, Table: nk, Before: fkRow("1", "x")},
	} {
		f.add(&ev)
	}
	out := f.take()
	if len(out) != 2 || out[0].Table != nk || out[1].Table != k {
		t.Fatalf("tables %+v", out)
	}
	ops := out[0].Ops
	want := []change.Kind{change.Insert, change.Insert, change.Update, change.Delete}
	if len(ops) != len(want) || len(out[0].Upserts)+len(out[0].Deletes) != 0 {
		t.Fatalf("keyless ops %+v", out[0])
	}
	for i, op := range ops {
		if op.Kind != want[i] {
			t.Errorf("op %d: %v, want %v", i, op.Kind, want[i])
		}
	}
	if string(ops[2].After[1]) != "y" || string(ops[3].Before[1]) != "x" {
		t.Errorf("images %+v", ops)
	}
	if len(out[1].Upserts) != 1 || string(out[1].Upserts[0][1]) != "b" || len(out[1].Ops) != 0 {
		t.Errorf("keyed fold %+v", out[1])
	}
}
