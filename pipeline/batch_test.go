package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/schema"
)

// fakeApplier keeps committed rows in a map, so tests see exactly what a target would show
// after each commit; the open transaction's writes stay private until Commit.
type fakeApplier struct {
	mu        sync.Mutex
	delay     time.Duration // per Apply call: a slow target
	failValue string        // an upsert with this value is refused
	rows      map[string]string
	commits   []fakeCommit
	applies   int
	prepared  map[string][]*change.Prepared // committed XA parts by xid
}

type fakeCommit struct {
	pos  change.Position
	rows int // row changes applied in the batch
}

func (f *fakeApplier) Begin(context.Context) (Tx, error) {
	return &fakeTx{f: f, pending: map[string]*string{}}, nil
}

type fakeTx struct {
	f        *fakeApplier
	pending  map[string]*string // nil value: deleted
	order    []string
	rows     int
	prepared map[string][]*change.Prepared
	resolved map[string]bool
}

func (t *fakeTx) Apply(ctx context.Context, changes []change.TableChanges) error {
	time.Sleep(t.f.delay)
	t.f.mu.Lock()
	t.f.applies++
	t.f.mu.Unlock()
	for _, tc := range changes {
		for _, r := range tc.Deletes {
			t.set(string(r[0]), nil)
		}
		for _, r := range tc.Upserts {
			v := string(r[1])
			if t.f.failValue != "" && v == t.f.failValue {
				return fmt.Errorf("value %q refused", v)
			}
			t.set(string(r[0]), &v)
		}
	}
	return nil
}

func (t *fakeTx) set(k string, v *string) {
	if _, ok := t.pending[k]; !ok {
		t.order = append(t.order, k)
	}
	t.pending[k] = v
	t.rows++
}

func (t *fakeTx) ApplySchema(context.Context, *ddl.SchemaChange) error { return nil }

func (t *fakeTx) Commit(ctx context.Context, pos change.Position) error {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	for _, k := range t.order {
		if v := t.pending[k]; v != nil {
			t.f.rows[k] = *v
		} else {
			delete(t.f.rows, k)
		}
	}
	t.f.commits = append(t.f.commits, fakeCommit{pos: pos, rows: t.rows})
	if t.f.prepared == nil {
		t.f.prepared = map[string][]*change.Prepared{}
	}
	for xid := range t.resolved {
		delete(t.f.prepared, xid)
	}
	for xid, ps := range t.prepared {
		t.f.prepared[xid] = append(t.f.prepared[xid], ps...)
	}
	return nil
}

func (t *fakeTx) Rollback(context.Context) {}

func (t *fakeTx) StorePrepared(ctx context.Context, p *change.Prepared) error {
	if t.prepared == nil {
		t.prepared = map[string][]*change.Prepared{}
	}
	// Through the stored form, as a real target keeps it.
	b, err := p.EncodeEvents()
	if err != nil {
		return err
	}
	evs, err := change.DecodeEvents(b)
	if err != nil {
		return err
	}
	cp := *p
	cp.Events = evs
	t.prepared[p.XID] = append(t.prepared[p.XID], &cp)
	return nil
}

func (t *fakeTx) ResolvePrepared(ctx context.Context, xid string, commit bool, apply func([]change.Event) error) (bool, error) {
	t.f.mu.Lock()
	parts := append(append([]*change.Prepared(nil), t.f.prepared[xid]...), t.prepared[xid]...)
	t.f.mu.Unlock()
	if len(parts) == 0 {
		return false, nil
	}
	for i, p := range parts {
		if p.Part != i {
			return true, fmt.Errorf("xa %s: part %d where %d was expected", xid, p.Part, i)
		}
		if commit {
			if err := apply(p.Events); err != nil {
				return true, err
			}
		}
	}
	if t.resolved == nil {
		t.resolved = map[string]bool{}
	}
	t.resolved[xid] = true
	delete(t.prepared, xid)
	return true, nil
}

var testTable = &schema.Table{Schema: "s", Name: "t", Columns: []schema.Column{{Name: "id"}, {Name: "v"}}, Key: []int{0}}

