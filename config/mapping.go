package config

import "fmt"

// Mapping is the [mapping] section: the value rules for the source values a target type
// cannot hold as they are. Every rule applies to both targets and to the snapshot and the
// stream alike; the README's type tables say what each choice gives. The rules decide the
// target column types, so changing one for tables that already exist needs a new snapshot
// of them (snapshot.on_existing = "recreate").
type Mapping struct {
	// TinyInt1AsBoolean maps TINYINT(1) (BOOL, BOOLEAN) to boolean: 0 is false, any other
	// value true. Off by default: the column stays a number and every value arrives.
	TinyInt1AsBoolean bool `toml:"tinyint1_as_boolean"`
	// ZeroDates is what MySQL's zero and partly-zero dates ("0000-00-00", "2020-00-15")
	// become: "infinity" (PostgreSQL -infinity; Elasticsearch keeps the text in _source
	// without indexing it) or "null" (NULL in both targets where the column is nullable;
	// a NOT NULL column, every key column among them, keeps the "infinity" rule, so the
	// targets mirror the source's NOT NULL and a zero date never stops replication).
	ZeroDates string `toml:"zero_dates"`
	// TextNUL is what a NUL byte in a text value becomes in PostgreSQL, whose text types
	// cannot hold one: "error" stops with the table and column named, "strip" removes it,
	// "replace" writes U+FFFD instead; both log a warning naming the column. Elasticsearch
	// stores NUL as is.
	TextNUL string `toml:"text_nul"`
	// Spatial is the PostgreSQL type of GEOMETRY columns: "bytea" (MySQL's SRID + WKB,
	// byte for byte) or "postgis" (geometry; the target database needs CREATE EXTENSION
	// postgis).
	Spatial string `toml:"spatial"`
	// MariaDBJSON is how MariaDB's JSON columns (LONGTEXT with CHECK (json_valid(col)))
	// arrive: "text" (text / an Elasticsearch text field holding the JSON text) or "json"
	// (jsonb / the JSON value in Elasticsearch). MySQL's JSON type is always JSON.
	MariaDBJSON string `toml:"mariadb_json"`
}

// Values of the [mapping] keys.
const (
	ZeroDatesInfinity  = "infinity"
	ZeroDatesNull      = "null"
	TextNULError       = "error"
	TextNULStrip       = "strip"
	TextNULReplace     = "replace"
	SpatialBytea       = "bytea"
	SpatialPostGIS     = "postgis"
	MariaDBJSONText    = "text"
	MariaDBJSONAsJSON  = "json"
	defaultZeroDates   = ZeroDatesInfinity
	defaultTextNUL     = TextNULError
	defaultSpatial     = SpatialBytea
	defaultMariaDBJSON = MariaDBJSONText
)

// DefaultMapping is the [mapping] section with every key at its default.
func DefaultMapping() Mapping {
	var m Mapping
	m.applyDefaults()
	return m
}

// WithDefaults returns m with the keys left empty at their defaults (a Mapping that Load
// or Parse returned has them already).
func (m Mapping) WithDefaults() Mapping {
	m.applyDefaults()
	return m
}

func (m *Mapping) applyDefaults() {
	if m.ZeroDates == "" {
		m.ZeroDates = defaultZeroDates
	}
	if m.TextNUL == "" {
		m.TextNUL = defaultTextNUL
	}
	if m.Spatial == "" {
		m.Spatial = defaultSpatial
	}
	if m.MariaDBJSON == "" {
		m.MariaDBJSON = defaultMariaDBJSON
	}
}

func (m *Mapping) validate() error {
	switch m.ZeroDates {
	case ZeroDatesInfinity, ZeroDatesNull:
	default:
		return fmt.Errorf("mapping.zero_dates = %q: must be \"infinity\" or \"null\"", m.ZeroDates)
	}
	switch m.TextNUL {
	case TextNULError, TextNULStrip, TextNULReplace:
	default:
		return fmt.Errorf("mapping.text_nul = %q: must be \"error\", \"strip\" or \"replace\"", m.TextNUL)
	}
	switch m.Spatial {
	case SpatialBytea, SpatialPostGIS:
	default:
		return fmt.Errorf("mapping.spatial = %q: must be \"bytea\" or \"postgis\"", m.Spatial)
	}
	switch m.MariaDBJSON {
	case MariaDBJSONText, MariaDBJSONAsJSON:
	default:
		return fmt.Errorf("mapping.mariadb_json = %q: must be \"text\" or \"json\"", m.MariaDBJSON)
	}
	return nil
}
