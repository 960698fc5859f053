package pipeline

import (
	"context"
	"fmt"
	"testing"

	"github.com/replicator/replicator/change"
)

// xaPrepare returns the events of an XA PREPARE group n: its rows marked as a first phase.
func xaPrepare(n int, xid string, vals ...string) []change.Event {
	evs := txn(n, vals...)
	x := &change.XA{Op: change.XAPrepare, ID: xid}
	for i := range evs {
		evs[i].XA = x
	}
	return evs
}

// xaDecide returns an XA COMMIT or XA ROLLBACK group n.
func xaDecide(n int, xid string, op change.XAOp) []change.Event {
	return []change.Event{{Kind: change.Commit, GTID: fmt.Sprintf("0-1-%d", n), Pos: pos(n), XA: &change.XA{Op: op, ID: xid}}}
}

func join(parts ...[]change.Event) []change.Event {
	var out []change.Event
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestXAPreparedChangesWaitForTheDecisionAcrossRestarts(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	o := testOptions(f, 1000)
	// Run 1: the PREPARE and a later transaction; the decision has not come yet.
	if _, err := applyStream(context.Background(), o, pos(0), 0, nil, feed(join(
		xaPrepare(1, "X'7831',X'',1", "a", "b"),
		txn(2, "c"),
	)), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.rows["1.0"]; ok {
		t.Fatalf("a prepared row is visible before XA COMMIT: %v", f.rows)
	}
	if f.rows["2.0"] != "c" {
		t.Fatalf("the transaction after the PREPARE is missing: %v", f.rows)
	}
	if got := f.commits[len(f.commits)-1].pos.GTID; got != "0-1-2" {
		t.Fatalf("checkpoint %s, want 0-1-2 (past the PREPARE)", got)
	}
	if n := len(f.prepared["X'7831',X'',1"]); n != 1 {
		t.Fatalf("%d stored parts, want 1", n)
	}
	// Run 2 starts from the checkpoint, past the PREPARE: the decision finds the stored rows.
	if _, err := applyStream(context.Background(), o, pos(2), 0, nil, feed(join(
		txn(3, "d"),
		xaDecide(4, "X'7831',X'',1", change.XACommit),
	)), nil); err != nil {
		t.Fatal(err)
	}
	if f.rows["1.0"] != "a" || f.rows["1.1"] != "b" || f.rows["3.0"] != "d" {
		t.Fatalf("after XA COMMIT: %v", f.rows)
	}
	if len(f.prepared["X'7831',X'',1"]) != 0 {
		t.Fatalf("the decided transaction is still stored: %v", f.prepared)
	}
}

func TestXARollbackDropsThePreparedChanges(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	if _, err := applyStream(context.Background(), testOptions(f, 1000), pos(0), 0, nil, feed(join(
		xaPrepare(1, "x1", "a"),
		xaPrepare(2, "x2", "b"),
		txn(3, "c"),
		xaDecide(4, "x2", change.XACommit),
		xaDecide(5, "x1", change.XARollback),
	)), nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"2.0": "b", "3.0": "c"}
	if fmt.Sprint(f.rows) != fmt.Sprint(want) {
		t.Fatalf("rows %v, want %v", f.rows, want)
	}
	if len(f.prepared) != 0 {
		t.Fatalf("decided transactions still stored: %v", f.prepared)
	}
	if got := f.commits[len(f.commits)-1].pos; got.GTID != "0-1-5" || got.Seq != 5 {
		t.Fatalf("last checkpoint %+v, want 0-1-5 with Seq 5", got)
	}
}

func TestXALargePreparedTransactionIsStoredInParts(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	vals := make([]string, 35)
	for i := range vals {
		vals[i] = fmt.Sprint(i)
	}
	if _, err := applyStream(context.Background(), testOptions(f, 10), pos(0), 0, nil, feed(join(
		xaPrepare(1, "big", vals...),
	)), nil); err != nil {
		t.Fatal(err)
	}
	parts := f.prepared["big"]
	if len(parts) != 4 {
		t.Fatalf("%d parts for 35 rows with batch_rows 10, want 4", len(parts))
	}
	n := 0
	for i, p := range parts {
		if p.Part != i {
			t.Fatalf("part %d numbered %d", i, p.Part)
		}
		n += len(p.Events)
	}
	if n != 35 || len(f.rows) != 0 {
		t.Fatalf("%d stored rows (want 35), %d visible (want 0)", n, len(f.rows))
	}
	if _, err := applyStream(context.Background(), testOptions(f, 10), pos(1), 0, nil, feed(xaDecide(2, "big", change.XACommit)), nil); err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if got := f.rows[fmt.Sprintf("1.%d", i)]; got != v {
			t.Fatalf("row 1.%d = %q after XA COMMIT, want %q", i, got, v)
		}
	}
}

func TestXAOnePhaseCommitsItsRows(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	evs := xaPrepare(1, "one", "a")
	evs[len(evs)-1].XA = nil // MySQL's XA COMMIT ... ONE PHASE ends the group as a plain commit
	if _, err := applyStream(context.Background(), testOptions(f, 1000), pos(0), 0, nil, feed(evs), nil); err != nil {
		t.Fatal(err)
	}
	if f.rows["1.0"] != "a" || len(f.prepared) != 0 {
		t.Fatalf("rows %v, prepared %v", f.rows, f.prepared)
	}
}

func TestXADecisionOfAnUnknownTransactionIsNotAnError(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	if _, err := applyStream(context.Background(), testOptions(f, 1000), pos(0), 0, nil, feed(join(
		xaDecide(1, "before-start", change.XACommit),
		txn(2, "a"),
	)), nil); err != nil {
		t.Fatal(err)
	}
	if f.rows["2.0"] != "a" {
		t.Fatalf("rows %v", f.rows)
	}
}

func TestXAStoredFormKeepsNullAndEmptyApart(t *testing.T) {
	p := &change.Prepared{XID: "x", Events: []change.Event{
		{Kind: change.Update, Table: testTable, Before: change.Row{[]byte("1"), nil}, After: change.Row{[]byte("1"), []byte{}}},
		{Kind: change.Delete, Table: testTable, Before: change.Row{[]byte("2"), []byte("\x00\xff")}},
	}}
	b, err := p.EncodeEvents()
	if err != nil {
		t.Fatal(err)
	}
	evs, err := change.DecodeEvents(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Before[1] != nil || evs[0].After[1] == nil || len(evs[0].After[1]) != 0 ||
		string(evs[1].Before[1]) != "\x00\xff" || evs[1].After != nil || evs[0].Kind != change.Update || evs[1].Kind != change.Delete {
		t.Fatalf("round trip: %+v", evs)
	}
	if evs[0].Table.QualifiedName() != "s.t" || len(evs[0].Table.Columns) != 2 {
		t.Fatalf("definition lost: %+v", evs[0].Table)
	}
}
