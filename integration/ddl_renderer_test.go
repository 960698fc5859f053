//go:build integration

package integration

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// renderTables are definitions (with %s for the table's name) that the snapshot creates
// in PostgreSQL from information_schema and the stream from the CREATE TABLE statement.
// One renderer makes both: the PostgreSQL catalogs of the two copies must be equal.
var renderTables = []struct{ name, def string }{
	{"serial", "(id SERIAL PRIMARY KEY, v INT)"},
	{"prefix", "(id INT PRIMARY KEY, v VARCHAR(500), tx TEXT, bl BLOB, KEY kv (v(20)), KEY kt (tx(10)), KEY kb (bl(4)), UNIQUE KEY uv (v(30)))"},
	{"uniq", "(id INT PRIMARY KEY, email VARCHAR(100) NULL, UNIQUE KEY ue (email))"},
	{"composite", "(a INT, b INT, c VARCHAR(10), PRIMARY KEY (a, b), KEY kc (c))"},
	{"excluded", "(id INT PRIMARY KEY, secret VARCHAR(10), v INT, KEY ks (secret))"},
	{"keyless", "(a INT, b VARCHAR(10), KEY kb (b))"},
	{"enumset", "(id INT PRIMARY KEY, e ENUM('a','b') NOT NULL DEFAULT 'b', s SET('x','y') DEFAULT 'x,y')"},
	{"generated", "(id INT PRIMARY KEY, a INT, b INT AS (a * 2) STORED, c INT AS (a + 1) VIRTUAL, KEY kb (b))"},
	{"defaults", "(id INT PRIMARY KEY, s VARCHAR(10) NOT NULL DEFAULT 'it''s', n DECIMAL(6,2) DEFAULT 1.5, at DATETIME(3) DEFAULT CURRENT_TIMESTAMP(3), " +
		"d DATE DEFAULT '2024-02-29', z DATETIME DEFAULT '0000-00-00 00:00:00', u VARCHAR(36) DEFAULT (uuid()), bt BIT(3) DEFAULT b'101', f DOUBLE DEFAULT -1.5, fl TINYINT(1) NOT NULL DEFAULT TRUE)"},
	{"ckey", "(code VARCHAR(8) NOT NULL, v INT, UNIQUE KEY uk (code))"},
	{"fulltext", "(id INT PRIMARY KEY, doc TEXT, FULLTEXT KEY ft (doc))"},
}

// pgCatalog describes a PostgreSQL table with its own name replaced by "T" in index and
// constraint names and definitions, so that two tables of one definition compare equal.
func pgCatalog(t *testing.T, pg *pgx.Conn, schema, table string) []string {
	t.Helper()
	var out []string
	query := func(kind, q string) {
		rows, err := pg.Query(ctxBG(), q, schema, table)
		if err != nil {
			t.Fatalf("%s of %s: %v", kind, table, err)
		}
		defer rows.Close()
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, kind+": "+strings.ReplaceAll(v, table, "T"))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	query("column", `SELECT concat_ws(' ', column_name, data_type, character_maximum_length, numeric_precision, numeric_scale,
			datetime_precision, is_nullable, coalesce(column_default, '-'))
		FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`)
	query("constraint", `SELECT concat_ws(' ', c.conname, c.contype, c.condeferrable, c.condeferred, pg_get_constraintdef(c.oid))
		FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
		WHERE n.nspname = $1 AND r.relname = $2 AND c.contype <> 'n' ORDER BY c.conname`)
	query("index", `SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname`)
	return out
}

// TestRendererSnapshotEqualsStream creates each definition at the source before the
// snapshot (s_*) and while streaming (m_*) and compares the PostgreSQL catalogs: columns,
// types, nullability, defaults, constraints and indexes. Rows written to the stream-created
// tables afterwards must apply (the SERIAL table's implied UNIQUE once made every upsert
// fail) and match.
func TestRendererSnapshotEqualsStream(t *testing.T) {
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, "it_render")
	stmts := []string{"USE it_render"}
	for _, tb := range renderTables {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s %s", "s_"+tb.name, tb.def))
	}
	stmts = append(stmts,
		"INSERT INTO s_serial (v) VALUES (1), (2)",
		"INSERT INTO s_ckey VALUES ('a', 1), ('b', 2)",
		"INSERT INTO s_keyless VALUES (1, 'x'), (1, 'x')")
	mustExec(t, my, stmts...)

	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	rules := ""
	for _, p := range []string{"s_", "m_"} {
		rules += fmt.Sprintf(`
[[tables]]
source = "it_render.%[1]sexcluded"
exclude_columns = ["secret"]
[[tables]]
source = "it_render.%[1]skeyless"
keyless_index = ["a"]
[[tables]]
source = "it_render.%[1]sckey"
key = ["code"]
`, p)
	}
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[apply]
flush_interval = "50ms"
`+rules+`
[[tables]]
source = "it_render.*"
`))
	p := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, time.Minute)

	stmts = []string{"USE it_render"}
	for _, tb := range renderTables {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s %s", "m_"+tb.name, tb.def))
	}
	stmts = append(stmts,
		"INSERT INTO m_serial (v) VALUES (1), (2)", "UPDATE m_serial SET v = 3 WHERE id = 1",
		"INSERT INTO m_ckey VALUES ('a', 1), ('b', 2)", "UPDATE m_ckey SET v = 5 WHERE code = 'a'",
		"INSERT INTO m_uniq VALUES (1, NULL), (2, NULL), (3, 'x@y')",
		"INSERT INTO m_composite VALUES (1, 1, 'a'), (1, 2, 'b')",
		"INSERT INTO m_prefix VALUES (1, REPEAT('v', 400), REPEAT('t', 5000), 'blob')",
		"INSERT INTO m_defaults (id) VALUES (1)",
		"INSERT INTO m_generated (id, a) VALUES (1, 2)")
	mustExec(t, my, stmts...)
	waitCaughtUp(t, my, pg, p, time.Minute)

	for _, tb := range renderTables {
		snap, strm := pgCatalog(t, pg, "it_render", "s_"+tb.name), pgCatalog(t, pg, "it_render", "m_"+tb.name)
		if len(snap) == 0 {
			t.Errorf("%s: no table created by the snapshot", tb.name)
		}
		if !reflect.DeepEqual(snap, strm) {
			t.Errorf("%s: snapshot and stream tables differ\n snapshot:\n  %s\n stream:\n  %s", tb.name, strings.Join(snap, "\n  "), strings.Join(strm, "\n  "))
		}
	}
	for _, tbl := range []string{"s_serial", "m_serial", "s_ckey", "m_ckey", "m_uniq", "m_composite", "m_prefix", "m_generated"} {
		assertTableEqual(t, my, pg, "it_render", tbl, "it_render", tbl)
	}
	if strings.Contains(p.output(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", tail(p.output(), 20))
	}
	p.stop(t)
}
