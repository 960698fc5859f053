package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/applier/postgres/pgddl"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/schema"
)

// resolve names the PostgreSQL target of a source table, or, for table "", the schema that
// holds exactly one source database (only when the rule's target schema is per database).
func (t *Target) resolve(db, table string) (pgddl.PGTarget, bool) {
	if table == "" {
		s, ok := t.routes.PGSchema(db)
		return pgddl.PGTarget{Schema: s}, ok
	}
	rt := t.routes.For(db, table)
	if rt == nil {
		return pgddl.PGTarget{}, false
	}
	s, n := rt.PGTarget()
	// A fan-in target cannot be copied again for one source table (see Target.copyRefusal):
	// a column whose existing values the source computes is refused instead.
	target := pgddl.PGTarget{Schema: s, Table: n, Column: rt.Replicates, Key: rt.Key(), KeylessIndex: rt.KeylessIndex(), Backfill: rt.FanIn() == ""}
	if tr := rt.Transforms(); tr != nil {
		// The translator sees the target's side (transformedChange): its column names
		// are target names.
		target.Column = func(name string) bool { return tr.Added(name) || rt.Replicates(tr.SourceName(name)) }
		target.Key, target.KeylessIndex = tr.TargetNames(rt.Key()), tr.TargetNames(rt.KeylessIndex())
		if src := tr.Source(); src != "" && len(target.Key) > 0 {
			// The view's key leads with the source column: so does the configured one.
			target.Key = append([]string{src}, target.Key...)
		}
	}
	return target, true
}

// translate is pgddl.TranslatePG of a change over the target's side of the tables whose
// rules transform columns: an ALTER TABLE's clauses mapped onto the target's columns
// (transform.Rules.MapAlter, which refuses a RENAME COLUMN of a renamed or hashed column),
// a CREATE TABLE's definition replaced by its view, and the definitions before the change
// by their views.
func (t *Target) translate(ch ddl.Change, before ddl.Tables) (pgddl.PGPlan, error) {
	if plan, done, err := t.fanIn(ch, before); done || err != nil {
		return plan, err
	}
	ch, err := t.transformedChange(ch)
	if err != nil {
		return pgddl.PGPlan{}, err
	}
	return pgddl.TranslatePG(ch, viewTables{before, t}, t.resolve, t.pol)
}

func (t *Target) transformedChange(ch ddl.Change) (ddl.Change, error) {
	switch c := ch.(type) {
	case *ddl.AlterTable:
		rt := t.routes.For(c.Name.Schema, c.Name.Name)
		if rt == nil || rt.Transforms() == nil {
			return ch, nil
		}
		specs, err := rt.Transforms().MapAlter(c.Name.String(), c.Specs)
		if err != nil {
			return nil, err
		}
		m := *c
		m.Specs = specs
		return &m, nil
	case *ddl.CreateTable:
		rt := t.routes.For(c.Table.Schema, c.Table.Name)
		if rt == nil || rt.Transforms() == nil {
			return ch, nil
		}
		v, err := rt.View(c.Table)
		if err != nil {
			return nil, err
		}
		m := *c
		m.Table = v.Table
		if c.Defaults != nil {
			// Hashed and metadata columns take no default: every row written carries them.
			m.Defaults = make([]ddl.Default, len(v.Columns))
			for i, vc := range v.Columns {
				if vc.Meta == 0 && !vc.Hashed && vc.Source < len(c.Defaults) {
					m.Defaults[i] = c.Defaults[vc.Source]
				}
			}
		}
		return &m, nil
	}
	return ch, nil
}

// viewTables gives the target views of the tracked definitions of tables whose rules
// transform columns, and the definitions themselves otherwise.
type viewTables struct {
	ddl.Tables
	t *Target
}

// Lookup implements ddl.Tables.
func (v viewTables) Lookup(db, name string) *schema.Table {
	def := v.Tables.Lookup(db, name)
	if def == nil {
		return nil
	}
	rt := v.t.routes.For(db, name)
	if rt == nil || rt.Transforms() == nil {
		return def
	}
	view, err := rt.View(def)
	if err != nil {
		// The row changes of the table stop on the same error (plan): the translator
		// works on the source's definition meanwhile.
		return def
	}
	return view.Table
}

// CheckDDL reports a change that pgddl.TranslatePG cannot translate with the configured
// table routing (the pipeline's Options.CheckDDL): the stream's reader applies
// [ddl] on_error to it before it moves past the statement.
func (t *Target) CheckDDL(ch ddl.Change, before ddl.Tables) error {
	_, err := t.translate(ch, before)
	return err
}

