//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// TestElasticSecondInstanceRefused: the lease in the state index keeps a second replicator
// off the same Elasticsearch target; a clean stop releases it and a kill -9 does not block
// the restart on the same host.
func TestElasticSecondInstanceRefused(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-lock")
	db := "it_es_lock"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1)")
	cfg := writeConfig(t, et.config(db, "[apply]\nflush_interval = \"50ms\"\n"))
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, time.Minute)

	res := runCLI(t, 30*time.Second, "run", "-c", cfg)
	if res.code == 0 || !strings.Contains(res.stderr, "another replicator with state.name \"default\" is already running") {
		t.Fatalf("second instance: exit %d, stderr %s", res.code, tail(res.stderr, 3))
	}
	p.kill()
	// The holder crashed: a restart on this host takes the lease over at once.
	p = startCLI(t, "run", "-c", cfg)
	mustExec(t, my, "INSERT INTO "+db+".t VALUES (2, 2)")
	et.waitCaughtUp(t, my, p, time.Minute)
	p.stop(t)
	// A clean stop released it.
	p = startCLI(t, "run", "-c", cfg)
	mustExec(t, my, "INSERT INTO "+db+".t VALUES (3, 3)")
	et.waitCaughtUp(t, my, p, time.Minute)
	et.assertIndexEqual(t, my, db, "t")
	p.stop(t)
}
