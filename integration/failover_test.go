//go:build integration

package integration

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// replicaPort is the port of the second MariaDB, the GTID replica of the primary that
// integration/env/replica.sh runs (server_id 2).
var replicaPort = envOr("REPLICATOR_REPLICA_PORT", "13307")

// replicaServerID is the replica's server_id (replica.sh's REPLICATOR_REPLICA_SERVER_ID):
// the server id of the GTIDs it writes once promoted.
var replicaServerID = envOr("REPLICATOR_REPLICA_SERVER_ID", "2")

// TestFailoverPromotedReplica is the failover every production replica set goes through:
// the replicator streams from the primary (server_id 1) under a workload of
// multi-statement transactions, the writes stop, the replica (server_id 2) catches up and
// is promoted, the replicator is pointed at it and restarted, the workload goes on there
// (GTIDs 0-2-N in the domain the checkpoint already holds as 0-1-M), and the replicator is
// stopped and restarted once more while the promoted server is written. The checkpoint
// must stay one GTID per domain, as MariaDB's gtid_binlog_pos shows it: a set such as
// "0-1-M,0-2-N" is refused by MariaDB (ERROR 1943, duplicate domain) on that restart. In the
// end the promoted server and the target are equal row by row and by `replicator verify`.
// Each target runs twice: stopped with SIGTERM, and with kill -9.
//
// The replica is private to this test: it is recreated from the primary's current state
// (env/replica.sh fresh) for every subtest, whatever CI says, because promoting it ends
// its life as a replica.
func TestFailoverPromotedReplica(t *testing.T) {
	for _, kind := range targetKinds() {
		t.Run(kind, func(t *testing.T) {
			for _, kill := range []bool{false, true} {
				stop := "sigterm"
				if kill {
					stop = "kill9"
				}
				t.Run(stop, func(t *testing.T) {
					tg := newTarget(t, kind)
					runFailover(t, tg.DB("it_failover_"+stop), kill, tg)
				})
			}
		})
	}
}

