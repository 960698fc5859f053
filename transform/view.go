package transform

import (
	"fmt"
	"strings"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// Origin is where a row came from, for the metadata columns: in the stream the
// transaction's GTID and commit time (the event header's, seconds); in a snapshot or an
// online copy the GTID set of the position the rows were read at and a zero time,
// written as NULL.
type Origin = change.Origin

// CommitTimeLayout is the canonical form of the commit time (a TIMESTAMP's, in UTC).
const CommitTimeLayout = "2006-01-02 15:04:05"

// Column is one column of a View: a source column (renamed, hashed or as it is) or a
// metadata column.
type Column struct {
	// Source is the index of the source column in the definition's Columns, -1 for a
	// metadata column.
	Source int
	// Hashed marks a source column whose value travels as its hash.
	Hashed bool
	// Meta is the metadata column's kind, 0 for a source column.
	Meta MetaKind
}

// View is the target's side of one table definition under a rule's transforms.
type View struct {
	// Table is the definition the target holds: the travelling columns under their target
	// names, hashed ones as CHAR(64) ASCII, metadata columns last; the key and the
	// indexes over those columns. It is what the target's tables, mappings and encoders
	// are built from.
	Table *schema.Table
	// Columns say, parallel to Table.Columns, where each value comes from.
	Columns []Column

	def    *schema.Table
	hasher *Hasher
	hashed int // how many columns are hashed, to size a row's buffer
}

// View returns the target view of def, whose travelling columns are cols (indexes into
// def.Columns, from route.Columns). r may be nil (no transforms): the view then holds the
// columns as they are. It refuses a definition the transforms do not fit: a renamed or
// hashed column that does not exist (for a rule of one table; a pattern's transforms apply
// where they fit), a rename onto another travelling column's name, a source column named
// like a metadata column the rule adds, and a hashed column in a foreign key with an
// action (the action would compare clear values with hashes).
func (r *Rules) View(def *schema.Table, cols []int, wildcard bool) (*View, error) {
	v := &View{def: def, hasher: r.Hasher()}
	t := &schema.Table{Schema: def.Schema, Name: def.Name, KeyIsPrimary: def.KeyIsPrimary, Engine: def.Engine, Comment: def.Comment}
	pos := map[int]int{} // source index -> view index
	names := map[string]string{}
	if r != nil && !wildcard {
		for l, src := range r.renameSrc {
			if def.ColumnIndex(l) < 0 {
				return nil, fmt.Errorf("tables[%d].rename: column %q does not exist in %s", r.rule, src, def.QualifiedName())
			}
		}
		for _, src := range r.hashList {
			if def.ColumnIndex(src) < 0 {
				return nil, fmt.Errorf("tables[%d].hash: column %q does not exist in %s", r.rule, src, def.QualifiedName())
			}
		}
	}
	for _, i := range cols {
		c := def.Columns[i]
		col := Column{Source: i, Hashed: r.Hashed(c.Name)}
		c.Name = r.TargetName(c.Name)
		if other, dup := names[strings.ToLower(c.Name)]; dup {
			renamed, to, kept := def.Columns[i].Name, c.Name, other
			if strings.EqualFold(renamed, to) {
				// This column keeps its name: the earlier one was renamed onto it.
				renamed, to, kept = other, r.TargetName(other), renamed
			}
			return nil, fmt.Errorf("tables[%d].rename: column %q of %s renamed to %q, the name of column %q, which is replicated too: rename or exclude one of them", r.rule, renamed, def.QualifiedName(), to, kept)
		}
		names[strings.ToLower(c.Name)] = def.Columns[i].Name
		if col.Hashed {
			c = hashedColumn(c)
			v.hashed++
		}
		pos[i] = len(t.Columns)
		t.Columns = append(t.Columns, c)
		v.Columns = append(v.Columns, col)
	}
	sourcePos := -1
	if src := r.Source(); src != "" {
		if other, dup := names[strings.ToLower(src)]; dup {
			return nil, fmt.Errorf("tables[%d].source_column: %s already has a column named %s (source column %q), the fan-in source column: set source_column to another name, or rename or exclude the column", r.rule, def.QualifiedName(), src, other)
		}
		names[strings.ToLower(src)] = src
		sourcePos = len(t.Columns)
		t.Columns = append(t.Columns, sourceColumn(src))
		v.Columns = append(v.Columns, Column{Source: -1, Meta: MetaSource})
	}
	for _, k := range r.Metadata() {
		if other, dup := names[strings.ToLower(k.Field())]; dup {
			return nil, fmt.Errorf("tables[%d].metadata: %s already has a column named %s (source column %q): leave %s out of metadata, or rename or exclude the column", r.rule, def.QualifiedName(), k.Field(), other, k.Field())
		}
		names[strings.ToLower(k.Field())] = k.Field()
		t.Columns = append(t.Columns, metaColumn(k))
		v.Columns = append(v.Columns, Column{Source: -1, Meta: k})
	}
	if sourcePos >= 0 && len(def.Key) > 0 {
		// The source table leads the key: equal keys of two source tables are two rows.
		t.Key = append(t.Key, sourcePos)
	}
	for _, k := range def.Key {
		p, ok := pos[k]
		if !ok {
			return nil, fmt.Errorf("key column %q of %s is not replicated", def.Columns[k].Name, def.QualifiedName())
		}
		t.Key = append(t.Key, p)
	}
	t.Indexes = viewIndexes(r, def)
	fks, err := viewForeignKeys(r, def)
	if err != nil {
		return nil, err
	}
	t.ForeignKeys = fks
	v.Table = t
	return v, nil
}

// hashedColumn is c as the target holds its hash: 64 ASCII characters, NULL where c is.
func hashedColumn(c schema.Column) schema.Column {
	return schema.Column{
		Name: c.Name, DataType: "char", ColumnType: fmt.Sprintf("char(%d)", HashLen), Nullable: c.Nullable,
		CharLength: HashLen, Charset: "ascii", Collation: "ascii_bin", Comment: c.Comment,
	}
}

// sourceColumn is the target column of the fan-in source column: "db.table", at most
// 64 + 1 + 64 characters, never NULL.
func sourceColumn(name string) schema.Column {
	return schema.Column{Name: name, DataType: "varchar", ColumnType: "varchar(129)", CharLength: 129, Charset: "utf8mb4", Collation: "utf8mb4_bin"}
}

// metaColumn is the target column of a metadata column.
func metaColumn(k MetaKind) schema.Column {
	c := schema.Column{Name: k.Field(), Nullable: true, Charset: "utf8mb4", Collation: "utf8mb4_bin"}
	switch k {
	case MetaSourceDB, MetaSourceTable:
		c.DataType, c.ColumnType, c.CharLength = "varchar", "varchar(64)", 64
	case MetaCommitTime:
		c.DataType, c.ColumnType, c.Charset, c.Collation = "timestamp", "timestamp", "", ""
	case MetaGTID:
		c.DataType, c.ColumnType = "text", "text"
	}
	return c
}

// viewIndexes are def's indexes over travelling columns, under their target names. A
// prefix length on a hashed column is dropped (a prefix of a hash is no prefix of the
// value), and a FULLTEXT index on one is left out (a hash has no words).
func viewIndexes(r *Rules, def *schema.Table) []schema.Index {
	var out []schema.Index
next:
	for _, ix := range def.Indexes {
		ix.Columns = append([]string(nil), ix.Columns...)
		if ix.Lengths != nil {
			ix.Lengths = append([]int(nil), ix.Lengths...)
		}
		for i, c := range ix.Columns {
			if r.Hashed(c) {
				if ix.Kind == "FULLTEXT" || ix.Kind == "SPATIAL" {
					continue next
				}
				if ix.Lengths != nil {
					ix.Lengths[i] = 0
				}
			}
			ix.Columns[i] = r.TargetName(c)
		}
		if ix.Unique && r.Source() != "" {
			// Unique within each source table, as at the source: two shards may hold
			// the same value.
			ix.Columns = append([]string{r.Source()}, ix.Columns...)
			if ix.Lengths != nil {
				ix.Lengths = append([]int{0}, ix.Lengths...)
			}
		}
		out = append(out, ix)
	}
	return out
}

// viewForeignKeys are def's foreign keys with the referencing columns under their target
// names. The referenced columns keep the parent's source names: the parent's own rule
// renames them.
func viewForeignKeys(r *Rules, def *schema.Table) ([]schema.ForeignKey, error) {
	if def.ForeignKeys == nil {
		return nil, nil
	}
	if r.Source() != "" && len(def.ForeignKeys) > 0 {
		fk := def.ForeignKeys[0]
		return nil, fanInForeignKey(r.rule, def.QualifiedName(), fk)
	}
	out := make([]schema.ForeignKey, 0, len(def.ForeignKeys))
	for _, fk := range def.ForeignKeys {
		fk.Columns = append([]string(nil), fk.Columns...)
		fk.RefColumns = append([]string(nil), fk.RefColumns...)
		for i, c := range fk.Columns {
			if r.Hashed(c) {
				return nil, fmt.Errorf("tables[%d].hash: column %q of %s is in foreign key %s with an action (ON DELETE/UPDATE %s/%s), which the target applies itself on clear values: hash another column, or declare the foreign key RESTRICT", r.rule, c, def.QualifiedName(), fk.Name, fk.OnDelete, fk.OnUpdate)
			}
			fk.Columns[i] = r.TargetName(c)
		}
		out = append(out, fk)
	}
	return out, nil
}

// fanInForeignKey is the refusal of a foreign key with an action on a table of a fan-in
// rule: the replicator applies the action by the referencing values alone, which would
// reach the rows of every source table the target holds.
func fanInForeignKey(rule int, table string, fk schema.ForeignKey) error {
	return fmt.Errorf("tables[%d].target: %s has foreign key %s with an action (ON DELETE %s, ON UPDATE %s), which the replicator applies by the referencing values and would reach the rows of the other source tables merged into the same target: declare the foreign key RESTRICT, or give the table a rule with a target of its own", rule, table, fk.Name, fk.OnDelete, fk.OnUpdate)
}

// Row returns the target row of the source row src (a full row of the definition), made
// from o for the metadata columns, in canonical form (change.Row). Unchanged values are
// src's own slices. verify compares a target row with Row(src, Origin{}) column by column
// as it compares untransformed rows, skipping the metadata columns (Column.Meta != 0): a
// row's GTID and commit time depend on which path wrote it.
func (v *View) Row(src change.Row, o Origin) change.Row {
	out := make(change.Row, len(v.Columns))
	var buf []byte
	for i, c := range v.Columns {
		switch {
		case c.Meta != 0:
			out[i] = v.meta(c.Meta, o)
		case c.Hashed && src[c.Source] != nil:
			if buf == nil {
				buf = make([]byte, 0, HashLen*v.hashed)
			}
			start := len(buf)
			buf = v.hasher.Append(buf, src[c.Source])
			out[i] = buf[start:len(buf):len(buf)]
		default:
			out[i] = src[c.Source]
		}
	}
	return out
}

func (v *View) meta(k MetaKind, o Origin) []byte {
	switch k {
	case MetaSourceDB:
		return []byte(v.def.Schema)
	case MetaSourceTable:
		return []byte(v.def.Name)
	case MetaSource:
		return []byte(v.def.Schema + "." + v.def.Name)
	case MetaCommitTime:
		if o.Time.IsZero() {
			return nil
		}
		return []byte(o.Time.UTC().Format(CommitTimeLayout))
	case MetaGTID:
		if o.GTID == "" {
			return nil
		}
		return []byte(o.GTID)
	}
	return nil
}

// Selected is Row for a row that holds only the travelling columns, in the order of the
// definition (what a snapshot or an online copy selects): sel[j] is the j-th source
// column of the view.
func (v *View) Selected(sel change.Row, o Origin) change.Row {
	return v.Row(v.Full(sel), o)
}

// Full returns the full source row (every column of the definition, NULL where a column
// does not travel) of a row that holds only the travelling columns, in the order of the
// definition: what Row and Key take.
func (v *View) Full(sel change.Row) change.Row {
	full := make(change.Row, len(v.def.Columns))
	j := 0
	for _, c := range v.Columns {
		if c.Meta == 0 && j < len(sel) {
			full[c.Source] = sel[j]
			j++
		}
	}
	return full
}

// Key returns the target's key values (in Table.Key order) of the source row src, a full
// row of the definition or one with at least its key columns: hashed key columns as their
// hash.
func (v *View) Key(src change.Row) change.Row {
	out := make(change.Row, len(v.Table.Key))
	for i, k := range v.Table.Key {
		c := v.Columns[k]
		if c.Meta != 0 {
			out[i] = v.meta(c.Meta, Origin{})
			continue
		}
		out[i] = src[c.Source]
		if c.Hashed && out[i] != nil {
			out[i] = v.hasher.Append(make([]byte, 0, HashLen), out[i])
		}
	}
	return out
}

// SourceName returns the source column name of the view's i-th column, "" for a
// metadata column.
func (v *View) SourceName(i int) string {
	if c := v.Columns[i]; c.Meta == 0 {
		return v.def.Columns[c.Source].Name
	}
	return ""
}

// Identity reports whether the view holds the travelling columns as they are (no
// rename, hash or metadata touches them).
func (v *View) Identity() bool {
	for i, c := range v.Columns {
		if c.Meta != 0 || c.Hashed || v.Table.Columns[i].Name != v.def.Columns[c.Source].Name {
			return false
		}
	}
	return true
}
