//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"
)

// stateRaceReplicators is how many replicators (each its own state.name) start at once on
// one fresh state schema or index, with as many 'status' commands.
const stateRaceReplicators = 3

// stateRaceSource makes a small source database the racing replicators all copy.
func stateRaceSource(t *testing.T, db string) *client.Conn {
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_200")
	return my
}

// raceCommands starts every command at the same moment, each with its own configuration,
// and returns the processes.
func raceCommands(t *testing.T, cmds [][]string) []*proc {
	var start sync.WaitGroup
	start.Add(1)
	procs := make([]*proc, len(cmds))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, args := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			p := startCLI(t, args...)
			mu.Lock()
			procs[i] = p
			mu.Unlock()
		}()
	}
	start.Done()
	wg.Wait()
	return procs
}

// assertStatusesClean waits for the status commands and fails on any that died.
func assertStatusesClean(t *testing.T, procs []*proc) {
	t.Helper()
	for i, p := range procs {
		if !waitExit(p, time.Minute) {
			t.Fatalf("status %d did not finish within a minute\n%s", i, tail(p.output(), 20))
		}
		if p.err != nil {
			t.Errorf("status %d died while replicators created the state: %v\n%s", i, p.err, tail(p.output(), 20))
		}
	}
}

// assertRunsAlive checks that no replicator died while they all created the state.
func assertRunsAlive(t *testing.T, runs []*proc) {
	t.Helper()
	for i, p := range runs {
		if p.exited() {
			t.Fatalf("replicator %d died while the others created the state: %v\n%s", i, p.err, tail(p.output(), 30))
		}
	}
}

