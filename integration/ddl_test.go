//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

func ddlConfig(url, extra string) string {
	return configText("replicator", mysqlReplPass, url, `
[apply]
flush_interval = "50ms"
[[tables]]
source = "it_ddl.*"
`+extra)
}

func TestDDLFollowedInPostgres(t *testing.T) {
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, "it_ddl")
	mustExec(t, my, "USE it_ddl",
		"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), n INT)",
		"INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20)")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, ddlConfig(url, ""))
	p := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, time.Minute)

	mustExec(t, my,
		// Rows before and after each change.
		"ALTER TABLE t ADD COLUMN c2 INT NOT NULL DEFAULT 5 AFTER id",
		"INSERT INTO t VALUES (3, 7, 'c', 30)",
		"UPDATE t SET v = 'a2' WHERE id = 1",
		"ALTER TABLE t MODIFY COLUMN v VARCHAR(50) NOT NULL DEFAULT ''",
		"INSERT INTO t VALUES (4, 8, 'a much longer value than ten', 40)",
		"ALTER TABLE t CHANGE COLUMN c2 c3 BIGINT NOT NULL",
		"UPDATE t SET c3 = 9000000000 WHERE id = 4",
		"ALTER TABLE t RENAME COLUMN n TO `select`",
		"ALTER TABLE t ADD UNIQUE KEY uq_v (v), ADD INDEX ix_sel (`select`)",
		"INSERT INTO t VALUES (5, 1, 'e', 50)",
		"ALTER TABLE t DROP INDEX ix_sel",
		"ALTER TABLE t DROP COLUMN `select`",
		"DELETE FROM t WHERE id = 2",
		"ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (id, c3)",
		"UPDATE t SET c3 = 1 WHERE id = 5",
		"CREATE TABLE `Mixed Case` (`Key` INT PRIMARY KEY, `my col` TEXT)",
		"INSERT INTO `Mixed Case` VALUES (1, 'x'), (2, 'y')",
		"CREATE TABLE t_like LIKE t",
		"INSERT INTO t_like SELECT * FROM t",
		"CREATE TABLE a (id INT PRIMARY KEY, s VARCHAR(5))", "CREATE TABLE b (id INT PRIMARY KEY, s VARCHAR(5))",
		"INSERT INTO a VALUES (1, 'from')", "INSERT INTO b VALUES (1, 'to'), (2, 'to')",
		"RENAME TABLE a TO tmp, b TO a, tmp TO b", // swap
		"INSERT INTO a VALUES (3, 'new a')",
		"CREATE TABLE gone (id INT PRIMARY KEY)", "INSERT INTO gone VALUES (1)", "DROP TABLE gone",
		"CREATE TABLE tr (id INT PRIMARY KEY)", "INSERT INTO tr VALUES (1), (2)", "TRUNCATE TABLE tr", "INSERT INTO tr VALUES (3)",
		"CREATE TABLE other_db_is_ignored_too (id INT PRIMARY KEY)",
		"CREATE DATABASE IF NOT EXISTS it_ddl_unrelated", "DROP DATABASE it_ddl_unrelated",
		"CREATE VIEW v1 AS SELECT id FROM t", "DROP VIEW v1",
	)
	waitCaughtUp(t, my, pg, p, time.Minute)
	// kill -9, more DDL and rows while it is down, restart: decoded with the right schema.
	p.kill()
	mustExec(t, my, "USE it_ddl",
		"INSERT INTO t VALUES (6, 6, 'before alter')",
		"ALTER TABLE t ADD COLUMN late DATETIME(3) NULL FIRST",
		"INSERT INTO t VALUES ('2024-02-29 12:00:00.123', 7, 7, 'after alter')",
		"UPDATE t SET late = '2000-01-01' WHERE id = 6")
	p = startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, time.Minute)

	for _, tbl := range []string{"t", "Mixed Case", "t_like", "a", "b", "tr"} {
		assertTableEqual(t, my, pg, "it_ddl", tbl, "it_ddl", tbl)
	}
	// PostgreSQL cannot place a column FIRST: the order differs, the set must not.
	if got, want := pgColumns(t, url, "it_ddl", "t"), "id integer, v character varying, c3 bigint, late timestamp without time zone"; got != want {
		t.Errorf("target columns of t: %s, want %s", got, want)
	}
	var n int
	if err := pg.QueryRow(ctxBG(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'it_ddl' AND tablename = 'gone'").Scan(&n); err != nil || n != 0 {
		t.Errorf("dropped table still there (%d, %v)", n, err)
	}
	if err := pg.QueryRow(ctxBG(), "SELECT count(*) FROM pg_constraint WHERE conname = 't_uq_v' AND condeferrable").Scan(&n); err != nil || n != 1 {
		t.Errorf("unique constraint t_uq_v deferrable: %d, %v", n, err)
	}
	if strings.Contains(p.output(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", tail(p.output(), 20))
	}
	p.stop(t)
}

func TestDDLUnparseableStopsThenSkips(t *testing.T) {
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, "it_ddl")
	mustExec(t, my, "USE it_ddl", "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1)")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	p := startCLI(t, "run", "-c", writeConfig(t, ddlConfig(url, "")))
	waitCaughtUp(t, my, pg, p, time.Minute)
	// MariaDB 10.6's IGNORED index attribute: the TiDB parser rejects it.
	mustExec(t, my, "USE it_ddl", "ALTER TABLE t ADD COLUMN ip VARCHAR(40) NULL, ADD INDEX ix_ip (ip) IGNORED", "INSERT INTO t VALUES (2, 2, '::1')")
	gtid := sourceGTID(t, my)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("replicator kept running after an unparseable DDL\n%s", tail(p.output(), 20))
	}
	out := p.output()
	for _, want := range []string{"IGNORED", `on_error = "skip"`, "GTID 0-1-"} {
		if !strings.Contains(out, want) {
			t.Errorf("error output lacks %q:\n%s", want, tail(out, 5))
		}
	}
	_ = gtid
	// With on_error = "skip" it reloads the definition from the source and carries on; the
	// user excludes the column PostgreSQL cannot take, the others arrive.
	skipCfg := configText("replicator", mysqlReplPass, url, `
[apply]
flush_interval = "50ms"
[ddl]
on_error = "skip"
[[tables]]
source = "it_ddl.*"
exclude_columns = ["ip"]
`)
	p = startCLI(t, "run", "-c", writeConfig(t, skipCfg))
	mustExec(t, my, "USE it_ddl", "INSERT INTO t VALUES (3, 3, NULL)")
	waitCaughtUp(t, my, pg, p, time.Minute)
	// Rows 2 and 3 carry the new column: they decode only against the definition reloaded
	// from the source (the skipped statement never reached the tracker).
	var rows string
	if err := pg.QueryRow(ctxBG(), "SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM it_ddl.t").Scan(&rows); err != nil || rows != "1:1,2:2,3:3" {
		t.Errorf("rows in target = %q, %v; want 1:1,2:2,3:3", rows, err)
	}
	if !strings.Contains(p.output(), "DDL skipped (ddl.on_error = skip); reloading the definitions") {
		t.Errorf("no skip logged:\n%s", tail(p.output(), 20))
	}
	p.stop(t)
}

