// Package esdoc maps MySQL columns to Elasticsearch fields and encodes canonical row values
// (change.Row) as Elasticsearch documents and document ids, under the [mapping] rules of a
// mapping.Policy. The snapshot, the stream, foreign key actions and verify all encode
// through one Encoder per table version, so every path writes the same documents.
package esdoc

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/transform"
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

// esSubKeywordMax is the ignore_above of the keyword subfield of text fields, Elasticsearch's
// own (its dynamic mapping of strings): exact match, sorting and aggregations on values up to
// 256 characters; longer values are searchable through the text field only.
const esSubKeywordMax = 256

// esDoubleExactDigits is the largest DECIMAL precision whose values a double keeps apart and
// in order: every decimal of at most 15 significant digits round-trips through a double, so
// sorting, range and term queries on the double field are exact for them.
const esDoubleExactDigits = 15

// Field returns the Elasticsearch field mapping of a MySQL column under the rules of p. The rule keeps every
// value exactly in _source and indexes it under the closest type Elasticsearch has:
//
//   - integers -> long; BIGINT UNSIGNED -> unsigned_long, or (on clusters without it) a
//     double (sorting and ranges) with a "keyword" subfield holding the exact decimal text
//   - DECIMAL(p,s) -> double (the _source keeps the exact string): exact in order and
//     equality up to 15 digits of precision; above, a "keyword" subfield holds the exact text
//     for term queries while the double sorts and ranges to its 15-17 digits. double rather
//     than scaled_float: scaled_float is a module some builds lack, and it is no more exact
//     for queries (its values are read as doubles) up to 15 digits
//   - FLOAT -> float, DOUBLE -> double, YEAR -> short
//   - BIT(n) -> long holding the bits as an unsigned integer (BIT(64) like BIGINT UNSIGNED)
//   - DATE, DATETIME, TIMESTAMP -> date whose first format is the exact text MySQL prints
//     (UTC for TIMESTAMP; DATETIME is read as UTC), then the forms people query with
//     (yyyy-MM-dd HH:mm:ss, ISO 8601, epoch milliseconds), and ignore_malformed, so zero
//     dates ("0000-00-00") stay verbatim in _source and are left out of the index (they
//     appear in the document's _ignored field); with mapping.zero_dates = "null" they are
//     null in nullable columns
//   - TIME -> keyword (it is a duration, possibly negative or over 24 hours)
//   - VARCHAR, TEXT family -> text (full-text search) with a "keyword" subfield (exact
//     match, sort, aggregations; ignore_above 256), Elasticsearch's own convention
//   - CHAR(n) -> keyword: fixed-length columns hold codes, hashes, ids and flags
//   - ENUM -> keyword; SET -> keyword holding an array of members (closed vocabularies)
//   - BINARY, VARBINARY -> keyword of the base64 text (ids and hashes: term queries work);
//     BLOBs, spatial types (MySQL's SRID + WKB bytes), VECTOR -> binary (base64, not indexed)
//   - JSON -> object with enabled: false: the value is kept as is in _source but not
//     indexed, because JSON columns mix scalars, arrays and objects whose field types
//     differ from row to row, which a dynamic object mapping turns into rejected documents
//     (and flattened refuses scalars and arrays). MariaDB's JSON is an alias of LONGTEXT:
//     text holding the JSON text, or with mapping.mariadb_json = "json" the JSON value.
//   - TINYINT(1) with mapping.tinyint1_as_boolean -> boolean
//   - MariaDB's INET6, INET4 -> ip; UUID -> keyword (the text a SELECT shows)
//
// A [[tables]] rule's field_types make a string column "text" (with the keyword subfield) or
// "keyword" instead (StringField). Column names with a dot or a leading underscore are
// refused (Properties): Elasticsearch would read them as object paths or metadata fields.
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
		if c.Precision > 0 && c.Precision <= esDoubleExactDigits {
			return map[string]any{"type": "double"}, nil
		}
		return esApproxNumber(), nil
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
	case "time", "enum", "set", "uuid":
		return map[string]any{"type": "keyword"}, nil
	case "char":
		return keywordField(c.CharLength), nil
	case "varchar", "tinytext", "text", "mediumtext", "longtext":
		return textField(), nil
	case "binary", "varbinary":
		n := c.CharLength // bytes; base64 takes 4 characters per 3
		return keywordField((n + 2) / 3 * 4), nil
	case "json":
		return map[string]any{"type": "object", "enabled": false}, nil
	case "inet6", "inet4":
		return map[string]any{"type": "ip"}, nil
	}
	if esBinaryType(c.DataType) {
		return map[string]any{"type": "binary"}, nil
	}
	return nil, fmt.Errorf("column %s: MySQL type %s has no Elasticsearch mapping", c.Name, strings.ToUpper(c.ColumnType))
}

// Field types a [[tables]] rule's field_types can give a string column.
const (
	FieldText    = "text"
	FieldKeyword = "keyword"
)

// IsStringColumn reports whether a column's field type can be chosen by field_types: the
// character string types, ENUM and SET (their values are text).
func IsStringColumn(p mapping.Policy, c *schema.Column) bool {
	if p.JSON(c) {
		return false
	}
	switch c.DataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return true
	}
	return false
}

// StringField is the mapping of a string column given the field type "text" or "keyword".
func StringField(c *schema.Column, typ string) (map[string]any, error) {
	switch typ {
	case FieldText:
		return textField(), nil
	case FieldKeyword:
		return keywordField(c.CharLength), nil
	}
	return nil, fmt.Errorf("column %s: field type %q: must be %q or %q", c.Name, typ, FieldText, FieldKeyword)
}

