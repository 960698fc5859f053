package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/replicator/replicator/applier/postgres/pgddl"
	"github.com/replicator/replicator/ddl"
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
	return pgddl.PGTarget{Schema: s, Table: n, Column: rt.Replicates, Key: rt.Key(), KeylessIndex: rt.KeylessIndex()}, true
}

// CheckDDL reports a change that pgddl.TranslatePG cannot translate with the configured
// table routing (the pipeline's Options.CheckDDL): the stream's reader applies
// [ddl] on_error to it before it moves past the statement.
func (t *Target) CheckDDL(ch ddl.Change, before ddl.Tables) error {
	_, err := pgddl.TranslatePG(ch, before, t.resolve, t.pol)
	return err
}

// ApplySchema implements pipeline.Tx: each step translated with pgddl.TranslatePG and the
// configured table routing, against the definitions before it, then the statements and
// the new definitions in the schema history, in the batch transaction that moves the
// checkpoint past them. Every step is translated before anything runs.
func (b *Batch) ApplySchema(ctx context.Context, sc *ddl.SchemaChange) error {
	plans := make([]pgddl.PGPlan, 0, len(sc.Steps))
	for i, st := range sc.Steps {
		plan, err := pgddl.TranslatePG(st.Change, st.Before, b.t.resolve, b.t.pol)
		if err != nil {
			return fmt.Errorf("translate change %d of the statement: %w", i+1, err)
		}
		plans = append(plans, plan)
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
