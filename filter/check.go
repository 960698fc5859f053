package filter

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// functions are the supported functions and their argument counts (max -1: any).
var functions = map[string]struct{ min, max int }{
	"lower": {1, 1}, "lcase": {1, 1}, "upper": {1, 1}, "ucase": {1, 1},
	"coalesce": {1, -1}, "ifnull": {2, 2},
	"length": {1, 1}, "octet_length": {1, 1}, "char_length": {1, 1}, "character_length": {1, 1},
	"abs": {1, 1}, "concat": {1, -1},
}

// Supported lists the subset, for messages and documentation.
const Supported = "comparisons (= <> != < <= > >= <=>), AND, OR, XOR, NOT, IN, BETWEEN, IS [NOT] NULL, IS [NOT] TRUE/FALSE, " +
	"LIKE [ESCAPE], + - * / DIV %, and the functions LOWER, UPPER, COALESCE, IFNULL, LENGTH, CHAR_LENGTH, ABS, CONCAT"

// check refuses what the evaluator does not implement; col is called with each column.
func check(n ast.ExprNode, col func(string)) error {
	switch e := n.(type) {
	case *driver.ValueExpr:
		switch e.Kind() {
		case driver.KindNull, driver.KindInt64, driver.KindUint64, driver.KindFloat32, driver.KindFloat64,
			driver.KindMysqlDecimal, driver.KindString:
			return nil
		}
		return fmt.Errorf("literal %s is not supported (use numbers, 'strings', TRUE, FALSE and NULL)", restore(e))
	case *ast.ColumnNameExpr:
		if e.Name.Table.O != "" || e.Name.Schema.O != "" {
			return fmt.Errorf("column %s: name columns without their table", restore(e))
		}
		col(e.Name.Name.O)
		return nil
	case *ast.ParenthesesExpr:
		return check(e.Expr, col)
	case *ast.BinaryOperationExpr:
		switch e.Op {
		case opcode.LogicAnd, opcode.LogicOr, opcode.LogicXor, opcode.EQ, opcode.NE, opcode.LT, opcode.LE,
			opcode.GT, opcode.GE, opcode.NullEQ, opcode.Plus, opcode.Minus, opcode.Mul, opcode.Div,
			opcode.IntDiv, opcode.Mod:
		default:
			return fmt.Errorf("operator %s is not supported; supported: %s", e.Op, Supported)
		}
		if err := check(e.L, col); err != nil {
			return err
		}
		return check(e.R, col)
	case *ast.UnaryOperationExpr:
		switch e.Op {
		case opcode.Not, opcode.Not2, opcode.Minus, opcode.Plus:
		default:
			return fmt.Errorf("operator %s is not supported; supported: %s", e.Op, Supported)
		}
		return check(e.V, col)
	case *ast.IsNullExpr:
		return check(e.Expr, col)
	case *ast.IsTruthExpr:
		return check(e.Expr, col)
	case *ast.BetweenExpr:
		for _, x := range []ast.ExprNode{e.Expr, e.Left, e.Right} {
			if err := check(x, col); err != nil {
				return err
			}
		}
		return nil
	case *ast.PatternInExpr:
		if e.Sel != nil {
			return fmt.Errorf("IN (SELECT ...) is not supported: list the values")
		}
		if err := check(e.Expr, col); err != nil {
			return err
		}
		for _, x := range e.List {
			if err := check(x, col); err != nil {
				return err
			}
		}
		return nil
	case *ast.PatternLikeOrIlikeExpr:
		if !e.IsLike {
			return fmt.Errorf("ILIKE is not supported: LIKE compares by the column's collation")
		}
		if err := check(e.Expr, col); err != nil {
			return err
		}
		return check(e.Pattern, col)
	case *ast.FuncCallExpr:
		name := e.FnName.L
		f, ok := functions[name]
		if !ok || e.Schema.O != "" {
			return fmt.Errorf("function %s is not supported; supported: %s", strings.ToUpper(e.FnName.O), Supported)
		}
		if len(e.Args) < f.min || (f.max >= 0 && len(e.Args) > f.max) {
			return fmt.Errorf("function %s: wrong number of arguments (%d)", strings.ToUpper(e.FnName.O), len(e.Args))
		}
		for _, x := range e.Args {
			if err := check(x, col); err != nil {
				return err
			}
		}
		return nil
	case *ast.FuncCastExpr:
		return fmt.Errorf("CAST/CONVERT is not supported; supported: %s", Supported)
	case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr, *ast.CompareSubqueryExpr:
		return fmt.Errorf("subqueries are not supported")
	case *ast.VariableExpr:
		return fmt.Errorf("variables (%s) are not supported", restore(e))
	}
	return fmt.Errorf("%s is not supported; supported: %s", restore(n), Supported)
}
