package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

// Soft deletes (deletes = "soft"): the target table has two marker columns after the
// source's, a deleted row is written with its last image and marked, and every other
// write of a key clears the marks (the upsert's ON CONFLICT sets them back).

// markerColumns are the definitions of the marker columns in a CREATE TABLE.
var markerColumns = []string{
	pgx.Identifier{config.MarkerDeleted}.Sanitize() + " boolean NOT NULL DEFAULT false",
	pgx.Identifier{config.MarkerDeletedAt}.Sanitize() + " timestamptz",
}

// addMarkers adds the marker columns to a table that lacks them: one created by a CREATE
// TABLE read from the binary log, or one the rule switched to soft deletes.
func addMarkers(id pgx.Identifier) string {
	return "ALTER TABLE " + id.Sanitize() + " ADD COLUMN IF NOT EXISTS " + markerColumns[0] +
		", ADD COLUMN IF NOT EXISTS " + markerColumns[1]
}

// softPlan fills p's statements marking rows: the delete staging table takes the key and
// the time, and one UPDATE marks the staged keys. It returns the staging table's creation.
func (p *tablePlan) softPlan(q func(string) string, keys string, conds []string) []string {
	at := q(config.MarkerDeletedAt)
	stage := q(p.stageDel + "_at")
	p.copyMark = fmt.Sprintf("COPY %s (%s, %s) FROM STDIN", stage, keys, at)
	p.markSQL = fmt.Sprintf("UPDATE %s t SET %s = true, %s = s.%s FROM %s s WHERE %s; TRUNCATE %s",
		p.id.Sanitize(), q(config.MarkerDeleted), at, at, stage, strings.Join(conds, " AND "), stage)
	return []string{fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT %s, %s FROM %s WITH NO DATA", stage, keys, at, p.id.Sanitize())}
}

// markRows marks the rows m (written by the upsert just before) deleted at their times.
func (b *Batch) markRows(ctx context.Context, p *tablePlan, m []change.MarkedRow) error {
	if p.markSQL == "" {
		return fmt.Errorf("the table's rule does not keep deleted rows (a plan without marker columns)")
	}
	buf := &b.sc.copyBuf
	buf.Reset()
	proj := make(change.Row, len(p.keyIdx))
	line := b.buf[:0]
	for _, r := range m {
		var err error
		if line, err = p.keyEnc.AppendRow(line[:0], p.key(r.Row, proj)); err != nil {
			return err
		}
		line = append(line[:len(line)-1], '\t')
		line = append(line, pgTime(r)...)
		line = append(line, '\n')
		buf.Write(line)
	}
	b.buf = line
	if _, err := b.sc.conn.PgConn().CopyFrom(ctx, buf, p.copyMark); err != nil {
		return classify(err)
	}
	if _, err := b.tx.Exec(ctx, p.markSQL); err != nil {
		return classify(err)
	}
	return nil
}

// pgTime renders a mark's time as timestamptz input (UTC); NULL when the source gave none.
func pgTime(r change.MarkedRow) string {
	if r.At.IsZero() {
		return `\N`
	}
	return r.At.UTC().Format("2006-01-02 15:04:05.999999") + "+00"
}

// CheckCopy implements pipeline.CopyChecker: the online copy of a table the target holds
// is refused, before it starts, when its rule keeps rows the source deleted (see
// copyKeepsDeletes); a table the target does not hold has none to lose and is copied.
func (t *Target) CheckCopy(table string) error {
	db, name, _ := strings.Cut(table, ".")
	rt := t.routes.For(db, name)
	if rt == nil {
		return fmt.Errorf("table %s is not selected by any [[tables]] rule", table)
	}
	if err := rt.FanInCopyRefusal(); err != nil {
		return err
	}
	if rt.Deletes() == config.DeletesHard {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, n := rt.PGTarget()
	var exists bool
	if err := t.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", pgx.Identifier{s, n}.Sanitize()).Scan(&exists); err != nil {
		return fmt.Errorf("look up %s: %w", pgx.Identifier{s, n}.Sanitize(), err)
	}
	if !exists {
		return nil
	}
	return t.copyKeepsDeletes(&schema.Table{Schema: db, Name: name})
}

// copyKeepsDeletes refuses the online copy of a table the target holds whose rule keeps
// rows the source deleted (deletes = "soft" or "ignore"): the copy rebuilds the table
// from the source, which no longer has them, so they would vanish at the swap.
func (t *Target) copyKeepsDeletes(def *schema.Table) error {
	rt, err := t.route(def)
	if err != nil {
		return err
	}
	if m := rt.Deletes(); m != config.DeletesHard {
		return fmt.Errorf("tables[%d].deletes = %q: table %s cannot be copied online: the copy rebuilds it from the source, and the rows the target keeps for deleted source rows would vanish; copy it with deletes = \"hard\" if losing them is intended", rt.Index(), m, def.QualifiedName())
	}
	return nil
}
