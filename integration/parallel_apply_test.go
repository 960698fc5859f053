//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// parallelTables are the tables of TestParallelApplyUnderKills: counters that only grow
// (acct: spread over the connections by key), rows whose unique email values move between
// them in one transaction (users: on one connection), rows only ever deleted (gone), a
// key moved by updates (mv), a foreign key cascade (parent, child: on the stream's
// connection, after the lanes commit) and a table without a key (logk).
var parallelTables = []string{"acct", "users", "gone", "mv", "parent", "child", "logk"}

func parallelSchema(db string) []string {
	return []string{
		"USE " + db,
		"CREATE TABLE acct (id INT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(40))",
		"CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(60) NOT NULL UNIQUE, v BIGINT NOT NULL)",
		"CREATE TABLE gone (id INT PRIMARY KEY, v BIGINT NOT NULL)",
		"CREATE TABLE mv (id INT PRIMARY KEY, v BIGINT NOT NULL)",
		"CREATE TABLE parent (id INT PRIMARY KEY, v BIGINT NOT NULL)",
		"CREATE TABLE child (id INT PRIMARY KEY, parent_id INT, v BIGINT NOT NULL, FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE)",
		"CREATE TABLE logk (a INT, b VARCHAR(20))",
	}
}

func parallelSeed(t *testing.T, my *client.Conn, db string, n int) {
	t.Helper()
	var acct, users, gone, mv, parent, child []string
	for i := 1; i <= n; i++ {
		acct = append(acct, fmt.Sprintf("(%d, 0, 'n%d')", i, i))
		users = append(users, fmt.Sprintf("(%d, 'u%d@example.com', 0)", i, i))
		gone = append(gone, fmt.Sprintf("(%d, %d)", i, i))
		mv = append(mv, fmt.Sprintf("(%d, 0)", i))
		if i <= n/10 {
			parent = append(parent, fmt.Sprintf("(%d, 0)", i))
		}
		child = append(child, fmt.Sprintf("(%d, %d, 0)", i, i%(n/10)+1))
	}
	mustExec(t, my, "USE "+db,
		"INSERT INTO acct VALUES "+strings.Join(acct, ","),
		"INSERT INTO users VALUES "+strings.Join(users, ","),
		"INSERT INTO gone VALUES "+strings.Join(gone, ","),
		"INSERT INTO mv VALUES "+strings.Join(mv, ","),
		"INSERT INTO parent VALUES "+strings.Join(parent, ","),
		"INSERT INTO child VALUES "+strings.Join(child, ","),
		"INSERT INTO logk VALUES (1, 'a'), (2, 'b'), (3, 'c')")
}

// parallelWorkload runs multi-statement transactions over all the tables until stop (at
// most maxTxns per worker):
// counters grow, emails swap between two rows through a free value, rows of gone are
// deleted, mv rows move to new keys, parents are deleted (their children cascade) and
// the keyless table is written.
func parallelWorkload(t *testing.T, db string, n, workers, maxTxns int, stop <-chan struct{}) func() int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for w := range workers {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			c, err := client.Connect(mysqlHost+":"+mysqlPort, "root", mysqlRootPass, db)
			if err != nil {
				t.Errorf("workload connect: %v", err)
				return
			}
			defer c.Close()
			rng := rand.New(rand.NewSource(seed))
			txns := 0
			defer func() { mu.Lock(); total += txns; mu.Unlock() }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				stmts := []string{"BEGIN"}
				for range 1 + rng.Intn(6) {
					stmts = append(stmts, fmt.Sprintf("UPDATE acct SET v = v + 1, note = 'w%d' WHERE id IN (%d, %d, %d)", w, rng.Intn(n)+1, rng.Intn(n)+1, rng.Intn(n)+1))
				}
				switch rng.Intn(6) {
				case 0:
					a, b := rng.Intn(n)+1, rng.Intn(n)+1
					if a != b {
						stmts = append(stmts,
							fmt.Sprintf("SELECT email INTO @ea FROM users WHERE id = %d", a),
							fmt.Sprintf("SELECT email INTO @eb FROM users WHERE id = %d", b),
							fmt.Sprintf("UPDATE users SET email = 'tmp-%d@x', v = v + 1 WHERE id = %d", w, a),
							fmt.Sprintf("UPDATE users SET email = @ea, v = v + 1 WHERE id = %d", b),
							fmt.Sprintf("UPDATE users SET email = @eb, v = v + 1 WHERE id = %d", a))
					}
				case 1:
					stmts = append(stmts, fmt.Sprintf("DELETE FROM gone WHERE id = %d", rng.Intn(n)+1))
				case 2:
					stmts = append(stmts, fmt.Sprintf("UPDATE IGNORE mv SET id = id + %d, v = v + 1 WHERE id = %d", n+rng.Intn(n), rng.Intn(2*n)+1))
				case 3:
					if rng.Intn(4) == 0 {
						stmts = append(stmts, fmt.Sprintf("DELETE FROM parent WHERE id = %d", rng.Intn(n/10)+1))
					} else {
						stmts = append(stmts, fmt.Sprintf("UPDATE child SET v = v + 1 WHERE id = %d", rng.Intn(n)+1))
					}
				case 4:
					stmts = append(stmts, fmt.Sprintf("INSERT INTO logk VALUES (%d, 'w%d')", rng.Intn(100), w),
						fmt.Sprintf("DELETE FROM logk WHERE a = %d LIMIT 1", rng.Intn(100)))
				}
				stmts = append(stmts, "COMMIT")
				for _, s := range stmts {
					if _, err = c.Execute(s); err != nil {
						break
					}
				}
				if err != nil {
					_, _ = c.Execute("ROLLBACK")
					if !strings.Contains(err.Error(), "Deadlock") && !strings.Contains(err.Error(), "Lock wait") && !strings.Contains(err.Error(), "Duplicate") {
						t.Errorf("workload: %v", err)
						return
					}
					continue
				}
				txns++
				if txns == maxTxns {
					return
				}
				// Paced: the target's checking triggers cost more than the rows.
				time.Sleep(10 * time.Millisecond)
			}
		}(int64(w) + time.Now().UnixNano())
	}
	return func() int { wg.Wait(); return total }
}

