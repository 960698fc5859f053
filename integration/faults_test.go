//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// The fault suite: every scenario runs with a write workload on the source, injects a
// fault, and ends with `replicator verify` reporting the target equal to the source while
// a replicator runs again, without any repair by hand. Short by default (CI);
// REPLICATOR_FAULTS=full for the full sizes. Each run logs a FAULT-RESULT line.

var snapshotGTID = regexp.MustCompile(`"msg":"snapshot complete; handing off to the binary log","gtid":"([^"]*)"`)

// streamingUnderLoad prepares db, starts a replicator into a fresh PostgreSQL database
// with cfgExtra, waits until it streams, and starts the fault-tolerant workload.
func streamingUnderLoad(t *testing.T, db string, rows int, port string) (url, cfg string, p *proc, stop chan struct{}, wait func() (int, int)) {
	t.Helper()
	faultSetup(t, db, rows)
	url = freshPGDatabase(t)
	text := faultConfig(url, db, "")
	if port != "" {
		text = sourcePort(text, port)
	}
	cfg = writeConfig(t, text)
	p = startCLI(t, "run", "-c", cfg)
	waitPGCaughtUp(t, url, p, 2*time.Minute)
	stop = make(chan struct{})
	wait = faultWorkload(t, db, 2, stop)
	time.Sleep(time.Second)
	return url, cfg, p, stop, wait
}

// TestFaultMariaDBRestart restarts the source while the replicator streams under load.
func TestFaultMariaDBRestart(t *testing.T) {
	needServerControl(t)
	url, cfg, p, stop, wait := streamingUnderLoad(t, "it_fault_myrestart", 20000, "")
	restarts := faultSize("REPLICATOR_FAULTS_RESTARTS", 1, 3)
	for i := 0; i < restarts; i++ {
		t0 := time.Now()
		up := restartServer(t, "mariadb", time.Second)
		down := up.Sub(t0)
		time.Sleep(time.Second) // writes after the restart
		rec := waitPGCaughtUp(t, url, p, 3*time.Minute)
		faultResult(t, "MariaDB restart", "caught up", "run", i+1, "server_down_s", fmt.Sprintf("%.1f", down.Seconds()),
			"recover_after_up_s", fmt.Sprintf("%.1f", (time.Since(up)-time.Second).Seconds()), "catch_up_wait_s", fmt.Sprintf("%.1f", rec.Seconds()))
	}
	if !strings.Contains(p.output(), "stream interrupted; reconnecting from the checkpoint") {
		t.Errorf("no reconnect logged:\n%s", tail(p.output(), 20))
	}
	n, _ := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, "MariaDB restart", "verify equal", "restarts", restarts, "workload_statements", n)
	p.stop(t)
}

// TestFaultPostgresRestart restarts the target while the replicator applies under load.
func TestFaultPostgresRestart(t *testing.T) {
	needServerControl(t)
	url, cfg, p, stop, wait := streamingUnderLoad(t, "it_fault_pgrestart", 20000, "")
	restarts := faultSize("REPLICATOR_FAULTS_RESTARTS", 1, 3)
	for i := 0; i < restarts; i++ {
		t0 := time.Now()
		up := restartServer(t, "postgres", time.Second)
		want := currentGTID(t)
		rec := waitPGCovers(t, url, want, p, 3*time.Minute)
		faultResult(t, "PostgreSQL restart", "caught up", "run", i+1, "server_down_s", fmt.Sprintf("%.1f", up.Sub(t0).Seconds()),
			"recover_after_up_s", fmt.Sprintf("%.1f", rec.Seconds()))
	}
	if !strings.Contains(p.output(), "stream interrupted; reconnecting from the checkpoint") {
		t.Errorf("no reconnect logged:\n%s", tail(p.output(), 20))
	}
	// Every restart of the stream reconnects to the source (source.Stream's probe
	// connection is dropped unclosed and only closed by the garbage collector): report how
	// many are open.
	conns := sourceConnections(t, "replicator")
	n, _ := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, "PostgreSQL restart", "verify equal", "restarts", restarts, "workload_statements", n, "source_connections", conns)
	p.stop(t)
}

