package ddl

import (
	"encoding/hex"
	"sort"
	"strings"
)

// classify tells from a statement's leading keywords whether it can change a table or a
// database; everything else (transaction control, DML logged as statements, accounts,
// grants, views, routines, triggers, events, FLUSH, ANALYZE...) is ignored without parsing.
func classify(toks []token) bool {
	if len(toks) == 0 || toks[0].kind != tkWord {
		return false
	}
	switch toks[0].upper {
	case "CREATE":
		return scanObject(toks[1:], []string{"TABLE", "INDEX", "DATABASE", "SCHEMA"},
			[]string{"VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "USER", "ROLE", "SERVER",
				"TABLESPACE", "LOGFILE", "SEQUENCE", "PACKAGE", "RESOURCE", "REFERENCE", "TEMPORARY"})
	case "ALTER":
		return scanObject(toks[1:], []string{"TABLE"},
			[]string{"DATABASE", "SCHEMA", "VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "USER",
				"ROLE", "SERVER", "TABLESPACE", "LOGFILE", "SEQUENCE", "PACKAGE", "RESOURCE", "INSTANCE"})
	case "DROP":
		return scanObject(toks[1:], []string{"TABLE", "TABLES", "INDEX", "DATABASE", "SCHEMA"},
			[]string{"VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "USER", "ROLE", "SERVER",
				"TABLESPACE", "LOGFILE", "SEQUENCE", "PACKAGE", "RESOURCE", "TEMPORARY", "PREPARE"})
	case "RENAME":
		return len(toks) > 1 && toks[1].is("TABLE", "TABLES")
	case "TRUNCATE":
		return true
	}
	return false
}

// scanObject looks through the words before the object keyword (OR REPLACE, DEFINER = ...,
// ALGORITHM = ..., UNIQUE, ONLINE, IGNORE...) for the first one that decides. TEMPORARY
// decides "ignore": temporary tables are session-private and never replicated.
func scanObject(toks []token, parse, ignore []string) bool {
	for i, t := range toks {
		if i > 40 {
			break
		}
		if t.is(ignore...) {
			return false
		}
		if t.is(parse...) {
			return true
		}
	}
	return true // undecided: let the parser decide, and report what it rejects
}

// prepared is a statement made ready for the TiDB parser, with what the rewriting removed.
type prepared struct {
	sql       string
	orReplace bool // CREATE OR REPLACE
	ifExists  bool // ALTER TABLE IF EXISTS, RENAME TABLE IF EXISTS
	// indexKinds lists "FULLTEXT" or "SPATIAL" for each full-text-like index in text order,
	// when SPATIAL had to be rewritten to FULLTEXT for the parser.
	indexKinds []string
	dropCheck  bool // the statement says DROP CHECK (not DROP CONSTRAINT)
	// indexOverride gives, by lower-case index name, the kind of an index whose
	// "UNIQUE|FULLTEXT|SPATIAL ... IF NOT EXISTS" was rewritten to "INDEX IF NOT EXISTS".
	indexOverride map[string]indexOverride
}

type indexOverride struct {
	unique bool
	kind   string // "", "FULLTEXT" or "SPATIAL"
}

// markerPrefix starts the column comments that rewrites use to carry MariaDB column
// attributes through the TiDB parser.
const markerPrefix = "__replicator_ddl_marker__:"

type edit struct {
	start, end int
	with       string
}

// prepare rewrites what must always be rewritten: CREATE OR REPLACE, which the TiDB grammar
// does not know for tables and indexes.
func prepare(sql string, toks []token) prepared {
	p := prepared{sql: sql}
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].is("DROP") && toks[i+1].is("CHECK") {
			p.dropCheck = true
		}
	}
	if len(toks) > 3 && toks[0].is("CREATE") && toks[1].is("OR") && toks[2].is("REPLACE") {
		p.orReplace = true
		p.sql = applyEdits(sql, []edit{{toks[1].start, toks[2].end, ""}})
	}
	return p
}

