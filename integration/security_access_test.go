//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// killSessions ends every connection of a source account, so the replicator has to log
// in (and start its binlog dump) again.
func killSessions(t *testing.T, root *client.Conn, user string) {
	t.Helper()
	r, err := root.Execute("SELECT id FROM information_schema.processlist WHERE user = ?", user)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Values {
		_, _ = root.Execute(fmt.Sprintf("KILL %d", r.Values[i][0].AsInt64()))
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// TestAccessRevokedWhileStreaming: REPLICATION SLAVE revoked while `run` streams (its
// sessions killed so it must log in again) makes it retry and say so in /readyz and the
// log; the grant restored within apply.access_denied_retry resumes replication with
// nothing lost. Then the account's password is changed: after the bound the process stops
// with the reason, recorded as the last error that status shows.
func TestAccessRevokedWhileStreaming(t *testing.T) {
	root := mysqlRoot(t)
	mustExec(t, root,
		"DROP USER IF EXISTS 'it_revoke'@'127.0.0.1'",
		"CREATE USER 'it_revoke'@'127.0.0.1' IDENTIFIED BY 'revoke-pw-1'",
		"GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO 'it_revoke'@'127.0.0.1'")
	t.Cleanup(func() { mustExec(t, mysqlRoot(t), "DROP USER IF EXISTS 'it_revoke'@'127.0.0.1'") })
	freshMySQLDatabase(t, root, "it_revoke")
	mustExec(t, root, "CREATE TABLE it_revoke.t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO it_revoke.t VALUES (1,'a')")
	url := freshPGDatabase(t)
	port := freePort(t)
	text := strings.Replace(configText("it_revoke", "revoke-pw-1", url, fmt.Sprintf(`
[apply]
access_denied_retry = "10s"
[http]
listen = "127.0.0.1:%d"
[[tables]]
source = "it_revoke.*"
`, port)), "server_id = 4201", "server_id = 4294", 1)
	cfg := writeConfig(t, text)
	p := startCLI(t, "run", "-c", cfg, "--log-level", "info")
	pg := pgConnect(t, url)
	waitCaughtUp(t, root, pg, p, 60*time.Second)

	// Revoked: the dump cannot start again.
	mustExec(t, root, "REVOKE REPLICATION SLAVE ON *.* FROM 'it_revoke'@'127.0.0.1'")
	killSessions(t, root, "it_revoke")
	mustExec(t, root, "INSERT INTO it_revoke.t VALUES (2,'b')")
	if !waitFor(20*time.Second, func() bool { return strings.Contains(p.output(), "access denied; retrying") }) {
		t.Fatalf("no access-denied retry logged after the revoke:\n%s", tail(p.output(), 20))
	}
	code, body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
	if err != nil || code != 503 || !strings.Contains(body, "access denied") {
		t.Errorf("/readyz while access is denied: %d %q %v", code, body, err)
	}
	if !strings.Contains(p.output(), "REPLICATION SLAVE") {
		t.Errorf("the log does not name the missing privilege:\n%s", tail(p.output(), 20))
	}
	// Restored within the bound: replication resumes by itself.
	mustExec(t, root, "GRANT REPLICATION SLAVE ON *.* TO 'it_revoke'@'127.0.0.1'")
	waitCaughtUp(t, root, pg, p, 60*time.Second)
	assertTableEqual(t, root, pg, "it_revoke", "t", "it_revoke", "t")

	// The password changed for good: bounded retry, then a stop with the reason.
	mustExec(t, root, "ALTER USER 'it_revoke'@'127.0.0.1' IDENTIFIED BY 'revoke-pw-2'")
	killSessions(t, root, "it_revoke")
	denied := time.Now()
	mustExec(t, root, "INSERT INTO it_revoke.t VALUES (3,'c')")
	if !waitExit(p, 90*time.Second) {
		t.Fatalf("still running %s after the password change (bound 10s)\n%s", time.Since(denied).Round(time.Second), tail(p.output(), 20))
	}
	took := time.Since(denied)
	out := p.output()
	if p.err == nil || !strings.Contains(out, "still refused after retrying") || !strings.Contains(out, "check source.user and source.password") {
		t.Fatalf("exit %v; want a stop naming the refused login:\n%s", p.err, tail(out, 10))
	}
	if strings.Contains(out, "revoke-pw-") {
		t.Errorf("a password appears in the output")
	}
	t.Logf("stopped %s after the password change (apply.access_denied_retry = 10s)", took.Round(100*time.Millisecond))
	st := runCLI(t, 30*time.Second, "status", "-c", cfg)
	if !strings.Contains(st.stdout, "still refused after retrying") {
		t.Errorf("status does not show why replication stopped:\n%s", st.stdout)
	}
}

// TestTargetPrivilegeRevoked: the target account loses INSERT/UPDATE/DELETE on a target
// table while streaming; the change is retried for apply.access_denied_retry, then the
// process stops naming the table and the SQLSTATE. With the grant restored a new run
// applies the change: nothing lost.
func TestTargetPrivilegeRevoked(t *testing.T) {
	root := mysqlRoot(t)
	freshMySQLDatabase(t, root, "it_pgrevoke")
	mustExec(t, root, "CREATE TABLE it_pgrevoke.t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO it_pgrevoke.t VALUES (1,'a')")
	admin := pgConnect(t, pgURL)
	ctx := context.Background()
	db := "it_testtargetprivilegerevoked"
	for _, s := range []string{
		"DROP DATABASE IF EXISTS " + db + " WITH (FORCE)",
		"DROP ROLE IF EXISTS it_pgrevoke",
		"CREATE ROLE it_pgrevoke LOGIN",
		"CREATE DATABASE " + db + " OWNER it_pgrevoke",
	} {
		if _, err := admin.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		a := pgConnect(t, pgURL)
		_, _ = a.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		_, _ = a.Exec(ctx, "DROP ROLE IF EXISTS it_pgrevoke")
	})
	cfgURL := pgURL[:strings.Index(pgURL, "://")+3] + "it_pgrevoke@" + pgURL[strings.Index(pgURL, "@")+1:]
	cfgURL = strings.Replace(cfgURL, "/postgres?", "/"+db+"?", 1)
	superURL := strings.Replace(pgURL, "/postgres?", "/"+db+"?", 1)
	text := strings.Replace(configText("replicator", mysqlReplPass, cfgURL, `
[apply]
access_denied_retry = "5s"
[[tables]]
source = "it_pgrevoke.*"
`), "server_id = 4201", "server_id = 4295", 1)
	cfg := writeConfig(t, text)
	p := startCLI(t, "run", "-c", cfg, "--log-level", "info")
	pg := pgConnect(t, superURL)
	waitCaughtUp(t, root, pg, p, 60*time.Second)

	if _, err := pg.Exec(ctx, "REVOKE INSERT, UPDATE, DELETE ON "+pgx.Identifier{"it_pgrevoke", "t"}.Sanitize()+" FROM it_pgrevoke"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, root, "INSERT INTO it_pgrevoke.t VALUES (2,'b')", "UPDATE it_pgrevoke.t SET v = 'z' WHERE id = 1")
	start := time.Now()
	if !waitExit(p, 90*time.Second) {
		t.Fatalf("still running %s after the revoke (bound 5s)\n%s", time.Since(start).Round(time.Second), tail(p.output(), 20))
	}
	out := p.output()
	if p.err == nil || !strings.Contains(out, "still refused after retrying") || !strings.Contains(out, "SQLSTATE 42501") ||
		!strings.Contains(out, "access denied; retrying") {
		t.Fatalf("exit %v; want retries, then a stop naming the refused privilege:\n%s", p.err, tail(out, 10))
	}
	t.Logf("stopped %s after the revoke (apply.access_denied_retry = 5s)", time.Since(start).Round(100*time.Millisecond))

	if _, err := pg.Exec(ctx, "GRANT INSERT, UPDATE, DELETE ON "+pgx.Identifier{"it_pgrevoke", "t"}.Sanitize()+" TO it_pgrevoke"); err != nil {
		t.Fatal(err)
	}
	p = startCLI(t, "run", "-c", cfg, "--log-level", "info")
	waitCaughtUp(t, root, pg, p, 60*time.Second)
	assertTableEqual(t, root, pg, "it_pgrevoke", "t", "it_pgrevoke", "t")
	p.stop(t)
}
