package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/replicator/replicator/applier/postgres/pgddl"
	"github.com/replicator/replicator/applier/postgres/pgvalue"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/schema"
)

// storedPlan is a table's snapshot plan as kept in snapshot_tables' history row.
type storedPlan struct {
	Table   *schema.Table `json:"table"`
	Columns []int         `json:"columns"`
}

// LoadProgress implements snapshot.Target.
func (t *Target) LoadProgress(ctx context.Context) (*plan.Progress, error) {
	cp, err := t.state.Checkpoint(ctx)
	if err != nil || cp == nil {
		return nil, err
	}
	prog := &plan.Progress{Position: cp.Position, Complete: cp.Phase == PhaseStreaming, Tables: map[string]*plan.TableProgress{}}
	if prog.Complete {
		return prog, nil
	}
	s := t.state
	// A table copied again after a DDL has a newer definition, stored as of the view it
	// was copied again under: the latest one is the plan, its position the table's From.
	rows, err := t.pool.Query(ctx, `SELECT st.source_table, st.done, st.rows_estimate, h.definition, h.gtid
		FROM `+s.ident("snapshot_tables")+` st CROSS JOIN LATERAL (SELECT definition, gtid FROM `+s.ident("schema_history")+` h
		  WHERE h.name = st.name AND h.source_table = st.source_table ORDER BY seq DESC LIMIT 1) h
		WHERE st.name = $1`, s.name)
	if err != nil {
		return nil, fmt.Errorf("read snapshot progress: %w", err)
	}
	for rows.Next() {
		var name string
		var tp plan.TableProgress
		var def []byte
		var gtid string
		if err := rows.Scan(&name, &tp.Done, &tp.Estimate, &def, &gtid); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read snapshot progress: %w", err)
		}
		var sp storedPlan
		if err := json.Unmarshal(def, &sp); err != nil {
			rows.Close()
			return nil, fmt.Errorf("decode stored definition of %s: %w", name, err)
		}
		tp.Table, tp.Columns, tp.ChunkDone = sp.Table, sp.Columns, map[int]bool{}
		if gtid != cp.Position.GTID {
			tp.From = change.Position{Flavor: cp.Position.Flavor, GTID: gtid}
		}
		prog.Tables[name] = &tp
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	crow, err := t.pool.Query(ctx, `SELECT source_table, chunk, lo, hi, done FROM `+s.ident("snapshot_chunks")+
		` WHERE name = $1 ORDER BY source_table, chunk`, s.name)
	if err != nil {
		return nil, fmt.Errorf("read snapshot chunks: %w", err)
	}
	defer crow.Close()
	for crow.Next() {
		var name string
		var c plan.Chunk
		var done bool
		if err := crow.Scan(&name, &c.ID, &c.Lo, &c.Hi, &done); err != nil {
			return nil, fmt.Errorf("read snapshot chunks: %w", err)
		}
		tp := prog.Tables[name]
		if tp == nil {
			continue
		}
		tp.Chunks = append(tp.Chunks, c)
		if done {
			tp.ChunkDone[c.ID] = true
		}
	}
	return prog, crow.Err()
}