// fallback rewrites MariaDB (and MySQL 8) syntax that the TiDB grammar rejects into text it
// accepts, keeping the meaning. It is used only after the parser rejected the statement as
// written, so a column that happens to be named like one of these words cannot be broken in
// a statement that parses. It reports false when there was nothing to rewrite.
func fallback(p prepared, ansiQuotes bool) (prepared, bool) {
	toks := lex(p.sql, ansiQuotes, 0)
	var edits []edit
	del := func(from, to int) { edits = append(edits, edit{toks[from].start, toks[to].end, ""}) }
	n := len(toks)
	at := func(i int) token {
		if i >= 0 && i < n {
			return toks[i]
		}
		return token{kind: tkPunct, upper: ";"}
	}
	sawSpatial := false
	var kinds []string
	for i := 0; i < n; i++ {
		t := toks[i]
		switch {
		case i == 1 && at(0).is("ALTER") && t.is("ONLINE"):
			del(i, i)
		case t.is("TABLE") && at(i+1).is("IF") && at(i+2).is("EXISTS") && (at(0).is("ALTER") || at(0).is("RENAME")):
			p.ifExists = true
			del(i+1, i+2)
			i += 2
		case i == 1 && at(0).is("RENAME") && t.is("TABLES"):
			edits = append(edits, edit{t.start, t.end, "TABLE"})
			if at(i+1).is("IF") && at(i+2).is("EXISTS") {
				p.ifExists = true
				del(i+1, i+2)
				i += 2
			}
		case t.is("SRID") && at(i+1).kind == tkNumber && (at(i-1).kind == tkWord || at(i-1).punct(')')):
			del(i, i+1) // MySQL 8's spatial reference id: no bearing on the stored bytes
			i++
		case t.is("WAIT") && t.depth == 0 && at(i+1).kind == tkNumber:
			del(i, i+1)
			i++
		case t.is("NOWAIT") && t.depth == 0:
			del(i, i)
		case t.is("ALGORITHM") && t.depth == 0 && at(i+1).punct('=') && at(i+2).is("NOCOPY"):
			// MariaDB's ALGORITHM=NOCOPY: how the server runs the change, not what it does.
			edits = append(edits, edit{at(i + 2).start, at(i + 2).end, "INPLACE"})
			i += 2
		case t.is("PERSISTENT") && at(i-1).punct(')'):
			edits = append(edits, edit{t.start, t.end, "STORED"})
		case t.is("INVISIBLE") && !at(i-1).is("SET"):
			edits = append(edits, edit{t.start, t.end, "COMMENT '" + markerPrefix + "invisible'"})
		case t.is(spatialTypes...) && (at(i-1).kind == tkWord || at(i-1).kind == tkQuoted) && !at(i+1).punct('(') && !at(i+1).punct('.') && endsColumnType(at(i+1)):
			end := i
			if at(i+1).is("SRID") && at(i+2).kind == tkNumber {
				end = i + 2
			}
			edits = append(edits, edit{t.start, toks[end].end, "LONGBLOB COMMENT '" + markerPrefix + "type=" + strings.ToLower(t.upper) + "'"})
			i = end
		case t.is(mariadbTypes...) && (at(i-1).kind == tkWord || at(i-1).kind == tkQuoted) && !at(i+1).punct('(') && !at(i+1).punct('.') && endsColumnType(at(i+1)):
			// MariaDB's INET6, INET4 and UUID: parsed as a string type (which takes the
			// same literal defaults), the real type carried in a marker comment.
			edits = append(edits, edit{t.start, t.end, "VARCHAR(64) COMMENT '" + markerPrefix + "type=" + strings.ToLower(t.upper) + "'"})
		case t.is("UNIQUE", "FULLTEXT", "SPATIAL") && ifNotExistsAt(toks, i+1) > 0:
			// MariaDB's ADD UNIQUE|FULLTEXT|SPATIAL [KEY|INDEX] IF NOT EXISTS name: the TiDB
			// grammar has IF NOT EXISTS only for plain indexes, so the kind travels by name.
			e := ifNotExistsAt(toks, i+1)
			name := identText(p.sql, at(e+1))
			if name == "" {
				continue
			}
			if p.indexOverride == nil {
				p.indexOverride = map[string]indexOverride{}
			}
			p.indexOverride[strings.ToLower(name)] = indexOverride{unique: t.upper == "UNIQUE", kind: strings.TrimPrefix(t.upper, "UNIQUE")}
			edits = append(edits, edit{t.start, toks[e].end, "INDEX IF NOT EXISTS"})
			i = e
		case t.is("FULLTEXT", "SPATIAL") && !at(i-1).is("CREATE", "UNIQUE") && (at(i+1).is("KEY", "INDEX") || at(i+1).kind == tkQuoted || at(i+1).kind == tkWord || at(i+1).punct('(')):
			kinds = append(kinds, t.upper)
			if t.upper == "SPATIAL" {
				sawSpatial = true
				edits = append(edits, edit{t.start, t.end, "FULLTEXT"})
			}
		case t.is("DEFAULT") && !at(i-1).is("SET") && (at(i+1).punct('(') || at(i+1).kind == tkWord && !at(i+1).is(nowWords...) && at(i+2).punct('(')):
			// An expression default the TiDB grammar may not accept (it allows only a few
			// functions): carried as hex in a marker comment.
			open := i + 1
			if !at(open).punct('(') {
				open++
			}
			closing := matchParen(toks, open)
			if closing < 0 {
				continue
			}
			from, to := toks[open].end, toks[closing].start
			if open == i+2 {
				from, to = toks[i+1].start, toks[closing].end
			}
			edits = append(edits, edit{t.start, toks[closing].end, "COMMENT '" + markerPrefix + "default=" + hex.EncodeToString([]byte(p.sql[from:to])) + "'"})
			i = closing
		case t.is("START") && at(i+1).is("TRANSACTION") && i+2 >= n && at(0).is("CREATE"):
			del(i, i+1)
			i++
		}
	}
	if sawSpatial {
		p.indexKinds = kinds
	}
	if len(edits) == 0 {
		return p, false
	}
	p.sql = applyEdits(p.sql, edits)
	return p, true
}

