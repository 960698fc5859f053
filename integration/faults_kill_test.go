//go:build integration

package integration

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// TestFaultKillNine kills the replicator with SIGKILL at random instants spread over the
// snapshot, the hand-off to the binary log and streaming, aiming at them in turn. A kill
// aimed at the snapshot or the hand-off that finds the snapshot already done ends the
// round (a replicator catches up, verify agrees) and empties the target, so the next run
// snapshots again.
func TestFaultKillNine(t *testing.T) {
	db := "it_fault_kill"
	rows := faultSize("REPLICATOR_FAULTS_KILL_ROWS", 150000, 300000)
	faultSetup(t, db, rows)
	url := freshPGDatabase(t)
	cfg := writeConfig(t, faultConfig(url, db, ""))
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	kills := faultSize("REPLICATOR_FAULTS_KILLS", 5, 20)
	phases := map[string]int{}
	var plan []string
	for i := 0; i < kills; i++ {
		plan = append(plan, []string{"snapshot", "handoff", "streaming"}[i%3])
	}
	round := 1
	for i, want := range plan {
		if (want == "snapshot" || want == "handoff") && pgCheckpoint(url) != "" {
			// The snapshot is done, so this kill needs a new one. End the round first: a
			// replicator runs again, catches up and verify agrees; then the target is
			// emptied and the next run snapshots again.
			p := startCLI(t, "run", "-c", cfg)
			rec := waitPGCaughtUp(t, url, p, 3*time.Minute)
			assertVerifyEqual(t, cfg)
			p.kill()
			faultResult(t, "kill -9 round", "verify equal", "round", round, "kills_before", i, "catch_up_s", fmt.Sprintf("%.1f", rec.Seconds()))
			resetPG(t, url, db)
			round++
		}
		p := startCLI(t, "run", "-c", cfg)
		switch want {
		case "snapshot":
			if !waitOutput(p, "consistent snapshot opened", 30*time.Second) {
				t.Fatalf("no snapshot started:\n%s", tail(p.output(), 20))
			}
			time.Sleep(time.Duration(rng.Intn(800)) * time.Millisecond)
		case "handoff":
			if !waitOutput(p, "snapshot complete", 2*time.Minute) {
				t.Fatalf("snapshot did not complete:\n%s", tail(p.output(), 20))
			}
			time.Sleep(time.Duration(rng.Intn(60)) * time.Millisecond)
		case "streaming":
			if !waitOutput(p, `"msg":"streaming"`, 2*time.Minute) {
				t.Fatalf("did not stream:\n%s", tail(p.output(), 20))
			}
			time.Sleep(time.Duration(200+rng.Intn(2000)) * time.Millisecond)
		}
		if p.exited() {
			t.Fatalf("replicator exited early (%v)\n%s", p.err, tail(p.output(), 30))
		}
		got := phaseOf(p.output())
		p.kill()
		if got == "streaming" && handedOff(p.output(), url) {
			// Killed before the stream committed anything after the snapshot's position.
			got = "handoff"
		}
		phases[got]++
		t.Logf("kill %d/%d (round %d): aimed at %s, killed during %s", i+1, kills, round, want, got)
	}
	p := startCLI(t, "run", "-c", cfg)
	rec := waitPGCaughtUp(t, url, p, 3*time.Minute)
	n, vt := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, "kill -9", "verify equal", "kills", kills, "rounds", round, "phases", fmt.Sprint(phases), "rows", rows,
		"workload_statements", n, "catch_up_after_last_kill_s", fmt.Sprintf("%.1f", rec.Seconds()), "verify_s", fmt.Sprintf("%.1f", vt.Seconds()))
	if kills >= 3 && (phases["snapshot"] == 0 || phases["streaming"] == 0) {
		t.Errorf("kills did not cover snapshot and streaming: %v", phases)
	}
	p.stop(t)
}

// TestKillNineStreaming kills the replicator repeatedly with SIGKILL (first during the
// snapshot, then while streaming) under a write workload; in the end the target equals
// the source row by row.
func TestKillNineStreaming(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_kill")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db, wlTable)
		seed(t, my, db, 20000)
		cfg := writeConfig(t, tg.Config(db, `
[apply]
flush_interval = "100ms"
batch_rows = 2000
[snapshot]
chunk_rows = 1000
`))
		stop := make(chan struct{})
		wait := workload(t, db, 2, stop)
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		kills := 6
		replays := 0
		for i := 0; i < kills; i++ {
			p := startCLI(t, "run", "-c", cfg)
			time.Sleep(time.Duration(300+rng.Intn(2500)) * time.Millisecond)
			if p.exited() {
				t.Fatalf("replicator exited early: %v\n%s", p.err, tail(p.output(), 30))
			}
			p.kill()
			replays += strings.Count(p.output(), "replayed changes refused")
		}
		close(stop)
		n := wait()
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 120*time.Second)
		t.Logf("%d kill -9 during %d workload statements; %d batches saw refused replays", kills, n, replays)
		tg.AssertTableEqual(t, my, db, "wl")
		p.stop(t)
	})
}
