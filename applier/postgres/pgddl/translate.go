// Package pgddl renders PostgreSQL DDL for source tables and translated schema changes: the
// one CREATE TABLE and index renderer that the snapshot and the stream share (so a table
// comes out the same whichever path created it), and TranslatePG, which turns a parsed
// ddl.Change into the statements the PostgreSQL target runs in its batch transaction.
package pgddl

import (
	"fmt"
	"strings"

	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// PGTarget is where a source table goes in PostgreSQL.
type PGTarget struct {
	Schema, Table string
	// Column reports whether a source column is replicated (the rule's columns /
	// exclude_columns); nil means every column.
	Column func(name string) bool
	// Key is the rule's configured key: the table's PRIMARY KEY in PostgreSQL, whatever
	// the source's is (as the tracker and the snapshot identify rows by it); nil for the
	// source's primary key.
	Key []string
	// KeylessIndex is the rule's keyless_index: an index on these columns serves the
	// full-row match of a table without a key.
	KeylessIndex []string
	// Backfill: the target copies a table again online (see PGPlan.Backfill), so a column
	// whose existing values the source computes is added as a plain nullable column
	// instead of being refused.
	Backfill bool
}

func (t PGTarget) has(column string) bool { return t.Column == nil || t.Column(column) }

// PGResolver names the PostgreSQL target of a source table; ok false means the table is not
// replicated and changes to it translate to nothing. For CREATE DATABASE and DROP DATABASE
// it is called with table "" and must answer with the schema that holds that whole database
// and nothing else (ok false when there is none): DROP DATABASE becomes DROP SCHEMA ...
// CASCADE of it.
type PGResolver func(db, table string) (PGTarget, bool)

// PGPlan is the PostgreSQL side of one change.
type PGPlan struct {
	// Statements run in order, in the transaction that records the binary log position
	// after the DDL statement.
	Statements []string
	// Notes say what was deliberately left out (FULLTEXT indexes, foreign keys, defaults
	// PostgreSQL cannot hold), for the log.
	Notes []string
	// Backfill names the source tables ("db.table") whose existing rows need values the
	// binary log does not carry (a column the source computes was added, as a plain
	// column, with PGTarget.Backfill): the target copies them again online.
	Backfill []string
}

// TranslatePG returns the PostgreSQL statements for a change, with column types under the
// [mapping] rules of pol. tables gives the tracked
// definitions as they are before the change (nil when none are tracked): call TranslatePG
// before applying the change to the catalog. Without a definition an ALTER TABLE is
// translated from the statement alone, which cannot skip clauses that MariaDB's IF [NOT]
// EXISTS made no-ops, compare old and new column types, or keep index names right across
// table renames.
//
// What is translated:
//   - CREATE TABLE -> the statements of RenderTable (the snapshot's rendering of the same
//     table), with the statement's defaults: literal and CURRENT_TIMESTAMP ones (zero dates
//     as -infinity and TIMESTAMP literals as UTC, as the mapping package writes values).
//     CREATE OR REPLACE drops the table first. ON UPDATE CURRENT_TIMESTAMP is dropped: the
//     binary log carries the updated values.
//   - CREATE TABLE ... LIKE -> the same, from the tracked definition of the other table,
//     without defaults (the tracked definition keeps them only as information_schema text).
//   - ALTER TABLE (see translateAlter), CREATE INDEX, DROP INDEX.
//   - RENAME TABLE and ALTER TABLE ... RENAME -> ALTER TABLE IF EXISTS ... SET SCHEMA /
//     RENAME TO, and ALTER INDEX IF EXISTS ... RENAME TO for the indexes whose names derive
//     from the table's; pairs are reduced to where each table ends up, and a swap goes through
//     a temporary name.
//   - DROP TABLE -> DROP TABLE IF EXISTS; TRUNCATE -> TRUNCATE TABLE.
//   - CREATE DATABASE -> CREATE SCHEMA IF NOT EXISTS; DROP DATABASE -> DROP SCHEMA IF
//     EXISTS ... CASCADE, for the schema the resolver names for the database.
//
// What is left out, with a note: what RenderTable leaves out of a table and its indexes,
// foreign keys (rows arrive in batches whose order the constraints could reject; the source
// has already enforced them), column comments, and defaults PostgreSQL cannot take
// (expressions other than CURRENT_TIMESTAMP; defaults only matter for rows the source fills
// in, as replicated rows carry every value).
//
// A change that does not fit the tracked definition gives an *ApplyError, as Apply would.
//
// What is rejected with an *UntranslatableError: a type without a PostgreSQL mapping; a
// table renamed into the replicated set (its rows were never copied) or out of it; a column
// renamed into or out of the replicated columns; a primary key on columns that are not
// replicated; CREATE TABLE ... LIKE a table whose definition is not tracked; and ADD COLUMN
// of a column whose values in existing rows the source computes (AUTO_INCREMENT, generated
// columns, expression defaults), because the binary log does not carry them.
func TranslatePG(ch ddl.Change, tables ddl.Tables, resolve PGResolver, pol mapping.Policy) (PGPlan, error) {
	if tables == nil {
		tables = ddl.Catalog(nil)
	}
	tr := &pgTranslator{tables: tables, resolve: resolve, pol: pol}
	switch c := ch.(type) {
	case *ddl.CreateTable:
		target, ok := resolve(c.Table.Schema, c.Table.Name)
		if !ok || c.IfNotExists && !c.OrReplace && tables.Lookup(c.Table.Schema, c.Table.Name) != nil {
			return PGPlan{}, nil // not replicated, or the source kept the existing table
		}
		if c.OrReplace {
			tr.stmt("DROP TABLE IF EXISTS " + qt(target))
		}
		return tr.done(tr.createTable(c.Table, c.Defaults, target))
	case *ddl.CreateTableLike:
		target, ok := resolve(c.Name.Schema, c.Name.Name)
		if !ok {
			return PGPlan{}, nil
		}
		if c.IfNotExists && !c.OrReplace && tables.Lookup(c.Name.Schema, c.Name.Name) != nil {
			return PGPlan{}, nil
		}
		like := tables.Lookup(c.Like.Schema, c.Like.Name)
		if like == nil {
			return PGPlan{}, &UntranslatableError{Statement: "CREATE TABLE " + c.Name.String() + " LIKE " + c.Like.String(),
				Reason: "the definition of " + c.Like.String() + " is not tracked"}
		}
		if c.OrReplace {
			tr.stmt("DROP TABLE IF EXISTS " + qt(target))
		}
		tr.note("%s: column defaults are not copied from %s", c.Name, c.Like)
		return tr.done(tr.createTable(ddl.LikeTable(like, c.Name), nil, target))
	case *ddl.AlterTable:
		return tr.done(tr.alter(c))
	case *ddl.RenameTables:
		return tr.done(tr.renameTables("RENAME TABLE %s TO %s", c.Pairs, nil))
	case *ddl.DropTables:
		var names []string
		for _, n := range c.Names {
			if target, ok := resolve(n.Schema, n.Name); ok {
				names = append(names, qt(target))
			}
		}
		if len(names) > 0 {
			tr.stmt("DROP TABLE IF EXISTS " + strings.Join(names, ", "))
		}
		return tr.done(nil)
	case *ddl.TruncateTable:
		if target, ok := resolve(c.Name.Schema, c.Name.Name); ok {
			tr.stmt("TRUNCATE TABLE " + qt(target))
		}
		return tr.done(nil)
	case *ddl.CreateDatabase:
		if target, ok := resolve(c.Name, ""); ok {
			tr.stmt("CREATE SCHEMA IF NOT EXISTS " + qi(target.Schema))
		}
		return tr.done(nil)
	case *ddl.DropDatabase:
		if target, ok := resolve(c.Name, ""); ok {
			tr.stmt("DROP SCHEMA IF EXISTS " + qi(target.Schema) + " CASCADE")
		}
		return tr.done(nil)
	}
	return PGPlan{}, fmt.Errorf("ddl: unknown change %T", ch)
}

type pgTranslator struct {
	tables  ddl.Tables
	resolve PGResolver
	pol     mapping.Policy
	plan    PGPlan
}

func (tr *pgTranslator) stmt(s string) { tr.plan.Statements = append(tr.plan.Statements, s) }

func (tr *pgTranslator) backfill(table string) {
	for _, t := range tr.plan.Backfill {
		if t == table {
			return
		}
	}
	tr.plan.Backfill = append(tr.plan.Backfill, table)
}

func (tr *pgTranslator) note(format string, args ...any) {
	tr.plan.Notes = append(tr.plan.Notes, fmt.Sprintf(format, args...))
}

func (tr *pgTranslator) done(err error) (PGPlan, error) {
	if err != nil {
		return PGPlan{}, err
	}
	return tr.plan, nil
}

// createTable writes CREATE TABLE and its CREATE INDEX statements, rendered by
// RenderTable as the snapshot renders the same table. defaults may be nil.
func (tr *pgTranslator) createTable(t *schema.Table, defaults []ddl.Default, target PGTarget) error {
	r, err := RenderTable(tr.pol, t, defaults, target)
	if err != nil {
		return err
	}
	tr.plan.Notes = append(tr.plan.Notes, r.Notes...)
	for _, s := range r.Statements() {
		tr.stmt(s)
	}
	return nil
}

// renameTables moves tables the way a sequence of renames leaves them: each table's final
// name is worked out first, so names used only in between (a swap's temporary name) need
// not be replicated. indexes, when not nil, gives the indexes a table has at the rename
// (else the tracked definition's). what formats the source and destination for errors.
func (tr *pgTranslator) renameTables(what string, pairs []ddl.RenamePair, indexes []schema.Index) error {
	var order []ddl.TableName // final names, in order of appearance
	origin := map[ddl.TableName]ddl.TableName{}
	for _, p := range pairs {
		o, ok := origin[p.From]
		if !ok {
			o = p.From
		}
		delete(origin, p.From)
		origin[p.To] = o
		order = append(order, p.To)
	}
	type move struct {
		from, to PGTarget
		indexes  []schema.Index
	}
	var moves []*move
	seen := map[ddl.TableName]bool{}
	for _, final := range order {
		orig, ok := origin[final]
		if !ok || seen[final] {
			continue
		}
		seen[final] = true
		from, fromOK := tr.resolve(orig.Schema, orig.Name)
		to, toOK := tr.resolve(final.Schema, final.Name)
		desc := fmt.Sprintf(what, orig, final)
		switch {
		case fromOK && !toOK:
			return &UntranslatableError{Statement: desc, Reason: final.String() + " is not replicated: the table would leave the replicated set"}
		case !fromOK && toOK:
			return &UntranslatableError{Statement: desc, Reason: orig.String() + " is not replicated: its rows were never copied (select it too, or snapshot " + final.String() + " again)"}
		case !fromOK:
			continue
		}
		if from.Schema == to.Schema && from.Table == to.Table {
			continue
		}
		m := &move{from: from, to: to, indexes: indexes}
		if t := tr.tables.Lookup(orig.Schema, orig.Name); t != nil && indexes == nil {
			m.indexes = t.Indexes
		}
		moves = append(moves, m)
	}
	emit := func(m *move, to PGTarget) {
		cur := m.from
		if cur.Schema != to.Schema {
			tr.stmt("ALTER TABLE IF EXISTS " + qt(cur) + " SET SCHEMA " + qi(to.Schema))
			cur.Schema = to.Schema
		}
		if cur.Table != to.Table {
			tr.stmt("ALTER TABLE IF EXISTS " + qt(cur) + " RENAME TO " + qi(to.Table))
			for _, ix := range m.indexes {
				if ix.Kind != "" {
					continue
				}
				old, nu := PGIndexName(cur.Table, ix.Name), PGIndexName(to.Table, ix.Name)
				if old != nu {
					tr.stmt("ALTER INDEX IF EXISTS " + qt(PGTarget{Schema: to.Schema, Table: old}) + " RENAME TO " + qi(nu))
				}
			}
		}
		m.from = to
	}
	same := func(a, b PGTarget) bool { return a.Schema == b.Schema && a.Table == b.Table }
	for len(moves) > 0 {
		progressed := false
		for i := 0; i < len(moves); i++ {
			m := moves[i]
			blocked := false
			for _, o := range moves {
				if o != m && same(o.from, m.to) {
					blocked = true
				}
			}
			if !blocked {
				emit(m, m.to)
				moves = append(moves[:i], moves[i+1:]...)
				i--
				progressed = true
			}
		}
		if !progressed { // a cycle (a swap): park one table under a temporary name
			m := moves[0]
			emit(m, PGTarget{Schema: m.from.Schema, Table: pgName(m.from.Table + "_rename_tmp")})
		}
	}
	return nil
}