// sourceConnections counts the source's connections of user.
func sourceConnections(t *testing.T, user string) int {
	t.Helper()
	my := freshMySQL(t, time.Minute)
	defer my.Close()
	res, err := my.Execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?", user)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := res.GetInt(0, 0)
	return int(n)
}

// TestFaultSourceConnectionCut drops every connection between the replicator and the
// source (a proxy in between resets them) mid-stream, sometimes refusing new ones for a
// while.
func TestFaultSourceConnectionCut(t *testing.T) {
	px := startProxy(t, mysqlHost+":"+mysqlPort)
	url, cfg, p, stop, wait := streamingUnderLoad(t, "it_fault_cut", 20000, px.Port())
	cuts := faultSize("REPLICATOR_FAULTS_CUTS", 3, 10)
	for i := 0; i < cuts; i++ {
		var n int
		outage := time.Duration(0)
		if i%2 == 1 {
			outage = 3 * time.Second
			px.down()
			time.Sleep(outage)
			px.up()
		} else {
			n = px.cut()
		}
		want := currentGTID(t)
		rec := waitPGCovers(t, url, want, p, 3*time.Minute)
		faultResult(t, "source connection cut", "caught up", "run", i+1, "dropped_conns", n, "refused_s", outage.Seconds(),
			"recover_s", fmt.Sprintf("%.1f", rec.Seconds()))
		time.Sleep(time.Duration(500+rand.Intn(1500)) * time.Millisecond)
	}
	if !strings.Contains(p.output(), "stream interrupted; reconnecting from the checkpoint") {
		t.Errorf("no reconnect logged:\n%s", tail(p.output(), 20))
	}
	n, _ := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, "source connection cut", "verify equal", "cuts", cuts, "workload_statements", n)
	p.stop(t)
}

// TestFaultSourceCutDuringSnapshot drops every connection to the source (and refuses new
// ones for 2 s) while the snapshot copies, under a write load: 'run' resumes the stored
// snapshot in the same process (as a new start would) instead of exiting, streams on, and
// ends equal to the source.
func TestFaultSourceCutDuringSnapshot(t *testing.T) {
	const db = "it_fault_snapcut"
	faultSetup(t, db, 40000)
	px := startProxy(t, mysqlHost+":"+mysqlPort)
	url := freshPGDatabase(t)
	cfg := writeConfig(t, sourcePort(faultConfig(url, db, ""), px.Port()))
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	px.slow(20 * time.Millisecond) // a snapshot of seconds, so the cut lands inside it
	p := startCLI(t, "run", "-c", cfg)
	pg := pgConnect(t, url)
	var copied int64
	for deadline := time.Now().Add(time.Minute); copied == 0; time.Sleep(20 * time.Millisecond) {
		_ = pg.QueryRow(context.Background(), `SELECT count(*) FROM "`+db+`".wl`).Scan(&copied)
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("no snapshot rows reached the target (exited %v)\n%s", p.exited(), tail(p.output(), 20))
		}
	}
	if strings.Contains(p.output(), "snapshot complete") {
		t.Fatalf("the snapshot ended before the cut could land in it\n%s", tail(p.output(), 20))
	}
	px.down()
	time.Sleep(2 * time.Second)
	px.up()
	px.slow(0)
	if !waitOutput(p, "snapshot interrupted; resuming from its stored progress", time.Minute) {
		t.Fatalf("the cut did not interrupt the snapshot, or 'run' did not resume it (exited %v)\n%s", p.exited(), tail(p.output(), 30))
	}
	if !waitOutput(p, "snapshot complete", 2*time.Minute) {
		t.Fatalf("the resumed snapshot did not complete (exited %v)\n%s", p.exited(), tail(p.output(), 30))
	}
	faultResult(t, "source cut during the snapshot", "resumed in process", "rows_before_cut", copied)
	n, _ := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, "source cut during the snapshot", "verify equal", "workload_statements", n)
	p.stop(t)
}

