//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// countWatcher samples a target table's row count until stopped and remembers every
// count it saw: a reader of the target must only ever see whole source transactions.
type countWatcher struct {
	mu     sync.Mutex
	seen   map[int64]bool
	stop   chan struct{}
	done   chan struct{}
	errors int
}

func watchCount(t *testing.T, url, query string) *countWatcher {
	t.Helper()
	w := &countWatcher{seen: map[int64]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	conn := pgConnect(t, url)
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			var n int64
			err := conn.QueryRow(context.Background(), query).Scan(&n)
			w.mu.Lock()
			if err != nil {
				w.errors++ // the table does not exist yet
			} else {
				w.seen[n] = true
			}
			w.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *countWatcher) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// counts returns the distinct counts seen.
func (w *countWatcher) counts() []int64 {
	w.close()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []int64
	for n := range w.seen {
		out = append(out, n)
	}
	return out
}

func assertOnlyCounts(t *testing.T, w *countWatcher, allowed ...int64) {
	t.Helper()
	ok := map[int64]bool{}
	for _, n := range allowed {
		ok[n] = true
	}
	seen := w.counts()
	for _, n := range seen {
		if !ok[n] {
			t.Errorf("a reader of the target saw %d rows: part of a source transaction was visible (counts seen %v, allowed %v)", n, seen, allowed)
		}
	}
	t.Logf("counts seen by the reader: %v", seen)
}

// stopWhileApplying stops (SIGTERM, or SIGKILL with kill) the replicator while its target
// transaction has been writing for a while: the apply of a 150,000-row source transaction
// in 2,000-row parts takes over a second, so the stop lands inside it. The test's target
// database is its own, so a long writing transaction there is the replicator's.
func stopWhileApplying(t *testing.T, p *proc, url, want string, kill bool) {
	t.Helper()
	mon := pgConnect(t, url)
	start := time.Now()
	deadline := start.Add(90 * time.Second)
	caught := false
	for time.Now().Before(deadline) && !caught {
		if p.exited() {
			t.Fatalf("replicator exited: %v\n%s", p.err, tail(p.output(), 30))
		}
		var n int
		err := mon.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL
			  AND xact_start < now() - interval '300 milliseconds'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		caught = n > 0
		if !caught {
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("inside the apply after %s; stopping", time.Since(start).Round(time.Millisecond))
	if kill {
		p.kill()
	} else {
		p.stop(t)
	}
	if !caught {
		t.Fatalf("never saw the replicator inside the transaction's apply (checkpoint %s, source %s)", pgCheckpoint(url), want)
	}
	if cp := pgCheckpoint(url); gtidCovers(cp, want) {
		t.Fatalf("the checkpoint %s covers the transaction (%s) although the stop came while it was applied", cp, want)
	}
}

// TestBoundarySavepointTransaction is an ORM's nested transaction: rows, a SAVEPOINT,
// 150,000 more rows, a rolled-back inner savepoint, COMMIT. MariaDB writes the SAVEPOINT
// statements inside the transaction's event group; they are not its end. A stop (clean,
// then kill -9) while the transaction is applied loses none of it, and no reader of the
// target ever sees a part of it.
func TestBoundarySavepointTransaction(t *testing.T) {
	for _, kill := range []bool{false, true} {
		name := "sigterm"
		if kill {
			name = "sigkill"
		}
		t.Run(name, func(t *testing.T) {
			my := mysqlRoot(t)
			db := "it_bnd_sp_" + name
			freshMySQLDatabase(t, my, db)
			mustExec(t, my, "CREATE TABLE "+db+".t (id INT PRIMARY KEY, v INT, s VARCHAR(40))",
				"INSERT INTO "+db+".t VALUES (0, 0, 'before')")
			url := freshPGDatabase(t)
			pg := pgConnect(t, url)
			cfg := writeConfig(t, boundaryConfig(url, db, 4311))
			p := startCLI(t, "run", "-c", cfg)
			waitCaughtUp(t, my, pg, p, 60*time.Second)

			w := watchCount(t, url, "SELECT count(*) FROM "+db+".t")
			mustExec(t, my, "USE "+db, "START TRANSACTION",
				"INSERT INTO t VALUES (1, 1, 'first')",
				"SAVEPOINT sp1",
				"INSERT INTO t SELECT seq, seq, CONCAT('row ', seq) FROM seq_2_to_150001",
				"SAVEPOINT sp2",
				"INSERT INTO t VALUES (200000, 1, 'rolled back')",
				"ROLLBACK TO SAVEPOINT sp2",
				"UPDATE t SET v = -1 WHERE id = 0",
				"RELEASE SAVEPOINT sp1",
				"COMMIT")
			want := sourceGTID(t, my)
			stopWhileApplying(t, p, url, want, kill)

			p2 := startCLI(t, "run", "-c", cfg)
			waitCaughtUp(t, my, pg, p2, 120*time.Second)
			assertOnlyCounts(t, w, 1, 150002)
			if n := assertTableEqual(t, my, pg, db, "t", db, "t"); n != 150002 {
				t.Errorf("compared %d rows, want 150002", n)
			}
			p2.stop(t)
		})
	}
}

// TestBoundaryCreateTableSelect: CREATE TABLE ... SELECT of 150,000 rows is one event
// group (the CREATE, its rows, Xid); the table and its rows commit in one target
// transaction, and a stop in the middle loses nothing.
func TestBoundaryCreateTableSelect(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_bnd_ctas"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE "+db+".src (id INT PRIMARY KEY, v INT, s VARCHAR(40))",
		"INSERT INTO "+db+".src SELECT seq, seq * 3, CONCAT('row ', seq) FROM seq_1_to_150000")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, boundaryConfig(url, db, 4312))
	p := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, 120*time.Second)

	w := watchCount(t, url, "SELECT count(*) FROM "+db+".copy")
	mustExec(t, my, "CREATE TABLE "+db+".copy (PRIMARY KEY (id)) ENGINE=InnoDB SELECT id, v, s FROM "+db+".src")
	want := sourceGTID(t, my)
	stopWhileApplying(t, p, url, want, false)

	p2 := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p2, 120*time.Second)
	assertOnlyCounts(t, w, 150000)
	if n := assertTableEqual(t, my, pg, db, "copy", db, "copy"); n != 150000 {
		t.Errorf("compared %d rows, want 150000", n)
	}
	p2.stop(t)
}