// TestStateCreationConcurrentPostgres starts several replicators (their own state names)
// and 'status' commands at once on a fresh state schema: concurrent CREATE ... IF NOT
// EXISTS fails in PostgreSQL on a catalog unique index, so creation must be serialised,
// and status must not create anything. Every replicator must reach streaming with its
// copy equal to the source.
func TestStateCreationConcurrentPostgres(t *testing.T) {
	db := "it_state_race"
	my := stateRaceSource(t, db)
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	var cmds [][]string
	for i := range stateRaceReplicators {
		cfg := writeConfig(t, withServerID(configText("replicator", mysqlReplPass, url, fmt.Sprintf(`
[state]
name = "r%d"
[apply]
flush_interval = "100ms"
[[tables]]
source = "%s.*"
target = "copy%d.{table}"
`, i, db, i)), 4701+i))
		cmds = append(cmds, []string{"run", "-c", cfg}, []string{"status", "-c", cfg})
	}
	runs, statuses := splitRace(raceCommands(t, cmds))
	assertStatusesClean(t, statuses)
	mustExec(t, my, "INSERT INTO `"+db+"`.t VALUES (1000, 'after the start')")
	want := sourceGTID(t, my)
	for i, p := range runs {
		deadline := time.Now().Add(time.Minute)
		for {
			var got string
			err := pg.QueryRow(ctxBG(), "SELECT gtid FROM _replicator.checkpoint WHERE name = $1 AND phase = 'streaming'", fmt.Sprintf("r%d", i)).Scan(&got)
			if err == nil && gtidCovers(got, want) {
				break
			}
			assertRunsAlive(t, runs)
			if time.Now().After(deadline) {
				t.Fatalf("replicator %d did not reach %s within a minute\n%s", i, want, tail(p.output(), 30))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if n := assertTableEqual(t, my, pg, db, "t", fmt.Sprintf("copy%d", i), "t"); n != 201 {
			t.Errorf("replicator %d: %d rows compared, want 201", i, n)
		}
	}
	for _, p := range runs {
		p.stop(t)
	}
	// status on a target without any state: no checkpoint, and nothing created.
	fresh := freshPGDatabase(t)
	cfg := writeConfig(t, streamConfig(fresh, db))
	res := runCLI(t, time.Minute, "status", "-c", cfg)
	if res.code != 0 || !strings.Contains(res.stdout, "checkpoint") || !strings.Contains(res.stdout, "none") {
		t.Fatalf("status on a fresh target: exit %d\n%s\n%s", res.code, res.stdout, tail(res.stderr, 20))
	}
	// verify only reads too: it compares (the tables are missing) and creates no state.
	if res := runCLI(t, time.Minute, "verify", "-c", cfg, "--retries", "0"); res.code == 0 || !strings.Contains(res.stdout, "does not exist") {
		t.Errorf("verify on a fresh target: exit %d\n%s\n%s", res.code, tail(res.stdout, 10), tail(res.stderr, 10))
	}
	var schemas int
	if err := pgConnect(t, fresh).QueryRow(ctxBG(), "SELECT count(*) FROM pg_namespace WHERE nspname = '_replicator'").Scan(&schemas); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 {
		t.Errorf("status or verify created the state schema on a fresh target")
	}
}

// TestStateCreationConcurrentElastic is the same race on one fresh Elasticsearch state
// index: the losers of the create get resource_already_exists_exception, which is success.
func TestStateCreationConcurrentElastic(t *testing.T) {
	db := "it_state_race_es"
	my := stateRaceSource(t, db)
	et := newESTarget(t, "state-race")
	t.Cleanup(func() { et.cleanup(t) })
	var cmds [][]string
	var copies []*esTarget
	for i := range stateRaceReplicators {
		// Each replicator writes its own indexes under the test's prefix; all share the state index.
		c := &esTarget{es: et.es, prefix: fmt.Sprintf("%sr%d.", et.prefix, i), state: et.state}
		copies = append(copies, c)
		text := strings.Replace(c.config(db, "[apply]\nflush_interval = \"100ms\"\n"),
			"[state]\n", fmt.Sprintf("[state]\nname = \"r%d\"\n", i), 1)
		cfg := writeConfig(t, withServerID(text, 4711+i))
		cmds = append(cmds, []string{"run", "-c", cfg}, []string{"status", "-c", cfg})
	}
	runs, statuses := splitRace(raceCommands(t, cmds))
	assertStatusesClean(t, statuses)
	mustExec(t, my, "INSERT INTO `"+db+"`.t VALUES (1000, 'after the start')")
	want := sourceGTID(t, my)
	for i, p := range runs {
		deadline := time.Now().Add(time.Minute)
		for {
			code, body := esDo(t, et.es, esapi.GetRequest{Index: et.state, DocumentID: fmt.Sprintf("checkpoint-r%d", i)})
			var doc struct {
				Source struct {
					Phase string `json:"phase"`
					GTID  string `json:"gtid"`
				} `json:"_source"`
			}
			if code == 200 && json.Unmarshal(body, &doc) == nil && doc.Source.Phase == "streaming" && gtidCovers(doc.Source.GTID, want) {
				break
			}
			assertRunsAlive(t, runs)
			if time.Now().After(deadline) {
				t.Fatalf("replicator %d did not reach %s within a minute\n%s", i, want, tail(p.output(), 30))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if n := copies[i].assertIndexEqual(t, my, db, "t"); n != 201 {
			t.Errorf("replicator %d: %d documents compared, want 201", i, n)
		}
	}
	for _, p := range runs {
		p.stop(t)
	}
	// status with a state index that does not exist: no checkpoint, and nothing created.
	lone := newESTarget(t, "state-race-none")
	res := runCLI(t, time.Minute, "status", "-c", writeConfig(t, lone.config(db, "")))
	if res.code != 0 || !strings.Contains(res.stdout, "checkpoint") || !strings.Contains(res.stdout, "none") {
		t.Fatalf("status without a state index: exit %d\n%s\n%s", res.code, res.stdout, tail(res.stderr, 20))
	}
	if code, _ := esDo(t, et.es, esapi.IndicesExistsRequest{Index: []string{lone.state}}); code != 404 {
		t.Errorf("status created the state index %s (HEAD: %d)", lone.state, code)
	}
}

// splitRace separates the processes raceCommands started from run/status pairs.
func splitRace(procs []*proc) (runs, statuses []*proc) {
	for i, p := range procs {
		if i%2 == 0 {
			runs = append(runs, p)
		} else {
			statuses = append(statuses, p)
		}
	}
	return runs, statuses
}
