// Package esdoc maps MySQL columns to Elasticsearch fields and encodes canonical row values
// (change.Row) as Elasticsearch documents and document ids, under the [mapping] rules of a
// mapping.Policy. The snapshot, the stream, foreign key actions and verify all encode
// through one Encoder per table version, so every path writes the same documents.
package esdoc

import (
	"fmt"
	"strings"

	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// Options are the cluster capabilities the Elasticsearch mapping depends on.
type Options struct {
	// UnsignedLong is true when the cluster has the unsigned_long field type (the default
	// distribution does; builds without its module do not).
	UnsignedLong bool
}

// esKind is how one column's canonical value is written into a document.
type esKind uint8

const (
	esNumber   esKind = iota // integers, FLOAT, DOUBLE: the canonical decimal text is a JSON number
	esYear                   // YEAR: "0000".."2155", a number without leading zeros
	esString                 // text, ENUM, TIME, DECIMAL and dates: a JSON string of the canonical text
	esSet                    // SET: "a,b" becomes ["a","b"]
	esBinary                 // binary strings, blobs, spatial, VECTOR: base64
	esBits                   // BIT(n): the big-endian bits as an unsigned integer
	esBitsText               // BIT(64) without unsigned_long: that integer as a string
	esJSON                   // JSON: the value itself, verbatim
	esBool                   // TINYINT(1) as boolean: 0 is false, anything else true
	esDate                   // DATE, DATETIME, TIMESTAMP: a string; zero dates per mapping.zero_dates
)

// esKindOf decides the value encoding; Field decides the matching field type. Both follow
// the README's type table and the [mapping] rules in p.
func esKindOf(p mapping.Policy, c *schema.Column, o Options) esKind {
	if p.Bool(c) {
		return esBool
	}
	if p.JSON(c) {
		return esJSON
	}
	if mapping.IsTemporal(c.DataType) {
		return esDate
	}
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "float", "double", "real", "double precision", "bool", "boolean":
		return esNumber
	case "bigint":
		if c.Unsigned && !o.UnsignedLong {
			return esString
		}
		return esNumber
	case "year":
		return esYear
	case "set":
		return esSet
	case "bit":
		if c.Precision >= 64 && !o.UnsignedLong {
			return esBitsText
		}
		return esBits
	case "json":
		return esJSON
	}
	if esBinaryType(c.DataType) {
		return esBinary
	}
	return esString
}

func esBinaryType(dt string) bool {
	switch dt {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point",
		"linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection",
		"geomcollection", "vector":
		return true
	}
	return false
}

// esKeywordMax is the ignore_above limit of long keyword fields: Lucene rejects terms over
// 32,766 bytes, and 8,191 characters of at most 4 bytes each stay below it.
const esKeywordMax = 8191

