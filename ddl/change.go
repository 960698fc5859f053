// Package ddl turns the DDL statements of a MySQL or MariaDB binary log into a
// target-neutral list of changes and applies those changes to tracked table definitions.
// Each target translates the changes itself (the PostgreSQL target in
// applier/postgres/pgddl).
//
// The invariant it protects: after every statement, the tracked definition of a table has
// its columns in exactly the order the source server now has them, because row events are
// positional and are decoded against that definition. Parsing and tracking are kept apart
// so that the schema tracker (Apply, ApplyAlter, Catalog) and each target translator
// (pgddl.TranslatePG) read the same parsed changes:
//
//	changes, err := ddl.Parser{Flavor: ddl.MariaDB}.Parse(query, currentDB)
//	plan, err := pgddl.TranslatePG(change, catalog, resolve, pol) // with the definitions before the change
//	err = catalog.Apply(change)                              // then move the definitions on
package ddl

import (
	"github.com/replicator/replicator/schema"
)

// Flavor says which server wrote a statement: it decides how information_schema would show
// a column (display widths, JSON, default text), so that Parse fills schema.Column exactly as
// source.LoadTable does for the same definition.
type Flavor string

// Flavors. The zero value behaves as MySQL.
const (
	// MySQL is MySQL 8.0.19 or later: no integer display widths except TINYINT(1) and
	// ZEROFILL columns, JSON is its own type, string defaults are shown unquoted.
	MySQL Flavor = "mysql"
	// MariaDB is MariaDB 10.2.7 or later: integer display widths, JSON is LONGTEXT, defaults
	// are shown as SQL literals ('text', NULL, current_timestamp()).
	MariaDB Flavor = "mariadb"
)

// TableName is a source table. Schema is the database the statement named, or the session's
// current database when it named none.
type TableName struct{ Schema, Name string }

// String returns "db.table".
func (n TableName) String() string { return n.Schema + "." + n.Name }

// Change is one target-neutral schema change. The set of implementations is closed:
// *CreateTable, *CreateTableLike, *AlterTable, *RenameTables, *DropTables, *TruncateTable,
// *CreateDatabase and *DropDatabase.
type Change interface{ isChange() }

// CreateTable is CREATE TABLE with column definitions.
type CreateTable struct {
	// Table is the new definition, as source.LoadTable would read it (see Parser.Parse for
	// the fields that can differ).
	Table *schema.Table
	// Defaults holds each column's default in target-neutral form, parallel to
	// Table.Columns; Table.Columns[i].Default is the information_schema text of the same.
	Defaults    []Default
	IfNotExists bool
	// OrReplace is MariaDB's CREATE OR REPLACE TABLE: any existing table is dropped first.
	OrReplace bool
}

// CreateTableLike is CREATE TABLE name LIKE other: a copy of other's columns and indexes.
type CreateTableLike struct {
	Name, Like  TableName
	IfNotExists bool
	OrReplace   bool
}

// AlterTable is ALTER TABLE (and CREATE INDEX / DROP INDEX, which are ALTERs in disguise).
type AlterTable struct {
	Name TableName
	// Specs are the clauses that change the definition, in statement order. Clauses with no
	// effect on the tracked definition or a target (ALGORITHM, LOCK, FORCE, ORDER BY, most
	// partition management) are left out.
	Specs []AlterChange
	// IfExists is MariaDB's ALTER TABLE IF EXISTS: a missing table is not an error.
	IfExists bool
}

// RenameTables is RENAME TABLE with one or more pairs, applied in order (so a swap through a
// temporary name works as on the source).
type RenameTables struct {
	Pairs []RenamePair
	// IfExists is MariaDB's RENAME TABLE IF EXISTS: pairs whose table is missing are skipped.
	IfExists bool
}

// RenamePair is one "from TO to" of RENAME TABLE.
type RenamePair struct{ From, To TableName }

// DropTables is DROP TABLE of one or more (non-temporary) tables.
type DropTables struct {
	Names    []TableName
	IfExists bool
}

// TruncateTable is TRUNCATE TABLE: the rows go without row events, so targets must be told.
type TruncateTable struct{ Name TableName }

// CreateDatabase is CREATE DATABASE / CREATE SCHEMA.
type CreateDatabase struct {
	Name        string
	IfNotExists bool
}

// DropDatabase is DROP DATABASE / DROP SCHEMA: every table in it goes too.
type DropDatabase struct {
	Name     string
	IfExists bool
}

