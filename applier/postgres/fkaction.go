package postgres

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/applier/postgres/pgvalue"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/transform"
)

// maxFKDepth bounds a chain of cascades. InnoDB stops at 15 levels (the statement fails,
// so nothing deeper ever reaches the binary log); a deeper chain here means a graph the
// source could not have run.
const maxFKDepth = 64

// fkRow holds the PostgreSQL text form of some columns of a row (by source column index);
// a nil value is NULL.
type fkRow map[int]*string

// ApplyForeignKeyActions implements pipeline.ForeignKeyApplier: each action runs as SQL on
// the children in the open transaction, in order. A cascaded delete or change returns the
// child rows' columns that the child's own children refer to, which continue the cascade
// (cycles end where no row matches any more: a deleted row is gone, an unchanged column
// starts nothing).
func (b *Batch) ApplyForeignKeyActions(ctx context.Context, g *schema.FKGraph, acts []change.FKAction) error {
	if err := b.serialize(ctx); err != nil {
		return err
	}
	for _, a := range acts {
		name := a.Parent.QualifiedName()
		need := refColumns(g, name)
		before, err := canonicalToPG(b.t.pol, a.Parent, need, a.Before)
		if err != nil {
			return fmt.Errorf("foreign key actions of a change of %s at GTID %s: %w", name, a.GTID, err)
		}
		var after fkRow
		if a.After != nil {
			if after, err = canonicalToPG(b.t.pol, a.Parent, need, a.After); err != nil {
				return fmt.Errorf("foreign key actions of a change of %s at GTID %s: %w", name, a.GTID, err)
			}
		}
		b.fkTime = a.Time
		if err := b.cascade(ctx, g, a.Parent, before, after, a.After == nil, 0); err != nil {
			what := "update"
			if a.After == nil {
				what = "delete"
			}
			return fmt.Errorf("foreign key actions of a %s in %s at GTID %s: %w", what, name, a.GTID, err)
		}
	}
	return nil
}

