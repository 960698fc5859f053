//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// TestFKActionsResumedSnapshot kills a snapshot after a few committed chunks, runs
// random cascades (parent deletes and re-keys) while it is down, and resumes it: the
// resumed snapshot reads the remaining chunks under a new view and the rows changed in
// between again, but a foreign key action's rows have no events of their own, so the
// children it changed would keep their old values (or rows deleted at the source) unless
// the tables it may reach are copied again. Every table is then row-by-row equal and
// verify reports equal.
func TestFKActionsResumedSnapshot(t *testing.T) {
	forEachTargetSerial(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_fk_resume")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, fkSchema(db)...)
		mustExec(t, my, fkSeed(db, 300)...)
		cfg := writeConfig(t, tg.Config(db, "[snapshot]\nchunk_rows = 100\nparallelism = 1\n"))
		k := startCLIEnv(t, []string{"REPLICATOR_CRASH_AT=snapshot.chunk-committed:40"}, "run", "-c", cfg)
		if !waitExit(k, 90*time.Second) {
			k.kill()
			t.Fatalf("the snapshot did not reach its kill point:\n%s", tail(k.output(), 20))
		}
		if phase, _, _ := tg.Checkpoint(t); phase != "snapshot" {
			t.Fatalf("after the kill the checkpoint phase is %q, want snapshot:\n%s", phase, tail(k.output(), 20))
		}
		for seed := int64(1); seed <= 3; seed++ {
			fkRandom(t, db, seed, 20)
		}
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 120*time.Second)
		p.stop(t)
		if !strings.Contains(p.output(), "copying it again whole under the newest") {
			t.Errorf("the resumed snapshot did not copy a table a foreign key action reached again:\n%s", tail(grepLines(p.output(), `"level":"(INFO|WARN|ERROR)"`), 30))
		}
		for _, tb := range fkTables {
			tg.AssertTableEqual(t, my, db, tb)
		}
		assertVerifyEqual(t, cfg)
	})
}
