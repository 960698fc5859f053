package pgddl

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/applier/postgres/pgvalue"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/schema"
)

// pgIdentMax is PostgreSQL's identifier length limit (NAMEDATALEN - 1), in bytes.
const pgIdentMax = 63

// PGIndexName is the PostgreSQL name of the MySQL index index of a table that is pgTable in
// PostgreSQL. MySQL index names are per table and case-insensitive, PostgreSQL's are per
// schema, so the name is "<pgTable>_<index in lower case>"; a name longer than 63 bytes is
// cut and ends in 8 hex digits of its SHA-256, so that different long names stay different
// and the same name always comes out the same. Unique constraints carry the same name.
func PGIndexName(pgTable, index string) string {
	return pgName(pgTable + "_" + strings.ToLower(index))
}

// pgName makes a name fit PostgreSQL's limit deterministically.
func pgName(n string) string {
	if len(n) <= pgIdentMax {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	cut := pgIdentMax - 9
	for cut > 0 && !utf8.RuneStart(n[cut]) {
		cut--
	}
	return n[:cut] + "_" + hex.EncodeToString(sum[:4])
}

func qi(name string) string { return pgx.Identifier{name}.Sanitize() }

func qt(t PGTarget) string { return pgx.Identifier{t.Schema, t.Table}.Sanitize() }

// pgString quotes a string constant; an E-string when it holds a backslash, so the result
// means the same whatever standard_conforming_strings is.
func pgString(s string) string {
	if strings.Contains(s, `\`) {
		return "E'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(s) + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// pgType maps a column through pgvalue.Type under the translator's [mapping] rules.
func (tr *pgTranslator) pgType(c *schema.Column) (string, error) { return pgvalue.Type(tr.pol, c) }

func isPGNumeric(t string) bool {
	return t == "smallint" || t == "integer" || t == "bigint" || t == "real" ||
		t == "double precision" || strings.HasPrefix(t, "numeric")
}

// pgDefault renders a default for a column of PostgreSQL type typ. ok is false when there is
// no DEFAULT clause to write: no default, DEFAULT NULL, or a default PostgreSQL cannot hold
// (reason says which; an expression, a zero date, a string with a NUL byte).
func pgDefault(c *schema.Column, d ddl.Default, typ string) (expr string, ok bool, reason string) {
	switch d.Kind {
	case ddl.NoDefault, ddl.DefaultNull:
		return "", false, ""
	case ddl.DefaultCurrentTimestamp:
		if d.Value != "" && d.Value != "0" {
			return "CURRENT_TIMESTAMP(" + d.Value + ")", true, ""
		}
		return "CURRENT_TIMESTAMP", true, ""
	case ddl.DefaultExpression:
		return "", false, "expression default " + d.Value + " is not translated"
	}
	v := d.Value
	switch {
	case typ == "bytea":
		if c.DataType == "binary" && int64(len(v)) < c.CharLength {
			v += strings.Repeat("\x00", int(c.CharLength)-len(v)) // BINARY(n) pads with zero bytes
		}
		return "'\\x" + hex.EncodeToString([]byte(v)) + "'::bytea", true, ""
	case strings.HasPrefix(typ, "bit("):
		if len(v) > max(c.Precision, 1) {
			return "", false, "default b'" + v + "' is wider than the column"
		}
		return "B'" + strings.Repeat("0", max(c.Precision, 1)-len(v)) + v + "'", true, ""
	case isPGNumeric(typ):
		if !isPlainNumber(v) {
			return "", false, "default " + pgString(v) + " is not a number"
		}
		return v, true, ""
	case typ == "date" || strings.HasPrefix(typ, "timestamp"):
		switch {
		case zeroDate(v):
			return "'-infinity'", true, "" // as mapping writes zero dates
		case !validDate(v):
			return "", false, "default " + pgString(v) + " is not a date PostgreSQL can read"
		case strings.HasSuffix(typ, "with time zone"):
			return pgString(v + "+00"), true, "" // TIMESTAMP values are UTC, as mapping reads them
		}
	}
	if strings.ContainsRune(v, 0) {
		return "", false, "default holds a NUL byte"
	}
	return pgString(v), true, ""
}

// isPlainNumber accepts [-]digits[.digits][e[+-]digits], which PostgreSQL reads as a
// number for every numeric type.
func isPlainNumber(v string) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(v) && isDigit(v[i]) {
			i++
			n++
		}
		return n
	}
	n := digits()
	if i < len(v) && v[i] == '.' {
		i++
		n += digits()
	}
	if n == 0 {
		return false
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '-' || v[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(v)
}

// zeroDate reports MySQL's zero and partly-zero dates ("0000-00-00", "2020-00-15"), which
// PostgreSQL cannot hold and the mapping package writes as -infinity.
func zeroDate(v string) bool {
	return len(v) >= 10 && (v[0:4] == "0000" || v[5:7] == "00" || v[8:10] == "00")
}

// validDate accepts what starts like a date PostgreSQL can read.
func validDate(v string) bool {
	if len(v) < 10 || v[4] != '-' || v[7] != '-' {
		return false
	}
	y, e1 := strconv.Atoi(v[:4])
	m, e2 := strconv.Atoi(v[5:7])
	d, e3 := strconv.Atoi(v[8:10])
	return e1 == nil && e2 == nil && e3 == nil && y > 0 && m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// implicitDefault is the value MySQL gives existing rows when a NOT NULL column without a
// default is added: zero, the empty string, the first ENUM member, the zero date (written
// -infinity, as the mapping package writes zero dates). ok is false for types that have none
// (spatial types); the column is then added NOT NULL without one, which PostgreSQL accepts
// only on an empty table.
func implicitDefault(c *schema.Column, typ string) (string, bool) {
	switch {
	case typ == "date" || strings.HasPrefix(typ, "timestamp"):
		return "'-infinity'", true
	case c.DataType == "enum" && len(c.Elems) > 0:
		return pgString(c.Elems[0]), true
	case isPGNumeric(typ):
		return "0", true
	case strings.HasPrefix(typ, "bit("):
		return "B'" + strings.Repeat("0", max(c.Precision, 1)) + "'", true
	case typ == "text" || strings.HasPrefix(typ, "varchar"):
		return "''", true
	case typ == "bytea" && c.DataType == "binary":
		return "'\\x" + strings.Repeat("00", int(c.CharLength)) + "'::bytea", true
	case typ == "bytea" && (c.DataType == "varbinary" || strings.HasSuffix(c.DataType, "blob")):
		return "'\\x'::bytea", true
	case typ == "jsonb":
		return "'null'", true
	case strings.HasPrefix(typ, "interval"):
		return "'00:00:00'", true
	}
	return "", false
}

// dollarQuote wraps a PL/pgSQL body in a dollar quote whose tag the body does not contain.
func dollarQuote(body string) string {
	tag := "$ddl$"
	for i := 1; strings.Contains(body, tag); i++ {
		tag = "$ddl" + strconv.Itoa(i) + "$"
	}
	return tag + body + tag
}

// dropPrimaryKeyPG drops a table's primary key whatever it is named: tables created by the
// snapshot, by an earlier translation or renamed since all qualify, and a table without one
// (or that does not exist) is left alone.
func dropPrimaryKeyPG(t PGTarget) string {
	table := qt(t)
	body := "DECLARE n text; BEGIN SELECT conname INTO n FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass(" +
		pgString(table) + ") AND contype = 'p'; IF n IS NOT NULL THEN EXECUTE format(" +
		pgString("ALTER TABLE "+strings.ReplaceAll(table, "%", "%%")+" DROP CONSTRAINT %I") + ", n); END IF; END"
	return "DO " + dollarQuote(body)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
