package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/replicator/replicator/applier/postgres/pgddl"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/schema"
)

// An online copy (plan.Copy) loads a table again while the stream applies: its rows go
// into a shadow table of the same name in the copy schema (the state schema's name with
// "_copy"), created with the table's key and indexes, so index names and the key
// constraint's name are the live table's own. The stream's changes of the table go to
// the shadow too, and the copy's chunks are written in the stream's batches; the batch
// of its last chunk drops the live table and moves the shadow into its schema, and the
// privileges granted on the live table are granted on the new one, in the same
// transaction: a reader sees the old table or the new one, never a part.

// copySchema is the schema that holds the shadows of the online copies.
func (s *State) copySchema() string { return s.schema + "_copy" }

// RequestCopies stores a request to copy each table ("db.table") online; the running
// stream (or the next one) carries them out. A table already requested or being copied
// is left as it is and returned in pending: the copy under way ends with every row as
// of its end.
func (t *Target) RequestCopies(ctx context.Context, tables []string, reason string) (pending []string, err error) {
	s := t.state
	err = pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		pending = nil
		for _, name := range tables {
			var state string
			err := tx.QueryRow(ctx, `SELECT state FROM `+s.ident("online_copies")+` WHERE name = $1 AND source_table = $2 FOR UPDATE`, s.name, name).Scan(&state)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
			case err != nil:
				return err
			case state == plan.CopyRequested || state == plan.CopyCopying:
				pending = append(pending, name)
				continue
			}
			if _, err := tx.Exec(ctx, s.requestSQL(), s.name, name, plan.CopyRequested, reason); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store the copy requests in %s: %w", s.ident("online_copies"), classify(err))
	}
	return pending, nil
}

// requestCopies stores copy requests in the batch (a DDL that needs the table's values
// again); a copy already requested or under way is requested again, from its start.
func (b *Batch) requestCopies(ctx context.Context, tables []string, reason string) error {
	s := b.t.state
	for _, name := range tables {
		if _, err := b.tx.Exec(ctx, s.requestSQL(), s.name, name, plan.CopyRequested, reason); err != nil {
			return fmt.Errorf("request the online copy of %s: %w", name, classify(err))
		}
		b.t.log.Info("online copy requested", "table", name, "reason", reason)
	}
	if len(tables) > 0 {
		b.forgetCopies()
	}
	return nil
}

// Copies returns every stored online copy: requested, copying, and the last done or
// failed one of each table.
func (t *Target) Copies(ctx context.Context) ([]*plan.Copy, error) {
	return t.state.copies(ctx, t.pool)
}

