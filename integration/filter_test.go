//go:build integration

package integration

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

// wlFilter is the row filter of the filter scenarios: the workload's updates of v and
// note move rows in and out of it, its key changes (to ids 5001..10000) move rows across
// the id bound, and grp keeps some inserts out from the start.
const wlFilter = `(v % 3 <> 0 OR note LIKE 'seed%') AND id <= 7000 AND grp IN (0, 1, 2, 3, 4, 5, 6)`

// TestRowFilterUnderKills replicates wl under a row filter through a snapshot and a
// streaming workload with kill -9 in the middle, then checks verify reports the target
// equal to the filtered source, and compares row by row with the source's rows that
// satisfy the filter.
func TestRowFilterUnderKills(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_filter")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db, wlTable)
		seed(t, my, db, 3000)
		// Rows outside the filter from the start: the snapshot must leave them out.
		mustExec(t, my, "UPDATE `"+db+"`.wl SET v = 3, note = 'out' WHERE id % 7 = 0")
		cfg := writeConfig(t, tg.Config(db, `where = "`+wlFilter+`"
[apply]
flush_interval = "100ms"
batch_rows = 500
[snapshot]
chunk_rows = 1000
`))
		stop := make(chan struct{})
		wait := workload(t, db, 2, stop)
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		kills := 3
		for i := 0; i < kills; i++ {
			p := startCLI(t, "run", "-c", cfg)
			time.Sleep(time.Duration(800+rng.Intn(2000)) * time.Millisecond)
			if p.exited() {
				t.Fatalf("replicator exited early: %v\n%s", p.err, tail(p.output(), 30))
			}
			p.kill()
		}
		time.Sleep(500 * time.Millisecond)
		close(stop)
		n := wait()
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 120*time.Second)
		p.stop(t)
		t.Logf("%d kill -9 during %d workload statements", kills, n)

		rep := assertVerifyEqual(t, cfg)
		if len(rep.Tables) != 1 || rep.Tables[0].SourceRows == 0 {
			t.Fatalf("verify compared %+v", rep.Tables)
		}

		// What the target must hold: the source's rows inside the filter. Taking the
		// others out of the source without binary logging leaves the replicator (stopped)
		// unaware and the source table equal to the expected target.
		total := tg.Count(t, db, "wl")
		mustExec(t, my, "SET SESSION sql_log_bin = 0",
			"DELETE FROM `"+db+"`.wl WHERE NOT ("+wlFilter+") OR ("+wlFilter+") IS NULL",
			"SET SESSION sql_log_bin = 1")
		res, err := my.Execute("SELECT COUNT(*) FROM `" + db + "`.wl")
		if err != nil {
			t.Fatal(err)
		}
		inside, _ := res.GetInt(0, 0)
		if inside < 500 || int(inside) != total {
			t.Errorf("source has %d rows inside the filter, target %d", inside, total)
		}
		got := tg.AssertTableEqual(t, my, db, "wl")
		t.Logf("%d rows inside the filter, equal at the target", got)
	})
}

// TestRowFilterCheckRefusesUnknownColumn: a filter naming a column the table lacks is
// refused by check, naming the key.
func TestRowFilterCheckRefusesUnknownColumn(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_filter_check"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable)
	h := newPGHarness(t)
	cfg := writeConfig(t, h.Config(db, `where = "status <> 'draft'"`))
	out, res := runCheck(t, cfg)
	if res.code == 0 {
		t.Fatalf("check passed a filter on a missing column:\n%s", res.stdout)
	}
	found := false
	for _, r := range out.Checks {
		if strings.Contains(r.Detail, "tables[0].where") && strings.Contains(r.Detail, "unknown column status") {
			found = true
		}
	}
	if !found {
		t.Fatalf("check does not name tables[0].where and the column:\n%s", res.stdout)
	}
	// A valid filter is shown with its table.
	out, _ = runCheck(t, writeConfig(t, h.Config(db, `where = "grp < 5 AND note LIKE 'a%'"`)))
	shown := false
	for _, r := range out.Checks {
		if r.Status == "pass" && strings.Contains(r.Detail, "row filter: where grp < 5 AND note LIKE 'a%'") {
			shown = true
		}
	}
	if !shown {
		t.Errorf("check does not show the row filter in force:\n%+v", out.Checks)
	}
	run := runCLI(t, time.Minute, "run", "-c", cfg)
	if run.code == 0 || !strings.Contains(run.stderr+run.stdout, "unknown column status") {
		t.Fatalf("run started with a filter on a missing column (exit %d):\n%s", run.code, tail(run.stderr, 10))
	}
}

