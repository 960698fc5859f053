//go:build integration

package integration

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

func TestStreamingDML(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_stream"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my,
		"CREATE TABLE it_stream.a (id INT PRIMARY KEY, v VARCHAR(20), n DECIMAL(30,10), u BIGINT UNSIGNED, d DATETIME(6))",
		"CREATE TABLE it_stream.b (k1 INT, k2 VARCHAR(10), payload TEXT, PRIMARY KEY (k1, k2))",
		"CREATE TABLE it_stream.big (id INT PRIMARY KEY, v INT, s VARCHAR(40))",
		"INSERT INTO it_stream.a VALUES (1, 'one', 1.5, 18446744073709551615, '2020-01-01 00:00:00.000001')")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	p := startCLI(t, "run", "-c", writeConfig(t, streamConfig(url, db)))
	waitCaughtUp(t, my, pg, p, 60*time.Second)

	mustExec(t, my,
		"INSERT INTO it_stream.a VALUES (2, 'two', -0.0000000001, 0, '1970-01-01 00:00:01'), (3, NULL, NULL, NULL, NULL)",
		"UPDATE it_stream.a SET v = 'uno', u = 9223372036854775808 WHERE id = 1",
		"UPDATE it_stream.a SET id = 20 WHERE id = 2", // primary key change
		"DELETE FROM it_stream.a WHERE id = 3",
		"INSERT INTO it_stream.b VALUES (1, 'x', 'first'), (1, 'y', 'second')",
		// One transaction touching two tables.
		"BEGIN", "UPDATE it_stream.a SET v = 'in-txn' WHERE id = 1", "DELETE FROM it_stream.b WHERE k2 = 'x'", "INSERT INTO it_stream.b VALUES (2, 'z', 'third')", "COMMIT",
		"REPLACE INTO it_stream.a VALUES (20, 'replaced', 2.25, 5, NULL)",
		"INSERT INTO it_stream.a VALUES (1, 'dup', 0, 0, NULL) ON DUPLICATE KEY UPDATE v = CONCAT(v, '+dup')",
		// Insert, delete and re-insert of one key inside one transaction.
		"BEGIN", "INSERT INTO it_stream.a VALUES (30, 'x', 1, 1, NULL)", "DELETE FROM it_stream.a WHERE id = 30", "INSERT INTO it_stream.a VALUES (30, 'final', 3, 3, NULL)", "COMMIT",
	)
	// A 100,000-row single transaction, then an update of all of it.
	var sb strings.Builder
	mustExec(t, my, "BEGIN")
	for i := 0; i < 100000; i += 1000 {
		sb.Reset()
		sb.WriteString("INSERT INTO it_stream.big VALUES ")
		for j := i; j < i+1000; j++ {
			if j > i {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "(%d, %d, 'row %d')", j, j*7, j)
		}
		mustExec(t, my, sb.String())
	}
	mustExec(t, my, "COMMIT", "UPDATE it_stream.big SET v = v + 1 WHERE id % 3 = 0", "DELETE FROM it_stream.big WHERE id % 10 = 0")

	waitCaughtUp(t, my, pg, p, 120*time.Second)
	for _, tbl := range []string{"a", "b", "big"} {
		assertTableEqual(t, my, pg, db, tbl, db, tbl)
	}
	var v string
	if err := pg.QueryRow(ctxBG(), "SELECT v FROM it_stream.a WHERE id = 1").Scan(&v); err != nil || v != "in-txn+dup" {
		t.Errorf("a.v for id 1 = %q, %v; want in-txn+dup", v, err)
	}
	p.stop(t)
	if !strings.Contains(p.output(), "stopped cleanly") {
		t.Errorf("no clean stop in log:\n%s", tail(p.output(), 10))
	}
}

func TestHandoffUnderWriteLoad(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_handoff"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable)
	seed(t, my, db, 200000)
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)

	stop := make(chan struct{})
	wait := workload(t, db, 3, stop)
	time.Sleep(300 * time.Millisecond) // writes are running when the snapshot opens its view
	p := startCLI(t, "run", "-c", writeConfig(t, streamConfig(url, db)))
	time.Sleep(4 * time.Second)
	close(stop)
	n := wait()
	waitCaughtUp(t, my, pg, p, 120*time.Second)
	t.Logf("workload ran %d statements across snapshot and streaming", n)
	if n < 100 {
		t.Errorf("workload too small (%d statements) to prove anything", n)
	}
	rows := assertTableEqual(t, my, pg, db, "wl", db, "wl")
	if rows < 190000 { // the workload deletes some of the 200,000 seeded rows
		t.Errorf("compared %d rows", rows)
	}
	if !strings.Contains(p.output(), "consistent snapshot opened") {
		t.Errorf("snapshot did not run:\n%s", tail(p.output(), 20))
	}
}

func TestKillNineDuringStreaming(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_kill"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable)
	seed(t, my, db, 20000)
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, streamConfig(url, db))

	stop := make(chan struct{})
	wait := workload(t, db, 2, stop)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	kills := 6
	for i := 0; i < kills; i++ {
		p := startCLI(t, "run", "-c", cfg)
		time.Sleep(time.Duration(300+rng.Intn(2500)) * time.Millisecond)
		if p.exited() {
			t.Fatalf("replicator exited early: %v\n%s", p.err, tail(p.output(), 30))
		}
		p.kill()
	}
	close(stop)
	n := wait()
	p := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, 120*time.Second)
	t.Logf("%d kill -9 during %d workload statements", kills, n)
	assertTableEqual(t, my, pg, db, "wl", db, "wl")
	p.stop(t)
}