// textField is Elasticsearch's own mapping of a string: analysed text for full-text search
// with a keyword subfield for exact match, sorting and aggregations.
func textField() map[string]any {
	return map[string]any{"type": "text", "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": esSubKeywordMax}}}
}

// keywordField is a keyword for values of at most n characters (0: unknown); longer
// possible values get ignore_above so that a value over Lucene's term limit is kept in
// _source instead of failing the document.
func keywordField(n int64) map[string]any {
	f := map[string]any{"type": "keyword"}
	if n <= 0 || n > esKeywordMax {
		f["ignore_above"] = esKeywordMax
	}
	return f
}

func esUnsigned(o Options) map[string]any {
	if o.UnsignedLong {
		return map[string]any{"type": "unsigned_long"}
	}
	return esApproxNumber()
}

// esApproxNumber is a double for sorting and ranges, with the exact decimal text (the
// _source string) in a keyword subfield for term queries: for numbers a double cannot keep
// apart.
func esApproxNumber() map[string]any {
	return map[string]any{"type": "double", "fields": map[string]any{"keyword": map[string]any{"type": "keyword"}}}
}

// DateFormat is the date format of a DATE, DATETIME or TIMESTAMP column: first exactly the
// text MySQL prints, with as many fraction digits as the column's precision (Elasticsearch
// formats dates in it), then the forms queries use: a date alone or without the fraction,
// ISO 8601 (strict_date_optional_time) and epoch milliseconds.
func DateFormat(c *schema.Column) string {
	if c.DataType == "date" {
		return "yyyy-MM-dd||strict_date_optional_time||epoch_millis"
	}
	f := "yyyy-MM-dd HH:mm:ss"
	if c.FracDigits > 0 {
		f += "." + strings.Repeat("S", c.FracDigits) + "||yyyy-MM-dd HH:mm:ss"
	}
	return f + "||yyyy-MM-dd||strict_date_optional_time||epoch_millis"
}

// Properties returns the "properties" of an index mapping for the given columns of t;
// fieldType gives a column's field_types choice ("" for the default; nil for none).
func Properties(p mapping.Policy, t *schema.Table, cols []int, o Options, fieldType func(column string) string) (map[string]any, error) {
	props := make(map[string]any, len(cols))
	for _, ci := range cols {
		c := &t.Columns[ci]
		if err := esFieldName(c.Name); err != nil {
			return nil, fmt.Errorf("table %s: %w", t.QualifiedName(), err)
		}
		var (
			f   map[string]any
			err error
		)
		if typ := typeOf(fieldType, c.Name); typ != "" {
			if !IsStringColumn(p, c) {
				return nil, fmt.Errorf("table %s: field_types: column %s is %s; only CHAR, VARCHAR, TEXT, ENUM and SET columns take \"text\" or \"keyword\": remove it from field_types",
					t.QualifiedName(), c.Name, strings.ToUpper(c.ColumnType))
			}
			f, err = StringField(c, typ)
		} else {
			f, err = Field(p, c, o)
		}
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.QualifiedName(), err)
		}
		props[c.Name] = f
	}
	return props, nil
}

// ViewProperties returns the "properties" of an index mapping for the target view v of a
// table (NewViewEncoder's documents): the view's fields under their target names, a
// hashed column as a keyword (CHAR(64)), and the metadata fields replicator_source_db,
// replicator_source_table and replicator_gtid as keywords (exact values, matched whole),
// replicator_commit_time as a date. fieldType gives a field_types choice by source column
// name, as Properties; a metadata field takes none.
func ViewProperties(p mapping.Policy, v *transform.View, o Options, fieldType func(column string) string) (map[string]any, error) {
	cols := make([]int, len(v.Table.Columns))
	types := map[string]string{} // target name -> field type choice
	for i, c := range v.Columns {
		cols[i] = i
		switch {
		case c.Meta == transform.MetaCommitTime:
		case c.Meta != 0:
			types[v.Table.Columns[i].Name] = FieldKeyword
		default:
			types[v.Table.Columns[i].Name] = typeOf(fieldType, v.SourceName(i))
		}
	}
	return Properties(p, v.Table, cols, o, func(name string) string { return types[name] })
}

func typeOf(fieldType func(string) string, column string) string {
	if fieldType == nil {
		return ""
	}
	return fieldType(column)
}

// esFieldName rejects column names Elasticsearch would read differently: a dot makes an
// object path and a leading underscore may clash with metadata fields.
func esFieldName(n string) error {
	if n == "" || strings.Contains(n, ".") || strings.HasPrefix(n, "_") {
		return fmt.Errorf("column %q cannot be an Elasticsearch field name (dots and a leading underscore are reserved): exclude it with exclude_columns", n)
	}
	return nil
}

// FieldShape describes the field mapping of column c under the rules of p in one line:
// its type, "+" and each subfield's name, then its other parameters as JSON ("double",
// "text+keyword", "date {"format":...}"). Two columns with equal shapes are held alike by
// one index: the shards of a fan-in index must agree on it.
func FieldShape(p mapping.Policy, c *schema.Column, o Options) (string, error) {
	f, err := Field(p, c, o)
	if err != nil {
		return "", err
	}
	typ, _ := f["type"].(string)
	if subs, ok := f["fields"].(map[string]any); ok {
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			typ += "+" + n
		}
	}
	rest := map[string]any{}
	for k, v := range f {
		if k != "type" && k != "fields" {
			rest[k] = v
		}
	}
	if len(rest) > 0 {
		b, err := json.Marshal(rest)
		if err != nil {
			return "", err
		}
		typ += " " + string(b)
	}
	return typ, nil
}
