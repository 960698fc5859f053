//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFKActionsDuringOnlineCopy copies the children of foreign keys with actions online
// (replicator resnapshot) while random cascades run: the actions InnoDB leaves out of the
// binary log must reach the copy too, or a child row read into the copy before its
// parent's delete comes back at the swap (and an ON UPDATE CASCADE is lost). Every table
// is then row-by-row equal and verify reports equal.
func TestFKActionsDuringOnlineCopy(t *testing.T) {
	forEachTargetSerial(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_fk_copy")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, fkSchema(db)...)
		mustExec(t, my, fkSeed(db, 1000)...)
		// Small chunks: each is a batch of its own, so the copies take long enough for
		// cascades to hit rows already copied.
		cfg := writeConfig(t, tg.Config(db, "[apply]\nbatch_rows = 500\n[snapshot]\nchunk_rows = 100\n"))
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 120*time.Second)

		stop := make(chan struct{})
		done := make(chan struct{})
		rounds := 0
		var workErr error
		work := mysqlRoot(t)
		go func() {
			defer close(done)
			for seed := int64(10); ; seed++ {
				select {
				case <-stop:
					return
				default:
				}
				// Keys of their own per round, below INT's maximum however long the copies take.
				if workErr = fkRandomOn(work, db, seed, 30000+rounds*20, 20); workErr != nil {
					return
				}
				rounds++
				// A busy production pace (about 50 transactions a second), not a flood the
				// stream cannot keep up with on two shared cores: the copies wait for the
				// stream's backlog by design.
				select {
				case <-stop:
					return
				case <-time.After(300 * time.Millisecond):
				}
			}
		}()
		children := []string{"city", "address", "item", "note", "tag", "pchild", "emp", "emp2"}
		var names []string
		for _, c := range children {
			names = append(names, db+"."+c)
		}
		res := runCLI(t, 30*time.Second, append([]string{"resnapshot", "-c", cfg}, names...)...)
		if res.code != 0 || !strings.Contains(res.stdout, "copy requested") {
			close(stop)
			<-done
			t.Fatalf("resnapshot: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		for _, n := range names {
			waitCopy(t, cfg, n, "done", p, 4*time.Minute)
		}
		close(stop)
		<-done
		if workErr != nil {
			t.Fatalf("random cascades: %v", workErr)
		}
		if rounds < 2 {
			t.Errorf("only %d rounds of random cascades ran during the copies", rounds)
		}
		tg.WaitCaughtUp(t, my, p, 90*time.Second)
		p.stop(t)
		defer func() {
			if t.Failed() {
				// The run's whole log, to follow what happened to a differing row.
				f := filepath.Join(os.TempDir(), "fk-copy-"+tg.Name()+".log")
				if err := os.WriteFile(f, []byte(p.output()), 0o644); err == nil {
					t.Logf("the run's log is in %s", f)
				}
			}
		}()
		for _, tb := range fkTables {
			tg.AssertTableEqual(t, my, db, tb)
		}
		assertVerifyEqual(t, cfg)
		out := p.output()
		t.Logf("%d rounds of 20 random transactions ran while %d tables were copied; windows whose foreign key actions were applied to the chunk again: %d, chunks read again: %d, windows holding the stream: %d",
			rounds, len(children), strings.Count(out, "applied to its chunk again"), strings.Count(out, "its chunk is read again"), strings.Count(out, "holds the stream while its chunk is read"))
	})
}