// Start implements snapshot.Target: target tables, plan and position in one transaction,
// so a crash leaves either no snapshot or a complete plan to resume.
func (t *Target) Start(ctx context.Context, pos change.Position, plans []*plan.Table, onExisting string) error {
	tx, err := t.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback(context.Background())
	s := t.state
	// A new snapshot copies every table: online copies of the old one are void.
	if err := t.dropShadows(ctx, tx); err != nil {
		return err
	}
	for _, q := range []string{"snapshot_tables", "snapshot_chunks", "schema_history", "online_copies"} {
		if _, err := tx.Exec(ctx, "DELETE FROM "+s.ident(q)+" WHERE name = $1", s.name); err != nil {
			return fmt.Errorf("reset snapshot state: %w", err)
		}
	}
	if err := t.checkFanInPlans(plans); err != nil {
		return err
	}
	for _, p := range plans {
		id, err := t.tableIdent(p.Table)
		if err != nil {
			return err
		}
		if err := t.prepareTable(ctx, tx, id, p, onExisting, pos.Flavor); err != nil {
			return err
		}
		def, err := json.Marshal(storedPlan{Table: p.Table, Columns: p.Columns})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+s.ident("snapshot_tables")+` (name, source_table, target_table, chunks, rows_estimate)
			VALUES ($1, $2, $3, $4, $5)`, s.name, p.Name(), id.Sanitize(), len(p.Chunks), p.RowsEstimate); err != nil {
			return fmt.Errorf("store snapshot plan: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+s.ident("schema_history")+` (name, gtid, source_table, definition) VALUES ($1, $2, $3, $4)`,
			s.name, pos.GTID, p.Name(), def); err != nil {
			return fmt.Errorf("store schema of %s: %w", p.Name(), err)
		}
		for _, c := range p.Chunks {
			if _, err := tx.Exec(ctx, `INSERT INTO `+s.ident("snapshot_chunks")+` (name, source_table, chunk, lo, hi) VALUES ($1, $2, $3, $4, $5)`,
				s.name, p.Name(), c.ID, c.Lo, c.Hi); err != nil {
				return fmt.Errorf("store snapshot chunks: %w", err)
			}
		}
	}
	if err := s.saveCheckpoint(ctx, tx, Checkpoint{Position: pos, Phase: PhaseSnapshot}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit snapshot plan: %w", err)
	}
	return nil
}

// prepareTable creates the target table, or deals with an existing one by onExisting.
// flavor is the source's, for the column defaults.
func (t *Target) prepareTable(ctx context.Context, tx pgx.Tx, id pgx.Identifier, p *plan.Table, onExisting, flavor string) error {
	if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{id[0]}.Sanitize()); err != nil {
		return fmt.Errorf("create schema %s: %w", id[0], err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", id.Sanitize()).Scan(&exists); err != nil {
		return fmt.Errorf("look up %s: %w", id.Sanitize(), err)
	}
	if exists {
		switch onExisting {
		case "recreate":
			if _, err := tx.Exec(ctx, "DROP TABLE "+id.Sanitize()); err != nil {
				return fmt.Errorf("drop %s: %w", id.Sanitize(), err)
			}
			exists = false
		case "truncate":
			if _, err := tx.Exec(ctx, "TRUNCATE "+id.Sanitize()); err != nil {
				return fmt.Errorf("truncate %s: %w", id.Sanitize(), err)
			}
		default:
			var any bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+id.Sanitize()+")").Scan(&any); err != nil {
				return fmt.Errorf("look into %s: %w", id.Sanitize(), err)
			}
			if any {
				return fmt.Errorf("target table %s already holds rows: empty it, or set snapshot.on_existing = \"truncate\" or \"recreate\"", id.Sanitize())
			}
		}
	}
	if exists {
		return nil
	}
	// The primary key is built in FinishTable, after the rows: COPY into a table without
	// an index is faster, and a chunk never loads twice (it commits with its done mark).
	r, err := t.render(p, flavor)
	if err != nil {
		return err
	}
	t.logNotes(p, r)
	if _, err := tx.Exec(ctx, r.CreateBare()); err != nil {
		return fmt.Errorf("create %s: %w", id.Sanitize(), err)
	}
	return nil
}

