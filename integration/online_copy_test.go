//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Online copies (replicator resnapshot) on PostgreSQL: a table copied again while 'run'
// streams a write load into it, with a reader counting the table throughout.

// onlineCopyStatus is one online copy as 'status --json' prints it.
type onlineCopyStatus struct {
	Table string `json:"table"`
	State string `json:"state"`
	Rows  int64  `json:"rows"`
	Error string `json:"error"`
}

// onlineCopies reads the online copies from 'replicator status --json'.
func onlineCopies(t testing.TB, cfg string) map[string]onlineCopyStatus {
	t.Helper()
	res := runCLI(t, 30*time.Second, "status", "-c", cfg, "--json")
	if res.code != 0 {
		t.Fatalf("status: exit %d\n%s", res.code, res.stderr)
	}
	var rep struct {
		Copies []onlineCopyStatus `json:"online_copies"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("status --json: %v\n%s", err, res.stdout)
	}
	out := map[string]onlineCopyStatus{}
	for _, c := range rep.Copies {
		out[c.Table] = c
	}
	return out
}

// waitCopy waits until the online copy of table is in state (or failed, which fails the
// test unless state is "failed").
func waitCopy(t testing.TB, cfg, table, state string, p *proc, timeout time.Duration) onlineCopyStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c := onlineCopies(t, cfg)[table]
		if c.State == state {
			return c
		}
		if c.State == "failed" {
			t.Fatalf("the online copy of %s failed: %s\n%s", table, c.Error, tail(p.output(), 30))
		}
		if p.exited() {
			t.Fatalf("replicator exited (%v) while %s was copied online\n%s", p.err, table, tail(p.output(), 40))
		}
		if time.Now().After(deadline) {
			t.Fatalf("the online copy of %s is %q after %s, not %q\n%s", table, c.State, timeout, state, tail(grepLines(p.output(), `"level":"(INFO|WARN|ERROR)"`), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tableOID is the PostgreSQL table's oid: a swapped-in copy is a new table.
func tableOID(t testing.TB, url, schema, table string) uint32 {
	t.Helper()
	pg := pgConnect(t, url)
	defer pg.Close(context.Background())
	var oid uint32
	if err := pg.QueryRow(context.Background(), "SELECT to_regclass($1)::oid", pgx.Identifier{schema, table}.Sanitize()).Scan(&oid); err != nil {
		t.Fatal(err)
	}
	return oid
}

// tableIndexes lists a table's indexes (name and definition, the schema left out), one
// per line.
func tableIndexes(t testing.TB, url, schema, table string) string {
	t.Helper()
	pg := pgConnect(t, url)
	defer pg.Close(context.Background())
	var s string
	if err := pg.QueryRow(context.Background(), `SELECT string_agg(indexname || ': ' || replace(indexdef, schemaname || '.', ''), E'\n' ORDER BY indexname)
		FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`, schema, table).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// countReader counts the table every few milliseconds until stop, and reports the
// smallest count and any error a reader saw.
func countReader(t testing.TB, url, schema, table string, stop <-chan struct{}) func() (minCount int64, reads int, errs []string) {
	var wg sync.WaitGroup
	var minC atomic.Int64
	minC.Store(1 << 62)
	var n int
	var bad []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		pg := pgConnect(t, url)
		defer pg.Close(context.Background())
		q := "SELECT count(*) FROM " + pgx.Identifier{schema, table}.Sanitize()
		for {
			select {
			case <-stop:
				return
			default:
			}
			var c int64
			if err := pg.QueryRow(context.Background(), q).Scan(&c); err != nil {
				bad = append(bad, err.Error())
				time.Sleep(50 * time.Millisecond)
				continue
			}
			n++
			if c < minC.Load() {
				minC.Store(c)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() (int64, int, []string) { wg.Wait(); return minC.Load(), n, bad }
}

// TestResnapshotPostgres copies a table again under a write load, with a reader
// counting it throughout and a DDL in the middle of the copy: the reader never sees a
// part of the table, the copy is swapped in (a new table), and source and target end
// row by row equal while the stream goes on.
func TestResnapshotPostgres(t *testing.T) {
	const db = "it_online_pg"
	rows := faultSize("REPLICATOR_ONLINE_ROWS", 60000, 1000000)
	faultSetup(t, db, rows)
	url := freshPGDatabase(t)
	cfg := writeConfig(t, faultConfig(url, db, ""))
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	waitPGCaughtUp(t, url, p, time.Minute)
	before := tableOID(t, url, db, "wl")
	indexesBefore := tableIndexes(t, url, db, "wl")

	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	stopOnCleanup(t, stop, wait)
	stopReader := make(chan struct{})
	readerDone := countReader(t, url, db, "wl", stopReader)
	time.Sleep(time.Second)

	res := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".wl")
	if res.code != 0 || !strings.Contains(res.stdout, "copy requested") {
		t.Fatalf("resnapshot: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	again := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".wl")
	if again.code != 0 || !strings.Contains(again.stdout, "already requested or being copied") {
		t.Fatalf("second resnapshot: exit %d\n%s\n%s", again.code, again.stdout, again.stderr)
	}
	// A DDL while the table is copied: the copy starts again with the new definition. The
	// state is read from the target directly (status takes longer than a small copy).
	pgState := pgConnect(t, url)
	copying := func() bool {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) && !p.exited() {
			var state string
			var n int64
			err := pgState.QueryRow(context.Background(), "SELECT state, rows FROM _replicator.online_copies WHERE source_table = $1", db+".wl").Scan(&state, &n)
			if err == nil && state == "copying" && n > 0 {
				return true
			}
			if err == nil && state == "done" {
				return false
			}
			time.Sleep(2 * time.Millisecond)
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
	my := mysqlRoot(t)
	mustExec(t, my, "ALTER TABLE `"+db+"`.wl ADD COLUMN extra INT NOT NULL DEFAULT 7")
	my.Close()
	done := waitCopy(t, cfg, db+".wl", "done", p, copyTimeout(rows))
	if !waitOutput(p, "DDL on a table being copied online", 10*time.Second) {
		t.Errorf("the DDL during the copy did not start it again\n%s", grepLines(p.output(), "DDL|online copy"))
	}
	time.Sleep(time.Second) // reads after the swap
	close(stopReader)
	minCount, reads, errs := readerDone()
	after := tableOID(t, url, db, "wl")
	finishScenario(t, url, cfg, p, stop, wait)
	t.Logf("online copy done: %d rows copied; the reader counted %d times, never fewer than %d rows; table oid %d -> %d", done.Rows, reads, minCount, before, after)
	if before == after {
		t.Errorf("the table was not swapped: oid %d before and after", before)
	}
	if got := tableIndexes(t, url, db, "wl"); got != indexesBefore {
		t.Errorf("indexes after the swap:\n%s\nbefore:\n%s", got, indexesBefore)
	}
	if len(errs) > 0 {
		t.Errorf("the reader saw %d errors, first: %s", len(errs), errs[0])
	}
	// The workload keeps ids 1..10000 churning above the seed; a part-loaded table would
	// count far fewer.
	if reads == 0 || minCount < int64(rows-10000) {
		t.Errorf("the reader saw %d rows at least (%d reads): a part of the table", minCount, reads)
	}
}

// TestResnapshotKillPostgres kills 'run' (SIGKILL, at a chunk written but not committed)
// during an online copy: the next run resumes the copy and ends equal.
func TestResnapshotKillPostgres(t *testing.T) {
	const db = "it_online_kill_pg"
	faultSetup(t, db, 40000)
	url := freshPGDatabase(t)
	// No flush_interval: a batch is handed over whenever the target is free, so the
	// chunks before the kill are committed in batches of their own.
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[apply]
batch_rows = 2000
[snapshot]
chunk_rows = 2000
[[tables]]
source = "`+db+`.*"
`))
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	waitPGCaughtUp(t, url, p, time.Minute)
	p.stop(t)

	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	stopOnCleanup(t, stop, wait)
	if res := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".wl"); res.code != 0 {
		t.Fatalf("resnapshot: exit %d\n%s", res.code, res.stderr)
	}
	k := startCLIEnv(t, []string{"REPLICATOR_CRASH_AT=online.chunk-applied:15"}, "run", "-c", cfg)
	if !waitExit(k, 2*time.Minute) {
		t.Fatalf("the armed run did not crash at the 15th chunk\n%s", tail(k.output(), 30))
	}
	c := onlineCopies(t, cfg)[db+".wl"]
	if c.State != "copying" || c.Rows == 0 {
		t.Fatalf("after the kill the copy is %q with %d rows; want copying with the chunks committed before\n%s", c.State, c.Rows, tail(k.output(), 20))
	}
	t.Logf("killed at the 15th chunk with %d rows copied", c.Rows)
	p2 := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p2)
	if !waitOutput(p2, `"resumed":true`, time.Minute) {
		t.Errorf("the online copy did not resume from its last chunk\n%s", tail(p2.output(), 30))
	}
	waitCopy(t, cfg, db+".wl", "done", p2, 4*time.Minute)
	if !strings.Contains(p2.output(), "online copy: indexes built beside the stream") {
		t.Errorf("the copy's secondary index was not built beside the stream\n%s", grepLines(p2.output(), "online copy"))
	}
	if got, want := tableIndexes(t, url, db, "wl"), "(grp)"; !strings.Contains(got, want) {
		t.Errorf("indexes after the swap:\n%s\nwant %s among them", got, want)
	}
	finishScenario(t, url, cfg, p2, stop, wait)
}

