package config

import (
	"fmt"
	"path"
	"strings"
)

// Pattern is a parsed [[tables]] source: a database glob and a table glob. Globs use
// path.Match syntax ("*", "?", "[...]"); matching is case-sensitive, as MySQL's table
// names are on Linux.
type Pattern struct {
	DB, Table string
}

// systemSchemas are never replicated by a "*" pattern.
var systemSchemas = map[string]bool{"mysql": true, "information_schema": true, "performance_schema": true, "sys": true}

// ParsePattern parses "db.table", "db.*", "*" or backquoted parts such as "`my.db`.`t`".
func ParsePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, fmt.Errorf("empty; use \"db.table\", \"db.*\" or \"*\"")
	}
	if s == "*" {
		return Pattern{DB: "*", Table: "*"}, nil
	}
	parts, err := splitQualified(s)
	if err != nil {
		return Pattern{}, err
	}
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return Pattern{}, fmt.Errorf("%q: use \"db.table\", \"db.*\" or \"*\"", s)
	}
	for _, p := range parts {
		if _, err := path.Match(p, ""); err != nil {
			return Pattern{}, fmt.Errorf("%q: bad pattern %q", s, p)
		}
	}
	return Pattern{DB: parts[0], Table: parts[1]}, nil
}

// Wildcard reports whether the pattern can match more than one table.
func (p Pattern) Wildcard() bool {
	return strings.ContainsAny(p.DB+p.Table, "*?[")
}

// Match reports whether db.table is selected by p.
func (p Pattern) Match(db, table string) bool {
	if p.DB == "*" && systemSchemas[strings.ToLower(db)] {
		return false
	}
	okDB, _ := path.Match(p.DB, db)
	okT, _ := path.Match(p.Table, table)
	return okDB && okT
}

// MatchDB reports whether some table of db may be selected by p.
func (p Pattern) MatchDB(db string) bool {
	if p.DB == "*" && systemSchemas[strings.ToLower(db)] {
		return false
	}
	ok, _ := path.Match(p.DB, db)
	return ok
}

// splitQualified splits a dotted name, honouring backquotes (a doubled backquote is a literal one).
func splitQualified(s string) ([]string, error) {
	var parts []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '`' && quoted && i+1 < len(s) && s[i+1] == '`':
			cur.WriteByte('`')
			i++
		case ch == '`':
			quoted = !quoted
		case ch == '.' && !quoted:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	if quoted {
		return nil, fmt.Errorf("%q: unterminated backquote", s)
	}
	return append(parts, cur.String()), nil
}
