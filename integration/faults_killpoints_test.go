//go:build integration

package integration

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"

	"github.com/replicator/replicator/crashpoint"
)

// The kill points: each case arms one crashpoint (REPLICATOR_CRASH_AT), drives the
// replicator there with a small workload, asserts that it died of SIGKILL at that point,
// then runs it again without the point and asserts that it catches up and the target
// equals the source row by row and for verify. Unlike TestFaultKillNine's random instants,
// every case stops the process at the same line on every run.

// killStage is one run that must die at a point.
type killStage struct {
	// at is the REPLICATOR_CRASH_AT of the run ("name" or "name:N").
	at string
	// prepare runs on the source before the run starts.
	prepare func(t *testing.T, my *client.Conn, db string)
	// stream runs on the source once the run streams; nil when the point is reached
	// during the snapshot.
	stream func(t *testing.T, my *client.Conn, db string)
	// command runs a replicator command with the run's configuration once it streams,
	// before stream.
	command func(t *testing.T, cfg, db string)
}

// killCase is one point's scenario.
type killCase struct {
	point string
	// targets the point exists for; nil means both.
	targets []string
	// tables of the source database compared at the end (created by setup).
	tables []string
	setup  func(t *testing.T, my *client.Conn, db string)
	// stages die in turn; the last one at point.
	stages []killStage
	// keyless: the tables have no key, so they are compared as multisets of rows and
	// verify, which needs a key, is not run (PostgreSQL only).
	keyless bool
	// apply is added to the run's [apply] section.
	apply string
	// after runs on the source once the restarted replicator caught up (an XA decision
	// for a transaction prepared before the kill); the comparison waits for it too.
	after func(t *testing.T, my *client.Conn, db string)
}

// kpTable is the table most cases replicate: several chunks, a secondary index to build.
func kpTable(rows int) func(t *testing.T, my *client.Conn, db string) {
	return func(t *testing.T, my *client.Conn, db string) {
		mustExec(t, my, "USE `"+db+"`",
			"CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40) NULL, KEY (v))",
			fmt.Sprintf("INSERT INTO t SELECT seq, seq %% 97, CONCAT('n', seq) FROM seq_1_to_%d", rows))
	}
}

// kpWrites is a small stream workload: inserts, updates (one moving a key) and deletes
// in a few transactions.
func kpWrites(t *testing.T, my *client.Conn, db string) {
	mustExec(t, my, "USE `"+db+"`",
		"INSERT INTO t SELECT seq, seq % 5, 'streamed' FROM seq_100001_to_100200",
		"UPDATE t SET v = v + 1000, note = 'updated' WHERE id % 10 = 0",
		"UPDATE t SET id = id + 200000 WHERE id BETWEEN 1 AND 20",
		"DELETE FROM t WHERE id % 13 = 0")
}

// kpSwapTables are two tables of different rows for a RENAME swap.
func kpSwapTables(t *testing.T, my *client.Conn, db string) {
	kpTable(1000)(t, my, db)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE t2 (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40) NULL, KEY (v))",
		"INSERT INTO t2 SELECT seq, seq % 89, CONCAT('second ', seq) FROM seq_1_to_700")
}

// kpSwap swaps t and t2 through a temporary name, with writes to both before and after.
func kpSwap(t *testing.T, my *client.Conn, db string) {
	mustExec(t, my, "USE `"+db+"`",
		"UPDATE t SET note = 'before swap' WHERE id % 7 = 0",
		"RENAME TABLE t TO tmp_swap, t2 TO t, tmp_swap TO t2",
		"UPDATE t SET note = 'after swap' WHERE id % 5 = 0",
		"INSERT INTO t2 SELECT seq, 1, 'after swap' FROM seq_5001_to_5050")
}

