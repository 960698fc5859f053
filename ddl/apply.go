package ddl

import (
	"github.com/replicator/replicator/schema"
)

// Apply applies one ALTER TABLE clause to a copy of t and returns the copy; t is not changed.
// To apply a whole statement use ApplyAlter, which resolves column names the way MySQL does
// for several clauses at once.
func Apply(t *schema.Table, ch AlterChange) (*schema.Table, error) {
	st := newAlterState(t)
	if _, err := st.apply(ch); err != nil {
		return nil, err
	}
	return st.finish()
}

// ApplyAlter applies every clause of at to a copy of t and returns the copy; t is not
// changed. As on the server, the clauses act together: a name in DROP, MODIFY, CHANGE and
// RENAME COLUMN refers to the table as it was before the statement (so "RENAME COLUMN a TO
// b, RENAME COLUMN b TO a" swaps), while AFTER and index column lists refer to the new
// names. Column order comes out as the server builds it (mysql_prepare_alter_table): first
// the columns of the old table in their order, without the dropped ones, under their new
// names; then, in statement order, each added column goes to the end, FIRST or AFTER a
// column of that list, and each column a MODIFY or CHANGE moves is taken out and put back
// FIRST or AFTER one. (So AFTER may name a column that a later clause renames.)
func ApplyAlter(t *schema.Table, at *AlterTable) (*schema.Table, error) {
	st := newAlterState(t)
	for _, ch := range at.Specs {
		if _, err := st.apply(ch); err != nil {
			return nil, err
		}
	}
	return st.finish()
}

