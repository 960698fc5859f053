//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// killMidSnapshot waits until at least n chunks are done, kills the snapshot and fails the
// test unless the kill landed before the last of about maxChunks chunks.
func killMidSnapshot(t *testing.T, tg targetHarness, p *proc, n, maxChunks int) (done, planned int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if done, _ = snapshotChunks(t, tg); done >= n {
			break
		}
		if p.exited() {
			t.Fatalf("snapshot finished before it could be killed (%d chunks done); make the table larger\n%s", done, tail(p.output(), 10))
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	done, planned = snapshotChunks(t, tg)
	if planned == 0 {
		planned = maxChunks
	}
	if done == 0 || done >= planned {
		t.Fatalf("kill did not land mid-snapshot: %d of %d chunks done", done, planned)
	}
	return done, planned
}

// TestSnapshotResumesAfterKill kills a snapshot midway; the next run resumes from the
// chunks marked done, and streaming converges what changed in between.
func TestSnapshotResumesAfterKill(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_resume")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db, wlTable,
			"CREATE TABLE strkey (code VARCHAR(20) PRIMARY KEY, v INT)",
			"INSERT INTO strkey SELECT CONCAT('k', seq), seq FROM seq_1_to_20000")
		rows := map[string]int{"postgres": 400000, "elasticsearch": 300000}[tg.Name()]
		seed(t, my, db, rows)
		cfg := writeConfig(t, tg.Config(db, `
[snapshot]
chunk_rows = 2000
parallelism = 2
`))
		p := startCLI(t, "snapshot", "-c", cfg)
		done, planned := killMidSnapshot(t, tg, p, 10, (rows+20000)/2000+1)
		t.Logf("killed with %d of %d chunks done, %d rows in the target", done, planned, tg.Count(t, db, "wl"))

		// Writes between the kill and the resume land through the remaining chunks' newer view
		// or, for chunks already copied, through streaming from the first view's position.
		mustExec(t, my, "UPDATE "+db+".wl SET v = -1 WHERE id % 1000 = 0", "DELETE FROM "+db+".wl WHERE id % 777 = 0")

		res := runCLI(t, 5*time.Minute, "snapshot", "-c", cfg)
		if res.code != 0 {
			t.Fatalf("resumed snapshot failed: %s\n%s", res.stdout, tail(res.stderr, 20))
		}
		if !strings.Contains(res.stderr, "resuming snapshot") {
			t.Errorf("second run did not resume:\n%s", tail(res.stderr, 10))
		}
		// Streaming converges the chunks copied before the writes.
		p = startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 2*time.Minute)
		if n := tg.AssertTableEqual(t, my, db, "wl"); n < rows-1000 {
			t.Errorf("compared %d rows", n)
		}
		tg.AssertTableEqual(t, my, db, "strkey")
		p.stop(t)
	})
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

// TestSnapshotResumeUniqueKeyMoves kills a snapshot while rows move from copied chunks
// into the pending last one and unique values swap between a low and a high row, then
// resumes it: the target must hold each row once and each unique value once (with
// Elasticsearch, a document left under its old key is a duplicate that must end deleted),
// equal row by row and by verify.
func TestSnapshotResumeUniqueKeyMoves(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		start := time.Now()
		my := mysqlRoot(t)
		db := tg.DB("it_resume_ukey")
		const rows = 300000
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db,
			"CREATE TABLE u (id INT PRIMARY KEY, u INT NOT NULL, v INT NOT NULL, UNIQUE KEY a_u (u))",
			fmt.Sprintf("INSERT INTO u SELECT seq, seq, 0 FROM seq_1_to_%d", rows),
			"ANALYZE TABLE u")
		cfg := writeConfig(t, tg.Config(db, `
[snapshot]
chunk_rows = 5000
parallelism = 2
`))
		stop := make(chan struct{})
		wait := keyMoveWorkload(t, db, rows, stop)
		p := startCLI(t, "snapshot", "-c", cfg)
		done, planned := killMidSnapshot(t, tg, p, 8, rows/5000+1)
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
		if _, ok := tg.(*pgHarness); ok && !strings.Contains(res.stderr, "resuming snapshot") {
			t.Errorf("second run did not resume:\n%s", tail(res.stderr, 10))
		}
		t.Logf("killed with %d of %d chunks done; %d moves", done, planned, moves)
		run := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, run, 2*time.Minute)
		if n := tg.AssertTableEqual(t, my, db, "u"); n != rows {
			t.Errorf("compared %d rows, want %d", n, rows)
		}
		run.stop(t)
		assertVerifyEqual(t, cfg)
		if h, ok := tg.(*pgHarness); ok {
			var uniq int
			if err := h.pg.QueryRow(context.Background(), "SELECT count(*) FROM pg_constraint WHERE conname = 'u_a_u'").Scan(&uniq); err != nil || uniq != 1 {
				t.Errorf("unique constraint u_a_u: %d (%v)", uniq, err)
			}
		}
		t.Logf("took %s", time.Since(start).Round(time.Millisecond))
	})
}
