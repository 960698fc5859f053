//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"
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

// keyMoveWorkload moves rows of db.u from the low keys (copied first) above every key
// (the last, open chunk) and swaps unique values between a low and a high row, until stop
// is closed: what makes a resumed snapshot hold a row twice, or a unique value twice,
// when its chunks come from two views.
func keyMoveWorkload(t *testing.T, db string, rows int, stop <-chan struct{}) func() int {
	done := make(chan int, 1)
	go func() {
		c, err := client.Connect(mysqlHost+":"+mysqlPort, "root", mysqlRootPass, db)
		if err != nil {
			t.Errorf("workload connect: %v", err)
			done <- 0
			return
		}
		defer c.Close()
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		n := 0
		for i := 1; ; i++ {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			low := rng.Intn(rows/3) + 1
			high := rows - rng.Intn(rows/10)
			var stmts []string
			if i%2 == 0 {
				// The primary key moves from a done chunk into the pending last one.
				stmts = []string{fmt.Sprintf("UPDATE u SET id = id + 10000000, v = v + 1 WHERE id = %d", low)}
			} else {
				// A unique value moves from a low row to a high one, and back the other way.
				stmts = []string{"BEGIN", "SET @a = NULL, @b = NULL",
					fmt.Sprintf("SELECT u INTO @a FROM u WHERE id = %d", low),
					fmt.Sprintf("SELECT u INTO @b FROM u WHERE id = %d", high),
					fmt.Sprintf("UPDATE u SET u = -u WHERE id = %d AND @a IS NOT NULL AND @b IS NOT NULL", low),
					fmt.Sprintf("UPDATE u SET u = @a WHERE id = %d AND @a IS NOT NULL AND @b IS NOT NULL", high),
					fmt.Sprintf("UPDATE u SET u = @b WHERE id = %d AND @a IS NOT NULL AND @b IS NOT NULL", low),
					"COMMIT"}
			}
			for _, q := range stmts {
				if _, err := c.Execute(q); err != nil {
					if !strings.Contains(err.Error(), "Deadlock") && !strings.Contains(err.Error(), "Lock wait") {
						t.Errorf("workload %s: %v", q, err)
						done <- n
						return
					}
					_, _ = c.Execute("ROLLBACK")
					break
				}
			}
			n++
		}
	}()
	return func() int { return <-done }
}

// TestSnapshotResumeUniqueKeyMoves: kill -9 during the snapshot of a table with a unique
// secondary key while a workload moves primary keys and unique values between the chunks
// done before the kill and those after. Before the fix, building the unique index failed
// on every restart (SQLSTATE 23505); now the resumed snapshot reads the changed rows again
// under its newest view and ends there.
func TestSnapshotResumeUniqueKeyMoves(t *testing.T) {
	start := time.Now()
	my := mysqlRoot(t)
	db := "it_resume_ukey"
	const rows = 300000
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE u (id INT PRIMARY KEY, u INT NOT NULL, v INT NOT NULL, UNIQUE KEY a_u (u))",
		fmt.Sprintf("INSERT INTO u SELECT seq, seq, 0 FROM seq_1_to_%d", rows),
		"ANALYZE TABLE u")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[snapshot]
chunk_rows = 5000
parallelism = 2
[[tables]]
source = "it_resume_ukey.*"
`))
	stop := make(chan struct{})
	wait := keyMoveWorkload(t, db, rows, stop)
	p := startCLI(t, "snapshot", "-c", cfg)
	waitChunks(t, pg, p, db+".u", 8, "")
	p.kill()
	var done, total int
	if err := pg.QueryRow(context.Background(), "SELECT count(*) FILTER (WHERE done), count(*) FROM _replicator.snapshot_chunks").Scan(&done, &total); err != nil {
		t.Fatal(err)
	}
	if done >= total {
		t.Fatalf("kill came after the last chunk (%d of %d)", done, total)
	}
	time.Sleep(time.Second) // more moves between the views
	res := runCLI(t, 5*time.Minute, "snapshot", "-c", cfg)
	close(stop)
	moves := wait()
	if res.code != 0 {
		t.Fatalf("resumed snapshot failed: %s\n%s", res.stdout, tail(res.stderr, 20))
	}
	for _, l := range strings.Split(res.stderr, "\n") {
		if strings.Contains(l, "read again under the newest") {
			t.Log(abbrev(l))
		}
	}
	if !strings.Contains(res.stderr, "resuming snapshot") {
		t.Errorf("second run did not resume:\n%s", tail(res.stderr, 10))
	}
	t.Logf("killed with %d of %d chunks done; %d moves", done, total, moves)
	run := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, run, 2*time.Minute)
	if n := assertTableEqual(t, my, pg, db, "u", db, "u"); n != rows {
		t.Errorf("compared %d rows, want %d", n, rows)
	}
	run.stop(t)
	assertVerifyEqual(t, cfg)
	var uniq int
	if err := pg.QueryRow(context.Background(), "SELECT count(*) FROM pg_constraint WHERE conname = 'u_a_u'").Scan(&uniq); err != nil || uniq != 1 {
		t.Errorf("unique constraint u_a_u: %d (%v)", uniq, err)
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}

// TestSnapshotResumeKeyMovesElastic: the same for Elasticsearch, where a document left
// under its old key is a duplicate that must end deleted.
func TestSnapshotResumeKeyMovesElastic(t *testing.T) {
	start := time.Now()
	my := mysqlRoot(t)
	db := "it_resume_ukey_es"
	const rows = 300000
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE u (id INT PRIMARY KEY, u INT NOT NULL, v INT NOT NULL, UNIQUE KEY a_u (u))",
		fmt.Sprintf("INSERT INTO u SELECT seq, seq, 0 FROM seq_1_to_%d", rows),
		"ANALYZE TABLE u")
	et := newESTarget(t, "resume-ukey")
	cfg := writeConfig(t, et.config(db, `
[snapshot]
chunk_rows = 5000
parallelism = 2
`))
	chunksDone := func() int {
		code, _ := esDo(t, et.es, esapi.IndicesRefreshRequest{Index: []string{et.state}})
		if code != 200 {
			return 0
		}
		return esCount(t, et.es, et.state, `{"term":{"kind":"chunk"}}`)
	}
	stop := make(chan struct{})
	wait := keyMoveWorkload(t, db, rows, stop)
	p := startCLI(t, "snapshot", "-c", cfg)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && chunksDone() < 8 {
		if p.exited() {
			t.Fatalf("snapshot finished before it could be killed\n%s", tail(p.output(), 10))
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.kill()
	done := chunksDone()
	if done == 0 || done >= 60 {
		t.Fatalf("kill did not land mid-snapshot: %d chunks done", done)
	}
	time.Sleep(time.Second)
	res := runCLI(t, 5*time.Minute, "snapshot", "-c", cfg)
	close(stop)
	moves := wait()
	if res.code != 0 {
		t.Fatalf("resumed snapshot failed: %s\n%s", res.stdout, tail(res.stderr, 20))
	}
	t.Logf("killed with %d chunks done; %d moves", done, moves)
	run := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, run, 2*time.Minute)
	if n := et.assertIndexEqual(t, my, db, "u"); n != rows {
		t.Errorf("compared %d documents, want %d", n, rows)
	}
	run.stop(t)
	assertVerifyEqual(t, cfg)
	et.cleanup(t)
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}
