// Package verify compares the selected tables of the source with their copies in the
// target: row counts and checksums over primary-key ranges first, then, for ranges whose
// checksums differ, row by row down to the differing keys, which are read again after the
// target caught up so that changes still in flight are not reported.
//
// The invariant it protects: verify reports a table equal only when every source row has
// a target row with the same key and the same values under the documented type mapping,
// and the target has no other rows. Both sides are brought to one comparison form in Go
// (the target's text form of each value), so nothing depends on the two servers computing
// the same checksum.
package verify

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
	"github.com/replicator/replicator/transform"
)

// Table is one selected table under comparison.
type Table struct {
	Def *schema.Table
	// Cols are the replicated columns (indexes into Def.Columns), in target order.
	Cols []int
	// Route is where the table went.
	Route *route.Route
	// keyPos are the positions of the key columns within the compared columns (columns).
	keyPos []int
	// view is the rule's target view when it transforms columns, else nil. The compared
	// columns are then the view's source columns (renamed, hashed) without its metadata
	// columns, whose values depend on which path wrote a row.
	view  *transform.View
	tcols []*schema.Column
}

// newTable prepares a table; every key column must be replicated (route.Route.Columns checks).
func newTable(def *schema.Table, cols []int, rt *route.Route) (*Table, error) {
	t := &Table{Def: def, Cols: cols, Route: rt}
	if rt != nil && rt.Transforms() != nil {
		v, err := rt.View(def)
		if err != nil {
			return nil, err
		}
		t.view = v
		for i, c := range v.Columns {
			if c.Meta == 0 {
				t.tcols = append(t.tcols, &v.Table.Columns[i])
			}
		}
		// Metadata columns come last: the key's positions in the view are its positions
		// among the compared columns. A fan-in target's source column, which leads its
		// key, is not compared: the target is read for this table's value of it only
		// (route.Route.FanIn).
		for _, k := range v.Table.Key {
			if v.Columns[k].Meta == 0 {
				t.keyPos = append(t.keyPos, k)
			}
		}
		return t, nil
	}
	for _, k := range def.Key {
		pos := -1
		for i, c := range cols {
			if c == k {
				pos = i
			}
		}
		if pos < 0 {
			return nil, fmt.Errorf("key column %s of %s is not replicated", def.Columns[k].Name, def.QualifiedName())
		}
		t.keyPos = append(t.keyPos, pos)
	}
	if len(t.keyPos) == 0 {
		return nil, fmt.Errorf("table %s has no key", def.QualifiedName())
	}
	return t, nil
}

// Name is the source table's "db.table".
func (t *Table) Name() string { return t.Def.QualifiedName() }

// columns returns the compared columns in order, as the target holds them.
func (t *Table) columns() []*schema.Column {
	if t.view != nil {
		return t.tcols
	}
	return t.sourceColumns()
}

// comparedDef returns the definition whose columns cols are the compared columns, for an
// encoder of the rows toTarget makes: the view's table (its metadata columns, which come
// last, left out) under column transforms, the source definition otherwise.
func (t *Table) comparedDef() (*schema.Table, []int) {
	if t.view == nil {
		return t.Def, t.Cols
	}
	cols := make([]int, len(t.tcols))
	for i := range cols {
		cols[i] = i
	}
	return t.view.Table, cols
}

// sourceColumns returns the replicated source columns in order.
func (t *Table) sourceColumns() []*schema.Column {
	out := make([]*schema.Column, len(t.Cols))
	for i, c := range t.Cols {
		out[i] = &t.Def.Columns[c]
	}
	return out
}

// column returns the i-th compared column.
func (t *Table) column(i int) *schema.Column {
	if t.view != nil {
		return t.tcols[i]
	}
	return &t.Def.Columns[t.Cols[i]]
}

// firstKey is the first key column, as the target holds it.
func (t *Table) firstKey() *schema.Column { return t.column(t.keyPos[0]) }

// sourceFirstKey is the first key column at the source.
func (t *Table) sourceFirstKey() *schema.Column {
	if t.view != nil {
		return &t.Def.Columns[t.view.Columns[t.keyPos[0]].Source]
	}
	return t.firstKey()
}

// toTarget turns a source row of the replicated columns into the compared columns: the
// view's row without its metadata columns; the row itself without transforms.
func (t *Table) toTarget(r change.Row) change.Row {
	if t.view == nil {
		return r
	}
	return t.view.Selected(r, change.Origin{})[:len(t.tcols)]
}

// integerKey reports whether the first key column is an integer, so that rows can be
// selected by ranges of it on both sides alike.
func (t *Table) integerKey() bool {
	switch t.firstKey().DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return true
	}
	return false
}

// Range selects rows by the first key column: Lo < key <= Hi, an empty bound being open.
// Bounds are decimal integer texts checked by validBound, so they go into queries as
// literals.
type Range struct{ Lo, Hi string }

// whole reports whether r selects every row.
func (r Range) whole() bool { return r.Lo == "" && r.Hi == "" }

func (r Range) String() string {
	switch {
	case r.whole():
		return "all rows"
	case r.Lo == "":
		return "key <= " + r.Hi
	case r.Hi == "":
		return "key > " + r.Lo
	}
	return r.Lo + " < key <= " + r.Hi
}

// validBound reports whether s is a decimal integer, safe to use as a query literal.
func validBound(s string) bool {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return true
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// sourceQuery is the SELECT reading the replicated columns of the rows of t in r.
func sourceQuery(t *Table, r Range) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range t.sourceColumns() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(source.QuoteIdent(c.Name))
	}
	b.WriteString(" FROM ")
	b.WriteString(source.QuoteTable(t.Def.Schema, t.Def.Name))
	w := rangeWhere(source.QuoteIdent(t.sourceFirstKey().Name), r)
	if t.Route != nil && t.Route.Where() != nil {
		// Rows outside the rule's row filter are not expected at the target.
		if w == "" {
			w = " WHERE " + t.Route.Where().SQL()
		} else {
			w += " AND " + t.Route.Where().SQL()
		}
	}
	b.WriteString(w)
	return b.String()
}

// rangeWhere renders " WHERE ..." for r on the quoted column k, or "" for every row.
func rangeWhere(k string, r Range) string {
	switch {
	case r.whole():
		return ""
	case r.Lo == "":
		return " WHERE " + k + " <= " + r.Hi
	case r.Hi == "":
		return " WHERE " + k + " > " + r.Lo
	}
	return " WHERE " + k + " > " + r.Lo + " AND " + k + " <= " + r.Hi
}

// row is one row in comparison form. The row a reader hands to its callback is reused for
// the next one: clone what is kept.
type row struct {
	// key identifies the row within its table, the same on both sides.
	key string
	// first is the first key column as integer text (tables compared by ranges).
	first string
	// vals are the replicated columns in comparison form; nil is NULL.
	vals [][]byte
}

func (r *row) clone() *row {
	c := &row{key: r.key, first: r.first, vals: make([][]byte, len(r.vals))}
	for i, v := range r.vals {
		if v != nil {
			c.vals[i] = append([]byte{}, v...)
		}
	}
	return c
}

// converter turns a canonical source row (the replicated columns) into comparison form.
type converter func(change.Row) (*row, error)

// keyString joins key values unambiguously (length-prefixed).
func keyString(vals [][]byte, pos []int) string {
	if len(pos) == 1 {
		return string(vals[pos[0]])
	}
	var b strings.Builder
	for _, p := range pos {
		b.WriteString(strconv.Itoa(len(vals[p])))
		b.WriteByte(':')
		b.Write(vals[p])
	}
	return b.String()
}
