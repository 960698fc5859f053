package mapping

import (
	"strings"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

// policy is the compiled [mapping] section (config.ActiveMapping) that type mappings and
// encoders are built with. Encoders take it when they are compiled, so one encoder never
// mixes two rules.
type policy struct {
	tinyBool  bool    // TINYINT(1) is boolean
	zeroNull  bool    // zero dates in nullable columns are NULL (else -infinity / kept text)
	nul       nulRule // NUL bytes in PostgreSQL text
	postgis   bool    // GEOMETRY is PostGIS geometry (else bytea)
	mariaJSON bool    // MariaDB's JSON columns are JSON (else text)
}

type nulRule uint8

const (
	nulError nulRule = iota
	nulStrip
	nulReplace
)

func currentPolicy() policy {
	m := config.ActiveMapping()
	p := policy{
		tinyBool:  m.TinyInt1AsBoolean,
		zeroNull:  m.ZeroDates == config.ZeroDatesNull,
		postgis:   m.Spatial == config.SpatialPostGIS,
		mariaJSON: m.MariaDBJSON == config.MariaDBJSONAsJSON,
	}
	switch m.TextNUL {
	case config.TextNULStrip:
		p.nul = nulStrip
	case config.TextNULReplace:
		p.nul = nulReplace
	}
	return p
}

// isBool reports a TINYINT(1) column mapped to boolean.
func (p policy) isBool(c *schema.Column) bool {
	return p.tinyBool && IsTinyInt1(c)
}

// IsTinyInt1 reports TINYINT(1), which is what BOOL and BOOLEAN are.
func IsTinyInt1(c *schema.Column) bool {
	switch c.DataType {
	case "bool", "boolean":
		return true
	case "tinyint":
		return strings.HasPrefix(strings.ToLower(c.ColumnType), "tinyint(1)")
	}
	return false
}

// isJSON reports a column whose values are JSON text: MySQL's JSON, and MariaDB's when the
// rule says so.
func (p policy) isJSON(c *schema.Column) bool {
	return c.DataType == "json" || (p.mariaJSON && c.JSONValid)
}

// IsSpatial reports the GEOMETRY family.
func IsSpatial(dataType string) bool {
	switch dataType {
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
		"geometrycollection", "geomcollection":
		return true
	}
	return false
}

// IsTemporal reports the types that can hold MySQL's zero dates.
func IsTemporal(dataType string) bool {
	return dataType == "date" || dataType == "datetime" || dataType == "timestamp"
}

// ZeroDate reports MySQL's zero and partly-zero dates ("0000-00-00", "2020-00-15",
// "0000-00-00 00:00:00"), which no target date type holds.
func ZeroDate(v []byte) bool { return zeroDate(v) }
