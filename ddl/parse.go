package ddl

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions in the AST

	"github.com/replicator/replicator/schema"
)

// Parser parses the statements of one source server.
type Parser struct {
	// Flavor decides how schema.Column fields are written (see setType and infoDefault).
	Flavor Flavor
	// ANSIQuotes is the session's ANSI_QUOTES sql_mode (from the query event's status
	// variables): "x" is then an identifier, not a string.
	ANSIQuotes bool
}

// Parse parses one statement as written by a MySQL server; see Parser.Parse.
func Parse(sql, currentDB string) ([]Change, error) { return Parser{}.Parse(sql, currentDB) }

// Parse parses the text of one query event: the statement and the database that was current
// in the session that ran it (used for table names the statement does not qualify).
//
// Statements that cannot change a table definition (BEGIN, COMMIT, SAVEPOINT, XA, DML logged
// as statements, GRANT, users and roles, views, triggers, routines, events, SET, FLUSH,
// ANALYZE, OPTIMIZE, temporary tables...) give no changes and no error; they are recognised
// by their leading keywords without running the parser. A statement the parser rejects, or
// whose effect on rows the binary log does not carry, gives an *UnsupportedError.
//
// MariaDB syntax that the TiDB grammar lacks is rewritten before a second attempt: CREATE OR
// REPLACE, ALTER ONLINE, ALTER/RENAME TABLE IF EXISTS, WAIT n / NOWAIT, PERSISTENT,
// INVISIBLE columns, spatial types and SPATIAL indexes, UNIQUE/FULLTEXT ... IF NOT EXISTS,
// expression defaults, and MySQL 8's "CREATE TABLE ... START TRANSACTION" (atomic CREATE
// TABLE ... SELECT).
//
// Columns come out as source.LoadTable would read them (see setType for types, infoDefault
// for Default), with these differences: Charset and Collation are empty when the statement
// does not name them; a TIMESTAMP column is taken to follow explicit_defaults_for_timestamp=ON
// (the MySQL 8 and MariaDB 10.10 default: nullable, no implicit default); Indexes are in
// definition order, where LoadTable sorts them by name.
func (p Parser) Parse(sql, currentDB string) (changes []Change, err error) {
	defer func() {
		// The rewriting and the builder walk arbitrary text and a foreign AST; a shape they
		// do not expect must not stop the replication with a panic but be reported like any
		// statement that cannot be handled.
		if r := recover(); r != nil {
			changes, err = nil, &UnsupportedError{SQL: sql, Reason: fmt.Sprint("internal error: ", r)}
		}
	}()
	head := lex(sql, p.ANSIQuotes, 48)
	if !classify(head) {
		return nil, nil
	}
	prep := prepare(sql, lex(sql, p.ANSIQuotes, 0))
	stmts, perr := p.run(prep.sql)
	if perr != nil {
		if fb, ok := fallback(prep, p.ANSIQuotes); ok {
			if s, err := p.run(fb.sql); err == nil {
				prep, stmts, perr = fb, s, nil
			}
		}
	}
	if perr != nil {
		return nil, &UnsupportedError{SQL: sql, Reason: "the parser rejects it: " + firstLine(perr.Error())}
	}
	b := &builder{flavor: p.Flavor, ansiQuotes: p.ANSIQuotes, db: currentDB, sql: sql, prep: prep}
	for _, st := range stmts {
		cs, err := b.statement(st)
		if err != nil {
			return nil, err
		}
		changes = append(changes, cs...)
	}
	return changes, nil
}

// parsers pools TiDB parsers (one per quoting mode): a parser is costly to create and not
// safe for concurrent use.
var parsers [2]sync.Pool

// parserRuns counts TiDB parser runs, so tests can check that the keyword filter keeps
// statements like BEGIN away from it.
var parserRuns atomic.Int64

