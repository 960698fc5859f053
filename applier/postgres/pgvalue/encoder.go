package pgvalue

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

type pgKind uint8

const (
	pgVerbatim    pgKind = iota // numbers: canonical text is valid PostgreSQL input
	pgText                      // strings, enums, sets: COPY-escaped, NUL per mapping.text_nul
	pgBytea                     // binary strings, blobs, spatial without PostGIS: hex
	pgDate                      // date, datetime: zero dates per mapping.zero_dates
	pgTimestampTZ               // timestamp: canonical is UTC, so "+00" is appended
	pgInterval                  // time: may be negative or beyond 24h
	pgBit                       // bit(n): raw big-endian bytes to a string of n binary digits
	pgBool                      // TINYINT(1) as boolean: 0 is false, anything else true
	pgJSON                      // jsonb: COPY-escaped, \u0000 escapes per mapping.text_nul
	pgGeometry                  // PostGIS geometry: MySQL's SRID + WKB as hex EWKB
)

// Encoder turns canonical rows into PostgreSQL COPY text format for one table's selected
// columns. It is compiled once per table version, under the [mapping] rules it is given,
// and used for every row, from any number of goroutines.
type Encoder struct {
	table  string
	cols   []*schema.Column
	kinds  []pgKind
	pol    mapping.Policy
	warned []atomic.Bool // per column: the NUL rule's warning was logged
}

// NewEncoder compiles an encoder under the rules of p for the given columns of table
// ("db.table", which the warnings of the NUL rule name; may be empty), in COPY column
// order.
func NewEncoder(p mapping.Policy, table string, cols []*schema.Column) *Encoder {
	e := &Encoder{table: table, cols: cols, kinds: make([]pgKind, len(cols)), pol: p, warned: make([]atomic.Bool, len(cols))}
	for i, c := range cols {
		e.kinds[i] = pgKindOf(p, c)
	}
	return e
}

func pgKindOf(p mapping.Policy, c *schema.Column) pgKind {
	if p.Bool(c) {
		return pgBool
	}
	if p.JSON(c) {
		return pgJSON
	}
	if mapping.IsSpatial(c.DataType) {
		if p.PostGIS() {
			return pgGeometry
		}
		return pgBytea
	}
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric",
		"float", "double", "real", "year", "bool", "boolean":
		return pgVerbatim
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "vector":
		return pgBytea
	case "date", "datetime":
		return pgDate
	case "timestamp":
		return pgTimestampTZ
	case "time":
		return pgInterval
	case "bit":
		return pgBit
	}
	return pgText
}

// Columns returns how many columns the encoder's rows have.
func (e *Encoder) Columns() int { return len(e.cols) }

// AppendRow appends one COPY text line (tab-separated, newline-terminated) for row, whose
// entries correspond to the encoder's columns.
func (e *Encoder) AppendRow(dst []byte, row change.Row) ([]byte, error) {
	for i, v := range row {
		if i > 0 {
			dst = append(dst, '\t')
		}
		if v == nil {
			dst = append(dst, '\\', 'N')
			continue
		}
		var err error
		dst, err = e.appendValue(dst, i, v)
		if err != nil {
			return dst, err
		}
	}
	return append(dst, '\n'), nil
}

func (e *Encoder) appendValue(dst []byte, i int, v []byte) ([]byte, error) {
	switch e.kinds[i] {
	case pgVerbatim, pgDate, pgTimestampTZ, pgInterval:
		// Numbers and temporal values go in as they are: MySQL prints them in forms
		// PostgreSQL reads. A value with a character COPY treats specially cannot be one of
		// them, and would corrupt the stream rather than be refused by PostgreSQL.
		if !copyPlain(v) {
			return dst, &mapping.ValueError{Column: e.cols[i].Name, Reason: fmt.Sprintf("%q is not a %s value", v, e.cols[i].DataType)}
		}
	}
	switch e.kinds[i] {
	case pgVerbatim:
		return append(dst, v...), nil
	case pgText:
		if bytes.IndexByte(v, 0) >= 0 {
			return e.appendNUL(dst, i, v)
		}
		return appendCopyEscaped(dst, v), nil
	case pgJSON:
		if len(v) == 0 {
			// MySQL's binary JSON can be empty (INSERT IGNORE of NULL into NOT NULL),
			// which MySQL reads as the JSON null literal.
			return append(dst, "null"...), nil
		}
		if bytes.IndexByte(v, 0) >= 0 || hasNULEscape(v) {
			return e.appendNUL(dst, i, v)
		}
		return appendCopyEscaped(dst, v), nil
	case pgBytea:
		dst = append(dst, '\\', '\\', 'x')
		return hex.AppendEncode(dst, v), nil
	case pgDate:
		if mapping.ZeroDate(v) {
			return e.appendZeroDate(dst, i), nil
		}
		return append(dst, v...), nil
	case pgTimestampTZ:
		if mapping.ZeroDate(v) {
			return e.appendZeroDate(dst, i), nil
		}
		return append(append(dst, v...), '+', '0', '0'), nil
	case pgInterval:
		return append(dst, v...), nil
	case pgBit:
		width := max(e.cols[i].Precision, 1)
		return appendBits(dst, v, width), nil
	case pgBool:
		if mapping.IsZeroNumber(v) {
			return append(dst, 'f'), nil
		}
		return append(dst, 't'), nil
	case pgGeometry:
		out, err := appendEWKBHex(dst, v)
		if err != nil {
			return dst, &mapping.ValueError{Column: e.cols[i].Name, Reason: err.Error()}
		}
		return out, nil
	}
	return dst, fmt.Errorf("column %s: unknown encoding", e.cols[i].Name)
}

