//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// [snapshot] on_missing_binlog = "resnapshot": the binary logs after the checkpoint are
// purged while 'run' is stopped, with writes, a DDL and a new table in the gap; the next
// run streams on from the source's current position and copies every table again online.

// purgeGap writes to db while no replicator runs, changes wl's shape, creates a table
// under the rules, and purges the binary logs holding all of it.
func purgeGap(t *testing.T, db string) {
	t.Helper()
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	time.Sleep(time.Second)
	my := mysqlRoot(t)
	mustExec(t, my, "USE `"+db+"`",
		"ALTER TABLE wl ADD COLUMN gap INT NOT NULL DEFAULT 5",
		"UPDATE wl SET gap = id % 7 WHERE id < 3000",
		"CREATE TABLE gapt (id INT PRIMARY KEY, s VARCHAR(20) NOT NULL)",
		"INSERT INTO gapt SELECT seq, CONCAT('gap ', seq) FROM seq_1_to_4000")
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wait()
	c := freshMySQL(t, time.Minute)
	defer c.Close()
	purgeBinlogs(t, c)
}

// TestResnapshotAfterPurgePostgres: PostgreSQL target.
func TestResnapshotAfterPurgePostgres(t *testing.T) {
	needServerControl(t) // purges the shared server's binary logs
	const db = "it_purge_online_pg"
	faultSetup(t, db, 20000)
	url := freshPGDatabase(t)
	cfg := writeConfig(t, strings.Replace(faultConfig(url, db, ""), "[snapshot]\n", "[snapshot]\non_missing_binlog = \"resnapshot\"\n", 1))
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	waitPGCaughtUp(t, url, p, time.Minute)
	p.stop(t)
	purgeGap(t, db)

	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	stopOnCleanup(t, stop, wait)
	p = startCLI(t, "run", "-c", cfg)
	if !waitOutput(p, "moved the checkpoint past purged binary logs", time.Minute) {
		t.Fatalf("run did not move past the purged binary logs\n%s", tail(p.output(), 30))
	}
	waitCopy(t, cfg, db+".wl", "done", p, 4*time.Minute)
	waitCopy(t, cfg, db+".gapt", "done", p, 4*time.Minute)
	finishScenario(t, url, cfg, p, stop, wait)
	my := mysqlRoot(t)
	pg := pgConnect(t, url)
	assertTableEqual(t, my, pg, db, "wl", db, "wl")
	assertTableEqual(t, my, pg, db, "gapt", db, "gapt")
	p.stop(t)
}

// TestResnapshotAfterPurgeElasticsearch: Elasticsearch target.
func TestResnapshotAfterPurgeElasticsearch(t *testing.T) {
	needServerControl(t) // purges the shared server's binary logs
	const db = "it_purge_online_es"
	faultSetup(t, db, 20000)
	et := newESTarget(t, "purge")
	cfg := writeConfig(t, et.config(db, `
[apply]
flush_interval = "100ms"
batch_rows = 2000
[snapshot]
chunk_rows = 2000
on_missing_binlog = "resnapshot"
`))
	my := mysqlRoot(t)
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	et.waitCaughtUp(t, my, p, time.Minute)
	p.stop(t)
	purgeGap(t, db)

	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	stopOnCleanup(t, stop, wait)
	p = startCLI(t, "run", "-c", cfg)
	if !waitOutput(p, "moved the checkpoint past purged binary logs", time.Minute) {
		t.Fatalf("run did not move past the purged binary logs\n%s", tail(p.output(), 30))
	}
	et.waitESCopy(t, db+".wl", "done", p, 4*time.Minute)
	et.waitESCopy(t, db+".gapt", "done", p, 4*time.Minute)
	close(stop)
	wait()
	et.waitCaughtUp(t, my, p, 3*time.Minute)
	et.assertIndexEqual(t, my, db, "wl")
	et.assertIndexEqual(t, my, db, "gapt")
	assertVerifyEqual(t, cfg)
	p.stop(t)
}
