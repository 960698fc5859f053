//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// TestStreamDML streams inserts, updates, deletes, primary and composite key changes,
// REPLACE, ON DUPLICATE KEY UPDATE, keys inserted and deleted within one transaction, zero
// dates and a 100,000-row transaction, and compares every table row by row. With
// Elasticsearch it then moves the checkpoint back over the burst (a crash after the bulk
// requests but before the checkpoint document): the document versions refuse every older
// write and the indexes stay equal.
func TestStreamDML(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_stream")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db,
			"CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20), n DECIMAL(30,10), u BIGINT UNSIGNED, d DATETIME(6), "+
				"j JSON, b BIT(10), z DATE, bl VARBINARY(8), e ENUM('x','y'), s SET('p','q'), f FLOAT, y YEAR, t TIME(2))",
			"CREATE TABLE b (k1 INT, k2 VARCHAR(10), payload TEXT, PRIMARY KEY (k1, k2))",
			"CREATE TABLE big (id INT PRIMARY KEY, v INT, s VARCHAR(40))",
			"INSERT INTO a VALUES (1, 'one', 1.5, 18446744073709551615, '2020-01-01 00:00:00.000001', '{\"k\": [1, \"x\"]}', b'1000000001', '2020-02-29', x'00ff', 'y', 'p,q', 1.25, 2155, '-838:59:58.25')",
			"INSERT INTO b VALUES (0, 'seed', 'from the snapshot')")
		cfg := writeConfig(t, tg.Config(db, `
[apply]
flush_interval = "100ms"
batch_rows = 2000
[snapshot]
chunk_rows = 1000
`))
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 60*time.Second)

		mustExec(t, my,
			"INSERT INTO a VALUES (2, 'two', -0.0000000001, 0, '1970-01-01 00:00:01', '[]', b'0', '0000-00-00', '', 'x', '', -1e-7, 1901, '00:00:00.5'), "+
				"(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
			"UPDATE a SET v = 'uno', u = 9223372036854775808 WHERE id = 1",
			"UPDATE a SET id = 20 WHERE id = 2", // primary key change
			"DELETE FROM a WHERE id = 3",
			"INSERT INTO b VALUES (1, 'x', 'first'), (1, 'y', 'second'), (1, '\"q\",', 'composite key with JSON characters')",
			"UPDATE b SET k2 = 'moved' WHERE k1 = 0", // composite key change
			// One transaction touching two tables.
			"BEGIN", "UPDATE a SET v = 'in-txn' WHERE id = 1", "DELETE FROM b WHERE k2 = 'x'", "INSERT INTO b VALUES (2, 'z', 'third')", "COMMIT",
			"REPLACE INTO a (id, v, n, u) VALUES (20, 'replaced', 2.25, 5)",
			"INSERT INTO a (id, v) VALUES (1, 'dup') ON DUPLICATE KEY UPDATE v = CONCAT(v, '+dup')",
			// Insert, delete and re-insert of one key inside one transaction; a key that
			// lives and dies within one.
			"BEGIN", "INSERT INTO a (id, v) VALUES (30, 'x')", "DELETE FROM a WHERE id = 30", "INSERT INTO a (id, v) VALUES (30, 'final')", "COMMIT",
			"BEGIN", "INSERT INTO a (id, v) VALUES (40, 'gone')", "DELETE FROM a WHERE id = 40", "COMMIT",
			"INSERT INTO a (id, z, d) VALUES (50, '0000-00-00', '0000-00-00 00:00:00')",
		)
		tg.WaitCaughtUp(t, my, p, 60*time.Second)
		for _, tbl := range []string{"a", "b"} {
			tg.AssertTableEqual(t, my, db, tbl)
		}
		_, rewindTo, _ := tg.Checkpoint(t)

		// A burst: one 100,000-row transaction, then an update of a third and a delete of a tenth.
		var sb strings.Builder
		burst := time.Now()
		mustExec(t, my, "BEGIN")
		for i := 0; i < 100000; i += 1000 {
			sb.Reset()
			sb.WriteString("INSERT INTO big VALUES ")
			for j := i; j < i+1000; j++ {
				if j > i {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, "(%d, %d, 'row %d')", j, j*7, j)
			}
			mustExec(t, my, sb.String())
		}
		mustExec(t, my, "COMMIT", "UPDATE big SET v = v + 1 WHERE id % 3 = 0", "DELETE FROM big WHERE id % 10 = 0")
		written := time.Since(burst)
		lag := tg.WaitCaughtUp(t, my, p, 120*time.Second)
		changes := 100000 + 33334 + 10000
		t.Logf("BENCH streaming burst of %d row changes into %s: source writes took %s, caught up %s later; %.0f changes/s end to end",
			changes, tg.Name(), written.Round(time.Millisecond), lag.Round(time.Millisecond), float64(changes)/time.Since(burst).Seconds())
		for _, tbl := range []string{"a", "b", "big"} {
			tg.AssertTableEqual(t, my, db, tbl)
		}
		if n := tg.Count(t, db, "big"); n != 90000 {
			t.Errorf("big: %d rows in the target, want 90000", n)
		}
		switch h := tg.(type) {
		case *pgHarness:
			var v string
			if err := h.pg.QueryRow(ctxBG(), "SELECT v FROM "+db+".a WHERE id = 1").Scan(&v); err != nil || v != "in-txn+dup" {
				t.Errorf("a.v for id 1 = %q, %v; want in-txn+dup", v, err)
			}
		case *esHarness:
			var doc struct {
				Source map[string]any `json:"_source"`
			}
			esOK(t, h.es, esapi.GetRequest{Index: h.index(db, "a"), DocumentID: "1"}, &doc)
			if doc.Source["v"] != "in-txn+dup" {
				t.Errorf("a.v for id 1 = %v; want in-txn+dup", doc.Source["v"])
			}
			// The zero date is kept in _source and left out of the index.
			if n := esCount(t, h.es, h.index(db, "a"), `{"term":{"_ignored":"z"}}`); n != 1 {
				t.Errorf("documents with an ignored zero date: %d, want 1", n)
			}
			if n := esCount(t, h.es, h.index(db, "a"), `{"range":{"d":{"lt":"2000-01-01 00:00:00.000000"}}}`); n != 0 {
				t.Errorf("zero datetime matched a range query: %d documents", n)
			}
		}
		p.stop(t)
		if !strings.Contains(p.output(), "stopped cleanly") {
			t.Errorf("no clean stop in log:\n%s", tail(p.output(), 10))
		}

		h, ok := tg.(*esHarness)
		if !ok {
			return // PostgreSQL writes the checkpoint in the data's transaction: nothing to replay
		}
		esOK(t, h.es, esapi.IndexRequest{Index: h.state, DocumentID: "checkpoint-default", Body: strings.NewReader(
			fmt.Sprintf(`{"kind":"checkpoint","name":"default","flavor":"mariadb","gtid":%q,"phase":"streaming"}`, rewindTo))}, nil)
		p = startCLI(t, "run", "-c", cfg)
		replay := tg.WaitCaughtUp(t, my, p, 120*time.Second)
		t.Logf("replay from %s took %s", rewindTo, replay.Round(time.Millisecond))
		for _, tbl := range []string{"a", "b", "big"} {
			tg.AssertTableEqual(t, my, db, tbl)
		}
		if !strings.Contains(p.output(), "replayed changes refused") {
			t.Errorf("replay from %s refused nothing:\n%s", rewindTo, tail(p.output(), 20))
		}
		p.stop(t)
	})
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
