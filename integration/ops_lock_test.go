//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// TestElasticSecondInstanceRefused: the lease in the state index keeps a second replicator
// off the same Elasticsearch target; a clean stop releases it and a kill -9 does not block
// the restart on the same host. check and status work against the target too.
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

	// check and status against an Elasticsearch target.
	out, res := runCheck(t, cfg)
	for _, name := range []string{"target.connect", "target.writable"} {
		if st, _ := statusOf(out, name); st != "pass" {
			t.Errorf("check %s = %q (exit %d)\n%s", name, st, res.code, res.stdout)
		}
	}
	st := runCLI(t, 30*time.Second, "status", "-c", cfg)
	if st.code != 0 || !strings.Contains(st.stdout, "phase       streaming") || !strings.Contains(st.stdout, "behind      0 transactions") {
		t.Errorf("status: exit %d\n%s\n%s", st.code, st.stdout, tail(st.stderr, 5))
	}
	p.stop(t)
}
