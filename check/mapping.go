package check

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/finding"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// Evidence is what check knows about a table's data beyond its definition: the source's
// sql_mode and what a bounded sample of its rows holds. A warning about values a table may
// hold is raised when the evidence says they can arrive, not for every column that could
// in theory hold them.
type Evidence struct {
	// ZeroDatesRefused: the source's global sql_mode has NO_ZERO_DATE, NO_ZERO_IN_DATE and a
	// strict mode, so a write of a zero date fails (a session can still change its own
	// sql_mode, which is why the sample is read too).
	ZeroDatesRefused bool
	// SQLModeLacks names what the sql_mode lacks to refuse zero dates.
	SQLModeLacks []string
	// Sampled is the number of rows read (0: no sample).
	Sampled int
	// SampleLimit is the most rows read per table.
	SampleLimit int
	// ZeroDates and NUL count the sampled rows with a zero or partly-zero date and with a
	// NUL byte, per column.
	ZeroDates, NUL map[string]int
}

// columnMapping adds a finding for each way a selected table's replicated columns arrive
// other than exactly, or depend on a [mapping] rule, so a user sees them before the first
// run: zero dates the sql_mode allows or the sample found, NUL bytes in text the sample
// found, FLOAT's shown precision, TINYINT(1) as boolean, MariaDB's JSON, spatial columns,
// a configured key the source does not enforce. Columns in a character set that cannot be
// converted to UTF-8 fail. ev may be nil (nothing known beyond the definition). It
// returns whether the table has spatial columns.
func columnMapping(r *finding.Report, cfg *config.Config, t *schema.Table, rt *route.Route, ev *Evidence) (spatial bool) {
	if ev == nil {
		ev = &Evidence{}
	}
	tn := t.QualifiedName()
	name := "mapping." + tn
	pol := mapping.NewPolicy(cfg.Mapping)
	m := pol.Rules()
	pg := cfg.Target.Type == config.TargetPostgres
	add := func(st finding.Status, kind, cols, summary, fix string) {
		r.Finding(st, name, kind, tn, tn+" ("+cols+")", summary, fix)
	}
	var temporal, notNullTemporal, texts, floats, bools, jsonText, jsonCols, spatials, badCharset, badFieldTypes []string
	for i := range t.Columns {
		c := &t.Columns[i]
		if !rt.Replicates(c.Name) {
			continue
		}
		if rt.FieldType(c.Name) != "" && !esdoc.IsStringColumn(pol, c) {
			badFieldTypes = append(badFieldTypes, c.Name+" "+strings.ToUpper(c.ColumnType))
		}
		if rt.Transforms().Hashed(c.Name) {
			// The target holds its hash, 64 hexadecimal digits, whatever the type: none of
			// the type's findings (zero dates, NUL in text, FLOAT digits, ...) reach it.
			if isTextColumn(c.DataType) && !mapping.SupportedCharset(c.Charset) {
				badCharset = append(badCharset, c.Name+" ("+c.Charset+")")
			}
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
		case pol.Bool(c):
			bools = append(bools, c.Name)
		}
		if isTextColumn(c.DataType) {
			if c.JSONValid {
				if pol.JSON(c) {
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
		add(finding.Fail, "mapping.charset", strings.Join(badCharset, ", "), "character set cannot be converted to UTF-8",
			"convert the columns to utf8mb4 at the source, or leave them out with exclude_columns")
	}
	if len(badFieldTypes) > 0 {
		add(finding.Fail, "mapping.field_types", strings.Join(badFieldTypes, ", "),
			"field_types applies to string columns only (CHAR, VARCHAR, TEXT, ENUM, SET): the index cannot be created",
			"remove these columns from the rule's field_types")
	}
	if len(temporal) > 0 {
		zeroDates(add, ev, m, pg, t, temporal, notNullTemporal)
	}
	if pg && len(texts) > 0 {
		textNUL(add, ev, m, texts)
	}
	if len(floats) > 0 {
		add(finding.Warn, "mapping.float", strings.Join(floats, ", "),
			"FLOAT columns arrive as MySQL shows them: 6 significant digits (FLOAT(M,D): D decimals), not every digit of the stored float32",
			"use DOUBLE or DECIMAL at the source where the stored digits matter")
	}
	if len(bools) > 0 {
		add(finding.Warn, "mapping.tinyint1_as_boolean", strings.Join(bools, ", "),
			"TINYINT(1) columns become boolean: values other than 0 and 1 arrive as true (mapping.tinyint1_as_boolean = true)",
			"set mapping.tinyint1_as_boolean = false to keep the numbers")
	}
	if len(jsonText) > 0 {
		add(finding.Warn, "mapping.mariadb_json", strings.Join(jsonText, ", "),
			fmt.Sprintf("MariaDB JSON columns arrive as text holding the JSON text (mapping.mariadb_json = %q)", m.MariaDBJSON),
			`set mapping.mariadb_json = "json" for jsonb columns and JSON values in Elasticsearch`)
	}
	if pg && len(jsonCols) > 0 {
		add(finding.Warn, "mapping.jsonb", strings.Join(jsonCols, ", "),
			"JSON columns become jsonb, which keeps the value but not the text: whitespace, key order and duplicate keys (the last one stays) are normalised; a \\u0000 inside follows mapping.text_nul",
			"compare JSON values, not their text")
	}
	if len(spatials) > 0 {
		switch {
		case !pg:
			add(finding.Warn, "mapping.spatial", strings.Join(spatials, ", "), "spatial columns arrive as binary (base64 of MySQL's SRID + WKB), not as geo fields", "")
		case m.Spatial == config.SpatialBytea:
			add(finding.Warn, "mapping.spatial", strings.Join(spatials, ", "), `spatial columns arrive as bytea holding MySQL's SRID + WKB (mapping.spatial = "bytea")`,
				`set mapping.spatial = "postgis" (and CREATE EXTENSION postgis in the target database) for geometry columns`)
		}
	}
	if !t.KeyIsPrimary && len(t.Key) > 0 && !uniqueIndexOn(t, t.KeyNames()) {
		add(finding.Warn, "mapping.key", strings.Join(t.KeyNames(), ", "),
			"configured key has no unique index at the source: rows sharing a key value would become one row in the target",
			"add a UNIQUE index on the key columns at the source")
	}
	return len(spatials) > 0
}

// zeroDates warns about zero and partly-zero dates when the evidence says they can arrive:
// the sample found some, or the sql_mode lets them be written. The fix offers what would
// change the outcome: the other mapping, the sql_mode that refuses them, cleaning them up.
func zeroDates(add func(st finding.Status, kind, cols, summary, fix string), ev *Evidence, m config.Mapping, pg bool, t *schema.Table, temporal, notNullTemporal []string) {
	var found []string
	for _, c := range temporal {
		if n := ev.ZeroDates[c]; n > 0 {
			found = append(found, fmt.Sprintf("%s: %d of %d sampled rows", c, n, ev.Sampled))
		}
	}
	if len(found) == 0 && ev.ZeroDatesRefused {
		return
	}
	var what string
	switch {
	case m.ZeroDates == config.ZeroDatesNull:
		what = "arrive as NULL"
		if len(notNullTemporal) > 0 {
			keep := "-infinity"
			if !pg {
				keep = "MySQL's text (not indexed)"
			}
			what += " (as " + keep + " in NOT NULL columns)"
		}
	case pg:
		what = "arrive as -infinity"
	default:
		what = "are kept as MySQL's text in _source and not indexed"
	}
	cols := strings.Join(temporal, ", ")
	if keyed := keyColumns(t, temporal); len(keyed) > 0 && pg && (m.ZeroDates != config.ZeroDatesNull || len(keyColumns(t, notNullTemporal)) > 0) {
		cols += "; key columns " + strings.Join(keyed, ", ") + ": different zero dates become one key value"
	}
	var fixes []string
	if pg {
		if m.ZeroDates == config.ZeroDatesNull {
			fixes = append(fixes, `set mapping.zero_dates = "infinity" to keep them apart from NULL`)
		} else {
			fixes = append(fixes, `set mapping.zero_dates = "null" to get NULL instead`)
		}
	}
	if len(found) > 0 {
		cols = strings.Join(found, ", ")
		if !ev.ZeroDatesRefused {
			fixes = append(fixes, "add "+strings.Join(ev.SQLModeLacks, ",")+" to the source's sql_mode so no new ones are written")
		}
		fixes = append(fixes, "UPDATE them to NULL or a real date at the source")
		add(finding.Warn, "mapping.zero_dates", cols,
			fmt.Sprintf("zero or partly-zero dates (0000-00-00, 2020-00-15) found in the sample; they %s (mapping.zero_dates = %q)", what, m.ZeroDates),
			strings.Join(fixes, "; or "))
		return
	}
	sample := "no sample was read"
	if ev.SampleLimit > 0 {
		sample = fmt.Sprintf("none in a sample of up to %d rows per table", ev.SampleLimit)
	}
	fixes = append([]string{"add " + strings.Join(ev.SQLModeLacks, ",") + " to the source's sql_mode (SET GLOBAL sql_mode and my.cnf) so they are refused"}, fixes...)
	add(finding.Warn, "mapping.zero_dates", cols,
		fmt.Sprintf("the source's sql_mode lacks %s, so zero or partly-zero dates (0000-00-00, 2020-00-15) can be written (%s); they would %s (mapping.zero_dates = %q)",
			strings.Join(ev.SQLModeLacks, ", "), sample, what, m.ZeroDates),
		strings.Join(fixes, "; or "))
}

// textNUL warns about NUL bytes in text, which PostgreSQL text cannot hold, when the sample
// found some: no sql_mode refuses them, and every text column could hold one, so without
// data to show it the outcome is stated once by the report's closing mapping line instead.
func textNUL(add func(st finding.Status, kind, cols, summary, fix string), ev *Evidence, m config.Mapping, texts []string) {
	var found []string
	for _, c := range texts {
		if n := ev.NUL[c]; n > 0 {
			found = append(found, fmt.Sprintf("%s: %d of %d sampled rows", c, n, ev.Sampled))
		}
	}
	if len(found) == 0 {
		return
	}
	what := map[string]string{
		config.TextNULError:   "replication stops at such a row with an error naming the column",
		config.TextNULStrip:   "the NUL bytes are removed (logged)",
		config.TextNULReplace: "the NUL bytes are replaced by U+FFFD (logged)",
	}[m.TextNUL]
	fix := "remove the NUL bytes at the source, or store such values in VARBINARY/BLOB columns (they become bytea)"
	if m.TextNUL == config.TextNULError {
		fix = `set mapping.text_nul = "strip" or "replace"; or ` + fix
	}
	add(finding.Warn, "mapping.text_nul", strings.Join(found, ", "),
		fmt.Sprintf("NUL bytes in text found in the sample, which PostgreSQL text cannot hold: %s (mapping.text_nul = %q)", what, m.TextNUL), fix)
}

// postgisTarget fails when mapping.spatial = "postgis" but the target database lacks the
// extension; checked only when a selected table has spatial columns.
func postgisTarget(ctx context.Context, r *finding.Report, cfg *config.Config) {
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
