package filter

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// node is a bound expression. eval is pure, so a Bound is safe for concurrent use.
type node interface{ eval(r change.Row) value }

type binder struct{ t *schema.Table }

type colNode struct {
	idx  int
	name string
	conv func([]byte) value
	time bool // DATE, DATETIME, TIMESTAMP
	dur  bool // TIME
	enum bool // ENUM or SET: a number in their place means the index, not the value
}

type litNode struct{ v value }

func (n colNode) eval(r change.Row) value {
	if n.idx >= len(r) || r[n.idx] == nil {
		return null
	}
	return n.conv(r[n.idx])
}

func (n litNode) eval(change.Row) value { return n.v }

// converter returns the decoder of a column's canonical values into evaluation values.
func converter(c *schema.Column) (conv func([]byte) value, time, dur bool, err error) {
	switch strings.ToLower(c.DataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year", "decimal", "numeric":
		return func(b []byte) value {
			v, ok := parseExact(string(b))
			if !ok {
				return null
			}
			return v
		}, false, false, nil
	case "float":
		return func(b []byte) value {
			// A FLOAT compares as the double its single-precision value is (1.1 is not 1.1).
			f, _ := strconv.ParseFloat(string(b), 32)
			return float(float64(float32(f)))
		}, false, false, nil
	case "double", "real":
		return func(b []byte) value {
			f, _ := strconv.ParseFloat(string(b), 64)
			return float(f)
		}, false, false, nil
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		cl := collOf(c.Charset, c.Collation)
		return func(b []byte) value { return str(string(b), cl) }, false, false, nil
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return func(b []byte) value { return str(string(b), coll{binary: true, raw: true}) }, false, false, nil
	case "date", "datetime", "timestamp":
		date := strings.EqualFold(c.DataType, "date")
		return func(b []byte) value {
			s, ok := parseDateTime(string(b))
			if !ok {
				return null
			}
			return value{k: kTime, s: s, date: date}
		}, true, false, nil
	case "time":
		return func(b []byte) value {
			us, ok := parseDuration(string(b))
			if !ok {
				return null
			}
			return value{k: kTime, num: us, isDur: true}
		}, false, true, nil
	}
	return nil, false, false, fmt.Errorf("column %s is of type %s, which filters do not compare", c.Name, c.DataType)
}