type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *State) copies(ctx context.Context, q queryer) ([]*plan.Copy, error) {
	rows, err := q.Query(ctx, `SELECT source_table, state, reason, definition, after, rows, estimate, COALESCE(error, ''),
		requested_at, COALESCE(started_at, requested_at), updated_at, in_place, stale FROM `+s.ident("online_copies")+` WHERE name = $1 ORDER BY requested_at, source_table`, s.name)
	if err != nil {
		if missingState(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read the online copies: %w", classify(err))
	}
	defer rows.Close()
	var out []*plan.Copy
	for rows.Next() {
		c := &plan.Copy{}
		var def, after []byte
		if err := rows.Scan(&c.Table, &c.State, &c.Reason, &def, &after, &c.Rows, &c.Estimate, &c.Error, &c.RequestedAt, &c.StartedAt, &c.Updated, &c.InPlace, &c.Stale); err != nil {
			return nil, err
		}
		if def != nil {
			var sp storedPlan
			if err := json.Unmarshal(def, &sp); err != nil {
				return nil, fmt.Errorf("decode the stored definition of the online copy of %s: %w", c.Table, err)
			}
			c.Def = sp.Table
		}
		if after != nil {
			if err := json.Unmarshal(after, &c.After); err != nil {
				return nil, fmt.Errorf("decode the stored progress of the online copy of %s: %w", c.Table, err)
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// copyInfo is what a batch knows of a table's online copy.
type copyInfo struct {
	// def is the definition the copy was started with; nil while it is only requested.
	def *schema.Table
	// inPlace: the target had no table when the copy started, so the copy fills the live
	// table itself (there is nothing to hide) and has no shadow.
	inPlace bool
	// absent: requested, and the target has no table yet (or a stale copy, see Reseed):
	// the stream's changes of it are left out until the copy starts (its chunks read them
	// from the source).
	absent bool
	// stale: requested by Reseed: the live table keeps its old rows, which the stream
	// leaves alone, until the copy swaps in.
	stale bool
}

// copies returns the online copies requested or under way, by source table, loading them
// in the batch when the session does not know them.
func (b *Batch) copies(ctx context.Context) (map[string]*copyInfo, error) {
	if b.sc.copying != nil {
		return b.sc.copying, nil
	}
	all, err := b.t.state.copies(ctx, b.tx)
	if err != nil {
		return nil, err
	}
	m := map[string]*copyInfo{}
	for _, c := range all {
		switch {
		case c.State == plan.CopyCopying && c.Def != nil:
			m[c.Table] = &copyInfo{def: c.Def, inPlace: c.InPlace, stale: c.Stale && !c.InPlace}
		case c.State == plan.CopyRequested && c.Stale:
			m[c.Table] = &copyInfo{absent: true, stale: true}
		case c.State == plan.CopyRequested || c.State == plan.CopyCopying:
			db, table, _ := strings.Cut(c.Table, ".")
			rt := b.t.routes.For(db, table)
			if rt == nil {
				continue
			}
			s, n := rt.PGTarget()
			var exists bool
			if err := b.tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", pgx.Identifier{s, n}.Sanitize()).Scan(&exists); err != nil {
				return nil, fmt.Errorf("look up the target table of %s: %w", c.Table, classify(err))
			}
			if !exists {
				m[c.Table] = &copyInfo{absent: true}
			}
		}
	}
	b.sc.copying = m
	return m, nil
}

// shadowIdent is the shadow of a table's online copy: the live table's name in the copy
// schema.
func (b *Batch) shadowIdent(def *schema.Table) (pgx.Identifier, error) {
	id, err := b.t.tableIdent(def)
	if err != nil {
		return nil, err
	}
	return pgx.Identifier{b.t.state.copySchema(), id[1]}, nil
}

// shadowPlan compiles the statements writing rows decoded with def into the shadow, which
// was created with shadowDef: they are the same definition (a DDL on the table starts its
// copy again with the new one).
func (b *Batch) shadowPlan(ctx context.Context, def, shadowDef *schema.Table) (*tablePlan, error) {
	if p := b.sc.plans[planKey{def: def, shadow: true}]; p != nil {
		return p, nil
	}
	if def != shadowDef && !reflect.DeepEqual(def.Columns, shadowDef.Columns) {
		return nil, fmt.Errorf("the online copy of %s was started with another definition than its rows now have: request it again (replicator resnapshot)", def.QualifiedName())
	}
	id, err := b.shadowIdent(def)
	if err != nil {
		return nil, err
	}
	return b.planFor(ctx, planKey{def: def, shadow: true}, id)
}

// StartCopy starts (or starts again) the online copy of def: an empty shadow with def's
// columns, key and indexes, and the copy marked copying with no chunk done. The stream's
// changes of the table go to the shadow from this batch on. A table the target does not
// hold yet is created (the copy fills it in place) and its definition recorded in the
// schema history.
func (b *Batch) StartCopy(ctx context.Context, def *schema.Table, estimate int64) error {
	if err := b.serialize(ctx); err != nil {
		return err
	}
	if len(def.Key) == 0 {
		return fmt.Errorf("table %s has no primary key: it cannot be copied online; configure a key for it ([[tables]] key) or copy everything again with 'replicator snapshot'", def.QualifiedName())
	}
	cols, r, err := b.t.renderCopy(def)
	if err != nil {
		return err
	}
	shadow, err := b.shadowIdent(def)
	if err != nil {
		return err
	}
	live, err := b.t.tableIdent(def)
	if err != nil {
		return err
	}
	if rt, err := b.t.route(def); err != nil {
		return err
	} else if err := rt.FanInCopyRefusal(); err != nil {
		return err
	}
	var exists bool
	if err := b.tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", live.Sanitize()).Scan(&exists); err != nil {
		return fmt.Errorf("look up %s: %w", live.Sanitize(), classify(err))
	}
	if exists {
		if err := b.t.copyKeepsDeletes(def); err != nil {
			return err
		}
	}
	var stmts []string
	if exists {
		stmts = []string{
			"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{shadow[0]}.Sanitize(),
			"DROP TABLE IF EXISTS " + shadow.Sanitize(),
		}
		// Rendered for the live table, so the names are its own; only the schema differs.
		// The key and unique constraints come at once (the upserts need the key); the
		// other indexes are built when the last chunk lands (FinishCopy), so the copy
		// does not maintain them row by row.
		stmts = append(stmts, inSchema(r.Statements()[:1], live, shadow)...)
	} else {
		stmts = append([]string{"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{live[0]}.Sanitize()}, r.Statements()...)
	}
	for _, q := range stmts {
		if _, err := b.tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("create the table for the online copy of %s (%s): %w", def.QualifiedName(), q, classify(err))
		}
	}
	js, err := json.Marshal(storedPlan{Table: def, Columns: cols})
	if err != nil {
		return err
	}
	s := b.t.state
	if !exists {
		if _, err := b.tx.Exec(ctx, `INSERT INTO `+s.ident("schema_history")+` (name, gtid, source_table, definition) VALUES ($1, '', $2, $3)`,
			s.name, def.QualifiedName(), js); err != nil {
			return fmt.Errorf("record schema of %s: %w", def.QualifiedName(), classify(err))
		}
	}
	if _, err := b.tx.Exec(ctx, `UPDATE `+s.ident("online_copies")+` SET state = $3, definition = $4, after = NULL, rows = 0, estimate = $5,
		error = NULL, started_at = now(), updated_at = now(), in_place = $6 WHERE name = $1 AND source_table = $2`,
		s.name, def.QualifiedName(), plan.CopyCopying, js, estimate, !exists); err != nil {
		return fmt.Errorf("start the online copy of %s: %w", def.QualifiedName(), classify(err))
	}
	b.forgetCopies()
	return nil
}

// forgetCopies makes the next Apply load the copies again (this batch changed them).
func (b *Batch) forgetCopies() {
	b.sc.copying = nil
	for k := range b.sc.plans {
		if k.shadow {
			delete(b.sc.plans, k)
		}
	}
}

// CopyChunk writes rows (full-width rows of def, read from the source) into the shadow of
// def's online copy and records after (the key of the last of them) as its progress; a
// transform's metadata columns show readAt, the GTID set the rows were read at.
func (b *Batch) CopyChunk(ctx context.Context, def *schema.Table, rows []change.Row, after change.Row, readAt string) error {
	if err := b.serialize(ctx); err != nil {
		return err
	}
	copying, err := b.copies(ctx)
	if err != nil {
		return err
	}
	ci := copying[def.QualifiedName()]
	if ci == nil || ci.def == nil {
		return fmt.Errorf("no online copy of %s is under way", def.QualifiedName())
	}
	if len(rows) > 0 {
		var sp *tablePlan
		var err error
		if ci.inPlace {
			sp, err = b.plan(ctx, def)
		} else {
			sp, err = b.shadowPlan(ctx, def, ci.def)
		}
		if err != nil {
			return err
		}
		origins := make([]change.Origin, len(rows))
		for i := range origins {
			origins[i].GTID = readAt
		}
		if err := b.applyTo(ctx, sp, change.TableChanges{Table: def, Upserts: rows, Origins: origins}); err != nil {
			return fmt.Errorf("online copy of %s: %w", def.QualifiedName(), err)
		}
	}
	js, err := json.Marshal(after)
	if err != nil {
		return err
	}
	s := b.t.state
	if _, err := b.tx.Exec(ctx, `UPDATE `+s.ident("online_copies")+` SET after = $3, rows = rows + $4, updated_at = now() WHERE name = $1 AND source_table = $2`,
		s.name, def.QualifiedName(), js, len(rows)); err != nil {
		return fmt.Errorf("record the progress of the online copy of %s: %w", def.QualifiedName(), classify(err))
	}
	return nil
}

// FinishCopy swaps the shadow of def's online copy in for the live table: the live table
// is dropped, the shadow moved into its schema and given the live table's privileges, and
// the copy marked done, in the batch's transaction. A view or another object that depends
// on the live table makes PostgreSQL refuse the drop: the copy fails, the live table stays
// as it was.
func (b *Batch) FinishCopy(ctx context.Context, def *schema.Table) error {
	if err := b.serialize(ctx); err != nil {
		return err
	}
	copying, err := b.copies(ctx)
	if err != nil {
		return err
	}
	if ci := copying[def.QualifiedName()]; ci != nil && ci.inPlace {
		return b.endCopy(ctx, def.QualifiedName(), plan.CopyDone, "")
	}
	live, err := b.t.tableIdent(def)
	if err != nil {
		return err
	}
	shadow, err := b.shadowIdent(def)
	if err != nil {
		return err
	}
	var grants []string
	rows, err := b.tx.Query(ctx, `SELECT a.grantee, a.privilege_type, a.is_grantable FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
		WHERE c.oid = to_regclass($1) AND a.grantee <> c.relowner`, live.Sanitize())
	if err != nil {
		return fmt.Errorf("read the privileges on %s: %w", live.Sanitize(), classify(err))
	}
	type grant struct {
		grantee uint32
		priv    string
		option  bool
	}
	var gs []grant
	for rows.Next() {
		var g grant
		if err := rows.Scan(&g.grantee, &g.priv, &g.option); err != nil {
			rows.Close()
			return err
		}
		gs = append(gs, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the privileges on %s: %w", live.Sanitize(), classify(err))
	}
	for _, g := range gs {
		role := "PUBLIC"
		if g.grantee != 0 {
			var name string
			if err := b.tx.QueryRow(ctx, "SELECT rolname FROM pg_roles WHERE oid = $1", g.grantee).Scan(&name); err != nil {
				return fmt.Errorf("read the privileges on %s: %w", live.Sanitize(), classify(err))
			}
			role = pgx.Identifier{name}.Sanitize()
		}
		q := "GRANT " + g.priv + " ON " + live.Sanitize() + " TO " + role
		if g.option {
			q += " WITH GRANT OPTION"
		}
		grants = append(grants, q)
	}
	_, r, err := b.t.renderCopy(def)
	if err != nil {
		return err
	}
	// An index PrepareCopyIndexes left invalid (a failed CREATE INDEX CONCURRENTLY) would
	// satisfy IF NOT EXISTS below and never be used.
	invalid, err := invalidIndexes(ctx, b.tx, shadow)
	if err != nil {
		return err
	}
	for _, ix := range invalid {
		if _, err := b.tx.Exec(ctx, "DROP INDEX IF EXISTS "+ix); err != nil {
			return fmt.Errorf("drop the invalid index %s of the online copy of %s: %w", ix, def.QualifiedName(), classify(err))
		}
	}
	stmts := append(inSchema(r.Statements()[1:], live, shadow),
		"DROP TABLE IF EXISTS "+live.Sanitize(),
		"ALTER TABLE "+shadow.Sanitize()+" SET SCHEMA "+pgx.Identifier{live[0]}.Sanitize(),
	)
	for _, q := range append(stmts, grants...) {
		if _, err := b.tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("swap the online copy of %s in (%s): %w", def.QualifiedName(), q, classify(err))
		}
	}
	return b.endCopy(ctx, def.QualifiedName(), plan.CopyDone, "")
}

// FailCopy gives up the online copy of table: its shadow is dropped and the copy marked
// failed with why; the live table is left as it is.
func (b *Batch) FailCopy(ctx context.Context, def *schema.Table, why string) error {
	if err := b.serialize(ctx); err != nil {
		return err
	}
	if shadow, err := b.shadowIdent(def); err == nil {
		if _, err := b.tx.Exec(ctx, "DROP TABLE IF EXISTS "+shadow.Sanitize()); err != nil {
			return fmt.Errorf("drop the shadow of %s: %w", def.QualifiedName(), classify(err))
		}
	}
	return b.endCopy(ctx, def.QualifiedName(), plan.CopyFailed, why)
}

func (b *Batch) endCopy(ctx context.Context, table, state, why string) error {
	s := b.t.state
	var e *string
	if why != "" {
		e = &why
	}
	if _, err := b.tx.Exec(ctx, `UPDATE `+s.ident("online_copies")+` SET state = $3, error = $4, updated_at = $5 WHERE name = $1 AND source_table = $2`,
		s.name, table, state, e, time.Now()); err != nil {
		return fmt.Errorf("end the online copy of %s: %w", table, classify(err))
	}
	b.forgetCopies()
	return nil
}

// requestSQL stores a copy request ($1 name, $2 table, $3 the requested state, $4 the
// reason), resetting an earlier copy of the table; a stale copy not swapped in yet stays
// stale (its live table is still the old one).
func (s *State) requestSQL() string {
	return s.requestStaleSQL(false)
}

// requestStaleSQL is requestSQL for a stale copy when stale is true (Reseed).
func (s *State) requestStaleSQL(stale bool) string {
	oc := s.ident("online_copies")
	return `INSERT INTO ` + oc + ` (name, source_table, state, reason, requested_at, updated_at, stale)
		VALUES ($1, $2, $3, $4, now(), now(), ` + fmt.Sprint(stale) + `)
		ON CONFLICT (name, source_table) DO UPDATE SET state = EXCLUDED.state, reason = EXCLUDED.reason, definition = NULL, after = NULL,
		  rows = 0, estimate = 0, error = NULL, requested_at = now(), started_at = NULL, updated_at = now(),
		  stale = EXCLUDED.stale OR (` + oc + `.stale AND ` + oc + `.state IN ('requested', 'copying'))`
}

// Reseed moves on from purged binary logs, in one transaction: pos becomes the
// checkpoint, defs the tables' definitions from pos on, and each table gets a stale copy
// request: the stream leaves the live tables (their old rows) alone until their copies
// swap in.
func (t *Target) Reseed(ctx context.Context, pos change.Position, defs []*schema.Table, reason string) error {
	s := t.state
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		for _, def := range defs {
			js, err := json.Marshal(storedPlan{Table: def})
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+s.ident("schema_history")+` (name, gtid, source_table, definition) VALUES ($1, $2, $3, $4)`,
				s.name, pos.GTID, def.QualifiedName(), js); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, s.requestStaleSQL(true), s.name, def.QualifiedName(), plan.CopyRequested, reason); err != nil {
				return err
			}
		}
		return s.saveCheckpoint(ctx, tx, Checkpoint{Position: pos, Phase: PhaseStreaming})
	})
	if err != nil {
		return fmt.Errorf("move the checkpoint past purged binary logs to %s: %w", pos.GTID, classify(err))
	}
	return nil
}