// kpTruncate truncates t between writes, in one transaction's batch with them.
func kpTruncate(t *testing.T, my *client.Conn, db string) {
	mustExec(t, my, "USE `"+db+"`",
		"UPDATE t SET note = 'before truncate' WHERE id % 7 = 0",
		"TRUNCATE TABLE t",
		"INSERT INTO t SELECT seq, seq % 3, 'after truncate' FROM seq_1_to_300",
		"UPDATE t SET v = v + 1 WHERE id % 5 = 0")
}

// killCases are the points in the order a run meets them. Every crashpoint.Points entry
// appears here (TestKillPoints checks it).
func killCases() []killCase {
	snap := func(at string) []killStage { return []killStage{{at: at}} }
	stream := func(at string, w func(t *testing.T, my *client.Conn, db string)) []killStage {
		return []killStage{{at: at, stream: w}}
	}
	// The second stage resumes the snapshot a kill after a committed chunk left, with
	// the source changed in between by prepare.
	resumed := func(at string, prepare func(t *testing.T, my *client.Conn, db string)) []killStage {
		return []killStage{{at: crashpoint.SnapshotChunkCommitted}, {at: at, prepare: prepare}}
	}
	t1000 := kpTable(1000)
	return []killCase{
		{point: crashpoint.SnapshotViewOpened, tables: []string{"t"}, setup: t1000, stages: snap(crashpoint.SnapshotViewOpened)},
		{point: crashpoint.SnapshotPlanStored, tables: []string{"t"}, setup: t1000, stages: snap(crashpoint.SnapshotPlanStored)},
		// Row 100 of the copy: in the middle of the first chunks (250 rows each).
		{point: crashpoint.SnapshotChunkRows, tables: []string{"t"}, setup: t1000, stages: snap(crashpoint.SnapshotChunkRows + ":100")},
		{point: crashpoint.SnapshotChunkWritten, tables: []string{"t"}, setup: t1000, stages: snap(crashpoint.SnapshotChunkWritten + ":2")},
		{point: crashpoint.SnapshotChunkCommitted, tables: []string{"t"}, setup: t1000, stages: snap(crashpoint.SnapshotChunkCommitted + ":3")},
		{point: crashpoint.SnapshotRestartTables, tables: []string{"t"}, setup: t1000,
			stages: resumed(crashpoint.SnapshotRestartTables, func(t *testing.T, my *client.Conn, db string) {
				mustExec(t, my, "USE `"+db+"`", "ALTER TABLE t ADD COLUMN extra INT NOT NULL DEFAULT 7", "UPDATE t SET extra = id WHERE id % 3 = 0")
			})},
		{point: crashpoint.SnapshotResumeApplyRows, tables: []string{"t"}, setup: t1000,
			stages: resumed(crashpoint.SnapshotResumeApplyRows, func(t *testing.T, my *client.Conn, db string) {
				mustExec(t, my, "USE `"+db+"`", "UPDATE t SET v = v + 1 WHERE id % 7 = 0", "DELETE FROM t WHERE id % 11 = 0",
					"INSERT INTO t SELECT seq, 1, 'new' FROM seq_5001_to_5100")
			})},
		{point: crashpoint.SnapshotIndexBuild, tables: []string{"t"}, setup: t1000, stages: snap(crashpoint.SnapshotIndexBuild)},
		{point: crashpoint.HandoffBeforeCheckpoint, tables: []string{"t"}, setup: t1000, stages: snap(crashpoint.HandoffBeforeCheckpoint)},
		{point: crashpoint.HandoffAfterCheckpoint, tables: []string{"t"}, setup: t1000, stages: snap(crashpoint.HandoffAfterCheckpoint)},
		{point: crashpoint.StreamBatchApplied, tables: []string{"t"}, setup: t1000, stages: stream(crashpoint.StreamBatchApplied, kpWrites)},
		// One transaction of 2,000 rows is applied in parts of batch_rows (500).
		{point: crashpoint.StreamPartApplied, tables: []string{"t"}, setup: t1000,
			stages: stream(crashpoint.StreamPartApplied+":2", func(t *testing.T, my *client.Conn, db string) {
				mustExec(t, my, "USE `"+db+"`", "BEGIN", "UPDATE t SET v = v + 1, note = 'big txn'", "INSERT INTO t SELECT seq, 3, 'big' FROM seq_10001_to_11000", "COMMIT")
			})},
		{point: crashpoint.StreamCommitted, tables: []string{"t"}, setup: t1000, stages: stream(crashpoint.StreamCommitted, kpWrites)},
		// Every row is written again after the ALTER, so Elasticsearch documents carry the
		// new field too (an unwritten document lacks it until its row changes).
		{point: crashpoint.StreamDDLApplied, tables: []string{"t"}, setup: t1000,
			stages: stream(crashpoint.StreamDDLApplied, func(t *testing.T, my *client.Conn, db string) {
				mustExec(t, my, "USE `"+db+"`", "ALTER TABLE t ADD COLUMN c2 INT NULL", "UPDATE t SET c2 = id % 4", "INSERT INTO t VALUES (90001, 1, 'after ddl', 9)")
			})},
		{point: crashpoint.StreamXAPrepareStored, tables: []string{"t"}, setup: t1000,
			stages: stream(crashpoint.StreamXAPrepareStored, func(t *testing.T, my *client.Conn, db string) {
				xaCleanup(t, "kp1")
				xaSession(t, "USE `"+db+"`", "XA START 'kp1'", "INSERT INTO t VALUES (70001, 1, 'xa')", "UPDATE t SET v = -1 WHERE id <= 50", "DELETE FROM t WHERE id BETWEEN 51 AND 60", "XA END 'kp1'", "XA PREPARE 'kp1'")
			}),
			after: func(t *testing.T, my *client.Conn, db string) { mustExec(t, my, "XA COMMIT 'kp1'") }},
		{point: crashpoint.StreamXACommitResolve, tables: []string{"t"}, setup: t1000,
			stages: stream(crashpoint.StreamXACommitResolve, func(t *testing.T, my *client.Conn, db string) {
				xaCleanup(t, "kp2")
				xaSession(t, "USE `"+db+"`", "XA START 'kp2'", "INSERT INTO t VALUES (70002, 2, 'xa')", "UPDATE t SET v = -2 WHERE id <= 50", "XA END 'kp2'", "XA PREPARE 'kp2'")
				time.Sleep(300 * time.Millisecond) // stored by an earlier batch than its decision
				mustExec(t, my, "XA COMMIT 'kp2'")
			})},
		{point: crashpoint.StreamFKActionApplied, tables: []string{"parent", "child"},
			setup: func(t *testing.T, my *client.Conn, db string) {
				mustExec(t, my, "USE `"+db+"`",
					"CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)",
					"CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NULL, qty INT NOT NULL, FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE)",
					"INSERT INTO parent SELECT seq, CONCAT('p', seq) FROM seq_1_to_100",
					"INSERT INTO child SELECT seq, 1 + seq % 100, seq FROM seq_1_to_1000")
			},
			stages: stream(crashpoint.StreamFKActionApplied, func(t *testing.T, my *client.Conn, db string) {
				// InnoDB cascades without binary log events: the replicator applies them.
				mustExec(t, my, "USE `"+db+"`", "DELETE FROM parent WHERE id <= 5", "UPDATE parent SET id = id + 1000 WHERE id BETWEEN 6 AND 10")
			})},
		{point: crashpoint.StreamKeylessApplied, targets: []string{"postgres"}, tables: []string{"kl"}, keyless: true,
			setup: func(t *testing.T, my *client.Conn, db string) {
				mustExec(t, my, "USE `"+db+"`", "CREATE TABLE kl (a INT NOT NULL, b VARCHAR(20) NULL, s INT NULL)",
					"INSERT INTO kl SELECT seq % 50, CONCAT('b', seq % 7), NULL FROM seq_1_to_500")
			},
			stages: stream(crashpoint.StreamKeylessApplied, func(t *testing.T, my *client.Conn, db string) {
				mustExec(t, my, "USE `"+db+"`", "INSERT INTO kl VALUES (1, 'dup', 1), (1, 'dup', 1), (2, NULL, NULL)",
					"UPDATE kl SET b = 'changed' WHERE a = 3 LIMIT 1", "DELETE FROM kl WHERE a = 4 LIMIT 1")
			})},
		// 3,000 rows in online chunks of 250 (chunk_rows), under the writes of kpWrites.
		{point: crashpoint.StreamLanesCommitted, targets: []string{"postgres"}, tables: []string{"t"}, setup: t1000, apply: "parallelism = 3",
			stages: stream(crashpoint.StreamLanesCommitted, kpWrites)},
		{point: crashpoint.OnlineChunkApplied, tables: []string{"t"}, setup: kpTable(3000),
			stages: []killStage{{at: crashpoint.OnlineChunkApplied + ":3", stream: kpWrites, command: func(t *testing.T, cfg, db string) {
				if res := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".t"); res.code != 0 {
					t.Fatalf("resnapshot: exit %d\n%s", res.code, res.stderr)
				}
			}}}},
		{point: crashpoint.ElasticBulkSent, targets: []string{"elasticsearch"}, tables: []string{"t"}, setup: t1000,
			stages: stream(crashpoint.ElasticBulkSent, kpWrites)},
		// A table created while streaming: its definition is stored, the checkpoint is not.
		{point: crashpoint.ElasticSchemasRecorded, targets: []string{"elasticsearch"}, tables: []string{"t", "t3"}, setup: t1000,
			stages: stream(crashpoint.ElasticSchemasRecorded, func(t *testing.T, my *client.Conn, db string) {
				mustExec(t, my, "USE `"+db+"`", "CREATE TABLE t3 (id INT PRIMARY KEY, s VARCHAR(20) NOT NULL)",
					"INSERT INTO t3 SELECT seq, CONCAT('s', seq) FROM seq_1_to_300")
				kpWrites(t, my, db)
			})},
		// A swap through a temporary name (what online schema change tools end with): run
		// twice, its alias moves would swap the indexes back.
		{point: crashpoint.ElasticRenamePending, targets: []string{"elasticsearch"}, tables: []string{"t", "t2"}, setup: kpSwapTables,
			stages: stream(crashpoint.ElasticRenamePending, kpSwap)},
		{point: crashpoint.ElasticRenameMoved, targets: []string{"elasticsearch"}, tables: []string{"t", "t2"}, setup: kpSwapTables,
			stages: stream(crashpoint.ElasticRenameMoved, kpSwap)},
		// Killed between TRUNCATE's new generation and the alias move, and between the
		// move and the old generation's deletion: the restart deletes the generation no
		// alias points to and replays the TRUNCATE (runKillCase checks no generation is
		// left unaliased).
		{point: crashpoint.ElasticGenerationCreated, targets: []string{"elasticsearch"}, tables: []string{"t"}, setup: t1000,
			stages: stream(crashpoint.ElasticGenerationCreated, kpTruncate)},
		{point: crashpoint.ElasticAliasSwapped, targets: []string{"elasticsearch"}, tables: []string{"t"}, setup: t1000,
			stages: stream(crashpoint.ElasticAliasSwapped, kpTruncate)},
		// The lease is renewed 10 s after it was taken.
		{point: crashpoint.ElasticLeaseRenewal, targets: []string{"elasticsearch"}, tables: []string{"t"}, setup: t1000,
			stages: stream(crashpoint.ElasticLeaseRenewal, kpWrites)},
	}
}

