package check

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// columnMapping adds a warning for each way a selected table's replicated columns arrive
// other than exactly, or depend on a [mapping] rule, so a user sees them before the first
// run: zero dates, NUL bytes in text, FLOAT's shown precision, TINYINT(1) as boolean,
// MariaDB's JSON, spatial columns, a configured key the source does not enforce. Columns in
// a character set that cannot be converted to UTF-8 fail. It returns whether the table has
// spatial columns.
func columnMapping(r *Report, cfg *config.Config, t *schema.Table, rule *config.TableRule) (spatial bool) {
	name := "mapping." + t.QualifiedName()
	m := config.ActiveMapping()
	pg := cfg.Target.Type == config.TargetPostgres
	var temporal, notNullTemporal, texts, floats, bools, jsonText, jsonCols, spatials, badCharset []string
	for i := range t.Columns {
		c := &t.Columns[i]
		if !replicated(rule, c.Name) {
			continue
		}
		switch {
		case mapping.IsTemporal(c.DataType):
			temporal = append(temporal, c.Name)
			if !c.Nullable {
				notNullTemporal = append(notNullTemporal, c.Name)
			}
		case c.DataType == "float":
			floats = append(floats, c.Name)
		case mapping.IsSpatial(c.DataType):
			spatials = append(spatials, c.Name)
		case c.DataType == "json":
			jsonCols = append(jsonCols, c.Name)
		case mapping.IsTinyInt1(c) && m.TinyInt1AsBoolean:
			bools = append(bools, c.Name)
		}
		if isTextColumn(c.DataType) {
			if c.JSONValid {
				if m.MariaDBJSON == config.MariaDBJSONAsJSON {
					jsonCols = append(jsonCols, c.Name)
				} else {
					jsonText = append(jsonText, c.Name)
				}
			} else {
				texts = append(texts, c.Name)
			}
			if !mapping.SupportedCharset(c.Charset) {
				badCharset = append(badCharset, c.Name+" ("+c.Charset+")")
			}
		}
	}
	if len(badCharset) > 0 {
		r.Failf(name, "convert the columns to utf8mb4 at the source, or leave them out with exclude_columns",
			"columns %s: character set cannot be converted to UTF-8", strings.Join(badCharset, ", "))
	}
	if len(temporal) > 0 {
		var what string
		switch {
		case m.ZeroDates == config.ZeroDatesNull:
			what = "arrive as NULL"
			if len(notNullTemporal) > 0 {
				keep := "-infinity"
				if !pg {
					keep = "MySQL's text (not indexed)"
				}
				what += "; in the NOT NULL columns " + strings.Join(notNullTemporal, ", ") + " as " + keep
				if keyed := keyColumns(t, notNullTemporal); len(keyed) > 0 && pg {
					what += " (in key columns " + strings.Join(keyed, ", ") + " different zero dates collide)"
				}
			}
		case pg:
			what = "arrive as -infinity"
			if keyed := keyColumns(t, temporal); len(keyed) > 0 {
				what += "; in key columns " + strings.Join(keyed, ", ") + " different zero dates collide"
			}
		default:
			what = "are kept as MySQL's text in _source and not indexed"
		}
		r.Warnf(name, `use mapping.zero_dates = "infinity" or "null"; keep NO_ZERO_DATE,NO_ZERO_IN_DATE in the source's sql_mode to prevent them`,
			"zero and partly-zero dates (0000-00-00, 2020-00-15) in columns %s %s (mapping.zero_dates = %q)", strings.Join(temporal, ", "), what, m.ZeroDates)
	}
	if pg && len(texts) > 0 {
		what := map[string]string{
			config.TextNULError:   "stops replication with an error naming the column",
			config.TextNULStrip:   "is removed (logged)",
			config.TextNULReplace: "is replaced by U+FFFD (logged)",
		}[m.TextNUL]
		r.Warnf(name, `choose mapping.text_nul = "error", "strip" or "replace"`,
			"a NUL byte in text columns %s, which PostgreSQL text cannot hold, %s (mapping.text_nul = %q)", strings.Join(texts, ", "), what, m.TextNUL)
	}
	if len(floats) > 0 {
		r.Warnf(name, "use DOUBLE or DECIMAL at the source where the stored digits matter",
			"FLOAT columns %s arrive as MySQL shows them: 6 significant digits (FLOAT(M,D): D decimals), not every digit of the stored float32", strings.Join(floats, ", "))
	}
	if len(bools) > 0 {
		r.Warnf(name, "set mapping.tinyint1_as_boolean = false to keep the numbers",
			"TINYINT(1) columns %s become boolean: values other than 0 and 1 arrive as true (mapping.tinyint1_as_boolean = true)", strings.Join(bools, ", "))
	}
	if len(jsonText) > 0 {
		r.Warnf(name, `set mapping.mariadb_json = "json" for jsonb columns and JSON values in Elasticsearch`,
			"MariaDB JSON columns %s arrive as text holding the JSON text (mapping.mariadb_json = %q)", strings.Join(jsonText, ", "), m.MariaDBJSON)
	}
	if pg && len(jsonCols) > 0 {
		r.Warnf(name, "compare JSON values, not their text",
			"JSON columns %s become jsonb, which keeps the value but not the text: whitespace, key order and duplicate keys (the last one stays) are normalised; a \\u0000 inside follows mapping.text_nul", strings.Join(jsonCols, ", "))
	}
	if len(spatials) > 0 {
		switch {
		case !pg:
			r.Warnf(name, "", "spatial columns %s arrive as binary (base64 of MySQL's SRID + WKB), not as geo fields", strings.Join(spatials, ", "))
		case m.Spatial == config.SpatialBytea:
			r.Warnf(name, `set mapping.spatial = "postgis" (and CREATE EXTENSION postgis in the target database) for geometry columns`,
				"spatial columns %s arrive as bytea holding MySQL's SRID + WKB (mapping.spatial = \"bytea\")", strings.Join(spatials, ", "))
		}
	}
	if !t.KeyIsPrimary && len(t.Key) > 0 && !uniqueIndexOn(t, t.KeyNames()) {
		r.Warnf(name, "add a UNIQUE index on the key columns at the source",
			"configured key (%s) has no unique index at the source: rows sharing a key value would become one row in the target", strings.Join(t.KeyNames(), ", "))
	}
	return len(spatials) > 0
}