func (*CreateTable) isChange()     {}
func (*CreateTableLike) isChange() {}
func (*AlterTable) isChange()      {}
func (*RenameTables) isChange()    {}
func (*DropTables) isChange()      {}
func (*TruncateTable) isChange()   {}
func (*CreateDatabase) isChange()  {}
func (*DropDatabase) isChange()    {}

// AlterChange is one clause of an AlterTable. The set of implementations is closed:
// *AddColumn, *DropColumn, *ModifyColumn, *ChangeColumn, *RenameColumn, *SetDefault,
// *DropDefault, *AddIndex, *DropIndex, *DropConstraint, *RenameIndex, *AddPrimaryKey,
// *DropPrimaryKey, *AddForeignKey, *DropForeignKey, *RenameTable, *SetTableOptions and
// *ConvertCharset.
type AlterChange interface{ isAlterChange() }

// PositionKind says where a column goes.
type PositionKind int

// Column positions.
const (
	// PositionDefault is the end of the table for ADD COLUMN, and "where it is" for MODIFY
	// and CHANGE.
	PositionDefault PositionKind = iota
	PositionFirst
	PositionAfter
)

// Position is a column's FIRST / AFTER clause.
type Position struct {
	Kind  PositionKind
	After string // the column named by AFTER
}

// AddColumn is ADD [COLUMN]. A column with an inline PRIMARY KEY or UNIQUE is followed by an
// AddPrimaryKey or AddIndex in the same AlterTable, as MySQL creates one.
type AddColumn struct {
	Column      schema.Column
	Default     Default
	Position    Position
	IfNotExists bool
}

// DropColumn is DROP [COLUMN]. MySQL removes the column from every index holding it, and
// drops an index that is left without columns.
type DropColumn struct {
	Name     string
	IfExists bool
}

// ModifyColumn is MODIFY [COLUMN]: a new definition for an existing column, keeping its place
// unless Position moves it. Column.Name is the name as written (MySQL takes its case).
type ModifyColumn struct {
	Column   schema.Column
	Default  Default
	Position Position
	IfExists bool
}

// ChangeColumn is CHANGE [COLUMN]: rename and redefine, keeping the place unless Position
// moves it.
type ChangeColumn struct {
	OldName  string
	Column   schema.Column
	Default  Default
	Position Position
	IfExists bool
}

// RenameColumn is RENAME COLUMN old TO new (MySQL 8, MariaDB 10.5).
type RenameColumn struct{ OldName, NewName string }

// SetDefault is ALTER [COLUMN] c SET DEFAULT. The statement does not give the column's type,
// so a constant is in Default.Value as written; Apply and ResolveAlter convert it to the
// tracked column's type.
type SetDefault struct {
	Column  string
	Default Default
	// Flavor decides how Apply writes schema.Column.Default.
	Flavor Flavor
	lit    *literal // the constant before conversion, when Parse made this change
}

// DropDefault is ALTER [COLUMN] c DROP DEFAULT.
type DropDefault struct {
	Column string
	Flavor Flavor
}

// AddIndex is ADD INDEX / KEY / UNIQUE / FULLTEXT / SPATIAL, and CREATE INDEX. An empty
// Index.Name is named by Apply the way MySQL names it: after its first column, with a _2,
// _3... suffix when that name is taken. Key parts that are expressions are left out of
// Index.Columns (as information_schema shows no column for them); an index with no column
// left is not reported at all.
type AddIndex struct {
	// Index.Lengths holds the key parts' prefix lengths.
	Index       schema.Index
	IfNotExists bool
	// OrReplace is MariaDB's CREATE OR REPLACE INDEX: an index of the same name goes first.
	OrReplace bool
}

// DropIndex is DROP INDEX / DROP KEY (DROP INDEX `PRIMARY` is a DropPrimaryKey).
type DropIndex struct {
	Name     string
	IfExists bool
}

// DropConstraint is DROP CONSTRAINT name (MySQL 8.0.19, MariaDB), which drops whichever
// unique index, foreign key or check constraint has that name.
type DropConstraint struct {
	Name     string
	IfExists bool
}

// RenameIndex is RENAME INDEX / RENAME KEY.
type RenameIndex struct{ OldName, NewName string }

// AddPrimaryKey is ADD PRIMARY KEY, including an inline PRIMARY KEY of ADD COLUMN. MySQL makes
// the key columns NOT NULL.
type AddPrimaryKey struct{ Columns []string }

