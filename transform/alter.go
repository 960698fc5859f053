package transform

import (
	"fmt"
	"strings"

	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/schema"
)

// MapAlter rewrites the clauses of an ALTER TABLE of a source table into the same clauses
// over the target's columns, so that a target translator run on the result, over the
// target views of the tracked definitions (View.Table), changes the renamed and hashed
// columns: MODIFY email becomes a change of contact_email, ADD INDEX (email) an index on
// contact_email, DROP COLUMN email drops contact_email. A hashed column keeps its CHAR(64)
// ASCII type whatever MODIFY says, without a default (defaults only fill rows the source
// writes, and those carry every value); SET/DROP DEFAULT of one is left out, and so is a
// FULLTEXT or SPATIAL index on one. table is "db.table", for messages.
//
// It refuses, naming the key to change: a RENAME COLUMN or CHANGE that renames a renamed
// or hashed column or onto such a name (CheckRename); ADD COLUMN of a column named like a
// metadata column the rule adds, or like the target name of a renamed column; and a
// foreign key with an action on a hashed column. r may be nil: the clauses are returned
// as they are.
func (r *Rules) MapAlter(table string, specs []ddl.AlterChange) ([]ddl.AlterChange, error) {
	if r == nil {
		return specs, nil
	}
	out := make([]ddl.AlterChange, 0, len(specs))
	for _, s := range specs {
		m, err := r.mapClause(table, s)
		if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// mapClause is MapAlter of one clause; nil leaves it out.
func (r *Rules) mapClause(table string, s ddl.AlterChange) (ddl.AlterChange, error) {
	switch c := s.(type) {
	case *ddl.AddColumn:
		if err := r.checkAdded(table, c.Column.Name); err != nil {
			return nil, err
		}
		m := *c
		m.Column.Name, m.Position = r.TargetName(c.Column.Name), r.position(c.Position)
		if r.Hashed(c.Column.Name) {
			m.Column, m.Default = hashedColumn(m.Column), ddl.Default{}
		}
		return &m, nil
	case *ddl.DropColumn:
		m := *c
		m.Name = r.TargetName(c.Name)
		return &m, nil
	case *ddl.ModifyColumn:
		m := *c
		m.Column.Name, m.Position = r.TargetName(c.Column.Name), r.position(c.Position)
		if r.Hashed(c.Column.Name) {
			m.Column, m.Default = hashedColumn(m.Column), ddl.Default{}
		}
		return &m, nil
	case *ddl.ChangeColumn:
		if err := r.CheckRename(table, c.OldName, c.Column.Name); err != nil {
			return nil, err
		}
		if !strings.EqualFold(c.OldName, c.Column.Name) {
			if err := r.checkAdded(table, c.Column.Name); err != nil {
				return nil, err
			}
		}
		m := *c
		m.OldName, m.Column.Name, m.Position = r.TargetName(c.OldName), r.TargetName(c.Column.Name), r.position(c.Position)
		if r.Hashed(c.OldName) {
			m.Column, m.Default = hashedColumn(m.Column), ddl.Default{}
		}
		return &m, nil
	case *ddl.RenameColumn:
		if err := r.CheckRename(table, c.OldName, c.NewName); err != nil {
			return nil, err
		}
		if err := r.checkAdded(table, c.NewName); err != nil {
			return nil, err
		}
		return c, nil
	case *ddl.SetDefault:
		if r.Hashed(c.Column) {
			return nil, nil
		}
		m := *c
		m.Column = r.TargetName(c.Column)
		return &m, nil
	case *ddl.DropDefault:
		if r.Hashed(c.Column) {
			return nil, nil
		}
		m := *c
		m.Column = r.TargetName(c.Column)
		return &m, nil
	case *ddl.AddIndex:
		ix := viewIndexes(r, &schema.Table{Indexes: []schema.Index{c.Index}})
		if len(ix) == 0 {
			return nil, nil
		}
		m := *c
		m.Index = ix[0]
		return &m, nil
	case *ddl.AddPrimaryKey:
		cols := r.TargetNames(c.Columns)
		if r.source != "" {
			cols = append([]string{r.source}, cols...)
		}
		return &ddl.AddPrimaryKey{Columns: cols}, nil
	case *ddl.AddForeignKey:
		if r.source != "" && (schema.UnloggedAction(c.ForeignKey.OnDelete) || schema.UnloggedAction(c.ForeignKey.OnUpdate)) {
			return nil, fanInForeignKey(r.rule, table, c.ForeignKey)
		}
		for _, col := range c.Columns {
			if r.Hashed(col) {
				return nil, fmt.Errorf("tables[%d].hash: ALTER TABLE %s adds foreign key %s with an action on hashed column %q, which the target would apply on clear values: hash another column, or declare the foreign key RESTRICT", r.rule, table, c.ForeignKey.Name, col)
			}
		}
		m := *c
		m.Columns = r.TargetNames(c.Columns)
		m.ForeignKey.Columns = r.TargetNames(c.ForeignKey.Columns)
		return &m, nil
	}
	return s, nil
}

// checkAdded refuses a column that appears at the source (ADD, or the new name of a
// CHANGE or RENAME) under a name the target already uses for something else.
func (r *Rules) checkAdded(table, name string) error {
	if r.source != "" && strings.EqualFold(r.source, name) {
		return fmt.Errorf("tables[%d].source_column: column %s added to %s at the source has the name of the fan-in source column: set source_column to another name, or exclude the column, and take a new snapshot", r.rule, name, table)
	}
	for _, k := range r.meta {
		if strings.EqualFold(k.Field(), name) {
			return fmt.Errorf("tables[%d].metadata: column %s added to %s at the source has the name of metadata column %s: leave %s out of metadata, or exclude the column, and copy the table again (replicator resnapshot)", r.rule, name, table, k.Field(), k.Field())
		}
	}
	for l, to := range r.rename {
		if strings.EqualFold(to, name) && !strings.EqualFold(l, name) {
			return fmt.Errorf("tables[%d].rename: column %s added to %s at the source has the name that column %q is renamed to: change tables[%d].rename or exclude the column", r.rule, name, table, r.renameSrc[l], r.rule)
		}
	}
	return nil
}

func (r *Rules) position(p ddl.Position) ddl.Position {
	if p.After != "" {
		p.After = r.TargetName(p.After)
	}
	return p
}

// TargetNames returns the target names of source columns cols (TargetName of each); nil
// for nil.
func (r *Rules) TargetNames(cols []string) []string {
	if cols == nil {
		return nil
	}
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = r.TargetName(c)
	}
	return out
}
