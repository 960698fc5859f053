package source

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/logging"
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
	// follow it are decoded; it updates Schemas and reports whether a DDL event is sent
	// (false: the statement concerns no selected table). The event follows at once, in
	// the same goroutine, so a consumer passing its own emit function can pair the
	// event with what it made of the statement without any synchronisation.
	DDL func(ctx context.Context, db, query string, pos change.Position, gtid string) (send bool, err error)
}

// Emit receives the decoded events of a stream in order, in the stream's goroutine; an
// error ends the stream with it.
type Emit func(ctx context.Context, ev change.Event) error

// ErrSourceGone marks errors of the connection to the source: the caller reconnects.
var ErrSourceGone = errors.New("source connection lost")

// ErrPositionPurged marks the source's refusal to send the binary log after the
// checkpoint: the files holding it were purged (or the GTID is not in them).
var ErrPositionPurged = errors.New("binary logs after the checkpoint are gone")

// ErrColumnCount marks a row event whose column count is not the tracked definition's:
// the tracker missed a schema change, and no retry decodes the row.
var ErrColumnCount = errors.New("the schema changed in a way the tracker missed; re-snapshot the table")

// Stream reads the binary log from o.From, decodes the selected tables' row events with
// the tracked definitions and sends them to out, each transaction closed by a Commit
// event carrying the position after it. It returns when ctx ends or on an error.
//
// Where a transaction ends comes from the event protocol, not from statement text (see
// decoder): Query events inside a transaction (SAVEPOINT, ROLLBACK TO SAVEPOINT, the
// CREATE of a CREATE TABLE ... SELECT, XA END) do not end it.
func (d *Dialer) Stream(ctx context.Context, o StreamOptions, out chan<- change.Event) error {
	return d.StreamTo(ctx, o, func(ctx context.Context, ev change.Event) error {
		select {
		case out <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// StreamTo is Stream handing each event to emit instead of a channel.
func (d *Dialer) StreamTo(ctx context.Context, o StreamOptions, emit Emit) error {
	pos, err := newPosition(o.From.Flavor, o.From.GTID)
	if err != nil {
		return err
	}
	start := pos.String() // one GTID per MariaDB domain, whatever an older version stored
	gs, err := ParseGTIDSet(o.From.Flavor, start)
	if err != nil {
		return err
	}
	probe, err := d.Dial(ctx) // settles TLS and fails fast with a clear message
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSourceGone, err)
	}
	probe.Close()
	cfg := d.SyncerConfig(o.ServerID, o.From.Flavor, logging.Foreign(o.Log, "go-mysql"))
	cfg.TimestampStringLocation = time.UTC
	cfg.EventCacheCount = 256 // bounds memory between the socket and the decoder
	cfg.DiscardGTIDSet = true // the decoder keeps the position itself
	syncer := replication.NewBinlogSyncer(cfg)
	defer syncer.Close()
	st, err := syncer.StartSyncGTID(gs)
	if err != nil {
		return classifyStartErr(err, start, d.cfg.User)
	}
	dec := &decoder{d: d, o: o, pos: pos}
	wd := newWatchdog(ctx, d.readTimeout())
	defer wd.stop()
	began, seeking := time.Now(), true
	for {
		ev, err := wd.next(st)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, errSilent) {
				return fmt.Errorf("%w: the source sent no binlog event and no heartbeat for %s after position %s (source.binlog_read_timeout; it was asked for a heartbeat every %s)",
					ErrSourceGone, d.readTimeout(), dec.pos.String(), heartbeatPeriod(d.readTimeout()))
			}
			if seeking && timedOut(err) {
				return fmt.Errorf("%w: the source sent nothing for %s while finding the start position %s in its binary log (source.binlog_seek_timeout: raise it when the binlog files are large or the source's disk is slow): %w",
					ErrSourceGone, d.seekTimeout(), start, err)
			}
			return classifyReadErr(err, dec.pos.String(), start)
		}
		if seeking && !fileHeader(ev) {
			seeking = false
			wd.arm()
			// Worth an operator's attention only when the seek was slow (a large binlog);
			// 'events' keeps stderr quiet otherwise.
			level := slog.LevelDebug
			if time.Since(began) >= time.Second {
				level = slog.LevelInfo
			}
			o.Log.Log(ctx, level, "binlog stream at its start position", "gtid", start, "seek", time.Since(began).Round(time.Millisecond).String())
		}
		if err := dec.handle(ctx, ev, emit); err != nil {
			return err
		}
	}
}

