package pgddl

import (
	"fmt"
	"strings"

	"github.com/replicator/replicator/applier/postgres/pgvalue"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// Rendered is a source table rendered for PostgreSQL by RenderTable. The snapshot and the
// stream render a table the same way and differ only in when the parts run: the stream
// creates the table whole (Statements), the snapshot creates it bare (CreateBare), copies
// the rows into it, and then adds the key and the indexes (AddPrimaryKey, AddSecondary),
// because loading into an unindexed table is faster.
type Rendered struct {
	table      string   // the quoted target table
	columns    []string // column definitions
	primaryKey string   // the key columns, quoted and joined; "" for a table without a key
	uniques    []string // CONSTRAINT ... UNIQUE (...) DEFERRABLE INITIALLY DEFERRED
	indexes    []string // CREATE INDEX IF NOT EXISTS statements
	// Notes say what was deliberately left out (FULLTEXT and SPATIAL indexes, indexes on
	// columns that are not replicated, defaults PostgreSQL cannot hold), for the log.
	Notes []string
}

// Statements create the table with its primary key and unique constraints in one
// CREATE TABLE IF NOT EXISTS, then its other indexes.
func (r *Rendered) Statements() []string {
	parts := r.columns
	if r.primaryKey != "" {
		parts = append(parts[:len(parts):len(parts)], "PRIMARY KEY ("+r.primaryKey+")")
	}
	parts = append(parts[:len(parts):len(parts)], r.uniques...)
	return append([]string{r.create(parts)}, r.indexes...)
}

// AddColumns appends column definitions the source table does not have (the marker
// columns of a soft-delete rule), after the source's columns.
func (r *Rendered) AddColumns(defs ...string) { r.columns = append(r.columns, defs...) }

// CreateBare creates the table with its columns only.
func (r *Rendered) CreateBare() string { return r.create(r.columns) }

// AddPrimaryKey adds the primary key to the table CreateBare made; "" for a table without
// a key.
func (r *Rendered) AddPrimaryKey() string {
	if r.primaryKey == "" {
		return ""
	}
	return "ALTER TABLE " + r.table + " ADD PRIMARY KEY (" + r.primaryKey + ")"
}

// AddSecondary adds the unique constraints and the other indexes to the table CreateBare
// made.
func (r *Rendered) AddSecondary() []string {
	var out []string
	for _, u := range r.uniques {
		out = append(out, "ALTER TABLE "+r.table+" ADD "+u)
	}
	return append(out, r.indexes...)
}

func (r *Rendered) create(parts []string) string {
	return "CREATE TABLE IF NOT EXISTS " + r.table + " (" + strings.Join(parts, ", ") + ")"
}

// RenderTable renders a source table for PostgreSQL: the replicated columns with their
// pgvalue.Type types under the [mapping] rules of pol, NOT NULL, and the defaults PostgreSQL can hold (defaults, parallel
// to t.Columns, in the form a parsed DEFAULT clause has; nil renders none); the primary
// key over the table's key (target.Key, when configured, in place of the source's); UNIQUE
// indexes as unique constraints DEFERRABLE INITIALLY DEFERRED (a batch applied out of
// order never trips over a transient duplicate), other indexes, and the target's
// keyless_index for a table without a key. Index names come from PGIndexName.
//
// Left out, with a note: FULLTEXT and SPATIAL indexes (no PostgreSQL equivalent), indexes
// on columns that are not replicated, a unique index over exactly the key's columns (the
// primary key enforces it, and a second, deferrable constraint on them would make INSERT
// ... ON CONFLICT refuse every upsert: SERIAL's implied UNIQUE, or the index a configured
// key stands on), and plain indexes whose part is a whole TEXT, BLOB, JSON or geometry
// column (PostgreSQL's btree rejects long entries). A key part with a prefix length
// becomes left(col, n) (substr for bytea), and a unique index with one a plain index: a
// deferrable constraint cannot be on an expression, and the source enforces uniqueness.
//
// A type without a PostgreSQL mapping and a key column that is not replicated give an
// *UntranslatableError.
func RenderTable(pol mapping.Policy, t *schema.Table, defaults []ddl.Default, target PGTarget) (*Rendered, error) {
	src := ddl.TableName{Schema: t.Schema, Name: t.Name}
	what := "CREATE TABLE " + src.String()
	if len(target.Key) > 0 {
		t = t.Clone()
		if err := t.SetKey(target.Key); err != nil {
			return nil, &UntranslatableError{Statement: what, Reason: "the configured key: " + err.Error()}
		}
	}
	r := &Rendered{table: qt(target)}
	note := func(format string, args ...any) { r.Notes = append(r.Notes, fmt.Sprintf(format, args...)) }
	for i := range t.Columns {
		c := &t.Columns[i]
		if !target.has(c.Name) {
			continue
		}
		typ, err := pgvalue.Type(pol, c)
		if err != nil {
			return nil, &UntranslatableError{Statement: what, Reason: err.Error()}
		}
		def := qi(c.Name) + " " + typ
		if !c.Nullable {
			def += " NOT NULL"
		}
		if defaults != nil {
			expr, ok, why := pgDefault(c, defaults[i], typ)
			if ok {
				def += " DEFAULT " + expr
			} else if why != "" {
				note("%s.%s: %s", src, c.Name, why)
			}
		}
		r.columns = append(r.columns, def)
	}
	if len(t.Key) > 0 {
		cols, err := keyColumns(t.KeyNames(), target, what)
		if err != nil {
			return nil, err
		}
		r.primaryKey = cols
	}
	for _, ix := range t.Indexes {
		constraint, create, why := renderIndex(pol, t, ix, target)
		switch {
		case constraint != "":
			r.uniques = append(r.uniques, constraint)
		case create != "":
			r.indexes = append(r.indexes, create)
		}
		if why != "" {
			note("%s", why)
		}
	}
	if q := keylessIndex(t, target); q != "" {
		r.indexes = append(r.indexes, q)
	}
	return r, nil
}

// keyColumns quotes the primary key columns, which must all be replicated.
func keyColumns(names []string, target PGTarget, what string) (string, error) {
	q := make([]string, len(names))
	for i, n := range names {
		if !target.has(n) {
			return "", &UntranslatableError{Statement: what, Reason: "primary key column " + n + " is not replicated"}
		}
		q[i] = qi(n)
	}
	return strings.Join(q, ", "), nil
}

// renderIndex renders one index of t: a unique constraint (for CREATE TABLE or ALTER TABLE
// ADD) or a CREATE INDEX statement, or nothing; note says what was left out or changed.
func renderIndex(pol mapping.Policy, t *schema.Table, ix schema.Index, target PGTarget) (constraint, create, note string) {
	src := ddl.TableName{Schema: t.Schema, Name: t.Name}
	if ix.Kind != "" {
		return "", "", fmt.Sprintf("%s: %s index %s is not created in PostgreSQL", src, ix.Kind, ix.Name)
	}
	if repeatsKey(t, ix) {
		return "", "", fmt.Sprintf("%s: unique index %s repeats the primary key: not created in PostgreSQL", src, ix.Name)
	}
	name := qi(PGIndexName(target.Table, ix.Name))
	prefixed := false
	parts := make([]string, len(ix.Columns))
	for i, n := range ix.Columns {
		if !target.has(n) {
			return "", "", fmt.Sprintf("%s: index %s is not created in PostgreSQL: column %s is not replicated", src, ix.Name, n)
		}
		var col *schema.Column
		if c := t.ColumnIndex(n); c >= 0 {
			col = &t.Columns[c]
			n = col.Name
		}
		parts[i] = qi(n)
		length := 0
		if i < len(ix.Lengths) {
			length = ix.Lengths[i]
		}
		switch {
		case length > 0:
			prefixed = true
			fn := "left(%s, %d)"
			if col != nil {
				if typ, _ := pgvalue.Type(pol, col); typ == "bytea" {
					fn = "substr(%s, 1, %d)"
				}
			}
			parts[i] = fmt.Sprintf(fn, qi(n), length)
		case !ix.Unique && col != nil && unboundedType(col.DataType):
			return "", "", fmt.Sprintf("%s: index %s is not created in PostgreSQL: column %s is a whole %s column, too long for a btree entry", src, ix.Name, n, col.DataType)
		}
	}
	cols := strings.Join(parts, ", ")
	if ix.Unique && !prefixed {
		return "CONSTRAINT " + name + " UNIQUE (" + cols + ") DEFERRABLE INITIALLY DEFERRED", "", ""
	}
	if ix.Unique {
		note = fmt.Sprintf("%s: unique index %s has a prefix part: created as a plain index", src, ix.Name)
	}
	return "", "CREATE INDEX IF NOT EXISTS " + name + " ON " + qt(target) + " (" + cols + ")", note
}

// repeatsKey reports whether ix is a unique index over exactly the columns of t's key (in
// any order, without prefix parts), which the PRIMARY KEY over that key enforces.
func repeatsKey(t *schema.Table, ix schema.Index) bool {
	if !ix.Unique || ix.Kind != "" || len(t.Key) == 0 || len(ix.Columns) != len(t.Key) {
		return false
	}
	for _, l := range ix.Lengths {
		if l > 0 {
			return false
		}
	}
	for _, n := range ix.Columns {
		found := false
		for _, k := range t.Key {
			if strings.EqualFold(t.Columns[k].Name, n) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// unboundedType reports MySQL types whose whole values can exceed what a PostgreSQL btree
// entry holds.
func unboundedType(dt string) bool {
	switch dt {
	case "tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob", "longblob", "json", "geometry":
		return true
	}
	return false
}

// keylessIndex renders the index target.KeylessIndex asks for on a table without a key, or
// "" (a table with a key, no keyless_index, or a column that the table lacks or does not
// replicate, which check reports).
func keylessIndex(t *schema.Table, target PGTarget) string {
	if len(target.KeylessIndex) == 0 || len(t.Key) > 0 {
		return ""
	}
	var cols []string
	for _, n := range target.KeylessIndex {
		i := t.ColumnIndex(n)
		if i < 0 || !target.has(t.Columns[i].Name) {
			return ""
		}
		cols = append(cols, qi(t.Columns[i].Name))
	}
	return "CREATE INDEX IF NOT EXISTS " + qi(pgName(target.Table+"_replicator_keyless")) + " ON " + qt(target) + " (" + strings.Join(cols, ", ") + ")"
}
