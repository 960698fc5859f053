//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/applier/postgres"
)

// Target faults: the target refuses or delays writes for a while (out of disk, a timeout,
// a lock, a write block, 429s, a slow node) while a workload runs on the source. Each
// scenario checks that replication pauses with the fault named (in 'replicator status'
// for PostgreSQL, in the log for both), that the checkpoint does not move past the changes
// the fault holds back, and that once the fault clears the replicator catches up by itself
// and verify finds the target equal, row by row.

// burstRows inserts n new rows (ids above the workload's range) in one transaction, so
// the target must grow the table while the fault lasts; it returns the source position
// after them.
func burstRows(t *testing.T, db string, n int) string {
	t.Helper()
	my := mysqlRoot(t)
	mustExec(t, my, "USE `"+db+"`", fmt.Sprintf("INSERT INTO `%s`.wl (id, grp, v, note) SELECT 100000 + seq, seq %% 10, seq, RPAD('burst', 60, 'x') FROM seq_1_to_%d", db, n))
	return currentGTID(t)
}

// pgDatabase is the database name of a target URL.
func pgDatabase(t *testing.T, u string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

// pgTargetFault runs one PostgreSQL target fault: settings are set on the target database
// before the replicator starts; inject starts the fault once it streams under load and
// returns what clears it; the status text must contain every want while the fault lasts.
func pgTargetFault(t *testing.T, db, scenario string, settings []string, inject func(url string) (clear func()), want ...string) {
	faultSetup(t, db, 20000)
	url := freshPGDatabase(t)
	admin := pgConnect(t, pgURL)
	for _, s := range settings {
		if _, err := admin.Exec(context.Background(), "ALTER DATABASE "+pgx.Identifier{pgDatabase(t, url)}.Sanitize()+" SET "+s); err != nil {
			t.Fatal(err)
		}
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := writeConfig(t, faultConfig(url, db, fmt.Sprintf("[http]\nlisten = %q\n", httpAddr)))
	p := startCLI(t, "run", "-c", cfg)
	waitPGCaughtUp(t, url, p, 2*time.Minute)
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	time.Sleep(time.Second)

	clear := inject(url)
	held := burstRows(t, db, 20000)
	t0 := time.Now()
	status := waitStatus(t, cfg, p, 2*time.Minute, want...)
	t.Logf("status during the fault:\n%s", status)
	// /readyz says so between attempts (each attempt streams until its batch fails).
	ready := waitReadyz(t, httpAddr, time.Minute, "interrupted, retrying: ", want[0])
	t.Logf("/readyz during the fault: %s", ready)
	if cp := pgCheckpoint(url); gtidCovers(cp, held) {
		t.Fatalf("checkpoint %s covers %s, written while the fault held it back", cp, held)
	}
	paused := time.Since(t0)
	time.Sleep(2 * time.Second) // a retry or two under the fault
	clear()
	cleared := time.Now()
	rec := waitPGCovers(t, url, held, p, 3*time.Minute)
	if out := p.output(); !strings.Contains(out, "stream interrupted; reconnecting from the checkpoint") || !strings.Contains(out, want[0]) {
		t.Errorf("the log does not say the stream was interrupted by %q:\n%s", want[0], tail(out, 20))
	}
	n, _ := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, scenario, "verify equal", "named_after_s", fmt.Sprintf("%.1f", paused.Seconds()),
		"recover_after_clear_s", fmt.Sprintf("%.1f", rec.Seconds()), "since_clear_s", fmt.Sprintf("%.1f", time.Since(cleared).Seconds()), "workload_statements", n)
	p.stop(t)
}

// waitStatus polls 'replicator status' until its text contains every want, and returns it.
func waitStatus(t *testing.T, cfg string, p *proc, timeout time.Duration, want ...string) string {
	t.Helper()
	var last string
	for start := time.Now(); time.Since(start) < timeout; time.Sleep(500 * time.Millisecond) {
		if p.exited() {
			t.Fatalf("replicator exited (%v) under the fault instead of retrying\n%s", p.err, tail(p.output(), 30))
		}
		res := runCLI(t, time.Minute, "status", "-c", cfg)
		last = res.stdout + res.stderr
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(last, w)
		}
		if ok {
			return last
		}
	}
	t.Fatalf("status never showed %q within %s; last:\n%s\nlog:\n%s", want, timeout, last, tail(p.output(), 20))
	return ""
}