// extraWorkload writes to db.extra (id, v) until stop: inserts, updates, key moves and
// deletes over ids 1..30000, in single statements and small transactions.
func extraWorkload(t testing.TB, db string, stop <-chan struct{}) func() int {
	var wg sync.WaitGroup
	var n atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := mysqlRoot(t)
		defer c.Close()
		mustExec(t, c, "USE `"+db+"`")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := (i*7919)%30000 + 1
			var err error
			switch i % 5 {
			case 0:
				_, err = c.Execute("INSERT INTO extra (id, v, note) VALUES (?, ?, 'added') ON DUPLICATE KEY UPDATE v = v + 1", id, i)
			case 1, 2:
				_, err = c.Execute("UPDATE extra SET v = ?, note = CONCAT('u', ?) WHERE id = ?", i, i, id)
			case 3:
				_, err = c.Execute("DELETE FROM extra WHERE id = ?", id)
			default:
				if _, err = c.Execute("BEGIN"); err == nil {
					_, err = c.Execute("UPDATE extra SET v = v - 1 WHERE id BETWEEN ? AND ?", id, id+20)
					if err == nil {
						_, err = c.Execute("UPDATE IGNORE extra SET id = id + 30000 WHERE id = ?", id+21)
					}
					if err == nil {
						_, err = c.Execute("COMMIT")
					} else {
						c.Execute("ROLLBACK")
					}
				}
			}
			if err != nil {
				t.Errorf("workload on extra: %v", err)
				return
			}
			n.Add(1)
		}
	}()
	return func() int { wg.Wait(); return int(n.Load()) }
}

