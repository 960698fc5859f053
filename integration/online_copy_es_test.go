//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/replicator/replicator/crashpoint"
)

// Online copies (replicator resnapshot) on Elasticsearch: a table loaded again into a new
// generation of its index while 'run' streams, the alias moved to it at the end.

// storedCopy reads a table's online copy from the state index (real-time GET: status
// takes longer than a small copy).
func (et *esTarget) storedCopy(t *testing.T, table string) (state string, rows int64, index string) {
	t.Helper()
	code, body := esDo(t, et.es, esapi.GetRequest{Index: et.state, DocumentID: "copies-default"})
	if code == 404 {
		return "", 0, ""
	}
	var doc struct {
		Source struct {
			Copies []struct {
				Table string `json:"source_table"`
				State string `json:"state"`
				Rows  int64  `json:"rows"`
				Index string `json:"index"`
			} `json:"copies"`
		} `json:"_source"`
	}
	if code != 200 || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("read the online copies: %d %s", code, body)
	}
	for _, c := range doc.Source.Copies {
		if c.Table == table {
			return c.State, c.Rows, c.Index
		}
	}
	return "", 0, ""
}

// behind lists the concrete indexes an alias points to.
func (et *esTarget) behind(t *testing.T, alias string) []string {
	t.Helper()
	code, body := esDo(t, et.es, esapi.IndicesGetAliasRequest{Name: []string{alias}})
	if code == 404 {
		return nil
	}
	var m map[string]any
	if code != 200 || json.Unmarshal(body, &m) != nil {
		t.Fatalf("get alias %s: %d %s", alias, code, body)
	}
	var out []string
	for ix := range m {
		out = append(out, ix)
	}
	return out
}

// exists reports whether a concrete index exists.
func (et *esTarget) exists(t *testing.T, index string) bool {
	t.Helper()
	code, _ := esDo(t, et.es, esapi.IndicesExistsRequest{Index: []string{index}})
	return code == 200
}

// esCountReader counts the alias's documents every few milliseconds until stop (what a
// search reader sees: refreshed documents), and reports the smallest count and the
// errors it saw. A missing alias counts as an error.
func (et *esTarget) esCountReader(alias string, stop <-chan struct{}) func() (minCount int64, reads int, errs []string) {
	var wg sync.WaitGroup
	var minC atomic.Int64
	minC.Store(1 << 62)
	var n int
	var bad []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			res, err := esapi.CountRequest{Index: []string{alias}}.Do(ctx, et.es)
			var c struct {
				Count int64 `json:"count"`
			}
			switch {
			case err != nil:
				bad = append(bad, err.Error())
			case res.StatusCode != 200:
				bad = append(bad, res.String())
				res.Body.Close()
			default:
				err = json.NewDecoder(res.Body).Decode(&c)
				res.Body.Close()
				if err != nil {
					bad = append(bad, err.Error())
				} else {
					n++
					if c.Count < minC.Load() {
						minC.Store(c.Count)
					}
				}
			}
			cancel()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() (int64, int, []string) { wg.Wait(); return minC.Load(), n, bad }
}