// appendZeroDate writes what mapping.zero_dates makes of a zero date (README: type
// mapping): -infinity, or with "null" NULL where the column is nullable. A NOT NULL column
// (every key column is one) keeps -infinity, as its target column mirrors the NOT NULL:
// a zero date never stops replication.
func (e *Encoder) appendZeroDate(dst []byte, i int) []byte {
	if e.pol.ZeroDateNull(e.cols[i]) {
		return append(dst, '\\', 'N')
	}
	return append(dst, "-infinity"...)
}

// appendNUL applies mapping.text_nul to a text value holding NUL bytes, or a JSON value
// holding \u0000 escapes (which jsonb refuses): an error naming the column, or the value
// without them or with U+FFFD in their place, which is logged once per column and encoder.
func (e *Encoder) appendNUL(dst []byte, i int, v []byte) ([]byte, error) {
	c := e.cols[i]
	json := e.kinds[i] == pgJSON
	if e.pol.NUL() == mapping.NULError {
		what := "text contains a NUL byte, which PostgreSQL text cannot store"
		if json {
			what = `JSON contains a NUL character (\u0000), which PostgreSQL jsonb cannot store`
		}
		return dst, &mapping.ValueError{Column: c.Name, Reason: what + ` (set mapping.text_nul = "strip" or "replace", or remove the NUL at the source)`}
	}
	var repl []byte
	action := "removed"
	if e.pol.NUL() == mapping.NULReplace {
		repl, action = []byte("\uFFFD"), "replaced by U+FFFD"
		if json {
			repl = []byte(`\ufffd`)
		}
	}
	if !e.warned[i].Swap(true) {
		slog.Warn("NUL characters in a text value "+action+" (mapping.text_nul); later ones in this column are not logged",
			"table", e.table, "column", c.Name)
	}
	if json {
		return appendCopyEscaped(dst, replaceNULEscapes(v, repl)), nil
	}
	return appendCopyEscaped(dst, bytes.ReplaceAll(v, []byte{0}, repl)), nil
}

// copyPlain reports whether v holds only printable ASCII other than the backslash, which
// COPY's text format reads as it is.
func copyPlain(v []byte) bool {
	for _, b := range v {
		if b < 0x20 || b >= 0x7f || b == '\\' {
			return false
		}
	}
	return true
}

// hasNULEscape reports a \u0000 escape in JSON text.
func hasNULEscape(v []byte) bool {
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			continue
		}
		if i+5 < len(v) && v[i+1] == 'u' && string(v[i+2:i+6]) == "0000" {
			return true
		}
		i++ // the escaped character
	}
	return false
}

// replaceNULEscapes returns JSON text with its NUL bytes and \u0000 escapes replaced by
// repl.
func replaceNULEscapes(v, repl []byte) []byte {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == 0:
			out = append(out, repl...)
		case v[i] == '\\' && i+5 < len(v) && v[i+1] == 'u' && string(v[i+2:i+6]) == "0000":
			out = append(out, repl...)
			i += 5
		case v[i] == '\\' && i+1 < len(v):
			out = append(out, v[i], v[i+1])
			i++
		default:
			out = append(out, v[i])
		}
	}
	return out
}

// copySpecial marks the bytes COPY's text format reads specially.
var copySpecial = [256]bool{'\\': true, '\n': true, '\r': true, '\t': true}

// appendCopyEscaped escapes the characters COPY's text format treats specially. Runs of
// ordinary bytes are copied whole: this is the snapshot's hottest loop.
func appendCopyEscaped(dst, v []byte) []byte {
	start := 0
	for i, b := range v {
		if !copySpecial[b] {
			continue
		}
		dst = append(dst, v[start:i]...)
		switch b {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		}
		start = i + 1
	}
	return append(dst, v[start:]...)
}

// appendBits renders the low width bits of the big-endian value v as binary digits.
func appendBits(dst, v []byte, width int) []byte {
	total := len(v) * 8
	for bit := width - 1; bit >= 0; bit-- {
		if bit >= total {
			dst = append(dst, '0')
			continue
		}
		byteIdx := len(v) - 1 - bit/8
		if v[byteIdx]&(1<<(bit%8)) != 0 {
			dst = append(dst, '1')
		} else {
			dst = append(dst, '0')
		}
	}
	return dst
}

// ColumnList renders the quoted column list of a COPY or INSERT statement.
func ColumnList(cols []*schema.Column, quote func(string) string) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quote(c.Name)
	}
	return strings.Join(names, ", ")
}
