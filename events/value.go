package events

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// valueKind is how one column's canonical value is rendered in JSON. The kind depends on
// the column type only, never on the value, so a column always has one JSON type.
type valueKind uint8

const (
	kindString  valueKind = iota // text, ENUM, SET, DECIMAL, temporal types: the canonical text
	kindInteger                  // integer types and YEAR: a JSON number with every digit
	kindFloat                    // FLOAT, DOUBLE: a JSON number (shortest text that reads back)
	kindBits                     // BIT(n): the bits as an unsigned JSON number
	kindBinary                   // binary strings, BLOBs, spatial, VECTOR: base64 (standard, padded)
	kindJSON                     // JSON: the value itself, compacted to one line
)

func kindOf(c *schema.Column) valueKind {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year", "bool", "boolean":
		return kindInteger
	case "float", "double", "real", "double precision":
		return kindFloat
	case "bit":
		return kindBits
	case "json":
		return kindJSON
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point",
		"linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection",
		"geomcollection", "vector":
		return kindBinary
	}
	return kindString
}

// AppendValue appends the JSON rendering of v, a canonical value (see change.Row) of column
// c; nil is SQL NULL. The rule (also in the package documentation):
//
//   - NULL -> null
//   - TINYINT .. BIGINT (signed or unsigned), BOOL, YEAR -> a JSON number with all its
//     digits (BIGINT values beyond 2^53 need a parser that keeps integers exact)
//   - FLOAT, DOUBLE -> a JSON number
//   - DECIMAL -> a string with the exact text, e.g. "1.50" (a JSON number would be read as
//     a binary float by most parsers)
//   - BIT(n) -> the bits as an unsigned JSON number
//   - CHAR, VARCHAR, TEXT, ENUM, SET ("a,b"), DATE, DATETIME, TIMESTAMP (UTC), TIME -> a
//     string with the text a SELECT shows (MariaDB's JSON is LONGTEXT, so a string too)
//   - BINARY, VARBINARY, BLOBs, spatial types -> base64 string
//   - JSON (MySQL) -> the JSON value itself, compacted
//
// A value that does not fit its kind (which the decoder does not produce) falls back to a
// string, and invalid UTF-8 becomes U+FFFD, so a line is always valid JSON.
func AppendValue(dst []byte, c *schema.Column, v []byte) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	switch kindOf(c) {
	case kindInteger:
		if isJSONInteger(v) {
			return append(dst, v...)
		}
		// YEAR may arrive as "0000"; a number has no leading zeros.
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return strconv.AppendInt(dst, n, 10)
		}
		if n, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return strconv.AppendUint(dst, n, 10)
		}
	case kindFloat:
		if isJSONNumber(v) {
			return append(dst, v...)
		}
	case kindBits:
		if len(v) <= 8 {
			var n uint64
			for _, b := range v {
				n = n<<8 | uint64(b)
			}
			return strconv.AppendUint(dst, n, 10)
		}
		return appendBase64(dst, v)
	case kindBinary:
		return appendBase64(dst, v)
	case kindJSON:
		var b bytes.Buffer
		if json.Compact(&b, v) == nil {
			return append(dst, b.Bytes()...)
		}
	}
	return mapping.AppendJSONBytes(dst, v)
}

func appendBase64(dst, v []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, v)
	return append(dst, '"')
}

// isJSONInteger reports whether v is an integer in JSON syntax: an optional minus and
// digits without a leading zero.
func isJSONInteger(v []byte) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	if i >= len(v) || (v[i] == '0' && len(v) > i+1) {
		return false
	}
	for ; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// isJSONNumber reports whether v is a number in JSON syntax.
func isJSONNumber(v []byte) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	digits := func() int {
		s := i
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		return i - s
	}
	switch {
	case i < len(v) && v[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(v)
}

// appendJSONString appends s as a JSON string, as every value string is (mapping's
// encoder, shared with the Elasticsearch documents).
func appendJSONString(dst []byte, s string) []byte { return mapping.AppendJSONString(dst, s) }