// TestFaultElasticsearchDown makes Elasticsearch unreachable while the replicator streams
// into it under load: a proxy in between refuses connections and drops the open ones
// (the test node wipes its data when it starts, so a real stop would lose the index),
// for 8 s (30 s in the full run); then the stream backs off and catches up.
func TestFaultElasticsearchDown(t *testing.T) {
	db := "it_fault_esdown"
	faultSetup(t, db, 20000)
	et := newESTarget(t, "faultdown")
	u, _ := url.Parse(esURL)
	px := startProxy(t, u.Host)
	text := strings.Replace(et.config(db, "[apply]\nflush_interval = \"100ms\"\n[snapshot]\nchunk_rows = 5000\n"), esURL, "http://"+px.addr, 1)
	cfg := writeConfig(t, text)
	my := mysqlRoot(t)
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	time.Sleep(time.Second)
	outage := time.Duration(faultSize("REPLICATOR_FAULTS_ES_DOWN_S", 8, 30)) * time.Second
	px.down()
	time.Sleep(outage)
	px.up()
	up := time.Now()
	rec := et.waitCaughtUp(t, my, p, 3*time.Minute)
	faultResult(t, "Elasticsearch down", "caught up", "down_s", outage.Seconds(), "recover_after_up_s", fmt.Sprintf("%.1f", time.Since(up).Seconds()), "catch_up_wait_s", fmt.Sprintf("%.1f", rec.Seconds()))
	// The client retries every request with backoff (an outage this short passes inside
	// it), the bulk sender on top of it, and after bulkAttempts the stream restarts from
	// the checkpoint: whichever absorbed the outage, it must have said so.
	if out := p.output(); !strings.Contains(out, "Elasticsearch request failed; retrying with backoff") &&
		!strings.Contains(out, "bulk request failed; retrying") && !strings.Contains(out, "stream interrupted; reconnecting from the checkpoint") {
		t.Errorf("no retry logged:\n%s", tail(out, 20))
	}
	close(stop)
	n, _ := wait()
	et.waitCaughtUp(t, my, p, 3*time.Minute)
	rep := assertVerifyEqual(t, cfg)
	if p.exited() {
		t.Fatalf("replicator exited (%v)\n%s", p.err, tail(p.output(), 30))
	}
	faultResult(t, "Elasticsearch down", "verify equal", "workload_statements", n, "rows", rep.Tables[0].SourceRows)
	p.stop(t)
}

// TestFaultBinlogsPurged purges the source's binary logs past the checkpoint while the
// replicator is down: it must stop with an error that says a new snapshot is needed and
// how, never skip silently; following that advice brings the target back to equal.
func TestFaultBinlogsPurged(t *testing.T) {
	needServerControl(t) // purges the shared server's binary logs
	url, cfg, p, stop, wait := streamingUnderLoad(t, "it_fault_purge", 20000, "")
	p.stop(t)
	checkpoint := pgCheckpoint(url)
	time.Sleep(time.Second) // writes the stopped replicator misses
	my := freshMySQL(t, time.Minute)
	defer my.Close()
	purgeBinlogs(t, my)

	start := time.Now()
	p = startCLI(t, "run", "-c", cfg)
	if !waitExit(p, 90*time.Second) {
		t.Fatalf("replicator still running %s after its position was purged (retrying forever?)\n%s", time.Since(start).Round(time.Second), tail(p.output(), 20))
	}
	out := p.output()
	last := lastLine(out)
	for _, want := range []string{"new snapshot is needed", checkpoint, "purged", "replicator run"} {
		if !strings.Contains(last, want) {
			t.Errorf("exit message lacks %q: %s", want, last)
		}
	}
	if p.err == nil {
		t.Errorf("exit code 0 after a purged position")
	}
	faultResult(t, "binlogs purged", "exits with error", "exit_after_s", fmt.Sprintf("%.1f", time.Since(start).Seconds()), "message", fmt.Sprintf("%q", last))

	// The advice: a new snapshot under a fresh state. The target tables hold the old
	// rows, so the snapshot has to be allowed to replace them.
	resetState := pgConnect(t, url)
	if _, err := resetState.Exec(context.Background(), "DROP SCHEMA _replicator CASCADE"); err != nil {
		t.Fatal(err)
	}
	p = startCLI(t, "run", "-c", cfg)
	if waitExit(p, 30*time.Second) {
		t.Logf("run after dropping the state schema, as the message says: exit %v: %s", p.err, lastLine(p.output()))
		faultResult(t, "binlogs purged", "advice incomplete", "message", fmt.Sprintf("%q", lastLine(p.output())))
		cfg = writeConfig(t, strings.Replace(faultConfig(url, "it_fault_purge", ""), "[snapshot]\n", "[snapshot]\non_existing = \"truncate\"\n", 1))
		p = startCLI(t, "run", "-c", cfg)
	}
	rec := waitPGCaughtUp(t, url, p, 3*time.Minute)
	n, _ := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, "binlogs purged", "verify equal after re-snapshot", "resnapshot_catch_up_s", fmt.Sprintf("%.1f", rec.Seconds()), "workload_statements", n)
	p.stop(t)
}

