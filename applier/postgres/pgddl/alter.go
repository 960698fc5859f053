package pgddl

import (
	"strings"

	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/schema"
)

// alterPG collects the PostgreSQL side of one ALTER TABLE in phases. PostgreSQL cannot
// rename inside a multi-action ALTER TABLE, and MySQL resolves the clauses of one statement
// together (a dropped name may be reused, two columns may swap names), so the clauses are
// regrouped: drops first, then renames (through temporary names where they collide), then
// type, nullability and default changes with additions in one ALTER TABLE (one table
// rewrite), then new indexes, and the table's own rename last.
type alterPG struct {
	tr      *pgTranslator
	target  PGTarget
	src     ddl.TableName
	pkDrop  bool
	drops   []string // ALTER TABLE actions
	dropIdx []string // statements
	moves   []colMove
	renames []string // statements, after the column moves
	alters  []string // ALTER TABLE actions
	after   []string // ALTER TABLE actions that need the columns alters adds
	creates []string // statements
}

type colMove struct{ from, to string }

// alter translates ALTER TABLE (and CREATE INDEX, DROP INDEX):
//   - ADD COLUMN -> ADD COLUMN IF NOT EXISTS. A NOT NULL column without a default gets the
//     value MySQL gives the existing rows (0, the empty string, the first ENUM member, the
//     zero date as -infinity) through a DEFAULT that the next statement drops again. A
//     CURRENT_TIMESTAMP default fills the existing rows with PostgreSQL's time, not the
//     source's (noted).
//   - DROP COLUMN -> DROP COLUMN IF EXISTS; indexes and the primary key that the column
//     shared with others are re-created without it, as MySQL keeps them.
//   - MODIFY / CHANGE -> ALTER COLUMN ... TYPE t USING col::t (when the PostgreSQL type
//     changes), SET/DROP NOT NULL and SET/DROP DEFAULT (when they change), RENAME COLUMN.
//   - ALTER COLUMN SET/DROP DEFAULT, RENAME COLUMN, RENAME INDEX (ALTER INDEX IF EXISTS).
//   - ADD UNIQUE -> a unique constraint DEFERRABLE INITIALLY DEFERRED, dropped first if it
//     exists; ADD INDEX -> CREATE INDEX IF NOT EXISTS; DROP INDEX -> DROP CONSTRAINT IF
//     EXISTS (for a unique index) and DROP INDEX IF EXISTS.
//   - ADD / DROP PRIMARY KEY -> the existing primary key is dropped whatever its name (a DO
//     block), then ADD PRIMARY KEY.
func (tr *pgTranslator) alter(at *ddl.AlterTable) error {
	target, ok := tr.resolve(at.Name.Schema, at.Name.Name)
	if !ok {
		for _, s := range at.Specs {
			if r, isRename := s.(*ddl.RenameTable); isRename { // into the replicated set?
				return tr.renameTables("ALTER TABLE %s RENAME TO %s", []ddl.RenamePair{{From: at.Name, To: r.To}}, nil)
			}
		}
		return nil
	}
	before := tr.tables.Lookup(at.Name.Schema, at.Name.Name)
	if before == nil && at.IfExists {
		tr.note("%s: ALTER TABLE IF EXISTS of a table that is not tracked: nothing done", at.Name)
		return nil
	}
	steps, after, err := ddl.ResolveAlter(before, at)
	if err != nil {
		return err
	}
	a := &alterPG{tr: tr, target: target, src: at.Name}
	var renameTo *ddl.TableName
	explicit := map[string]bool{} // indexes this statement adds or drops by name
	pkExplicit := false
	for i, spec := range at.Specs {
		s := steps[i]
		if s.Skip {
			continue
		}
		switch c := spec.(type) {
		case *ddl.AddColumn:
			if err := a.addColumn(c, s); err != nil {
				return err
			}
		case *ddl.DropColumn:
			if name := oldName(s, c.Name); target.has(name) {
				a.drop("DROP COLUMN IF EXISTS " + qi(name))
			}
		case *ddl.ModifyColumn:
			if err := a.redefine(s, c.Column.Name, c.Default, "MODIFY"); err != nil {
				return err
			}
		case *ddl.ChangeColumn:
			if err := a.redefine(s, c.OldName, c.Default, "CHANGE"); err != nil {
				return err
			}
		case *ddl.RenameColumn:
			if _, err := a.renameColumn(s, c.OldName, "RENAME COLUMN"); err != nil {
				return err
			}
		case *ddl.SetDefault:
			d := s.Default
			if before == nil {
				d = c.Default
			}
			a.setDefault(*s.Column, d)
		case *ddl.DropDefault:
			if target.has(s.Column.Name) {
				a.alters = append(a.alters, "ALTER COLUMN "+qi(s.Column.Name)+" DROP DEFAULT")
			}
		case *ddl.AddIndex:
			explicit[strings.ToLower(s.Index)] = true
			ix := c.Index
			ix.Name = s.Index
			if after != nil {
				k := indexNamed(after.Indexes, s.Index)
				if k < 0 {
					continue // dropped again later in the statement
				}
				ix = after.Indexes[k]
			}
			if c.OrReplace {
				a.dropIndex(ix.Name, nil)
			}
			a.addIndex(tableOr(after, at.Name), ix)
		case *ddl.DropIndex, *ddl.DropConstraint:
			explicit[strings.ToLower(s.Index)] = true
			if before != nil && s.Dropped == nil {
				continue // DROP CONSTRAINT of a foreign key or check
			}
			a.dropIndex(s.Index, s.Dropped)
		case *ddl.RenameIndex:
			if after != nil {
				if k := indexNamed(after.Indexes, c.NewName); k >= 0 && after.Indexes[k].Kind != "" {
					continue
				}
			}
			a.renames = append(a.renames, "ALTER INDEX IF EXISTS "+qt(PGTarget{Schema: target.Schema, Table: PGIndexName(target.Table, c.OldName)})+
				" RENAME TO "+qi(PGIndexName(target.Table, c.NewName)))
		case *ddl.AddPrimaryKey:
			pkExplicit = true
			names := c.Columns
			if after != nil {
				names = after.KeyNames()
			}
			cols, err := keyColumns(names, target, "ALTER TABLE "+at.Name.String()+" ADD PRIMARY KEY")
			if err != nil {
				return err
			}
			a.pkDrop = true
			a.alters = append(a.alters, "ADD PRIMARY KEY ("+cols+")")
		case *ddl.DropPrimaryKey:
			pkExplicit = true
			a.pkDrop = true
		case *ddl.AddForeignKey:
			tr.note("%s: foreign key %s is not created in PostgreSQL", at.Name, c.ForeignKey.Name)
			if after != nil && s.Index != "" { // the index InnoDB adds for it
				if k := indexNamed(after.Indexes, s.Index); k >= 0 {
					a.addIndex(after, after.Indexes[k])
				}
			}
		case *ddl.RenameTable:
			to := c.To
			renameTo = &to
		}
	}
	if before != nil && after != nil {
		if err := a.reshrink(steps, at.Specs, before, after, explicit, pkExplicit); err != nil {
			return err
		}
	}
	a.emit()
	if renameTo != nil {
		var indexes []schema.Index
		if after != nil {
			indexes = after.Indexes
		}
		return tr.renameTables("ALTER TABLE %s RENAME TO %s", []ddl.RenamePair{{From: at.Name, To: *renameTo}}, indexes)
	}
	return nil
}

// oldName is the name a clause's column has in PostgreSQL before the statement: its name
// before the statement (drops and renames run first), or the name as written when the
// definition is not known.
func oldName(s ddl.AlterStep, written string) string {
	switch {
	case s.Column != nil && s.Orig != "":
		return s.Orig
	case s.Before != nil:
		return s.Before.Name
	}
	return written
}

func tableOr(t *schema.Table, n ddl.TableName) *schema.Table {
	if t != nil {
		return t
	}
	return &schema.Table{Schema: n.Schema, Name: n.Name}
}

func indexNamed(ixs []schema.Index, name string) int {
	for i, ix := range ixs {
		if strings.EqualFold(ix.Name, name) {
			return i
		}
	}
	return -1
}
