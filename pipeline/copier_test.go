package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/schema"
)

// copyTestBatcher is a batcher whose worker records the work it is handed.
func copyTestBatcher(t *testing.T, defs ...*schema.Table) (*batcher, func() []*work) {
	cfg := &config.Config{}
	cfg.Apply.BatchRows, cfg.Apply.BatchBytes = 1000, 1<<20
	w := &worker{ready: make(chan struct{}), ops: make(chan *work), errc: make(chan error, 1)}
	var got []*work
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case w.ready <- struct{}{}:
				got = append(got, <-w.ops)
			case <-stop:
				return
			}
		}
	}()
	b := &batcher{o: Options{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, w: w, fold: newFolder(nil),
		lastPos: pos(10), defs: map[string]*schema.Table{}, known: map[*schema.Table]struct{}{}, boundary: true}
	for _, d := range defs {
		b.defs[d.QualifiedName()] = d
	}
	b.rebuildFK()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			close(stop)
			<-done
		}
	})
	return b, func() []*work { close(stop); <-done; return got }
}

func copyTable(name string) *schema.Table {
	return &schema.Table{Schema: "d", Name: name, Key: []int{0}, KeyIsPrimary: true,
		Columns: []schema.Column{{Name: "id", DataType: "int"}, {Name: "v", DataType: "varchar"}}}
}

// ask sends one copier message through handleCopy and returns the reply.
func ask(t *testing.T, b *batcher, m copyMsg) copyReply {
	t.Helper()
	m.reply = make(chan copyReply, 1)
	if err := b.handleCopy(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return <-m.reply
}

func keysOf(rows []change.Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, string(r[0]))
	}
	return out
}

