package ddl

import (
	"encoding/hex"
	"math/big"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/replicator/replicator/schema"
)

// literal is a constant from a DEFAULT clause before it is converted to the column's type.
type literal struct {
	text string // number text, string content, or the bytes of a b'..' / x'..' literal
	kind byte   // 'n' number, 's' string, 'b' bit or hex literal
}

// defaultOf converts a DEFAULT expression to the target-neutral form, converting constants
// to the column's type as the server does when it stores the default.
func defaultOf(expr ast.ExprNode, col *schema.Column) Default {
	if lit, ok := literalOf(expr); ok {
		if lit.kind == 0 {
			return Default{Kind: DefaultNull}
		}
		return Default{Kind: DefaultLiteral, Value: convertLiteral(col, lit)}
	}
	if fn, ok := expr.(*ast.FuncCallExpr); ok && isNowFunc(fn.FnName.L) {
		d := Default{Kind: DefaultCurrentTimestamp}
		if len(fn.Args) == 1 {
			if lit, ok := literalOf(fn.Args[0]); ok && lit.kind == 'n' {
				d.Value = lit.text
			}
		}
		return d
	}
	return Default{Kind: DefaultExpression, Value: restore(expr)}
}

func isNowFunc(name string) bool {
	switch name {
	case "current_timestamp", "now", "localtime", "localtimestamp":
		return true
	}
	return false
}

// literalOf recognises constants, including signed numbers; kind 0 is NULL.
func literalOf(expr ast.ExprNode) (literal, bool) {
	switch e := expr.(type) {
	case *driver.ValueExpr:
		switch e.Kind() {
		case driver.KindNull:
			return literal{}, true
		case driver.KindInt64:
			return literal{strconv.FormatInt(e.GetInt64(), 10), 'n'}, true
		case driver.KindUint64:
			return literal{strconv.FormatUint(e.GetUint64(), 10), 'n'}, true
		case driver.KindFloat32, driver.KindFloat64:
			return literal{strconv.FormatFloat(e.GetFloat64(), 'f', -1, 64), 'n'}, true
		case driver.KindMysqlDecimal:
			return literal{e.GetMysqlDecimal().String(), 'n'}, true
		case driver.KindString, driver.KindBytes:
			return literal{e.GetString(), 's'}, true
		case driver.KindBinaryLiteral:
			return literal{string(e.GetBytes()), 'b'}, true
		}
	case *ast.UnaryOperationExpr:
		if e.Op != opcode.Minus && e.Op != opcode.Plus {
			return literal{}, false
		}
		lit, ok := literalOf(e.V)
		if !ok || lit.kind != 'n' {
			return literal{}, false
		}
		if e.Op == opcode.Minus {
			if t, neg := strings.CutPrefix(lit.text, "-"); neg {
				lit.text = t
			} else {
				lit.text = "-" + lit.text
			}
		}
		return lit, true
	case *ast.ParenthesesExpr:
		return literalOf(e.Expr)
	}
	return literal{}, false
}

// convertLiteral stores a constant the way a column of col's type holds it.
func convertLiteral(col *schema.Column, lit literal) string {
	switch {
	case col.DataType == "bit":
		return bitString(lit)
	case isIntegerType(col.DataType):
		if lit.kind == 'b' {
			return new(big.Int).SetBytes([]byte(lit.text)).String()
		}
		if r, ok := new(big.Rat).SetString(strings.TrimSpace(lit.text)); ok {
			return r.FloatString(0)
		}
	case col.DataType == "decimal" || col.DataType == "numeric":
		if r, ok := new(big.Rat).SetString(strings.TrimSpace(lit.text)); ok {
			return r.FloatString(col.Scale)
		}
	case col.DataType == "float" || col.DataType == "double":
		if f, err := strconv.ParseFloat(strings.TrimSpace(lit.text), 64); err == nil && lit.kind != 'b' {
			if f == 0 {
				f = 0 // no "-0"
			}
			if d := floatScale(col); d >= 0 {
				return strconv.FormatFloat(f, 'f', d, 64)
			}
			bits := 64
			if col.DataType == "float" {
				bits = 32
			}
			return strconv.FormatFloat(f, 'f', -1, bits)
		}
	case (col.DataType == "enum" || col.DataType == "set") && lit.kind == 'n':
		n, err := strconv.ParseUint(lit.text, 10, 64)
		if err != nil {
			return lit.text
		}
		if col.DataType == "enum" {
			if n >= 1 && n <= uint64(len(col.Elems)) {
				return col.Elems[n-1]
			}
			return lit.text
		}
		var members []string
		for i, e := range col.Elems {
			if i < 64 && n&(1<<i) != 0 {
				members = append(members, e)
			}
		}
		return strings.Join(members, ",")
	}
	return lit.text
}