// TestKillPoints runs every kill point against each target it exists for.
func TestKillPoints(t *testing.T) {
	cases := killCases()
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.point] = true
	}
	for _, p := range crashpoint.Points() {
		if !covered[p] {
			t.Errorf("crash point %s has no case", p)
		}
	}
	// One after the other: an XA transaction left prepared holds every snapshot on the
	// server back, and the machine running the suite is small.
	for _, c := range cases {
		t.Run(c.point, func(t *testing.T) {
			forEachTargetSerial(t, func(t *testing.T, tg targetHarness) {
				if c.targets != nil && !containsString(c.targets, tg.Name()) {
					t.Skipf("%s is not a point of the %s target", c.point, tg.Name())
				}
				runKillCase(t, tg, c)
			})
		})
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// runKillCase runs one case against one target.
func runKillCase(t *testing.T, tg targetHarness, c killCase) {
	start := time.Now()
	my := mysqlRoot(t)
	db := tg.DB("it_kp_" + strings.NewReplacer(".", "_", "-", "_").Replace(c.point))
	freshMySQLDatabase(t, my, db)
	c.setup(t, my, db)
	cfg := writeConfig(t, tg.Config(db, `
[apply]
flush_interval = "50ms"
batch_rows = 500
`+c.apply+`
[snapshot]
chunk_rows = 250
parallelism = 2
`))
	for i, st := range c.stages {
		if st.prepare != nil {
			st.prepare(t, my, db)
		}
		p := startCLIEnv(t, []string{crashpoint.Env + "=" + st.at}, "run", "-c", cfg)
		if st.stream != nil {
			// A point the stream meets before its first log line has killed it already.
			if !waitOutput(p, `"msg":"streaming"`, time.Minute) && !p.exited() {
				t.Fatalf("stage %d (%s): did not stream\n%s", i+1, st.at, tail(p.output(), 30))
			}
			if st.command != nil {
				st.command(t, cfg, db)
			}
			st.stream(t, my, db)
		}
		assertCrashed(t, p, strings.SplitN(st.at, ":", 2)[0], time.Minute)
	}
	p := startCLI(t, "run", "-c", cfg)
	tg.WaitCaughtUp(t, my, p, 2*time.Minute)
	if c.after != nil {
		c.after(t, my, db)
		tg.WaitCaughtUp(t, my, p, 2*time.Minute)
	}
	rows := 0
	for _, tb := range c.tables {
		if c.keyless {
			assertKeylessEqual(t, my, tg.(*pgHarness).pg, db, tb)
			rows += tg.Count(t, db, tb)
			continue
		}
		rows += tg.AssertTableEqual(t, my, db, tb)
	}
	if !c.keyless {
		assertVerifyEqual(t, cfg)
	}
	if eh, ok := tg.(*esHarness); ok {
		eh.assertGenerationsAliased(t)
	}
	p.stop(t)
	t.Logf("killed at %s (%d stages), caught up, %d rows equal, in %s", c.point, len(c.stages), rows, time.Since(start).Round(time.Millisecond))
}

// assertCrashed waits for p to die by itself and asserts that it did so by SIGKILL at
// point, saying so on stderr.
func assertCrashed(t *testing.T, p *proc, point string, timeout time.Duration) {
	t.Helper()
	if !waitExit(p, timeout) {
		t.Fatalf("replicator still runs %s after start: crash point %s not reached\n%s", timeout, point, tail(p.output(), 30))
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) {
		t.Fatalf("replicator exited with %v, want SIGKILL at %s\n%s", p.err, point, tail(p.output(), 30))
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("replicator ended with %v, want SIGKILL at %s\n%s", ee, point, tail(p.output(), 30))
	}
	if !strings.Contains(p.output(), "crash point "+point) {
		t.Fatalf("replicator died of SIGKILL without reporting crash point %s\n%s", point, tail(p.output(), 30))
	}
}

// xaCleanup rolls xid back when the test ends, in case a failure left it prepared: a
// prepared XA transaction holds every later snapshot on the server back.
func xaCleanup(t *testing.T, xid string) {
	t.Cleanup(func() {
		c, err := client.Connect(mysqlHost+":"+mysqlPort, "root", mysqlRootPass, "")
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Execute("XA ROLLBACK '" + xid + "'") // fails when it was decided: the normal case
	})
}

// startCLIEnv is startCLI with extra environment variables.
func startCLIEnv(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{out: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = lockedWriter{p.mu, p.out}
	p.cmd.Stderr = lockedWriter{p.mu, p.out}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	return p
}
