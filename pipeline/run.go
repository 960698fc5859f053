// Package pipeline runs the streaming phase: the binlog source feeds decoded events through
// a bounded channel to one applier loop that folds them into batches and commits each
// batch with its checkpoint. Data flows one way: source -> decode -> batch -> apply ->
// checkpoint.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/metrics"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
	"github.com/replicator/replicator/tracker"
)

// Applier opens target transactions. The PostgreSQL and Elasticsearch appliers implement it.
type Applier interface {
	DDLTranslator
	// Begin opens a batch. Everything applied through it becomes visible, together with
	// the checkpoint, at Commit, or not at all.
	Begin(ctx context.Context) (Tx, error)
}

// Tx is one open batch.
type Tx interface {
	// Apply writes folded row changes. It may be called several times per batch (a large
	// source transaction is applied in parts, all committed together).
	Apply(ctx context.Context, changes []TableChanges) error
	// ApplySchema applies a schema change (after the rows before it) and records the new
	// definitions in the schema history, both visible with the checkpoint at Commit.
	ApplySchema(ctx context.Context, sc *SchemaChange) error
	// Commit stores pos as the checkpoint and makes the batch visible atomically.
	Commit(ctx context.Context, pos change.Position) error
	// Rollback abandons the batch.
	Rollback(ctx context.Context)
}

// ErrTransient marks errors worth retrying after a pause (a server restarting, a dropped
// connection): the pipeline restarts from the stored checkpoint.
var ErrTransient = errors.New("transient")

// Options are what the streaming phase runs with.
type Options struct {
	Config  *config.Config
	Dialer  *source.Dialer
	Applier Applier
	// Schemas loads the schema tracker as of the stored checkpoint; it is called at every
	// (re)start, because definitions the reader moved past an uncommitted DDL are void.
	Schemas func(ctx context.Context) (*tracker.Tracker, error)
	// Checkpoint reads the position to stream from.
	Checkpoint func(ctx context.Context) (change.Position, error)
	Log        *slog.Logger
	// Metrics is optional.
	Metrics *metrics.Metrics
	// OnError is told of every error that ends a stream attempt (for the target's
	// last-error record); optional.
	OnError func(err error, transient bool)
}

// Stats are counters of a running pipeline.
type Stats struct {
	Rows, Txns, Batches int64
	LastEvent           time.Time
	Position            change.Position
}