// TestCopyWindowReconciles: the rows of a chunk whose key the stream changed while the
// chunk was read are left to the stream; the rest go into the batch after the changes
// read before, with the copy's progress; what the batcher cannot reconcile makes the
// copier read again or start over.
func TestCopyWindowReconciles(t *testing.T) {
	chunk := func() []change.Row {
		var rows []change.Row
		for i := 1; i <= 6; i++ {
			rows = append(rows, row(fmt.Sprint(i), "chunk"))
		}
		return rows
	}
	for _, tc := range []struct {
		name string
		// during runs while the window is open.
		during    func(t *testing.T, b *batcher, tbl, other *schema.Table)
		kept      []string
		retry     bool
		restarted bool
	}{
		{name: "no changes: the whole chunk", kept: []string{"1", "2", "3", "4", "5", "6"}},
		{name: "changed keys are the stream's",
			during: func(t *testing.T, b *batcher, tbl, other *schema.Table) {
				for _, ev := range []change.Event{
					{Kind: change.Update, Table: tbl, Before: row("2", "a"), After: row("2", "b"), GTID: "0-1-11"},
					{Kind: change.Delete, Table: tbl, Before: row("5", "a"), GTID: "0-1-11"},
					// A key moved out of the chunk's range and one into it.
					{Kind: change.Update, Table: tbl, Before: row("4", "a"), After: row("40", "a"), GTID: "0-1-11"},
					{Kind: change.Insert, Table: tbl, After: row("9", "new"), GTID: "0-1-11"},
					// Another table's key 3 is not this table's.
					{Kind: change.Update, Table: other, Before: row("3", "a"), After: row("3", "b"), GTID: "0-1-11"},
					{Kind: change.Commit, Pos: pos(11), GTID: "0-1-11"},
				} {
					if err := b.handle(context.Background(), &ev, nil); err != nil {
						t.Fatal(err)
					}
				}
			},
			kept: []string{"1", "3", "6"}},
		{name: "an XA decision: read again",
			during: func(t *testing.T, b *batcher, tbl, other *schema.Table) {
				b.copyAfterXA()
			},
			retry: true},
		{name: "a DDL on the table: start over",
			during: func(t *testing.T, b *batcher, tbl, other *schema.Table) {
				nt := copyTable("t")
				nt.Columns = append(nt.Columns, schema.Column{Name: "x", DataType: "int", Nullable: true})
				sc := &ddl.SchemaChange{GTID: "0-1-11", Tables: []*schema.Table{nt}}
				ev := change.Event{Kind: change.DDL, GTID: "0-1-11", Query: "ALTER TABLE t ADD x INT"}
				if err := b.handle(context.Background(), &ev, sc); err != nil {
					t.Fatal(err)
				}
			},
			restarted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl, other := copyTable("t"), copyTable("u")
			b, works := copyTestBatcher(t, tbl, other)
			start := ask(t, b, copyMsg{kind: msgStart, table: "d.t", estimate: 6})
			if start.gone != "" || start.def != tbl {
				t.Fatalf("start: %+v", start)
			}
			w := ask(t, b, copyMsg{kind: msgOpen, table: "d.t"})
			if !slices.Equal(w.seen, []string{"0-1-10"}) {
				t.Errorf("window seen %v, want the batcher's position", w.seen)
			}
			if tc.during != nil {
				tc.during(t, b, tbl, other)
			}
			r := ask(t, b, copyMsg{kind: msgChunk, table: "d.t", rows: chunk(), after: row("6", ""), last: true})
			got := works()
			var ops []copyOp
			for _, wk := range got {
				ops = append(ops, wk.copy...)
			}
			if ops[0].kind != copyStart || ops[0].def != tbl {
				t.Fatalf("first copy step %+v, want the start", ops[0])
			}
			switch {
			case tc.restarted:
				if r.gen == start.gen || r.def == tbl {
					t.Errorf("reply %+v: the copy did not start over with the new definition", r)
				}
				if ops[len(ops)-1].kind != copyStart {
					t.Errorf("last step %+v, want a start again", ops[len(ops)-1])
				}
			case tc.retry:
				if !r.retry {
					t.Errorf("reply %+v, want the chunk read again", r)
				}
				if len(ops) != 1 {
					t.Errorf("steps %+v, want only the start", ops)
				}
			default:
				if len(ops) != 3 || ops[1].kind != copyChunk || ops[2].kind != copyFinish {
					t.Fatalf("steps %+v, want start, chunk, finish", ops)
				}
				if k := keysOf(ops[1].rows); !slices.Equal(k, tc.kept) {
					t.Errorf("chunk kept %v, want %v", k, tc.kept)
				}
				if string(ops[1].after[0]) != "6" {
					t.Errorf("progress %q, want the last key read", ops[1].after[0])
				}
				// Every change read before the chunk is handed over with it or before it
				// (the worker applies a work item's changes before its copy steps).
				rows := 0
				for _, wk := range got {
					rows += wk.rows
				}
				// Five row events; the one that moves a key is a delete and an upsert.
				if want := map[bool]int{true: 6, false: 0}[tc.during != nil]; rows != want {
					t.Errorf("%d row changes handed over with the chunk, want %d", rows, want)
				}
			}
		})
	}
}

// TestCopyWaitsForTheStream: while the reader is more than copyBacklog events ahead of
// the batcher, the copier is told to wait instead of opening a window.
func TestCopyWaitsForTheStream(t *testing.T) {
	tbl := copyTable("t")
	b, works := copyTestBatcher(t, tbl)
	ask(t, b, copyMsg{kind: msgStart, table: "d.t"})
	backlog := make(chan item, copyBacklog+1)
	for i := 0; i <= copyBacklog; i++ {
		backlog <- item{}
	}
	b.events = backlog
	if r := ask(t, b, copyMsg{kind: msgOpen, table: "d.t"}); !r.busy || b.copy.win != nil {
		t.Errorf("open with a backlog of %d: %+v, want busy and no window", len(backlog), r)
	}
	if r := ask(t, b, copyMsg{kind: msgOpen, table: "d.t", last: true}); r.busy || b.copy.win == nil {
		t.Errorf("open after waiting long enough: %+v, want a window", r)
	}
	b.copy.win = nil
	<-backlog
	if r := ask(t, b, copyMsg{kind: msgOpen, table: "d.t"}); r.busy || b.copy.win == nil {
		t.Errorf("open with a backlog of %d: %+v, want a window", len(backlog), r)
	}
	works()
}