// TestAddTableOnlinePostgres adds a table to the rules of a pipeline that already
// streams: the next 'run' copies it online under a write load on it, and it ends row by
// row equal, as does the table streamed all along.
func TestAddTableOnlinePostgres(t *testing.T) {
	const db = "it_online_add_pg"
	faultSetup(t, db, 5000)
	my := mysqlRoot(t)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE extra (id INT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(40) NULL, KEY (v))",
		"INSERT INTO extra SELECT seq, seq * 2, CONCAT('seed ', seq) FROM seq_1_to_25000")
	url := freshPGDatabase(t)
	one := configText("replicator", mysqlReplPass, url, `
[apply]
flush_interval = "100ms"
[snapshot]
chunk_rows = 2000
[[tables]]
source = "`+db+`.wl"
`)
	cfg := writeConfig(t, one)
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	waitPGCaughtUp(t, url, p, time.Minute)
	p.stop(t)
	pg := pgConnect(t, url)
	if n := pgScalar(t, pg, "SELECT count(*) FROM pg_tables WHERE schemaname = '"+db+"' AND tablename = 'extra'"); n != "0" {
		t.Fatalf("extra is in the target before its rule was added (%s)", n)
	}

	// While stopped, the table not selected yet changes shape and rows.
	mustExec(t, my, "USE `"+db+"`", "ALTER TABLE extra ADD COLUMN extra2 INT NOT NULL DEFAULT 3", "UPDATE extra SET extra2 = id % 5 WHERE id < 500")
	stop := make(chan struct{})
	wait := extraWorkload(t, db, stop)
	stopOnCleanup(t, stop, func() (int, int) { return wait(), 0 })
	time.Sleep(500 * time.Millisecond)
	cfg = writeConfig(t, strings.Replace(one, db+".wl", db+".*", 1))
	p2 := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p2)
	c := waitCopy(t, cfg, db+".extra", "done", p2, 4*time.Minute)
	close(stop)
	n := wait()
	waitPGCaughtUp(t, url, p2, 2*time.Minute)
	rows := assertTableEqual(t, my, pg, db, "extra", db, "extra")
	assertTableEqual(t, my, pg, db, "wl", db, "wl")
	assertVerifyEqual(t, cfg)
	t.Logf("extra copied online: %d rows copied, %d workload statements during the copy, %d rows equal", c.Rows, n, rows)
	p2.stop(t)
}