// ifNotExistsAt finds "[KEY|INDEX] IF NOT EXISTS" at toks[i:] and returns the index of
// EXISTS, or -1.
func ifNotExistsAt(toks []token, i int) int {
	if i < len(toks) && toks[i].is("KEY", "INDEX") {
		i++
	}
	if i+2 < len(toks) && toks[i].is("IF") && toks[i+1].is("NOT") && toks[i+2].is("EXISTS") {
		return i + 2
	}
	return -1
}

// identText returns the identifier a word or quoted token stands for, or "".
func identText(sql string, t token) string {
	switch t.kind {
	case tkWord:
		return sql[t.start:t.end]
	case tkQuoted:
		if t.end-t.start < 2 {
			return ""
		}
		q := sql[t.start : t.start+1]
		return strings.ReplaceAll(sql[t.start+1:t.end-1], q+q, q)
	}
	return ""
}

var nowWords = []string{"CURRENT_TIMESTAMP", "NOW", "LOCALTIME", "LOCALTIMESTAMP"}

// matchParen returns the index of the ')' closing the '(' at toks[open], or -1.
func matchParen(toks []token, open int) int {
	for j := open + 1; j < len(toks); j++ {
		if toks[j].punct(')') && toks[j].depth == toks[open].depth {
			return j
		}
	}
	return -1
}

// mariadbTypes are MariaDB's column types the TiDB grammar lacks (besides spatial ones).
var mariadbTypes = []string{"INET6", "INET4", "UUID"}

var spatialTypes = []string{"GEOMETRY", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT",
	"MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION", "GEOMCOLLECTION"}

// endsColumnType reports whether t can follow a column's type: the end of the definition or a
// column attribute, not another type name (which would make the word a column name).
func endsColumnType(t token) bool {
	if t.kind == tkPunct {
		return t.punct(',') || t.punct(')') || t.punct(';')
	}
	return t.is("NOT", "NULL", "DEFAULT", "COMMENT", "SRID", "AFTER", "FIRST", "INVISIBLE",
		"VISIBLE", "COLUMN_FORMAT", "STORAGE", "PRIMARY", "UNIQUE", "KEY", "REFERENCES", "CHECK",
		"CONSTRAINT", "COLLATE", "GENERATED", "AS")
}

func applyEdits(s string, edits []edit) string {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var b strings.Builder
	last := 0
	for _, e := range edits {
		if e.start < last {
			continue
		}
		b.WriteString(s[last:e.start])
		b.WriteString(e.with)
		last = e.end
	}
	b.WriteString(s[last:])
	return b.String()
}
