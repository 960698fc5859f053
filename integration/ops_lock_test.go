//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
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