func (b *binder) bind(n ast.ExprNode) (node, error) {
	switch e := n.(type) {
	case *driver.ValueExpr:
		return litNode{literal(e)}, nil
	case *ast.ColumnNameExpr:
		i := b.t.ColumnIndex(e.Name.Name.O)
		if i < 0 {
			return nil, fmt.Errorf("unknown column %s", e.Name.Name.O)
		}
		conv, tm, dur, err := converter(&b.t.Columns[i])
		if err != nil {
			return nil, err
		}
		dt := strings.ToLower(b.t.Columns[i].DataType)
		return colNode{idx: i, name: b.t.Columns[i].Name, conv: conv, time: tm, dur: dur, enum: dt == "enum" || dt == "set"}, nil
	case *ast.ParenthesesExpr:
		return b.bind(e.Expr)
	case *ast.BinaryOperationExpr:
		l, err := b.bind(e.L)
		if err != nil {
			return nil, err
		}
		r, err := b.bind(e.R)
		if err != nil {
			return nil, err
		}
		switch e.Op {
		case opcode.LogicAnd, opcode.LogicOr, opcode.LogicXor:
			return logicNode{op: e.Op, l: l, r: r}, nil
		case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE, opcode.NullEQ:
			if err := temporalLiterals(l, r); err != nil {
				return nil, err
			}
			return cmpNode{op: e.Op, l: l, r: r}, nil
		}
		if err := enumNumbers(true, l, r); err != nil {
			return nil, err
		}
		return arithNode{op: e.Op, l: l, r: r}, nil
	case *ast.UnaryOperationExpr:
		v, err := b.bind(e.V)
		if err != nil {
			return nil, err
		}
		switch e.Op {
		case opcode.Not, opcode.Not2:
			return notNode{v}, nil
		case opcode.Minus:
			if err := enumNumbers(true, v); err != nil {
				return nil, err
			}
			return negNode{v}, nil
		}
		return v, nil
	case *ast.IsNullExpr:
		v, err := b.bind(e.Expr)
		if err != nil {
			return nil, err
		}
		return isNode{v: v, not: e.Not, null: true}, nil
	case *ast.IsTruthExpr:
		v, err := b.bind(e.Expr)
		if err != nil {
			return nil, err
		}
		return isNode{v: v, not: e.Not, truth: e.True != 0}, nil
	case *ast.BetweenExpr:
		x, err := b.bindAll(e.Expr, e.Left, e.Right)
		if err != nil {
			return nil, err
		}
		if err := temporalLiterals(x[0], x[1], x[2]); err != nil {
			return nil, err
		}
		var out node = logicNode{op: opcode.LogicAnd, l: cmpNode{op: opcode.GE, l: x[0], r: x[1]}, r: cmpNode{op: opcode.LE, l: x[0], r: x[2]}}
		if e.Not {
			out = notNode{out}
		}
		return out, nil
	case *ast.PatternInExpr:
		x, err := b.bindAll(append([]ast.ExprNode{e.Expr}, e.List...)...)
		if err != nil {
			return nil, err
		}
		if err := temporalLiterals(x...); err != nil {
			return nil, err
		}
		var out node = inNode{v: x[0], list: x[1:]}
		if e.Not {
			out = notNode{out}
		}
		return out, nil
	case *ast.PatternLikeOrIlikeExpr:
		x, err := b.bindAll(e.Expr, e.Pattern)
		if err != nil {
			return nil, err
		}
		var out node = likeNode{v: x[0], pat: x[1], esc: rune(e.Escape)}
		if e.Not {
			out = notNode{out}
		}
		return out, nil
	case *ast.FuncCallExpr:
		args, err := b.bindAll(e.Args...)
		if err != nil {
			return nil, err
		}
		if e.FnName.L == "abs" {
			if err := enumNumbers(true, args...); err != nil {
				return nil, err
			}
		}
		return fnNode{name: e.FnName.L, args: args}, nil
	}
	// check refused everything else when the expression was parsed.
	return nil, fmt.Errorf("%s is not supported", restore(n))
}

func (b *binder) bindAll(ns ...ast.ExprNode) ([]node, error) {
	out := make([]node, len(ns))
	for i, n := range ns {
		x, err := b.bind(n)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

// enumNumbers refuses an ENUM or SET column used as a number (always, for arithmetic) or
// compared with a numeric literal: MySQL then uses the member's index, which the row's
// canonical form (the member's text) does not carry.
func enumNumbers(always bool, ns ...node) error {
	var col *colNode
	numeric := false
	for _, n := range ns {
		if c, ok := n.(colNode); ok && c.enum {
			col = &c
		}
		if l, ok := n.(litNode); ok && (l.v.k == kExact || l.v.k == kFloat) {
			numeric = true
		}
	}
	if col != nil && (always || numeric) {
		return fmt.Errorf("ENUM/SET column %s used as a number (MySQL would use the member's index): compare it with the member's 'text'", col.name)
	}
	return nil
}

// temporalLiterals refuses a string literal compared with a temporal column that is not a
// date or time: MySQL and this package would disagree on what an invalid one means.
func temporalLiterals(ns ...node) error {
	if err := enumNumbers(false, ns...); err != nil {
		return err
	}
	var col *colNode
	for _, n := range ns {
		if c, ok := n.(colNode); ok && (c.time || c.dur) {
			col = &c
		}
	}
	if col == nil {
		return nil
	}
	for _, n := range ns {
		l, ok := n.(litNode)
		if !ok || l.v.k != kStr {
			continue
		}
		if col.time {
			if _, ok := parseDateTime(l.v.s); !ok {
				return fmt.Errorf("'%s' is not a date or datetime ('YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS[.ffffff]')", l.v.s)
			}
		} else if _, ok := parseDuration(l.v.s); !ok {
			return fmt.Errorf("'%s' is not a time ('HH:MM:SS[.ffffff]')", l.v.s)
		}
	}
	return nil
}

func literal(e *driver.ValueExpr) value {
	switch e.Kind() {
	case driver.KindInt64:
		return integer(e.GetInt64())
	case driver.KindUint64:
		return exact(new(big.Rat).SetInt(new(big.Int).SetUint64(e.GetUint64())), 0)
	case driver.KindFloat32, driver.KindFloat64:
		return float(e.GetFloat64())
	case driver.KindMysqlDecimal:
		v, _ := parseExact(e.GetMysqlDecimal().String())
		return v
	case driver.KindString:
		return str(e.GetString(), literalColl)
	}
	return null
}

func restore(n ast.Node) string {
	var b strings.Builder
	if err := n.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, &b)); err != nil {
		return "expression"
	}
	return b.String()
}

