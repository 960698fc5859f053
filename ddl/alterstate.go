package ddl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/replicator/replicator/schema"
)

// wcol is a column while a statement is applied.
type wcol struct {
	col     schema.Column
	orig    string // the name before the statement; "" for a column the statement added
	dropped bool
	moved   bool // a MODIFY or CHANGE with FIRST or AFTER
}

// placement is an added or moved column, placed at the end in statement order.
type placement struct {
	col *wcol
	pos Position
}

type windex struct {
	ix   schema.Index // Columns and Lengths are rebuilt from cols and lens at the end
	cols []*wcol
	lens []int // prefix lengths, parallel to cols
}

// add appends a key part.
func (w *windex) add(c *wcol, length int) {
	w.cols = append(w.cols, c)
	w.lens = append(w.lens, length)
}

// without removes a column's key part, with its prefix length.
func (w *windex) without(c *wcol) {
	cols, lens := w.cols[:0:0], w.lens[:0:0]
	for i, x := range w.cols {
		if x != c {
			cols, lens = append(cols, x), append(lens, w.lens[i])
		}
	}
	w.cols, w.lens = cols, lens
}

// index writes the index out, its Lengths nil when no part has a prefix.
func (w *windex) index() schema.Index {
	ix := w.ix
	ix.Columns, ix.Lengths = names(w.cols), nil
	for _, l := range w.lens {
		if l > 0 {
			ix.Lengths = append([]int(nil), w.lens...)
			break
		}
	}
	return ix
}

func partLength(lengths []int, i int) int {
	if i < len(lengths) {
		return lengths[i]
	}
	return 0
}

// alterState applies the clauses of one statement. Columns are tracked by identity, not by
// name or position, so that swaps, moves and drops in one statement cannot confuse the key
// and the indexes.
type alterState struct {
	t            *schema.Table
	old          []*wcol // the columns before the statement, in their order
	cols         []*wcol // the live columns, for name lookups (order does not matter)
	placements   []placement
	key          []*wcol
	keyIsPrimary bool
	idx          []*windex
}

// step tells a translator how one clause resolved against the table.
type step struct {
	skip    bool           // a no-op under IF [NOT] EXISTS
	col     *wcol          // the column acted on; its final state is col.col
	before  *schema.Column // that column before the clause (MODIFY, CHANGE, DROP, RENAME, defaults)
	index   string         // the index added, dropped or renamed (named, for an unnamed ADD)
	dropped *schema.Index  // the index a DROP INDEX or DROP CONSTRAINT removed
	def     Default        // SET DEFAULT: the default converted to the column's type
}

func newAlterState(t *schema.Table) *alterState {
	st := &alterState{t: t.Clone(), keyIsPrimary: t.KeyIsPrimary}
	for _, c := range st.t.Columns {
		st.cols = append(st.cols, &wcol{col: c, orig: c.Name})
	}
	st.old = append([]*wcol(nil), st.cols...)
	for _, k := range t.Key {
		if k >= 0 && k < len(st.cols) {
			st.key = append(st.key, st.cols[k])
		}
	}
	for _, ix := range st.t.Indexes {
		w := &windex{ix: ix}
		for j, n := range ix.Columns {
			c := st.current(n)
			if c == nil { // an index on a column the definition lacks: keep the name as is
				c = &wcol{col: schema.Column{Name: n}}
			}
			w.add(c, partLength(ix.Lengths, j))
		}
		st.idx = append(st.idx, w)
	}
	return st
}

func (st *alterState) fail(format string, args ...any) error {
	return &ApplyError{Table: TableName{st.t.Schema, st.t.Name}, Reason: fmt.Sprintf(format, args...)}
}

// original finds a column by its name before the statement.
func (st *alterState) original(name string) *wcol {
	for _, c := range st.cols {
		if c.orig != "" && strings.EqualFold(c.orig, name) {
			return c
		}
	}
	return nil
}

// current finds a column by its name now.
func (st *alterState) current(name string) *wcol {
	for _, c := range st.cols {
		if strings.EqualFold(c.col.Name, name) {
			return c
		}
	}
	return nil
}

// existing finds the column an ALTER COLUMN names: by its original name, or by its current
// name for a column that an earlier clause added.
func (st *alterState) existing(name string) *wcol {
	if c := st.original(name); c != nil {
		return c
	}
	if c := st.current(name); c != nil && c.orig == "" {
		return c
	}
	return nil
}

func (st *alterState) index(name string) int {
	for i, w := range st.idx {
		if strings.EqualFold(w.ix.Name, name) {
			return i
		}
	}
	return -1
}

func (st *alterState) remove(c *wcol) {
	c.dropped = true
	for i, x := range st.cols {
		if x == c {
			st.cols = append(st.cols[:i], st.cols[i+1:]...)
			return
		}
	}
}

