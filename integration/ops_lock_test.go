//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestSecondInstanceRefused: the target's lock (a PostgreSQL advisory lock, a lease in the
// Elasticsearch state index) keeps a second replicator off the same target; a clean stop
// releases it and a kill -9 does not block the restart on the same host.
func TestSecondInstanceRefused(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_lock")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1)")
		cfg := writeConfig(t, tg.Config(db, "[apply]\nflush_interval = \"50ms\"\n"))
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, time.Minute)

		res := runCLI(t, 30*time.Second, "run", "-c", cfg)
		if res.code == 0 || !strings.Contains(res.stderr, "another replicator with state.name \"default\" is already running") {
			t.Fatalf("second instance: exit %d, stderr %s", res.code, tail(res.stderr, 3))
		}
		p.kill()
		// The holder crashed: a restart on this host takes the lock over at once.
		p = startCLI(t, "run", "-c", cfg)
		mustExec(t, my, "INSERT INTO "+db+".t VALUES (2, 2)")
		tg.WaitCaughtUp(t, my, p, time.Minute)
		p.stop(t)
		// A clean stop released it.
		p = startCLI(t, "run", "-c", cfg)
		mustExec(t, my, "INSERT INTO "+db+".t VALUES (3, 3)")
		tg.WaitCaughtUp(t, my, p, time.Minute)
		if n := tg.AssertTableEqual(t, my, db, "t"); n != 3 {
			t.Errorf("compared %d rows, want 3", n)
		}
		p.stop(t)
	})
}

// TestLockHeldByCrashedHolderPostgres: PostgreSQL may keep the session of a replicator that
// was killed -9 (a loaded server notices the closed socket late), advisory lock and all. A
// restart on the same host waits for that session, then terminates it, and runs; a lock
// held by a live process is refused at once, naming the holder. The stale session is made
// here: a connection labelled as an exited process on this host takes the lock.
func TestLockHeldByCrashedHolderPostgres(t *testing.T) {
	h := newPGHarness(t)
	my := mysqlRoot(t)
	db := h.DB("it_lock_stale")
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1)")
	cfg := writeConfig(t, h.Config(db, "[apply]\nflush_interval = \"50ms\"\n"))
	host, _ := os.Hostname()
	hold := func(pid int) *pgx.Conn {
		c, err := pgx.ParseConfig(h.url)
		if err != nil {
			t.Fatal(err)
		}
		c.RuntimeParams["application_name"] = fmt.Sprintf("replicator pid=%d host=%s", pid, host)
		conn, err := pgx.ConnectConfig(ctxBG(), c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(ctxBG()) })
		if _, err := conn.Exec(ctxBG(), "SELECT pg_advisory_lock(hashtextextended('replicator:_replicator:default', 0))"); err != nil {
			t.Fatal(err)
		}
		return conn
	}

	// A live holder (this test's own pid): refused at once.
	live := hold(os.Getpid())
	t0 := time.Now()
	res := runCLI(t, 30*time.Second, "run", "-c", cfg)
	if res.code == 0 || !strings.Contains(res.stderr, fmt.Sprintf("held by backend %d, replicator pid %d on host %s", backendPID(t, live), os.Getpid(), host)) {
		t.Fatalf("live holder: exit %d, stderr %s", res.code, tail(res.stderr, 3))
	}
	if d := time.Since(t0); d > 8*time.Second {
		t.Errorf("a live holder was refused after %s, want at once", d)
	}
	live.Close(ctxBG())

	// A crashed holder: waited for, terminated, taken over.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	stale := hold(gone.Process.Pid)
	stalePID := backendPID(t, stale)
	p := startCLI(t, "run", "-c", cfg)
	if !waitOutput(p, "waiting for the instance lock", 30*time.Second) {
		t.Fatalf("no wait for the crashed holder:\n%s", tail(p.output(), 10))
	}
	if !waitOutput(p, "terminating that backend", 30*time.Second) {
		t.Fatalf("the stale session was not terminated:\n%s", tail(p.output(), 10))
	}
	mustExec(t, my, "INSERT INTO "+db+".t VALUES (2, 2)")
	h.WaitCaughtUp(t, my, p, time.Minute)
	if n := h.AssertTableEqual(t, my, db, "t"); n != 2 {
		t.Errorf("compared %d rows, want 2", n)
	}
	var alive bool
	if err := h.pg.QueryRow(ctxBG(), "SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $1", stalePID).Scan(&alive); err != nil || alive {
		t.Errorf("the stale backend %d still runs (%v)", stalePID, err)
	}
	p.stop(t)
}