// fileHeader reports the events a server sends at the start of each binlog file (and
// MariaDB's Gtid_list at the end of a GTID seek): they come before the start position is
// reached, so they do not end the seek.
func fileHeader(ev *replication.BinlogEvent) bool {
	switch ev.Header.EventType {
	case replication.ROTATE_EVENT, replication.FORMAT_DESCRIPTION_EVENT, replication.MARIADB_GTID_LIST_EVENT,
		replication.MARIADB_BINLOG_CHECKPOINT_EVENT, replication.PREVIOUS_GTIDS_EVENT:
		return true
	}
	return false
}

// timedOut reports a read deadline that passed. go-mysql flattens the network error into
// its own text (errors.Wrapf(ErrBadConn, "... err %v")), so the text is matched too.
func timedOut(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return strings.Contains(err.Error(), "i/o timeout")
}

// errSilent ends a stream that waited longer than the read timeout for its next event.
var errSilent = errors.New("binlog stream silent")

// watchdog bounds the wait for each event once the stream is armed (past the seek). It
// measures only the time spent waiting for the server, not the time the consumer takes
// between events, so backpressure from a slow target never counts as a silent source.
// Its goroutine belongs to the stream and ends with stop.
type watchdog struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	limit   time.Duration
	armed   atomic.Bool
	waiting atomic.Int64 // UnixNano of when the current wait began; 0: not waiting
	wg      sync.WaitGroup
}

func newWatchdog(parent context.Context, limit time.Duration) *watchdog {
	ctx, cancel := context.WithCancelCause(parent)
	w := &watchdog{ctx: ctx, cancel: cancel, limit: limit}
	w.wg.Add(1)
	go w.watch()
	return w
}

func (w *watchdog) watch() {
	defer w.wg.Done()
	tick := time.NewTicker(max(w.limit/8, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case now := <-tick.C:
			if since := w.waiting.Load(); since != 0 && w.armed.Load() && now.Sub(time.Unix(0, since)) > w.limit {
				w.cancel(errSilent)
				return
			}
		}
	}
}

// arm starts bounding the waits: the server has found the start position.
func (w *watchdog) arm() { w.armed.Store(true) }

// next waits for the stream's next event.
func (w *watchdog) next(st *replication.BinlogStreamer) (*replication.BinlogEvent, error) {
	w.waiting.Store(time.Now().UnixNano())
	ev, err := st.GetEvent(w.ctx)
	w.waiting.Store(0)
	if err != nil && w.ctx.Err() != nil {
		if cause := context.Cause(w.ctx); errors.Is(cause, errSilent) {
			return nil, cause
		}
	}
	return ev, err
}

func (w *watchdog) stop() {
	w.cancel(nil)
	w.wg.Wait()
}

// classifyStartErr tells a start position the server refuses (permanent: no retry makes
// it valid) from a connection problem (retried).
func classifyStartErr(err error, start, user string) error {
	// The account just logged in (Dial above), so access denied here is the missing
	// replication privilege, which no retry fixes.
	if perr := classifyBinlogErr(err); errors.Is(perr, ErrNoReplicationPrivilege) {
		return fmt.Errorf("start binlog dump at %s as %q: %w: GRANT REPLICATION SLAVE ON *.* TO the account and run again", start, user, perr)
	}
	var me *mysql.MyError
	if errors.As(err, &me) && !transientServerCode(me.Code) {
		return fmt.Errorf("the source refused the start position %s (error %d: %s): the checkpoint does not name a position of this server's binary log; if the source was switched to a server with another history, take a new snapshot (drop the target's state or set a new state.name, with snapshot.on_existing = \"truncate\"): %w",
			start, me.Code, me.Message, err)
	}
	// go-mysql flattens some server errors of the dump's set-up into its own text
	// (errors.Errorf("...: %v")), so the code is only in the text there.
	if me == nil && strings.Contains(err.Error(), "1236") {
		return classifyStreamErr(err, start, start)
	}
	return fmt.Errorf("%w: start binlog dump at %s: %w", ErrSourceGone, start, err)
}

// transientServerCode lists server errors at dump start that a later attempt may not get.
func transientServerCode(code uint16) bool {
	switch code {
	case mysql.ER_CON_COUNT_ERROR, mysql.ER_TOO_MANY_USER_CONNECTIONS, mysql.ER_SERVER_SHUTDOWN,
		mysql.ER_LOCK_WAIT_TIMEOUT, mysql.ER_LOCK_DEADLOCK, mysql.ER_QUERY_INTERRUPTED,
		mysql.ER_OUT_OF_RESOURCES, mysql.ER_OUTOFMEMORY:
		return true
	}
	return false
}

