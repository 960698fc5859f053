package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/filter"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

// batcher reads events and folds them into the open batch, handing it to the worker at a
// transaction end: at once when the worker is free (after apply.flush_interval), or when
// the batch is full (waiting for the worker, which holds the reader back).
type batcher struct {
	o         Options
	w         *worker
	fold      *folder
	pending   bool // transactions since the last commit handed over
	boundary  bool // the last event ended a source transaction
	batchFrom time.Time
	lastPos   change.Position
	lastGTID  string
	batchRows int
	afterDDL  bool // the open batch holds a schema change
	// xa holds the row changes of an XA transaction's first phase as they are read: at
	// its XA PREPARE they are stored in the target, not applied.
	xa        *xaHold
	batchTxns int // source transactions in the open batch
	txns      int64
	// isolateUntil, when set, makes every transaction a batch of its own up to that
	// position (to name a transaction the target refuses).
	isolateUntil *change.Position
	// floor is how many transactions the first batch must hold before it commits
	// (Options.Floor); txns counts them.
	floor   int
	lastLog time.Time
	// fk holds the foreign key actions pending after the fold; defs are the definitions
	// the graph is built from, moved on by DDL and by row events of new table versions.
	fk   fkOrder
	defs map[string]*schema.Table
	// known are the definitions row events came with so far (a cheap per-event check).
	known map[*schema.Table]struct{}
	// copyMsgs are the online copier's requests (nil without one); copy is the copy
	// under way (see copier.go).
	copyMsgs <-chan copyMsg
	copy     *copyState
	// events is what the reader has read ahead (its backlog tells the copier to wait).
	events <-chan item
	// filters are the row filters bound to each definition rows came with (nil entries:
	// the table's rule has none).
	filters map[*schema.Table]*filter.Bound
	// track gives the reader's tracker the definition of a table it does not hold yet
	// and returns the tracked one (the rule's key applied).
	track func(def *schema.Table) (*schema.Table, error)
}

func (b *batcher) loop(ctx context.Context, events <-chan item) error {
	b.boundary = true
	b.events = events
	linger := b.o.Config.Apply.FlushInterval.Duration
	// The ticker re-checks a lingering batch; without linger it only paces the progress log.
	every := time.Second
	if linger > 0 {
		every = min(max(linger/2, 10*time.Millisecond), time.Second)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		// Only a batch ending at a transaction boundary can be handed over; a nil channel
		// keeps the worker's offer out of the select otherwise.
		var ready <-chan struct{}
		if b.pending && b.boundary && b.floored() && (linger == 0 || time.Since(b.batchFrom) >= linger) {
			ready = b.w.ready
		}
		evs := events
		if w := b.copyWindow(); w != nil && w.hold {
			if time.Since(w.opened) < copyHoldMax {
				evs = nil // until the copier hands its chunk over (copyHoldAfter)
			} else {
				w.hold, w.valid = false, false
			}
		}
		select {
		case it, ok := <-evs:
			if !ok {
				return b.stop()
			}
			if err := b.handle(ctx, &it.ev, it.schema); err != nil {
				if errors.Is(err, errStopping) {
					return nil
				}
				return err
			}
			if err := b.finishCopy(ctx); err != nil {
				if errors.Is(err, errStopping) {
					return nil
				}
				return err
			}
		case <-ready:
			b.w.ops <- b.commitWork()
		case m := <-b.copyMsgs:
			if err := b.handleCopy(ctx, m); err != nil {
				if errors.Is(err, errStopping) {
					return nil
				}
				return err
			}
		case err := <-b.w.errc:
			return err
		case <-tick.C:
			b.maybeLog()
			if err := b.finishCopy(ctx); err != nil {
				if errors.Is(err, errStopping) {
					return nil
				}
				return err
			}
		case <-ctx.Done():
			return b.stop()
		}
	}
}

// stop hands over what ended at a transaction boundary, so a clean shutdown keeps
// progress, and abandons a partial transaction (it is read again on restart).
func (b *batcher) stop() error {
	if b.pending && b.boundary && b.floored() {
		cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return b.handOff(cctx, b.commitWork())
	}
	return nil
}

