//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// TestSnapshotPreparedXA: an XA transaction prepared before the snapshot and committed
// after its view would be invisible to the snapshot while its rows sit in the binary log
// before the streaming start: lost. The snapshot waits for it (naming the xid) and takes
// its view after the XA COMMIT, so the rows end in the target.
func TestSnapshotPreparedXA(t *testing.T) {
	start := time.Now()
	my := mysqlRoot(t)
	db := "it_snapxa"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)",
		"INSERT INTO t SELECT seq, seq FROM seq_1_to_1000")
	xa, err := client.Connect(mysqlHost+":"+mysqlPort, "root", mysqlRootPass, db)
	if err != nil {
		t.Fatal(err)
	}
	defer xa.Close()
	decided := false
	t.Cleanup(func() {
		if !decided { // never leave a prepared transaction behind on the shared server
			_, _ = xa.Execute("XA ROLLBACK 'it_snapxa_1'")
		}
	})
	mustExec(t, xa, "XA START 'it_snapxa_1'", "INSERT INTO t SELECT seq, -seq FROM seq_5001_to_5100",
		"UPDATE t SET v = -1 WHERE id <= 10", "XA END 'it_snapxa_1'", "XA PREPARE 'it_snapxa_1'")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[[tables]]
source = "it_snapxa.*"
`))
	p := startCLI(t, "snapshot", "-c", cfg)
	if !waitOutput(p, "waiting for prepared XA transactions", 30*time.Second) {
		t.Fatalf("the snapshot did not wait for the prepared XA transaction\n%s", tail(p.output(), 20))
	}
	if !strings.Contains(p.output(), "it_snapxa_1") {
		t.Errorf("the wait does not name the xid:\n%s", tail(p.output(), 5))
	}
	time.Sleep(time.Second)
	if p.exited() {
		t.Fatalf("the snapshot did not wait\n%s", tail(p.output(), 20))
	}
	mustExec(t, xa, "XA COMMIT 'it_snapxa_1'")
	decided = true
	mustExec(t, my, "UPDATE "+db+".t SET v = v + 1000 WHERE id = 5050")
	if !waitExit(p, 2*time.Minute) || p.err != nil {
		t.Fatalf("snapshot: %v\n%s", p.err, tail(p.output(), 20))
	}
	run := startCLI(t, "run", "-c", cfg)
	mustExec(t, my, "UPDATE "+db+".t SET v = v + 1 WHERE id = 5001")
	waitCaughtUp(t, my, pg, run, 2*time.Minute)
	if n := assertTableEqual(t, my, pg, db, "t", db, "t"); n != 1100 {
		t.Errorf("compared %d rows, want 1100 (with the XA transaction's 100)", n)
	}
	var neg int
	if err := pg.QueryRow(context.Background(), "SELECT count(*) FROM "+db+".t WHERE v = -1").Scan(&neg); err != nil || neg != 10 {
		t.Errorf("%d rows with the XA transaction's update, want 10 (%v)", neg, err)
	}
	run.stop(t)
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}