type logicNode struct {
	op   opcode.Op
	l, r node
}

func (n logicNode) eval(row change.Row) value {
	a, aok := truth(n.l.eval(row))
	if n.op == opcode.LogicAnd && aok && !a {
		return boolean(false)
	}
	if n.op == opcode.LogicOr && aok && a {
		return boolean(true)
	}
	b, bok := truth(n.r.eval(row))
	switch n.op {
	case opcode.LogicAnd:
		if bok && !b {
			return boolean(false)
		}
		if !aok || !bok {
			return null
		}
		return boolean(true)
	case opcode.LogicOr:
		if bok && b {
			return boolean(true)
		}
		if !aok || !bok {
			return null
		}
		return boolean(false)
	}
	if !aok || !bok {
		return null
	}
	return boolean(a != b)
}

type notNode struct{ v node }

func (n notNode) eval(row change.Row) value {
	t, ok := truth(n.v.eval(row))
	if !ok {
		return null
	}
	return boolean(!t)
}

type isNode struct {
	v                node
	not, null, truth bool
}

func (n isNode) eval(row change.Row) value {
	v := n.v.eval(row)
	var res bool
	if n.null {
		res = v.k == kNull
	} else {
		t, ok := truth(v)
		res = ok && t == n.truth
	}
	return boolean(res != n.not)
}

type cmpNode struct {
	op   opcode.Op
	l, r node
}

func (n cmpNode) eval(row change.Row) value {
	a, b := n.l.eval(row), n.r.eval(row)
	if n.op == opcode.NullEQ {
		if a.k == kNull || b.k == kNull {
			return boolean(a.k == b.k)
		}
	}
	c, ok := compare(a, b)
	if !ok {
		return null
	}
	switch n.op {
	case opcode.EQ, opcode.NullEQ:
		return boolean(c == 0)
	case opcode.NE:
		return boolean(c != 0)
	case opcode.LT:
		return boolean(c < 0)
	case opcode.LE:
		return boolean(c <= 0)
	case opcode.GT:
		return boolean(c > 0)
	}
	return boolean(c >= 0)
}

