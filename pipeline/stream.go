package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

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
	h := &ddlHandler{cfg: o.Config, tr: tr, log: o.Log, check: o.CheckDDL, copies: o.Copies != nil, refresh: func(ctx context.Context, db, table string) (*schema.Table, error) {
		conn, err := o.Dialer.Dial(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", source.ErrSourceGone, err)
		}
		defer conn.Close()
		return conn.LoadTable(ctx, db, table)
	}}
	o.Log.Info("streaming", "from_gtid", from.GTID, "tables", len(tr.All()))
	o.Metrics.Phase("streaming")
	o.Metrics.ResetPending()
	floor := 0
	if o.Floor != nil {
		if floor, err = o.Floor(ctx, from); err != nil {
			return false, err
		}
		if floor > 0 {
			o.Log.Info("the target holds rows of transactions past the checkpoint (a batch applied over several connections was not committed whole): the first batch holds at least as many before it commits",
				"from_gtid", from.GTID, "transactions", floor)
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan item, 4096)
	readerErr := make(chan error, 1)
	go func() {
		defer close(events)
		// The DDL callback and emit run one after the other in this goroutine: the
		// schema change the handler made is the one the DDL event that follows carries.
		var pending *ddl.SchemaChange
		readerErr <- o.Dialer.StreamTo(rctx, source.StreamOptions{
			From: from, ServerID: o.Config.Source.ServerID, Schemas: tr, Log: o.Log,
			DDL: func(ctx context.Context, db, query string, pos change.Position, gtid string) (bool, error) {
				sc, err := h.handle(ctx, db, query, pos, gtid)
				pending = sc
				return sc != nil && err == nil, err
			},
		}, func(ctx context.Context, ev change.Event) error {
			it := item{ev: ev}
			if ev.Kind == change.DDL {
				it.schema, pending = pending, nil
			}
			select {
			case events <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	o.tables = tr.All()
	o.track = func(def *schema.Table) (*schema.Table, error) {
		if cur := tr.Lookup(def.Schema, def.Name); cur != nil {
			return cur, nil
		}
		if err := tr.PutProvisional(def); err != nil {
			return nil, err
		}
		return tr.Lookup(def.Schema, def.Name), nil
	}
	o.confirm = tr.Confirm
	batches, err := applyStream(ctx, o, from, floor, isolateUntil, events, tr.Lookup)
	// The reader sends its error before it closes the events, so one already there
	// ended the reader by itself, before this attempt stopped it.
	var rerr error
	ended := false
	select {
	case rerr = <-readerErr:
		ended = true
	default:
	}
	cancel()
	for range events { // let the reader see the cancellation and exit
	}
	if !ended {
		rerr = <-readerErr
	}
	// A reader that ended by itself closed the events: the batcher handed its last
	// complete batch over as on a stop, and what that met (a worker still busy past the
	// stop's 15 s, behind a lock; the abandoned batch's cancelled context) follows from
	// it. The reader's error is the cause, and says whether to retry.
	if err == nil || ended && rerr != nil {
		err = rerr
	}
	return batches > 0, err
}

// item is what the reader hands the batcher: an event and, on a DDL event, what the
// stream's DDL handler made of the statement.
type item struct {
	ev     change.Event
	schema *ddl.SchemaChange
}

// applyStream folds events into batches and applies them until the channel closes, ctx
// ends (both commit what ended at a transaction boundary) or an error. The worker applies
// while the batcher reads and folds the next batch; it does not stop with ctx, so a clean
// shutdown commits what it was handed (within 15 s).
func applyStream(ctx context.Context, o Options, from change.Position, floor int, isolateUntil *change.Position, events <-chan item, lookup func(db, table string) *schema.Table) (batches int64, err error) {
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer wcancel()
	w := newWorker(o, from)
	w.lookup = lookup
	w.modeOf = deleteModeOf(o.Routes)
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); w.run(wctx) }()

	b := &batcher{o: o, w: w, fold: newFolder(w.modeOf), isolateUntil: isolateUntil, floor: floor, lastPos: from, defs: map[string]*schema.Table{}, known: map[*schema.Table]struct{}{}, track: o.track}
	for _, t := range o.tables {
		b.defs[t.QualifiedName()] = t
	}
	b.fk.g = schema.BuildFKGraph(o.tables)
	logUntracked(o.Log, b.fk.g)
	cctx, ccancel := context.WithCancel(ctx)
	copierDone := make(chan struct{})
	if o.Copies != nil {
		msgs := make(chan copyMsg)
		b.copyMsgs = msgs
		rows := DefaultCopyChunkRows
		if o.Config != nil && o.Config.Snapshot.ChunkRows > 0 && o.Config.Snapshot.ChunkRows < rows {
			rows = o.Config.Snapshot.ChunkRows
		}
		c := &copier{o: o, store: o.Copies, msgs: msgs, rows: rows, finished: map[string]time.Time{}}
		go func() { defer close(copierDone); c.run(cctx) }()
	} else {
		close(copierDone)
	}
	err = b.loop(ctx, events)
	ccancel()
	<-copierDone
	close(w.quit)
	if err != nil {
		wcancel() // what the worker holds is abandoned and read again on restart
	}
	select {
	case <-workerDone:
	case <-time.After(15 * time.Second):
		o.Log.Warn("the target did not finish the last batch within 15 s of the stop; it is abandoned and read again on restart")
		wcancel()
		<-workerDone
	}
	if err == nil {
		select {
		case err = <-w.errc:
		default:
		}
	}
	return w.snapshot().Batches, err
}