// TestRowFilterDDLDropsFilteredColumn: a DDL dropping a column the filter reads stops
// streaming with an error naming the rule's where and the column, applying nothing after.
func TestRowFilterDDLDropsFilteredColumn(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_filter_ddl"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable)
	seed(t, my, db, 20)
	h := newPGHarness(t)
	cfg := writeConfig(t, h.Config(db, `where = "grp < 5"`))
	p := startCLI(t, "run", "-c", cfg)
	h.WaitCaughtUp(t, my, p, 60*time.Second)
	if n := h.Count(t, db, "wl"); n != 10 {
		t.Fatalf("target has %d rows after the snapshot, want the 10 with grp < 5", n)
	}
	mustExec(t, my, "INSERT INTO `"+db+"`.wl (id, grp, v) VALUES (100, 1, 1)")
	h.WaitCaughtUp(t, my, p, 60*time.Second)
	mustExec(t, my, "ALTER TABLE `"+db+"`.wl DROP COLUMN grp", "INSERT INTO `"+db+"`.wl (id, v) VALUES (101, 1)")
	if !waitExit(p, 60*time.Second) {
		p.kill()
		t.Fatalf("replicator kept running after the filtered column was dropped:\n%s", tail(p.output(), 20))
	}
	out := p.output()
	t.Logf("stopped with: %s", lastLine(out))
	if !strings.Contains(out, "tables[0].where") || !strings.Contains(out, "unknown column grp") {
		t.Fatalf("the error does not name the filter and the column:\n%s", tail(out, 20))
	}
	if n := h.Count(t, db, "wl"); n != 11 {
		t.Errorf("target has %d rows, want 11 (nothing applied after the DDL)", n)
	}
}

// TestRowFilterOnlineCopyPostgres adds a table with a row filter to a running replication:
// its online copy reads only rows inside the filter (key-ordered chunks, the filter ANDed
// with the chunk's key range) while a workload moves rows in and out of it.
func TestRowFilterOnlineCopyPostgres(t *testing.T) {
	const db = "it_filter_online"
	const extraFilter = `v % 4 <> 0 AND note NOT LIKE 'u1%' AND id <= 30000`
	faultSetup(t, db, 500)
	my := mysqlRoot(t)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE extra (id INT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(40) NULL, KEY (v))",
		"INSERT INTO extra SELECT seq, seq * 3, CONCAT('seed ', seq) FROM seq_1_to_8000")
	url := freshPGDatabase(t)
	one := configText("replicator", mysqlReplPass, url, `
[apply]
flush_interval = "100ms"
[snapshot]
chunk_rows = 1000
[[tables]]
source = "`+db+`.wl"
`)
	cfg := writeConfig(t, one)
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	waitPGCaughtUp(t, url, p, time.Minute)
	p.stop(t)

	stop := make(chan struct{})
	wait := extraWorkload(t, db, stop)
	stopOnCleanup(t, stop, func() (int, int) { return wait(), 0 })
	time.Sleep(300 * time.Millisecond)
	cfg = writeConfig(t, one+"[[tables]]\nsource = \""+db+".extra\"\nwhere = \""+extraFilter+"\"\n")
	p2 := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p2)
	c := waitCopy(t, cfg, db+".extra", "done", p2, 4*time.Minute)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	n := wait()
	waitPGCaughtUp(t, url, p2, 2*time.Minute)
	p2.stop(t)
	assertVerifyEqual(t, cfg)

	mustExec(t, my, "SET SESSION sql_log_bin = 0",
		"DELETE FROM `"+db+"`.extra WHERE NOT ("+extraFilter+") OR ("+extraFilter+") IS NULL",
		"SET SESSION sql_log_bin = 1")
	pg := pgConnect(t, url)
	rows := assertTableEqual(t, my, pg, db, "extra", db, "extra")
	if rows < 1000 {
		t.Errorf("only %d rows inside the filter: the scenario no longer tests much", rows)
	}
	t.Logf("extra copied online under a filter: %d rows copied, %d workload statements, %d rows equal", c.Rows, n, rows)
}

// TestRowFilterSnapshotResume kills a filtered snapshot midway and changes rows in and out
// of the filter in chunks already copied: the resumed snapshot reads those keys again
// under the filter (a key now outside it is deleted at the target), then streaming runs.
func TestRowFilterSnapshotResume(t *testing.T) {
	my := mysqlRoot(t)
	tg := newPGHarness(t)
	db := "it_filter_resume"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable)
	const rows = 100000
	const f = `grp < 5 AND v % 2 = 1`
	seed(t, my, db, rows)
	cfg := writeConfig(t, tg.Config(db, `where = "`+f+`"
[snapshot]
chunk_rows = 1000
parallelism = 1
`))
	p := startCLI(t, "snapshot", "-c", cfg)
	done, planned := killMidSnapshot(t, tg, p, 5, rows/1000+1)
	t.Logf("killed with %d of %d chunks done, %d rows in the target", done, planned, tg.Count(t, db, "wl"))
	// In the chunks copied: rows leave the filter (v even) and enter it (v odd).
	mustExec(t, my, "UPDATE "+db+".wl SET v = v + 1 WHERE id <= 3000 AND id % 3 = 0",
		"DELETE FROM "+db+".wl WHERE id <= 3000 AND id % 11 = 0")
	res := runCLI(t, 5*time.Minute, "snapshot", "-c", cfg)
	if res.code != 0 || !strings.Contains(res.stderr, "resuming snapshot") {
		t.Fatalf("resumed snapshot: exit %d\n%s", res.code, tail(res.stderr, 20))
	}
	p = startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	tg.WaitCaughtUp(t, my, p, 2*time.Minute)
	p.stop(t)
	assertVerifyEqual(t, cfg)
	mustExec(t, my, "SET SESSION sql_log_bin = 0",
		"DELETE FROM `"+db+"`.wl WHERE NOT ("+f+") OR ("+f+") IS NULL",
		"SET SESSION sql_log_bin = 1")
	if n := tg.AssertTableEqual(t, my, db, "wl"); n < rows/5 {
		t.Errorf("compared %d rows", n)
	}
}