// compare follows MySQL's rules for comparison operands: strings as strings under the
// column's collation, temporal values as such (a string converted to the temporal type),
// integers and decimals exactly, everything else as doubles. ok is false for NULL.
func compare(a, b value) (int, bool) {
	if a.k == kNull || b.k == kNull {
		return 0, false
	}
	switch {
	case a.k == kStr && b.k == kStr:
		c := pickColl(a.c, b.c)
		return strings.Compare(sortKey(a.s, c, true), sortKey(b.s, c, true)), true
	case a.k == kTime && b.k == kTime && a.isDur == b.isDur:
		if a.isDur {
			return a.num.Cmp(b.num), true
		}
		return strings.Compare(a.s, b.s), true
	case a.k == kTime && b.k == kStr:
		if t, ok := asTemporal(a, b.s); ok {
			return compare(a, t)
		}
		return compare(str(a.text(), b.c), b)
	case a.k == kStr && b.k == kTime:
		c, ok := compare(b, a)
		return -c, ok
	case a.k == kTime:
		return compare(a.timeNumber(), b)
	case b.k == kTime:
		return compare(a, b.timeNumber())
	case a.k == kExact && b.k == kExact:
		return a.num.Cmp(b.num), true
	}
	x, y := a.toFloat(), b.toFloat()
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

func asTemporal(like value, s string) (value, bool) {
	if like.isDur {
		us, ok := parseDuration(s)
		return value{k: kTime, num: us, isDur: true}, ok
	}
	t, ok := parseDateTime(s)
	return value{k: kTime, s: t}, ok
}

type inNode struct {
	v    node
	list []node
}

func (n inNode) eval(row change.Row) value {
	v := n.v.eval(row)
	if v.k == kNull {
		return null
	}
	sawNull := false
	for _, x := range n.list {
		c, ok := compare(v, x.eval(row))
		if !ok {
			sawNull = true
			continue
		}
		if c == 0 {
			return boolean(true)
		}
	}
	if sawNull {
		return null
	}
	return boolean(false)
}

type arithNode struct {
	op   opcode.Op
	l, r node
}

// divScale is div_precision_increment's default: a quotient has the dividend's scale plus 4.
const divScale = 4

func (n arithNode) eval(row change.Row) value {
	a, b := numeric(n.l.eval(row)), numeric(n.r.eval(row))
	if a.k == kNull || b.k == kNull {
		return null
	}
	if a.k == kExact && b.k == kExact {
		x, y := a.num, b.num
		switch n.op {
		case opcode.Plus:
			return exact(new(big.Rat).Add(x, y), max(a.scale, b.scale))
		case opcode.Minus:
			return exact(new(big.Rat).Sub(x, y), max(a.scale, b.scale))
		case opcode.Mul:
			return exact(new(big.Rat).Mul(x, y), min(a.scale+b.scale, 30))
		}
		if y.Sign() == 0 {
			return null
		}
		q := new(big.Rat).Quo(x, y)
		switch n.op {
		case opcode.Div:
			s := min(a.scale+divScale, 30)
			return exact(roundRat(q, s), s)
		case opcode.IntDiv:
			return exact(new(big.Rat).SetInt(truncRat(q)), 0)
		}
		// Mod: the sign of the dividend, as MySQL's.
		m := new(big.Rat).Sub(x, new(big.Rat).Mul(y, new(big.Rat).SetInt(truncRat(q))))
		return exact(m, max(a.scale, b.scale))
	}
	x, y := a.toFloat(), b.toFloat()
	switch n.op {
	case opcode.Plus:
		return float(x + y)
	case opcode.Minus:
		return float(x - y)
	case opcode.Mul:
		return float(x * y)
	}
	if y == 0 {
		return null
	}
	switch n.op {
	case opcode.Div:
		return float(x / y)
	case opcode.IntDiv:
		return exact(new(big.Rat).SetFloat64(math.Trunc(x/y)), 0)
	}
	return float(math.Mod(x, y))
}

// numeric is a value as an arithmetic operand: temporal values as their numbers, strings
// as doubles.
func numeric(v value) value {
	switch v.k {
	case kTime:
		return v.timeNumber()
	case kStr:
		return float(prefixFloat(v.s))
	}
	return v
}

func truncRat(q *big.Rat) *big.Int { return new(big.Int).Quo(q.Num(), q.Denom()) }

// roundRat rounds half away from zero to scale fraction digits, as DECIMAL arithmetic does.
func roundRat(q *big.Rat, scale int) *big.Rat {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	s := new(big.Rat).Mul(q, new(big.Rat).SetInt(p))
	half := big.NewRat(1, 2)
	if s.Sign() < 0 {
		s.Sub(s, half)
	} else {
		s.Add(s, half)
	}
	return new(big.Rat).SetFrac(truncRat(s), p)
}

type negNode struct{ v node }

func (n negNode) eval(row change.Row) value {
	v := numeric(n.v.eval(row))
	switch v.k {
	case kExact:
		return exact(new(big.Rat).Neg(v.num), v.scale)
	case kFloat:
		return float(-v.f)
	}
	return v
}

type likeNode struct {
	v, pat node
	esc    rune
}

func (n likeNode) eval(row change.Row) value {
	v, p := n.v.eval(row), n.pat.eval(row)
	if v.k == kNull || p.k == kNull {
		return null
	}
	vc, pc := literalColl, literalColl
	if v.k == kStr {
		vc = v.c
	}
	if p.k == kStr {
		pc = p.c
	}
	c := pickColl(vc, pc)
	// LIKE compares character by character: trailing spaces count, whatever the PAD.
	s, pat := sortKey(v.text(), c, false), sortKey(p.text(), c, false)
	esc := n.esc
	if esc == 0 {
		esc = '\\'
	}
	if c.binary {
		return boolean(likeMatch(bytesOf(s), bytesOf(pat), esc))
	}
	return boolean(likeMatch([]rune(s), []rune(pat), esc))
}

func bytesOf(s string) []rune {
	out := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = rune(s[i])
	}
	return out
}