// ApplySchema implements pipeline.Tx: each step translated with pgddl.TranslatePG and the
// configured table routing, against the definitions before it, then the statements and
// the new definitions in the schema history, in the batch transaction that moves the
// checkpoint past them. Every step is translated before anything runs.
func (b *Batch) ApplySchema(ctx context.Context, sc *ddl.SchemaChange) error {
	if err := b.serialize(ctx); err != nil {
		return err
	}
	plans := make([]pgddl.PGPlan, 0, len(sc.Steps))
	for i, st := range sc.Steps {
		plan, err := b.t.translate(st.Change, st.Before)
		if err != nil {
			return fmt.Errorf("translate change %d of the statement: %w", i+1, err)
		}
		plans = append(plans, plan)
	}
	// A statement may create a table whose first copy waits, or drop one being copied.
	b.forgetCopies()
	if err := b.ensureSchemas(ctx, sc); err != nil {
		return err
	}
	if err := b.createdByStream(ctx, sc); err != nil {
		return err
	}
	for _, plan := range plans {
		for _, stmt := range plan.Statements {
			if _, err := b.tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("run %s: %w", stmt, classify(err))
			}
		}
		for _, n := range plan.Notes {
			b.t.log.Info("DDL note", "gtid", sc.GTID, "note", n)
		}
		if err := b.requestCopies(ctx, plan.Backfill, "DDL at GTID "+sc.GTID+": a column whose existing values the source computes"); err != nil {
			return err
		}
	}
	s := b.t.state
	for _, def := range sc.Tables {
		js, err := json.Marshal(storedPlan{Table: def})
		if err != nil {
			return err
		}
		if _, err := b.tx.Exec(ctx, `INSERT INTO `+s.ident("schema_history")+` (name, gtid, source_table, definition) VALUES ($1, $2, $3, $4)`,
			s.name, sc.GTID, def.QualifiedName(), js); err != nil {
			return fmt.Errorf("record schema of %s: %w", def.QualifiedName(), classify(err))
		}
	}
	for _, name := range sc.Dropped {
		if _, err := b.tx.Exec(ctx, `INSERT INTO `+s.ident("schema_history")+` (name, gtid, source_table, definition) VALUES ($1, $2, $3, NULL)`,
			s.name, sc.GTID, name); err != nil {
			return fmt.Errorf("record drop of %s: %w", name, classify(err))
		}
	}
	return nil
}

// createdByStream ends the copy requests of the tables a statement creates that have not
// started: a table the target lacked at 'run' start whose CREATE TABLE the stream reads
// gets its rows from the binary log after it.
func (b *Batch) createdByStream(ctx context.Context, sc *ddl.SchemaChange) error {
	s := b.t.state
	for _, st := range sc.Steps {
		var n string
		switch c := st.Change.(type) {
		case *ddl.CreateTable:
			n = c.Table.QualifiedName()
		case *ddl.CreateTableLike:
			n = c.Name.String()
		default:
			continue
		}
		if _, err := b.tx.Exec(ctx, `UPDATE `+s.ident("online_copies")+` SET state = $3, reason = reason || $4, updated_at = now()
			WHERE name = $1 AND source_table = $2 AND state = $5`,
			s.name, n, plan.CopyDone, "; not needed: the stream created the table (GTID "+sc.GTID+")", plan.CopyRequested); err != nil {
			return fmt.Errorf("end the copy request of %s: %w", n, classify(err))
		}
	}
	return nil
}

// ensureSchemas creates the PostgreSQL schema of a table a statement creates when it does
// not exist: the snapshot creates the schemas of the tables it copies, and the first table
// of a database may come later. Only a missing schema is created, so a target account
// without CREATE on the database is not asked for it.
func (b *Batch) ensureSchemas(ctx context.Context, sc *ddl.SchemaChange) error {
	for _, st := range sc.Steps {
		var n ddl.TableName
		switch c := st.Change.(type) {
		case *ddl.CreateTable:
			n = ddl.TableName{Schema: c.Table.Schema, Name: c.Table.Name}
		case *ddl.CreateTableLike:
			n = c.Name
		default:
			continue
		}
		target, ok := b.t.resolve(n.Schema, n.Name)
		if !ok {
			continue
		}
		var missing bool
		if err := b.tx.QueryRow(ctx, "SELECT to_regnamespace($1) IS NULL", pgx.Identifier{target.Schema}.Sanitize()).Scan(&missing); err != nil {
			return fmt.Errorf("look up schema %s: %w", target.Schema, classify(err))
		}
		if missing {
			if _, err := b.tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{target.Schema}.Sanitize()); err != nil {
				return fmt.Errorf("create schema %s for %s: %w", target.Schema, n, classify(err))
			}
		}
	}
	return nil
}