// Field returns the Elasticsearch field mapping of a MySQL column under the rules of p. The rule keeps every
// value exactly in _source and indexes it under the closest type Elasticsearch has:
//
//   - integers -> long; BIGINT UNSIGNED -> unsigned_long, or (on clusters without it) a
//     keyword holding the exact decimal text with a "num" double subfield for ranges
//   - DECIMAL -> keyword with the exact text plus a "num" double subfield (scaled_float
//     is a module some builds lack, and would round)
//   - FLOAT -> float, DOUBLE -> double, YEAR -> short
//   - BIT(n) -> long holding the bits as an unsigned integer (BIT(64) like BIGINT UNSIGNED)
//   - DATE, DATETIME, TIMESTAMP -> date with the exact format MySQL prints (UTC for
//     TIMESTAMP; DATETIME is read as UTC) and ignore_malformed, so zero dates
//     ("0000-00-00") stay verbatim in _source and are left out of the index (they appear
//     in the document's _ignored field); with mapping.zero_dates = "null" they are null
//     in nullable columns
//   - TIME -> keyword (it is a duration, possibly negative or over 24 hours)
//   - CHAR, VARCHAR -> keyword with a "text" subfield for full-text search
//   - TEXT family -> text; ENUM -> keyword; SET -> keyword holding an array of members
//   - binary strings, BLOBs, spatial types (MySQL's SRID + WKB bytes), VECTOR -> binary
//     (base64)
//   - JSON -> object with enabled: false: the value is kept as is in _source but not
//     indexed, because JSON columns mix scalars, arrays and objects whose field types
//     differ from row to row, which a dynamic object mapping turns into rejected documents
//     (and flattened refuses scalars and arrays). MariaDB's JSON is an alias of LONGTEXT:
//     text holding the JSON text, or with mapping.mariadb_json = "json" the JSON value.
//   - TINYINT(1) with mapping.tinyint1_as_boolean -> boolean
//   - MariaDB's INET6, INET4 -> ip; UUID -> keyword (the text a SELECT shows)
//
// Column names with a dot or a leading underscore are refused (Properties): Elasticsearch
// would read them as object paths or metadata fields.
func Field(p mapping.Policy, c *schema.Column, o Options) (map[string]any, error) {
	if p.Bool(c) {
		return map[string]any{"type": "boolean"}, nil
	}
	if p.JSON(c) {
		return map[string]any{"type": "object", "enabled": false}, nil
	}
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bool", "boolean":
		return map[string]any{"type": "long"}, nil
	case "bigint":
		if c.Unsigned {
			return esUnsigned(o), nil
		}
		return map[string]any{"type": "long"}, nil
	case "decimal", "numeric":
		return esExactNumber(), nil
	case "float":
		return map[string]any{"type": "float"}, nil
	case "double", "real", "double precision":
		return map[string]any{"type": "double"}, nil
	case "bit":
		if c.Precision >= 64 {
			return esUnsigned(o), nil
		}
		return map[string]any{"type": "long"}, nil
	case "year":
		return map[string]any{"type": "short"}, nil
	case "date", "datetime", "timestamp":
		return map[string]any{"type": "date", "format": DateFormat(c), "ignore_malformed": true}, nil
	case "time", "enum", "set":
		return map[string]any{"type": "keyword"}, nil
	case "char", "varchar":
		f := map[string]any{"type": "keyword", "fields": map[string]any{"text": map[string]any{"type": "text"}}}
		if c.CharLength <= 0 || c.CharLength > esKeywordMax {
			f["ignore_above"] = esKeywordMax
		}
		return f, nil
	case "tinytext", "text", "mediumtext", "longtext":
		return map[string]any{"type": "text"}, nil
	case "json":
		return map[string]any{"type": "object", "enabled": false}, nil
	case "inet6", "inet4":
		return map[string]any{"type": "ip"}, nil
	case "uuid":
		return map[string]any{"type": "keyword"}, nil
	}
	if esBinaryType(c.DataType) {
		return map[string]any{"type": "binary"}, nil
	}
	return nil, fmt.Errorf("column %s: MySQL type %s has no Elasticsearch mapping", c.Name, strings.ToUpper(c.ColumnType))
}

func esUnsigned(o Options) map[string]any {
	if o.UnsignedLong {
		return map[string]any{"type": "unsigned_long"}
	}
	return esExactNumber()
}

// esExactNumber is a keyword with the exact decimal text (term queries, exact values) and a
// double subfield "num" for ranges and sorting.
func esExactNumber() map[string]any {
	return map[string]any{"type": "keyword", "fields": map[string]any{"num": map[string]any{"type": "double"}}}
}

// DateFormat is the date format of a DATE, DATETIME or TIMESTAMP column: exactly the
// text MySQL prints, with as many fraction digits as the column's precision.
func DateFormat(c *schema.Column) string {
	if c.DataType == "date" {
		return "yyyy-MM-dd"
	}
	f := "yyyy-MM-dd HH:mm:ss"
	if c.FracDigits > 0 {
		f += "." + strings.Repeat("S", c.FracDigits)
	}
	return f
}

// Properties returns the "properties" of an index mapping for the given columns of t.
func Properties(p mapping.Policy, t *schema.Table, cols []int, o Options) (map[string]any, error) {
	props := make(map[string]any, len(cols))
	for _, ci := range cols {
		c := &t.Columns[ci]
		if err := esFieldName(c.Name); err != nil {
			return nil, fmt.Errorf("table %s: %w", t.QualifiedName(), err)
		}
		f, err := Field(p, c, o)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.QualifiedName(), err)
		}
		props[c.Name] = f
	}
	return props, nil
}

// esFieldName rejects column names Elasticsearch would read differently: a dot makes an
// object path and a leading underscore may clash with metadata fields.
func esFieldName(n string) error {
	if n == "" || strings.Contains(n, ".") || strings.HasPrefix(n, "_") {
		return fmt.Errorf("column %q cannot be an Elasticsearch field name (dots and a leading underscore are reserved): exclude it with exclude_columns", n)
	}
	return nil
}
