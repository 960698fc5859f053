package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
	"github.com/replicator/replicator/tracker"
)

// Sink receives the records of a run, in stream order.
type Sink interface {
	// Put writes one record. Returning ErrStop ends the run without an error.
	Put(r *Record) error
	// Flush pushes buffered output; Run calls it whenever the stream has nothing pending
	// and before it returns.
	Flush() error
}

// ErrStop is what a Sink returns when it wants no more records (--limit reached, the
// reader went away); Run then returns nil.
var ErrStop = errors.New("events: stop")

// Options say what a run reads.
type Options struct {
	Config *config.Config
	// Routes are Config's compiled [[tables]] rules: the tables printed and their columns.
	Routes *route.Set
	Dialer *source.Dialer
	// From is the GTID set already seen: output starts with the first transaction after
	// it. Empty means the source's current position.
	From string
	// Follow streams until ctx ends. Otherwise Run returns once it has read up to the
	// source's position at start.
	Follow bool
	// ServerID is the id the binlog dump registers with; it must differ from every
	// server's and every other reader's (a duplicate id disconnects the older reader).
	ServerID uint32
	Filter   Filter
	Log      *slog.Logger
}

// Run reads the binary log through the appliers' decoding path (source.Dialer.Stream with
// a schema tracker moved on by pipeline.SchemaFollower) and hands each row change and DDL
// statement that passes the filter to sink. It writes nothing to any server and keeps no
// checkpoint. It returns nil when ctx ends, when the stop position is reached and when
// sink returns ErrStop.
//
// The tracker is seeded with the selected tables' current definitions from the source's
// information_schema: from an older position rows are decoded with today's definitions
// until a DDL in the stream moves them (a row whose column count differs fails clearly).
func Run(ctx context.Context, o Options, sink Sink) error {
	conn, err := o.Dialer.Dial(ctx)
	if err != nil {
		return err
	}
	flavor := conn.Flavor
	now, err := conn.CurrentGTID(ctx)
	if err != nil {
		conn.Close()
		return err
	}
	from := o.From
	if from == "" {
		from = now
	}
	if _, err := source.ParseGTIDSet(flavor, from); err != nil {
		conn.Close()
		return fmt.Errorf("--from: %w", err)
	}
	tr, skip, err := seed(ctx, conn, o)
	conn.Close()
	if err != nil {
		return err
	}
	r := &runner{o: o, sink: sink, views: map[*schema.Table]*View{}}
	if !o.Follow {
		if r.stop, err = Covers(flavor, now); err != nil {
			return err
		}
		if done, err := r.stop(from); err != nil || done {
			o.Log.Debug("events: nothing to read up to the source's position at start", "from", from, "stop_at", now)
			return err
		}
	}
	o.Log.Debug("events: streaming", "from", from, "stop_at", now, "follow", o.Follow, "tables", len(tr.All()), "server_id", o.ServerID)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	evs := make(chan item, 1024)
	streamErr := make(chan error, 1)
	refresh := func(ctx context.Context, db, table string) (*schema.Table, error) {
		c, err := o.Dialer.Dial(ctx)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.LoadTable(ctx, db, table)
	}
	follow := followDDL(o.Config, tr, o.Log, refresh)
	go func() {
		defer close(evs)
		// The DDL callback and emit run one after the other in this goroutine: the
		// change the follower made is the one the DDL event that follows carries.
		var pending *ddlChange
		streamErr <- o.Dialer.StreamTo(sctx, source.StreamOptions{
			From:     change.Position{Flavor: flavor, GTID: from},
			ServerID: o.ServerID,
			Schemas:  &selection{tr: tr, skip: skip},
			Log:      o.Log,
			DDL: func(ctx context.Context, db, query string, pos change.Position, gtid string) (bool, error) {
				dc, err := follow(ctx, db, query, pos, gtid)
				pending = dc
				return dc != nil && err == nil, err
			},
		}, func(ctx context.Context, ev change.Event) error {
			it := item{ev: ev}
			if ev.Kind == change.DDL {
				it.ddl, pending = pending, nil
			}
			select {
			case evs <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	err = r.loop(ctx, evs)
	cancel()
	for range evs { // let the reader see the cancellation and exit
	}
	serr := <-streamErr
	ferr := sink.Flush()
	if errors.Is(ferr, ErrStop) {
		ferr = nil
	}
	switch {
	case errors.Is(err, ErrStop):
		return ferr
	case err != nil:
		return err
	case ctx.Err() != nil, r.done:
		return ferr
	case serr != nil:
		if errors.Is(serr, source.ErrColumnCount) {
			return fmt.Errorf("%w (events decodes with the definitions the source has when it starts, moved on by the DDL it reads: start --from a position after the last change to this table's columns)", serr)
		}
		return serr
	}
	return errors.New("the binlog stream ended unexpectedly")
}

// seed loads the selected tables' current definitions. A table the tracker refuses (no
// primary key and no configured key) is left out with a warning rather than failing the
// whole run.
func seed(ctx context.Context, conn *source.Conn, o Options) (*tracker.Tracker, map[string]bool, error) {
	names, err := conn.SelectedTables(ctx, o.Routes)
	if err != nil {
		return nil, nil, err
	}
	tr := tracker.New(o.Routes, nil)
	skip := map[string]bool{}
	for _, n := range names {
		def, err := conn.LoadTable(ctx, n.Schema, n.Name)
		if err != nil {
			return nil, nil, err
		}
		if def == nil {
			continue
		}
		if err := tr.Put(def); err != nil {
			o.Log.Warn("table left out", "table", n.String(), "error", err)
			skip[n.String()] = true
		}
	}
	return tr, skip, nil
}

// selection is what the decoder sees of the tracker: every configured table except the
// ones seeding left out. --tables is applied to the output, not here, so Seq counts the
// same changes whatever the filter.
type selection struct {
	tr   *tracker.Tracker
	skip map[string]bool // written before the stream starts, then only read
}

func (s *selection) Selected(db, table string) bool {
	return s.tr.Selected(db, table) && !s.skip[db+"."+table]
}
func (s *selection) Lookup(db, table string) *schema.Table { return s.tr.Lookup(db, table) }
func (s *selection) Put(def *schema.Table) error           { return s.tr.Put(def) }

var _ source.Schemas = (*selection)(nil)

// runner turns stream events into records.
type runner struct {
	o     Options
	sink  Sink
	stop  func(pos string) (bool, error) // nil with --follow
	views map[*schema.Table]*View        // definitions are replaced, never changed in place
	done  bool

	txn     int64 // transactions printed
	txnOpen bool  // the current transaction has printed a line
	seq     int   // row changes of the current transaction so far
	lines   int   // lines of the current transaction
}

// item is what the reader hands the runner: an event and, on a DDL event, what the DDL
// follower made of the statement.
type item struct {
	ev  change.Event
	ddl *ddlChange
}

func (r *runner) loop(ctx context.Context, evs <-chan item) error {
	for {
		var it item
		var ok bool
		select {
		case it, ok = <-evs:
		default:
			if err := r.sink.Flush(); err != nil {
				return err
			}
			select {
			case it, ok = <-evs:
			case <-ctx.Done():
				return nil
			}
		}
		if !ok {
			return nil
		}
		if err := r.handle(&it.ev, it.ddl); err != nil || r.done {
			return err
		}
	}
}

func (r *runner) view(t *schema.Table) *View {
	v, ok := r.views[t]
	if !ok {
		v = NewView(t, r.o.Routes.For(t.Schema, t.Name))
		r.views[t] = v
	}
	return v
}

// handle prints one event as the filter says; dc is what the DDL follower made of a DDL
// event's statement.
func (r *runner) handle(ev *change.Event, dc *ddlChange) error {
	f := &r.o.Filter
	switch ev.Kind {
	case change.Insert, change.Update, change.Delete:
		seq := r.seq
		r.seq++
		op := Op(ev.Kind.String())
		if !f.Op(op) || !f.Table(ev.Table.Schema, ev.Table.Name) {
			return nil
		}
		return r.emit(&Record{Op: op, GTID: ev.GTID, Seq: seq, Time: ev.Time, View: r.view(ev.Table), Before: ev.Before, After: ev.After, XA: ev.XA})
	case change.DDL:
		if dc == nil || !f.Op(OpDDL) {
			return nil
		}
		sc := dc.SchemaChange
		rec := &Record{Op: OpDDL, GTID: ev.GTID, Time: ev.Time, Schema: ev.Schema, Query: ev.Query, Dropped: sc.Dropped, Reloaded: dc.Reloaded}
		for _, t := range sc.Tables {
			rec.Tables = append(rec.Tables, r.view(t))
		}
		if !f.ddl(rec.Tables, rec.Dropped) {
			return nil
		}
		return r.emit(rec)
	case change.Commit:
		var err error
		// The decision of an XA transaction is a line of its own: its rows were printed
		// at the PREPARE.
		decision := ev.XA != nil && ev.XA.Op != change.XAPrepare
		if (r.txnOpen || decision) && f.Op(OpCommit) {
			err = r.emit(&Record{Op: OpCommit, GTID: ev.GTID, Time: ev.Time, Pos: ev.Pos.GTID, Lines: r.lines, XA: ev.XA})
		}
		r.txnOpen, r.seq, r.lines = false, 0, 0
		if err != nil || r.stop == nil {
			return err
		}
		r.done, err = r.stop(ev.Pos.GTID)
		return err
	}
	return nil
}

func (r *runner) emit(rec *Record) error {
	if !r.txnOpen {
		r.txn++
		r.txnOpen = true
	}
	rec.Txn = r.txn
	r.lines++
	return r.sink.Put(rec)
}
