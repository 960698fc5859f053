// Package schema is the source-neutral model of a replicated table's definition: the
// columns in their binlog order, the identity key and the secondary indexes. It is what the
// schema tracker keeps up to date and what row events are decoded against.
package schema

import (
	"fmt"
	"strings"
)

// Table is one source table's definition.
type Table struct {
	Schema string
	Name   string
	// Columns holds every column in ordinal order, including ones the configuration
	// excludes: row events are positional, so the full list is needed to decode them.
	Columns []Column
	// Key lists the identity columns (indexes into Columns): the primary key, or the
	// configured key of a table without one. Empty when the table has neither.
	Key []int
	// KeyIsPrimary is true when Key is the table's own primary key.
	KeyIsPrimary bool
	// Indexes are the secondary indexes, unique or not, excluding the primary key.
	Indexes []Index
	// ForeignKeys with actions MySQL does not write to the binary log.
	ForeignKeys []ForeignKey
	Engine      string
	Comment     string
}

// Column is one column of a Table.
type Column struct {
	Name string
	// DataType is information_schema's DATA_TYPE, lower case ("int", "varchar", "enum").
	DataType string
	// ColumnType is the full type ("int(10) unsigned", "enum('a','b')").
	ColumnType string
	Unsigned   bool
	Nullable   bool
	// CharLength is the maximum length in characters of a string type; for BINARY and
	// VARBINARY it is bytes.
	CharLength int64
	Precision  int // DECIMAL precision, or BIT width
	Scale      int // DECIMAL scale
	// FracDigits is the fractional seconds precision of TIME, DATETIME and TIMESTAMP.
	FracDigits int
	Charset    string
	Collation  string
	// Default is the column default as information_schema shows it; nil means none.
	Default *string
	// DefaultExpr marks a Default that the server evaluates for each row (an expression
	// other than CURRENT_TIMESTAMP), which MySQL's information_schema shows bare like a
	// string constant (EXTRA says DEFAULT_GENERATED).
	DefaultExpr bool `json:",omitempty"`
	// Generated is "", "STORED" or "VIRTUAL".
	Generated string
	Invisible bool
	// JSONValid marks MariaDB's JSON: a text column (JSON is an alias of LONGTEXT there)
	// with a CHECK (json_valid(col)) constraint, so every value is JSON text or NULL.
	JSONValid bool `json:",omitempty"`
	// Elems are the members of an ENUM or SET, in definition order.
	Elems         []string
	AutoIncrement bool
	Comment       string
}

// Index is a secondary index.
type Index struct {
	Name    string
	Unique  bool
	Columns []string
	// Kind is "", "FULLTEXT" or "SPATIAL": kinds other targets may not have.
	Kind string
	// Lengths are the prefix lengths of the key parts, parallel to Columns (0 for a whole
	// column); nil when no part has one.
	Lengths []int `json:",omitempty"`
}

// ForeignKey is a foreign key whose ON DELETE/UPDATE action changes rows that the binary
// log does not record (CASCADE, SET NULL, SET DEFAULT).
type ForeignKey struct {
	Name               string
	OnDelete, OnUpdate string
	RefTable           string
	// RefSchema is the referenced table's database; empty means the table's own.
	RefSchema string `json:",omitempty"`
	// Columns are the referencing columns, RefColumns the referenced ones, pairwise. A
	// definition stored before they were tracked has neither: its actions cannot be
	// applied to the target (see FKGraph).
	Columns    []string `json:",omitempty"`
	RefColumns []string `json:",omitempty"`
}

// QualifiedName is "db.table".
func (t *Table) QualifiedName() string { return t.Schema + "." + t.Name }

// ColumnIndex returns the position of the named column (case-insensitive, as MySQL column
// names are), or -1.
func (t *Table) ColumnIndex(name string) int {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return i
		}
	}
	return -1
}

// KeyNames returns the identity column names.
func (t *Table) KeyNames() []string {
	out := make([]string, len(t.Key))
	for i, k := range t.Key {
		out[i] = t.Columns[k].Name
	}
	return out
}

// SetKey makes the named columns the identity key, for a table without a primary key.
func (t *Table) SetKey(names []string) error {
	key := make([]int, 0, len(names))
	for _, n := range names {
		i := t.ColumnIndex(n)
		if i < 0 {
			return fmt.Errorf("key column %q does not exist in %s", n, t.QualifiedName())
		}
		key = append(key, i)
	}
	t.Key, t.KeyIsPrimary = key, false
	return nil
}

// Clone returns a deep copy, so a tracker can change one version without touching another.
func (t *Table) Clone() *Table {
	c := *t
	c.Columns = make([]Column, len(t.Columns))
	for i, col := range t.Columns {
		col.Elems = append([]string(nil), col.Elems...)
		if col.Default != nil {
			d := *col.Default
			col.Default = &d
		}
		c.Columns[i] = col
	}
	c.Key = append([]int(nil), t.Key...)
	c.Indexes = make([]Index, len(t.Indexes))
	for i, ix := range t.Indexes {
		ix.Columns = append([]string(nil), ix.Columns...)
		if ix.Lengths != nil {
			ix.Lengths = append([]int(nil), ix.Lengths...)
		}
		c.Indexes[i] = ix
	}
	c.ForeignKeys = make([]ForeignKey, len(t.ForeignKeys))
	for i, fk := range t.ForeignKeys {
		fk.Columns = append([]string(nil), fk.Columns...)
		fk.RefColumns = append([]string(nil), fk.RefColumns...)
		c.ForeignKeys[i] = fk
	}
	if t.ForeignKeys == nil {
		c.ForeignKeys = nil
	}
	return &c
}
