//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// keylessRows reads a table's rows as sorted text lines (a multiset: duplicates kept), from
// the source with MySQL's rendering and from the target cast to text; the columns are
// plain types that render alike on both sides.
func keylessSource(t *testing.T, my *client.Conn, q string) []string {
	t.Helper()
	r, err := my.Execute(q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range r.Values {
		var parts []string
		for j := range r.Values[i] {
			if r.Values[i][j].Value() == nil {
				parts = append(parts, "NULL")
				continue
			}
			s, _ := r.GetString(i, j)
			parts = append(parts, s)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	sort.Strings(out)
	return out
}

func keylessTarget(t *testing.T, pg *pgx.Conn, q string) []string {
	t.Helper()
	rows, err := pg.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			if v == nil {
				parts = append(parts, "NULL")
				continue
			}
			parts = append(parts, fmt.Sprint(v))
		}
		out = append(out, strings.Join(parts, "|"))
	}
	sort.Strings(out)
	return out
}

func assertKeylessEqual(t *testing.T, my *client.Conn, pg *pgx.Conn, db, table string) {
	t.Helper()
	src := keylessSource(t, my, fmt.Sprintf("SELECT a, b, s FROM %s.%s", db, table))
	dst := keylessTarget(t, pg, fmt.Sprintf(`SELECT a, b, s FROM %s.%s`, pgx.Identifier{db}.Sanitize(), pgx.Identifier{table}.Sanitize()))
	if len(src) != len(dst) {
		t.Errorf("%s.%s: source has %d rows, target %d", db, table, len(src), len(dst))
	}
	for i := 0; i < len(src) && i < len(dst); i++ {
		if src[i] != dst[i] {
			t.Errorf("%s.%s: first difference at sorted row %d: source %q, target %q", db, table, i, src[i], dst[i])
			return
		}
	}
}

// TestKeylessPostgres: tables without a primary key (one of them with a keyless_index) are
// copied by the snapshot and streamed exactly: duplicates and NULLs, an update of one of
// two identical rows, deletes of one duplicate, a kill -9 while random changes stream; the
// target is then equal to the source as a multiset of rows.
func TestKeylessPostgres(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_keyless_pg"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE log (a INT, b INT, s VARCHAR(20))",
		"CREATE TABLE big (a INT, b INT, s VARCHAR(20))",
		"INSERT INTO log VALUES (1, 1, 'x'), (1, 1, 'x'), (2, NULL, NULL), (2, NULL, NULL), (3, 3, 'tab\\there')",
		"INSERT INTO big SELECT seq % 1000, seq % 7, IF(seq % 5 = 0, NULL, 'v') FROM seq_1_to_20000")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, strings.Replace(boundaryConfig(url, db, 4353), "[[tables]]", "[[tables]]\nsource = \""+db+".big\"\nkeyless_index = [\"a\"]\n[[tables]]", 1))
	p := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, 90*time.Second)
	assertKeylessEqual(t, my, pg, db, "log")
	assertKeylessEqual(t, my, pg, db, "big")
	var indexed bool
	if err := pg.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND tablename = 'big' AND indexdef LIKE '%(a)%')", db).Scan(&indexed); err != nil || !indexed {
		t.Errorf("keyless_index: no index on big (a) (%v)", err)
	}

	mustExec(t, my, "USE "+db,
		// One of two identical rows changes; one of two NULL duplicates goes.
		"UPDATE log SET s = 'y' WHERE a = 1 LIMIT 1",
		"DELETE FROM log WHERE a = 2 LIMIT 1",
		"UPDATE log SET b = 2 WHERE a = 2",
		"INSERT INTO log VALUES (3, 3, 'tab\\there')",
		"START TRANSACTION",
		"INSERT INTO log VALUES (9, 9, 'z')",
		"UPDATE log SET b = 10 WHERE a = 9",
		"DELETE FROM log WHERE a = 3 LIMIT 1",
		"COMMIT",
		"UPDATE big SET b = b + 100 WHERE a = 5",
		"DELETE FROM big WHERE a = 6 LIMIT 3",
		// A keyless table created while streaming.
		"CREATE TABLE late (a INT, b INT, s VARCHAR(20))",
		"INSERT INTO late VALUES (1, NULL, 'd'), (1, NULL, 'd'), (2, 2, NULL)",
		"UPDATE late SET s = 'e' WHERE a = 1 LIMIT 1",
		"DELETE FROM late WHERE a = 2")
	waitCaughtUp(t, my, pg, p, 60*time.Second)
	assertKeylessEqual(t, my, pg, db, "log")
	assertKeylessEqual(t, my, pg, db, "big")
	assertKeylessEqual(t, my, pg, db, "late")
	if t.Failed() {
		t.FailNow()
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		w := mysqlRoot(t)
		rng := rand.New(rand.NewSource(3))
		mustExec(t, w, "USE "+db)
		for i := 0; i < 400; i++ {
			a := rng.Intn(1000)
			switch rng.Intn(4) {
			case 0:
				mustExec(t, w, fmt.Sprintf("INSERT INTO big VALUES (%d, %d, NULL), (%d, %d, NULL)", a, a%7, a, a%7))
			case 1:
				mustExec(t, w, fmt.Sprintf("DELETE FROM big WHERE a = %d LIMIT 1", a))
			case 2:
				mustExec(t, w, fmt.Sprintf("UPDATE big SET s = 'u%d' WHERE a = %d LIMIT 2", i, a))
			case 3:
				mustExec(t, w, "START TRANSACTION", fmt.Sprintf("UPDATE big SET b = NULL WHERE a = %d", a),
					fmt.Sprintf("INSERT INTO log VALUES (%d, NULL, 'k')", a), fmt.Sprintf("DELETE FROM log WHERE a = %d LIMIT 1", a), "COMMIT")
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case <-done:
		t.Log("the workload ended before the kill -9")
	default:
	}
	p.kill()
	p = startCLI(t, "run", "-c", cfg)
	<-done
	waitCaughtUp(t, my, pg, p, 90*time.Second)
	waitStreaming(t, p)
	p.stop(t)
	assertKeylessEqual(t, my, pg, db, "log")
	assertKeylessEqual(t, my, pg, db, "big")
}

// TestKeylessSnapshotResume: a table without a key copied before a kill -9 of the snapshot
// and changed before the resume is copied again under the resumed snapshot's newer view
// (it has no keys to read again); with the stream after it, it equals the source.
func TestKeylessSnapshotResume(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_keyless_resume"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE nk (a INT, b INT, s VARCHAR(20))",
		"CREATE TABLE k (id INT PRIMARY KEY, a INT, b INT, s VARCHAR(20))",
		"INSERT INTO nk SELECT seq % 5000, seq % 3, IF(seq % 4 = 0, NULL, 'v') FROM seq_1_to_150000",
		"INSERT INTO k SELECT seq, seq, seq % 3, 'k' FROM seq_1_to_100000")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, strings.Replace(configText("replicator", mysqlReplPass, url, `
[snapshot]
chunk_rows = 1000
parallelism = 2
[[tables]]
source = "`+db+`.*"
`), "server_id = 4201", "server_id = 4354", 1))
	p := startCLI(t, "snapshot", "-c", cfg)
	ctx := context.Background()
	deadline := time.Now().Add(120 * time.Second)
	for {
		var nkDone, kLeft int
		err := pg.QueryRow(ctx, `SELECT count(*) FILTER (WHERE done AND source_table = $1), count(*) FILTER (WHERE NOT done AND source_table = $2)
			FROM _replicator.snapshot_chunks`, db+".nk", db+".k").Scan(&nkDone, &kLeft)
		if err == nil && nkDone == 1 && kLeft > 0 {
			break
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("the snapshot could not be killed after copying nk and before finishing k (%v)\n%s", err, tail(p.output(), 10))
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	mustExec(t, my, "USE "+db,
		"UPDATE nk SET s = 'changed' WHERE a = 7 LIMIT 1",
		"DELETE FROM nk WHERE a = 8 LIMIT 2",
		"INSERT INTO nk VALUES (8, 1, NULL)")
	res := runCLI(t, 5*time.Minute, "snapshot", "-c", cfg)
	if res.code != 0 {
		t.Fatalf("resumed snapshot failed: %s\n%s", res.stdout, tail(res.stderr, 20))
	}
	if !strings.Contains(res.stderr, "copying them again under the newest") {
		t.Errorf("the keyless table was not copied again:\n%s", tail(res.stderr, 20))
	}
	mustExec(t, my, "UPDATE "+db+".nk SET b = 9 WHERE a = 9 LIMIT 1")
	p = startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, 2*time.Minute)
	waitStreaming(t, p)
	p.stop(t)
	assertKeylessEqual(t, my, pg, db, "nk")
	assertTableEqual(t, my, pg, db, "k", db, "k")
}

