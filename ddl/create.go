package ddl

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/replicator/replicator/schema"
)

func (b *builder) createTable(s *ast.CreateTableStmt) ([]Change, error) {
	if s.TemporaryKeyword != ast.TemporaryNone {
		return nil, nil // session-private, never replicated
	}
	name, err := b.table(s.Table)
	if err != nil {
		return nil, err
	}
	if s.ReferTable != nil {
		like, err := b.table(s.ReferTable)
		if err != nil {
			return nil, err
		}
		return []Change{&CreateTableLike{Name: name, Like: like, IfNotExists: s.IfNotExists, OrReplace: b.prep.orReplace}}, nil
	}
	if s.Select != nil {
		// Row-based logging writes CREATE TABLE ... SELECT as a plain CREATE TABLE followed
		// by row events; the statement form only appears in statement-based logs.
		return nil, b.unsupported("CREATE TABLE ... SELECT takes its columns from a query")
	}
	ct := &CreateTable{Table: &schema.Table{Schema: name.Schema, Name: name.Name},
		IfNotExists: s.IfNotExists, OrReplace: b.prep.orReplace}
	t := ct.Table
	var charset, collation string
	for _, o := range s.Options {
		switch o.Tp {
		case ast.TableOptionEngine:
			t.Engine = engineName(o.StrValue)
		case ast.TableOptionComment:
			t.Comment = o.StrValue
		case ast.TableOptionCharset:
			charset = o.StrValue
		case ast.TableOptionCollate:
			collation = o.StrValue
		}
	}
	if charset == "" && collation != "" {
		charset, _, _ = strings.Cut(collation, "_")
	}
	var defs []columnDef
	var primary []string
	var indexes []AddIndex
	for _, cd := range s.Cols {
		c, err := b.column(cd, charset, collation)
		if err != nil {
			return nil, err
		}
		if c.primary {
			primary = []string{c.col.Name}
		}
		if c.unique {
			indexes = append(indexes, AddIndex{Index: schema.Index{Unique: true, Columns: []string{c.col.Name}}})
		}
		defs = append(defs, c)
		t.Columns = append(t.Columns, c.col)
	}
	fkCount := 0
	var fkIndexes []AddIndex // InnoDB creates them after the declared indexes
	for _, k := range s.Constraints {
		switch k.Tp {
		case ast.ConstraintPrimaryKey:
			primary, _ = indexParts(k.Keys)
		case ast.ConstraintForeignKey:
			fkCount++
			if fk, ok := b.foreignKey(k, name.Name, fkCount); ok {
				t.ForeignKeys = append(t.ForeignKeys, fk)
			}
			cols, _ := indexParts(k.Keys)
			if len(cols) > 0 {
				fkIndexes = append(fkIndexes, AddIndex{Index: schema.Index{Name: k.Name, Columns: cols}, IfNotExists: true})
			}
		default:
			if ix, ok := b.constraintIndex(k); ok {
				indexes = append(indexes, *ix)
			}
		}
	}
	for _, n := range primary {
		i := t.ColumnIndex(n)
		if i < 0 {
			return nil, b.unsupported("primary key column %s does not exist", n)
		}
		t.Key = append(t.Key, i)
		t.KeyIsPrimary = true
		t.Columns[i].Nullable = false
		defs[i].col.Nullable = false
	}
	for i := range defs {
		b.finishColumn(&defs[i])
		t.Columns[i].Default, t.Columns[i].DefaultExpr = defs[i].col.Default, defs[i].col.DefaultExpr
		ct.Defaults = append(ct.Defaults, defs[i].def)
	}
	for _, ix := range append(indexes, fkIndexes...) {
		if ix.IfNotExists && ix.Index.Name != "" && indexNamed(t.Indexes, ix.Index.Name) >= 0 {
			continue
		}
		for j, c := range ix.Index.Columns {
			k := t.ColumnIndex(c)
			if k < 0 {
				return nil, b.unsupported("index column %s does not exist", c)
			}
			ix.Index.Columns[j] = t.Columns[k].Name
		}
		if ix.IfNotExists && coveredBy(t, ix.Index.Columns) {
			continue // a foreign key's columns that an index already starts with
		}
		if ix.Index.Name == "" {
			ix.Index.Name = uniqueIndexName(t, ix.Index.Columns[0])
		}
		t.Indexes = append(t.Indexes, ix.Index)
	}
	return []Change{ct}, nil
}

