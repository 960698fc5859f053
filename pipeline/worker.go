package pipeline

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/schema"
)

// work is one step handed from the batcher to the worker, done in order on the worker's
// open target transaction: folded rows, then a schema change, then the commit.
type work struct {
	changes []change.TableChanges
	rows    int
	schema  *ddl.SchemaChange
	ddlGTID string
	ddlText string
	// prepared are parts of prepared XA transactions to store; resolve ends one (after
	// changes, in stream order).
	prepared []*change.Prepared
	// fkActions are applied after changes, with the graph fkGraph (also used for the
	// actions of a resolved XA transaction's changes).
	fkActions []change.FKAction
	fkGraph   *schema.FKGraph
	resolve   *change.XA
	xaGTID    string
	// xaTime is the XA COMMIT's commit time (a soft delete of its changes stores it).
	xaTime time.Time
	// copy are steps of an online copy, after the schema change (see copier.go).
	copy   []copyOp
	commit bool
	pos    change.Position // the checkpoint, with commit
	from   time.Time       // when the batch got its first event (metrics)
	// For errors: the last transaction read, the batch's complete transactions so far and
	// the position after the last of them; isolated means one transaction per batch.
	gtid     string
	txns     int
	end      change.Position
	isolated bool
	// reach is how many source transactions of the open batch the rows handed so far
	// come from (see Reacher).
	reach int
}

// worker owns the target transaction. It signals on ready when it can take work, so a
// batch is handed over as soon as the target is free and grows while it is busy.
type worker struct {
	o     Options
	ready chan struct{}
	ops   chan *work
	quit  chan struct{}
	errc  chan error
	tx    Tx
	// lookup gives the tracked definition of a table, so stored XA changes decoded with
	// an equal definition share its compiled target plan.
	lookup func(db, table string) *schema.Table
	// modeOf gives a table's delete mode, for the fold of stored XA changes.
	modeOf func(*schema.Table) config.DeleteMode

	mu    sync.Mutex
	stats Stats
}

func newWorker(o Options, from change.Position) *worker {
	return &worker{o: o, ready: make(chan struct{}), ops: make(chan *work), quit: make(chan struct{}), errc: make(chan error, 1),
		stats: Stats{Position: from}}
}

func (w *worker) run(ctx context.Context) {
	defer func() {
		if w.tx != nil {
			w.tx.Rollback(context.Background())
		}
	}()
	for {
		select {
		case w.ready <- struct{}{}:
		case <-w.quit:
			return
		case <-ctx.Done():
			return
		}
		// The batcher sends exactly one work item for every ready it takes.
		wk := <-w.ops
		if err := w.do(ctx, wk); err != nil {
			w.errc <- err
			return
		}
	}
}

func (w *worker) do(ctx context.Context, wk *work) error {
	if w.tx == nil {
		tx, err := w.o.Applier.Begin(ctx)
		if err != nil {
			return err
		}
		w.tx = tx
	}
	if r, ok := w.tx.(Reacher); ok {
		r.Reach(wk.reach)
	}
	for _, p := range wk.prepared {
		if err := w.tx.StorePrepared(ctx, p); err != nil {
			return fmt.Errorf("store prepared XA transaction %s (GTID %s, part %d): %w", p.XID, p.GTID, p.Part, err)
		}
	}
	if len(wk.prepared) > 0 {
		crashpoint.Hit(crashpoint.StreamXAPrepareStored)
	}
	if len(wk.changes) > 0 {
		if err := w.tx.Apply(ctx, wk.changes); err != nil {
			if errors.Is(err, fault.ErrTransient) {
				return fmt.Errorf("apply batch ending in transaction %s: %w", wk.gtid, err)
			}
			if wk.isolated || wk.txns <= 1 {
				return &applyError{err: fmt.Errorf("apply transaction %s: %w", wk.gtid, err), txns: 1}
			}
			return &applyError{err: fmt.Errorf("apply batch of %d transactions ending in %s: %w", wk.txns+1, wk.gtid, err), txns: wk.txns + 1, end: wk.end}
		}
		for _, tc := range wk.changes {
			up, del := opCounts(tc)
			w.o.Metrics.Rows(tc.Table.QualifiedName(), up, del)
		}
		w.mu.Lock()
		w.stats.Rows += int64(wk.rows)
		w.mu.Unlock()
		if !wk.commit {
			crashpoint.Hit(crashpoint.StreamPartApplied)
		}
	}
	if len(wk.fkActions) > 0 {
		if err := applyFK(ctx, w.tx, wk.fkGraph, wk.fkActions); err != nil {
			if errors.Is(err, fault.ErrTransient) {
				return fmt.Errorf("apply foreign key actions in transaction %s: %w", wk.gtid, err)
			}
			return &applyError{err: fmt.Errorf("apply foreign key actions in transaction %s: %w", wk.gtid, err), txns: 1}
		}
		crashpoint.Hit(crashpoint.StreamFKActionApplied)
	}
	if wk.resolve != nil {
		if err := w.resolvePrepared(ctx, wk); err != nil {
			return err
		}
	}
	if wk.schema != nil {
		if sp, ok := w.tx.(SchemaPositioner); ok {
			sp.SchemaBefore(wk.end)
		}
		if err := w.tx.ApplySchema(ctx, wk.schema); err != nil {
			return fmt.Errorf("DDL at GTID %s (%s): %w", wk.ddlGTID, abbreviate(wk.ddlText), err)
		}
		crashpoint.Hit(crashpoint.StreamDDLApplied)
	}
	if err := w.applyCopy(ctx, wk.copy); err != nil {
		return err
	}
	if !wk.commit {
		return nil
	}
	if len(wk.changes) > 0 {
		crashpoint.Hit(crashpoint.StreamBatchApplied)
	}
	tx := w.tx
	w.tx = nil
	if err := tx.Commit(ctx, wk.pos); err != nil {
		return fmt.Errorf("commit batch at %s: %w", wk.pos.GTID, err)
	}
	crashpoint.Hit(crashpoint.StreamCommitted)
	w.o.Metrics.Committed(wk.from)
	w.mu.Lock()
	w.stats.Batches++
	w.stats.Position = wk.pos
	w.mu.Unlock()
	return nil
}

// opCounts counts a table's written and deleted rows, including the unfolded changes of a
// table without a key.
func opCounts(tc change.TableChanges) (up, del int) {
	up, del = len(tc.Upserts), len(tc.Deletes)
	for _, op := range tc.Ops {
		if op.Kind == change.Delete {
			del++
		} else {
			up++
		}
	}
	return up, del
}

// intern swaps a definition decoded from stored XA changes for the tracked one when
// they are equal, so the target reuses the table's compiled plan.
func (w *worker) intern(def *schema.Table) *schema.Table {
	if w.lookup == nil || def == nil {
		return def
	}
	if cur := w.lookup(def.Schema, def.Name); cur != nil && reflect.DeepEqual(cur, def) {
		return cur
	}
	return def
}

func (w *worker) snapshot() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// applyError is a change the target refused (permanent); txns counts the source
// transactions of the batch it happened in, end is the position after the last complete
// one (the refused change is in a transaction up to one past it).
type applyError struct {
	err  error
	txns int
	end  change.Position
}

func (e *applyError) Error() string { return e.err.Error() }

func (e *applyError) Unwrap() error { return e.err }