func pos(n int) change.Position {
	return change.Position{Flavor: "mariadb", GTID: fmt.Sprintf("0-1-%d", n)}
}

// txn returns the events of source transaction n: one insert per value, then its commit.
func txn(n int, vals ...string) []change.Event {
	var evs []change.Event
	gtid := fmt.Sprintf("0-1-%d", n)
	for i, v := range vals {
		evs = append(evs, change.Event{Kind: change.Insert, Table: testTable, GTID: gtid, After: row(fmt.Sprintf("%d.%d", n, i), v)})
	}
	return append(evs, change.Event{Kind: change.Commit, GTID: gtid, Pos: pos(n)})
}

func testOptions(f *fakeApplier, batchRows int) Options {
	cfg := &config.Config{}
	cfg.Apply.BatchRows, cfg.Apply.BatchBytes = batchRows, 1<<20
	return Options{Config: cfg, Applier: f, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// feed sends evs and closes the channel, as a reader that reached the end would.
func feed(evs []change.Event) <-chan item { return feedPaced(evs, 0) }

// feedPaced pauses after every transaction, like a source writing at a steady rate.
func feedPaced(evs []change.Event, pause time.Duration) <-chan item {
	ch := make(chan item)
	go func() {
		defer close(ch)
		for _, e := range evs {
			ch <- item{ev: e}
			if pause > 0 && e.Kind == change.Commit {
				time.Sleep(pause)
			}
		}
	}()
	return ch
}

func TestApplyStreamBatchesGrowWhileTheTargetIsBusy(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}, delay: 3 * time.Millisecond}
	var evs []change.Event
	for n := 1; n <= 300; n++ {
		evs = append(evs, txn(n, fmt.Sprint(n))...)
	}
	batches, err := applyStream(context.Background(), testOptions(f, 1000), pos(0), 0, nil, feedPaced(evs, 200*time.Microsecond), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.rows) != 300 {
		t.Fatalf("%d rows committed, want 300", len(f.rows))
	}
	for n := 1; n <= 300; n++ {
		if got := f.rows[fmt.Sprintf("%d.0", n)]; got != fmt.Sprint(n) {
			t.Fatalf("row %d.0 = %q", n, got)
		}
	}
	last := f.commits[len(f.commits)-1].pos
	if last.GTID != "0-1-300" {
		t.Errorf("last checkpoint %s, want 0-1-300", last.GTID)
	}
	if int(batches) != len(f.commits) {
		t.Errorf("applyStream counted %d batches, the target saw %d commits", batches, len(f.commits))
	}
	// A 3 ms target cannot commit one by one 300 transactions arriving every 0.2 ms:
	// batches must have grown (and not into one giant batch either).
	if len(f.commits) >= 300 || len(f.commits) < 2 {
		t.Errorf("%d commits for 300 transactions", len(f.commits))
	}
	prev := 0
	for _, c := range f.commits {
		var n int
		fmt.Sscanf(c.pos.GTID, "0-1-%d", &n)
		if n <= prev {
			t.Fatalf("checkpoints not increasing: %v", f.commits)
		}
		prev = n
	}
}

func TestApplyStreamFullBatchWaitsForTheTarget(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}, delay: 2 * time.Millisecond}
	var evs []change.Event
	for n := 1; n <= 200; n++ {
		evs = append(evs, txn(n, "a")...)
	}
	if _, err := applyStream(context.Background(), testOptions(f, 10), pos(0), 0, nil, feed(evs), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.commits {
		if c.rows > 10 {
			t.Fatalf("a batch of %d row changes with batch_rows = 10", c.rows)
		}
	}
	if len(f.rows) != 200 {
		t.Fatalf("%d rows, want 200", len(f.rows))
	}
}

func TestApplyStreamLargeTransactionInPartsOneCommit(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	vals := make([]string, 35)
	for i := range vals {
		vals[i] = "x"
	}
	if _, err := applyStream(context.Background(), testOptions(f, 10), pos(0), 0, nil, feed(txn(1, vals...)), nil); err != nil {
		t.Fatal(err)
	}
	if len(f.commits) != 1 || f.commits[0].rows != 35 || f.applies < 3 {
		t.Fatalf("commits %v after %d applies; want one commit of 35 rows applied in parts", f.commits, f.applies)
	}
}