// constraintIndex converts an index constraint; ok is false for CHECK constraints and for
// indexes made only of expressions.
func (b *builder) constraintIndex(k *ast.Constraint) (*AddIndex, bool) {
	ix := &AddIndex{Index: schema.Index{Name: k.Name}, IfNotExists: k.IfNotExists}
	switch k.Tp {
	case ast.ConstraintKey, ast.ConstraintIndex:
	case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
		ix.Index.Unique = true
	case ast.ConstraintFulltext:
		ix.Index.Kind = "FULLTEXT"
		if b.fulltext < len(b.prep.indexKinds) {
			ix.Index.Kind = b.prep.indexKinds[b.fulltext]
		}
		b.fulltext++
	default:
		return nil, false
	}
	if o, ok := b.prep.indexOverride[strings.ToLower(k.Name)]; ok && k.Name != "" {
		ix.Index.Unique, ix.Index.Kind = o.unique, o.kind
	}
	ix.Index.Columns, ix.Index.Lengths = indexParts(k.Keys)
	if len(ix.Index.Columns) == 0 {
		return nil, false
	}
	return ix, true
}

// foreignKey converts a FOREIGN KEY; ok is false when every action is one the binary log
// records (schema.Table tracks only the others). Unnamed keys get InnoDB's name,
// <table>_ibfk_<n>.
func (b *builder) foreignKey(k *ast.Constraint, table string, n int) (schema.ForeignKey, bool) {
	fk := schema.ForeignKey{Name: k.Name}
	if fk.Name == "" {
		fk.Name = fmt.Sprintf("%s_ibfk_%d", table, n)
	}
	none := "NO ACTION"
	if b.flavor == MariaDB {
		none = "RESTRICT"
	}
	fk.OnDelete, fk.OnUpdate = none, none
	if r := k.Refer; r != nil {
		if r.Table != nil {
			fk.RefTable = r.Table.Name.O
			fk.RefSchema = r.Table.Schema.O
		}
		fk.Columns, _ = indexParts(k.Keys)
		fk.RefColumns, _ = indexParts(r.IndexPartSpecifications)
		if r.OnDelete != nil && r.OnDelete.ReferOpt != ast.ReferOptionNoOption {
			fk.OnDelete = r.OnDelete.ReferOpt.String()
		}
		if r.OnUpdate != nil && r.OnUpdate.ReferOpt != ast.ReferOptionNoOption {
			fk.OnUpdate = r.OnUpdate.ReferOpt.String()
		}
	}
	return fk, unloggedAction(fk.OnDelete) || unloggedAction(fk.OnUpdate)
}

// unloggedAction reports the foreign key actions that change rows without row events.
func unloggedAction(a string) bool {
	switch strings.ToUpper(a) {
	case "CASCADE", "SET NULL", "SET DEFAULT":
		return true
	}
	return false
}

// coveredBy reports whether the primary key or an index starts with cols, in order, so that
// InnoDB needs no index of its own for a foreign key on them.
func coveredBy(t *schema.Table, cols []string) bool {
	starts := func(have []string) bool {
		if len(have) < len(cols) {
			return false
		}
		for i, c := range cols {
			if !strings.EqualFold(have[i], c) {
				return false
			}
		}
		return true
	}
	if t.KeyIsPrimary && starts(t.KeyNames()) {
		return true
	}
	for _, ix := range t.Indexes {
		if ix.Kind == "" && starts(ix.Columns) {
			return true
		}
	}
	return false
}

// uniqueIndexName names an unnamed index as MySQL does: after its first column, or with
// the first free _2, _3... suffix when that is taken (or is PRIMARY).
func uniqueIndexName(t *schema.Table, first string) string {
	taken := func(n string) bool {
		if strings.EqualFold(n, "PRIMARY") {
			return true
		}
		for _, ix := range t.Indexes {
			if strings.EqualFold(ix.Name, n) {
				return true
			}
		}
		return false
	}
	if !taken(first) {
		return first
	}
	for i := 2; ; i++ {
		if n := fmt.Sprintf("%s_%d", first, i); !taken(n) {
			return n
		}
	}
}

// engineName spells an engine as information_schema does.
func engineName(e string) string {
	switch strings.ToLower(e) {
	case "innodb":
		return "InnoDB"
	case "myisam":
		return "MyISAM"
	case "aria":
		return "Aria"
	case "memory", "heap":
		return "MEMORY"
	case "rocksdb":
		return "ROCKSDB"
	case "csv":
		return "CSV"
	case "archive":
		return "ARCHIVE"
	case "blackhole":
		return "BLACKHOLE"
	}
	return e
}

func indexNamed(ixs []schema.Index, name string) int {
	for i, ix := range ixs {
		if strings.EqualFold(ix.Name, name) {
			return i
		}
	}
	return -1
}