// refColumns returns the columns of table that its children's foreign keys refer to.
func refColumns(g *schema.FKGraph, table string) []int {
	var out []int
	for _, e := range g.Children(table) {
		for _, r := range e.RefCols {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// canonicalToPG renders the columns cols of a canonical source row as PostgreSQL text
// input, through the same encoder (and [mapping] rules) as the rows' COPY.
func canonicalToPG(pol mapping.Policy, t *schema.Table, cols []int, row [][]byte) (fkRow, error) {
	defs := make([]*schema.Column, len(cols))
	proj := make([][]byte, len(cols))
	for i, c := range cols {
		defs[i] = &t.Columns[c]
		if c < len(row) {
			proj[i] = row[c]
		}
	}
	line, err := pgvalue.NewEncoder(pol, t.QualifiedName(), defs).AppendRow(nil, proj)
	if err != nil {
		return nil, err
	}
	fields := bytes.Split(bytes.TrimSuffix(line, []byte("\n")), []byte("\t"))
	out := fkRow{}
	for i, c := range cols {
		out[c] = copyUnescape(fields[i])
	}
	return out, nil
}

// copyUnescape turns one COPY text field into its value (nil for \N).
func copyUnescape(f []byte) *string {
	if string(f) == `\N` {
		return nil
	}
	if bytes.IndexByte(f, '\\') < 0 {
		s := string(f)
		return &s
	}
	var sb strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '\\' || i+1 == len(f) {
			sb.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'v':
			sb.WriteByte('\v')
		default:
			sb.WriteByte(f[i])
		}
	}
	s := sb.String()
	return &s
}

func sameValue(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// cascade applies the actions of table's children for a row whose referenced columns were
// old and are now new (deleted when del).
func (b *Batch) cascade(ctx context.Context, g *schema.FKGraph, table *schema.Table, old, new fkRow, del bool, depth int) error {
	if depth > maxFKDepth {
		return fmt.Errorf("foreign key actions nest deeper than %d levels at %s (a cycle the source cannot run?)", maxFKDepth, table.QualifiedName())
	}
	for _, e := range g.Children(table.QualifiedName()) {
		action := e.OnUpdate()
		if del {
			action = e.OnDelete()
		}
		if action != "CASCADE" && action != "SET NULL" && action != "SET DEFAULT" {
			continue
		}
		oldVals := make([]any, len(e.RefCols))
		changed := del
		skip := false
		for i, r := range e.RefCols {
			v := old[r]
			if v == nil {
				skip = true // a NULL in the key refers to no row
				break
			}
			oldVals[i] = *v
			if !del && !sameValue(v, new[r]) {
				changed = true
			}
		}
		if skip || !changed {
			continue
		}
		if depth > 0 {
			// old and new came back from the target: a hashed column holds the hash, and
			// the child's foreign key the clear value.
			var tr *transform.Rules
			if rt := b.t.routes.For(table.Schema, table.Name); rt != nil {
				tr = rt.Transforms()
			}
			for _, r := range e.RefCols {
				if n := table.Columns[r].Name; tr.Hashed(n) {
					return fmt.Errorf("%s (%s): column %s of %s is hashed (its rule's hash), and the cascade reaching it cannot find the rows that refer to its clear value: hash another column, or declare the foreign key RESTRICT", e.Child.QualifiedName(), e.FK.Name, n, table.QualifiedName())
				}
			}
		}
		if err := b.childAction(ctx, g, &e, action, del, oldVals, new, depth); err != nil {
			return fmt.Errorf("%s (%s: ON %s %s): %w", e.Child.QualifiedName(), e.FK.Name, map[bool]string{true: "DELETE", false: "UPDATE"}[del], action, err)
		}
	}
	return nil
}

// childAction runs one foreign key's action on its child table and continues the cascade
// with the rows it changed.
func (b *Batch) childAction(ctx context.Context, g *schema.FKGraph, e *schema.FKEdge, action string, del bool, oldVals []any, parentNew fkRow, depth int) error {
	child := e.Child
	ids, err := b.fkTargets(ctx, child)
	if err != nil {
		return err
	}
	rt, err := b.t.route(child)
	if err != nil {
		return err
	}
	cols, err := rt.Columns(child)
	if err != nil {
		return err
	}
	for _, c := range e.Cols {
		if !slices.Contains(cols, c) {
			return fmt.Errorf("column %s is not replicated (excluded by the table's rule), so the action cannot be applied; replicate it or declare the foreign key RESTRICT", child.Columns[c].Name)
		}
	}
	// The columns the child's own children refer to continue the cascade.
	next := refColumns(g, child.QualifiedName())
	for _, c := range next {
		if !slices.Contains(cols, c) {
			return fmt.Errorf("column %s, referred to by a foreign key with an action, is not replicated; replicate it or declare the foreign key RESTRICT", child.Columns[c].Name)
		}
	}
	// The child's columns under their target names (rename); a hashed column in a
	// foreign key with an action is refused by the view.
	view, err := rt.View(child)
	if err != nil {
		return err
	}
	tr := rt.Transforms()
	q := func(s string) string { return pgx.Identifier{tr.TargetName(s)}.Sanitize() }
	args := append([]any(nil), oldVals...)
	var where []string
	for i, c := range e.Cols {
		where = append(where, fmt.Sprintf("%s = $%d", q(child.Columns[c].Name), i+1))
	}
	// The returned columns are named r0, r1, ... (those the cascade goes on with) and
	// k0, k1, ... (the key, which finds the same rows in the copy).
	var ret, retNames []string
	for i, c := range next {
		ret = append(ret, fmt.Sprintf("%s::text AS r%d", q(child.Columns[c].Name), i))
		retNames = append(retNames, fmt.Sprintf("r%d", i))
	}
	childDel := del && action == "CASCADE"
	mode := rt.Deletes()
	if mode == config.DeletesSoft {
		// Rows marked deleted are not at the source: no action reaches them.
		where = append(where, "NOT "+q(config.MarkerDeleted))
	}
	var sets []string // an UPDATE's; none for a DELETE
	switch {
	case childDel && mode == config.DeletesSoft:
		var at any // NULL when the source gave no time
		if !b.fkTime.IsZero() {
			at = b.fkTime.UTC()
		}
		args = append(args, at)
		sets = []string{q(config.MarkerDeleted) + " = true", fmt.Sprintf("%s = $%d", q(config.MarkerDeletedAt), len(args))}
	case childDel && mode == config.DeletesIgnore:
		// The child keeps its rows; its own children follow their own rules.
		if len(next) == 0 {
			return nil
		}
	case childDel:
	default:
		for i, c := range e.Cols {
			switch {
			case action == "SET NULL":
				sets = append(sets, q(child.Columns[c].Name)+" = NULL")
			case action == "SET DEFAULT":
				sets = append(sets, q(child.Columns[c].Name)+" = DEFAULT")
			default: // ON UPDATE CASCADE: the parent's new values
				var v any
				if p := parentNew[e.RefCols[i]]; p != nil {
					v = *p
				}
				args = append(args, v)
				sets = append(sets, fmt.Sprintf("%s = $%d", q(child.Columns[c].Name), len(args)))
			}
		}
	}
	ignore := childDel && mode == config.DeletesIgnore
	// on builds the statement on table id; with a copy (the shadow of an online copy
	// beside the live table), the copy's rows of the keys the live table's statement
	// changed are changed alike in the same statement. The copy's own rows cannot drive
	// the cascade: it lacks the rows not copied yet, and a cascade through one of them
	// (a self-reference) would miss the rows below it the stream already wrote there.
	on := func(id, copyID pgx.Identifier) string {
		if ignore {
			return fmt.Sprintf("SELECT %s FROM %s WHERE %s", strings.Join(ret, ", "), id.Sanitize(), strings.Join(where, " AND "))
		}
		r := ret
		if copyID != nil {
			for i, k := range view.Table.Key {
				r = append(r, fmt.Sprintf("%s AS k%d", pgx.Identifier{view.Table.Columns[k].Name}.Sanitize(), i))
			}
		}
		returning := ""
		if len(r) > 0 {
			returning = " RETURNING " + strings.Join(r, ", ")
		}
		stmt := fmt.Sprintf("DELETE FROM %s WHERE %s%s", id.Sanitize(), strings.Join(where, " AND "), returning)
		if sets != nil {
			stmt = fmt.Sprintf("UPDATE %s SET %s WHERE %s%s", id.Sanitize(), strings.Join(sets, ", "), strings.Join(where, " AND "), returning)
		}
		if copyID == nil {
			return stmt
		}
		var match []string
		for i, k := range view.Table.Key {
			match = append(match, fmt.Sprintf("c.%s = ch.k%d", pgx.Identifier{view.Table.Columns[k].Name}.Sanitize(), i))
		}
		mirror := fmt.Sprintf("DELETE FROM %s c USING ch WHERE %s", copyID.Sanitize(), strings.Join(match, " AND "))
		if sets != nil {
			mirror = fmt.Sprintf("UPDATE %s c SET %s FROM ch WHERE %s", copyID.Sanitize(), strings.Join(sets, ", "), strings.Join(match, " AND "))
		}
		sel := "SELECT 1 FROM ch"
		if len(retNames) > 0 {
			sel = "SELECT " + strings.Join(retNames, ", ") + " FROM ch"
		}
		return fmt.Sprintf("WITH ch AS (%s), m AS (%s) %s", stmt, mirror, sel)
	}
	var stmt string
	switch {
	case len(ids) == 0:
		return nil
	case len(ids) == 2 && !ignore:
		stmt = on(ids[0], ids[1])
	default:
		// The live table alone, or the copy alone when the live table is stale or gone
		// (the copy then is the table). A SELECT changes nothing: the live table answers.
		stmt = on(ids[0], nil)
	}
	var changed []fkRow
	if len(next) == 0 {
		if _, err := b.tx.Exec(ctx, stmt, args...); err != nil {
			return classify(err)
		}
	} else if changed, err = b.fkReturning(ctx, stmt, args, next); err != nil {
		return err
	}
	for _, now := range changed {
		if childDel {
			if err := b.cascade(ctx, g, child, now, nil, true, depth+1); err != nil {
				return err
			}
			continue
		}
		// Before the change the child's foreign key columns held the parent's old values;
		// its other columns are as returned.
		was := fkRow{}
		for c, v := range now {
			was[c] = v
		}
		for i, c := range e.Cols {
			if _, ok := was[c]; ok {
				s := oldVals[i].(string)
				was[c] = &s
			}
		}
		if err := b.cascade(ctx, g, child, was, now, false, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// fkTargets are the tables a foreign key action on child's rows changes: its live table,
// and the shadow of its online copy, which holds rows read before the action (the
// stream's own changes of the table go to both, see Apply). A stale copy's live table is
// left alone, and a table whose first copy has not started has no rows yet (its chunks
// read the source after the action).
func (b *Batch) fkTargets(ctx context.Context, child *schema.Table) ([]pgx.Identifier, error) {
	copying, err := b.copies(ctx)
	if err != nil {
		return nil, err
	}
	ci := copying[child.QualifiedName()]
	if ci != nil && ci.absent {
		return nil, nil
	}
	var ids []pgx.Identifier
	if ci == nil || !ci.stale {
		id, err := b.t.tableIdent(child)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if ci != nil && !ci.inPlace {
		id, err := b.shadowIdent(child)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// fkReturning runs an action's statement and returns the columns next of the rows it
// changed (by RETURNING), which continue the cascade.
func (b *Batch) fkReturning(ctx context.Context, sql string, args []any, next []int) ([]fkRow, error) {
	rows, err := b.tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var changed []fkRow
	for rows.Next() {
		vals := make([]*string, len(next))
		ptrs := make([]any, len(next))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, classify(err)
		}
		r := fkRow{}
		for i, c := range next {
			r[c] = vals[i]
		}
		changed = append(changed, r)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return changed, nil
}