// waitESCopy waits until the stored online copy of table is in state.
func (et *esTarget) waitESCopy(t *testing.T, table, state string, p *proc, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, rows, _ := et.storedCopy(t, table)
		if st == state {
			return rows
		}
		if st == "failed" {
			t.Fatalf("the online copy of %s failed\n%s", table, tail(grepLines(p.output(), "online copy"), 20))
		}
		if p.exited() {
			t.Fatalf("replicator exited (%v) while %s was copied online\n%s", p.err, table, tail(p.output(), 40))
		}
		if time.Now().After(deadline) {
			t.Fatalf("the online copy of %s is %q after %s, not %q\n%s", table, st, timeout, state, tail(grepLines(p.output(), `"level":"(INFO|WARN|ERROR)"`), 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestResnapshotElasticsearch copies a table again under a write load, with a reader
// counting the alias throughout and a DDL in the middle of the copy: the reader never
// sees a part of the table, the alias ends on a new index (the old one deleted), and the
// documents end equal to the source's rows while the stream goes on.
func TestResnapshotElasticsearch(t *testing.T) {
	const db = "it_online_es"
	rows := faultSize("REPLICATOR_ONLINE_ROWS", 60000, 1000000)
	faultSetup(t, db, rows)
	et := newESTarget(t, "online")
	cfg := writeConfig(t, et.config(db, `
[apply]
flush_interval = "100ms"
batch_rows = 2000
[snapshot]
chunk_rows = 2000
`))
	my := mysqlRoot(t)
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	et.waitCaughtUp(t, my, p, time.Minute)
	alias := et.index(db, "wl")
	before := et.behind(t, alias)
	if len(before) != 1 {
		t.Fatalf("alias %s points to %v", alias, before)
	}

	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	stopOnCleanup(t, stop, wait)
	stopReader := make(chan struct{})
	readerDone := et.esCountReader(alias, stopReader)
	time.Sleep(time.Second)

	res := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".wl")
	if res.code != 0 || !strings.Contains(res.stdout, "copy requested") {
		t.Fatalf("resnapshot: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	again := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".wl")
	if again.code != 0 || !strings.Contains(again.stdout, "already requested or being copied") {
		t.Fatalf("second resnapshot: exit %d\n%s\n%s", again.code, again.stdout, again.stderr)
	}
	// A DDL while the table is copied starts the copy again with the new definition.
	copying := func() bool {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) && !p.exited() {
			st, n, _ := et.storedCopy(t, db+".wl")
			if st == "copying" && n > 0 {
				return true
			}
			if st == "done" {
				return false
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("the online copy neither ran nor ended\n%s", tail(p.output(), 30))
		return false
	}
	for attempt := 1; !copying(); attempt++ {
		if attempt == 3 {
			t.Fatalf("the copy ended three times before a DDL could be run during it")
		}
		if res := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".wl"); res.code != 0 {
			t.Fatalf("resnapshot: exit %d\n%s", res.code, res.stderr)
		}
	}
	_, _, firstGen := et.storedCopy(t, db+".wl")
	mustExec(t, my, "ALTER TABLE `"+db+"`.wl ADD COLUMN extra INT NOT NULL DEFAULT 7")
	copied := et.waitESCopy(t, db+".wl", "done", p, copyTimeout(rows))
	if !waitOutput(p, "DDL on a table being copied online", 10*time.Second) {
		t.Errorf("the DDL during the copy did not start it again\n%s", grepLines(p.output(), "DDL|online copy"))
	}
	time.Sleep(1500 * time.Millisecond) // reads after the swap
	close(stopReader)
	minCount, reads, errs := readerDone()
	close(stop)
	n, _ := wait()
	et.waitCaughtUp(t, my, p, 3*time.Minute)
	after := et.behind(t, alias)
	t.Logf("online copy done: %d rows copied; the reader counted %d times, never fewer than %d documents; %v -> %v; %d workload statements", copied, reads, minCount, before, after, n)
	if len(after) != 1 || after[0] == before[0] {
		t.Errorf("alias %s points to %v after the copy, before %v: not moved", alias, after, before)
	}
	for _, ix := range append(before, firstGen) {
		if ix != "" && ix != after[0] && et.exists(t, ix) {
			t.Errorf("index %s still exists after the copy", ix)
		}
	}
	if len(errs) > 0 {
		t.Errorf("the reader saw %d errors, first: %s", len(errs), errs[0])
	}
	if reads == 0 || minCount < int64(rows-10000) {
		t.Errorf("the reader saw %d documents at least (%d reads): a part of the table", minCount, reads)
	}
	et.assertIndexEqual(t, my, db, "wl")
	assertVerifyEqual(t, cfg)
	p.stop(t)
}

// TestResnapshotKillElasticsearch kills 'run' (SIGKILL, at a chunk handed to a batch that
// is not sent yet) during an online copy: the next run resumes the copy and ends equal.
func TestResnapshotKillElasticsearch(t *testing.T) {
	const db = "it_online_kill_es"
	faultSetup(t, db, 40000)
	et := newESTarget(t, "onlinekill")
	cfg := writeConfig(t, et.config(db, `
[apply]
batch_rows = 2000
[snapshot]
chunk_rows = 2000
`))
	my := mysqlRoot(t)
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	et.waitCaughtUp(t, my, p, time.Minute)
	p.stop(t)

	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	stopOnCleanup(t, stop, wait)
	if res := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".wl"); res.code != 0 {
		t.Fatalf("resnapshot: exit %d\n%s", res.code, res.stderr)
	}
	k := startCLIEnv(t, []string{"REPLICATOR_CRASH_AT=online.chunk-applied:12"}, "run", "-c", cfg)
	if !waitExit(k, 2*time.Minute) {
		t.Fatalf("the armed run did not crash at the 12th chunk\n%s", tail(k.output(), 30))
	}
	st, copied, gen := et.storedCopy(t, db+".wl")
	if st != "copying" || copied == 0 {
		t.Fatalf("after the kill the copy is %q with %d rows; want copying with the chunks committed before\n%s", st, copied, tail(k.output(), 20))
	}
	t.Logf("killed at the 12th chunk with %d rows copied into %s", copied, gen)
	if c := onlineCopies(t, cfg)[db+".wl"]; c.State != "copying" || c.Rows != copied {
		t.Errorf("status shows the copy %q with %d rows, the state %q with %d", c.State, c.Rows, st, copied)
	}
	p2 := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p2)
	if !waitOutput(p2, `"resumed":true`, time.Minute) {
		t.Errorf("the online copy did not resume from its last chunk\n%s", tail(p2.output(), 30))
	}
	et.waitESCopy(t, db+".wl", "done", p2, 4*time.Minute)
	if got := et.behind(t, et.index(db, "wl")); len(got) != 1 || got[0] != gen {
		t.Errorf("the alias points to %v after the resumed copy, want the copy's index %s", got, gen)
	}
	close(stop)
	wait()
	et.waitCaughtUp(t, my, p2, 3*time.Minute)
	et.assertIndexEqual(t, my, db, "wl")
	assertVerifyEqual(t, cfg)
	p2.stop(t)
}

// TestAddTableOnlineElasticsearch adds a table to the rules of a pipeline that already
// streams: the next 'run' copies it online under a write load on it; its alias appears
// when the copy is complete, and it ends equal, as does the table streamed all along.
func TestAddTableOnlineElasticsearch(t *testing.T) {
	const db = "it_online_add_es"
	faultSetup(t, db, 3000)
	my := mysqlRoot(t)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE extra (id INT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(40) NULL, KEY (v))",
		"INSERT INTO extra SELECT seq, seq * 2, CONCAT('seed ', seq) FROM seq_1_to_25000")
	et := newESTarget(t, "onlineadd")
	one := et.config(db, `
[apply]
flush_interval = "100ms"
[snapshot]
chunk_rows = 2000
`)
	cfg := writeConfig(t, strings.Replace(one, `source = "`+db+`.*"`, `source = "`+db+`.wl"`, 1))
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	et.waitCaughtUp(t, my, p, time.Minute)
	p.stop(t)
	alias := et.index(db, "extra")
	if got := et.behind(t, alias); len(got) != 0 {
		t.Fatalf("extra is in the target before its rule was added (%v)", got)
	}

	stop := make(chan struct{})
	wait := extraWorkload(t, db, stop)
	stopOnCleanup(t, stop, func() (int, int) { return wait(), 0 })
	time.Sleep(500 * time.Millisecond)
	cfg = writeConfig(t, one)
	p2 := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p2)
	// Until the copy's last chunk the alias does not exist; from its swap on (a moment
	// before the copy is recorded done) it holds every row.
	deadline := time.Now().Add(4 * time.Minute)
	partial, seen := 0, 0
	for {
		st, _, _ := et.storedCopy(t, db+".extra")
		if st == "done" {
			break
		}
		if st == "failed" || p2.exited() || time.Now().After(deadline) {
			t.Fatalf("online copy of extra: %q\n%s", st, tail(grepLines(p2.output(), `"level":"(INFO|WARN|ERROR)"`), 30))
		}
		if len(et.behind(t, alias)) > 0 {
			seen++
			if n := esCount(t, et.es, alias, ""); n < 20000 {
				t.Errorf("alias %s holds %d documents while its table is copied: a part of it", alias, n)
				partial++
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if partial > 0 {
		t.Errorf("alias %s was read with a part of the table %d times (of %d reads)", alias, partial, seen)
	}
	close(stop)
	n := wait()
	et.waitCaughtUp(t, my, p2, 2*time.Minute)
	docs := et.assertIndexEqual(t, my, db, "extra")
	et.assertIndexEqual(t, my, db, "wl")
	assertVerifyEqual(t, cfg)
	t.Logf("extra copied online: %d workload statements during the copy, %d documents equal", n, docs)
	p2.stop(t)
}

// TestBackfillComputedColumnsElasticsearch adds generated, AUTO_INCREMENT and
// expression-default columns under writes: the documents of existing rows get the
// values only the source computed, through online copies.
func TestBackfillComputedColumnsElasticsearch(t *testing.T) {
	const db = "it_online_gen_es"
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL, doc VARCHAR(200) NOT NULL)",
		`INSERT INTO t SELECT seq, seq % 1000, CONCAT('{"name": "n', seq, '"}') FROM seq_1_to_6000`)
	et := newESTarget(t, "onlinegen")
	cfg := writeConfig(t, et.config(db, `
[apply]
flush_interval = "50ms"
[snapshot]
chunk_rows = 1000
`))
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	et.waitCaughtUp(t, my, p, time.Minute)
	addComputedColumnsUnderWrites(t, db, 7000)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	rows := et.waitESCopy(t, db+".t", "done", p, 4*time.Minute)
	et.waitCaughtUp(t, my, p, time.Minute)
	docs := et.assertIndexEqual(t, my, db, "t")
	assertVerifyEqual(t, cfg)
	if n := esCount(t, et.es, et.index(db, "t"), `{"bool":{"must_not":[{"exists":{"field":"g_virtual"}}]}}`); n != 0 {
		t.Errorf("%d documents without the computed values", n)
	}
	t.Logf("4 computed columns added under writes; the last online copy wrote %d rows; %d documents equal", rows, docs)
	p.stop(t)
}

// TestRunBeforeAnyTableElasticsearch starts 'run' while no table its rules select exists:
// it streams, and the tables created later come with their documents.
func TestRunBeforeAnyTableElasticsearch(t *testing.T) {
	const db = "it_online_empty_es"
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	et := newESTarget(t, "onlineempty")
	cfg := writeConfig(t, et.config(db, ""))
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	if !strings.Contains(p.output(), "no source table matches the [[tables]] rules yet") {
		t.Errorf("no warning that no table matches\n%s", tail(p.output(), 20))
	}
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE later (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)",
		"INSERT INTO later SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000",
		"UPDATE later SET v = 'changed' WHERE id % 3 = 0",
		"DELETE FROM later WHERE id % 5 = 0")
	et.waitCaughtUp(t, my, p, time.Minute)
	docs := et.assertIndexEqual(t, my, db, "later")
	assertVerifyEqual(t, cfg)
	t.Logf("run started with no table; 'later' created afterwards: %d documents equal", docs)
	p.stop(t)
}

// TestResnapshotKillAtSwapElasticsearch kills the online copy's batch right after the
// alias moved to the new generation, before the old generation is deleted: the restart
// deletes the old one (no alias points to it), the copy ends in the new one, and the index
// ends equal to the table with no generation left behind.
func TestResnapshotKillAtSwapElasticsearch(t *testing.T) {
	const db = "it_online_swapkill_es"
	faultSetup(t, db, 3000)
	et := newESTarget(t, "onlineswapkill")
	cfg := writeConfig(t, et.config(db, "[apply]\nflush_interval = \"50ms\"\n"))
	my := mysqlRoot(t)
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	et.waitCaughtUp(t, my, p, time.Minute)
	p.stop(t)
	alias := et.index(db, "wl")
	old := et.behind(t, alias)
	if len(old) != 1 {
		t.Fatalf("alias %s points to %v, want one index", alias, old)
	}
	if res := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".wl"); res.code != 0 {
		t.Fatalf("resnapshot: exit %d\n%s", res.code, res.stderr)
	}
	k := startCLIEnv(t, []string{crashpoint.Env + "=" + crashpoint.ElasticAliasSwapped}, "run", "-c", cfg)
	assertCrashed(t, k, crashpoint.ElasticAliasSwapped, 2*time.Minute)
	if now := et.behind(t, alias); len(now) != 1 || now[0] == old[0] || !et.exists(t, old[0]) {
		t.Fatalf("after the kill %s points to %v and %s exists: %v; want the alias moved, the old generation still there", alias, now, old[0], et.exists(t, old[0]))
	}
	mustExec(t, my, "USE "+db, "UPDATE wl SET note = 'after the kill' WHERE id % 10 = 0", "DELETE FROM wl WHERE id % 17 = 0",
		"INSERT INTO wl (id, grp, v) SELECT seq, 1, seq FROM seq_5001_to_5100")
	p2 := startCLI(t, "run", "-c", cfg)
	et.waitESCopy(t, db+".wl", "done", p2, 2*time.Minute)
	et.waitCaughtUp(t, my, p2, time.Minute)
	et.assertIndexEqual(t, my, db, "wl")
	if et.exists(t, old[0]) {
		t.Errorf("the generation %s the swap replaced still exists after the restart", old[0])
	}
	et.assertGenerationsAliased(t)
	p2.stop(t)
}