func (p Parser) run(sql string) (stmts []ast.StmtNode, err error) {
	parserRuns.Add(1)
	mode := 0
	if p.ANSIQuotes {
		mode = 1
	}
	tp, _ := parsers[mode].Get().(*parser.Parser)
	if tp == nil {
		tp = parser.New()
		if p.ANSIQuotes {
			tp.SetSQLMode(mysql.ModeANSIQuotes)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			stmts, err = nil, fmt.Errorf("parser panic: %v", r)
			return // a parser that panicked is not reused
		}
		parsers[mode].Put(tp)
	}()
	stmts, _, err = tp.Parse(sql, "", "")
	return stmts, err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// builder turns parsed statements into changes.
type builder struct {
	flavor     Flavor
	ansiQuotes bool
	db         string // current database
	sql        string
	prep       prepared
	// fulltext counts the full-text-like indexes seen, to pick their kind from prep.
	fulltext int
}

func (b *builder) unsupported(format string, args ...any) error {
	return &UnsupportedError{SQL: b.sql, Reason: fmt.Sprintf(format, args...)}
}

func (b *builder) statement(st ast.StmtNode) ([]Change, error) {
	switch s := st.(type) {
	case *ast.CreateTableStmt:
		return b.createTable(s)
	case *ast.AlterTableStmt:
		return b.alterTable(s)
	case *ast.CreateIndexStmt:
		return b.createIndex(s)
	case *ast.DropIndexStmt:
		return b.dropIndex(s)
	case *ast.RenameTableStmt:
		rt := &RenameTables{IfExists: b.prep.ifExists}
		for _, p := range s.TableToTables {
			from, err := b.table(p.OldTable)
			if err != nil {
				return nil, err
			}
			to, err := b.table(p.NewTable)
			if err != nil {
				return nil, err
			}
			rt.Pairs = append(rt.Pairs, RenamePair{From: from, To: to})
		}
		return []Change{rt}, nil
	case *ast.DropTableStmt:
		if s.IsView || s.TemporaryKeyword != ast.TemporaryNone {
			return nil, nil
		}
		dt := &DropTables{IfExists: s.IfExists}
		for _, t := range s.Tables {
			n, err := b.table(t)
			if err != nil {
				return nil, err
			}
			dt.Names = append(dt.Names, n)
		}
		return []Change{dt}, nil
	case *ast.TruncateTableStmt:
		n, err := b.table(s.Table)
		if err != nil {
			return nil, err
		}
		return []Change{&TruncateTable{Name: n}}, nil
	case *ast.CreateDatabaseStmt:
		return []Change{&CreateDatabase{Name: s.Name.O, IfNotExists: s.IfNotExists}}, nil
	case *ast.DropDatabaseStmt:
		return []Change{&DropDatabase{Name: s.Name.O, IfExists: s.IfExists}}, nil
	}
	return nil, nil // views, sequences and the like that passed the keyword filter
}

// table qualifies a table name with the current database when the statement does not.
func (b *builder) table(t *ast.TableName) (TableName, error) {
	n := TableName{Schema: t.Schema.O, Name: t.Name.O}
	if n.Schema == "" {
		n.Schema = b.db
	}
	if n.Schema == "" {
		return n, b.unsupported("table %s is not qualified and no database is current", n.Name)
	}
	return n, nil
}

func (b *builder) createIndex(s *ast.CreateIndexStmt) ([]Change, error) {
	name, err := b.table(s.Table)
	if err != nil {
		return nil, err
	}
	ix := &AddIndex{Index: schema.Index{Name: s.IndexName}, IfNotExists: s.IfNotExists, OrReplace: b.prep.orReplace}
	switch s.KeyType {
	case ast.IndexKeyTypeUnique:
		ix.Index.Unique = true
	case ast.IndexKeyTypeFulltext:
		ix.Index.Kind = "FULLTEXT"
	case ast.IndexKeyTypeSpatial:
		ix.Index.Kind = "SPATIAL"
	case ast.IndexKeyTypeNone:
	default:
		return nil, b.unsupported("index type %v is not a MySQL index", s.KeyType)
	}
	ix.Index.Columns, ix.Index.Lengths = indexParts(s.IndexPartSpecifications)
	if len(ix.Index.Columns) == 0 {
		return nil, nil // only expressions: nothing information_schema would list
	}
	return []Change{&AlterTable{Name: name, Specs: []AlterChange{ix}}}, nil
}

func (b *builder) dropIndex(s *ast.DropIndexStmt) ([]Change, error) {
	name, err := b.table(s.Table)
	if err != nil {
		return nil, err
	}
	return []Change{&AlterTable{Name: name, Specs: []AlterChange{dropIndex(s.IndexName, s.IfExists)}}}, nil
}

func dropIndex(name string, ifExists bool) AlterChange {
	if strings.EqualFold(name, "PRIMARY") {
		return &DropPrimaryKey{}
	}
	return &DropIndex{Name: name, IfExists: ifExists}
}

// indexParts returns the column names and prefix lengths of an index's key parts, leaving
// out expression parts as information_schema does.
func indexParts(parts []*ast.IndexPartSpecification) ([]string, []int) {
	var cols []string
	var lengths []int
	prefixed := false
	for _, p := range parts {
		if p.Column == nil {
			continue
		}
		cols = append(cols, p.Column.Name.O)
		l := max(p.Length, 0)
		prefixed = prefixed || l > 0
		lengths = append(lengths, l)
	}
	if !prefixed {
		lengths = nil
	}
	return cols, lengths
}