// purgeBinlogs rotates the binary log and purges every earlier file. MariaDB keeps a file
// still needed for crash recovery (its transactions not yet checkpointed by InnoDB) or
// being read, so the purge is repeated until only the current file is left.
func purgeBinlogs(t *testing.T, my *client.Conn) {
	t.Helper()
	mustExec(t, my, "FLUSH BINARY LOGS")
	for i := 0; i < 50; i++ {
		res, err := my.Execute("SHOW MASTER STATUS")
		if err != nil {
			t.Fatal(err)
		}
		current, _ := res.GetString(0, 0)
		mustExec(t, my, "PURGE BINARY LOGS TO '"+current+"'")
		if res, err = my.Execute("SHOW BINARY LOGS"); err != nil {
			t.Fatal(err)
		}
		if len(res.Values) == 1 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("binary logs before the current one could not be purged")
}

// TestFaultHugeTransaction applies one source transaction of a million rows
// (REPLICATOR_FAULTS_BIGTXN_ROWS) while the workload runs, and measures the replicator's
// peak memory (VmHWM).
func TestFaultHugeTransaction(t *testing.T) {
	db := "it_fault_bigtxn"
	rows := faultSize("REPLICATOR_FAULTS_BIGTXN_ROWS", 1000000, 1000000)
	faultSetup(t, db, 20000)
	my := mysqlRoot(t)
	mustExec(t, my, "USE `"+db+"`", "CREATE TABLE big (id INT PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(40), d DATETIME(3))")
	url := freshPGDatabase(t)
	// The defaults of apply (batch_rows 10,000, batch_bytes 16 MB): what production runs.
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, fmt.Sprintf("[[tables]]\nsource = %q\n", db+".*")))
	p := startCLI(t, "run", "-c", cfg)
	waitPGCaughtUp(t, url, p, 2*time.Minute)
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	before := peakRSS(t, p.cmd.Process.Pid)
	t0 := time.Now()
	mustExec(t, my, fmt.Sprintf("INSERT INTO `%s`.big SELECT seq, seq * 7, CONCAT('row ', seq), '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_%d", db, rows))
	committed := time.Since(t0)
	applied := waitPGCaughtUp(t, url, p, 15*time.Minute)
	peak := peakRSS(t, p.cmd.Process.Pid)
	var n int
	if err := pgConnect(t, url).QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{db, "big"}.Sanitize()).Scan(&n); err != nil || n != rows {
		t.Fatalf("target has %d rows of the %d-row transaction (%v)", n, rows, err)
	}
	statements, vt := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, "huge transaction", "verify equal", "rows", rows, "source_commit_s", fmt.Sprintf("%.1f", committed.Seconds()),
		"applied_after_commit_s", fmt.Sprintf("%.1f", applied.Seconds()),
		"peak_rss_mb_before", before>>20, "peak_rss_mb", peak>>20, "verify_s", fmt.Sprintf("%.1f", vt.Seconds()), "workload_statements", statements)
	if peak > 512<<20 {
		t.Errorf("peak RSS %d MB applying %d rows in one transaction: memory is not bounded", peak>>20, rows)
	}
	p.stop(t)
}
