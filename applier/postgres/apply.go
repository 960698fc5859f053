package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/replicator/replicator/applier/postgres/pgvalue"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/transform"
)

// tablePlan is how one table version is written: compiled once, used for every batch.
type tablePlan struct {
	id     pgx.Identifier
	cols   []*schema.Column // replicated columns, in target order
	colIdx []int            // their indexes in the source row
	keyIdx []int            // key column indexes in the source row
	// view is the rule's target view of the definition; cols are its columns. identity
	// marks a view without transforms, whose rows are projections by colIdx and keyIdx.
	view      *transform.View
	identity  bool
	upEnc     *pgvalue.Encoder
	keyEnc    *pgvalue.Encoder
	stageUp   string
	stageDel  string
	upsertSQL string
	deleteSQL string
	copyUp    string
	copyDel   string
	// keyless marks a table without a key: its changes come as ordered RowOps.
	keyless bool
	// markSQL and copyMark mark soft-deleted rows (deletes = "soft", see deletes.go);
	// empty for other tables.
	markSQL, copyMark string
}

// streamConn is the one connection streaming applies through; staging tables are
// session-local, so they live and die with it.
type streamConn struct {
	mu     sync.Mutex
	conn   *pgx.Conn
	plans  map[planKey]*tablePlan
	staged map[string]bool // staging tables created in this session
	// copying holds, by source table, the definition of each table whose online copy is
	// loading (see copy.go): its changes go to the shadow too. Loaded in the batch that
	// first needs it, and again after a rollback (a rolled-back batch may have started or
	// swapped a copy).
	copying map[string]*copyInfo
	seq     int
	// copyBuf holds one staging COPY's rows; reused, as batches follow each other.
	copyBuf bytes.Buffer
	// base is the checkpoint the open batch started from (set by Floor and Commit): the
	// lanes record how far past it their shares reach. "" keeps the batch on one
	// connection.
	base string
}

// Begin opens a streaming batch (the pipeline's Applier, through pipeline.ApplierOf): a
// transaction on the one streaming connection, which it holds until Commit or Rollback.
func (t *Target) Begin(ctx context.Context) (*Batch, error) {
	sc := &t.stream
	sc.mu.Lock()
	if sc.conn == nil || sc.conn.IsClosed() {
		conn, err := Connect(ctx, t.cfg.Target.Postgres.URL)
		if err != nil {
			sc.mu.Unlock()
			// The cause stays in the chain: a refused login is recognisable (fault.ErrAccessDenied).
			return nil, fault.Transient(err)
		}
		if err := boundLockWait(ctx, conn); err != nil {
			conn.Close(context.Background())
			sc.mu.Unlock()
			return nil, classify(err)
		}
		sc.conn, sc.plans, sc.staged, sc.copying = conn, map[planKey]*tablePlan{}, map[string]bool{}, nil
	}
	tx, err := sc.conn.Begin(ctx)
	if err != nil {
		sc.conn.Close(context.Background())
		sc.conn = nil
		sc.mu.Unlock()
		return nil, classify(err)
	}
	return &Batch{t: t, sc: sc, tx: tx}, nil
}

// DefaultLockTimeout bounds how long a streaming batch waits for a lock another session
// holds on a target table, when the target account, database or URL sets no lock_timeout.
const DefaultLockTimeout = "30s"

// boundLockWait gives the streaming session a lock_timeout when it has none: a batch
// waiting without end behind another session's lock would show nothing in 'replicator
// status' but a growing lag, while one that times out fails transient with SQLSTATE 55P03
// named in the last error and is applied again from the checkpoint after a pause.
func boundLockWait(ctx context.Context, conn *pgx.Conn) error {
	var cur string
	if err := conn.QueryRow(ctx, "SELECT current_setting('lock_timeout')").Scan(&cur); err != nil {
		return fmt.Errorf("read lock_timeout: %w", err)
	}
	if cur != "0" {
		return nil
	}
	if _, err := conn.Exec(ctx, "SET lock_timeout = '"+DefaultLockTimeout+"'"); err != nil {
		return fmt.Errorf("set lock_timeout: %w", err)
	}
	return nil
}