// FinishTable implements snapshot.Target: secondary indexes after the rows, as loading
// into an unindexed table is faster.
func (t *Target) FinishTable(ctx context.Context, p *plan.Table) error {
	id, err := t.tableIdent(p.Table)
	if err != nil {
		return err
	}
	r, err := t.render(p, "")
	if err != nil {
		return err
	}
	tx, err := t.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	s := t.state
	var done bool
	if err := tx.QueryRow(ctx, "SELECT done FROM "+s.ident("snapshot_tables")+" WHERE name = $1 AND source_table = $2 FOR UPDATE", s.name, p.Name()).Scan(&done); err != nil {
		return fmt.Errorf("finish %s: %w", p.Name(), err)
	}
	if done {
		return nil
	}
	rt, err := t.route(p.Table)
	if err != nil {
		return err
	}
	fanIn := rt.FanIn() != ""
	if fanIn {
		// Source tables of one fan-in target finish in parallel: the first builds the key
		// and indexes, the others wait for it (the lock conflicts with itself) and find
		// them.
		if _, err := tx.Exec(ctx, "LOCK TABLE "+id.Sanitize()+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("finish %s: lock %s: %w", p.Name(), id.Sanitize(), err)
		}
	}
	var hasKey bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = $1::regclass AND indisprimary)", id.Sanitize()).Scan(&hasKey); err != nil {
		return fmt.Errorf("finish %s: %w", p.Name(), err)
	}
	if q := r.AddPrimaryKey(); !hasKey && q != "" {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("add the primary key of %s: %w", id.Sanitize(), err)
		}
	}
	secondary := r.AddSecondary()
	if fanIn && hasKey {
		// Another source table of the fan-in target finished first and built them.
		secondary = nil
	}
	for _, q := range secondary {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("create index on %s: %s: %w", id.Sanitize(), q, err)
		}
	}
	crashpoint.Hit(crashpoint.SnapshotIndexBuild)
	if _, err := tx.Exec(ctx, "UPDATE "+s.ident("snapshot_tables")+" SET done = true WHERE name = $1 AND source_table = $2", s.name, p.Name()); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Finish implements snapshot.Target.