// TestBoundaryXA: XA transactions prepared, interleaved with other writers, committed and
// rolled back, with replicator restarts (clean and kill -9) between a PREPARE and its
// decision. Prepared changes are invisible until XA COMMIT (the target equals what other
// sessions of the source see), rolled-back ones never appear, and the target ends equal to
// the source. PostgreSQL stores the prepared parts in _replicator.prepared_xa,
// Elasticsearch in the state index.
func TestBoundaryXA(t *testing.T) {
	// Serial: a prepared XA transaction is server state (other replicators store it, every
	// snapshot waits for it to be decided).
	forEachTargetSerial(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_bnd_xa")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db, "CREATE TABLE "+db+".t (id INT PRIMARY KEY, v INT, s VARCHAR(40))",
			"INSERT INTO "+db+".t SELECT seq, seq, 'seed' FROM seq_1_to_100")
		x1, x2, x3 := tg.Name()+"1", tg.Name()+"2", tg.Name()+"3"
		rollbackXAOnCleanup(t, my, x1, x2, x3)
		cfg := writeConfig(t, tg.Config(db, "[apply]\nbatch_rows = 2000\n[snapshot]\nchunk_rows = 5000\n"))
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 120*time.Second)

		// x1 prepared, another writer commits around it.
		xaSession(t, "USE "+db, "XA START '"+x1+"'", "INSERT INTO t VALUES (1000, 1, 'x1')", "UPDATE t SET v = -1 WHERE id = 1", "DELETE FROM t WHERE id = 2", "XA END '"+x1+"'", "XA PREPARE '"+x1+"'")
		mustExec(t, my, "INSERT INTO "+db+".t VALUES (2000, 2, 'plain')")
		// x2 prepared, later rolled back: an insert and an update that never happened.
		xaSession(t, "USE "+db, "XA START '"+x2+"'", "INSERT INTO t VALUES (3000, 3, 'x2')", "UPDATE t SET v = -3 WHERE id = 3", "XA END '"+x2+"'", "XA PREPARE '"+x2+"'")
		// x3: large (5,000 rows, stored in parts with batch_rows 2000).
		xaSession(t, "USE "+db, "XA START '"+x3+"'", "INSERT INTO t SELECT seq, seq, 'x3' FROM seq_10001_to_15000", "XA END '"+x3+"'", "XA PREPARE '"+x3+"'")
		mustExec(t, my, "UPDATE "+db+".t SET s = 'after prepares' WHERE id = 50")
		tg.WaitCaughtUp(t, my, p, 60*time.Second)
		if n := tg.Count(t, db, "t"); n != 101 {
			t.Fatalf("%d rows before any XA COMMIT, want 101", n)
		}
		if n := tg.AssertTableEqual(t, my, db, "t"); n != 101 {
			t.Fatalf("compared %d rows before any XA COMMIT, want 101", n)
		}
		if h, ok := tg.(*pgHarness); ok {
			if got := pgScalar(t, h.pg, "SELECT count(DISTINCT xid)::text FROM _replicator.prepared_xa"); got != "3" {
				t.Fatalf("%s prepared transactions stored, want 3", got)
			}
		}

		// The checkpoint is past all three PREPAREs; restart cleanly, then decide x1 and x2.
		p.stop(t)
		p = startCLI(t, "run", "-c", cfg)
		xaSession(t, "XA COMMIT '"+x1+"'")
		xaSession(t, "XA ROLLBACK '"+x2+"'")
		mustExec(t, my, "INSERT INTO "+db+".t VALUES (2001, 2, 'plain')")
		tg.WaitCaughtUp(t, my, p, 60*time.Second)
		if n := tg.AssertTableEqual(t, my, db, "t"); n != 102 { // x3 is still undecided
			t.Fatalf("compared %d rows with x3 prepared, want 102", n)
		}

		// kill -9 with x3 still prepared, commit it while the replicator is down.
		p.kill()
		xaSession(t, "XA COMMIT '"+x3+"'")
		p = startCLI(t, "run", "-c", cfg)
		mustExec(t, my, "UPDATE "+db+".t SET s = 'after' WHERE id IN (1000, 10001)")
		tg.WaitCaughtUp(t, my, p, 60*time.Second)
		if n := tg.AssertTableEqual(t, my, db, "t"); n != 100+2+5000 {
			t.Errorf("compared %d rows, want %d", n, 100+2+5000)
		}
		if h, ok := tg.(*pgHarness); ok {
			if got := pgScalar(t, h.pg, "SELECT count(*)::text FROM _replicator.prepared_xa"); got != "0" {
				t.Errorf("%s stored parts left after every XA transaction was decided", got)
			}
		}
		p.stop(t)
	})
}