// Batch is one open PostgreSQL transaction of the streaming phase (the pipeline's Tx).
type Batch struct {
	t   *Target
	sc  *streamConn
	tx  pgx.Tx
	buf []byte
	// fkTime is the commit time of the foreign key action being applied (a cascaded
	// soft delete stores it).
	fkTime time.Time
	// lanes hold the batch's shares on the extra connections (parallel.go); serial is
	// set once a step other than plain row changes ran, and reach is Reach's count.
	lanes  []*Batch
	serial bool
	reach  int
	// assign is the share each target table goes to in this batch (-1: split by key),
	// load the rows each share got (see spread).
	assign map[string]int
	load   []int
}

func (b *Batch) done() { b.sc.mu.Unlock() }

// Apply implements pipeline.Tx: per table, the deleted keys go through a staging table into
// one DELETE ... USING, and the upserted rows through a staging COPY into one INSERT ...
// ON CONFLICT DO UPDATE. Deletes go first, so a key that moved is free for its new row.
func (b *Batch) Apply(ctx context.Context, changes []change.TableChanges) error {
	copying, err := b.copies(ctx)
	if err != nil {
		return err
	}
	if b.parallel() {
		shares, rest := b.spread(changes, copying)
		if err := b.applyShares(ctx, shares); err != nil {
			return err
		}
		changes = rest
	}
	for _, tc := range changes {
		ci := copying[tc.Table.QualifiedName()]
		if ci != nil && ci.absent {
			continue // a table whose first copy has not started: its chunks will hold these rows
		}
		if ci == nil || !ci.stale {
			p, err := b.plan(ctx, tc.Table)
			if err != nil {
				return err
			}
			if err := b.applyTo(ctx, p, tc); err != nil {
				return err
			}
		}
		if ci != nil && !ci.inPlace {
			sp, err := b.shadowPlan(ctx, tc.Table, ci.def)
			if err != nil {
				return err
			}
			if err := b.applyTo(ctx, sp, tc); err != nil {
				return fmt.Errorf("online copy of %s: %w", tc.Table.QualifiedName(), err)
			}
		}
	}
	return nil
}

// applyTo writes one table's folded changes through the plan p.
func (b *Batch) applyTo(ctx context.Context, p *tablePlan, tc change.TableChanges) error {
	if len(tc.Ops) > 0 {
		if err := b.applyOps(ctx, p, tc.Table, tc.Ops); err != nil {
			return err
		}
	}
	if len(tc.Deletes) > 0 {
		if err := b.copyRows(ctx, p.copyDel, p.keyEnc, len(tc.Deletes), func(i int, proj change.Row) change.Row {
			return p.key(tc.Deletes[i], proj)
		}); err != nil {
			return fmt.Errorf("delete from %s: %w", p.id.Sanitize(), err)
		}
		if _, err := b.tx.Exec(ctx, p.deleteSQL); err != nil {
			return fmt.Errorf("delete from %s: %w", p.id.Sanitize(), classify(err))
		}
	}
	// A soft delete writes the row's last image, then marks it (below).
	if n := len(tc.Upserts) + len(tc.Marked); n > 0 {
		if err := b.copyRows(ctx, p.copyUp, p.upEnc, n, func(i int, proj change.Row) change.Row {
			if i >= len(tc.Upserts) {
				m := tc.Marked[i-len(tc.Upserts)]
				return p.row(m.Row, change.Origin{GTID: m.GTID, Time: m.At}, proj)
			}
			var o change.Origin
			if i < len(tc.Origins) {
				o = tc.Origins[i]
			}
			return p.row(tc.Upserts[i], o, proj)
		}); err != nil {
			return fmt.Errorf("upsert into %s: %w", p.id.Sanitize(), err)
		}
		if _, err := b.tx.Exec(ctx, p.upsertSQL); err != nil {
			return fmt.Errorf("upsert into %s: %w", p.id.Sanitize(), classify(err))
		}
	}
	if len(tc.Marked) > 0 {
		if err := b.markRows(ctx, p, tc.Marked); err != nil {
			return fmt.Errorf("mark deleted rows of %s: %w", p.id.Sanitize(), err)
		}
	}
	return nil
}

// copyRows streams n rows into a staging table with COPY: row(i, proj) gives the i-th,
// made in proj when it is a projection (proj has room for a row of the plan).
func (b *Batch) copyRows(ctx context.Context, copySQL string, enc *pgvalue.Encoder, n int, row func(i int, proj change.Row) change.Row) error {
	buf := &b.sc.copyBuf
	buf.Reset()
	proj := make(change.Row, enc.Columns())
	line := b.buf[:0]
	for i := range n {
		var err error
		if line, err = enc.AppendRow(line[:0], row(i, proj)); err != nil {
			return err
		}
		buf.Write(line)
	}
	b.buf = line
	if _, err := b.sc.conn.PgConn().CopyFrom(ctx, buf, copySQL); err != nil {
		return classify(err)
	}
	return nil
}