func TestApplyStreamRefusedRowNamesTheBatch(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}, failValue: "bad", delay: time.Millisecond}
	var evs []change.Event
	for n := 1; n <= 50; n++ {
		v := "ok"
		if n == 40 {
			v = "bad"
		}
		evs = append(evs, txn(n, v)...)
	}
	_, err := applyStream(context.Background(), testOptions(f, 1000), pos(0), 0, nil, feed(evs), nil)
	var ae *applyError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v, want an applyError", err)
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q lost the target's reason", err)
	}
	// Nothing at or after the refused transaction is committed.
	for _, c := range f.commits {
		var n int
		fmt.Sscanf(c.pos.GTID, "0-1-%d", &n)
		if n >= 40 {
			t.Fatalf("checkpoint %s passed the refused transaction", c.pos.GTID)
		}
	}
	if _, ok := f.rows["40.0"]; ok {
		t.Fatal("the refused row was committed")
	}

	// Isolated (as Run does after such an error), the error names transaction 0-1-40.
	f2 := &fakeApplier{rows: map[string]string{}, failValue: "bad"}
	until := pos(40)
	_, err = applyStream(context.Background(), testOptions(f2, 1000), pos(0), 0, &until, feed(evs), nil)
	if !errors.As(err, &ae) || ae.txns != 1 || !strings.Contains(err.Error(), "apply transaction 0-1-40") {
		t.Fatalf("isolated error %v, want one naming transaction 0-1-40", err)
	}
	if len(f2.commits) != 39 {
		t.Errorf("%d commits before the refused transaction, want 39 (one per transaction)", len(f2.commits))
	}
}

func TestApplyStreamStopCommitsCompleteTransactions(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	ch := make(chan item)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := applyStream(ctx, testOptions(f, 1000), pos(0), 0, nil, ch, nil)
		done <- err
	}()
	for _, e := range txn(1, "a", "b") {
		ch <- item{ev: e}
	}
	// An idle target takes a complete transaction at once.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		n := len(f.commits)
		f.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("transaction 1 was not committed by an idle target")
		}
	}
	// Then a complete transaction 3 and half of 4: 4 is abandoned at the stop (read again
	// on restart). 3 commits unless it shares the fold with 4's first row.
	for _, e := range txn(3, "c") {
		ch <- item{ev: e}
	}
	ch <- item{ev: txn(4, "d")[0]}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	last := f.commits[len(f.commits)-1].pos.GTID
	switch {
	case last == "0-1-1" && len(f.rows) == 2:
	case last == "0-1-3" && len(f.rows) == 3 && f.rows["3.0"] == "c":
	default:
		t.Fatalf("checkpoint %s with rows %v", last, f.rows)
	}
	if f.rows["1.0"] != "a" || f.rows["1.1"] != "b" {
		t.Fatalf("rows %v lost transaction 1", f.rows)
	}
	if _, ok := f.rows["4.0"]; ok {
		t.Fatal("half a transaction was committed")
	}
}

func TestApplyStreamFlushIntervalGathersTransactions(t *testing.T) {
	f := &fakeApplier{rows: map[string]string{}}
	var evs []change.Event
	for n := 1; n <= 40; n++ {
		evs = append(evs, txn(n, "v")...)
	}
	o := testOptions(f, 1000)
	o.Config.Apply.FlushInterval.Duration = 50 * time.Millisecond
	// 40 transactions 5 ms apart: an idle target would take each one alone without the
	// interval; with it, a batch gathers about 10.
	if _, err := applyStream(context.Background(), o, pos(0), 0, nil, feedPaced(evs, 5*time.Millisecond), nil); err != nil {
		t.Fatal(err)
	}
	if len(f.rows) != 40 || f.commits[len(f.commits)-1].pos.GTID != "0-1-40" {
		t.Fatalf("%d rows, last checkpoint %v", len(f.rows), f.commits[len(f.commits)-1].pos)
	}
	if len(f.commits) < 2 || len(f.commits) > 10 {
		t.Errorf("%d commits for 40 transactions over about 200 ms with flush_interval 50ms", len(f.commits))
	}
}