// classifyStreamErr explains a purged position and marks connection errors retryable.
func classifyStreamErr(err error, at, from string) error {
	return classifyReadErr(err, at, from)
}

// classifyReadErr is classifyStreamErr that also knows events go-mysql cannot decode: they
// fail the same way on every attempt, so they stop the stream instead of being retried as
// a lost connection. (go-mysql may hand over its parse error before events read ahead of
// it, so the position is where the stream was, not the event's own.)
func classifyReadErr(err error, at, from string) error {
	msg := err.Error()
	// go-mysql's decoder reports the type as text only (errors.Errorf("unsupport type in
	// binlog %d")); there is no error type to match.
	if strings.Contains(msg, "unsupport type") {
		return fmt.Errorf("the binary log after position %s holds a column type the binlog decoder cannot read (MariaDB's COMPRESSED columns are one, in any table of the server): retrying cannot help; change the column (ALTER TABLE ... MODIFY without COMPRESSED) or take the writes to it elsewhere, then take a new snapshot if the table is replicated: %w", at, err)
	}
	if purgedPosition(err) {
		return fmt.Errorf("the source no longer has the binary logs after GTID %s (purged?): a new snapshot is needed: set snapshot.on_missing_binlog = \"resnapshot\" to copy every table again online, or drop the target's state schema (or set a new state.name) and run 'replicator run' again with snapshot.on_existing = \"truncate\" (the target tables still hold the old rows): %w: %w", from, ErrPositionPurged, err)
	}
	return fmt.Errorf("%w: read binlog after position %s: %w", ErrSourceGone, at, err)
}

// purgedPosition reports the server's refusal to send the binary log from a position it
// no longer has (ER_MASTER_FATAL_ERROR_READING_BINLOG: purged logs, a GTID not found).
// The dump's answer is a *mysql.MyError; the text is matched only for what go-mysql
// handed over flattened into its own message.
func purgedPosition(err error) bool {
	var me *mysql.MyError
	if errors.As(err, &me) {
		return me.Code == mysql.ER_MASTER_FATAL_ERROR_READING_BINLOG || me.Code == mysql.ER_MASTER_HAS_PURGED_REQUIRED_GTIDS
	}
	msg := err.Error()
	return strings.Contains(msg, "1236") || strings.Contains(msg, "purged") || strings.Contains(msg, "Could not find GTID")
}

// MariaDB GTID event flags (log_event.h) that go-mysql does not name.
const (
	mariaFlagStandalone  = 0x01
	mariaFlagGroupCommit = 0x02
	mariaFlagPreparedXA  = 0x40
	mariaFlagCompletedXA = 0x80
)

// group is the event group (one source transaction) being decoded.
//
// MariaDB says in its GTID event what the group is: FL_STANDALONE groups are one
// statement and end with it (DDL, XA COMMIT / XA ROLLBACK); others end at their Xid event
// (transactional engines), at a COMMIT or ROLLBACK query (non-transactional changes) or,
// with FL_PREPARED_XA, at the XA_PREPARE event. MySQL's GTID event does not: a group
// that starts with BEGIN or XA START ends like MariaDB's transactional groups (XA
// groups at XA_PREPARE, whose one-phase flag makes it a plain commit), a CREATE TABLE
// ... START TRANSACTION (CREATE TABLE ... SELECT, MySQL 8.0.21+) at its Xid, and any
// other group is the one statement that follows the GTID event.
type group struct {
	open       bool
	gtid       string
	standalone bool
	xa         *change.XA // set in an XA PREPARE group: its rows are prepared, not committed
	// the GTID to add to the position at the group's end
	maria    mysql.MariadbGTID
	mysqlSID []byte
	mysqlGNO int64
}

type decoder struct {
	d    *Dialer
	o    StreamOptions
	pos  *position
	grp  group
	when time.Time
	// ends and nulls are decodeRow's scratch, reused from row to row.
	ends  []int
	nulls []bool
}

func (dc *decoder) send(ctx context.Context, out Emit, e change.Event) error {
	return out(ctx, e)
}