// planKey names a compiled plan: a table version, written to its live table or to the
// shadow of its online copy.
type planKey struct {
	def    *schema.Table
	shadow bool
}

// plan compiles (once per table version and session) the statements for a table, creating
// its staging tables.
func (b *Batch) plan(ctx context.Context, def *schema.Table) (*tablePlan, error) {
	id, err := b.t.tableIdent(def)
	if err != nil {
		return nil, err
	}
	return b.planFor(ctx, planKey{def: def}, id)
}

// planFor compiles the statements writing def's rows into the table id.
func (b *Batch) planFor(ctx context.Context, key planKey, id pgx.Identifier) (*tablePlan, error) {
	def := key.def
	if p := b.sc.plans[key]; p != nil {
		return p, nil
	}
	rt, err := b.t.route(def)
	if err != nil {
		return nil, err
	}
	colIdx, err := rt.Columns(def)
	if err != nil {
		return nil, err
	}
	view, err := rt.View(def)
	if err != nil {
		return nil, err
	}
	p := &tablePlan{id: id, colIdx: colIdx, keyIdx: def.Key, keyless: len(def.Key) == 0, view: view, identity: view.Identity()}
	for i := range view.Table.Columns {
		p.cols = append(p.cols, &view.Table.Columns[i])
	}
	if p.keyless {
		p.upEnc = pgvalue.NewEncoder(b.t.pol, def.QualifiedName(), p.cols)
		b.sc.plans[key] = p
		return p, nil
	}
	var keyCols []*schema.Column
	for _, k := range view.Table.Key {
		keyCols = append(keyCols, p.cols[k])
	}
	p.upEnc, p.keyEnc = pgvalue.NewEncoder(b.t.pol, def.QualifiedName(), p.cols), pgvalue.NewEncoder(b.t.pol, def.QualifiedName(), keyCols)
	b.sc.seq++
	p.stageUp = fmt.Sprintf("replicator_up_%d", b.sc.seq)
	p.stageDel = fmt.Sprintf("replicator_del_%d", b.sc.seq)
	q := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	all := pgvalue.ColumnList(p.cols, q)
	keys := pgvalue.ColumnList(keyCols, q)
	var sets, conds []string
	for _, c := range p.cols {
		isKey := false
		for _, k := range keyCols {
			isKey = isKey || k == c
		}
		if !isKey {
			sets = append(sets, q(c.Name)+" = EXCLUDED."+q(c.Name))
		}
	}
	for _, k := range keyCols {
		conds = append(conds, "t."+q(k.Name)+" = s."+q(k.Name))
	}
	soft := rt.Deletes() == config.DeletesSoft
	if soft {
		// A write of a key clears its deleted mark (a re-insert after a soft delete).
		sets = append(sets, q(config.MarkerDeleted)+" = false", q(config.MarkerDeletedAt)+" = NULL")
	}
	onConflict := "DO NOTHING"
	if len(sets) > 0 {
		onConflict = "DO UPDATE SET " + strings.Join(sets, ", ")
	}
	p.upsertSQL = fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s ON CONFLICT (%s) %s; TRUNCATE %s",
		id.Sanitize(), all, all, q(p.stageUp), keys, onConflict, q(p.stageUp))
	p.deleteSQL = fmt.Sprintf("DELETE FROM %s t USING %s s WHERE %s; TRUNCATE %s",
		id.Sanitize(), q(p.stageDel), strings.Join(conds, " AND "), q(p.stageDel))
	p.copyUp = fmt.Sprintf("COPY %s (%s) FROM STDIN", q(p.stageUp), all)
	p.copyDel = fmt.Sprintf("COPY %s (%s) FROM STDIN", q(p.stageDel), keys)
	stmts := []string{
		fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT %s FROM %s WITH NO DATA", q(p.stageUp), all, id.Sanitize()),
		fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT %s FROM %s WITH NO DATA", q(p.stageDel), keys, id.Sanitize()),
	}
	if soft {
		stmts = append([]string{addMarkers(id)}, stmts...)
		stmts = append(stmts, p.softPlan(q, keys, conds)...)
	}
	for _, stmt := range stmts {
		if _, err := b.tx.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("prepare staging for %s: %w", id.Sanitize(), classify(err))
		}
	}
	b.sc.plans[key] = p
	return p, nil
}

