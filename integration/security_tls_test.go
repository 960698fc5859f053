//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsDir holds the environment's certificates (integration/env/tls.sh).
var tlsDir = envOr("REPLICATOR_TLS_DIR", filepath.Join(envOr("REPLICATOR_ENV_DIR", "/tmp/replicator-env"), "tls"))

// needTLS fails (or, outside CI, skips) when the environment has no certificates or the
// servers run without TLS.
func needTLS(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(tlsDir, "ca.pem")); err != nil {
		unavailable(t, "the test certificates (bash integration/env/tls.sh)", err)
	}
	r, err := mysqlRoot(t).Execute("SELECT @@have_ssl")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := r.GetString(0, 0); v != "YES" {
		unavailable(t, "MariaDB with TLS (bash integration/env/down.sh mariadb && bash integration/env/up.sh)", fmt.Errorf("have_ssl = %s", v))
	}
}

// tlsConfig renders a configuration for the REQUIRE SSL account it_tls with the given
// [source.tls] body and target URL.
func tlsConfig(t *testing.T, tlsBody, targetURL string) string {
	text := strings.Replace(configText("it_tls", "tls-pw", targetURL, "\n[[tables]]\nsource = \"it_tls.*\"\n"),
		"[source.tls]\nmode = \"disabled\"\n", "[source.tls]\n"+tlsBody+"\n", 1)
	return writeConfig(t, strings.Replace(text, "server_id = 4201", "server_id = 4296", 1))
}