func (t *Target) Finish(ctx context.Context, pos change.Position) error {
	tx, err := t.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if err := t.state.saveCheckpoint(ctx, tx, Checkpoint{Position: pos, Phase: PhaseStreaming}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// ApplyRows implements snapshot.Target: in one transaction every key is deleted (through
// a staging table and one DELETE ... USING) and the rows are copied in. The rows are
// exactly the keys' rows at one view, so the table is consistent at the commit, where its
// deferred unique constraints are checked.
func (t *Target) ApplyRows(ctx context.Context, p *plan.Table, pos change.Position, keys, rows []change.Row) error {
	id, err := t.tableIdent(p.Table)
	if err != nil {
		return err
	}
	tx, err := t.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	q := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	cols, view, err := t.targetColumns(p)
	if err != nil {
		return err
	}
	keyIdx := p.Table.Key
	if view != nil {
		keyIdx = view.Table.Key
	}
	keyCols := make([]*schema.Column, len(keyIdx))
	conds := make([]string, len(keyIdx))
	for i, k := range keyIdx {
		if view != nil {
			keyCols[i] = cols[k]
		} else {
			keyCols[i] = &p.Table.Columns[k]
		}
		conds[i] = "t." + q(keyCols[i].Name) + " = s." + q(keyCols[i].Name)
	}
	keyList := pgvalue.ColumnList(keyCols, q)
	const stage = "replicator_resolve"
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE "+q(stage)+" ON COMMIT DROP AS SELECT "+keyList+" FROM "+id.Sanitize()+" WITH NO DATA"); err != nil {
		return fmt.Errorf("stage keys of %s: %w", id.Sanitize(), err)
	}
	var buf bytes.Buffer
	var line []byte
	enc := pgvalue.NewEncoder(t.pol, p.Name(), keyCols)
	proj := make(change.Row, len(keyCols))
	for _, r := range keys {
		if view != nil {
			proj = view.Key(r)
		} else {
			for i, k := range p.Table.Key {
				proj[i] = r[k]
			}
		}
		if line, err = enc.AppendRow(line[:0], proj); err != nil {
			return fmt.Errorf("key of %s: %w", p.Name(), err)
		}
		buf.Write(line)
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, &buf, "COPY "+q(stage)+" ("+keyList+") FROM STDIN"); err != nil {
		return fmt.Errorf("stage keys of %s: %w", id.Sanitize(), err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM "+id.Sanitize()+" t USING "+q(stage)+" s WHERE "+strings.Join(conds, " AND ")); err != nil {
		return fmt.Errorf("delete changed rows of %s: %w", id.Sanitize(), err)
	}
	if len(rows) > 0 {
		buf.Reset()
		renc := pgvalue.NewEncoder(t.pol, p.Name(), cols)
		for _, r := range rows {
			if view != nil {
				r = view.Selected(r, change.Origin{GTID: pos.GTID})
			}
			if line, err = renc.AppendRow(line[:0], r); err != nil {
				return fmt.Errorf("row of %s: %w", p.Name(), err)
			}
			buf.Write(line)
		}
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, &buf, "COPY "+id.Sanitize()+" ("+pgvalue.ColumnList(cols, q)+") FROM STDIN"); err != nil {
			return fmt.Errorf("copy rows of %s at GTID %s: %w", id.Sanitize(), pos.GTID, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit rows of %s at GTID %s: %w", id.Sanitize(), pos.GTID, err)
	}
	return nil
}

// RestartTables implements snapshot.Target: in one transaction, each table is dropped and
// created again with its new definition, its chunks replaced and its definition stored as
// of pos, so a kill leaves either the old copy and plan or the new empty ones.
func (t *Target) RestartTables(ctx context.Context, pos change.Position, plans []*plan.Table) error {
	tx, err := t.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	s := t.state
	for _, p := range plans {
		if rt, err := t.route(p.Table); err == nil && rt.FanIn() != "" {
			// The target holds the other source tables' rows, under one definition.
			return fmt.Errorf("%s is merged into %s with other tables (fan-in): %w", p.Name(), rt.TargetName(), plan.ErrCopyAllAgain)
		}
		id, err := t.tableIdent(p.Table)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+id.Sanitize()); err != nil {
			return fmt.Errorf("drop %s to copy it again: %w", id.Sanitize(), err)
		}
		r, err := t.render(p, pos.Flavor)
		if err != nil {
			return err
		}
		t.logNotes(p, r)
		if _, err := tx.Exec(ctx, r.CreateBare()); err != nil {
			return fmt.Errorf("create %s again: %w", id.Sanitize(), err)
		}
		def, err := json.Marshal(storedPlan{Table: p.Table, Columns: p.Columns})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE `+s.ident("snapshot_tables")+` SET chunks = $3, rows_estimate = $4, done = false, target_table = $5
			WHERE name = $1 AND source_table = $2`, s.name, p.Name(), len(p.Chunks), p.RowsEstimate, id.Sanitize()); err != nil {
			return fmt.Errorf("store snapshot plan of %s: %w", p.Name(), err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+s.ident("schema_history")+` (name, gtid, source_table, definition) VALUES ($1, $2, $3, $4)`,
			s.name, pos.GTID, p.Name(), def); err != nil {
			return fmt.Errorf("store schema of %s: %w", p.Name(), err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+s.ident("snapshot_chunks")+` WHERE name = $1 AND source_table = $2`, s.name, p.Name()); err != nil {
			return fmt.Errorf("reset chunks of %s: %w", p.Name(), err)
		}
		for _, c := range p.Chunks {
			if _, err := tx.Exec(ctx, `INSERT INTO `+s.ident("snapshot_chunks")+` (name, source_table, chunk, lo, hi) VALUES ($1, $2, $3, $4, $5)`,
				s.name, p.Name(), c.ID, c.Lo, c.Hi); err != nil {
				return fmt.Errorf("store snapshot chunks of %s: %w", p.Name(), err)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit the new plan of %d tables: %w", len(plans), err)
	}
	return nil
}

// logNotes logs what the rendering of a table left out (as the stream logs its DDL notes).
func (t *Target) logNotes(p *plan.Table, r *pgddl.Rendered) {
	for _, n := range r.Notes {
		t.log.Info("DDL note", "table", p.Name(), "note", n)
	}
}

// snapshotFault explains a target fault (out of disk, a timeout, a lock) that ends a
// snapshot. The snapshot does not retry the chunk: its readers hold one consistent
// snapshot of the source open, which waiting out a full disk would keep open for as long,
// while the chunks already committed are kept, so a restart once the fault is fixed
// resumes at the first chunk not copied. Other errors pass unchanged.
func snapshotFault(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	reason := targetFault(pe)
	if reason == "" {
		return err
	}
	return fault.Describe(fmt.Sprintf("%s (SQLSTATE %s: %s): the snapshot stopped; fix that and start it again: it resumes at the first chunk not copied",
		reason, pe.Code, pe.Message), err)
}