// TestKeylessCommitOutlivesKill: the streaming session of a replicator killed -9 can still
// commit its last batch after the restart took the instance lock (the lock session ends
// at once, the streaming one was inside COMMIT: a slow fsync on a loaded server). Read
// before that commit, the checkpoint is behind the rows, and the batch is applied twice:
// a table without a key cannot absorb that (its update no longer finds the row, or
// changes a second duplicate). The restart must end the dead process's sessions before
// it reads the checkpoint. A deferred trigger on the checkpoint holds the batch's COMMIT
// on an advisory lock this test holds, until after the restart began streaming.
func TestKeylessCommitOutlivesKill(t *testing.T) {
	h := newPGHarness(t)
	my := mysqlRoot(t)
	db := "it_keyless_late_commit"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE t (a INT, b INT, s VARCHAR(20))",
		"INSERT INTO t VALUES (1, 1, 'x'), (1, 1, 'x'), (2, NULL, 'y')")
	cfg := writeConfig(t, h.Config(db, "[apply]\nflush_interval = \"50ms\"\n"))
	p := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, h.pg, p, 90*time.Second)

	ctx := ctxBG()
	hold := pgConnect(t, h.url)
	target := pgx.Identifier{db, "t"}.Sanitize()
	for _, q := range []string{
		"SELECT pg_advisory_lock(4242)",
		// Only the batch that holds the update waits: one that merely moves the checkpoint
		// must not be the one in flight.
		`CREATE FUNCTION public.hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF EXISTS (SELECT 1 FROM ` + target + ` WHERE s = 'z') THEN
				PERFORM pg_advisory_xact_lock_shared(4242);
			END IF;
			RETURN NULL;
		END $$`,
		`CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT OR UPDATE ON _replicator.checkpoint
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.hold_commit()`,
	} {
		if _, err := hold.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(t, my, "USE "+db,
		"UPDATE t SET s = 'z' WHERE a = 1 LIMIT 1",
		"INSERT INTO t VALUES (3, 3, 'w')")
	var stuck int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := h.pg.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND application_name LIKE 'replicator%'`).Scan(&stuck)
		if err == nil {
			break
		}
		if !errors.Is(err, pgx.ErrNoRows) || time.Now().After(deadline) || p.exited() {
			t.Fatalf("the batch's COMMIT did not wait on the trigger (%v)\n%s", err, tail(p.output(), 20))
		}
	}
	p.kill()
	p = startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	// The dead process's COMMIT goes through now if its session is still there.
	if _, err := hold.Exec(ctx, "SELECT pg_advisory_unlock(4242)"); err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(ctx, "DROP TRIGGER hold_commit ON _replicator.checkpoint"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, my, "INSERT INTO "+db+".t VALUES (4, NULL, 'v')")
	waitCaughtUp(t, my, h.pg, p, 60*time.Second)
	assertKeylessEqual(t, my, h.pg, db, "t")
	if !strings.Contains(p.output(), "terminating them before reading the checkpoint") {
		t.Errorf("the restart did not end the crashed replicator's session %d:\n%s", stuck, tail(p.output(), 20))
	}
	var alive bool
	if err := h.pg.QueryRow(ctx, "SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $1", stuck).Scan(&alive); err != nil || alive {
		t.Errorf("the crashed replicator's backend %d still runs (%v)", stuck, err)
	}
	p.stop(t)
}
