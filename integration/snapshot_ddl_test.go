//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// snapshotDDLSetup creates db with a large table "big" (copied first: tables go largest
// first) and a smaller "small" (id, a, b) read after it, so a DDL on small while big is
// copied lands between the view's position and small's first read.
func snapshotDDLSetup(t *testing.T, my *client.Conn, db string, bigRows int) {
	t.Helper()
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE big (id INT PRIMARY KEY, v INT NOT NULL, u INT NOT NULL, UNIQUE KEY big_u (u))",
		fmt.Sprintf("INSERT INTO big SELECT seq, seq %% 1000, seq FROM seq_1_to_%d", bigRows),
		"CREATE TABLE small (id INT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL)",
		"INSERT INTO small SELECT seq, seq, seq * 7 FROM seq_1_to_20000",
		"ANALYZE TABLE big, small")
}

func snapshotDDLConfig(t *testing.T, db, url string) string {
	return writeConfig(t, configText("replicator", mysqlReplPass, url, fmt.Sprintf(`
[snapshot]
chunk_rows = 5000
parallelism = 2
[[tables]]
source = "%s.*"
`, db)))
}

// waitChunks waits until at least n chunks of table are done in the target and none of
// notYet, failing if the snapshot ends first.
func waitChunks(t *testing.T, pg *pgx.Conn, p *proc, table string, n int, notYet string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var done, other int
		err := pg.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE done AND source_table = $1),
			count(*) FILTER (WHERE done AND source_table = $2) FROM _replicator.snapshot_chunks`, table, notYet).Scan(&done, &other)
		if err == nil && done >= n {
			if other > 0 {
				t.Fatalf("%s was already being copied when %d chunks of %s were done: make %s larger", notYet, done, table, table)
			}
			return
		}
		if p.exited() {
			t.Fatalf("snapshot ended before %d chunks of %s were done\n%s", n, table, tail(p.output(), 20))
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d chunks of %s not done within 2 minutes\n%s", n, table, tail(p.output(), 20))
}

// finishAndCompare waits for the snapshot, streams to the source's position and compares
// every table row by row and with verify.
func finishAndCompare(t *testing.T, my *client.Conn, pg *pgx.Conn, p *proc, cfg, db string, tables ...string) string {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(5 * time.Minute):
		t.Fatalf("snapshot did not finish within 5 minutes\n%s", tail(p.output(), 30))
	}
	out := p.output()
	logSnapshotSteps(t, out)
	if p.err != nil {
		t.Fatalf("snapshot failed: %v\n%s", p.err, tail(out, 30))
	}
	run := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, run, 2*time.Minute)
	for _, tbl := range tables {
		assertTableEqual(t, my, pg, db, tbl, db, tbl)
	}
	run.stop(t)
	assertVerifyEqual(t, cfg)
	return out
}

// TestSnapshotDDLRenameSwap: a column rename swap (a->tmp, b->a, tmp->b) on a table the
// snapshot has not read yet. Before the fix the values landed in the wrong columns with no
// error; now the snapshot sees the DDL in the binary log and copies again under a new view
// (an Elasticsearch index of the changed table is created again for the new definition).
func TestSnapshotDDLRenameSwap(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		start := time.Now()
		my := mysqlRoot(t)
		db := tg.DB("it_snapddl_swap")
		snapshotDDLSetup(t, my, db, 300000)
		cfg := writeConfig(t, tg.Config(db, `