// TestDDLUntranslatableStopsThenSkips: a statement the parser and the tracker take but
// PostgreSQL cannot (a column renamed out of the replicated columns: its values would
// leave the target's column behind) meets ddl.on_error in the reader (the target's
// check), while the target translates what it can take in its batch: "stop" ends the run
// naming the statement and the fix, with the transactions before it committed; "skip"
// carries on with the definition reloaded from the source, the next such statement too.
func TestDDLUntranslatableStopsThenSkips(t *testing.T) {
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, "it_ddl")
	mustExec(t, my, "USE it_ddl", "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t (id, v) VALUES (1, 1)")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	const hidden = "exclude_columns = [\"hidden\"]\n"
	p := startCLI(t, "run", "-c", writeConfig(t, ddlConfig(url, hidden)))
	waitCaughtUp(t, my, pg, p, time.Minute)
	mustExec(t, my, "USE it_ddl", "INSERT INTO t (id, v) VALUES (2, 2)", "ALTER TABLE t RENAME COLUMN v TO hidden", "INSERT INTO t (id, hidden) VALUES (3, 3)")
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("replicator kept running after an untranslatable DDL\n%s", tail(p.output(), 20))
	}
	out := p.output()
	for _, want := range []string{"cannot be replicated", "cannot translate ALTER TABLE it_ddl.t RENAME COLUMN v", "into or out of the replicated columns", `on_error = "skip"`, "GTID 0-1-"} {
		if !strings.Contains(out, want) {
			t.Errorf("error output lacks %q:\n%s", want, tail(out, 5))
		}
	}
	rows := func() string {
		t.Helper()
		var s string
		if err := pg.QueryRow(ctxBG(), "SELECT string_agg(concat_ws(':', id, v), ',' ORDER BY id) FROM it_ddl.t").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The transaction before the statement is committed, the one after it is not.
	if got := rows(); got != "1:1,2:2" {
		t.Errorf("rows after the stop = %q, want 1:1,2:2", got)
	}
	// The fix the message names: skip (the target's column v stays, and new rows leave
	// it empty: the source's column is not replicated any more).
	skipCfg := ddlConfig(url, hidden+"[ddl]\non_error = \"skip\"\n")
	p = startCLI(t, "run", "-c", writeConfig(t, skipCfg))
	mustExec(t, my, "USE it_ddl", "INSERT INTO t (id, hidden) VALUES (4, 4)")
	waitCaughtUp(t, my, pg, p, time.Minute)
	if got := rows(); got != "1:1,2:2,3,4" {
		t.Errorf("rows after the skip = %q, want 1:1,2:2,3,4", got)
	}
	// A second one in the same run: skipped too, the rows after it carry the column again.
	mustExec(t, my, "USE it_ddl", "INSERT INTO t (id, hidden) VALUES (5, 5)", "ALTER TABLE t RENAME COLUMN hidden TO v", "INSERT INTO t (id, v) VALUES (6, 6)")
	waitCaughtUp(t, my, pg, p, time.Minute)
	var vs string
	if err := pg.QueryRow(ctxBG(), "SELECT string_agg(concat_ws(':', id, v), ',' ORDER BY id) FROM it_ddl.t WHERE id >= 5").Scan(&vs); err != nil || vs != "5,6:6" {
		t.Errorf("rows 5 and 6 = %q, %v; want 5,6:6", vs, err)
	}
	out = p.output()
	if n := strings.Count(out, "DDL skipped (ddl.on_error = skip); reloading the definitions"); n != 2 {
		t.Errorf("%d skips logged, want 2:\n%s", n, tail(out, 20))
	}
	p.stop(t)
}