// likeMatch matches s against a LIKE pattern: % any run, _ one character, esc quoting the
// next character (an escape at the end stands for itself).
func likeMatch(s, p []rune, esc rune) bool {
	for len(p) > 0 {
		switch {
		case p[0] == '%':
			for len(p) > 0 && p[0] == '%' {
				p = p[1:]
			}
			if len(p) == 0 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if likeMatch(s[i:], p, esc) {
					return true
				}
			}
			return false
		case p[0] == '_':
			if len(s) == 0 {
				return false
			}
			s, p = s[1:], p[1:]
		default:
			c := p[0]
			if c == esc && len(p) > 1 {
				p = p[1:]
				c = p[0]
			}
			if len(s) == 0 || s[0] != c {
				return false
			}
			s, p = s[1:], p[1:]
		}
	}
	return len(s) == 0
}

type fnNode struct {
	name string
	args []node
}

func (n fnNode) eval(row change.Row) value {
	switch n.name {
	case "coalesce", "ifnull":
		for _, a := range n.args {
			if v := a.eval(row); v.k != kNull {
				return v
			}
		}
		return null
	case "concat":
		var b strings.Builder
		c := literalColl
		for _, a := range n.args {
			v := a.eval(row)
			if v.k == kNull {
				return null
			}
			if v.k == kStr {
				c = pickColl(c, v.c)
			}
			b.WriteString(v.text())
		}
		return str(b.String(), c)
	}
	v := n.args[0].eval(row)
	if v.k == kNull {
		return null
	}
	switch n.name {
	case "lower", "lcase", "upper", "ucase":
		c := literalColl
		if v.k == kStr {
			c = v.c
			if c.raw {
				// LOWER and UPPER leave binary strings as they are.
				return v
			}
		}
		if n.name == "lower" || n.name == "lcase" {
			return str(strings.ToLower(v.text()), c)
		}
		return str(strings.ToUpper(v.text()), c)
	case "length", "octet_length":
		return integer(int64(len(v.text())))
	case "char_length", "character_length":
		if v.k == kStr && v.c.raw {
			return integer(int64(len(v.s)))
		}
		return integer(int64(utf8.RuneCountInString(v.text())))
	case "abs":
		v = numeric(v)
		if v.k == kExact {
			return exact(new(big.Rat).Abs(v.num), v.scale)
		}
		return float(math.Abs(v.f))
	}
	return null
}
