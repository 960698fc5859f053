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

// TestStateCreationConcurrent starts several replicators (their own state names, one
// fresh state schema or index) and 'status' commands at once. In PostgreSQL concurrent
// CREATE ... IF NOT EXISTS fails on a catalog unique index, so creation must be
// serialised; in Elasticsearch the losers of the index creation get
// resource_already_exists_exception, which is success. status must not create anything.
// Every replicator must reach streaming with its copy equal to the source; status (and,
// with PostgreSQL, verify) on a target without any state finds no checkpoint and creates
// none.
func TestStateCreationConcurrent(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		db := tg.DB("it_state_race")
		my := stateRaceSource(t, db)
		var cmds [][]string
		var copies []targetHarness // replicator i's copy, for the comparison
		for i := range stateRaceReplicators {
			var text string
			switch h := tg.(type) {
			case *pgHarness:
				text = configText("replicator", mysqlReplPass, h.url, fmt.Sprintf(`
[state]
name = "r%d"
[apply]
flush_interval = "100ms"
[[tables]]
source = "%s.*"
target = "copy%d.{table}"
`, i, db, i))
				copies = append(copies, &pgCopy{pgHarness: h, schema: fmt.Sprintf("copy%d", i)})
			case *esHarness:
				// Each replicator writes its own indexes under the test's prefix; all share the state index.
				c := &esHarness{esTarget: &esTarget{url: h.url, es: h.es, prefix: fmt.Sprintf("%sr%d.", h.prefix, i), state: h.state}}
				copies = append(copies, c)
				text = strings.Replace(c.config(db, "[apply]\nflush_interval = \"100ms\"\n"),
					"[state]\n", fmt.Sprintf("[state]\nname = \"r%d\"\n", i), 1)
			}
			cfg := writeConfig(t, withServerID(text, serverIDFor(t.Name())+i))
			cmds = append(cmds, []string{"run", "-c", cfg}, []string{"status", "-c", cfg})
		}
		runs, statuses := splitRace(raceCommands(t, cmds))
		assertStatusesClean(t, statuses)
		mustExec(t, my, "INSERT INTO `"+db+"`.t VALUES (1000, 'after the start')")
		want := sourceGTID(t, my)
		for i, p := range runs {
			deadline := time.Now().Add(time.Minute)
			for {
				if gtid, ok := stateCheckpoint(t, tg, fmt.Sprintf("r%d", i)); ok && gtidCovers(gtid, want) {
					break
				}
				assertRunsAlive(t, runs)
				if time.Now().After(deadline) {
					t.Fatalf("replicator %d did not reach %s within a minute\n%s", i, want, tail(p.output(), 30))
				}
				time.Sleep(100 * time.Millisecond)
			}
			if n := copies[i].AssertTableEqual(t, my, db, "t"); n != 201 {
				t.Errorf("replicator %d: %d rows compared, want 201", i, n)
			}
		}
		for _, p := range runs {
			p.stop(t)
		}
		switch h := tg.(type) {
		case *pgHarness:
			assertNoStatePostgres(t, db)
		case *esHarness:
			assertNoStateElastic(t, h, db)
		}
	})
}

// pgCopy is a PostgreSQL harness whose tables are in one schema rather than in the source
// database's name.
type pgCopy struct {
	*pgHarness
	schema string
}

func (c *pgCopy) AssertTableEqual(t *testing.T, my *client.Conn, db, table string) int {
	t.Helper()
	return assertTableEqual(t, my, c.pg, db, table, c.schema, table)
}

// stateCheckpoint reads the streaming checkpoint of one state name.
func stateCheckpoint(t *testing.T, tg targetHarness, name string) (gtid string, ok bool) {
	t.Helper()
	switch h := tg.(type) {
	case *pgHarness:
		err := h.pg.QueryRow(ctxBG(), "SELECT gtid FROM _replicator.checkpoint WHERE name = $1 AND phase = 'streaming'", name).Scan(&gtid)
		return gtid, err == nil
	case *esHarness:
		code, body := esDo(t, h.es, esapi.GetRequest{Index: h.state, DocumentID: "checkpoint-" + name})
		var doc struct {
			Source struct {
				Phase string `json:"phase"`
				GTID  string `json:"gtid"`
			} `json:"_source"`
		}
		if code == 200 && json.Unmarshal(body, &doc) == nil && doc.Source.Phase == "streaming" {
			return doc.Source.GTID, true
		}
	}
	return "", false
}

// assertNoStatePostgres: status on a target without any state shows no checkpoint, verify
// only reads too (it compares; the tables are missing), and neither creates the state
// schema.
func assertNoStatePostgres(t *testing.T, db string) {
	t.Helper()
	fresh := freshPGDatabase(t)
	cfg := writeConfig(t, streamConfig(fresh, db))
	res := runCLI(t, time.Minute, "status", "-c", cfg)
	if res.code != 0 || !strings.Contains(res.stdout, "checkpoint") || !strings.Contains(res.stdout, "none") {
		t.Fatalf("status on a fresh target: exit %d\n%s\n%s", res.code, res.stdout, tail(res.stderr, 20))
	}
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

// assertNoStateElastic: status with a state index that does not exist shows no checkpoint
// and creates nothing.
func assertNoStateElastic(t *testing.T, h *esHarness, db string) {
	t.Helper()
	lone := newESTarget(t, strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))+"-none")
	res := runCLI(t, time.Minute, "status", "-c", writeConfig(t, lone.config(db, "")))
	if res.code != 0 || !strings.Contains(res.stdout, "checkpoint") || !strings.Contains(res.stdout, "none") {
		t.Fatalf("status without a state index: exit %d\n%s\n%s", res.code, res.stdout, tail(res.stderr, 20))
	}
	if code, _ := esDo(t, h.es, esapi.IndicesExistsRequest{Index: []string{lone.state}}); code != 404 {
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