// TestRunBeforeAnyTablePostgres starts 'run' while no table its rules select exists: it
// streams, and the tables created later come with their rows.
func TestRunBeforeAnyTablePostgres(t *testing.T) {
	const db = "it_online_empty_pg"
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	url := freshPGDatabase(t)
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[[tables]]
source = "`+db+`.*"
`))
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
	waitPGCaughtUp(t, url, p, time.Minute)
	pg := pgConnect(t, url)
	rows := assertTableEqual(t, my, pg, db, "later", db, "later")
	assertVerifyEqual(t, cfg)
	t.Logf("run started with no table; 'later' created afterwards: %d rows equal", rows)
	p.stop(t)
}

// TestBackfillComputedColumnsPostgres adds, mid-stream and under writes, columns whose
// existing values the source computes and the binary log does not carry (generated STORED
// and VIRTUAL, AUTO_INCREMENT, an expression default): each is added plain and the table
// is copied again online, so every row ends with the source's values.
func TestBackfillComputedColumnsPostgres(t *testing.T) {
	const db = "it_online_gen_pg"
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL, doc VARCHAR(200) NOT NULL)",
		`INSERT INTO t SELECT seq, seq % 1000, CONCAT('{"name": "n', seq, '"}') FROM seq_1_to_8000`)
	url := freshPGDatabase(t)
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[apply]
flush_interval = "50ms"
[snapshot]
chunk_rows = 1000
[[tables]]
source = "`+db+`.*"
`))
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	waitPGCaughtUp(t, url, p, time.Minute)
	addComputedColumnsUnderWrites(t, db, 9000)
	waitPGCaughtUp(t, url, p, 2*time.Minute)
	c := waitCopy(t, cfg, db+".t", "done", p, 4*time.Minute)
	waitPGCaughtUp(t, url, p, time.Minute)
	pg := pgConnect(t, url)
	rows := assertTableEqual(t, my, pg, db, "t", db, "t")
	assertVerifyEqual(t, cfg)
	if n := pgScalar(t, pg, "SELECT count(*) FROM "+db+".t WHERE g_virtual IS NULL OR seq IS NULL"); n != "0" {
		t.Errorf("%s rows without the computed values", n)
	}
	t.Logf("4 computed columns added under writes; the last online copy wrote %d rows; %d rows equal", c.Rows, rows)
	p.stop(t)
}

// addComputedColumnsUnderWrites adds to db.t (id, n, doc), while a writer inserts and
// updates rows with ids up to maxID, a generated STORED and a VIRTUAL column, an
// AUTO_INCREMENT column and one with an expression default: columns whose existing
// values the source computes and the binary log does not carry.
func addComputedColumnsUnderWrites(t *testing.T, db string, maxID int) {
	t.Helper()
	my := mysqlRoot(t)
	defer my.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopOnCleanup(t, stop, func() (int, int) { wg.Wait(); return 0, 0 })
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := mysqlRoot(t)
		defer c.Close()
		mustExec(t, c, "USE `"+db+"`")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := (i*131)%maxID + 1
			var err error
			if i%4 == 0 {
				_, err = c.Execute("INSERT INTO t (id, n, doc) VALUES (?, ?, '{\"name\": \"new\"}') ON DUPLICATE KEY UPDATE n = n + 1", id, i%1000)
			} else {
				_, err = c.Execute("UPDATE t SET n = n + 1 WHERE id = ?", id)
			}
			if err != nil {
				t.Errorf("workload: %v", err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for _, q := range []string{
		"ALTER TABLE t ADD COLUMN g_stored INT AS (n * 2) STORED",
		"ALTER TABLE t ADD COLUMN g_virtual VARCHAR(220) AS (JSON_VALUE(doc, '$.name')) VIRTUAL",
		"ALTER TABLE t ADD COLUMN seq INT NOT NULL AUTO_INCREMENT, ADD UNIQUE KEY (seq)",
		"ALTER TABLE t ADD COLUMN created VARCHAR(40) NOT NULL DEFAULT (CONCAT('d', id))",
	} {
		mustExec(t, my, "USE `"+db+"`", q)
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
}

// TestResnapshotKeylessRefusedPostgres: a table without a key cannot be copied online;
// the request fails with the reason in status and the stream goes on.
func TestResnapshotKeylessRefusedPostgres(t *testing.T) {
	const db = "it_online_kl_pg"
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`", "CREATE TABLE kl (a INT NOT NULL, b VARCHAR(10) NULL)", "INSERT INTO kl VALUES (1, 'x'), (1, 'x'), (2, NULL)")
	url := freshPGDatabase(t)
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[[tables]]
source = "`+db+`.*"
`))
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	waitPGCaughtUp(t, url, p, time.Minute)
	if res := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".kl"); res.code != 0 {
		t.Fatalf("resnapshot: exit %d\n%s", res.code, res.stderr)
	}
	c := waitCopy(t, cfg, db+".kl", "failed", p, time.Minute)
	if !strings.Contains(c.Error, "no primary key") {
		t.Errorf("failed copy's reason %q does not say the table has no key", c.Error)
	}
	res := runCLI(t, 30*time.Second, "status", "-c", cfg)
	if !strings.Contains(res.stdout, "online copy") || !strings.Contains(res.stdout, "failed: the table has no primary key") {
		t.Errorf("status does not show the failed copy:\n%s", res.stdout)
	}
	mustExec(t, my, "USE `"+db+"`", "INSERT INTO kl VALUES (3, 'after')")
	waitPGCaughtUp(t, url, p, time.Minute)
	pg := pgConnect(t, url)
	if n := pgScalar(t, pg, "SELECT count(*) FROM "+db+".kl"); n != "4" {
		t.Errorf("target holds %s rows of kl, want 4 (the stream goes on after the refused copy)", n)
	}
	p.stop(t)
}