// Run streams until ctx ends (returning nil after a clean stop) or a permanent error.
// Transient errors restart the stream from the stored checkpoint with backoff.
func Run(ctx context.Context, o Options) error {
	backoff := time.Second
	var isolateUntil *change.Position
	for {
		start := time.Now()
		progressed, err := runOnce(ctx, o, isolateUntil)
		if ctx.Err() != nil {
			return nil
		}
		// A row the target refused inside a batch of several transactions: apply again one
		// transaction per batch up to where it failed, so the error names the transaction.
		var ae *applyError
		if errors.As(err, &ae) && ae.txns > 1 && isolateUntil == nil {
			o.Log.Warn("the target refused a change; re-applying transaction by transaction to name the one that fails", "error", err)
			isolateUntil = &ae.end
			continue
		}
		isolateUntil = nil
		transient := errors.Is(err, ErrTransient) || errors.Is(err, source.ErrSourceGone)
		if transient {
			o.Metrics.Error("transient")
		} else {
			o.Metrics.Error("permanent")
		}
		if o.OnError != nil {
			o.OnError(err, transient)
		}
		if !transient {
			return err
		}
		o.Metrics.Reconnect()
		// An attempt that committed something was a recovery: the next failure is a new
		// outage and starts with a short pause again.
		if progressed || time.Since(start) > time.Minute {
			backoff = time.Second
		}
		o.Log.Warn("stream interrupted; reconnecting from the checkpoint", "error", err, "retry_in", backoff.String())
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// runOnce streams from the stored checkpoint until an error; progressed reports whether it
// committed at least one batch.
func runOnce(ctx context.Context, o Options, isolateUntil *change.Position) (progressed bool, err error) {
	from, err := o.Checkpoint(ctx)
	if err != nil {
		return false, err
	}
	tr, err := o.Schemas(ctx)
	if err != nil {
		return false, err
	}
	h := &ddlHandler{cfg: o.Config, tr: tr, target: o.Applier, log: o.Log, refresh: func(ctx context.Context, db, table string) (*schema.Table, error) {
		conn, err := o.Dialer.Dial(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", source.ErrSourceGone, err)
		}
		defer conn.Close()
		return conn.LoadTable(ctx, db, table)
	}}
	o.Log.Info("streaming", "from_gtid", from.GTID, "tables", len(tr.All()))
	o.Metrics.Phase("streaming")
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan change.Event, 4096)
	readerErr := make(chan error, 1)
	go func() {
		defer close(events)
		readerErr <- o.Dialer.Stream(rctx, source.StreamOptions{
			From: from, ServerID: o.Config.Source.ServerID, Schemas: tr, Log: o.Log,
			DDL: func(ctx context.Context, db, query string, pos change.Position, gtid string) (any, error) {
				sc, err := h.handle(ctx, db, query, pos, gtid)
				if sc == nil || err != nil {
					return nil, err
				}
				return sc, nil
			},
		}, events)
	}()
	b := &batcher{o: o, fold: newFolder(), stats: Stats{Position: from}, isolateUntil: isolateUntil}
	err = b.loop(ctx, events)
	cancel()
	for range events { // let the reader see the cancellation and exit
	}
	rerr := <-readerErr
	if err == nil {
		err = rerr
	}
	return b.stats.Batches > 0, err
}

// batcher is the applier loop's state: the open batch and the fold of its current part.
type batcher struct {
	o         Options
	fold      *folder
	tx        Tx
	pending   bool // transactions since the last commit
	boundary  bool // the last event ended a source transaction
	batchFrom time.Time
	lastPos   change.Position
	lastTime  time.Time
	lastGTID  string
	batchRows int
	afterDDL  bool // the open batch holds a schema change
	batchTxns int  // source transactions in the open batch
	// isolateUntil, when set, makes every transaction a batch of its own up to that
	// position (to name a transaction the target refuses).
	isolateUntil *change.Position
	stats        Stats
	lastLog      time.Time
}

func (b *batcher) loop(ctx context.Context, events <-chan change.Event) error {
	b.boundary = true
	tick := time.NewTicker(max(b.o.Config.Apply.FlushInterval.Duration/2, 10*time.Millisecond))
	defer tick.Stop()
	defer func() {
		if b.tx != nil {
			b.tx.Rollback(context.Background())
		}
	}()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return b.stop()
			}
			if err := b.handle(ctx, &ev); err != nil {
				return err
			}
		case <-tick.C:
			if b.pending && b.boundary && time.Since(b.batchFrom) >= b.o.Config.Apply.FlushInterval.Duration {
				if err := b.commit(ctx); err != nil {
					return err
				}
			}
			b.maybeLog()
		case <-ctx.Done():
			return b.stop()
		}
	}
}

// stop commits what ended at a transaction boundary, so a clean shutdown keeps progress,
// and abandons a partial transaction (it is read again on restart).
func (b *batcher) stop() error {
	if b.pending && b.boundary {
		cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return b.commit(cctx)
	}
	return nil
}

