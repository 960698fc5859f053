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
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/metrics"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
	"github.com/replicator/replicator/tracker"
)

// Applier opens target transactions. The PostgreSQL and Elasticsearch appliers provide it
// (through ApplierOf: they do not import the pipeline).
type Applier interface {
	// Begin opens a batch. Everything applied through it becomes visible, together with
	// the checkpoint, at Commit, or not at all.
	Begin(ctx context.Context) (Tx, error)
}

// Tx is one open batch.
type Tx interface {
	// Apply writes folded row changes. It may be called several times per batch (a large
	// source transaction is applied in parts, all committed together).
	Apply(ctx context.Context, changes []change.TableChanges) error
	// ApplySchema translates a schema change's steps for the target, each against the
	// definitions it carries, applies them (after the rows before it) and records the new
	// definitions in the schema history, all visible with the checkpoint at Commit. A step
	// the target cannot translate fails with a *ddl.TranslateError, which the pipeline
	// handles as [ddl] on_error says.
	ApplySchema(ctx context.Context, sc *ddl.SchemaChange) error
	// StorePrepared keeps one part of a prepared XA transaction's row changes in the
	// target's state, visible with the checkpoint at Commit: the checkpoint moves past
	// the XA PREPARE while the transaction's decision may come batches or restarts later.
	StorePrepared(ctx context.Context, p *change.Prepared) error
	// ResolvePrepared ends the prepared XA transaction xid (stored by this or an earlier
	// batch): with commit, apply is called with the changes of each stored part in order;
	// the parts are removed with the checkpoint at Commit. found is false when nothing is
	// stored under xid (its PREPARE came before the stream's start).
	ResolvePrepared(ctx context.Context, xid string, commit bool, apply func(events []change.Event) error) (found bool, err error)
	// Commit stores pos as the checkpoint and makes the batch visible atomically.
	Commit(ctx context.Context, pos change.Position) error
	// Rollback abandons the batch.
	Rollback(ctx context.Context)
}

// ApplierOf adapts the Begin of a target whose batches are of its own type (the targets
// do not import the pipeline) to Applier.
func ApplierOf[T Tx](begin func(ctx context.Context) (T, error)) Applier { return beginFunc[T](begin) }

type beginFunc[T Tx] func(ctx context.Context) (T, error)

func (f beginFunc[T]) Begin(ctx context.Context) (Tx, error) {
	tx, err := f(ctx)
	if err != nil {
		return nil, err // not a nil T in a non-nil Tx
	}
	return tx, nil
}

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

	// tables are the tracked definitions at the stream's start, from which the batcher
	// builds the foreign key graph (set by runOnce).
	tables []*schema.Table
}

// Stats are counters of a running pipeline; Position (with its source time) is the last
// committed checkpoint.
type Stats struct {
	Rows, Batches int64
	Position      change.Position
}

// DefaultAccessDeniedRetry is how long refused access is retried when the configuration
// does not say.
const DefaultAccessDeniedRetry = 5 * time.Minute

// accessDenied reports whether err is a refusal that only an administrator can lift.
func accessDenied(err error) bool {
	return errors.Is(err, fault.ErrAccessDenied) || errors.Is(err, source.ErrAccessDenied) || errors.Is(err, source.ErrNoReplicationPrivilege) ||
		errors.Is(err, source.ErrCertificate)
}