// handOff waits for the worker and gives it wk.
func (b *batcher) handOff(ctx context.Context, wk *work) error {
	select {
	case <-b.w.ready:
		b.w.ops <- wk
		return nil
	case err := <-b.w.errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errStopping ends the loop cleanly: the stop came while a batch waited for the worker.
var errStopping = errors.New("stopping")

// give hands wk to the worker. A stop while it waits still hands over a complete batch
// (within 15 s), so a clean stop keeps what was read, as stop does; a part of an open
// transaction is abandoned (read again on restart). Either way the loop then ends.
func (b *batcher) give(ctx context.Context, wk *work) error {
	err := b.handOff(ctx, wk)
	if err == nil || ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
		return err
	}
	if wk.commit {
		cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := b.handOff(cctx, wk); err != nil {
			return err
		}
	}
	return errStopping
}

func (b *batcher) open(ev *change.Event) {
	if !b.pending {
		b.pending, b.batchFrom = true, time.Now()
		b.o.Metrics.Opened(ev.Time)
	}
}

// handle takes one event into the open batch; sc is what the DDL handler made of a DDL
// event's statement.
func (b *batcher) handle(ctx context.Context, ev *change.Event, sc *ddl.SchemaChange) error {
	b.o.Metrics.Events(1)
	switch ev.Kind {
	case change.Insert, change.Update, change.Delete:
		b.open(ev)
		b.boundary, b.lastGTID = false, ev.GTID
		b.noteCopy(ev)
		if ev.XA != nil {
			return b.holdPrepared(ctx, ev)
		}
		if err := b.addRow(ctx, ev); err != nil {
			return err
		}
		b.batchRows++
		if b.fold.rows >= b.o.Config.Apply.BatchRows || b.fold.bytes >= b.o.Config.Apply.BatchBytes {
			// A large transaction: its rows so far go into the open target transaction.
			return b.give(ctx, b.partWork())
		}
	case change.DDL:
		if sc == nil {
			// The reader sends a DDL event only for a statement it made a change of.
			return fmt.Errorf("DDL at GTID %s (%s) reached the batcher without its schema change", ev.GTID, abbreviate(ev.Query))
		}
		b.open(ev)
		wk := b.partWork()
		wk.schema, wk.ddlGTID, wk.ddlText = sc, ev.GTID, ev.Query
		b.boundary, b.afterDDL = false, true
		for _, n := range sc.Dropped {
			delete(b.defs, n)
		}
		for _, t := range sc.Tables {
			b.defs[t.QualifiedName()] = t
		}
		b.rebuildFK()
		b.copyAfterDDL(wk, sc.Tables, sc.Dropped)
		return b.give(ctx, wk)
	case change.Commit:
		b.open(ev)
		if ev.XA != nil && ev.XA.Op != change.XAPrepare {
			b.copyAfterXA()
		}
		if err := b.endXA(ctx, ev); err != nil {
			return err
		}
		b.boundary = true
		pos := ev.Pos
		pos.Seq = b.lastPos.Seq + 1
		b.lastPos, b.lastGTID = pos, ev.GTID
		b.txns++
		b.batchTxns++
		// A schema change commits at once: later batches are built against the new
		// schema. A full batch waits for the worker.
		if b.isolateUntil != nil || b.afterDDL || b.batchRows >= b.o.Config.Apply.BatchRows || b.fold.bytes >= b.o.Config.Apply.BatchBytes {
			if !b.floored() {
				// Short of the floor: what is folded goes into the open batch, which
				// commits once it holds the floor's transactions.
				if b.fold.empty() && len(b.fk.actions) == 0 {
					return nil
				}
				return b.give(ctx, b.partWork())
			}
			return b.give(ctx, b.commitWork())
		}
	}
	return nil
}

// addRow folds one row change, keeping foreign key actions in stream order with it: the
// fold and pending actions go to the open target transaction first when the change
// touches a table a pending action may change, or when the action the change starts may
// change a table the fold holds (see fkaction.go).
func (b *batcher) addRow(ctx context.Context, ev *change.Event) error {
	if _, seen := b.known[ev.Table]; !seen && ev.Table != nil {
		b.known[ev.Table] = struct{}{}
		if n := ev.Table.QualifiedName(); b.defs[n] != ev.Table {
			// A new version of a table's definition (first rows of a table, or after DDL):
			// pending actions are applied under the graph they were found with.
			if len(b.fk.actions) > 0 {
				if err := b.give(ctx, b.partWork()); err != nil {
					return err
				}
			}
			b.defs[n] = ev.Table
			b.rebuildFK()
		}
	}
	if b.fk.flushBefore(ev) {
		if err := b.give(ctx, b.partWork()); err != nil {
			return err
		}
	}
	keep, err := b.filterRow(ev)
	if err != nil {
		return err
	}
	if keep != nil {
		b.fold.add(keep)
	}
	// Foreign key actions follow the source's change whatever the filter says: the
	// source's cascades reach child rows the filter lets through.
	act, first := b.fk.after(b.fold, ev)
	if act == nil {
		return nil
	}
	if first {
		if err := b.give(ctx, b.partWork()); err != nil {
			return err
		}
	}
	b.copyAfterFK(act)
	b.fk.push(act)
	return nil
}

// filterRow applies the row filter of ev's table to a row change and returns the change
// the target gets, nil for none: an update that leaves the filter deletes the row it had,
// one that enters it inserts the new row (a key change across the boundary likewise), an
// insert or delete outside it is dropped.
func (b *batcher) filterRow(ev *change.Event) (*change.Event, error) {
	if ev.Table == nil || b.o.Routes == nil {
		return ev, nil
	}
	f, ok := b.filters[ev.Table]
	if !ok {
		if rt := b.o.Routes.For(ev.Table.Schema, ev.Table.Name); rt != nil {
			var err error
			if f, err = rt.Filter(ev.Table); err != nil {
				return nil, fmt.Errorf("row change of %s at GTID %s: %w (restore the column, or change where and copy the table again)", ev.Table.QualifiedName(), ev.GTID, err)
			}
		}
		if b.filters == nil || len(b.filters) > 1024 {
			b.filters = map[*schema.Table]*filter.Bound{}
		}
		b.filters[ev.Table] = f
	}
	if f == nil {
		return ev, nil
	}
	return filtered(f, ev), nil
}

// filtered is ev as the filter f lets it through, nil when it does not.
func filtered(f *filter.Bound, ev *change.Event) *change.Event {
	was := ev.Before != nil && f.Match(ev.Before)
	is := ev.After != nil && f.Match(ev.After)
	switch {
	case was && is, ev.Kind == change.Insert && is, ev.Kind == change.Delete && was:
		return ev
	case was:
		out := *ev
		out.Kind, out.After = change.Delete, nil
		return &out
	case is:
		out := *ev
		out.Kind, out.Before = change.Insert, nil
		return &out
	}
	return nil
}

// rebuildFK builds the foreign key graph from the current definitions.
func (b *batcher) rebuildFK() {
	defs := make([]*schema.Table, 0, len(b.defs))
	for _, t := range b.defs {
		defs = append(defs, t)
	}
	b.fk.g = schema.BuildFKGraph(defs)
}

// logUntracked warns of foreign keys whose actions cannot be applied.
func logUntracked(log *slog.Logger, g *schema.FKGraph) {
	if log != nil && len(g.Untracked) > 0 {
		log.Warn("foreign keys with actions whose columns are not in the stored definitions: their actions are not applied to the target; copy the tables again (replicator snapshot) to store them",
			"foreign_keys", strings.Join(g.Untracked, ", "))
	}
}

// floored reports whether the open batch may commit: it holds the transactions of
// Options.Floor.
func (b *batcher) floored() bool { return b.txns >= int64(b.floor) }

// partWork takes the folded changes so far, to be applied inside the open batch.
func (b *batcher) partWork() *work {
	wk := &work{gtid: b.lastGTID, txns: b.batchTxns, end: b.lastPos, isolated: b.isolateUntil != nil, fkGraph: b.fk.g}
	wk.reach = b.batchTxns
	if !b.boundary {
		wk.reach++
	}
	if !b.fold.empty() {
		wk.rows = b.fold.rows
		wk.changes = b.fold.take()
	}
	wk.fkActions = b.fk.take()
	return wk
}

// commitWork closes the open batch: its remaining changes and its checkpoint.
func (b *batcher) commitWork() *work {
	wk := b.partWork()
	wk.commit, wk.pos, wk.from = true, b.lastPos, b.batchFrom
	b.pending, b.batchRows, b.afterDDL, b.batchTxns = false, 0, false, 0
	if b.isolateUntil != nil {
		// The refused change was at most one transaction past isolateUntil: once a
		// transaction beyond it is committed, batching goes back to normal.
		if n, err := source.TransactionsBehind(b.lastPos.Flavor, b.isolateUntil.GTID, b.lastPos.GTID); err == nil && n > 0 {
			b.isolateUntil = nil
		}
	}
	return wk
}

func (b *batcher) maybeLog() {
	if time.Since(b.lastLog) < 30*time.Second {
		return
	}
	b.lastLog = time.Now()
	st := b.w.snapshot()
	// Caught up (nothing pending) means no lag; otherwise the age of the last committed event.
	lag := 0.0
	if b.pending && !st.Position.Time.IsZero() {
		lag = time.Since(st.Position.Time).Seconds()
	}
	b.o.Log.Info("streaming progress", "rows", st.Rows, "txns", b.txns, "batches", st.Batches,
		"gtid", st.Position.GTID, "lag_s", lag)
}
