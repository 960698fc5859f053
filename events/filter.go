package events

import (
	"fmt"
	"strings"

	"github.com/replicator/replicator/config"
)

// Filter narrows the lines printed, on top of the configuration's [[tables]] selection.
type Filter struct {
	// Tables are --tables patterns; empty means every selected table.
	Tables []config.Pattern
	// Ops are the kinds of line printed; see DefaultOps.
	Ops map[Op]bool
}

// DefaultOps is what --ops defaults to: every row change and DDL, no commit lines.
const DefaultOps = "insert,update,delete,ddl"

// ParseTables parses --tables values: each a comma-separated list of patterns in the
// [[tables]] source syntax ("db.table", "db.*", "*", backquotes for odd names).
func ParseTables(values []string) ([]config.Pattern, error) {
	var out []config.Pattern
	for _, v := range values {
		for _, s := range splitOutsideBackquotes(v) {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			p, err := config.ParsePattern(s)
			if err != nil {
				return nil, fmt.Errorf("--tables: %w", err)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func splitOutsideBackquotes(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '`':
			quoted = !quoted
		case s[i] == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// ParseOps parses --ops: a comma-separated list of insert, update, delete, ddl and commit.
func ParseOps(s string) (map[Op]bool, error) {
	out := map[Op]bool{}
	for _, part := range strings.Split(s, ",") {
		op := Op(strings.ToLower(strings.TrimSpace(part)))
		switch op {
		case OpInsert, OpUpdate, OpDelete, OpDDL, OpCommit:
			out[op] = true
		case "":
		default:
			return nil, fmt.Errorf("--ops: unknown op %q (use insert, update, delete, ddl, commit)", part)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--ops: empty (use insert, update, delete, ddl, commit)")
	}
	return out, nil
}

// Table reports whether db.table passes --tables.
func (f *Filter) Table(db, table string) bool {
	if len(f.Tables) == 0 {
		return true
	}
	for _, p := range f.Tables {
		if p.Match(db, table) {
			return true
		}
	}
	return false
}

// Op reports whether lines of op are printed.
func (f *Filter) Op(op Op) bool { return f.Ops == nil || f.Ops[op] }

// ddl reports whether a DDL line passes --tables: it must name a matching table (a
// statement naming no table, such as CREATE DATABASE, passes only without --tables).
func (f *Filter) ddl(tables []*View, dropped []string) bool {
	if len(f.Tables) == 0 {
		return true
	}
	for _, v := range tables {
		if f.Table(v.Table.Schema, v.Table.Name) {
			return true
		}
	}
	for _, n := range dropped {
		db, table, _ := strings.Cut(n, ".")
		if f.Table(db, table) {
			return true
		}
	}
	return false
}