func backendPID(t *testing.T, c *pgx.Conn) int {
	t.Helper()
	var pid int
	if err := c.QueryRow(ctxBG(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestLeaseRenewalAnswerLostElasticsearch: a renewal of the Elasticsearch lease that the
// node applied but answered after the replicator gave up on it (a slow node) leaves the
// replicator with the lease's old version, so its next renewal conflicts with itself.
// It re-reads the lease, finds it still its own, renews it and goes on streaming instead
// of stopping with "lost the instance lock".
func TestLeaseRenewalAnswerLostElasticsearch(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_lease_late_es"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1)")
	et := newESTarget(t, "leaselate")
	fp := startESFaultProxy(t)
	cfg := writeConfig(t, strings.Replace(et.config(db, "[apply]\nflush_interval = \"50ms\"\n"), esURL, fp.srv.URL, 1))
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, time.Minute)
	// The renewal waits 10 s for its answer (leaseRenew): hold it back longer.
	fp.leaseAnswerDelay.Store(int64(12 * time.Second))
	if !waitOutput(p, "could not renew the instance lease; retrying", 40*time.Second) {
		t.Fatalf("no renewal timed out (%d answers delayed):\n%s", fp.leaseDelayed.Load(), tail(p.output(), 20))
	}
	if !waitOutput(p, "renewing it again from its current version", 30*time.Second) {
		t.Fatalf("the conflict with its own renewal was not recognised:\n%s", tail(p.output(), 20))
	}
	mustExec(t, my, "INSERT INTO "+db+".t VALUES (2, 2)")
	et.waitCaughtUp(t, my, p, time.Minute)
	// One more renewal after the recovery, then a commit: the lease is held and renewed.
	time.Sleep(11 * time.Second)
	mustExec(t, my, "INSERT INTO "+db+".t VALUES (3, 3)")
	et.waitCaughtUp(t, my, p, time.Minute)
	if out := p.output(); strings.Contains(out, "lost the instance lock") {
		t.Fatalf("the replicator gave up a lease it still held:\n%s", tail(out, 20))
	}
	if n := et.assertIndexEqual(t, my, db, "t"); n != 3 {
		t.Errorf("compared %d rows, want 3", n)
	}
	p.stop(t)
}

// pgLockSessions lists the backends holding an advisory lock in the database of url.
func pgLockSessions(t *testing.T, url string) []int {
	t.Helper()
	var pids []int
	if err := pgConnect(t, url).QueryRow(context.Background(), `SELECT COALESCE(array_agg(pid ORDER BY pid), '{}') FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&pids); err != nil {
		t.Fatal(err)
	}
	return pids
}

// TestLockSessionLostPostgres ends the session that holds the instance lock (what a
// PostgreSQL restart does to it, with the stream reconnecting on new sessions): the next
// checkpoint takes the lock again, so a second replicator is still refused. Ended again,
// with a second replicator starting before the first one's next checkpoint, the second
// one takes it and the first stops instead of writing the target beside it.
func TestLockSessionLostPostgres(t *testing.T) {
	const db = "it_lock_lost"
	faultSetup(t, db, 1000)
	url := freshPGDatabase(t)
	cfg := writeConfig(t, faultConfig(url, db, ""))
	p := startCLI(t, "run", "-c", cfg)
	waitPGCaughtUp(t, url, p, time.Minute)
	pg := pgConnect(t, url)
	my := mysqlRoot(t)
	terminate := func() int {
		pids := pgLockSessions(t, url)
		if len(pids) != 1 {
			t.Fatalf("advisory locks held in the target database: %v; want the instance lock alone", pids)
		}
		if _, err := pg.Exec(context.Background(), "SELECT pg_terminate_backend($1)", pids[0]); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); len(pgLockSessions(t, url)) > 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the lock session %d did not end", pids[0])
			}
		}
		return pids[0]
	}

	old := terminate()
	mustExec(t, my, "UPDATE `"+db+"`.wl SET grp = grp + 1 WHERE id <= 10")
	waitPGCaughtUp(t, url, p, time.Minute)
	if !waitOutput(p, "the lock is taken again", 10*time.Second) {
		t.Fatalf("the lock was not taken again after its session ended\n%s", tail(p.output(), 20))
	}
	if now := pgLockSessions(t, url); len(now) != 1 || now[0] == old {
		t.Fatalf("advisory lock holders after the retake: %v (the ended session was %d)", now, old)
	}
	res := runCLI(t, 30*time.Second, "run", "-c", cfg)
	if res.code == 0 || !strings.Contains(res.stderr, "is already running") {
		t.Fatalf("a second instance after the retake: exit %d, stderr %s", res.code, tail(res.stderr, 3))
	}

	// No writes now, so the first one stores no checkpoint before the second one starts.
	terminate()
	// A server_id of its own, as a second replicator elsewhere would have: two binlog
	// readers with one server_id keep disconnecting each other at the source.
	secondCfg := writeConfig(t, strings.Replace(faultConfig(url, db, ""), "server_id = 4201", "server_id = 4293", 1))
	second := startCLI(t, "run", "-c", secondCfg)
	waitOutput(second, "streaming", 30*time.Second)
	mustExec(t, my, "UPDATE `"+db+"`.wl SET grp = grp + 1 WHERE id <= 20")
	for deadline := time.Now().Add(time.Minute); !p.exited(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first replicator kept running after another took its lock\n%s", tail(p.output(), 20))
		}
	}
	if out := p.output(); !strings.Contains(out, "lost the instance lock") || !strings.Contains(out, "took it meanwhile") {
		t.Fatalf("the first replicator stopped without naming the lost lock\n%s", tail(out, 10))
	}
	waitPGCaughtUp(t, url, second, time.Minute)
	assertVerifyEqual(t, secondCfg)
	second.stop(t)
}