// renderCopy renders def as its online copy creates it: the route's columns, no
// defaults (the stream's rows carry every value).
func (t *Target) renderCopy(def *schema.Table) ([]int, *pgddl.Rendered, error) {
	rt, err := t.route(def)
	if err != nil {
		return nil, nil, err
	}
	cols, err := rt.Columns(def)
	if err != nil {
		return nil, nil, err
	}
	r, err := t.render(&plan.Table{Table: def, Columns: cols}, "")
	return cols, r, err
}

// inSchema rewrites statements rendered for the live table to act on its shadow.
func inSchema(stmts []string, live, shadow pgx.Identifier) []string {
	out := make([]string, len(stmts))
	for i, q := range stmts {
		out[i] = strings.ReplaceAll(q, live.Sanitize(), shadow.Sanitize())
	}
	return out
}

// missingState reports an error of a read-only target without the state table.
func missingState(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

// dropShadows drops the shadows of the online copies under way (a new snapshot voids
// them).
func (t *Target) dropShadows(ctx context.Context, tx pgx.Tx) error {
	all, err := t.state.copies(ctx, tx)
	if err != nil {
		return err
	}
	for _, c := range all {
		if c.State != plan.CopyCopying || c.InPlace || c.Def == nil {
			continue
		}
		rt := t.routes.For(c.Def.Schema, c.Def.Name)
		if rt == nil {
			continue
		}
		_, n := rt.PGTarget()
		if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{t.state.copySchema(), n}.Sanitize()); err != nil {
			return fmt.Errorf("drop the shadow of the online copy of %s: %w", c.Table, classify(err))
		}
	}
	return nil
}