[snapshot]
chunk_rows = 5000
parallelism = 2
`))
		p := startCLI(t, "snapshot", "-c", cfg)
		if h, ok := tg.(*pgHarness); ok {
			waitChunks(t, h.pg, p, db+".big", 3, db+".small")
		} else {
			deadline := time.Now().Add(2 * time.Minute)
			for done, _ := snapshotChunks(t, tg); done < 3 && time.Now().Before(deadline); done, _ = snapshotChunks(t, tg) {
				if p.exited() {
					t.Fatalf("snapshot finished before the DDL\n%s", tail(p.output(), 10))
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		mustExec(t, my, "USE "+db,
			"ALTER TABLE small RENAME COLUMN a TO tmp", "ALTER TABLE small RENAME COLUMN b TO a", "ALTER TABLE small RENAME COLUMN tmp TO b",
			"UPDATE small SET a = a + 1 WHERE id <= 10",
			// Changes to big between the first view and the one small is copied again under:
			// big is brought to the newer view by reading these rows again.
			"UPDATE big SET v = v + 1 WHERE id % 100 = 0", "DELETE FROM big WHERE id % 1001 = 0",
			"INSERT INTO big SELECT seq, 1, seq FROM seq_400001_to_400100",
			// Unique values move between 2,000 rows (big's unique index exists already).
			"UPDATE big SET u = -u WHERE id BETWEEN 1 AND 2000", "UPDATE big SET u = 2001 + u WHERE id BETWEEN 1 AND 2000",
			"UPDATE big SET id = id + 1000000 WHERE id % 997 = 0")
		if !waitExit(p, 5*time.Minute) {
			t.Fatalf("snapshot did not finish within 5 minutes\n%s", tail(p.output(), 30))
		}
		out := p.output()
		logSnapshotSteps(t, out)
		if p.err != nil {
			t.Fatalf("snapshot failed: %v\n%s", p.err, tail(out, 30))
		}
		if !strings.Contains(out, "read again under the newest") {
			t.Errorf("big was not brought to the newer view:\n%s", tail(out, 20))
		}
		if !strings.Contains(out, "DDL changed selected tables") {
			t.Errorf("the snapshot did not report the DDL it copied again for:\n%s", tail(out, 20))
		}
		if _, ok := tg.(*esHarness); ok && strings.Contains(out, "copying every") {
			t.Errorf("the snapshot did not copy the changed table again on its own:\n%s", tail(out, 20))
		}
		run := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, run, 2*time.Minute)
		tg.AssertTableEqual(t, my, db, "big")
		tg.AssertTableEqual(t, my, db, "small")
		run.stop(t)
		assertVerifyEqual(t, cfg)
		// The target has the new definition: b holds the old a (= id).
		if h, ok := tg.(*pgHarness); ok {
			var bad int
			if err := h.pg.QueryRow(context.Background(), "SELECT count(*) FROM "+db+".small WHERE b <> id").Scan(&bad); err != nil || bad != 0 {
				t.Errorf("%d rows of small with b <> id (err %v)", bad, err)
			}
		}
		t.Logf("took %s", time.Since(start).Round(time.Millisecond))
	})
}

// TestSnapshotDDLDropColumn: DROP COLUMN on a table the snapshot has not read yet. Before
// the fix the read failed with "Unknown column" on this and every later run.
func TestSnapshotDDLDropColumn(t *testing.T) {
	start := time.Now()
	my := mysqlRoot(t)
	db := "it_snapddl_drop"
	snapshotDDLSetup(t, my, db, 300000)
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := snapshotDDLConfig(t, db, url)
	p := startCLI(t, "snapshot", "-c", cfg)
	waitChunks(t, pg, p, db+".big", 3, db+".small")
	mustExec(t, my, "ALTER TABLE "+db+".small DROP COLUMN b")
	out := finishAndCompare(t, my, pg, p, cfg, db, "big", "small")
	if !strings.Contains(out, "DDL changed selected tables") {
		t.Errorf("the snapshot did not report the DDL:\n%s", tail(out, 20))
	}
	var n int
	if err := pg.QueryRow(context.Background(), "SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'small' AND column_name = 'b'", db).Scan(&n); err != nil || n != 0 {
		t.Errorf("target small still has column b (%d, %v)", n, err)
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}

// TestSnapshotDDLResumePastRename: a snapshot killed mid-way, then a rename swap on the
// table it was copying, then the resumed snapshot. Before the fix the chunks copied after
// the resume held swapped values.
func TestSnapshotDDLResumePastRename(t *testing.T) {
	start := time.Now()
	my := mysqlRoot(t)
	db := "it_snapddl_resume"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE big (id INT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL)",
		"INSERT INTO big SELECT seq, seq, seq * 7 FROM seq_1_to_300000",
		"ANALYZE TABLE big")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := snapshotDDLConfig(t, db, url)
	p := startCLI(t, "snapshot", "-c", cfg)
	waitChunks(t, pg, p, db+".big", 5, "")
	p.kill()
	var done, total int
	if err := pg.QueryRow(context.Background(), "SELECT count(*) FILTER (WHERE done), count(*) FROM _replicator.snapshot_chunks").Scan(&done, &total); err != nil {
		t.Fatal(err)
	}
	if done >= total {
		t.Fatalf("kill came after the last chunk (%d of %d)", done, total)
	}
	t.Logf("killed with %d of %d chunks done", done, total)
	mustExec(t, my, "USE "+db,
		"ALTER TABLE big RENAME COLUMN a TO tmp", "ALTER TABLE big RENAME COLUMN b TO a", "ALTER TABLE big RENAME COLUMN tmp TO b",
		"UPDATE big SET a = a + 1 WHERE id % 1000 = 0")
	p = startCLI(t, "snapshot", "-c", cfg)
	out := finishAndCompare(t, my, pg, p, cfg, db, "big")
	if !strings.Contains(out, "resuming snapshot") || !strings.Contains(out, "DDL changed selected tables") {
		t.Errorf("the second run did not resume and then start over:\n%s", tail(out, 20))
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}

func abbrev(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}

// logSnapshotSteps logs the snapshot's views, the DDL it found and what it read again.
func logSnapshotSteps(t *testing.T, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "DDL") || strings.Contains(l, "snapshot complete") || strings.Contains(l, "consistent snapshot opened") || strings.Contains(l, "changed since") {
			t.Log(abbrev(l))
		}
	}
}

// TestSnapshotDDLKilledWhileCopyingAgain: kill -9 while a table changed by DDL is being
// copied again; the resumed snapshot continues it from the view it was copied again
// under (its own position), and brings the other table to the newest view.
func TestSnapshotDDLKilledWhileCopyingAgain(t *testing.T) {
	start := time.Now()
	my := mysqlRoot(t)
	db := "it_snapddl_kill"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE big (id INT PRIMARY KEY, v INT NOT NULL)",
		"INSERT INTO big SELECT seq, seq % 1000 FROM seq_1_to_300000",
		"CREATE TABLE mid (id INT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL)",
		"INSERT INTO mid SELECT seq, seq, seq * 7 FROM seq_1_to_200000",
		"ANALYZE TABLE big, mid")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[snapshot]
chunk_rows = 2000
parallelism = 1
[[tables]]
source = "it_snapddl_kill.*"
`))
	p := startCLI(t, "snapshot", "-c", cfg)
	waitChunks(t, pg, p, db+".big", 3, db+".mid")
	mustExec(t, my, "USE "+db,
		"ALTER TABLE mid RENAME COLUMN a TO tmp", "ALTER TABLE mid RENAME COLUMN b TO a", "ALTER TABLE mid RENAME COLUMN tmp TO b",
		"UPDATE big SET v = -v WHERE id % 500 = 0")
	if !waitOutput(p, "copying them again", 2*time.Minute) {
		t.Fatalf("the snapshot did not copy mid again\n%s", tail(p.output(), 20))
	}
	// The first copy of mid is complete (and wrong); wait for its new plan to be stored
	// and a few of its chunks copied again.
	deadline := time.Now().Add(time.Minute)
	reset := false
	for time.Now().Before(deadline) && !p.exited() {
		var d, n int
		if err := pg.QueryRow(context.Background(), "SELECT count(*) FILTER (WHERE done), count(*) FROM _replicator.snapshot_chunks WHERE source_table = $1", db+".mid").Scan(&d, &n); err == nil {
			reset = reset || d < n
			if reset && d >= 3 {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	p.kill()
	var done, total int
	if err := pg.QueryRow(context.Background(), "SELECT count(*) FILTER (WHERE done), count(*) FROM _replicator.snapshot_chunks WHERE source_table = $1", db+".mid").Scan(&done, &total); err != nil {
		t.Fatal(err)
	}
	if done >= total {
		t.Fatalf("kill came after mid was copied again (%d of %d chunks)", done, total)
	}
	t.Logf("killed with %d of %d chunks of mid copied again", done, total)
	mustExec(t, my, "UPDATE "+db+".mid SET a = a + 1 WHERE id % 300 = 0", "UPDATE "+db+".big SET v = v + 5 WHERE id % 700 = 0")
	p = startCLI(t, "snapshot", "-c", cfg)
	out := finishAndCompare(t, my, pg, p, cfg, db, "big", "mid")
	if !strings.Contains(out, "resuming snapshot") || strings.Contains(out, "DDL changed") {
		t.Errorf("the second run did not resume cleanly:\n%s", tail(out, 20))
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}