// DropPrimaryKey is DROP PRIMARY KEY.
type DropPrimaryKey struct{}

// AddForeignKey is ADD [CONSTRAINT] FOREIGN KEY. Apply tracks it only when an action is one
// that the binary log does not record (see schema.ForeignKey). As InnoDB does, Apply also adds
// an index on Columns unless an index already starts with them; it is named like the foreign
// key, or after its first column when the key has no name (ForeignKey.Name is then empty and
// Apply names the key <table>_ibfk_<n>).
type AddForeignKey struct {
	ForeignKey schema.ForeignKey
	Columns    []string
}

// DropForeignKey is DROP FOREIGN KEY.
type DropForeignKey struct{ Name string }

// RenameTable is ALTER TABLE ... RENAME [TO|AS] new.
type RenameTable struct{ To TableName }

// SetTableOptions carries the table options that the tracked definition records; nil fields
// are unchanged.
type SetTableOptions struct{ Engine, Comment *string }

// ConvertCharset is CONVERT TO CHARACTER SET: every string column takes the character set and
// collation (Collation is empty when the statement names none).
type ConvertCharset struct{ Charset, Collation string }

func (*AddColumn) isAlterChange()       {}
func (*DropColumn) isAlterChange()      {}
func (*ModifyColumn) isAlterChange()    {}
func (*ChangeColumn) isAlterChange()    {}
func (*RenameColumn) isAlterChange()    {}
func (*SetDefault) isAlterChange()      {}
func (*DropDefault) isAlterChange()     {}
func (*AddIndex) isAlterChange()        {}
func (*DropIndex) isAlterChange()       {}
func (*DropConstraint) isAlterChange()  {}
func (*RenameIndex) isAlterChange()     {}
func (*AddPrimaryKey) isAlterChange()   {}
func (*DropPrimaryKey) isAlterChange()  {}
func (*AddForeignKey) isAlterChange()   {}
func (*DropForeignKey) isAlterChange()  {}
func (*RenameTable) isAlterChange()     {}
func (*SetTableOptions) isAlterChange() {}
func (*ConvertCharset) isAlterChange()  {}

// DefaultKind classifies a column default.
type DefaultKind int

// Default kinds.
const (
	// NoDefault: the definition has no DEFAULT clause.
	NoDefault DefaultKind = iota
	// DefaultNull is DEFAULT NULL.
	DefaultNull
	// DefaultLiteral is a constant; Value holds it as the column stores it (see Default).
	DefaultLiteral
	// DefaultCurrentTimestamp is CURRENT_TIMESTAMP, NOW(), LOCALTIME or LOCALTIMESTAMP;
	// Value holds the fractional seconds precision ("" when none was given).
	DefaultCurrentTimestamp
	// DefaultExpression is any other expression (MySQL 8.0.13 / MariaDB 10.2); Value holds
	// its SQL text.
	DefaultExpression
)

// Default is a column default in target-neutral form. A literal's Value is already converted
// to the column's type the way the source converts it: numbers in plain decimal notation
// (scaled for DECIMAL: 1 -> "1.00"), TRUE -> "1", BIT values as binary digits without leading
// zeros ("101"), strings and binary strings as their raw content.
type Default struct {
	Kind  DefaultKind
	Value string
}

// Touched lists the tables a change names, before and after renames, and the databases
// it creates or drops: what decides whether a statement concerns the replicated tables.
func Touched(ch Change) (tables []TableName, databases []string) {
	switch c := ch.(type) {
	case *CreateTable:
		return []TableName{{Schema: c.Table.Schema, Name: c.Table.Name}}, nil
	case *CreateTableLike:
		return []TableName{c.Name}, nil
	case *AlterTable:
		out := []TableName{c.Name}
		for _, s := range c.Specs {
			if r, ok := s.(*RenameTable); ok {
				out = append(out, r.To)
			}
		}
		return out, nil
	case *RenameTables:
		var out []TableName
		for _, p := range c.Pairs {
			out = append(out, p.From, p.To)
		}
		return out, nil
	case *DropTables:
		return c.Names, nil
	case *TruncateTable:
		return []TableName{c.Name}, nil
	case *CreateDatabase:
		return nil, []string{c.Name}
	case *DropDatabase:
		return nil, []string{c.Name}
	}
	return nil, nil
}