// waitReadyz polls /readyz at addr until it answers 503 with every want in its body.
func waitReadyz(t *testing.T, addr string, timeout time.Duration, want ...string) string {
	t.Helper()
	var last string
	for start := time.Now(); time.Since(start) < timeout; time.Sleep(50 * time.Millisecond) {
		code, body, err := httpGet("http://" + addr + "/readyz")
		if err != nil {
			last = err.Error()
			continue
		}
		last = fmt.Sprintf("%d %s", code, strings.TrimSpace(body))
		ok := code == http.StatusServiceUnavailable
		for _, w := range want {
			ok = ok && strings.Contains(body, w)
		}
		if ok {
			return last
		}
	}
	t.Fatalf("/readyz never answered 503 with %q within %s; last: %s", want, timeout, last)
	return ""
}

// lockTable holds an ACCESS EXCLUSIVE lock on the replicated table from another session
// until the returned function is called.
func lockTable(t *testing.T, db string) func(url string) func() {
	return func(url string) func() {
		c := pgConnect(t, url)
		ctx := context.Background()
		if _, err := c.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "LOCK TABLE "+pgx.Identifier{db, "wl"}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		return func() {
			if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// smallTablespace creates tablespace name on a tmpfs of size (mount's size= syntax) and
// returns the tmpfs's directory, where a filler file can take the free space. The
// cleanup drops the test's target database, the tablespace and the mount.
func smallTablespace(t *testing.T, name, size string) string {
	t.Helper()
	needServerControl(t)
	if os.Geteuid() != 0 {
		t.Skip("mounts a tmpfs: run as root")
	}
	dir, err := os.MkdirTemp("", "replicator-tfault-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	admin := pgConnect(t, pgURL)
	ctx := context.Background()
	t.Cleanup(func() {
		// The tables go with their database (freshPGDatabase's name), then the tablespace,
		// then the mount; the replicator is killed before (its cleanup ran first).
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{"it_" + strings.ToLower(t.Name())}.Sanitize()+" WITH (FORCE)")
		_, _ = admin.Exec(ctx, "DROP TABLESPACE IF EXISTS "+name)
		_ = exec.Command("umount", "-l", dir).Run()
		_ = os.Remove(dir)
	})
	loc := dir + "/ts"
	if err := os.Mkdir(loc, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "postgres:postgres", loc).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	if _, err := admin.Exec(ctx, "DROP TABLESPACE IF EXISTS "+name); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE TABLESPACE "+name+" LOCATION '"+loc+"'"); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fillDisk takes the free space of the tmpfs at dir and returns what gives it back.
func fillDisk(t *testing.T, dir string) func() {
	filler := dir + "/filler"
	// dd stops with "No space left on device" once the tmpfs is full.
	_ = exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k").Run()
	return func() {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFaultTargetPostgresDiskFull moves the replicated table to a tablespace on a small
// tmpfs and fills it: batches fail with SQLSTATE 53100, status says the target is out of
// disk space and retrying; freeing the space resumes replication.
func TestFaultTargetPostgresDiskFull(t *testing.T) {
	const ts = "it_fault_small"
	dir := smallTablespace(t, ts, "24m")
	db := "it_fault_pgdisk"
	pgTargetFault(t, db, "PostgreSQL out of disk", nil, func(url string) func() {
		c := pgConnect(t, url)
		if _, err := c.Exec(context.Background(), "ALTER TABLE "+pgx.Identifier{db, "wl"}.Sanitize()+" SET TABLESPACE "+ts); err != nil {
			t.Fatal(err)
		}
		return fillDisk(t, dir)
	}, "target out of disk space", "SQLSTATE 53100", `"wl"`, "; retrying")
}

// TestFaultTargetPostgresDiskFullSnapshot runs out of disk in the middle of the snapshot
// (the target database's default tablespace is on a small tmpfs): run stops with the
// reason and the fix instead of waiting with the source's snapshot open; with space freed,
// run resumes the snapshot at the first chunk not copied and the target ends equal.
func TestFaultTargetPostgresDiskFullSnapshot(t *testing.T) {
	const ts = "it_fault_small_snap"
	dir := smallTablespace(t, ts, "8m")
	db := "it_fault_pgdisksnap"
	faultSetup(t, db, 0)
	my := mysqlRoot(t)
	mustExec(t, my, "USE `"+db+"`", "INSERT INTO wl (id, grp, v, note) SELECT seq, seq % 10, seq, RPAD('wide', 60, 'x') FROM seq_1_to_150000")
	url := freshPGDatabase(t)
	admin := pgConnect(t, pgURL)
	if _, err := admin.Exec(context.Background(), "ALTER DATABASE "+pgx.Identifier{pgDatabase(t, url)}.Sanitize()+" SET default_tablespace = "+ts); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, faultConfig(url, db, ""))
	res := runCLI(t, 5*time.Minute, "run", "-c", cfg)
	last := lastLine(res.stderr)
	t.Logf("run stopped: %s", last)
	if res.code == 0 || !strings.Contains(last, "target out of disk space") || !strings.Contains(last, "SQLSTATE 53100") ||
		!strings.Contains(last, "the snapshot stopped; fix that and start it again: it resumes at the first chunk not copied") {
		t.Fatalf("run exited %d; want a stop naming the full disk and the fix, last line:\n%s\n%s", res.code, last, tail(res.stderr, 20))
	}
	var done int
	if err := pgConnect(t, url).QueryRow(context.Background(), "SELECT count(*) FROM _replicator.snapshot_chunks WHERE done").Scan(&done); err != nil {
		t.Fatal(err)
	}
	// More room than the table needs: the filler was never written, so grow the tmpfs.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v %s", err, out)
	}
	p := startCLI(t, "run", "-c", cfg)
	waitPGCaughtUp(t, url, p, 3*time.Minute)
	if !strings.Contains(p.output(), "resuming snapshot") {
		t.Errorf("the second run did not resume the snapshot:\n%s", tail(p.output(), 20))
	}
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	time.Sleep(2 * time.Second)
	n, _ := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, "PostgreSQL out of disk in the snapshot", "stopped with the fix, resumed, verify equal", "chunks_kept", done, "workload_statements", n)
	p.stop(t)
}

// TestFaultTargetPostgresLockHeld holds a lock on the replicated table from another
// session: with lock_timeout set on the target database, batches fail with SQLSTATE
// 55P03 and status says the table is locked by another session; the lock's release
// resumes replication. (Without a lock_timeout of its own the streaming session waits
// 30 s, DefaultLockTimeout, before the same error.)
func TestFaultTargetPostgresLockHeld(t *testing.T) {
	db := "it_fault_pglock"
	pgTargetFault(t, db, "PostgreSQL lock held", []string{"lock_timeout = '2s'"}, lockTable(t, db),
		"target table locked by another session", "SQLSTATE 55P03", "; retrying")
}

// TestFaultTargetPostgresDefaultLockTimeout: with no lock_timeout anywhere (the server's
// 0, nothing on the database, the role or the URL) the streaming session sets its own,
// DefaultLockTimeout (30 s). A lock held on a replicated table for longer makes the
// batch's wait end with SQLSTATE 55P03 that long after it began (both read from the
// server's clock: the waiting statement's start, the last error's time); status names
// the lock and the retry, the checkpoint stays before the rows held back, and the
// release resumes replication with the target equal.
func TestFaultTargetPostgresDefaultLockTimeout(t *testing.T) {
	fullOnly(t, "TestFaultTargetPostgresLockHeld (a lock_timeout set on the database)")
	db := "it_fault_pglockdefault"
	faultSetup(t, db, 2000)
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	ctx := context.Background()
	var setting string
	if err := pg.QueryRow(ctx, "SHOW lock_timeout").Scan(&setting); err != nil || setting != "0" {
		t.Fatalf("the target sets lock_timeout = %q (%v): this test needs none", setting, err)
	}
	timeout, err := time.ParseDuration(postgres.DefaultLockTimeout)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, faultConfig(url, db, ""))
	p := startCLI(t, "run", "-c", cfg)
	waitPGCaughtUp(t, url, p, 2*time.Minute)
	release := lockTable(t, db)(url)
	held := burstRows(t, db, 1000)

	// The last wait that began before the error is the one the error ended (a stream
	// attempt that ends otherwise, a source reconnect, abandons its wait).
	var began, failed time.Time
	for deadline := time.Now().Add(timeout + 2*time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("no lock wait of the replicator ended in 55P03 (exited %v: %v)\n%s", p.exited(), p.err, tail(p.output(), 30))
		}
		var qs time.Time
		if pg.QueryRow(ctx, `SELECT query_start FROM pg_stat_activity WHERE datname = current_database()
			AND application_name LIKE 'replicator%' AND wait_event_type = 'Lock'`).Scan(&qs) == nil {
			began = qs
		}
		var lastErr *string
		var at *time.Time
		if err := pg.QueryRow(ctx, "SELECT last_error, last_error_at FROM _replicator.checkpoint WHERE name = 'default'").Scan(&lastErr, &at); err != nil {
			t.Fatal(err)
		}
		if lastErr != nil && at != nil && strings.Contains(*lastErr, "SQLSTATE 55P03") && !began.IsZero() && at.After(began) {
			failed = *at
			break
		}
	}
	waited := failed.Sub(began)
	status := waitStatus(t, cfg, p, time.Minute, "target table locked by another session", "SQLSTATE 55P03", `"wl"`, "; retrying")
	t.Logf("lock wait %s; status:\n%s", waited.Round(100*time.Millisecond), status)
	// Shorter is impossible with the default in force; much longer would mean a session
	// without it (the recorded error comes a moment after the wait ends).
	if waited < timeout-time.Second || waited > timeout+10*time.Second {
		t.Errorf("the lock wait ended after %s; want the default lock_timeout, %s\n%s", waited, timeout, tail(p.output(), 40))
	}
	if cp := pgCheckpoint(url); gtidCovers(cp, held) {
		t.Fatalf("checkpoint %s covers %s, written while the lock held it back", cp, held)
	}
	release()
	rec := waitPGCovers(t, url, held, p, 2*time.Minute)
	rep := assertVerifyEqual(t, cfg)
	if p.exited() {
		t.Fatalf("replicator exited (%v)\n%s", p.err, tail(p.output(), 30))
	}
	faultResult(t, "PostgreSQL lock held, default lock_timeout", "verify equal", "lock_wait_s", fmt.Sprintf("%.1f", waited.Seconds()),
		"recover_after_release_s", fmt.Sprintf("%.1f", rec.Seconds()), "rows", rep.Tables[0].SourceRows)
	p.stop(t)
}

// TestFaultSourceLostWhileTargetLocked: the source connection drops while the target
// holds the batch behind another session's lock. The stream attempt ends; its last
// batch, still waiting on the lock past the stop's 15 s, is abandoned, and the attempt's
// error is the source's (transient): the replicator reconnects and, once the lock goes,
// catches up. (It used to return what the abandoned batch met, "context deadline
// exceeded" or "context canceled", as a permanent error, and exit.)
func TestFaultSourceLostWhileTargetLocked(t *testing.T) {
	db := "it_fault_srclost_locked"
	faultSetup(t, db, 2000)
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	px := startProxy(t, mysqlHost+":"+mysqlPort)
	cfg := writeConfig(t, sourcePort(faultConfig(url, db, ""), px.Port()))
	p := startCLI(t, "run", "-c", cfg)
	waitPGCaughtUp(t, url, p, 2*time.Minute)
	release := lockTable(t, db)(url)
	held := burstRows(t, db, 1000)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var waiting bool
		if err := pg.QueryRow(context.Background(), `SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database()
			AND application_name LIKE 'replicator%' AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("the batch never waited on the lock (exited %v)\n%s", p.exited(), tail(p.output(), 30))
		}
	}
	if n := px.cut(); n == 0 {
		t.Fatal("the proxy had no source connection to cut")
	}
	if !waitOutputAll(p, time.Minute, "the target did not finish the last batch within 15 s", "stream interrupted; reconnecting from the checkpoint", "source connection lost") {
		t.Fatalf("the attempt did not end as a lost source connection, retried:\n%s", tail(p.output(), 30))
	}
	release()
	waitPGCovers(t, url, held, p, 3*time.Minute)
	assertVerifyEqual(t, cfg)
	if p.exited() {
		t.Fatalf("replicator exited (%v)\n%s", p.err, tail(p.output(), 30))
	}
	p.stop(t)
}

// TestFaultTargetPostgresStatementTimeout: with a short statement_timeout on the target
// database, a batch that waits longer (here behind a lock) is cancelled with SQLSTATE
// 57014; status names the timeout, and replication resumes once statements finish in time.
func TestFaultTargetPostgresStatementTimeout(t *testing.T) {
	db := "it_fault_pgtimeout"
	pgTargetFault(t, db, "PostgreSQL statement timeout", []string{"statement_timeout = '2s'"}, lockTable(t, db),
		"target statement cancelled", "SQLSTATE 57014", "; retrying")
}

// TestFaultTargetPostgresSlow puts a latency proxy between the replicator and PostgreSQL:
// replication goes on, slower, while the lag grows in 'replicator status' (behind
// seconds) and in replicator_lag_seconds, and /readyz answers 503 naming the lag; once
// the latency goes it catches up, and the lag falls back under a bound (/readyz 200).
func TestFaultTargetPostgresSlow(t *testing.T) {
	db := "it_fault_pgslow"
	faultSetup(t, db, 20000)
	url := freshPGDatabase(t)
	cfgPG, _ := pgx.ParseConfig(url)
	px := startProxy(t, fmt.Sprintf("%s:%d", cfgPG.Host, cfgPG.Port))
	viaProxy := strings.Replace(url, fmt.Sprintf(":%d/", cfgPG.Port), ":"+px.Port()+"/", 1)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	const readyLag = 3 * time.Second
	cfg := writeConfig(t, faultConfig(viaProxy, db, fmt.Sprintf("[http]\nlisten = %q\nready_max_lag = %q\n", httpAddr, readyLag.String())))
	p := startCLI(t, "run", "-c", cfg)
	waitPGCaughtUp(t, url, p, 2*time.Minute)
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	// A streamed batch committed: the checkpoint has a source time, which status's
	// behind seconds are counted from.
	time.Sleep(time.Second)
	waitPGCaughtUp(t, url, p, time.Minute)
	px.slow(200 * time.Millisecond)
	held := burstRows(t, db, 5000)

	// The lag grows while the target is slow, on both sides of the process.
	st0, m0 := lagNow(t, cfg, httpAddr)
	var st1, m1 float64
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		if p.exited() {
			t.Fatalf("replicator exited (%v) while the target was slow\n%s", p.err, tail(p.output(), 30))
		}
		if st1, m1 = lagNow(t, cfg, httpAddr); st1 >= st0+2 && m1 >= m0+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lag did not grow while the target was slow: status %.1f s then %.1f s, replicator_lag_seconds %.1f then %.1f", st0, st1, m0, m1)
		}
	}
	ready := waitReadyz(t, httpAddr, time.Minute, "lag ", "exceeds "+readyLag.String())
	t.Logf("while slow: status behind %.1f s -> %.1f s, replicator_lag_seconds %.1f -> %.1f, /readyz %s", st0, st1, m0, m1, ready)
	behind := !gtidCovers(pgCheckpoint(url), currentGTID(t))
	rec := waitPGCovers(t, url, held, p, 3*time.Minute)
	px.slow(0)
	cleared := time.Now()

	// Without the latency the lag comes back under the readiness bound, workload and all.
	var st2, m2 float64
	var code int
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		st2, m2 = lagNow(t, cfg, httpAddr)
		code, _, _ = httpGet("http://" + httpAddr + "/readyz")
		if st2 < readyLag.Seconds() && m2 < readyLag.Seconds() && code == http.StatusOK {
			break
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("the lag did not come back under %s after the latency went: status %.1f s, replicator_lag_seconds %.1f, /readyz %d (exited %v)\n%s",
				readyLag, st2, m2, code, p.exited(), tail(p.output(), 20))
		}
	}
	recovered := time.Since(cleared)
	n, _ := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, "PostgreSQL slow", "verify equal", "behind_while_slow", behind, "lag_while_slow_s", fmt.Sprintf("%.1f", st1),
		"burst_applied_after_s", fmt.Sprintf("%.1f", rec.Seconds()), "lag_under_bound_after_s", fmt.Sprintf("%.1f", recovered.Seconds()), "workload_statements", n)
	p.stop(t)
}

// lagNow reads the lag two ways: 'replicator status --json' (behind_seconds, from the
// target's checkpoint) and the process's replicator_lag_seconds metric.
func lagNow(t *testing.T, cfg, httpAddr string) (status, metric float64) {
	t.Helper()
	_, secs := statusBehind(t, cfg)
	if secs == nil {
		t.Fatal("status --json: no behind_seconds")
	}
	return *secs, metricLag(t, httpAddr)
}

// statusBehind reads 'replicator status --json': transactions behind the source and,
// when the target keeps the source time of its checkpoint, seconds.
func statusBehind(t *testing.T, cfg string) (txns int64, secs *float64) {
	t.Helper()
	res := runCLI(t, time.Minute, "status", "-c", cfg, "--json")
	var js struct {
		BehindTxns    *int64   `json:"behind_transactions"`
		BehindSeconds *float64 `json:"behind_seconds"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &js); err != nil || js.BehindTxns == nil {
		t.Fatalf("status --json: exit %d, %v, no behind_transactions:\n%s\n%s", res.code, err, res.stdout, tail(res.stderr, 5))
	}
	return *js.BehindTxns, js.BehindSeconds
}

// metricLag reads replicator_lag_seconds from the process's /metrics.
func metricLag(t *testing.T, httpAddr string) float64 {
	t.Helper()
	code, body, err := httpGet("http://" + httpAddr + "/metrics")
	if err != nil || code != http.StatusOK || !strings.Contains(body, "replicator_lag_seconds ") {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	return metricValue(body, "replicator_lag_seconds")
}

// esFaultProxy is an HTTP proxy in front of Elasticsearch that can answer bulk requests
// with 429 (a full write queue), delay every request (a slow node), or pass the next
// write of the lease document on at once and hold back Elasticsearch's answer (a node
// that applied a request and answers late).
type esFaultProxy struct {
	srv    *httptest.Server
	reject atomic.Bool
	delay  atomic.Int64 // nanoseconds
	hits   atomic.Int64 // requests answered 429
	// leaseAnswerDelay, when set, delays the answer to the next PUT of a lease document
	// (then it resets); leaseDelayed counts the answers so delayed.
	leaseAnswerDelay atomic.Int64 // nanoseconds
	leaseDelayed     atomic.Int64
}

func startESFaultProxy(t *testing.T) *esFaultProxy {
	t.Helper()
	u, err := url.Parse(esURL)
	if err != nil {
		t.Fatal(err)
	}
	fp := &esFaultProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	fp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(fp.delay.Load()); d > 0 {
			time.Sleep(d)
		}
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/_doc/lock-") {
			if d := time.Duration(fp.leaseAnswerDelay.Swap(0)); d > 0 {
				// Elasticsearch gets the request whatever the client does meanwhile.
				rec := httptest.NewRecorder()
				rp.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
				fp.leaseDelayed.Add(1)
				time.Sleep(d)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
				return
			}
		}
		if fp.reject.Load() && r.URL.Path == "/_bulk" {
			fp.hits.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation [write queue full]"},"status":429}`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(fp.srv.Close)
	return fp
}

// esFault runs one Elasticsearch target fault under load: inject starts it, the log must
// show want while it lasts (and 'replicator status' wantStatus), clear ends it. A fault that holds writes back (holds) must
// keep the checkpoint before the changes made during it.
func esFault(t *testing.T, db, name, scenario string, viaProxy *esFaultProxy, holds bool, inject func(et *esTarget) (clear func()), wantStatus []string, want ...string) {
	t.Helper()
	esFaultAt(t, esURL, db, name, scenario, viaProxy, holds, inject, wantStatus, want...)
}

// esFaultAt is esFault on the node at url (one of the extra nodes test.sh starts).
func esFaultAt(t *testing.T, url, db, name, scenario string, viaProxy *esFaultProxy, holds bool, inject func(et *esTarget) (clear func()), wantStatus []string, want ...string) {
	faultSetup(t, db, 20000)
	et := newESTargetAt(t, url, name)
	text := et.config(db, "[apply]\nflush_interval = \"100ms\"\n[snapshot]\nchunk_rows = 5000\n")
	if viaProxy != nil {
		text = strings.Replace(text, url, viaProxy.srv.URL, 1)
	}
	cfg := writeConfig(t, text)
	my := mysqlRoot(t)
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	time.Sleep(time.Second)
	clear := inject(et)
	held := burstRows(t, db, 5000)
	t0 := time.Now()
	if !waitOutputAll(p, 2*time.Minute, want...) {
		t.Fatalf("the log never showed %q\n%s", want, tail(p.output(), 20))
	}
	if _, gtid, _ := et.checkpoint(t); holds && gtidCovers(gtid, held) {
		t.Fatalf("checkpoint %s covers %s, written while the fault held it back", gtid, held)
	}
	named := time.Since(t0)
	if len(wantStatus) > 0 {
		// The bulk sender's own retries (about 40 s) come first; then the batch ends
		// transient and its error is recorded.
		t.Logf("status during the fault:\n%s", waitStatus(t, cfg, p, 3*time.Minute, wantStatus...))
	}
	time.Sleep(2 * time.Second)
	clear()
	cleared := time.Now()
	close(stop)
	n, _ := wait()
	et.waitCaughtUp(t, my, p, 3*time.Minute)
	rec := time.Since(cleared)
	rep := assertVerifyEqual(t, cfg)
	if p.exited() {
		t.Fatalf("replicator exited (%v)\n%s", p.err, tail(p.output(), 30))
	}
	faultResult(t, scenario, "verify equal", "named_after_s", fmt.Sprintf("%.1f", named.Seconds()),
		"caught_up_after_clear_s", fmt.Sprintf("%.1f", rec.Seconds()), "workload_statements", n, "rows", rep.Tables[0].SourceRows)
	p.stop(t)
}

// waitOutputAll waits until p's output contains every want.
func waitOutputAll(p *proc, timeout time.Duration, want ...string) bool {
	for start := time.Now(); time.Since(start) < timeout; time.Sleep(100 * time.Millisecond) {
		out, ok := p.output(), true
		for _, w := range want {
			ok = ok && strings.Contains(out, w)
		}
		if ok {
			return true
		}
		if p.exited() {
			return false
		}
	}
	return false
}

// setIndexBlock sets or removes index.blocks.write on an index.
func setIndexBlock(t *testing.T, et *esTarget, index string, on bool) {
	t.Helper()
	body := fmt.Sprintf(`{"index.blocks.write": %v}`, on)
	code, out := esDo(t, et.es, esapi.IndicesPutSettingsRequest{Index: []string{index}, Body: strings.NewReader(body)})
	if code != 200 {
		t.Fatalf("set index.blocks.write=%v on %s: %d %s", on, index, code, out)
	}
}

// TestFaultTargetElasticsearchWriteBlock sets index.blocks.write on the replicated index
// (what the flood-stage watermark does with read_only_allow_delete): bulk items fail with
// 403 cluster_block_exception, the log names the write block and that it retries; removing
// the block resumes replication.
func TestFaultTargetElasticsearchWriteBlock(t *testing.T) {
	fullOnly(t, "TestFaultTargetElasticsearchFloodStage (the node's own block on every index)")
	db := "it_fault_esblock"
	esFault(t, db, "tfblock", "Elasticsearch write block", nil, true, func(et *esTarget) func() {
		ix := et.index(db, "wl")
		setIndexBlock(t, et, ix, true)
		return func() { setIndexBlock(t, et, ix, false) }
	}, []string{"last error", "target index write-blocked", "cluster_block_exception", "; retrying"}, "bulk items failed; retrying them", "target index write-blocked", "cluster_block_exception")
}

// TestFaultTargetElasticsearchRejects answers every bulk request with 429 (a full write
// queue) for a while: the bulk sender backs off and sends again, then the stream restarts
// from the checkpoint; once the node accepts writes again it catches up.
func TestFaultTargetElasticsearchRejects(t *testing.T) {
	db := "it_fault_es429"
	fp := startESFaultProxy(t)
	esFault(t, db, "tf429", "Elasticsearch 429", fp, true, func(*esTarget) func() {
		fp.reject.Store(true)
		return func() { fp.reject.Store(false); t.Logf("%d bulk requests answered 429", fp.hits.Load()) }
	}, nil, "bulk request failed; retrying", "429", "es_rejected_execution_exception")
}

// TestFaultTargetElasticsearchSlow delays every request to Elasticsearch (2 s): replication
// goes on, slower, while the lag grows in 'replicator status' (behind transactions: the
// Elasticsearch state keeps no source time) and in replicator_lag_seconds, and /readyz
// answers 503 naming the lag; once the delay goes it catches up, the lag falls back
// under a bound (/readyz 200) and the index equals the table.
func TestFaultTargetElasticsearchSlow(t *testing.T) {
	db := "it_fault_esslow"
	faultSetup(t, db, 20000)
	fp := startESFaultProxy(t)
	et := newESTarget(t, "tfslow")
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	const readyLag = 3 * time.Second
	text := et.config(db, fmt.Sprintf("[apply]\nflush_interval = \"100ms\"\n[snapshot]\nchunk_rows = 5000\n[http]\nlisten = %q\nready_max_lag = %q\n", httpAddr, readyLag.String()))
	cfg := writeConfig(t, strings.Replace(text, esURL, fp.srv.URL, 1))
	my := mysqlRoot(t)
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	time.Sleep(time.Second)
	// Long enough that the batches, however large they grow, fall behind the workload.
	fp.delay.Store(int64(2 * time.Second))
	cleared := false
	defer func() {
		if !cleared {
			fp.delay.Store(0)
		}
	}()

	b0, _ := statusBehind(t, cfg)
	m0 := metricLag(t, httpAddr)
	var b1 int64
	var m1 float64
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		if p.exited() {
			t.Fatalf("replicator exited (%v) while the target was slow\n%s", p.err, tail(p.output(), 30))
		}
		b1, _ = statusBehind(t, cfg)
		if m1 = metricLag(t, httpAddr); b1 > b0 && m1 >= m0+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lag did not grow while the target was slow: status %d then %d transactions behind, replicator_lag_seconds %.1f then %.1f", b0, b1, m0, m1)
		}
	}
	ready := waitReadyz(t, httpAddr, time.Minute, "lag ", "exceeds "+readyLag.String())
	t.Logf("while slow: status %d -> %d transactions behind, replicator_lag_seconds %.1f -> %.1f, /readyz %s", b0, b1, m0, m1, ready)
	fp.delay.Store(0)
	cleared = true
	since := time.Now()

	var m2 float64
	var code int
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		m2 = metricLag(t, httpAddr)
		code, _, _ = httpGet("http://" + httpAddr + "/readyz")
		if m2 < readyLag.Seconds() && code == http.StatusOK {
			break
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("the lag did not come back under %s after the delay went: replicator_lag_seconds %.1f, /readyz %d (exited %v)\n%s", readyLag, m2, code, p.exited(), tail(p.output(), 20))
		}
	}
	recovered := time.Since(since)
	close(stop)
	n, _ := wait()
	et.waitCaughtUp(t, my, p, 3*time.Minute)
	if b, _ := statusBehind(t, cfg); b != 0 {
		t.Errorf("status: %d transactions behind once caught up", b)
	}
	rep := assertVerifyEqual(t, cfg)
	if p.exited() {
		t.Fatalf("replicator exited (%v)\n%s", p.err, tail(p.output(), 30))
	}
	faultResult(t, "Elasticsearch slow", "verify equal", "behind_txns_while_slow", b1, "lag_while_slow_s", fmt.Sprintf("%.1f", m1),
		"lag_under_bound_after_s", fmt.Sprintf("%.1f", recovered.Seconds()), "workload_statements", n, "rows", rep.Tables[0].SourceRows)
	p.stop(t)
}