// TestElasticVersionsWithStrictModeOff: with gtid_strict_mode off a second writer (another
// server id in the same domain) can write a lower sequence number after a higher one.
// Document versions follow the stream order, so its change is not refused as older.
func TestElasticVersionsWithStrictModeOff(t *testing.T) {
	my := mysqlRoot(t)
	r, err := my.Execute("SELECT @@GLOBAL.gtid_strict_mode")
	if err != nil {
		t.Fatal(err)
	}
	strict, _ := r.GetInt(0, 0)
	mustExec(t, my, "SET GLOBAL gtid_strict_mode = 0")
	t.Cleanup(func() { // before my is closed: cleanups run last-registered first
		mustExec(t, my, fmt.Sprintf("SET GLOBAL gtid_strict_mode = %d", strict))
	})
	db := "it_es_strict"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "CREATE TABLE "+db+".t (id INT PRIMARY KEY, v INT)", "INSERT INTO "+db+".t VALUES (1, 1), (2, 1)")
	et := newESTarget(t, "es-strict")
	cfg := writeConfig(t, strings.Replace(et.config(db, ""), "server_id = 4272", "server_id = 4315", 1))
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 120*time.Second)

	mustExec(t, my, "UPDATE "+db+".t SET v = 2 WHERE id = 1")
	seq := gtidSeq(t, sourceGTID(t, my))
	// The second writer: its own server id, a sequence number far below the last one.
	w := mysqlRoot(t)
	mustExec(t, w, "SET SESSION server_id = 77", fmt.Sprintf("SET SESSION gtid_seq_no = %d", seq-50),
		"UPDATE "+db+".t SET v = 3 WHERE id = 1", "UPDATE "+db+".t SET v = 3 WHERE id = 2")
	w.Close()
	mustExec(t, my, "UPDATE "+db+".t SET v = 4 WHERE id = 2")
	waitESRows(t, et, my, p, db)
	// Restart: replays from the checkpoint are still refused or equal, never older.
	p.stop(t)
	mustExec(t, my, "UPDATE "+db+".t SET v = 5 WHERE id = 1")
	p = startCLI(t, "run", "-c", cfg)
	waitESRows(t, et, my, p, db)
	if strings.Contains(p.output(), "refused as older") {
		t.Errorf("changes were refused as older:\n%s", tail(p.output(), 20))
	}
	p.stop(t)
}