// TestAddTableAfterDowntimePostgres: while 'run' was stopped, a table matching the rules
// was created, filled and altered. The next run copies it online (its definition read
// from the source's current schema) while the stream replays its CREATE, its rows under
// the older definition and its ALTER: the copy starts again at each DDL, the rows of the
// older definition are left to it, and the table ends row by row equal.
func TestAddTableAfterDowntimePostgres(t *testing.T) {
	const db = "it_online_down_pg"
	faultSetup(t, db, 2000)
	url := freshPGDatabase(t)
	cfg := writeConfig(t, faultConfig(url, db, ""))
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	waitPGCaughtUp(t, url, p, time.Minute)
	p.stop(t)
	my := mysqlRoot(t)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE later (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)",
		"INSERT INTO later SELECT seq, CONCAT('v', seq) FROM seq_1_to_6000",
		"ALTER TABLE later ADD COLUMN w INT NOT NULL DEFAULT 5",
		"UPDATE later SET w = id % 7, v = 'changed' WHERE id % 3 = 0",
		"DELETE FROM later WHERE id % 10 = 0")
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 1, stop)
	stopOnCleanup(t, stop, wait)
	p2 := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p2)
	mustExec(t, my, "USE `"+db+"`", "INSERT INTO later (id, v, w) SELECT seq, 'while copied', 1 FROM seq_7001_to_7500")
	c := waitCopy(t, cfg, db+".later", "done", p2, 4*time.Minute)
	mustExec(t, my, "USE `"+db+"`", "UPDATE later SET v = 'after the copy' WHERE id % 11 = 0")
	finishScenario(t, url, cfg, p2, stop, wait)
	pg := pgConnect(t, url)
	rows := assertTableEqual(t, my, pg, db, "later", db, "later")
	t.Logf("table created and altered while stopped: copied online (%d rows in the last copy), %d rows equal", c.Rows, rows)
	p2.stop(t)
}

// stopOnCleanup stops a workload (closes stop unless the test did, and waits for it)
// when the test ends, so a failed test leaves no writer behind for the next ones.
func stopOnCleanup(t *testing.T, stop chan struct{}, wait func() (int, int)) {
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wait()
	})
}

// grepLines keeps the lines of out that match the regular expression re.
func grepLines(out, re string) string {
	rx := regexp.MustCompile(re)
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if rx.MatchString(l) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// copyTimeout is how long an online copy of rows rows may take on a busy two-core
// machine: 8 minutes, or a minute per 25,000 rows (a copy started again by a DDL under
// two writers and a reader took 4 minutes for 200,000 rows at a load average of 15).
func copyTimeout(rows int) time.Duration {
	return max(8*time.Minute, time.Duration(rows/25000)*time.Minute)
}
