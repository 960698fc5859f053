package mapping

import (
	"strings"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

// Policy is the compiled [mapping] section: the value rules that the target type mappings,
// the encoders of both targets, check and verify decide by. NewPolicy builds it from the
// configuration and whoever needs it receives it explicitly, so one process can hold
// several (tests do) and an encoder never mixes two rules. The zero Policy is the default
// rules.
type Policy struct {
	rules     config.Mapping // with defaults, for messages that quote the configured values
	tinyBool  bool           // TINYINT(1) is boolean
	zeroNull  bool           // zero dates in nullable columns are NULL (else -infinity / kept text)
	nul       NULRule        // NUL bytes in PostgreSQL text
	postgis   bool           // GEOMETRY is PostGIS geometry (else bytea)
	mariaJSON bool           // MariaDB's JSON columns are JSON (else text)
}

// NULRule is what mapping.text_nul makes of a NUL byte in text bound for PostgreSQL.
type NULRule uint8

// The values of mapping.text_nul.
const (
	NULError   NULRule = iota // refuse the value, naming the column
	NULStrip                  // remove the NUL bytes
	NULReplace                // write U+FFFD instead
)

// NewPolicy compiles the [mapping] section m; keys left empty take their defaults.
func NewPolicy(m config.Mapping) Policy {
	m = m.WithDefaults()
	p := Policy{
		rules:     m,
		tinyBool:  m.TinyInt1AsBoolean,
		zeroNull:  m.ZeroDates == config.ZeroDatesNull,
		postgis:   m.Spatial == config.SpatialPostGIS,
		mariaJSON: m.MariaDBJSON == config.MariaDBJSONAsJSON,
	}
	switch m.TextNUL {
	case config.TextNULStrip:
		p.nul = NULStrip
	case config.TextNULReplace:
		p.nul = NULReplace
	}
	return p
}

// Rules returns the [mapping] section the policy was built from, with defaults filled in.
func (p Policy) Rules() config.Mapping {
	if p.rules == (config.Mapping{}) {
		// The zero Policy: its rules are the defaults.
		return config.DefaultMapping()
	}
	return p.rules
}

// Bool reports a TINYINT(1) column that mapping.tinyint1_as_boolean makes boolean.
func (p Policy) Bool(c *schema.Column) bool {
	return p.tinyBool && IsTinyInt1(c)
}

// JSON reports a column whose values are JSON text: MySQL's JSON, and MariaDB's when
// mapping.mariadb_json says so.
func (p Policy) JSON(c *schema.Column) bool {
	return c.DataType == "json" || (p.mariaJSON && c.JSONValid)
}

// PostGIS reports mapping.spatial = "postgis": GEOMETRY columns are PostGIS geometry in
// PostgreSQL rather than bytea.
func (p Policy) PostGIS() bool { return p.postgis }

// ZeroDateNull reports whether a zero date in column c becomes NULL: mapping.zero_dates =
// "null" and a nullable column. A NOT NULL column (every key column is one) keeps the
// "infinity" rule, as its target column mirrors the NOT NULL: a zero date never stops
// replication.
func (p Policy) ZeroDateNull(c *schema.Column) bool { return p.zeroNull && c.Nullable }

// NUL returns mapping.text_nul.
func (p Policy) NUL() NULRule { return p.nul }

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
// "0000-00-00 00:00:00"), which no target date type holds (mapping.zero_dates).
func ZeroDate(v []byte) bool {
	if len(v) < 10 {
		return false
	}
	return string(v[0:4]) == "0000" || string(v[5:7]) == "00" || string(v[8:10]) == "00"
}

// IsZeroNumber reports a canonical number that is zero ("0", "-0"): false for a TINYINT(1)
// that mapping.tinyint1_as_boolean makes boolean.
func IsZeroNumber(v []byte) bool {
	if len(v) > 0 && v[0] == '-' {
		v = v[1:]
	}
	if len(v) == 0 {
		return false
	}
	for _, b := range v {
		if b != '0' {
			return false
		}
	}
	return true
}