// bitString gives a BIT default as binary digits without leading zeros.
func bitString(lit literal) string {
	var v *big.Int
	switch lit.kind {
	case 'n':
		var ok bool
		if v, ok = new(big.Int).SetString(lit.text, 10); !ok {
			v = new(big.Int)
		}
	default:
		v = new(big.Int).SetBytes([]byte(lit.text))
	}
	return v.Text(2)
}

// restore prints an expression back as SQL.
func restore(expr ast.Node) string {
	var b strings.Builder
	flags := format.RestoreStringSingleQuotes | format.RestoreKeyWordLowercase |
		format.RestoreNameBackQuotes | format.RestoreStringWithoutCharset |
		format.RestoreSpacesAroundBinaryOperation | format.RestoreBracketAroundBinaryOperation
	if err := expr.Restore(format.NewRestoreCtx(flags, &b)); err != nil {
		return "?"
	}
	return b.String()
}

// infoDefault is the COLUMN_DEFAULT text information_schema shows for a default: MariaDB
// quotes strings and shows "NULL" for a nullable column without a default; MySQL shows
// strings bare and NULL as SQL NULL. Expressions are shown as this package prints them,
// which may differ in spacing or case from the server's own rendering.
func infoDefault(col *schema.Column, d Default, flavor Flavor) *string {
	var s string
	switch d.Kind {
	case NoDefault, DefaultNull:
		if flavor != MariaDB || !col.Nullable {
			return nil
		}
		s = "NULL"
	case DefaultLiteral:
		switch {
		case col.DataType == "bit":
			s = "b'" + d.Value + "'"
		case flavor != MariaDB || isNumericType(col.DataType):
			s = d.Value
		default:
			s = "'" + strings.NewReplacer("\\", "\\\\", "'", "''").Replace(d.Value) + "'"
		}
	case DefaultCurrentTimestamp:
		if flavor == MariaDB {
			s = "current_timestamp(" + d.Value + ")"
		} else {
			s = "CURRENT_TIMESTAMP"
			if d.Value != "" {
				s += "(" + d.Value + ")"
			}
		}
	case DefaultExpression:
		s = d.Value
	}
	return &s
}

// markerDefault decodes the default expression that the fallback rewrite hid in a comment.
func markerDefault(hexText string) (Default, bool) {
	b, err := hex.DecodeString(hexText)
	if err != nil {
		return Default{}, false
	}
	return Default{Kind: DefaultExpression, Value: strings.TrimSpace(string(b))}, true
}

// InfoDefault reads a column's default back from its information_schema text
// (col.Default and col.DefaultExpr, as source.LoadTable reads them and Apply writes them)
// into the target-neutral form a parsed DEFAULT clause has, for targets that render a
// table loaded from the source as they render one created by a statement. It is the
// inverse of what infoDefault writes for flavor.
func InfoDefault(col *schema.Column, flavor Flavor) Default {
	if col.Default == nil {
		return Default{}
	}
	s := *col.Default
	if d, ok := infoCurrentTimestamp(s); ok {
		return d
	}
	if col.DefaultExpr {
		return Default{Kind: DefaultExpression, Value: s}
	}
	if flavor != MariaDB {
		if col.DataType == "bit" {
			s = strings.TrimSuffix(strings.TrimPrefix(s, "b'"), "'")
		}
		return Default{Kind: DefaultLiteral, Value: s}
	}
	switch {
	case s == "NULL":
		return Default{Kind: DefaultNull}
	case col.DataType == "bit" && strings.HasPrefix(s, "b'") && strings.HasSuffix(s, "'"):
		return Default{Kind: DefaultLiteral, Value: s[2 : len(s)-1]}
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return Default{Kind: DefaultLiteral, Value: strings.NewReplacer("''", "'", "\\\\", "\\").Replace(s[1 : len(s)-1])}
	case isNumericType(col.DataType):
		return Default{Kind: DefaultLiteral, Value: s}
	}
	return Default{Kind: DefaultExpression, Value: s}
}

// infoCurrentTimestamp recognises CURRENT_TIMESTAMP[(n)] as both flavors show it.
func infoCurrentTimestamp(s string) (Default, bool) {
	l := strings.ToLower(strings.TrimSpace(s))
	rest, ok := strings.CutPrefix(l, "current_timestamp")
	if !ok {
		return Default{}, false
	}
	if rest == "" || rest == "()" {
		return Default{Kind: DefaultCurrentTimestamp}, true
	}
	if fsp, ok := strings.CutPrefix(rest, "("); ok && strings.HasSuffix(fsp, ")") && isNumber(fsp[:len(fsp)-1]) {
		return Default{Kind: DefaultCurrentTimestamp, Value: fsp[:len(fsp)-1]}, true
	}
	return Default{}, false
}
