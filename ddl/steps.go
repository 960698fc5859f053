package ddl

import "github.com/replicator/replicator/schema"

// AlterStep is how one clause of an ALTER TABLE resolved against the table's definition:
// what a target translator needs to act per clause while the tracker applies the
// statement as a whole.
type AlterStep struct {
	// Skip marks a no-op under IF [NOT] EXISTS.
	Skip bool
	// Column is the column the clause acts on as it is after the whole statement (a later
	// clause may rename or redefine it again); nil when the clause acts on no column.
	Column *schema.Column
	// Orig is that column's name before the statement; "" for a column the statement
	// added, or when the definition is not known.
	Orig string
	// Before is the column before this clause (MODIFY, CHANGE, DROP, RENAME, defaults).
	Before *schema.Column
	// Index is the index added, dropped or renamed (named, for an unnamed ADD).
	Index string
	// Dropped is the index a DROP INDEX or DROP CONSTRAINT removed.
	Dropped *schema.Index
	// Default is, for SET DEFAULT, the default converted to the column's type.
	Default Default
}

// ResolveAlter runs the clauses of at against before, the table's definition ahead of the
// statement, and returns one AlterStep per clause (parallel to at.Specs) and the definition
// after it, as ApplyAlter does. With before nil the clauses are read as written: after is
// nil and the steps carry only what the statement itself says (a column's written
// definition, an index's name, or for an unnamed ADD INDEX its first column's).
func ResolveAlter(before *schema.Table, at *AlterTable) (steps []AlterStep, after *schema.Table, err error) {
	steps = make([]AlterStep, len(at.Specs))
	if before == nil {
		for i, spec := range at.Specs {
			steps[i] = writtenStep(spec)
		}
		return steps, nil, nil
	}
	st := newAlterState(before)
	raw := make([]step, len(at.Specs))
	for i, spec := range at.Specs {
		if raw[i], err = st.apply(spec); err != nil {
			return nil, nil, err
		}
	}
	if after, err = st.finish(); err != nil {
		return nil, nil, err
	}
	// Read only now: a column's final state is known once every clause has run.
	for i, s := range raw {
		steps[i] = AlterStep{Skip: s.skip, Before: s.before, Index: s.index, Dropped: s.dropped, Default: s.def}
		if s.col != nil {
			c := s.col.col
			steps[i].Column, steps[i].Orig = &c, s.col.orig
		}
	}
	return steps, after, nil
}

// writtenStep is a clause's step when the table's definition is not known.
func writtenStep(spec AlterChange) AlterStep {
	col := func(c schema.Column) AlterStep { return AlterStep{Column: &c} }
	switch c := spec.(type) {
	case *AddColumn:
		return col(c.Column)
	case *ModifyColumn:
		return col(c.Column)
	case *ChangeColumn:
		return col(c.Column)
	case *RenameColumn:
		return col(schema.Column{Name: c.NewName})
	case *SetDefault:
		return col(schema.Column{Name: c.Column, Nullable: true})
	case *DropDefault:
		return col(schema.Column{Name: c.Column, Nullable: true})
	case *AddIndex:
		s := AlterStep{Index: c.Index.Name}
		if s.Index == "" && len(c.Index.Columns) > 0 {
			s.Index = c.Index.Columns[0]
		}
		return s
	case *DropIndex:
		return AlterStep{Index: c.Name}
	case *DropConstraint:
		return AlterStep{Index: c.Name}
	}
	return AlterStep{}
}
