// Package pgvalue maps MySQL columns to PostgreSQL types and encodes canonical row values
// (change.Row) as PostgreSQL COPY text, under the [mapping] rules of a mapping.Policy. The
// snapshot's COPY, the stream's staged upserts, foreign key actions and verify all encode
// through it, so every path writes the same text.
package pgvalue

import (
	"fmt"
	"strings"

	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// Type returns the PostgreSQL column type for a MySQL column under the rules of p. The mapping is lossless
// under the default [mapping] rules: every value the source column can hold has exactly
// one target value (see the README's type table for the conversions that change the
// representation). The rules that trade exactness for a more natural type
// (tinyint1_as_boolean) or that need the target's help (spatial = "postgis") are applied
// here and in the encoder alike.
func Type(p mapping.Policy, c *schema.Column) (string, error) {
	if p.Bool(c) {
		return "boolean", nil
	}
	if p.JSON(c) {
		return "jsonb", nil
	}
	if mapping.IsSpatial(c.DataType) && p.PostGIS() {
		return postgisType(c.DataType), nil
	}
	switch c.DataType {
	case "tinyint":
		return "smallint", nil
	case "smallint":
		if c.Unsigned {
			return "integer", nil
		}
		return "smallint", nil
	case "mediumint":
		return "integer", nil
	case "int", "integer":
		if c.Unsigned {
			return "bigint", nil
		}
		return "integer", nil
	case "bigint":
		if c.Unsigned {
			return "numeric(20,0)", nil
		}
		return "bigint", nil
	case "decimal", "numeric":
		return fmt.Sprintf("numeric(%d,%d)", max(c.Precision, 1), c.Scale), nil
	case "float":
		return "real", nil
	case "double", "real", "double precision":
		return "double precision", nil
	case "bit":
		return fmt.Sprintf("bit(%d)", max(c.Precision, 1)), nil
	case "bool", "boolean":
		return "smallint", nil
	case "year":
		return "smallint", nil
	case "date":
		return "date", nil
	case "datetime":
		return fmt.Sprintf("timestamp(%d) without time zone", c.FracDigits), nil
	case "timestamp":
		return fmt.Sprintf("timestamp(%d) with time zone", c.FracDigits), nil
	case "time":
		// PostgreSQL's time cannot hold negative or > 24h values; interval can.
		return fmt.Sprintf("interval(%d)", c.FracDigits), nil
	case "char", "varchar":
		if c.CharLength > 0 && c.CharLength <= 10485760 {
			return fmt.Sprintf("varchar(%d)", c.CharLength), nil
		}
		return "text", nil
	case "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return "text", nil
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return "bytea", nil
	case "json":
		return "jsonb", nil
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection", "geomcollection":
		// MySQL's internal format (SRID + WKB), kept byte for byte.
		return "bytea", nil
	case "vector":
		return "bytea", nil
	case "inet6", "inet4":
		// MariaDB 10.10+/10.7+ address types: a SELECT shows the address text, which
		// inet takes as is.
		return "inet", nil
	case "uuid":
		return "uuid", nil
	}
	return "", fmt.Errorf("column %s: MySQL type %s has no PostgreSQL mapping", c.Name, strings.ToUpper(c.ColumnType))
}

// postgisType is the PostGIS type of a spatial column: a column of one geometry kind is
// constrained to it (any SRID), GEOMETRY takes every kind.
func postgisType(dataType string) string {
	switch dataType {
	case "point":
		return "geometry(Point)"
	case "linestring":
		return "geometry(LineString)"
	case "polygon":
		return "geometry(Polygon)"
	case "multipoint":
		return "geometry(MultiPoint)"
	case "multilinestring":
		return "geometry(MultiLineString)"
	case "multipolygon":
		return "geometry(MultiPolygon)"
	case "geometrycollection", "geomcollection":
		return "geometry(GeometryCollection)"
	}
	return "geometry"
}