func (dc *decoder) handle(ctx context.Context, ev *replication.BinlogEvent, out Emit) error {
	when := time.Unix(int64(ev.Header.Timestamp), 0)
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent:
		dc.grp = group{open: true, gtid: e.GTID.String(), standalone: e.Flags&mariaFlagStandalone != 0, maria: e.GTID}
		if e.Flags&mariaFlagPreparedXA != 0 {
			xid := mariaXID(ev.RawData, e.Flags)
			if xid == "" {
				return fmt.Errorf("transaction %s: XA PREPARE group whose GTID event names no xid (%d bytes)", dc.grp.gtid, len(ev.RawData))
			}
			dc.grp.xa = &change.XA{Op: change.XAPrepare, ID: xid}
		}
		dc.when = when
	case *replication.GTIDEvent:
		dc.grp = group{open: true, gtid: gtidString(e), standalone: true, mysqlSID: e.SID, mysqlGNO: e.GNO}
		dc.when = when
	case *replication.RowsEvent:
		return dc.rows(ctx, ev.Header.EventType, e, when, out)
	case *replication.XIDEvent:
		return dc.end(ctx, out, when, nil)
	case *replication.GenericEvent:
		if ev.Header.EventType == replication.XA_PREPARE_LOG_EVENT {
			onePhase, xid, err := decodeXAPrepare(e.Data)
			if err != nil {
				return fmt.Errorf("transaction %s: %w", dc.grp.gtid, err)
			}
			if onePhase { // MySQL's XA COMMIT ... ONE PHASE: the rows commit here
				return dc.end(ctx, out, when, &change.XA{Op: change.XACommit, ID: xid})
			}
			return dc.end(ctx, out, when, &change.XA{Op: change.XAPrepare, ID: xid})
		}
	case *replication.QueryEvent:
		return dc.query(ctx, e, when, out)
	}
	return nil
}

// query handles a Query event: a transaction's control statement or a statement of its own.
func (dc *decoder) query(ctx context.Context, e *replication.QueryEvent, when time.Time, out Emit) error {
	q := strings.TrimSpace(string(e.Query))
	word, rest := firstWord(q)
	switch word {
	case "BEGIN":
		dc.grp.standalone = false
		return nil
	case "COMMIT":
		return dc.end(ctx, out, when, nil)
	case "ROLLBACK":
		// A rolled-back transaction that changed non-transactional tables is written
		// with those changes (they happened) and ends with ROLLBACK; ROLLBACK TO
		// SAVEPOINT stays inside the transaction.
		if w, r2 := firstWord(rest); w == "TO" || (w == "WORK" && strings.HasPrefix(strings.ToUpper(r2), "TO")) {
			return nil
		}
		return dc.end(ctx, out, when, nil)
	case "SAVEPOINT", "RELEASE":
		return nil
	case "XA":
		return dc.xa(ctx, rest, when, out)
	}
	if !dc.grp.open {
		// A statement outside any group: servers without GTIDs, which Stream cannot
		// position on; nothing to end.
		return nil
	}
	if dc.grp.standalone && dc.o.From.Flavor != MariaDB && endsWithStartTransaction(q) {
		dc.grp.standalone = false // MySQL 8.0.21+ CREATE TABLE ... SELECT: rows follow
	}
	if dc.o.DDL != nil {
		send, err := dc.o.DDL(ctx, string(e.Schema), q, change.Position{Flavor: dc.o.From.Flavor, GTID: dc.pos.String()}, dc.grp.gtid)
		if err != nil {
			return err
		}
		if send {
			if err := dc.send(ctx, out, change.Event{Kind: change.DDL, Schema: string(e.Schema), Query: q, GTID: dc.grp.gtid, Time: when}); err != nil {
				return err
			}
		}
	}
	if dc.grp.standalone {
		return dc.end(ctx, out, when, nil)
	}
	return nil
}

// xa handles XA statements: XA START opens a MySQL XA group (MariaDB flags its GTID
// event instead), XA END is inside the group, XA COMMIT / XA ROLLBACK of a prepared
// transaction are groups of their own.
func (dc *decoder) xa(ctx context.Context, rest string, when time.Time, out Emit) error {
	verb, id := firstWord(rest)
	switch verb {
	case "START", "BEGIN":
		dc.grp.standalone = false
		if dc.grp.xa == nil {
			dc.grp.xa = &change.XA{Op: change.XAPrepare, ID: normalizeXID(id)}
		}
		return nil
	case "COMMIT":
		if strings.HasSuffix(strings.ToUpper(id), "ONE PHASE") {
			// One-phase commit: a plain transaction ending here.
			dc.grp.xa = nil
			return dc.end(ctx, out, when, nil)
		}
		return dc.end(ctx, out, when, &change.XA{Op: change.XACommit, ID: normalizeXID(id)})
	case "ROLLBACK":
		return dc.end(ctx, out, when, &change.XA{Op: change.XARollback, ID: normalizeXID(id)})
	}
	return nil // XA END, XA PREPARE as a statement (the XA_PREPARE event ends the group)
}