// dropFromKeys removes a dropped column from the key and the indexes; as on the server, an
// index left without columns is dropped.
func (st *alterState) dropFromKeys(w *wcol) {
	st.key = without(st.key, w)
	if len(st.key) == 0 {
		st.keyIsPrimary = false
	}
	kept := st.idx[:0]
	for _, ix := range st.idx {
		ix.without(w)
		if len(ix.cols) > 0 {
			kept = append(kept, ix)
		}
	}
	st.idx = kept
}

func without(cols []*wcol, w *wcol) []*wcol {
	out := cols[:0:0]
	for _, c := range cols {
		if c != w {
			out = append(out, c)
		}
	}
	return out
}

func (st *alterState) addIndex(c *AddIndex) (step, error) {
	name := c.Index.Name
	if c.OrReplace && name != "" {
		if i := st.index(name); i >= 0 {
			st.dropIndex(i)
		}
	}
	if len(c.Index.Columns) == 0 {
		return step{}, st.fail("index without columns")
	}
	w := &windex{ix: c.Index}
	for j, n := range c.Index.Columns {
		col := st.current(n)
		if col == nil {
			return step{}, st.fail("index column %s does not exist", n)
		}
		w.add(col, partLength(c.Index.Lengths, j))
	}
	if name == "" {
		name = uniqueIndexName(&schema.Table{Indexes: st.indexes()}, w.cols[0].col.Name)
	} else if st.index(name) >= 0 || strings.EqualFold(name, "PRIMARY") {
		if c.IfNotExists {
			return step{skip: true, index: name}, nil
		}
		return step{}, st.fail("index %s already exists", name)
	}
	w.ix.Name = name
	w.ix.Columns, w.ix.Lengths = nil, nil
	st.idx = append(st.idx, w)
	return step{index: name}, nil
}

func (st *alterState) dropIndex(i int) step {
	ix := st.idx[i].index()
	st.idx = append(st.idx[:i], st.idx[i+1:]...)
	return step{index: ix.Name, dropped: &ix}
}

func (st *alterState) dropForeignKey(name string) {
	kept := st.t.ForeignKeys[:0]
	for _, fk := range st.t.ForeignKeys {
		if !strings.EqualFold(fk.Name, name) {
			kept = append(kept, fk)
		}
	}
	st.t.ForeignKeys = kept
}

// foreignKeyName is InnoDB's name for an unnamed foreign key, <table>_ibfk_<n>, with n one
// past the highest tracked (the tracked list holds only some keys, so this can guess low).
func (st *alterState) foreignKeyName() string {
	prefix := st.t.Name + "_ibfk_"
	n := 0
	for _, fk := range st.t.ForeignKeys {
		if s, ok := strings.CutPrefix(fk.Name, prefix); ok {
			if v, err := strconv.Atoi(s); err == nil && v > n {
				n = v
			}
		}
	}
	return prefix + strconv.Itoa(n+1)
}

func names(cols []*wcol) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.col.Name
	}
	return out
}

func (st *alterState) indexes() []schema.Index {
	out := make([]schema.Index, len(st.idx))
	for i, w := range st.idx {
		out[i] = w.index()
	}
	return out
}

// finish checks the result and writes it out.
func (st *alterState) finish() (*schema.Table, error) {
	if len(st.cols) == 0 {
		return nil, st.fail("no columns left")
	}
	var order []*wcol
	for _, c := range st.old {
		if !c.dropped {
			order = append(order, c)
		}
	}
	for _, p := range st.placements {
		if p.col.dropped {
			continue
		}
		for i, c := range order {
			if c == p.col {
				order = append(order[:i], order[i+1:]...)
				break
			}
		}
		at := len(order)
		switch p.pos.Kind {
		case PositionFirst:
			at = 0
		case PositionAfter:
			at = -1
			for i, c := range order {
				if strings.EqualFold(c.col.Name, p.pos.After) {
					at = i + 1
				}
			}
			if at < 0 {
				return nil, st.fail("column %s named by AFTER does not exist", p.pos.After)
			}
		}
		order = append(order, nil)
		copy(order[at+1:], order[at:])
		order[at] = p.col
	}
	seen := map[string]bool{}
	t := st.t
	t.Columns = make([]schema.Column, len(order))
	at := map[*wcol]int{}
	for i, c := range order {
		l := strings.ToLower(c.col.Name)
		if seen[l] {
			return nil, st.fail("duplicate column %s", c.col.Name)
		}
		seen[l] = true
		t.Columns[i] = c.col
		at[c] = i
	}
	t.Key = nil
	for _, k := range st.key {
		t.Key = append(t.Key, at[k])
	}
	t.KeyIsPrimary = st.keyIsPrimary && len(t.Key) > 0
	t.Indexes = st.indexes()
	return t, nil
}
