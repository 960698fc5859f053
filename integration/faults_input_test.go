//go:build integration

package integration

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestFaultBadConfig: malformed configurations end at once with one line naming the
// problem (the key, or the line of a syntax error).
func TestFaultBadConfig(t *testing.T) {
	good := configText("replicator", mysqlReplPass, "postgres://postgres@127.0.0.1:1/x?sslmode=disable", "[[tables]]\nsource = \"db.*\"\n")
	cases := []struct{ name, text, want string }{
		{"syntax", strings.Replace(good, `user = "replicator"`, `user = "replicator`, 1), "line 4"},
		{"unknown key", strings.Replace(good, "[source]\n", "[source]\nprot = 3306\n", 1), "unknown key source.prot"},
		{"wrong type", strings.Replace(good, "server_id = 4201", `server_id = "one"`, 1), "server_id"},
		{"bad value", strings.Replace(good, `type = "postgres"`, `type = "postgress"`, 1), `target.type = "postgress"`},
		{"no tables", strings.Replace(good, "[[tables]]\nsource = \"db.*\"\n", "", 1), "no [[tables]]"},
		{"bad pattern", strings.Replace(good, `source = "db.*"`, "source = \"`db.*\"", 1), "unterminated backquote"},
	}
	for _, c := range cases {
		res := runCLI(t, 20*time.Second, "run", "-c", writeConfig(t, c.text))
		lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
		if res.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%s: exit %d, stderr %q; want one line containing %q", c.name, res.code, res.stderr, c.want)
			continue
		}
		faultResult(t, "bad config: "+c.name, "clear error", "message", fmt.Sprintf("%q", lines[0]))
	}
}

// badSource is a broken source setting: the configuration with it (bad) and without it
// (good); or, for a server-side cause, one configuration and functions that break and
// fix the server.
type badSource struct {
	scenario, want string
	bad, good      func(url string) string
	breakIt, fix   func()
}

// run starts a replicator with the broken setting, first on a fresh target (nothing
// copied yet), then on one that streams (checkpoint stored), and expects a message
// containing want each time: an exit with it as the last line, or, if the replicator
// keeps retrying, the reason in its warnings. After the cause is removed the replication
// resumes (by itself when it kept retrying) and verify agrees.
func (b badSource) run(t *testing.T, db string) {
	t.Helper()
	faultSetup(t, db, 5000)
	url := freshPGDatabase(t)
	good, badCfg := writeConfig(t, b.good(url)), writeConfig(t, b.bad(url))
	observe := func(phase string, p *proc, timeout time.Duration) (retrying bool) {
		exited := waitExitOrMessage(p, b.want, timeout)
		out := p.output()
		switch {
		case exited && p.err != nil && strings.Contains(lastLine(out), b.want):
			faultResult(t, b.scenario+" ("+phase+")", "exits with clear error", "message", fmt.Sprintf("%q", lastLine(out)))
		case !exited && strings.Contains(out, b.want):
			faultResult(t, b.scenario+" ("+phase+")", "keeps retrying, reason in warnings", "message", fmt.Sprintf("%q", firstLineWith(out, b.want)))
			return true
		default:
			t.Errorf("%s (%s): exited %v (%v); want a message with %q:\n%s", b.scenario, phase, exited, p.err, b.want, tail(out, 15))
		}
		return false
	}
	if b.breakIt != nil {
		b.breakIt()
	}
	p := startCLI(t, "run", "-c", badCfg)
	observe("fresh target", p, 30*time.Second)
	p.kill()
	if b.fix != nil {
		b.fix()
	}

	p = startCLI(t, "run", "-c", good)
	waitPGCaughtUp(t, url, p, 2*time.Minute)
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	time.Sleep(time.Second)
	p.stop(t)

	if b.breakIt != nil {
		b.breakIt()
	}
	p = startCLI(t, "run", "-c", badCfg)
	if observe("streaming", p, 20*time.Second) && b.fix != nil {
		b.fix()
		start := time.Now()
		rec := waitPGCaughtUp(t, url, p, 2*time.Minute)
		faultResult(t, b.scenario, "resumed by itself after the fix", "after_s", fmt.Sprintf("%.1f", time.Since(start).Seconds()), "catch_up_s", fmt.Sprintf("%.1f", rec.Seconds()))
	} else {
		p.kill()
		if b.fix != nil {
			b.fix()
		}
		p = startCLI(t, "run", "-c", good)
	}
	waitPGCaughtUp(t, url, p, 2*time.Minute)
	n, _ := finishScenario(t, url, good, p, stop, wait)
	faultResult(t, b.scenario, "verify equal after fixing", "workload_statements", n)
	p.stop(t)
}

// waitExitOrMessage waits until p exits, or has logged want and still runs 3 s later (it
// retries), or timeout passes; it reports whether p exited.
func waitExitOrMessage(p *proc, want string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	var seen time.Time
	for time.Now().Before(deadline) {
		if p.exited() {
			return true
		}
		if seen.IsZero() && strings.Contains(p.output(), want) {
			seen = time.Now()
		}
		if !seen.IsZero() && time.Since(seen) > 3*time.Second {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p.exited()
}

// firstLineWith returns the first line of out containing s.
func firstLineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			if len(l) > 400 {
				l = l[:400] + "..."
			}
			return l
		}
	}
	return ""
}