// Commit implements pipeline.Tx.
func (b *Batch) Commit(ctx context.Context, pos change.Position) error {
	defer b.done()
	if err := b.commitLanes(ctx); err != nil {
		b.abort()
		return err
	}
	if err := b.t.state.saveCheckpoint(ctx, b.tx, Checkpoint{Position: pos, Phase: PhaseStreaming}); err != nil {
		b.abort()
		return classify(err)
	}
	if err := b.tx.Commit(ctx); err != nil {
		b.abort()
		return classify(err)
	}
	if b.sc.base != "" {
		b.sc.base = pos.GTID
	}
	return nil
}

// Rollback implements pipeline.Tx.
func (b *Batch) Rollback(ctx context.Context) {
	defer b.done()
	b.abort()
}

// abort rolls back; staging tables created in the batch are gone with it, so the session's
// compiled plans are dropped too.
func (b *Batch) abort() {
	b.rollbackLanes()
	_ = b.tx.Rollback(context.Background())
	b.sc.plans, b.sc.staged, b.sc.copying = map[planKey]*tablePlan{}, map[string]bool{}, nil
	if b.sc.conn != nil && b.sc.conn.IsClosed() {
		b.sc.conn = nil
	}
}

// classify marks connection-level failures and target faults that clear by themselves
// (out of disk, a statement timeout, a lock held by another session) transient;
// everything else (constraint violations, bad values) is permanent and stops the stream.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "57P"), pe.Code == "53300":
			return fault.Transient(err)
		}
		if reason := targetFault(pe); reason != "" {
			return fault.Describe(fmt.Sprintf("%s (SQLSTATE %s: %s)", reason, pe.Code, pe.Message), err, fault.ErrTransient)
		}
		msg := pe.Message
		if pe.Detail != "" {
			msg += " (" + pe.Detail + ")"
		}
		if pe.Code == "42501" { // insufficient_privilege: a revoked grant, fixed by an administrator
			return fault.Describe(fmt.Sprintf("PostgreSQL refused the change: %s [SQLSTATE %s]: %v: grant the target account the privilege back (see the README's target grants)", msg, pe.Code, fault.ErrAccessDenied), err, fault.ErrAccessDenied)
		}
		return fault.Describe(fmt.Sprintf("PostgreSQL rejected the change: %s [SQLSTATE %s]", msg, pe.Code), err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, syscall.ECONNREFUSED) {
		return fault.Transient(err)
	}
	return err
}

// targetFault names the target-side conditions that pass without a change to the data or
// the configuration, so the batch is applied again from the checkpoint once they do: the
// text says what an operator sees and can do. "" for any other SQLSTATE.
func targetFault(pe *pgconn.PgError) string {
	switch pe.Code {
	case "53100": // disk_full
		return "target out of disk space: free space on the disk of the table's tablespace"
	case "53200": // out_of_memory
		return "target out of memory"
	case "57014": // query_canceled: statement_timeout, or pg_cancel_backend
		return "target statement cancelled (a statement_timeout shorter than the batch, or an administrator)"
	case "55P03": // lock_not_available: lock_timeout
		return "target table locked by another session (lock_timeout passed)"
	case "40P01": // deadlock_detected
		return "target deadlock with another session"
	case "40001": // serialization_failure
		return "target serialization failure with another session"
	}
	if strings.HasPrefix(pe.Code, "53") { // insufficient resources of another kind
		return "target out of resources"
	}
	return ""
}

// row returns the target row of the full source row r written by transaction o: r's
// travelling columns projected into proj, or the view's row.
func (p *tablePlan) row(r change.Row, o change.Origin, proj change.Row) change.Row {
	if !p.identity {
		return p.view.Row(r, o)
	}
	proj = proj[:len(p.colIdx)]
	for i, c := range p.colIdx {
		if c < len(r) {
			proj[i] = r[c]
		} else {
			proj[i] = nil
		}
	}
	return proj
}

// key returns the target key of the source row r (a full row or one with its key
// columns), projected into proj unless the view hashes it.
func (p *tablePlan) key(r change.Row, proj change.Row) change.Row {
	if !p.identity {
		return p.view.Key(r)
	}
	proj = proj[:len(p.keyIdx)]
	for i, c := range p.keyIdx {
		proj[i] = r[c]
	}
	return proj
}