// end closes the open group: the position moves past it and a Commit carries it.
func (dc *decoder) end(ctx context.Context, out Emit, when time.Time, xa *change.XA) error {
	if !dc.grp.open {
		return nil
	}
	g := dc.grp
	dc.grp = group{}
	if dc.o.From.Flavor == MariaDB {
		dc.pos.addMariaDB(g.maria)
	} else if err := dc.pos.addMySQL(g.mysqlSID, g.mysqlGNO); err != nil {
		return fmt.Errorf("transaction %s: %w", g.gtid, err)
	}
	if xa != nil && xa.Op == change.XACommit && g.xa != nil {
		// MySQL's one-phase XA: the rows read in this group (marked as a first phase)
		// commit here, like any transaction's.
		xa = nil
	}
	pos := change.Position{Flavor: dc.o.From.Flavor, GTID: dc.pos.String(), Time: when}
	return dc.send(ctx, out, change.Event{Kind: change.Commit, Pos: pos, GTID: g.gtid, Time: when, XA: xa})
}

// firstWord splits s at its first run of spaces, the word upper-cased.
func firstWord(s string) (word, rest string) {
	i := strings.IndexAny(s, " \t\r\n")
	if i < 0 {
		return strings.ToUpper(s), ""
	}
	return strings.ToUpper(s[:i]), strings.TrimSpace(s[i+1:])
}

func endsWithStartTransaction(q string) bool {
	f := strings.Fields(strings.ToUpper(q))
	return len(f) > 2 && f[0] == "CREATE" && f[len(f)-2] == "START" && f[len(f)-1] == "TRANSACTION"
}

func gtidString(e *replication.GTIDEvent) string {
	if s, err := e.GTIDNext(); err == nil && s != nil {
		return s.String()
	}
	return ""
}

func (dc *decoder) rows(ctx context.Context, typ replication.EventType, e *replication.RowsEvent, when time.Time, out Emit) error {
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
			if p, ok := dc.o.Schemas.(provisionalSchemas); ok && errors.Is(err, ErrColumnCount) && p.Provisional(db, name) {
				// Written under an older definition than the source's current one, which
				// the table's online copy took: a DDL between them is still to come and
				// starts the copy again, which reads these rows from the source.
				dc.o.Log.Debug("row of an older definition than the online copy's left to the copy", "table", def.QualifiedName(), "gtid", dc.grp.gtid)
				return nil
			}
			return err
		}
		ev := change.Event{Kind: kind, Table: def, GTID: dc.grp.gtid, Time: when, TxTime: dc.when, XA: dc.grp.xa}
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

// provisionalSchemas is a Schemas that knows definitions taken from the source's
// current schema for an online copy (tracker.Tracker).
type provisionalSchemas interface {
	Provisional(db, table string) bool
}

// loadLive reads a selected table's definition from the source when the tracker has none
// (a table created after the snapshot and before DDL tracking saw it).
func (dc *decoder) loadLive(ctx context.Context, db, name string) (*schema.Table, error) {
	conn, err := dc.d.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSourceGone, err)
	}
	defer conn.Close()
	def, err := conn.LoadTable(ctx, db, name)
	if err != nil {
		return nil, err
	}
	if def == nil {
		return nil, fmt.Errorf("transaction %s: row event for %s.%s, which no longer exists at the source and is not tracked", dc.grp.gtid, db, name)
	}
	if err := dc.o.Schemas.Put(def); err != nil {
		return nil, err
	}
	dc.o.Log.Warn("table definition read from the source's current schema", "table", def.QualifiedName(), "gtid", dc.grp.gtid)
	return def, nil
}