func TestFaultWrongPassword(t *testing.T) {
	db := "it_fault_pass"
	badSource{
		scenario: "wrong password", want: "access denied: check source.user and source.password",
		good: func(url string) string { return faultConfig(url, db, "") },
		bad: func(url string) string {
			return strings.Replace(faultConfig(url, db, ""), fmt.Sprintf("password = %q", mysqlReplPass), `password = "wrong"`, 1)
		},
	}.run(t, db)
}

func TestFaultUnreachableSource(t *testing.T) {
	db := "it_fault_unreach"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, closed, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now
	badSource{
		scenario: "unreachable source", want: "server unreachable",
		good: func(url string) string { return faultConfig(url, db, "") },
		bad:  func(url string) string { return sourcePort(faultConfig(url, db, ""), closed) },
	}.run(t, db)
}

// TestFaultMissingPrivilege runs as an account without REPLICATION SLAVE: the snapshot
// works, the binary log does not, and the message must name the privilege.
func TestFaultMissingPrivilege(t *testing.T) {
	db := "it_fault_priv"
	my := mysqlRoot(t)
	mustExec(t, my, "DROP USER IF EXISTS 'it_noslave'@'127.0.0.1'", "CREATE USER 'it_noslave'@'127.0.0.1' IDENTIFIED BY 'noslave'",
		"GRANT SELECT, RELOAD, BINLOG MONITOR ON *.* TO 'it_noslave'@'127.0.0.1'")
	t.Cleanup(func() { mysqlRoot(t).Execute("DROP USER IF EXISTS 'it_noslave'@'127.0.0.1'") })
	cfg := func(url string) string {
		return strings.Replace(faultConfig(url, db, ""), fmt.Sprintf("user = \"replicator\"\npassword = %q", mysqlReplPass), "user = \"it_noslave\"\npassword = \"noslave\"", 1)
	}
	badSource{
		scenario: "missing REPLICATION SLAVE", want: "REPLICATION SLAVE", good: cfg, bad: cfg,
		breakIt: func() {
			// Error 1141 (no such grant) the first time is fine.
			mysqlRoot(t).Execute("REVOKE REPLICATION SLAVE ON *.* FROM 'it_noslave'@'127.0.0.1'")
		},
		fix: func() { mustExec(t, mysqlRoot(t), "GRANT REPLICATION SLAVE ON *.* TO 'it_noslave'@'127.0.0.1'") },
	}.run(t, db)
}

// TestFaultRowRejected: a CHECK constraint in the target refuses a source row. The stream
// stops with the table, the transaction's GTID and PostgreSQL's message, applies nothing
// after it, and resumes once the constraint is gone.
func TestFaultRowRejected(t *testing.T) {
	db := "it_fault_reject"
	faultSetup(t, db, 5000)
	my := mysqlRoot(t)
	mustExec(t, my, "CREATE TABLE `"+db+"`.chk (id INT PRIMARY KEY, qty INT NOT NULL)", "INSERT INTO `"+db+"`.chk VALUES (1, 10), (2, 20)")
	url := freshPGDatabase(t)
	cfg := writeConfig(t, faultConfig(url, db, ""))
	p := startCLI(t, "run", "-c", cfg)
	waitPGCaughtUp(t, url, p, time.Minute)
	pg := pgConnect(t, url)
	if _, err := pg.Exec(context.Background(), `ALTER TABLE it_fault_reject.chk ADD CONSTRAINT qty_not_negative CHECK (qty >= 0)`); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	wait := faultWorkload(t, db, 2, stop)
	time.Sleep(500 * time.Millisecond)
	mustExec(t, my, "INSERT INTO `"+db+"`.chk VALUES (42, -5)")
	r, err := my.Execute("SELECT @@last_gtid")
	if err != nil {
		t.Fatal(err)
	}
	gtid, _ := r.GetString(0, 0)
	if !waitExit(p, time.Minute) {
		t.Fatalf("replicator still running after PostgreSQL refused a row:\n%s", tail(p.output(), 20))
	}
	msg := lastLine(p.output())
	for _, want := range []string{"chk", "qty_not_negative", "42", "SQLSTATE 23514"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if !strings.Contains(msg, "apply transaction "+gtid+":") {
		t.Errorf("error does not name the refused transaction %s: %s", gtid, msg)
	}
	if cp := pgCheckpoint(url); gtidCovers(cp, gtid) {
		t.Errorf("checkpoint %s moved past the refused transaction %s", cp, gtid)
	}
	faultResult(t, "row rejected by PostgreSQL", "exits with clear error", "gtid", gtid, "message", fmt.Sprintf("%q", msg))

	if _, err := pg.Exec(context.Background(), `ALTER TABLE it_fault_reject.chk DROP CONSTRAINT qty_not_negative`); err != nil {
		t.Fatal(err)
	}
	p = startCLI(t, "run", "-c", cfg)
	rec := waitPGCaughtUp(t, url, p, 2*time.Minute)
	n, _ := finishScenario(t, url, cfg, p, stop, wait)
	faultResult(t, "row rejected by PostgreSQL", "verify equal after dropping the constraint", "catch_up_s", fmt.Sprintf("%.1f", rec.Seconds()), "workload_statements", n)
	p.stop(t)
}
