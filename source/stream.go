package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/logging"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// Schemas is what the stream needs of the schema tracker.
type Schemas interface {
	Selected(db, table string) bool
	Lookup(db, table string) *schema.Table
	Put(def *schema.Table) error
}

// StreamOptions say where a binlog stream starts and how it decodes.
type StreamOptions struct {
	From     change.Position
	ServerID uint32
	Schemas  Schemas
	Log      *slog.Logger
	// DDL is called for each schema statement, in stream order, before the events that
	// follow it are decoded; it updates Schemas and returns what the DDL event carries
	// (nil: the statement concerns no selected table and no DDL event is sent).
	DDL func(ctx context.Context, db, query string, pos change.Position, gtid string) (any, error)
}

// ErrSourceGone marks errors of the connection to the source: the caller reconnects.
var ErrSourceGone = errors.New("source connection lost")

// Stream reads the binary log from o.From, decodes the selected tables' row events with
// the tracked definitions and sends them to out, each transaction closed by a Commit
// event carrying the GTID set after it. It returns when ctx ends or on an error.
func (d *Dialer) Stream(ctx context.Context, o StreamOptions, out chan<- change.Event) error {
	gs, err := ParseGTIDSet(o.From.Flavor, o.From.GTID)
	if err != nil {
		return err
	}
	probe, err := d.Dial(ctx) // settles TLS and fails fast with a clear message
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSourceGone, err)
	}
	probe.Close()
	cfg := d.SyncerConfig(o.ServerID, o.From.Flavor, logging.Foreign(o.Log, "go-mysql"))
	cfg.TimestampStringLocation = time.UTC
	cfg.EventCacheCount = 256 // bounds memory between the socket and the decoder
	syncer := replication.NewBinlogSyncer(cfg)
	defer syncer.Close()
	st, err := syncer.StartSyncGTID(gs)
	if err != nil {
		// The account just logged in (Dial above), so access denied here is the missing
		// replication privilege, which no retry fixes.
		if perr := classifyBinlogErr(err); errors.Is(perr, ErrNoReplicationPrivilege) {
			return fmt.Errorf("start binlog dump at %s as %q: %w: GRANT REPLICATION SLAVE ON *.* TO the account and run again", o.From.GTID, d.cfg.User, perr)
		}
		return fmt.Errorf("%w: start binlog dump at %s: %v", ErrSourceGone, o.From.GTID, err)
	}
	dec := &decoder{d: d, o: o}
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return classifyStreamErr(err, dec.gtid, o.From.GTID)
		}
		if err := dec.handle(ctx, ev, out); err != nil {
			return err
		}
	}
}

// classifyStreamErr explains a purged position and marks connection errors retryable.
func classifyStreamErr(err error, gtid, from string) error {
	msg := err.Error()
	if strings.Contains(msg, "1236") || strings.Contains(msg, "purged") || strings.Contains(msg, "Could not find GTID") {
		return fmt.Errorf("the source no longer has the binary logs after GTID %s (purged?): a new snapshot is needed: drop the target's state schema (or set a new state.name) and run 'replicator run' again with snapshot.on_existing = \"truncate\" (the target tables still hold the old rows): %v", from, err)
	}
	return fmt.Errorf("%w: read binlog after GTID %s: %v", ErrSourceGone, gtid, err)
}

type decoder struct {
	d    *Dialer
	o    StreamOptions
	gtid string // the transaction being decoded
	when time.Time
	// ends and nulls are decodeRow's scratch, reused from row to row.
	ends  []int
	nulls []bool
}