// invalidIndexes lists the invalid indexes of table (left by a failed CREATE INDEX
// CONCURRENTLY), qualified and quoted.
func invalidIndexes(ctx context.Context, q queryer, table pgx.Identifier) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT n.nspname, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.indrelid = to_regclass($1) AND NOT i.indisvalid`, table.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("look up invalid indexes of %s: %w", table.Sanitize(), classify(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s, n string
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out = append(out, pgx.Identifier{s, n}.Sanitize())
	}
	return out, rows.Err()
}

// copyIndexLockTimeout bounds the waits of PrepareCopyIndexes for locks: a batch that
// drops the shadow (its copy starts again) waits for the build, and the build for it.
const copyIndexLockTimeout = "10s"

// PrepareCopyIndexes builds the secondary indexes of the shadow of def's online copy
// with CREATE INDEX CONCURRENTLY, on a connection of its own: the stream goes on writing
// the shadow meanwhile, and the batch that swaps the copy in finds them built. Nothing is
// done for a copy that fills its table in place (its indexes exist from the start).
func (t *Target) PrepareCopyIndexes(ctx context.Context, def *schema.Table) error {
	all, err := t.state.copies(ctx, t.pool)
	if err != nil {
		return err
	}
	var cp *plan.Copy
	for _, c := range all {
		if c.Table == def.QualifiedName() && c.State == plan.CopyCopying {
			cp = c
		}
	}
	if cp == nil || cp.InPlace || cp.Def == nil {
		return nil
	}
	_, r, err := t.renderCopy(cp.Def)
	if err != nil {
		return err
	}
	live, err := t.tableIdent(cp.Def)
	if err != nil {
		return err
	}
	shadow := pgx.Identifier{t.state.copySchema(), live[1]}
	conn, err := t.pool.Acquire(ctx)
	if err != nil {
		return classify(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET lock_timeout = '"+copyIndexLockTimeout+"'"); err != nil {
		return classify(err)
	}
	defer func() {
		// A pooled connection goes back as it came.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "RESET lock_timeout")
	}()
	invalid, err := invalidIndexes(ctx, conn, shadow)
	if err != nil {
		return err
	}
	for _, ix := range invalid {
		if _, err := conn.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+ix); err != nil {
			return fmt.Errorf("drop the invalid index %s: %w", ix, classify(err))
		}
	}
	for _, q := range inSchema(r.Statements()[1:], live, shadow) {
		q, ok := strings.CutPrefix(q, "CREATE INDEX IF NOT EXISTS ")
		if !ok {
			continue
		}
		q = "CREATE INDEX CONCURRENTLY IF NOT EXISTS " + q
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, classify(err))
		}
	}
	return nil
}
