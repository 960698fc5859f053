package ddl

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	"github.com/replicator/replicator/schema"
)

// columnDef is what one column definition gives.
type columnDef struct {
	col     schema.Column
	def     Default
	primary bool // inline PRIMARY KEY (or KEY)
	unique  bool // inline UNIQUE (or SERIAL)
}

// column converts a column definition. tableCharset and tableCollation are the defaults a
// CREATE TABLE names, empty elsewhere. col.Default is left for finishColumn, because a
// table-level PRIMARY KEY can still make the column NOT NULL.
func (b *builder) column(cd *ast.ColumnDef, tableCharset, tableCollation string) (columnDef, error) {
	c := columnDef{col: schema.Column{Name: cd.Name.Name.O, Nullable: true}}
	if cd.Tp == nil {
		return c, b.unsupported("column %s has no type", c.col.Name)
	}
	if err := setType(&c.col, cd.Tp, b.flavor); err != nil {
		return c, b.unsupported("%v", err)
	}
	var defExpr ast.ExprNode
	for _, o := range cd.Options {
		switch o.Tp {
		case ast.ColumnOptionPrimaryKey:
			c.primary = true
		case ast.ColumnOptionNotNull:
			c.col.Nullable = false
		case ast.ColumnOptionNull:
			c.col.Nullable = true
		case ast.ColumnOptionAutoIncrement:
			c.col.AutoIncrement = true
		case ast.ColumnOptionDefaultValue:
			defExpr = o.Expr
			c.def = Default{}
		case ast.ColumnOptionUniqKey:
			c.unique = true
		case ast.ColumnOptionComment:
			text := stringValue(o.Expr)
			if marker, ok := strings.CutPrefix(text, markerPrefix); ok {
				b.applyMarker(&c, marker)
				if strings.HasPrefix(marker, "default=") {
					defExpr = nil
				}
				continue
			}
			c.col.Comment = text
		case ast.ColumnOptionGenerated:
			c.col.Generated = "VIRTUAL"
			if o.Stored {
				c.col.Generated = "STORED"
			}
		case ast.ColumnOptionCollate:
			if isStringType(c.col.DataType) {
				c.col.Collation = o.StrValue
			}
		}
	}
	if c.primary {
		c.col.Nullable = false
	}
	if isStringType(c.col.DataType) {
		col := &c.col
		explicitCollation := col.Collation != ""
		if col.Charset == "" && col.Collation == "" {
			col.Charset, col.Collation = tableCharset, tableCollation
			if col.Charset == "" && col.Collation != "" {
				col.Charset, _, _ = strings.Cut(col.Collation, "_")
			}
		} else if col.Charset == "" {
			col.Charset, _, _ = strings.Cut(col.Collation, "_")
		} else if col.Collation == "" && strings.EqualFold(col.Charset, tableCharset) {
			col.Collation = tableCollation
		}
		// CHAR(n) BINARY is the binary collation of the column's character set.
		if mysql.HasBinaryFlag(cd.Tp.GetFlag()) && !explicitCollation && col.Charset != "" {
			col.Collation = col.Charset + "_bin"
		}
	}
	if defExpr != nil {
		c.def = defaultOf(defExpr, &c.col)
	}
	return c, nil
}

// applyMarker applies what a fallback rewrite carried in a marker comment.
func (b *builder) applyMarker(c *columnDef, marker string) {
	switch {
	case marker == "invisible":
		c.col.Invisible = true
	case strings.HasPrefix(marker, "type="):
		t := strings.TrimPrefix(marker, "type=")
		c.col.DataType, c.col.ColumnType = t, t
		c.col.CharLength, c.col.Charset, c.col.Collation = 0, "", ""
	case strings.HasPrefix(marker, "default="):
		if d, ok := markerDefault(strings.TrimPrefix(marker, "default=")); ok {
			c.def = b.expressionDefault(d, &c.col)
		}
	}
}

// expressionDefault re-reads a default expression that the TiDB grammar did not accept in a
// DEFAULT clause as a SELECT expression, which it accepts more of, so that it is printed (and
// recognised as a constant or CURRENT_TIMESTAMP) as if it had parsed in place.
func (b *builder) expressionDefault(d Default, col *schema.Column) Default {
	stmts, err := Parser{ANSIQuotes: b.ansiQuotes}.run("SELECT " + d.Value)
	if err == nil && len(stmts) == 1 {
		if sel, ok := stmts[0].(*ast.SelectStmt); ok && sel.Fields != nil && len(sel.Fields.Fields) == 1 && sel.From == nil {
			if e := sel.Fields.Fields[0].Expr; e != nil {
				return defaultOf(e, col)
			}
		}
	}
	return nowDefault(d)
}

// nowDefault turns an expression that is only CURRENT_TIMESTAMP (in parentheses, or with a
// precision) into a DefaultCurrentTimestamp.
func nowDefault(d Default) Default {
	s := strings.ToLower(strings.TrimSpace(d.Value))
	for strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	name, args, hasArgs := strings.Cut(s, "(")
	name = strings.TrimSpace(name)
	if !isNowFunc(name) {
		return d
	}
	fsp := ""
	if hasArgs {
		fsp = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(args), ")"))
		if !isNumber(fsp) && fsp != "" {
			return d
		}
	}
	return Default{Kind: DefaultCurrentTimestamp, Value: fsp}
}

// finishColumn sets the information_schema default once the nullability is final.
func (b *builder) finishColumn(c *columnDef) {
	c.col.Default = infoDefault(&c.col, c.def, b.flavor)
	c.col.DefaultExpr = c.def.Kind == DefaultExpression
}

// stringValue returns the text of a string constant (a COMMENT).
func stringValue(e ast.ExprNode) string {
	if v, ok := e.(interface{ GetString() string }); ok {
		return v.GetString()
	}
	return ""
}