func (st *alterState) apply(ch AlterChange) (step, error) {
	switch c := ch.(type) {
	case *AddColumn:
		if st.current(c.Column.Name) != nil {
			if c.IfNotExists {
				return step{skip: true}, nil
			}
			return step{}, st.fail("column %s already exists", c.Column.Name)
		}
		w := &wcol{col: c.Column}
		w.col.Elems = append([]string(nil), c.Column.Elems...)
		st.cols = append(st.cols, w)
		st.placements = append(st.placements, placement{w, c.Position})
		return step{col: w}, nil
	case *DropColumn:
		w := st.original(c.Name)
		if w == nil {
			if c.IfExists {
				return step{skip: true}, nil
			}
			return step{}, st.fail("column %s to drop does not exist", c.Name)
		}
		before := w.col
		st.remove(w)
		st.dropFromKeys(w)
		return step{col: w, before: &before}, nil
	case *ModifyColumn:
		return st.redefine(c.Column.Name, c.Column, c.Position, c.IfExists)
	case *ChangeColumn:
		return st.redefine(c.OldName, c.Column, c.Position, c.IfExists)
	case *RenameColumn:
		w := st.original(c.OldName)
		if w == nil {
			return step{}, st.fail("column %s to rename does not exist", c.OldName)
		}
		before := w.col
		w.col.Name = c.NewName
		return step{col: w, before: &before}, nil
	case *SetDefault:
		w := st.existing(c.Column)
		if w == nil {
			return step{}, st.fail("column %s does not exist", c.Column)
		}
		before := w.col
		d := c.Default
		if c.lit != nil && d.Kind == DefaultLiteral {
			d.Value = convertLiteral(&w.col, *c.lit)
		}
		w.col.Default = infoDefault(&w.col, d, c.Flavor)
		w.col.DefaultExpr = d.Kind == DefaultExpression
		return step{col: w, before: &before, def: d}, nil
	case *DropDefault:
		w := st.existing(c.Column)
		if w == nil {
			return step{}, st.fail("column %s does not exist", c.Column)
		}
		before := w.col
		w.col.Default = infoDefault(&w.col, Default{}, c.Flavor)
		w.col.DefaultExpr = false
		return step{col: w, before: &before}, nil
	case *AddIndex:
		return st.addIndex(c)
	case *DropIndex:
		i := st.index(c.Name)
		if i < 0 {
			if c.IfExists {
				return step{skip: true}, nil
			}
			return step{}, st.fail("index %s to drop does not exist", c.Name)
		}
		return st.dropIndex(i), nil
	case *DropConstraint:
		if i := st.index(c.Name); i >= 0 {
			return st.dropIndex(i), nil
		}
		st.dropForeignKey(c.Name)
		return step{index: c.Name}, nil
	case *RenameIndex:
		i := st.index(c.OldName)
		if i < 0 {
			return step{}, st.fail("index %s to rename does not exist", c.OldName)
		}
		if j := st.index(c.NewName); j >= 0 && j != i {
			return step{}, st.fail("index %s already exists", c.NewName)
		}
		st.idx[i].ix.Name = c.NewName
		return step{index: c.OldName}, nil
	case *AddPrimaryKey:
		if st.keyIsPrimary && len(st.key) > 0 {
			return step{}, st.fail("table already has a primary key")
		}
		var key []*wcol
		for _, n := range c.Columns {
			w := st.current(n)
			if w == nil {
				return step{}, st.fail("primary key column %s does not exist", n)
			}
			makeNotNull(&w.col)
			key = append(key, w)
		}
		st.key, st.keyIsPrimary = key, true
		return step{}, nil
	case *DropPrimaryKey:
		if !st.keyIsPrimary {
			return step{}, st.fail("table has no primary key to drop")
		}
		st.key, st.keyIsPrimary = nil, false
		return step{}, nil
	case *AddForeignKey:
		fk := c.ForeignKey
		s := step{}
		if len(c.Columns) > 0 {
			cur := &schema.Table{Columns: nil, Indexes: st.indexes()}
			if st.keyIsPrimary {
				cur.Key, cur.KeyIsPrimary = make([]int, len(st.key)), true
				for i, k := range st.key {
					cur.Columns = append(cur.Columns, k.col)
					cur.Key[i] = i
				}
			}
			if !coveredBy(cur, c.Columns) && (fk.Name == "" || st.index(fk.Name) < 0) {
				added, err := st.addIndex(&AddIndex{Index: schema.Index{Name: fk.Name, Columns: c.Columns}})
				if err != nil {
					return step{}, err
				}
				s.index = added.index
			}
		}
		if unloggedAction(fk.OnDelete) || unloggedAction(fk.OnUpdate) {
			if fk.Name == "" {
				fk.Name = st.foreignKeyName()
			}
			st.t.ForeignKeys = append(st.t.ForeignKeys, fk)
		}
		return s, nil
	case *DropForeignKey:
		st.dropForeignKey(c.Name)
		return step{}, nil
	case *RenameTable:
		st.t.Schema, st.t.Name = c.To.Schema, c.To.Name
		return step{}, nil
	case *SetTableOptions:
		if c.Engine != nil {
			st.t.Engine = *c.Engine
		}
		if c.Comment != nil {
			st.t.Comment = *c.Comment
		}
		return step{}, nil
	case *ConvertCharset:
		for _, w := range st.cols {
			if isStringType(w.col.DataType) {
				w.col.Charset, w.col.Collation = c.Charset, c.Collation
			}
		}
		return step{}, nil
	}
	return step{}, st.fail("unknown change %T", ch)
}

// redefine is MODIFY and CHANGE: a new definition in the column's place (or where pos says).
func (st *alterState) redefine(old string, col schema.Column, pos Position, ifExists bool) (step, error) {
	w := st.original(old)
	if w == nil || w.moved {
		if ifExists {
			return step{skip: true}, nil
		}
		return step{}, st.fail("column %s to change does not exist", old)
	}
	before := w.col
	w.col = col
	w.col.Elems = append([]string(nil), col.Elems...)
	for _, k := range st.key {
		if k == w {
			makeNotNull(&w.col) // the server keeps primary key columns NOT NULL
		}
	}
	if pos.Kind != PositionDefault {
		w.moved = true
		st.placements = append(st.placements, placement{w, pos})
	}
	return step{col: w, before: &before}, nil
}

// makeNotNull makes a column NOT NULL, as a primary key does; MariaDB then shows no default
// where it showed NULL.
func makeNotNull(c *schema.Column) {
	if c.Nullable && c.Default != nil && *c.Default == "NULL" {
		c.Default = nil
	}
	c.Nullable = false
}
