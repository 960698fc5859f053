package source

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// TableName is a source table's database and name.
type TableName struct{ Schema, Name string }

func (n TableName) String() string { return n.Schema + "." + n.Name }

// SelectedTables lists the base tables that routes selects, sorted by name. Views are
// never selected.
func (c *Conn) SelectedTables(ctx context.Context, routes *route.Set) ([]TableName, error) {
	rows, err := c.QueryStrings(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql','information_schema','performance_schema','sys')`)
	if err != nil {
		return nil, fmt.Errorf("list source tables: %w", err)
	}
	var out []TableName
	for _, r := range rows {
		n := TableName{str(r[0]), str(r[1])}
		if routes.Selects(n.Schema, n.Name) {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// LoadTable reads one table's definition from information_schema. A table that does not
// exist gives (nil, nil).
func (c *Conn) LoadTable(ctx context.Context, db, name string) (*schema.Table, error) {
	t := &schema.Table{Schema: db, Name: name}
	info, err := c.QueryStrings(ctx, `SELECT ENGINE, TABLE_COMMENT FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, db, name)
	if err != nil {
		return nil, fmt.Errorf("load %s.%s: %w", db, name, err)
	}
	if len(info) == 0 {
		return nil, nil
	}
	t.Engine, t.Comment = str(info[0][0]), str(info[0][1])

	cols, err := c.QueryStrings(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
			CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION,
			CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY ORDINAL_POSITION`, db, name)
	if err != nil {
		return nil, fmt.Errorf("load columns of %s.%s: %w", db, name, err)
	}
	for _, r := range cols {
		col := schema.Column{
			Name:       str(r[0]),
			DataType:   strings.ToLower(str(r[1])),
			ColumnType: str(r[2]),
			Nullable:   str(r[3]) == "YES",
			CharLength: atoi64(r[4]),
			Charset:    str(r[8]),
			Collation:  str(r[9]),
			Default:    r[10],
			Comment:    str(r[12]),
		}
		lt := strings.ToLower(col.ColumnType)
		col.Unsigned = strings.Contains(lt, "unsigned")
		switch col.DataType {
		case "decimal":
			col.Precision, col.Scale = int(atoi64(r[5])), int(atoi64(r[6]))
		case "bit":
			col.Precision = int(atoi64(r[5]))
		case "time", "datetime", "timestamp":
			col.FracDigits = int(atoi64(r[7]))
		case "enum", "set":
			col.Elems = ParseElems(col.ColumnType)
		}
		extra := strings.ToUpper(str(r[11]))
		switch {
		case strings.Contains(extra, "VIRTUAL"):
			col.Generated = "VIRTUAL"
		case strings.Contains(extra, "STORED") || strings.Contains(extra, "PERSISTENT"):
			col.Generated = "STORED"
		}
		col.Invisible = strings.Contains(extra, "INVISIBLE")
		col.DefaultExpr = exprDefault(c.Flavor, col.Default, extra)
		col.AutoIncrement = strings.Contains(extra, "AUTO_INCREMENT")
		t.Columns = append(t.Columns, col)
	}

	if c.Flavor == MariaDB {
		if err := c.markJSONColumns(ctx, t); err != nil {
			return nil, err
		}
	}

	idx, err := c.QueryStrings(ctx, `SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, INDEX_TYPE, SUB_PART
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, db, name)
	if err != nil {
		return nil, fmt.Errorf("load indexes of %s.%s: %w", db, name, err)
	}
	byName := map[string]int{}
	for _, r := range idx {
		iname, col := str(r[0]), str(r[2])
		if iname == "PRIMARY" {
			if i := t.ColumnIndex(col); i >= 0 {
				t.Key = append(t.Key, i)
				t.KeyIsPrimary = true
			}
			continue
		}
		if col == "" { // functional index part: nothing to mirror
			continue
		}
		k, ok := byName[iname]
		if !ok {
			kind := strings.ToUpper(str(r[3]))
			if kind != "FULLTEXT" && kind != "SPATIAL" {
				kind = ""
			}
			t.Indexes = append(t.Indexes, schema.Index{Name: iname, Unique: str(r[1]) == "0", Kind: kind})
			k = len(t.Indexes) - 1
			byName[iname] = k
		}
		ix := &t.Indexes[k]
		if sub := int(atoi64(r[4])); sub > 0 {
			for len(ix.Lengths) < len(ix.Columns) {
				ix.Lengths = append(ix.Lengths, 0)
			}
			ix.Lengths = append(ix.Lengths, sub)
		} else if ix.Lengths != nil {
			ix.Lengths = append(ix.Lengths, 0)
		}
		ix.Columns = append(ix.Columns, col)
	}

	if t.ForeignKeys, err = c.loadForeignKeys(ctx, db, name); err != nil {
		return nil, err
	}
	return t, nil
}

// markJSONColumns sets JSONValid on MariaDB's JSON columns. JSON is an alias of LONGTEXT
// there; what tells it apart is the CHECK (json_valid(`col`)) constraint the server adds
// (or a user wrote). Servers without information_schema.CHECK_CONSTRAINTS (before 10.2)
// have no such columns to find.
func (c *Conn) markJSONColumns(ctx context.Context, t *schema.Table) error {
	rows, err := c.QueryStrings(ctx, `SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, t.Schema, t.Name)
	if err != nil {
		// Unknown table 'CHECK_CONSTRAINTS' in information_schema: the only table queried.
		var me *mysql.MyError
		if errors.As(err, &me) && (me.Code == mysql.ER_UNKNOWN_TABLE || me.Code == mysql.ER_NO_SUCH_TABLE) {
			return nil
		}
		return fmt.Errorf("load check constraints of %s: %w", t.QualifiedName(), err)
	}
	for _, r := range rows {
		name, ok := JSONValidColumn(str(r[0]))
		if !ok {
			continue
		}
		if i := t.ColumnIndex(name); i >= 0 && isText(t.Columns[i].DataType) {
			t.Columns[i].JSONValid = true
		}
	}
	return nil
}

// JSONValidColumn returns the column of a check clause that is exactly
// "json_valid(`col`)", as MariaDB shows the constraint of a JSON column.
func JSONValidColumn(clause string) (string, bool) {
	const pre, post = "json_valid(`", "`)"
	if len(clause) < len(pre)+len(post)+1 || !strings.EqualFold(clause[:len(pre)], pre) || !strings.HasSuffix(clause, post) {
		return "", false
	}
	q := clause[len(pre) : len(clause)-len(post)]
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if q[i] == '`' {
			if i+1 >= len(q) || q[i+1] != '`' {
				return "", false
			}
			i++
		}
		b.WriteByte(q[i])
	}
	return b.String(), true
}

func isText(dataType string) bool {
	switch dataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		return true
	}
	return false
}

func unlogged(action string) bool {
	switch strings.ToUpper(action) {
	case "CASCADE", "SET NULL", "SET DEFAULT":
		return true
	}
	return false
}

func atoi64(p *string) int64 {
	if p == nil {
		return 0
	}
	v, _ := strconv.ParseInt(*p, 10, 64)
	return v
}

// ParseElems splits the members of "enum('a','b,c','it”s')" or "set(...)".
func ParseElems(columnType string) []string {
	open := strings.IndexByte(columnType, '(')
	if open < 0 {
		return nil
	}
	s := columnType[open+1:]
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '\'' {
			continue
		}
		var b strings.Builder
		for i++; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				break
			}
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		}
		out = append(out, b.String())
	}
	return out
}

// QuoteIdent quotes a MySQL identifier with backquotes.
func QuoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// QuoteTable quotes db.table.
func QuoteTable(db, table string) string { return QuoteIdent(db) + "." + QuoteIdent(table) }

// exprDefault reports whether a column default as information_schema shows it is an
// expression the server evaluates per row, CURRENT_TIMESTAMP aside: MySQL marks those
// DEFAULT_GENERATED in EXTRA; MariaDB shows constants quoted (numbers and b'...' bare,
// NULL as NULL) and expressions bare.
func exprDefault(flavor string, def *string, extra string) bool {
	if def == nil {
		return false
	}
	v := strings.ToLower(strings.TrimSpace(*def))
	if strings.HasPrefix(v, "current_timestamp") || strings.HasPrefix(v, "now(") {
		return false
	}
	if flavor != MariaDB {
		return strings.Contains(extra, "DEFAULT_GENERATED")
	}
	switch {
	case v == "null", strings.HasPrefix(v, "'"), strings.HasPrefix(v, "b'"):
		return false
	}
	_, err := strconv.ParseFloat(v, 64)
	return err != nil
}