// postgisTarget fails when mapping.spatial = "postgis" but the target database lacks the
// extension; checked only when a selected table has spatial columns.
func postgisTarget(ctx context.Context, r *Report, cfg *config.Config) {
	const name = "target.postgis"
	fix := "run CREATE EXTENSION postgis in the target database (Debian: install postgresql-NN-postgis-3), or set mapping.spatial = \"bytea\""
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, cfg.Target.Postgres.URL)
	if err != nil {
		r.Failf(name, fix, "cannot connect to the target to look for PostGIS: %v", err)
		return
	}
	defer conn.Close(context.Background())
	var version string
	err = conn.QueryRow(cctx, "SELECT extversion FROM pg_extension WHERE extname = 'postgis'").Scan(&version)
	if err != nil {
		r.Failf(name, fix, "mapping.spatial = \"postgis\" but the target database has no postgis extension")
		return
	}
	r.Passf(name, "PostGIS %s: spatial columns become geometry", version)
}

func replicated(rule *config.TableRule, col string) bool {
	if len(rule.Columns) > 0 {
		return containsFold(rule.Columns, col)
	}
	return !containsFold(rule.ExcludeColumns, col)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func isTextColumn(dataType string) bool {
	switch dataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return true
	}
	return false
}

// keyColumns returns the names among cols that are identity columns of t.
func keyColumns(t *schema.Table, cols []string) []string {
	var out []string
	for _, k := range t.KeyNames() {
		if containsFold(cols, k) {
			out = append(out, k)
		}
	}
	return out
}

// uniqueIndexOn reports a unique index whose columns are exactly cols (in any order).
func uniqueIndexOn(t *schema.Table, cols []string) bool {
	for _, ix := range t.Indexes {
		if !ix.Unique || len(ix.Columns) != len(cols) {
			continue
		}
		all := true
		for _, c := range ix.Columns {
			if !containsFold(cols, c) {
				all = false
			}
		}
		if all {
			return true
		}
	}
	return false
}