// TestTLSVerifiedEndToEnd: an account that requires TLS replicates (snapshot and binlog
// stream) with source.tls mode required, the environment's CA and host-name verification,
// into PostgreSQL over sslmode=verify-full; check says what is verified on both sides. A
// wrong CA or a wrong host name fails closed with an error that says which and what to
// do, at check and at run; a PostgreSQL role that requires TLS is refused in plaintext.
func TestTLSVerifiedEndToEnd(t *testing.T) {
	needTLS(t)
	root := mysqlRoot(t)
	mustExec(t, root,
		"DROP USER IF EXISTS 'it_tls'@'127.0.0.1'",
		"CREATE USER 'it_tls'@'127.0.0.1' IDENTIFIED BY 'tls-pw' REQUIRE SSL",
		"GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO 'it_tls'@'127.0.0.1'")
	t.Cleanup(func() { mustExec(t, mysqlRoot(t), "DROP USER IF EXISTS 'it_tls'@'127.0.0.1'") })
	freshMySQLDatabase(t, root, "it_tls")
	mustExec(t, root, "CREATE TABLE it_tls.t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO it_tls.t VALUES (1,'a'),(2,'b')")

	// The PostgreSQL role it_pgtls must use TLS (pg_hba: hostnossl reject).
	plain := freshPGDatabase(t)
	admin := pgConnect(t, plain)
	ctx := context.Background()
	for _, s := range []string{"DROP OWNED BY it_pgtls", "DROP ROLE IF EXISTS it_pgtls"} {
		_, _ = admin.Exec(ctx, s)
	}
	if _, err := admin.Exec(ctx, "CREATE ROLE it_pgtls LOGIN SUPERUSER"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a := pgConnect(t, pgURL)
		_, _ = a.Exec(ctx, "DROP DATABASE IF EXISTS it_testtlsverifiedendtoend WITH (FORCE)")
		_, _ = a.Exec(ctx, "DROP ROLE IF EXISTS it_pgtls")
	})
	ca := filepath.Join(tlsDir, "ca.pem")
	other := filepath.Join(tlsDir, "other-ca.pem")
	pgTLS := func(mode, root string) string {
		u := strings.Replace(plain, "postgres://postgres@", "postgres://it_pgtls@", 1)
		return strings.Replace(u, "sslmode=disable", "sslmode="+mode+"&sslrootcert="+root, 1)
	}
	good := tlsConfig(t, fmt.Sprintf("mode = \"required\"\nca_file = %q", ca), pgTLS("verify-full", ca))

	out, res := runCheck(t, good)
	if res.code != 0 || !out.OK {
		t.Fatalf("check over verified TLS failed (exit %d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for name, want := range map[string]string{
		"source.connect": "certificate chain verified against source.tls.ca_file " + ca + `, host name "127.0.0.1" verified`,
		"target.tls":     `certificate chain and host name "127.0.0.1" verified (sslmode=verify-full)`,
	} {
		if d := detailOf(out, name); !strings.Contains(d, want) {
			t.Errorf("check %s = %q, want it to say %q", name, d, want)
		}
	}

	// Snapshot and stream through TLS on both sides.
	p := startCLI(t, "run", "-c", good, "--log-level", "info")
	pg := pgConnect(t, plain)
	waitCaughtUp(t, root, pg, p, 60*time.Second)
	mustExec(t, root, "INSERT INTO it_tls.t VALUES (3,'c')", "UPDATE it_tls.t SET v = 'z' WHERE id = 1", "DELETE FROM it_tls.t WHERE id = 2")
	waitCaughtUp(t, root, pg, p, 60*time.Second)
	assertTableEqual(t, root, pg, "it_tls", "t", "it_tls", "t")
	var sslUsed bool
	if err := pg.QueryRow(ctx, "SELECT bool_or(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'it_pgtls'").Scan(&sslUsed); err != nil || !sslUsed {
		t.Errorf("no TLS session of it_pgtls in pg_stat_ssl (%v)", err)
	}
	p.stop(t)

	// Fail closed: a wrong CA, a wrong host name, at check and at run.
	for _, c := range []struct{ name, body, want string }{
		{"wrong CA", fmt.Sprintf("mode = \"required\"\nca_file = %q", other), "not signed by a trusted CA"},
		{"wrong host name", fmt.Sprintf("mode = \"required\"\nca_file = %q\nserver_name = \"wrong.example\"", ca), `not valid for the host name "wrong.example"`},
		{"system roots", "mode = \"preferred\"", "not signed by a trusted CA"},
	} {
		cfg := tlsConfig(t, c.body+"\n", pgTLS("verify-full", ca))
		out, res := runCheck(t, cfg)
		st, fix := statusOf(out, "source.connect")
		if res.code == 0 || st != "fail" || !strings.Contains(detailOf(out, "source.connect"), c.want) {
			t.Errorf("%s: check source.connect = %s %q (fix %q), want a failure saying %q", c.name, st, detailOf(out, "source.connect"), fix, c.want)
		}
		// run (the snapshot is complete: it streams) retries a rejected certificate for
		// apply.access_denied_retry, then stops with the reason.
		text, _ := os.ReadFile(cfg)
		cfg = writeConfig(t, string(text)+"\n[apply]\naccess_denied_retry = \"2s\"\n")
		r := runCLI(t, 60*time.Second, "run", "-c", cfg, "--log-level", "warn")
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "still refused after retrying") {
			t.Errorf("%s: run exit %d, want a stop saying %q:\n%s", c.name, r.code, c.want, tail(r.stderr, 5))
		}
	}

	// PostgreSQL: a wrong CA fails closed; the role that requires TLS is refused in
	// plaintext; sslmode=require is reported as not verified.
	for _, c := range []struct{ name, url, want string }{
		{"PostgreSQL wrong CA", pgTLS("verify-full", other), "certificate"},
		{"PostgreSQL plaintext", strings.Replace(plain, "postgres://postgres@", "postgres://it_pgtls@", 1), "no encryption"},
	} {
		out, _ := runCheck(t, tlsConfig(t, fmt.Sprintf("mode = \"required\"\nca_file = %q", ca), c.url))
		if st, _ := statusOf(out, "target.connect"); st != "fail" || !strings.Contains(detailOf(out, "target.connect"), c.want) {
			t.Errorf("%s: target.connect = %s %q, want a failure mentioning %q", c.name, st, detailOf(out, "target.connect"), c.want)
		}
	}
	out, _ = runCheck(t, tlsConfig(t, fmt.Sprintf("mode = \"required\"\nca_file = %q\ninsecure_skip_verify = true", ca), pgTLS("verify-ca", ca)))
	if d := detailOf(out, "source.connect"); !strings.Contains(d, "NOT verified") {
		t.Errorf("insecure_skip_verify: source.connect = %q, want NOT verified", d)
	}
	if d := detailOf(out, "target.tls"); !strings.Contains(d, "host name NOT verified (sslmode=verify-ca)") {
		t.Errorf("verify-ca: target.tls = %q", d)
	}
}

func detailOf(out checkOut, name string) string {
	for _, c := range out.Checks {
		if c.Name == name {
			return c.Detail
		}
	}
	return ""
}