// runFailover runs the scenario of TestFailoverPromotedReplica for one target; kill stops
// the replicator with SIGKILL instead of SIGTERM.
func runFailover(t *testing.T, db string, kill bool, tg targetHarness) {
	config := func(port string) string {
		return sourcePort(tg.Config(db, `
[apply]
flush_interval = "100ms"
batch_rows = 2000
[snapshot]
chunk_rows = 1000
`), port)
	}
	checkpoint := func() string {
		if phase, gtid, found := tg.Checkpoint(t); found && phase == "streaming" {
			return gtid
		}
		return ""
	}
	assertEqual := func(my *client.Conn) {
		for _, tbl := range []string{"wl", "acct"} {
			tg.AssertTableEqual(t, my, db, tbl)
		}
	}
	my := mysqlRoot(t)
	replica := freshReplica(t, db)

	// The database is created after the replica, so all of it replicates.
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`", wlTable,
		"CREATE TABLE acct (id INT NOT NULL PRIMARY KEY, balance BIGINT NOT NULL, moves INT NOT NULL)",
		"INSERT INTO acct SELECT seq, 1000, 0 FROM seq_1_to_1000")
	seed(t, my, db, 20000)

	cfg := writeConfig(t, config(mysqlPort))
	stopReplicator := func(p *proc) {
		if kill {
			p.kill()
		} else {
			p.stop(t)
		}
	}
	primary := mysqlHost + ":" + mysqlPort
	promoted := mysqlHost + ":" + replicaPort

	// 1. Snapshot and streaming from the primary while it is written.
	writing := make(chan struct{})
	writers := failoverWriters(t, primary, db, 3, writing)
	p := startCLI(t, "run", "-c", cfg)
	waitFailoverCovers(t, p, checkpoint, sourceGTID(t, my), "the primary", 2*time.Minute)
	time.Sleep(2 * time.Second)
	close(writing)
	n1 := writers()
	last := sourceGTID(t, my)
	waitFailoverCovers(t, p, checkpoint, last, "the primary", 2*time.Minute)
	stopReplicator(p)
	before := checkpoint()
	assertOneGTIDPerDomain(t, "checkpoint before the failover", before)

	// 2. The replica has everything the replicator has seen; promote it.
	waitReplicaApplied(t, replica, lastPerDomain(before))
	promoteReplica(t, replica, before)
	// Before any write on it, the promoted server holds what the target holds.
	assertEqual(replica)

	// 3. The replicator follows the promoted server (source.port changes) while it is
	// written: its GTIDs carry server id 2 in the domain the checkpoint holds as server 1's.
	if err := os.WriteFile(cfg, []byte(config(replicaPort)), 0o600); err != nil {
		t.Fatal(err)
	}
	writing = make(chan struct{})
	writers = failoverWriters(t, promoted, db, 3, writing)
	p = startCLI(t, "run", "-c", cfg)
	time.Sleep(time.Second)
	waitFailoverCovers(t, p, checkpoint, sourceGTID(t, replica), "the promoted replica", 2*time.Minute)
	time.Sleep(time.Second)

	// 4. Stopped and restarted while the promoted server is written: this restart starts
	// from a checkpoint written after the failover.
	stopReplicator(p)
	mid := checkpoint()
	t.Logf("checkpoint before the failover %q, after it %q", before, mid)
	if !strings.Contains(mid, "-"+replicaServerID+"-") {
		t.Errorf("checkpoint %q after streaming from the promoted replica holds none of its GTIDs (server id %s, REPLICATOR_REPLICA_SERVER_ID)", mid, replicaServerID)
	}
	assertOneGTIDPerDomain(t, "checkpoint written after the failover", mid)
	p = startCLI(t, "run", "-c", cfg)
	time.Sleep(2 * time.Second)
	close(writing)
	n2 := writers()
	final := sourceGTID(t, replica)
	waitFailoverCovers(t, p, checkpoint, final, "the promoted replica", 2*time.Minute)

	// 5. Equal row by row, equal for verify, and the position is the server's.
	assertEqual(replica)
	assertVerifyEqual(t, cfg)
	end := checkpoint()
	assertOneGTIDPerDomain(t, "final checkpoint", end)
	if !gtidCovers(end, final) {
		t.Errorf("final checkpoint %q does not cover the promoted server's gtid_binlog_pos %q", end, final)
	}
	if p.exited() {
		t.Fatalf("replicator exited (%v)\n%s", p.err, tail(p.output(), 30))
	}
	p.stop(t)
	t.Logf("failover: %d transactions on the primary, %d on the promoted replica; checkpoints %q -> %q -> %q; promoted server at %q",
		n1, n2, before, mid, end, final)
	if n1 < 50 || n2 < 50 {
		t.Errorf("workload too small to prove anything: %d transactions before, %d after the failover", n1, n2)
	}
}

// freshReplica (re)creates the replica from the primary's current state and connects to
// it as root. Only the test's database db replicates (see env/replica.sh), so the writes of
// other tests to databases the new replica lacks do not stop it.
func freshReplica(t *testing.T, db string) *client.Conn {
	t.Helper()
	t.Setenv("REPLICATOR_REPLICA_DBS", db)
	t.Setenv("REPLICATOR_REPLICA_PORT", replicaPort)
	envScript(t, "replica.sh", "fresh")
	c, err := client.Connect(mysqlHost+":"+replicaPort, "root", mysqlRootPass, "")
	if err != nil {
		t.Fatalf("connect to the replica at %s:%s: %v", mysqlHost, replicaPort, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitReplicaApplied waits until the replica has applied the primary's transactions up to
// pos (MASTER_GTID_WAIT on its gtid_slave_pos).
func waitReplicaApplied(t *testing.T, replica *client.Conn, pos string) {
	t.Helper()
	r, err := replica.Execute("SELECT MASTER_GTID_WAIT(?, 120)", pos)
	if err != nil {
		t.Fatalf("MASTER_GTID_WAIT(%q) on the replica: %v", pos, err)
	}
	if v, _ := r.GetInt(0, 0); v != 0 {
		st, _ := replica.Execute("SHOW SLAVE STATUS")
		var status []string
		if st != nil && len(st.Values) > 0 {
			for i, f := range st.Fields {
				if v, _ := st.GetString(0, i); v != "" {
					status = append(status, string(f.Name)+"="+v)
				}
			}
		}
		t.Fatalf("the replica did not apply up to %q within 120 s: %s", pos, strings.Join(status, " "))
	}
}

// promoteReplica turns the replica into a writable primary, the way failover tools do:
// STOP SLAVE; RESET SLAVE ALL; read_only off.
//
// The replica applies only the test's databases; the primary's other transactions reach its
// gtid_slave_pos but not its binary log. When the checkpoint ends at one of those (another
// test wrote last), the promoted server's binary log lacks that GTID and MariaDB refuses a
// dump from it (ER_GTID_POSITION_NOT_FOUND_IN_BINLOG), which a replica that applies
// everything would not. Setting gtid_slave_pos to the checkpoint records that the server
// replicated up to it (MariaDB then accepts a dump from exactly that position) and changes
// no data: the missing transactions are not the test's.
func promoteReplica(t *testing.T, replica *client.Conn, checkpoint string) {
	t.Helper()
	mustExec(t, replica, "STOP SLAVE", "RESET SLAVE ALL")
	binlogPos := sourceGTID(t, replica)
	if cp := lastPerDomain(checkpoint); !gtidCovers(binlogPos, cp) {
		t.Logf("the checkpoint %q lies past the promoted server's binary log %q (other tests' transactions, filtered out): gtid_slave_pos set to it", cp, binlogPos)
		if _, err := replica.Execute("SET GLOBAL gtid_slave_pos = ?", cp); err != nil {
			t.Fatalf("SET GLOBAL gtid_slave_pos = %q on the promoted replica: %v", cp, err)
		}
	}
	mustExec(t, replica, "SET GLOBAL read_only = 0")
}

// waitFailoverCovers waits until the target's checkpoint covers want, the position of
// server (for the messages). A binlog position the source refuses is retried by the
// replicator, so this fails as soon as its log shows one instead of waiting for the timeout.
func waitFailoverCovers(t *testing.T, p *proc, checkpoint func() string, want, server string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got string
	for time.Now().Before(deadline) {
		if p.exited() {
			t.Fatalf("replicator exited (%v) before its checkpoint reached %s's position %q\n%s", p.err, server, want, tail(p.output(), 40))
		}
		if line := refusedPositionLine(p.output()); line != "" {
			time.Sleep(2 * time.Second) // let a retry show it is retried, not a one-off
			t.Fatalf("%s refuses the replicator's position (checkpoint %q, waiting for %q); %d such errors in the log, the first:\n%s",
				server, checkpoint(), want, refusedPositionCount(p.output()), line)
		}
		if got = checkpoint(); got != "" && gtidCovers(got, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("checkpoint %q did not reach %s's position %q within %s\n%s", got, server, want, timeout, tail(p.output(), 40))
}

// refusedPositionLine returns the first log line where MariaDB refused the GTID position the
// replicator asked for (ERROR 1943, a duplicate domain; 1236, a position it does not have),
// or "".
func refusedPositionLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if isRefusedPosition(line) {
			return line
		}
	}
	return ""
}

func refusedPositionCount(out string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if isRefusedPosition(line) {
			n++
		}
	}
	return n
}

func isRefusedPosition(line string) bool {
	return strings.Contains(line, "ERROR 1943") || strings.Contains(line, "duplicate domain") || strings.Contains(line, "ERROR 1236") ||
		strings.Contains(line, "not in the master's binlog")
}

// assertOneGTIDPerDomain checks a stored MariaDB position has one GTID per domain, the
// form gtid_binlog_pos has and the only one MariaDB accepts as a start position.
func assertOneGTIDPerDomain(t *testing.T, what, pos string) {
	t.Helper()
	if strings.TrimSpace(pos) == "" {
		t.Errorf("%s is empty", what)
		return
	}
	seen := map[string]string{}
	for _, g := range strings.Split(pos, ",") {
		g = strings.TrimSpace(g)
		parts := strings.Split(g, "-")
		if len(parts) != 3 {
			t.Errorf("%s %q: %q is not a MariaDB GTID (domain-server-seq)", what, pos, g)
			continue
		}
		if prev, dup := seen[parts[0]]; dup {
			t.Errorf("%s %q holds two GTIDs of domain %s (%s and %s); MariaDB refuses such a start position (ERROR 1943)", what, pos, parts[0], prev, g)
		}
		seen[parts[0]] = g
	}
}

// lastPerDomain keeps, of each domain of a MariaDB position, the GTID with the highest
// sequence number: the form MASTER_GTID_WAIT and gtid_slave_pos take.
func lastPerDomain(pos string) string {
	type gtid struct {
		text string
		seq  uint64
	}
	best := map[string]gtid{}
	var order []string
	for _, g := range strings.Split(pos, ",") {
		g = strings.TrimSpace(g)
		parts := strings.Split(g, "-")
		if len(parts) != 3 {
			continue
		}
		seq, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil {
			continue
		}
		cur, ok := best[parts[0]]
		if !ok {
			order = append(order, parts[0])
		}
		if !ok || seq > cur.seq {
			best[parts[0]] = gtid{g, seq}
		}
	}
	out := make([]string, len(order))
	for i, d := range order {
		out[i] = best[d].text
	}
	return strings.Join(out, ",")
}

// failoverWriters runs workers that write multi-statement transactions to db on the server
// at addr until stop is closed; the function returned waits for them and returns how many
// transactions they committed. Deadlocks and lock waits are rolled back and go on; any other
// error fails the test (no server goes away in the failover test).
func failoverWriters(t *testing.T, addr, db string, workers int, stop <-chan struct{}) func() int {
	var wg sync.WaitGroup
	var committed atomic.Int64
	// A test that fails midway must not leave writers running into the next subtest.
	abort := make(chan struct{})
	t.Cleanup(func() { close(abort); wg.Wait() })
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			c, err := client.Connect(addr, "root", mysqlRootPass, db)
			if err != nil {
				t.Errorf("writer: connect to %s: %v", addr, err)
				return
			}
			defer c.Close()
			rng := rand.New(rand.NewSource(seed))
			for {
				select {
				case <-stop:
					return
				case <-abort:
					return
				default:
				}
				err := failoverTransaction(c, rng)
				if err == nil {
					committed.Add(1)
					continue
				}
				c.Execute("ROLLBACK")
				if msg := err.Error(); strings.Contains(msg, "Deadlock") || strings.Contains(msg, "Lock wait") {
					continue
				}
				t.Errorf("writer on %s: %v", addr, err)
				return
			}
		}(time.Now().UnixNano() + int64(w))
	}
	return func() int { wg.Wait(); return int(committed.Load()) }
}

// failoverTransaction runs one transaction of the failover workload: transfers between
// accounts with a row of wl, batches of upserts with an update of a range and a delete, a
// key moved and its old key inserted again, and some single statements (autocommit).
func failoverTransaction(c *client.Conn, rng *rand.Rand) error {
	type stmt struct {
		q    string
		args []any
	}
	var stmts []stmt
	switch rng.Intn(4) {
	case 0:
		a, b, x := rng.Intn(1000)+1, rng.Intn(1000)+1, rng.Intn(100)+1
		stmts = []stmt{
			{"UPDATE acct SET balance = balance - ?, moves = moves + 1 WHERE id = ?", []any{x, a}},
			{"UPDATE acct SET balance = balance + ?, moves = moves + 1 WHERE id = ?", []any{x, b}},
			{"INSERT INTO wl (id, grp, v, note) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE v = v + ?, note = VALUES(note)",
				[]any{rng.Intn(30000) + 1, rng.Intn(10), x, fmt.Sprintf("transfer %d->%d", a, b), x}},
		}
	case 1:
		for i := 0; i < 3+rng.Intn(4); i++ {
			stmts = append(stmts, stmt{"REPLACE INTO wl (id, grp, v, note) VALUES (?, ?, ?, ?)",
				[]any{rng.Intn(30000) + 1, rng.Intn(10), rng.Int63(), randText(rng)}})
		}
		lo := rng.Intn(30000) + 1
		stmts = append(stmts,
			stmt{"UPDATE wl SET v = v + 1, note = ? WHERE grp = ? AND id BETWEEN ? AND ?", []any{randText(rng), rng.Intn(10), lo, lo + 50}},
			stmt{"DELETE FROM wl WHERE id = ?", []any{rng.Intn(30000) + 1}})
	case 2:
		from := rng.Intn(20000) + 1
		stmts = []stmt{
			{"UPDATE IGNORE wl SET id = ? WHERE id = ?", []any{rng.Intn(10000) + 20001, from}},
			{"INSERT IGNORE INTO wl (id, grp, v, note) VALUES (?, ?, ?, 'back')", []any{from, rng.Intn(10), rng.Int63()}},
		}
	default:
		return workloadStatement(c, rng)
	}
	if _, err := c.Execute("BEGIN"); err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := c.Execute(s.q, s.args...); err != nil {
			return fmt.Errorf("%s: %w", s.q, err)
		}
	}
	_, err := c.Execute("COMMIT")
	return err
}
