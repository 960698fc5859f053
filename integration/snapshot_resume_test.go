//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestSnapshotResumesAfterKill(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_resume"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable,
		"CREATE TABLE strkey (code VARCHAR(20) PRIMARY KEY, v INT)",
		"INSERT INTO strkey SELECT CONCAT('k', seq), seq FROM seq_1_to_20000")
	seed(t, my, db, 400000)
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[snapshot]
chunk_rows = 2000
parallelism = 2
[[tables]]
source = "it_resume.*"
`))
	p := startCLI(t, "snapshot", "-c", cfg)
	ctx := context.Background()
	var done, total int
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		err := pg.QueryRow(ctx, "SELECT count(*) FILTER (WHERE done), count(*) FROM _replicator.snapshot_chunks").Scan(&done, &total)
		if err == nil && done >= 10 {
			break
		}
		if p.exited() {
			t.Fatalf("snapshot finished before it could be killed (%d/%d chunks); make the table larger\n%s", done, total, tail(p.output(), 10))
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	if err := pg.QueryRow(ctx, "SELECT count(*) FILTER (WHERE done), count(*) FROM _replicator.snapshot_chunks").Scan(&done, &total); err != nil {
		t.Fatal(err)
	}
	if done == 0 || done >= total {
		t.Fatalf("kill did not land mid-snapshot: %d of %d chunks done", done, total)
	}
	var rowsBefore int
	if err := pg.QueryRow(ctx, "SELECT count(*) FROM it_resume.wl").Scan(&rowsBefore); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed with %d of %d chunks done, %d rows in the target", done, total, rowsBefore)

	// Writes between the kill and the resume land through the remaining chunks' newer view
	// or, for chunks already copied, through streaming from the first view's position.
	mustExec(t, my, "UPDATE it_resume.wl SET v = -1 WHERE id % 1000 = 0", "DELETE FROM it_resume.wl WHERE id % 777 = 0")

	res := runCLI(t, 5*time.Minute, "snapshot", "-c", cfg)
	if res.code != 0 {
		t.Fatalf("resumed snapshot failed: %s\n%s", res.stdout, tail(res.stderr, 20))
	}
	if !strings.Contains(res.stderr, "resuming snapshot") {
		t.Errorf("second run did not resume:\n%s", tail(res.stderr, 10))
	}
	var resumedRows int64
	if err := pg.QueryRow(ctx, "SELECT COALESCE(sum(rows), 0) FROM _replicator.snapshot_chunks").Scan(&resumedRows); err != nil {
		t.Fatal(err)
	}
	// Streaming converges the chunks copied before the writes.
	p = startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, 2*time.Minute)
	if n := assertTableEqual(t, my, pg, db, "wl", db, "wl"); n < 399000 {
		t.Errorf("compared %d rows", n)
	}
	assertTableEqual(t, my, pg, db, "strkey", db, "strkey")
	p.stop(t)
}
