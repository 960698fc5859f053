package pipeline

import (
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

func fkTables() (parent, child, grand, other *schema.Table) {
	cols := func(names ...string) []schema.Column {
		var out []schema.Column
		for _, n := range names {
			out = append(out, schema.Column{Name: n, DataType: "int"})
		}
		return out
	}
	parent = &schema.Table{Schema: "d", Name: "p", Columns: cols("id", "v"), Key: []int{0}, KeyIsPrimary: true}
	child = &schema.Table{Schema: "d", Name: "c", Columns: cols("id", "pid"), Key: []int{0}, KeyIsPrimary: true,
		ForeignKeys: []schema.ForeignKey{{Name: "fk", OnDelete: "CASCADE", OnUpdate: "RESTRICT", RefTable: "p", Columns: []string{"pid"}, RefColumns: []string{"id"}}}}
	grand = &schema.Table{Schema: "d", Name: "g", Columns: cols("id", "cid"), Key: []int{0}, KeyIsPrimary: true,
		ForeignKeys: []schema.ForeignKey{{Name: "fk2", OnDelete: "SET NULL", OnUpdate: "CASCADE", RefTable: "c", Columns: []string{"cid"}, RefColumns: []string{"id"}}}}
	other = &schema.Table{Schema: "d", Name: "o", Columns: cols("id"), Key: []int{0}, KeyIsPrimary: true}
	return
}

func fkRow(vals ...string) change.Row {
	r := change.Row{}
	for _, v := range vals {
		r = append(r, []byte(v))
	}
	return r
}

func TestFKGraphActions(t *testing.T) {
	p, c, g, o := fkTables()
	gr := schema.BuildFKGraph([]*schema.Table{p, c, g, o})
	if r := gr.Reach("d.p"); !r["d.c"] || !r["d.g"] || r["d.o"] || r["d.p"] {
		t.Fatalf("reach of d.p: %v", r)
	}
	// A delete of p starts an action; an update of p's id does not (ON UPDATE RESTRICT);
	// an update of c's id does (g: ON UPDATE CASCADE), one of c's pid does not.
	cases := []struct {
		ev   change.Event
		want bool
	}{
		{change.Event{Kind: change.Delete, Table: p, Before: fkRow("1", "1")}, true},
		{change.Event{Kind: change.Update, Table: p, Before: fkRow("1", "1"), After: fkRow("2", "1")}, false},
		{change.Event{Kind: change.Update, Table: c, Before: fkRow("1", "1"), After: fkRow("2", "1")}, true},
		{change.Event{Kind: change.Update, Table: c, Before: fkRow("1", "1"), After: fkRow("1", "2")}, false},
		{change.Event{Kind: change.Insert, Table: p, After: fkRow("1", "1")}, false},
		{change.Event{Kind: change.Delete, Table: o, Before: fkRow("1")}, false},
	}
	for i, tc := range cases {
		if got := actionFor(gr, &tc.ev) != nil; got != tc.want {
			t.Errorf("case %d: action %v, want %v", i, got, tc.want)
		}
	}
	// A foreign key whose columns are unknown (an old stored definition) is named.
	old := c.Clone()
	old.ForeignKeys[0].Columns, old.ForeignKeys[0].RefColumns = nil, nil
	if g2 := schema.BuildFKGraph([]*schema.Table{p, old}); len(g2.Untracked) != 1 || !g2.Empty() {
		t.Errorf("untracked: %v, empty %v", g2.Untracked, g2.Empty())
	}
}

// TestFKOrderSplitsTheFold: the fold is applied before an action that may change a table it
// holds, and pending actions before a later change of a table they may change; changes of
// unrelated tables fold across actions.
func TestFKOrderSplitsTheFold(t *testing.T) {
	p, c, g, o := fkTables()
	fo := fkOrder{g: schema.BuildFKGraph([]*schema.Table{p, c, g, o})}
	f := newFolder(nil)
	var steps []string
	flush := func() {
		if !f.empty() || len(fo.actions) > 0 {
			steps = append(steps, "flush")
		}
		f.take()
		fo.take()
	}
	add := func(ev change.Event) {
		if fo.flushBefore(&ev) {
			flush()
		}
		f.add(&ev)
		if act, first := fo.after(f, &ev); act != nil {
			if first {
				flush()
			}
			fo.push(act)
			steps = append(steps, "action "+ev.Table.Name)
		}
	}
	add(change.Event{Kind: change.Insert, Table: o, After: fkRow("1")})
	add(change.Event{Kind: change.Delete, Table: p, Before: fkRow("1", "1")}) // no flush: o is unrelated
	add(change.Event{Kind: change.Insert, Table: o, After: fkRow("2")})       // still folds
	add(change.Event{Kind: change.Insert, Table: g, After: fkRow("1", "1")})  // g may be changed by the action
	add(change.Event{Kind: change.Delete, Table: p, Before: fkRow("2", "2")}) // g is in the fold
	want := []string{"action p", "flush", "flush", "action p"}
	if len(steps) != len(want) {
		t.Fatalf("steps %v, want %v", steps, want)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Fatalf("steps %v, want %v", steps, want)
		}
	}
}