func (b *batcher) handle(ctx context.Context, ev *change.Event) error {
	b.o.Metrics.Events(1)
	b.o.Metrics.Pending(ev.Time)
	switch ev.Kind {
	case change.Insert, change.Update, change.Delete:
		if !b.pending {
			b.batchFrom = time.Now()
		}
		b.pending, b.boundary, b.lastGTID = true, false, ev.GTID
		b.fold.add(ev)
		b.batchRows++
		if b.fold.rows >= b.o.Config.Apply.BatchRows || b.fold.bytes >= b.o.Config.Apply.BatchBytes {
			return b.flushPart(ctx)
		}
	case change.DDL:
		sc, ok := ev.DDL.(*SchemaChange)
		if !ok {
			return nil
		}
		if err := b.flushPart(ctx); err != nil {
			return err
		}
		if err := b.begin(ctx); err != nil {
			return err
		}
		if !b.pending {
			b.batchFrom = time.Now()
		}
		b.pending, b.boundary, b.afterDDL = true, false, true
		if err := b.tx.ApplySchema(ctx, sc); err != nil {
			return fmt.Errorf("DDL at GTID %s (%s): %w", ev.GTID, abbreviate(ev.Query), err)
		}
	case change.Commit:
		if !b.pending {
			b.batchFrom = time.Now()
		}
		b.pending, b.boundary = true, true
		b.lastPos, b.lastTime, b.lastGTID = ev.Pos, ev.Time, ev.GTID
		b.stats.Txns++
		b.batchTxns++
		if b.isolateUntil != nil {
			return b.commit(ctx)
		}
		// A schema change commits at once: later batches are built against the new schema.
		if b.afterDDL || b.batchRows >= b.o.Config.Apply.BatchRows || b.fold.bytes >= b.o.Config.Apply.BatchBytes ||
			time.Since(b.batchFrom) >= b.o.Config.Apply.FlushInterval.Duration {
			return b.commit(ctx)
		}
	}
	return nil
}

func (b *batcher) begin(ctx context.Context) error {
	if b.tx != nil {
		return nil
	}
	tx, err := b.o.Applier.Begin(ctx)
	if err != nil {
		return err
	}
	b.tx = tx
	return nil
}

// flushPart applies the folded changes so far inside the open batch, without committing.
func (b *batcher) flushPart(ctx context.Context) error {
	if b.fold.empty() {
		return nil
	}
	if err := b.begin(ctx); err != nil {
		return err
	}
	rows := b.fold.rows
	changes := b.fold.take()
	if err := b.tx.Apply(ctx, changes); err != nil {
		if errors.Is(err, ErrTransient) {
			return fmt.Errorf("apply batch ending in transaction %s: %w", b.lastGTID, err)
		}
		if b.isolateUntil != nil || b.batchTxns <= 1 {
			return &applyError{err: fmt.Errorf("apply transaction %s: %w", b.lastGTID, err), txns: 1}
		}
		return &applyError{err: fmt.Errorf("apply batch of %d transactions ending in %s: %w", b.batchTxns+1, b.lastGTID, err), txns: b.batchTxns + 1, end: b.lastPos}
	}
	for _, tc := range changes {
		b.o.Metrics.Rows(tc.Table.QualifiedName(), len(tc.Upserts), len(tc.Deletes))
	}
	b.stats.Rows += int64(rows)
	return nil
}

func (b *batcher) commit(ctx context.Context) error {
	if err := b.flushPart(ctx); err != nil {
		return err
	}
	if err := b.begin(ctx); err != nil {
		return err
	}
	if err := b.tx.Commit(ctx, b.lastPos); err != nil {
		b.tx = nil
		return fmt.Errorf("commit batch at %s: %w", b.lastPos.GTID, err)
	}
	b.tx, b.pending, b.batchRows, b.afterDDL, b.batchTxns = nil, false, 0, false, 0
	if b.isolateUntil != nil {
		// The refused change was at most one transaction past isolateUntil: once a
		// transaction beyond it commits, batching goes back to normal.
		if n, err := source.TransactionsBehind(b.lastPos.Flavor, b.isolateUntil.GTID, b.lastPos.GTID); err == nil && n > 0 {
			b.isolateUntil = nil
		}
	}
	b.o.Metrics.Committed(b.batchFrom)
	b.stats.Batches++
	b.stats.Position, b.stats.LastEvent = b.lastPos, b.lastTime
	return nil
}

func (b *batcher) maybeLog() {
	if time.Since(b.lastLog) < 30*time.Second {
		return
	}
	b.lastLog = time.Now()
	// Caught up (nothing pending) means no lag; otherwise the age of the last committed event.
	lag := 0.0
	if b.pending && !b.stats.LastEvent.IsZero() {
		lag = time.Since(b.stats.LastEvent).Seconds()
	}
	b.o.Log.Info("streaming progress", "rows", b.stats.Rows, "txns", b.stats.Txns, "batches", b.stats.Batches,
		"gtid", b.stats.Position.GTID, "lag_s", lag)
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
