package pipeline

import (
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/filter"
	"github.com/replicator/replicator/schema"
)

func TestFilteredRowChanges(t *testing.T) {
	tbl := &schema.Table{Schema: "db", Name: "t", Key: []int{0}, Columns: []schema.Column{
		{Name: "id", DataType: "int"}, {Name: "status", DataType: "varchar", Collation: "utf8mb4_general_ci"},
	}}
	e, err := filter.Parse("status = 'live'")
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.Bind(tbl)
	if err != nil {
		t.Fatal(err)
	}
	row := func(id, status string) change.Row { return change.Row{[]byte(id), []byte(status)} }
	in1, out1, in2, out2 := row("1", "live"), row("1", "draft"), row("2", "LIVE"), row("2", "draft")
	cases := []struct {
		name          string
		kind          change.Kind
		before, after change.Row
		want          change.Kind // 0: dropped
		wantRow       change.Row  // the image kept
	}{
		{"insert inside", change.Insert, nil, in1, change.Insert, in1},
		{"insert outside", change.Insert, nil, out1, 0, nil},
		{"delete inside", change.Delete, in1, nil, change.Delete, in1},
		{"delete outside", change.Delete, out1, nil, 0, nil},
		{"update inside", change.Update, in1, in1, change.Update, in1},
		{"update outside", change.Update, out1, out1, 0, nil},
		{"update leaves", change.Update, in1, out1, change.Delete, in1},
		{"update enters", change.Update, out1, in1, change.Insert, in1},
		{"key change leaves", change.Update, in1, out2, change.Delete, in1},
		{"key change enters", change.Update, out1, in2, change.Insert, in2},
		{"key change inside", change.Update, in1, in2, change.Update, in2},
	}
	for _, c := range cases {
		ev := &change.Event{Kind: c.kind, Table: tbl, Before: c.before, After: c.after}
		got := filtered(f, ev)
		if c.want == 0 {
			if got != nil {
				t.Errorf("%s: kept as %s, want dropped", c.name, got.Kind)
			}
			continue
		}
		if got == nil || got.Kind != c.want {
			t.Errorf("%s: got %v, want %s", c.name, got, c.want)
			continue
		}
		img := got.After
		if got.Kind == change.Delete {
			img = got.Before
		}
		if change.Key(tbl, img) != change.Key(tbl, c.wantRow) || string(img[1]) != string(c.wantRow[1]) {
			t.Errorf("%s: image %q, want %q", c.name, img, c.wantRow)
		}
		if got.Kind == change.Insert && got.Before != nil || got.Kind == change.Delete && got.After != nil {
			t.Errorf("%s: %s keeps the other image", c.name, got.Kind)
		}
	}
	if ev := (&change.Event{Kind: change.Update, Table: tbl, Before: in1, After: out1}); filtered(f, ev) == ev || ev.Kind != change.Update {
		t.Error("filtered changed the event it was given")
	}
}
