//go:build integration

package integration

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// tempDDLConfig replicates db.* into PostgreSQL with its own server_id.
func tempDDLConfig(url, source string, serverID int) string {
	return withServerID(configText("replicator", mysqlReplPass, url, fmt.Sprintf(`
[apply]
flush_interval = "50ms"
[[tables]]
source = %q
`, source)), serverID)
}

// TestDDLTemporaryTables: sessions use temporary tables with names the rules select while
// rows stream. MariaDB writes RENAME TABLE of a temporary table to the binary log even in
// ROW format (and, in a session with binlog_format = MIXED, its CREATE, ALTER, TRUNCATE,
// CREATE INDEX and DROP too). Temporary tables are not tables of the schema: replication
// goes on, no such table reaches the target, and the real tables equal the source.
func TestDDLTemporaryTables(t *testing.T) {
	db := "it_ddl_temp"
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE orders (id INT PRIMARY KEY, v INT, note VARCHAR(20))",
		"CREATE TABLE real_a (id INT PRIMARY KEY, v INT)",
		"INSERT INTO orders SELECT seq, seq, 'seed' FROM seq_1_to_1000",
		"INSERT INTO real_a SELECT seq, seq FROM seq_1_to_100")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	p := startCLI(t, "run", "-c", writeConfig(t, tempDDLConfig(url, db+".*", 4721)))
	waitCaughtUp(t, my, pg, p, time.Minute)

	// A writer changes the real tables the whole time.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes int
	wg.Add(1)
	go func() {
		defer wg.Done()
		w := mysqlRoot(t)
		mustExec(t, w, "USE "+db)
		for i := 0; ; i++ {
			select {
			case <-stop:
				writes = i
				return
			default:
			}
			mustExec(t, w, fmt.Sprintf("INSERT INTO orders VALUES (%d, %d, 'streamed') ON DUPLICATE KEY UPDATE v = v + 1", 2000+i%300, i),
				fmt.Sprintf("UPDATE orders SET v = v + 1 WHERE id = %d", 1+i%1000))
		}
	}()

	// ROW format: only the RENAMEs of temporary tables are written to the binary log.
	s := mysqlRoot(t)
	mustExec(t, s, "USE "+db, "SET SESSION binlog_format = 'ROW'",
		"CREATE TEMPORARY TABLE orders_tmp (id INT PRIMARY KEY, v INT)",
		"INSERT INTO orders_tmp SELECT seq, seq * 10 FROM seq_1_to_50",
		"RENAME TABLE orders_tmp TO orders_tmp2",
		"ALTER TABLE orders_tmp2 ADD COLUMN w INT",
		"CREATE INDEX ix_v ON orders_tmp2 (v)",
		"INSERT INTO orders (id, v, note) SELECT id + 5000, v, 'from temp' FROM orders_tmp2", // real rows from a temporary table
		"TRUNCATE TABLE orders_tmp2",
		"ALTER TABLE orders_tmp2 RENAME TO orders_tmp3",
		"RENAME TABLE orders_tmp3 TO x_unselected_tmp", // out of the selected set: still nothing
		"DROP TEMPORARY TABLE x_unselected_tmp",
		// A temporary table renamed onto a replicated table's name shadows it in this session.
		"CREATE TEMPORARY TABLE shadow (id INT PRIMARY KEY, other TEXT)",
		"RENAME TABLE shadow TO orders",
		"DROP TEMPORARY TABLE orders",
		// One statement moving a real table and a temporary one into its old name.
		"CREATE TEMPORARY TABLE tmp_a (x INT)",
		"RENAME TABLE real_a TO real_b, tmp_a TO real_a",
		"DROP TEMPORARY TABLE real_a",
		"INSERT INTO real_b VALUES (1000, 1)",
	)
	// MIXED format writes every statement about a temporary table.
	mustExec(t, s, "SET SESSION binlog_format = 'MIXED'",
		"CREATE TEMPORARY TABLE mixed_tmp (id INT PRIMARY KEY, v INT)",
		"INSERT INTO mixed_tmp VALUES (1, 1), (2, 2)",
		"ALTER TABLE mixed_tmp ADD COLUMN w INT",
		"CREATE INDEX ix_w ON mixed_tmp (w)",
		"TRUNCATE TABLE mixed_tmp",
		"RENAME TABLE mixed_tmp TO mixed_tmp2",
		"DROP TEMPORARY TABLE mixed_tmp2",
		"CREATE TEMPORARY TABLE mixed_left (id INT PRIMARY KEY)", // dropped when the session ends
		"SET SESSION binlog_format = 'ROW'")
	s.Close()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	mustExec(t, my, "USE "+db, "INSERT INTO real_b VALUES (1001, 2)", "UPDATE orders SET note = 'last' WHERE id = 1")
	waitCaughtUp(t, my, pg, p, time.Minute)
	t.Logf("%d writer rounds while the temporary tables came and went", writes)

	assertTableEqual(t, my, pg, db, "orders", db, "orders")
	assertTableEqual(t, my, pg, db, "real_b", db, "real_b")
	rows, err := pg.Query(ctxBG(), "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", db)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if got := strings.Join(tables, ","); got != "orders,real_b" {
		t.Errorf("target tables %s, want orders,real_b", got)
	}
	if strings.Contains(p.output(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", tail(p.output(), 20))
	}
	p.stop(t)
}

// TestDDLRenameUnselectedIntoSelected: a real table that no rule selects renamed into a
// selected name still stops replication (its rows were never copied), and so does one the
// source no longer has when the replicator reads the RENAME (the stream is behind, so it
// is taken for a temporary table) as soon as rows for it arrive.
func TestDDLRenameUnselectedIntoSelected(t *testing.T) {
	run := func(t *testing.T, db string, serverID int, statements []string, want ...string) {
		my := mysqlRoot(t)
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db, "CREATE TABLE t1 (id INT PRIMARY KEY, v INT)", "INSERT INTO t1 VALUES (1, 1)")
		url := freshPGDatabase(t)
		pg := pgConnect(t, url)
		cfg := writeConfig(t, tempDDLConfig(url, db+".t*", serverID))
		p := startCLI(t, "run", "-c", cfg)
		waitCaughtUp(t, my, pg, p, time.Minute)
		p.stop(t)
		mustExec(t, my, append([]string{"USE " + db}, statements...)...)
		p = startCLI(t, "run", "-c", cfg)
		if !waitExit(p, time.Minute) {
			t.Fatalf("replicator kept running\n%s", tail(p.output(), 20))
		}
		out := p.output()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, tail(out, 8))
			}
		}
	}
	t.Run("exists", func(t *testing.T) {
		run(t, "it_ddl_into", 4722, []string{
			"CREATE TABLE x_staging (id INT PRIMARY KEY, v INT)", "INSERT INTO x_staging VALUES (1, 1)",
			"RENAME TABLE x_staging TO t2"},
			"RENAME TABLE it_ddl_into.x_staging TO it_ddl_into.t2", "its rows were never copied")
	})
	t.Run("gone", func(t *testing.T) {
		run(t, "it_ddl_into_gone", 4723, []string{
			"CREATE TABLE x_staging (id INT PRIMARY KEY, v INT)",
			"RENAME TABLE x_staging TO t2", "INSERT INTO t2 VALUES (1, 1)", "DROP TABLE t2"},
			"row event for it_ddl_into_gone.t2")
	})
}