// Run streams until ctx ends (returning nil after a clean stop) or a permanent error.
// Transient errors restart the stream from the stored checkpoint with backoff, for as long
// as they last. Refused access (a wrong password, a revoked grant, on either side) is
// retried the same way for apply.access_denied_retry (a grant restored within it resumes
// replication), then Run returns the error: retrying for ever would hide, behind a
// running process, a replication that can no longer make progress. While it retries the
// phase (status of /readyz) says access is denied and since when.
func Run(ctx context.Context, o Options) error {
	backoff := time.Second
	var isolateUntil *change.Position
	var deniedSince time.Time
	refused := map[string]*ddlRefusal{}
	for {
		start := time.Now()
		progressed, err := runOnce(ctx, o, isolateUntil, refused)
		if ctx.Err() != nil {
			return nil
		}
		if progressed {
			deniedSince = time.Time{}
		}
		if accessDenied(err) {
			isolateUntil = nil
			limit := DefaultAccessDeniedRetry
			if o.Config != nil && o.Config.Apply.AccessDeniedRetry.Duration > 0 {
				limit = o.Config.Apply.AccessDeniedRetry.Duration
			}
			if deniedSince.IsZero() {
				deniedSince = start
			}
			if time.Since(deniedSince) >= limit {
				err = fmt.Errorf("still refused after retrying for %s (apply.access_denied_retry); replication stopped: fix the account, grant or certificate and start again: %w",
					time.Since(deniedSince).Round(time.Second), err)
				o.Metrics.Error("permanent")
				if o.OnError != nil {
					o.OnError(err, false)
				}
				return err
			}
			o.Metrics.Error("access_denied")
			o.Metrics.Phase("access denied since " + deniedSince.UTC().Format(time.RFC3339) + ", retrying")
			if o.OnError != nil {
				o.OnError(err, true)
			}
			o.Log.Error("access denied; retrying until the grant is restored or apply.access_denied_retry passes",
				"error", err, "since", deniedSince.UTC().Format(time.RFC3339), "stop_after", limit.String(), "retry_in", backoff.String())
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		deniedSince = time.Time{}
		// A row the target refused inside a batch of several transactions: apply again one
		// transaction per batch up to where it failed, so the error names the transaction.
		var ae *applyError
		if errors.As(err, &ae) && ae.txns > 1 && isolateUntil == nil {
			o.Log.Warn("the target refused a change; re-applying transaction by transaction to name the one that fails", "error", err)
			isolateUntil = &ae.end
			continue
		}
		isolateUntil = nil
		// A statement the target cannot translate: read again, the reader applies
		// ddl.on_error to it where it used to translate it (before the rows after it).
		var dr *ddlRefusal
		if errors.As(err, &dr) && refused[dr.gtid] == nil {
			o.Log.Info("the target cannot translate a DDL statement; reading again from the checkpoint to apply ddl.on_error to it", "gtid", dr.gtid, "error", dr.err)
			refused[dr.gtid] = dr
			continue
		}
		transient := errors.Is(err, fault.ErrTransient) || errors.Is(err, source.ErrSourceGone)
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
func runOnce(ctx context.Context, o Options, isolateUntil *change.Position, refused map[string]*ddlRefusal) (progressed bool, err error) {
	from, err := o.Checkpoint(ctx)
	if err != nil {
		return false, err
	}
	tr, err := o.Schemas(ctx)
	if err != nil {
		return false, err
	}
	h := &ddlHandler{cfg: o.Config, tr: tr, log: o.Log, refused: refused, refresh: func(ctx context.Context, db, table string) (*schema.Table, error) {
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
	batches, err := applyStream(ctx, o, from, isolateUntil, events, tr.Lookup)
	cancel()
	for range events { // let the reader see the cancellation and exit
	}
	rerr := <-readerErr
	if err == nil {
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
func applyStream(ctx context.Context, o Options, from change.Position, isolateUntil *change.Position, events <-chan item, lookup func(db, table string) *schema.Table) (batches int64, err error) {
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer wcancel()
	w := newWorker(o, from)
	w.lookup = lookup
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); w.run(wctx) }()

	b := &batcher{o: o, w: w, fold: newFolder(), isolateUntil: isolateUntil, lastPos: from, defs: map[string]*schema.Table{}, known: map[*schema.Table]struct{}{}}
	for _, t := range o.tables {
		b.defs[t.QualifiedName()] = t
	}
	b.fk.g = schema.BuildFKGraph(o.tables)
	logUntracked(o.Log, b.fk.g)
	err = b.loop(ctx, events)
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
	commit    bool
	pos       change.Position // the checkpoint, with commit
	from      time.Time       // when the batch got its first event (metrics)
	// For errors: the last transaction read, the batch's complete transactions so far and
	// the position after the last of them; isolated means one transaction per batch.
	gtid     string
	txns     int
	end      change.Position
	isolated bool
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
	for _, p := range wk.prepared {
		if err := w.tx.StorePrepared(ctx, p); err != nil {
			return fmt.Errorf("store prepared XA transaction %s (GTID %s, part %d): %w", p.XID, p.GTID, p.Part, err)
		}
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
	}
	if len(wk.fkActions) > 0 {
		if err := applyFK(ctx, w.tx, wk.fkGraph, wk.fkActions); err != nil {
			if errors.Is(err, fault.ErrTransient) {
				return fmt.Errorf("apply foreign key actions in transaction %s: %w", wk.gtid, err)
			}
			return &applyError{err: fmt.Errorf("apply foreign key actions in transaction %s: %w", wk.gtid, err), txns: 1}
		}
	}
	if wk.resolve != nil {
		if err := w.resolvePrepared(ctx, wk); err != nil {
			return err
		}
	}
	if wk.schema != nil {
		if err := w.tx.ApplySchema(ctx, wk.schema); err != nil {
			var te *ddl.TranslateError
			if errors.As(err, &te) {
				return &ddlRefusal{gtid: wk.ddlGTID, query: wk.ddlText, step: te.Step, err: te.Err}
			}
			return fmt.Errorf("DDL at GTID %s (%s): %w", wk.ddlGTID, abbreviate(wk.ddlText), err)
		}
	}
	if !wk.commit {
		return nil
	}
	tx := w.tx
	w.tx = nil
	if err := tx.Commit(ctx, wk.pos); err != nil {
		return fmt.Errorf("commit batch at %s: %w", wk.pos.GTID, err)
	}
	w.o.Metrics.Committed(wk.from)
	w.mu.Lock()
	w.stats.Batches++
	w.stats.Position = wk.pos
	w.mu.Unlock()
	return nil
}

// resolvePrepared applies (XA COMMIT) or drops (XA ROLLBACK) a stored prepared
// transaction, part by part so a large one never has to fit in memory.
func (w *worker) resolvePrepared(ctx context.Context, wk *work) error {
	xa := wk.resolve
	rows := 0
	found, err := w.tx.ResolvePrepared(ctx, xa.ID, xa.Op == change.XACommit, func(events []change.Event) error {
		// The stored changes are applied with the same ordering of foreign key actions
		// as the batcher's (see fkaction.go), at the XA COMMIT's place in the stream.
		f := newFolder()
		fo := fkOrder{g: wk.fkGraph}
		flush := func() error {
			rows += f.rows
			changes := f.take()
			if err := w.tx.Apply(ctx, changes); err != nil {
				if errors.Is(err, fault.ErrTransient) {
					return err
				}
				return &applyError{err: fmt.Errorf("apply XA transaction %s at its XA COMMIT (GTID %s): %w", xa.ID, wk.xaGTID, err), txns: 1}
			}
			for _, tc := range changes {
				up, del := opCounts(tc)
				w.o.Metrics.Rows(tc.Table.QualifiedName(), up, del)
			}
			if err := applyFK(ctx, w.tx, wk.fkGraph, fo.take()); err != nil {
				if errors.Is(err, fault.ErrTransient) {
					return err
				}
				return &applyError{err: fmt.Errorf("apply foreign key actions of XA transaction %s at its XA COMMIT (GTID %s): %w", xa.ID, wk.xaGTID, err), txns: 1}
			}
			return nil
		}
		for i := range events {
			ev := &events[i]
			ev.Table = w.intern(ev.Table)
			if fo.flushBefore(ev) {
				if err := flush(); err != nil {
					return err
				}
			}
			f.add(ev)
			if act, first := fo.after(f, ev); act != nil {
				if first {
					if err := flush(); err != nil {
						return err
					}
				}
				fo.push(act)
			}
		}
		return flush()
	})
	if err != nil {
		var ae *applyError
		if errors.As(err, &ae) {
			return err
		}
		return fmt.Errorf("XA %s %s (GTID %s): %w", strings.ToUpper(xa.Op.String()), xa.ID, wk.xaGTID, err)
	}
	if !found {
		// Its PREPARE is older than the stream's start: the snapshot waits until no XA
		// transaction is prepared, so only one that touched no selected table or one
		// prepared before an older version of the replicator read it gets here.
		w.o.Log.Warn("XA transaction decided whose XA PREPARE was not read by this replicator (before its start position): its changes, if it had any in the selected tables, are not known",
			"xid", xa.ID, "op", xa.Op.String(), "gtid", wk.xaGTID)
	}
	w.mu.Lock()
	w.stats.Rows += int64(rows)
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
	lastLog      time.Time
	// fk holds the foreign key actions pending after the fold; defs are the definitions
	// the graph is built from, moved on by DDL and by row events of new table versions.
	fk   fkOrder
	defs map[string]*schema.Table
	// known are the definitions row events came with so far (a cheap per-event check).
	known map[*schema.Table]struct{}
}

func (b *batcher) loop(ctx context.Context, events <-chan item) error {
	b.boundary = true
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
		if b.pending && b.boundary && (linger == 0 || time.Since(b.batchFrom) >= linger) {
			ready = b.w.ready
		}
		select {
		case it, ok := <-events:
			if !ok {
				return b.stop()
			}
			if err := b.handle(ctx, &it.ev, it.schema); err != nil {
				if errors.Is(err, errStopping) {
					return nil
				}
				return err
			}
		case <-ready:
			b.w.ops <- b.commitWork()
		case err := <-b.w.errc:
			return err
		case <-tick.C:
			b.maybeLog()
		case <-ctx.Done():
			return b.stop()
		}
	}
}

// stop hands over what ended at a transaction boundary, so a clean shutdown keeps
// progress, and abandons a partial transaction (it is read again on restart).
func (b *batcher) stop() error {
	if b.pending && b.boundary {
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
		return b.give(ctx, wk)
	case change.Commit:
		b.open(ev)
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
			return b.give(ctx, b.commitWork())
		}
	}
	return nil
}

// xaHold is the first phase of an XA transaction being read.
type xaHold struct {
	gtid   string
	xid    string
	part   int // parts stored so far
	events []change.Event
	rows   int
	bytes  int
}

// holdPrepared keeps a row change of an XA transaction's first phase; a large one goes
// to the target's state in parts (bounded memory).
func (b *batcher) holdPrepared(ctx context.Context, ev *change.Event) error {
	if b.xa == nil || b.xa.gtid != ev.GTID {
		b.xa = &xaHold{gtid: ev.GTID, xid: ev.XA.ID}
	}
	h := b.xa
	h.events = append(h.events, *ev)
	h.rows++
	for _, v := range ev.Before {
		h.bytes += len(v) + 8
	}
	for _, v := range ev.After {
		h.bytes += len(v) + 8
	}
	b.batchRows++
	if h.rows >= b.o.Config.Apply.BatchRows || h.bytes >= b.o.Config.Apply.BatchBytes {
		wk := b.partWork()
		wk.prepared = []*change.Prepared{b.takePrepared(h.xid)}
		return b.give(ctx, wk)
	}
	return nil
}

// takePrepared turns the held changes into the next stored part.
func (b *batcher) takePrepared(xid string) *change.Prepared {
	h := b.xa
	p := &change.Prepared{XID: xid, GTID: h.gtid, Part: h.part, Events: h.events}
	h.part++
	h.events, h.rows, h.bytes = nil, 0, 0
	return p
}

// endXA settles the XA side of a transaction end before it is counted: an XA PREPARE
// stores the held changes (an empty part when there were none, so the decision finds a
// record), a plain end of a group with held changes commits them (MySQL's one-phase XA),
// and XA COMMIT / XA ROLLBACK resolve the stored transaction after the changes before it.
func (b *batcher) endXA(ctx context.Context, ev *change.Event) error {
	held := b.xa != nil && b.xa.gtid == ev.GTID
	switch {
	case ev.XA != nil && ev.XA.Op == change.XAPrepare:
		if !held {
			b.xa = &xaHold{gtid: ev.GTID, xid: ev.XA.ID}
		}
		if b.xa.xid != ev.XA.ID {
			return fmt.Errorf("transaction %s: XA PREPARE of %s after rows of XA transaction %s", ev.GTID, ev.XA.ID, b.xa.xid)
		}
		if !held || len(b.xa.events) > 0 || b.xa.part == 0 {
			wk := b.partWork()
			wk.prepared = []*change.Prepared{b.takePrepared(ev.XA.ID)}
			b.xa = nil
			return b.give(ctx, wk)
		}
		b.xa = nil
	case ev.XA != nil:
		b.xa = nil
		wk := b.partWork()
		wk.resolve, wk.xaGTID = ev.XA, ev.GTID
		return b.give(ctx, wk)
	case held:
		h := b.xa
		if h.part > 0 {
			// A one-phase commit so large that parts went to the state already: store
			// the rest and resolve it like an XA COMMIT.
			wk := b.partWork()
			wk.prepared = []*change.Prepared{b.takePrepared(h.xid)}
			wk.resolve, wk.xaGTID = &change.XA{Op: change.XACommit, ID: h.xid}, ev.GTID
			b.xa = nil
			return b.give(ctx, wk)
		}
		b.xa = nil
		for i := range h.events {
			if err := b.addRow(ctx, &h.events[i]); err != nil {
				return err
			}
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
	b.fold.add(ev)
	act, first := b.fk.after(b.fold, ev)
	if act == nil {
		return nil
	}
	if first {
		if err := b.give(ctx, b.partWork()); err != nil {
			return err
		}
	}
	b.fk.push(act)
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

// partWork takes the folded changes so far, to be applied inside the open batch.
func (b *batcher) partWork() *work {
	wk := &work{gtid: b.lastGTID, txns: b.batchTxns, end: b.lastPos, isolated: b.isolateUntil != nil, fkGraph: b.fk.g}
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
