package ddl

import (
	"errors"

	"github.com/replicator/replicator/schema"
)

// Tables gives the tracked definition of a source table, or nil when it is not tracked.
// A target translator reads the definitions as they are before the change it translates.
type Tables interface {
	Lookup(db, name string) *schema.Table
}

// Catalog is a set of tracked table definitions. Apply replaces entries and never changes a
// *schema.Table in place, so a definition handed out earlier (to a row decoder, a checkpoint)
// stays valid.
type Catalog map[TableName]*schema.Table

var _ Tables = Catalog(nil)

// Lookup implements Tables.
func (c Catalog) Lookup(db, name string) *schema.Table { return c[TableName{db, name}] }

// Apply moves the catalog past one change. Table names are case-sensitive, as on a server
// with lower_case_table_names=0.
//
// A change that needs a definition the catalog does not hold returns a *NotTrackedError
// (after applying the rest of the change); a catalog that holds only the replicated tables
// ignores it when the error's Table is not replicated. A change that does not fit the
// definition it holds returns an *ApplyError and leaves that definition as it was.
func (c Catalog) Apply(ch Change) error {
	switch ch := ch.(type) {
	case *CreateTable:
		if _, ok := c[tableName(ch.Table)]; ok && ch.IfNotExists && !ch.OrReplace {
			return nil // the server kept the existing table
		}
		c[tableName(ch.Table)] = ch.Table.Clone()
	case *CreateTableLike:
		if _, ok := c[ch.Name]; ok && ch.IfNotExists && !ch.OrReplace {
			return nil
		}
		like := c[ch.Like]
		if like == nil {
			delete(c, ch.Name)
			return &NotTrackedError{Table: ch.Name, Missing: ch.Like}
		}
		c[ch.Name] = LikeTable(like, ch.Name)
	case *AlterTable:
		t := c[ch.Name]
		if t == nil {
			if ch.IfExists {
				return nil
			}
			return &NotTrackedError{Table: ch.Name, Missing: ch.Name}
		}
		nt, err := ApplyAlter(t, ch)
		if err != nil {
			return err
		}
		delete(c, ch.Name)
		c[tableName(nt)] = nt
	case *RenameTables:
		var errs []error
		for _, p := range ch.Pairs {
			t, ok := c[p.From]
			delete(c, p.From)
			if !ok || t == nil {
				delete(c, p.To)
				if !ch.IfExists {
					errs = append(errs, &NotTrackedError{Table: p.To, Missing: p.From})
				}
				continue
			}
			t = t.Clone()
			t.Schema, t.Name = p.To.Schema, p.To.Name
			c[p.To] = t
		}
		return errors.Join(errs...)
	case *DropTables:
		for _, n := range ch.Names {
			delete(c, n)
		}
	case *DropDatabase:
		for n := range c {
			if n.Schema == ch.Name {
				delete(c, n)
			}
		}
	case *TruncateTable, *CreateDatabase:
	}
	return nil
}

func tableName(t *schema.Table) TableName { return TableName{t.Schema, t.Name} }

// LikeTable is the definition CREATE TABLE name LIKE like gives: the columns, key and
// indexes, without foreign keys (which LIKE does not copy).
func LikeTable(like *schema.Table, name TableName) *schema.Table {
	t := like.Clone()
	t.Schema, t.Name = name.Schema, name.Name
	t.ForeignKeys = nil
	if !t.KeyIsPrimary {
		t.Key = nil // a configured key belongs to the table it was configured for
	}
	return t
}