func (dc *decoder) send(ctx context.Context, out chan<- change.Event, e change.Event) error {
	select {
	case out <- e:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (dc *decoder) handle(ctx context.Context, ev *replication.BinlogEvent, out chan<- change.Event) error {
	when := time.Unix(int64(ev.Header.Timestamp), 0)
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent:
		dc.gtid, dc.when = e.GTID.String(), when
	case *replication.GTIDEvent:
		dc.gtid, dc.when = gtidString(e), when
	case *replication.RowsEvent:
		return dc.rows(ctx, ev.Header.EventType, e, when, out)
	case *replication.XIDEvent:
		if e.GSet == nil {
			return fmt.Errorf("transaction %s: no GTID set after commit (is GTID enabled on the source?)", dc.gtid)
		}
		return dc.send(ctx, out, change.Event{Kind: change.Commit, Pos: change.Position{Flavor: dc.o.From.Flavor, GTID: e.GSet.String(), Time: when}, GTID: dc.gtid, Time: when})
	case *replication.QueryEvent:
		q := strings.TrimSpace(string(e.Query))
		switch strings.ToUpper(q) {
		case "BEGIN":
			return nil
		case "COMMIT": // non-transactional tables end their statement this way
		default:
			if e.GSet == nil {
				return nil
			}
			pos := change.Position{Flavor: dc.o.From.Flavor, GTID: e.GSet.String()}
			var payload any
			if dc.o.DDL != nil {
				var err error
				if payload, err = dc.o.DDL(ctx, string(e.Schema), q, pos, dc.gtid); err != nil {
					return err
				}
			}
			if payload != nil {
				if err := dc.send(ctx, out, change.Event{Kind: change.DDL, Schema: string(e.Schema), Query: q, GTID: dc.gtid, Time: when, DDL: payload}); err != nil {
					return err
				}
			}
		}
		if e.GSet == nil {
			return nil
		}
		return dc.send(ctx, out, change.Event{Kind: change.Commit, Pos: change.Position{Flavor: dc.o.From.Flavor, GTID: e.GSet.String(), Time: when}, GTID: dc.gtid, Time: when})
	}
	return nil
}

func gtidString(e *replication.GTIDEvent) string {
	if s, err := e.GTIDNext(); err == nil && s != nil {
		return s.String()
	}
	return ""
}

func (dc *decoder) rows(ctx context.Context, typ replication.EventType, e *replication.RowsEvent, when time.Time, out chan<- change.Event) error {
	db, name := string(e.Table.Schema), string(e.Table.Table)
	if !dc.o.Schemas.Selected(db, name) {
		return nil
	}
	def := dc.o.Schemas.Lookup(db, name)
	if def == nil {
		var err error
		if def, err = dc.loadLive(ctx, db, name); err != nil {
			return err
		}
	}
	var kind change.Kind
	switch typ {
	case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2, replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1:
		kind = change.Insert
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2, replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1, replication.PARTIAL_UPDATE_ROWS_EVENT:
		kind = change.Update
	case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2, replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1:
		kind = change.Delete
	default:
		return nil
	}
	step := 1
	if kind == change.Update {
		step = 2
	}
	for i := 0; i+step-1 < len(e.Rows); i += step {
		first, err := dc.decodeRow(def, e.Rows[i])
		if err != nil {
			return err
		}
		ev := change.Event{Kind: kind, Table: def, GTID: dc.gtid, Time: when}
		switch kind {
		case change.Insert:
			ev.After = first
		case change.Delete:
			ev.Before = first
		case change.Update:
			ev.Before = first
			if ev.After, err = dc.decodeRow(def, e.Rows[i+1]); err != nil {
				return err
			}
		}
		if err := dc.send(ctx, out, ev); err != nil {
			return err
		}
	}
	return nil
}

// loadLive reads a selected table's definition from the source when the tracker has none
// (a table created after the snapshot and before DDL tracking saw it).
func (dc *decoder) loadLive(ctx context.Context, db, name string) (*schema.Table, error) {
	conn, err := dc.d.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSourceGone, err)
	}
	defer conn.Close()
	def, err := conn.LoadTable(ctx, db, name)
	if err != nil {
		return nil, err
	}
	if def == nil {
		return nil, fmt.Errorf("transaction %s: row event for %s.%s, which no longer exists at the source and is not tracked", dc.gtid, db, name)
	}
	if err := dc.o.Schemas.Put(def); err != nil {
		return nil, err
	}
	dc.o.Log.Warn("table definition read from the source's current schema", "table", def.QualifiedName(), "gtid", dc.gtid)
	return def, nil
}

// decodeRow converts one row image into canonical form: one buffer for all values.
func (dc *decoder) decodeRow(def *schema.Table, vals []any) (change.Row, error) {
	if len(vals) != len(def.Columns) {
		return nil, fmt.Errorf("transaction %s: row event for %s has %d columns, the tracked definition %d: the schema changed in a way the tracker missed; re-snapshot the table",
			dc.gtid, def.QualifiedName(), len(vals), len(def.Columns))
	}
	buf := make([]byte, 0, 64*len(vals))
	if cap(dc.ends) < len(vals) {
		dc.ends, dc.nulls = make([]int, len(vals)), make([]bool, len(vals))
	}
	ends, nulls := dc.ends[:len(vals)], dc.nulls[:len(vals)]
	for i, v := range vals {
		var err error
		var null bool
		buf, null, err = mapping.AppendBinlogValue(buf, &def.Columns[i], v)
		if err != nil {
			return nil, fmt.Errorf("transaction %s, table %s: %w", dc.gtid, def.QualifiedName(), err)
		}
		ends[i], nulls[i] = len(buf), null
	}
	row := make(change.Row, len(vals))
	start := 0
	for i := range vals {
		if !nulls[i] {
			row[i] = buf[start:ends[i]:ends[i]]
			if row[i] == nil {
				row[i] = []byte{}
			}
		}
		start = ends[i]
	}
	return row, nil
}