// waitESRows waits until the index equals the table (positions do not order with strict
// mode off, so the checkpoint cannot be compared with the source's).
func waitESRows(t *testing.T, et *esTarget, my *client.Conn, p *proc, db string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if p.exited() {
			t.Fatalf("replicator exited: %v\n%s", p.err, tail(p.output(), 30))
		}
		docs := et.readIndex(t, et.index(db, "t"))
		r, err := my.Execute("SELECT id, v FROM " + db + ".t")
		if err != nil {
			t.Fatal(err)
		}
		equal := len(docs) == len(r.Values)
		for i := range r.Values {
			id, _ := r.GetInt(i, 0)
			v, _ := r.GetInt(i, 1)
			d := docs[fmt.Sprint(id)]
			if d == nil || fmt.Sprint(d["v"]) != fmt.Sprint(v) {
				equal = false
			}
		}
		if equal {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("index %v never equal to the table %v\n%s", docs, r.Values, tail(p.output(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func gtidSeq(t *testing.T, pos string) int64 {
	t.Helper()
	var d, s, q int64
	for _, g := range strings.Split(pos, ",") {
		if _, err := fmt.Sscanf(strings.TrimSpace(g), "%d-%d-%d", &d, &s, &q); err == nil && d == 0 {
			return q
		}
	}
	t.Fatalf("no domain 0 in %q", pos)
	return 0
}

// TestBoundaryCreateTableSelectElastic: a CREATE TABLE ... SELECT creates the index and
// its documents from one event group.
func TestBoundaryCreateTableSelectElastic(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_bnd_ctas_es"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE src (id INT PRIMARY KEY, v INT, s VARCHAR(40))",
		"INSERT INTO src SELECT seq, seq * 3, CONCAT('row ', seq) FROM seq_1_to_20000")
	et := newESTarget(t, "bnd-ctas")
	cfg := writeConfig(t, strings.Replace(et.config(db, "[apply]\nbatch_rows = 2000\n"), "server_id = 4272", "server_id = 4316", 1))
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 120*time.Second)
	mustExec(t, my, "CREATE TABLE "+db+".copy (PRIMARY KEY (id)) SELECT id, v, s FROM "+db+".src WHERE id % 2 = 0")
	p.kill()
	p = startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 120*time.Second)
	if n := et.assertIndexEqual(t, my, db, "copy"); n != 10000 {
		t.Errorf("compared %d documents, want 10000", n)
	}
	p.stop(t)
}

// TestBoundaryRefusedRowAfterSavepoint: the target refuses a row written after a
// SAVEPOINT. The stream stops naming the transaction, none of it is visible, the
// checkpoint stays before it, and once the cause is fixed a restart applies all of it.
func TestBoundaryRefusedRowAfterSavepoint(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_bnd_refused"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE t (id INT PRIMARY KEY, qty INT NOT NULL)", "INSERT INTO t VALUES (0, 0)")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, boundaryConfig(url, db, 4317))
	p := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, 60*time.Second)
	if _, err := pg.Exec(context.Background(), "ALTER TABLE "+db+".t ADD CONSTRAINT qty_not_negative CHECK (qty >= 0)"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, my, "START TRANSACTION", "INSERT INTO t VALUES (1, 1)", "SAVEPOINT sp",
		"INSERT INTO t SELECT seq, seq FROM seq_2_to_20001", "INSERT INTO t VALUES (99999, -5)", "COMMIT")
	r, err := my.Execute("SELECT @@last_gtid")
	if err != nil {
		t.Fatal(err)
	}
	gtid, _ := r.GetString(0, 0)
	if !waitExit(p, time.Minute) {
		t.Fatalf("replicator still running after PostgreSQL refused a row:\n%s", tail(p.output(), 20))
	}
	if msg := lastLine(p.output()); !strings.Contains(msg, gtid) || !strings.Contains(msg, "qty_not_negative") {
		t.Errorf("error does not name the transaction %s and the constraint: %s", gtid, msg)
	}
	if cp := pgCheckpoint(url); gtidCovers(cp, gtid) {
		t.Errorf("checkpoint %s moved past the refused transaction %s", cp, gtid)
	}
	if got := pgScalar(t, pg, "SELECT count(*)::text FROM "+db+".t"); got != "1" {
		t.Errorf("%s rows in the target, want 1: part of the refused transaction is visible", got)
	}
	if _, err := pg.Exec(context.Background(), "ALTER TABLE "+db+".t DROP CONSTRAINT qty_not_negative"); err != nil {
		t.Fatal(err)
	}
	p = startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, 60*time.Second)
	if n := assertTableEqual(t, my, pg, db, "t", db, "t"); n != 20003 {
		t.Errorf("compared %d rows, want 20003", n)
	}
	p.stop(t)
}

// TestStreamUndecodableColumnStops: MariaDB's COMPRESSED columns are logged with a column
// type the binlog decoder (go-mysql 1.13) cannot read. The stream stops at once naming the
// position and the fix, instead of retrying it forever as a lost connection.
func TestStreamUndecodableColumnStops(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_bnd_compressed"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1)")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, boundaryConfig(url, db, 4318))
	p := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, 60*time.Second)
	// In a database the configuration does not select: go-mysql decodes every table's
	// events, so the column stops the stream wherever it is (and the CREATE is not ours).
	other := db + "_other"
	freshMySQLDatabase(t, my, other)
	mustExec(t, my, "CREATE TABLE "+other+".z (id INT PRIMARY KEY, body TEXT COMPRESSED)", "INSERT INTO "+other+".z VALUES (1, REPEAT('x', 500))")
	if !waitExit(p, time.Minute) {
		t.Fatalf("replicator still running after an event it cannot decode:\n%s", tail(p.output(), 20))
	}
	msg := lastLine(p.output())
	for _, want := range []string{"COMPRESSED", "retrying cannot help", "after position 0-"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
}