func TestApplyStreamStopWhileAFullBatchWaits(t *testing.T) {
	// batch_rows 1: every transaction is a full batch and waits for a 300 ms target.
	f := &fakeApplier{rows: map[string]string{}, delay: 300 * time.Millisecond}
	ch := make(chan item)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := applyStream(ctx, testOptions(f, 1), pos(0), 0, nil, ch, nil)
		done <- err
	}()
	for n := 1; n <= 2; n++ {
		for _, e := range txn(n, fmt.Sprint(n)) {
			ch <- item{ev: e}
		}
	}
	// Transaction 1 is being applied; transaction 2 waits for the worker. A stop now
	// still commits both: neither the in-flight batch nor the waiting one is thrown away.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stop returned %v", err)
	}
	if len(f.rows) != 2 || f.rows["2.0"] != "2" {
		t.Fatalf("rows %v, want transactions 1 and 2", f.rows)
	}
	if last := f.commits[len(f.commits)-1].pos.GTID; last != "0-1-2" {
		t.Fatalf("checkpoint %s, want 0-1-2", last)
	}
}

// reachTx records what the worker tells a Reacher before each step.
type reachTx struct {
	*fakeTx
	reaches *[]int
}

func (r reachTx) Reach(n int) { *r.reaches = append(*r.reaches, n) }

type reachApplier struct {
	*fakeApplier
	reaches []int
}

func (a *reachApplier) Begin(ctx context.Context) (Tx, error) {
	tx, _ := a.fakeApplier.Begin(ctx)
	return reachTx{tx.(*fakeTx), &a.reaches}, nil
}

// TestApplyStreamFloor: with Options.Floor's transactions not yet held, full batches
// and a stop do not commit; the first commit holds at least the floor's transactions.
// The worker tells a Reacher how many transactions the rows handed so far come from,
// counting one still being read.
func TestApplyStreamFloor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		floor int
		txns  int
		first int // the first commit's transaction
	}{
		{"floor 7 of 20", 7, 20, 7},
		{"floor past the end: nothing committed", 30, 20, 0},
		{"no floor", 0, 20, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeApplier{rows: map[string]string{}}
			var evs []change.Event
			for n := 1; n <= tc.txns; n++ {
				evs = append(evs, txn(n, "a", "b", "c")...)
			}
			o := testOptions(f, 2)
			if _, err := applyStream(context.Background(), o, pos(0), tc.floor, nil, feed(evs), nil); err != nil {
				t.Fatal(err)
			}
			if tc.first == 0 {
				if len(f.commits) != 0 {
					t.Fatalf("commits %v before the floor", f.commits)
				}
				return
			}
			if len(f.commits) == 0 {
				t.Fatal("nothing committed")
			}
			var n int
			fmt.Sscanf(f.commits[0].pos.GTID, "0-1-%d", &n)
			if n < tc.first {
				t.Fatalf("first commit at %s, want at least 0-1-%d", f.commits[0].pos.GTID, tc.first)
			}
			if tc.floor > 0 && f.commits[0].rows < 3*tc.floor {
				t.Fatalf("first commit holds %d row changes, want at least %d", f.commits[0].rows, 3*tc.floor)
			}
		})
	}
	t.Run("reach", func(t *testing.T) {
		a := &reachApplier{fakeApplier: &fakeApplier{rows: map[string]string{}}}
		o := testOptions(a.fakeApplier, 2)
		o.Applier = a
		evs := append(txn(1, "a"), txn(2, "a", "b", "c", "d", "e")...)
		if _, err := applyStream(context.Background(), o, pos(0), 2, nil, feed(evs), nil); err != nil {
			t.Fatal(err)
		}
		// Transaction 2's first parts are handed while it is being read: they reach 2.
		if len(a.reaches) == 0 || a.reaches[0] != 2 || a.reaches[len(a.reaches)-1] != 2 {
			t.Fatalf("reaches %v, want 2 throughout", a.reaches)
		}
	})
}