// TestResnapshotAfterRenameElasticsearch: a table renamed keeps its concrete index under
// its old name's generation; a new table created under the old name, copied online, must
// leave that index (the renamed table's documents) alone.
func TestResnapshotAfterRenameElasticsearch(t *testing.T) {
	const db = "it_online_rename_es"
	faultSetup(t, db, 2000)
	et := newESTarget(t, "onlinerename")
	cfg := writeConfig(t, et.config(db, "[apply]\nflush_interval = \"50ms\"\n"))
	my := mysqlRoot(t)
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	et.waitCaughtUp(t, my, p, time.Minute)
	mustExec(t, my, "USE "+db, "RENAME TABLE wl TO wl_old", "CREATE TABLE wl LIKE wl_old",
		"INSERT INTO wl (id, grp, v, note) SELECT seq, 2, seq, 'new table' FROM seq_1_to_500",
		"UPDATE wl_old SET note = 'renamed' WHERE id % 9 = 0")
	et.waitCaughtUp(t, my, p, time.Minute)
	if got, want := et.behind(t, et.index(db, "wl_old")), et.index(db, "wl")+"-g000001"; len(got) != 1 || got[0] != want {
		t.Fatalf("%s points to %v, want %s (the concrete index keeps its name)", et.index(db, "wl_old"), got, want)
	}
	if res := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".wl"); res.code != 0 {
		t.Fatalf("resnapshot: exit %d\n%s", res.code, res.stderr)
	}
	et.waitESCopy(t, db+".wl", "done", p, 2*time.Minute)
	et.waitCaughtUp(t, my, p, time.Minute)
	et.assertIndexEqual(t, my, db, "wl_old")
	et.assertIndexEqual(t, my, db, "wl")
	et.assertGenerationsAliased(t)
	p.stop(t)
	assertVerifyEqual(t, cfg)
}