// decodeRow converts one row image into canonical form: one buffer for all values.
func (dc *decoder) decodeRow(def *schema.Table, vals []any) (change.Row, error) {
	if len(vals) != len(def.Columns) {
		return nil, fmt.Errorf("transaction %s: row event for %s has %d columns, the tracked definition %d: %w",
			dc.grp.gtid, def.QualifiedName(), len(vals), len(def.Columns), ErrColumnCount)
	}
	buf := make([]byte, 0, 64*len(vals))
	if cap(dc.ends) < len(vals) {
		dc.ends, dc.nulls = make([]int, len(vals)), make([]bool, len(vals))
	}
	ends, nulls := dc.ends[:len(vals)], dc.nulls[:len(vals)]
	for i, v := range vals {
		var err error
		var null bool
		buf, null, err = AppendBinlogValue(buf, &def.Columns[i], v)
		if err != nil {
			return nil, fmt.Errorf("transaction %s, table %s: %w", dc.grp.gtid, def.QualifiedName(), err)
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

// mariaXID reads the xid that MariaDB 10.5+ writes into the GTID event of an XA group
// (after the flags and the optional commit id: format id, gtrid and bqual lengths, data).
// It returns "" when the event is shorter than that; the XA_PREPARE event names it too.
func mariaXID(raw []byte, flags byte) string {
	const header = replication.EventHeaderSize
	p := header + 8 + 4 + 1
	if flags&mariaFlagGroupCommit != 0 {
		p += 8
	}
	if len(raw) < p+6 {
		return ""
	}
	format := binary.LittleEndian.Uint32(raw[p:])
	gl, bl := int(raw[p+4]), int(raw[p+5])
	p += 6
	if len(raw) < p+gl+bl {
		return ""
	}
	return formatXID(raw[p:p+gl], raw[p+gl:p+gl+bl], format)
}

// decodeXAPrepare reads an XA_PREPARE event's body: one-phase flag, format id, gtrid and
// bqual lengths (4 bytes each), then the data (MariaDB 10.5+ and MySQL 5.7+ alike).
func decodeXAPrepare(b []byte) (onePhase bool, xid string, err error) {
	if len(b) < 13 {
		return false, "", fmt.Errorf("XA_PREPARE event of %d bytes", len(b))
	}
	format := binary.LittleEndian.Uint32(b[1:])
	gl, bl := binary.LittleEndian.Uint32(b[5:]), binary.LittleEndian.Uint32(b[9:])
	if gl > 64 || bl > 64 || len(b) < 13+int(gl)+int(bl) {
		return false, "", fmt.Errorf("XA_PREPARE event with gtrid length %d, bqual length %d in %d bytes", gl, bl, len(b))
	}
	return b[0] != 0, formatXID(b[13:13+gl], b[13+gl:13+gl+bl], format), nil
}

// formatXID prints an xid the way the server writes it in XA statements.
func formatXID(gtrid, bqual []byte, format uint32) string {
	return fmt.Sprintf("X'%x',X'%x',%d", gtrid, bqual, format)
}

// normalizeXID brings an xid from an XA statement to formatXID's form, so the XA COMMIT
// statement and the XA_PREPARE event name one transaction alike. Other spellings (a
// quoted string, no format id) are decoded the way the server reads them.
func normalizeXID(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(strings.ToUpper(s), " ONE PHASE"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	parts, ok := splitXID(s)
	if !ok {
		return s
	}
	var vals [2][]byte
	for i := 0; i < 2 && i < len(parts); i++ {
		v, ok := xidPart(parts[i])
		if !ok {
			return s
		}
		vals[i] = v
	}
	format := uint64(1)
	if len(parts) == 3 {
		f, err := strconv.ParseUint(strings.TrimSpace(parts[2]), 10, 32)
		if err != nil {
			return s
		}
		format = f
	}
	return formatXID(vals[0], vals[1], uint32(format))
}

// splitXID splits "a,b,c" at commas outside quotes.
func splitXID(s string) ([]string, bool) {
	var parts []string
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			if i+1 < len(s) && s[i+1] == quote {
				i++
				continue
			}
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == ',':
			parts = append(parts, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if quote != 0 {
		return nil, false
	}
	parts = append(parts, strings.TrimSpace(s[start:]))
	return parts, len(parts) >= 1 && len(parts) <= 3
}

// xidPart decodes X'hex', 0xhex or a quoted string.
func xidPart(p string) ([]byte, bool) {
	switch {
	case len(p) >= 3 && (p[0] == 'X' || p[0] == 'x') && p[1] == '\'' && p[len(p)-1] == '\'':
		b, err := hex.DecodeString(p[2 : len(p)-1])
		return b, err == nil
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		b, err := hex.DecodeString(p[2:])
		return b, err == nil
	case len(p) >= 2 && (p[0] == '\'' || p[0] == '"') && p[len(p)-1] == p[0]:
		q := string(p[0])
		return []byte(strings.ReplaceAll(p[1:len(p)-1], q+q, q)), true
	}
	return nil, false
}