// TestParallelApplyUnderKills streams with apply.parallelism = 4 under a multi-table
// transactional workload and kills the replicator four times exactly between the extra
// connections' commit of their shares and the checkpoint's (stream.lanes-committed). Row
// triggers on the target record any row that goes back: a counter that decreases, a
// deleted row that comes back. A restart whose first batch held fewer transactions than
// the lanes had committed would write their rows back to older values. In the end there
// is no such record and every table is row-by-row equal.
func TestParallelApplyUnderKills(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_parallel_apply"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, parallelSchema(db)...)
	const n = 2000
	parallelSeed(t, my, db, n)
	h := newPGHarness(t)
	cfg := writeConfig(t, h.Config(db, "[apply]\nparallelism = 4\nbatch_rows = 300\n"))

	p := startCLI(t, "run", "-c", cfg)
	h.WaitCaughtUp(t, my, p, 90*time.Second)
	p.stop(t)
	ctx := context.Background()
	// Deferred constraint triggers run at each commit and compare the row as that commit
	// leaves it with the value last committed: what a reader can see. (A batch applied in
	// parts may write a row more than once inside its transaction; only commits count.)
	for _, q := range []string{
		"CREATE TABLE public.regressions (tbl text, id bigint, old bigint, new bigint, at timestamptz DEFAULT clock_timestamp())",
		"CREATE TABLE public.last_v (tbl text, id bigint, v bigint, PRIMARY KEY (tbl, id))",
		"CREATE TABLE public.deleted_ids (tbl text, id bigint, PRIMARY KEY (tbl, id))",
		`CREATE FUNCTION public.check_v() RETURNS trigger LANGUAGE plpgsql AS $$
		 DECLARE cur bigint; prev bigint;
		 BEGIN
		   EXECUTE format('SELECT v FROM %I.%I WHERE id = $1', TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO cur USING NEW.id;
		   IF cur IS NULL THEN RETURN NULL; END IF;
		   SELECT v INTO prev FROM public.last_v WHERE tbl = TG_TABLE_NAME AND id = NEW.id;
		   IF prev IS NOT NULL AND cur < prev THEN INSERT INTO public.regressions VALUES (TG_TABLE_NAME, NEW.id, prev, cur); END IF;
		   INSERT INTO public.last_v VALUES (TG_TABLE_NAME, NEW.id, cur) ON CONFLICT (tbl, id) DO UPDATE SET v = EXCLUDED.v;
		   RETURN NULL;
		 END $$`,
		`CREATE FUNCTION public.note_delete() RETURNS trigger LANGUAGE plpgsql AS $$
		 DECLARE cur bigint;
		 BEGIN
		   EXECUTE format('SELECT v FROM %I.%I WHERE id = $1', TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO cur USING OLD.id;
		   IF cur IS NULL THEN INSERT INTO public.deleted_ids VALUES (TG_TABLE_NAME, OLD.id) ON CONFLICT DO NOTHING; END IF;
		   RETURN NULL;
		 END $$`,
		`CREATE FUNCTION public.no_return() RETURNS trigger LANGUAGE plpgsql AS $$
		 DECLARE cur bigint;
		 BEGIN
		   EXECUTE format('SELECT v FROM %I.%I WHERE id = $1', TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO cur USING NEW.id;
		   IF cur IS NOT NULL AND EXISTS (SELECT 1 FROM public.deleted_ids d WHERE d.tbl = TG_TABLE_NAME AND d.id = NEW.id) THEN
		     INSERT INTO public.regressions VALUES (TG_TABLE_NAME, NEW.id, NULL, cur); END IF;
		   RETURN NULL;
		 END $$`,
	} {
		if _, err := h.pg.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, tb := range []string{"acct", "users", "child"} {
		id := pgx.Identifier{db, tb}.Sanitize()
		if _, err := h.pg.Exec(ctx, fmt.Sprintf("CREATE CONSTRAINT TRIGGER check_v AFTER INSERT OR UPDATE ON %s DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.check_v()", id)); err != nil {
			t.Fatal(err)
		}
	}
	gone := pgx.Identifier{db, "gone"}.Sanitize()
	for _, q := range []string{
		"CREATE CONSTRAINT TRIGGER note_delete AFTER DELETE ON " + gone + " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.note_delete()",
		"CREATE CONSTRAINT TRIGGER no_return AFTER INSERT ON " + gone + " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.no_return()",
	} {
		if _, err := h.pg.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	stop := make(chan struct{})
	wait := parallelWorkload(t, db, n, 2, 2500, stop)
	floors := 0
	for i, hit := range []int{5, 17, 9, 30} {
		time.Sleep(700 * time.Millisecond) // a backlog for the restart to replay
		k := startCLIEnv(t, []string{fmt.Sprintf("REPLICATOR_CRASH_AT=stream.lanes-committed:%d", hit)}, "run", "-c", cfg)
		if !waitExit(k, 90*time.Second) {
			k.kill()
			t.Fatalf("kill %d: the run did not reach stream.lanes-committed:%d:\n%s", i+1, hit, tail(k.output(), 20))
		}
		if !strings.Contains(k.output(), "crash point stream.lanes-committed") {
			t.Fatalf("kill %d: the run ended without its crash point:\n%s", i+1, tail(k.output(), 20))
		}
		floors += strings.Count(k.output(), "the target holds rows of transactions past the checkpoint")
	}
	close(stop)
	txns := wait()
	p = startCLI(t, "run", "-c", cfg)
	h.WaitCaughtUp(t, my, p, 180*time.Second)
	p.stop(t)
	floors += strings.Count(p.output(), "the target holds rows of transactions past the checkpoint")
	t.Logf("%d workload transactions, 4 kills at stream.lanes-committed; %d restarts found rows past the checkpoint", txns, floors)
	if floors < 4 {
		t.Errorf("only %d of the 4 restarts after a kill at stream.lanes-committed found the lanes ahead of the checkpoint", floors)
	}
	rows, err := h.pg.Query(ctx, "SELECT tbl, id, coalesce(old, -1), new FROM public.regressions ORDER BY at LIMIT 10")
	if err != nil {
		t.Fatal(err)
	}
	var back []string
	for rows.Next() {
		var tbl string
		var id, old, nw int64
		if err := rows.Scan(&tbl, &id, &old, &nw); err != nil {
			t.Fatal(err)
		}
		back = append(back, fmt.Sprintf("%s id %d: %d -> %d", tbl, id, old, nw))
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if len(back) > 0 {
		t.Errorf("rows went back to older images after a restart (old -1: a deleted row came back):\n%s", strings.Join(back, "\n"))
	}
	for _, tb := range parallelTables[:len(parallelTables)-1] {
		h.AssertTableEqual(t, my, db, tb)
	}
	// logk has no key: compared as a multiset of rows.
	src := keylessSource(t, my, "SELECT a, b FROM "+db+".logk")
	dst := keylessTarget(t, h.pg, "SELECT a, b FROM "+pgx.Identifier{db, "logk"}.Sanitize())
	if strings.Join(src, "\n") != strings.Join(dst, "\n") {
		t.Errorf("logk differs: source %d rows, target %d rows", len(src), len(dst))
	}
}
