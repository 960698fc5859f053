package mapping

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

type pgKind uint8

const (
	pgVerbatim    pgKind = iota // numbers: canonical text is valid PostgreSQL input
	pgText                      // strings, enums, sets, JSON: COPY-escaped, no NUL
	pgBytea                     // binary strings, blobs, spatial: hex
	pgDate                      // date: zero dates become -infinity
	pgTimestamp                 // datetime: zero dates become -infinity
	pgTimestampTZ               // timestamp: canonical is UTC, so "+00" is appended
	pgInterval                  // time: may be negative or beyond 24h
	pgBit                       // bit(n): raw big-endian bytes to a string of n binary digits
)

// PGEncoder turns canonical rows into PostgreSQL COPY text format for one table's selected
// columns. It is compiled once per table version and used for every row.
type PGEncoder struct {
	cols  []*schema.Column
	kinds []pgKind
}

// NewPGEncoder compiles an encoder for the given columns, in COPY column order.
func NewPGEncoder(cols []*schema.Column) *PGEncoder {
	e := &PGEncoder{cols: cols, kinds: make([]pgKind, len(cols))}
	for i, c := range cols {
		e.kinds[i] = pgKindOf(c)
	}
	return e
}

func pgKindOf(c *schema.Column) pgKind {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric",
		"float", "double", "real", "year", "bool", "boolean":
		return pgVerbatim
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point",
		"linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection",
		"geomcollection", "vector":
		return pgBytea
	case "date":
		return pgDate
	case "datetime":
		return pgTimestamp
	case "timestamp":
		return pgTimestampTZ
	case "time":
		return pgInterval
	case "bit":
		return pgBit
	}
	return pgText
}

// ValueError is a value the target cannot store; it names the column.
type ValueError struct {
	Column string
	Reason string
}

func (e *ValueError) Error() string { return fmt.Sprintf("column %s: %s", e.Column, e.Reason) }

// AppendRow appends one COPY text line (tab-separated, newline-terminated) for row, whose
// entries correspond to the encoder's columns.
func (e *PGEncoder) AppendRow(dst []byte, row change.Row) ([]byte, error) {
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

func (e *PGEncoder) appendValue(dst []byte, i int, v []byte) ([]byte, error) {
	switch e.kinds[i] {
	case pgVerbatim:
		return append(dst, v...), nil
	case pgText:
		if bytes.IndexByte(v, 0) >= 0 {
			return dst, &ValueError{Column: e.cols[i].Name, Reason: "text contains a NUL byte, which PostgreSQL text cannot store (map the column to a binary type at the source, or remove the NUL)"}
		}
		return appendCopyEscaped(dst, v), nil
	case pgBytea:
		dst = append(dst, '\\', '\\', 'x')
		return hex.AppendEncode(dst, v), nil
	case pgDate, pgTimestamp:
		if zeroDate(v) {
			return append(dst, "-infinity"...), nil
		}
		return append(dst, v...), nil
	case pgTimestampTZ:
		if zeroDate(v) {
			return append(dst, "-infinity"...), nil
		}
		return append(append(dst, v...), '+', '0', '0'), nil
	case pgInterval:
		return append(dst, v...), nil
	case pgBit:
		width := max(e.cols[i].Precision, 1)
		return appendBits(dst, v, width), nil
	}
	return dst, fmt.Errorf("column %s: unknown encoding", e.cols[i].Name)
}

// zeroDate reports MySQL's zero and partly-zero dates ("0000-00-00", "2020-00-15"), which
// PostgreSQL cannot hold: they become -infinity (README: type mapping).
func zeroDate(v []byte) bool {
	if len(v) < 10 {
		return false
	}
	return string(v[0:4]) == "0000" || string(v[5:7]) == "00" || string(v[8:10]) == "00"
}

// appendCopyEscaped escapes the characters COPY's text format treats specially.
func appendCopyEscaped(dst, v []byte) []byte {
	for _, b := range v {
		switch b {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, b)
		}
	}
	return dst
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

// CopyColumnList renders the quoted column list of a COPY or INSERT statement.
func CopyColumnList(cols []*schema.Column, quote func(string) string) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quote(c.Name)
	}
	return strings.Join(names, ", ")
}
