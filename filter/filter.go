// Package filter compiles a [[tables]] rule's row filter (where = "...") and evaluates it
// on rows in canonical form (change.Row) with MySQL's semantics for a documented subset of
// its expression language. The snapshot sends the same text to the source in SQL, so the
// subset is what this package evaluates exactly as the server does: anything else is
// refused when the configuration is loaded, before either side uses it.
//
// An Expr is parsed once per rule; Bind resolves it against one definition of a table
// (column positions, types and collations), which a DDL statement replaces.
package filter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions in the AST

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// Expr is a parsed, accepted row filter. It is immutable and safe for concurrent use.
type Expr struct {
	text    string
	root    ast.ExprNode
	columns []string
}

// Parse parses text as a MySQL expression and accepts it only when every part of it is in
// the evaluated subset. The error says what is not supported.
func Parse(text string) (*Expr, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("empty expression")
	}
	// The text is parsed exactly as the snapshot embeds it: in parentheses on lines of its
	// own, so a trailing "-- comment" cannot swallow the rest of the query.
	stmt, err := parser.New().ParseOneStmt("SELECT 1 FROM t WHERE "+SQL(text), "", "")
	if err != nil {
		return nil, fmt.Errorf("does not parse as a MySQL expression: %s", firstLine(err.Error()))
	}
	sel, ok := stmt.(*ast.SelectStmt)
	if !ok || sel.Where == nil || sel.GroupBy != nil || sel.Having != nil || sel.OrderBy != nil ||
		sel.Limit != nil || sel.LockInfo != nil || sel.WindowSpecs != nil || sel.SelectIntoOpt != nil {
		return nil, errors.New("must be a single expression (no ORDER BY, LIMIT, ... after it)")
	}
	// The parentheses around the text must pair up with each other: "a) OR (b" would
	// otherwise escape them and, in the snapshot, the chunk's key range with them.
	paren, ok := sel.Where.(*ast.ParenthesesExpr)
	if !ok {
		return nil, errors.New("unbalanced parentheses")
	}
	e := &Expr{text: text, root: paren.Expr}
	seen := map[string]bool{}
	if err := check(sel.Where, func(col string) {
		if l := strings.ToLower(col); !seen[l] {
			seen[l] = true
			e.columns = append(e.columns, col)
		}
	}); err != nil {
		return nil, err
	}
	return e, nil
}

// SQL returns text as the snapshot embeds it in a WHERE clause.
func SQL(text string) string { return "(\n" + text + "\n)" }

// Text returns the expression as configured.
func (e *Expr) Text() string { return e.text }

// SQL returns the expression for a WHERE clause sent to the source.
func (e *Expr) SQL() string { return SQL(e.text) }

// Columns returns the columns the expression reads, as written, each once.
func (e *Expr) Columns() []string { return e.columns }

// Bound is an Expr resolved against one table definition. Safe for concurrent use.
type Bound struct {
	expr  *Expr
	table *schema.Table
	root  node
}

// Bind resolves e's columns in t. An unknown column, a column whose type the subset does
// not compare (JSON, BIT, spatial), or a temporal column compared with a string that is
// not a date or time is an error naming it.
func (e *Expr) Bind(t *schema.Table) (*Bound, error) {
	b := binder{t: t}
	root, err := b.bind(e.root)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.QualifiedName(), err)
	}
	return &Bound{expr: e, table: t, root: root}, nil
}

// Table returns the definition b was bound to.
func (b *Bound) Table() *schema.Table { return b.table }

// Match reports whether row r of the bound table satisfies the filter: the expression is
// true (a NULL or false result does not match, as in a WHERE clause).
func (b *Bound) Match(r change.Row) bool {
	v := b.root.eval(r)
	t, ok := truth(v)
	return ok && t
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
