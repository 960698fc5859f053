//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInitThenRun: `replicator init` writes a configuration from the live source (a table
// without a primary key gets its unique NOT NULL index as key, a table with no identity is
// replicated by full-row match, its comment saying so), never over an existing file
// without --force, with mode 0600 and the password only in the file; `replicator run`
// with that file alone copies and streams the tables row for row.
func TestInitThenRun(t *testing.T) {
	root := mysqlRoot(t)
	freshMySQLDatabase(t, root, "it_init")
	mustExec(t, root,
		"CREATE TABLE it_init.orders (id INT PRIMARY KEY, note VARCHAR(40), placed DATETIME(3))",
		"CREATE TABLE it_init.coded (code VARCHAR(10) NOT NULL, qty INT, UNIQUE KEY (code))",
		"CREATE TABLE it_init.nokey (a INT, b TEXT)",
		"INSERT INTO it_init.orders VALUES (1, 'first', '2026-01-02 03:04:05.678'), (2, NULL, NULL), (3, 'third', '2026-12-31 23:59:59.999')",
		"INSERT INTO it_init.coded VALUES ('a', 1), ('b', 2)",
		"INSERT INTO it_init.nokey VALUES (1, 'x')")
	requireDocumentedGrants(t)
	url := freshPGDatabase(t)
	path := filepath.Join(t.TempDir(), "config.toml")
	source := fmt.Sprintf("mysql://replicator:%s@%s:%s?tls=disabled", mysqlReplPass, mysqlHost, mysqlPort)
	args := []string{"init", "-c", path, "--source", source, "--target", url, "--tables", "it_init.*", "--server-id", "4455"}
	res := runCLI(t, time.Minute, args...)
	if res.code != 0 {
		t.Fatalf("init failed (exit %d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if strings.Contains(res.stdout+res.stderr, ":"+mysqlReplPass+"@") || (mysqlReplPass != "replicator" && strings.Contains(res.stdout+res.stderr, mysqlReplPass)) {
		t.Errorf("the password appears in init's output:\n%s\n%s", res.stdout, res.stderr)
	}
	for _, want := range []string{"wrote " + path + " (mode 0600): 3 tables", "next: replicator run -c " + path} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("init output lacks %q:\n%s", want, res.stdout)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	text, _ := os.ReadFile(path)
	for _, want := range []string{
		fmt.Sprintf("password = %q", mysqlReplPass),
		"[[tables]]\nsource = \"it_init.coded\"\nkey = [\"code\"]",
		"# it_init.nokey: 2 columns, no key: rows matched by all their columns",
		"[[tables]]\nsource = \"it_init.*\"",
		"# it_init.orders: 3 columns, primary key (id), engine InnoDB",
		"tables ok, ",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}

	// An existing file is kept without --force, replaced with it.
	if err := os.WriteFile(path, []byte("# mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res = runCLI(t, time.Minute, args...)
	if kept, _ := os.ReadFile(path); res.code == 0 || string(kept) != "# mine\n" || !strings.Contains(res.stderr, "use --force") {
		t.Fatalf("init over an existing file: exit %d, file %q, stderr %q", res.code, kept, res.stderr)
	}
	res = runCLI(t, time.Minute, append(args, "--force")...)
	if replaced, _ := os.ReadFile(path); res.code != 0 || string(replaced) != string(text) {
		t.Fatalf("init --force: exit %d, file now\n%s\n%s", res.code, replaced, res.stderr)
	}

	p := startCLI(t, "run", "-c", path)
	pg := pgConnect(t, url)
	mustExec(t, root,
		"INSERT INTO it_init.orders VALUES (4, 'streamed', NOW(3))",
		"UPDATE it_init.orders SET note = 'changed' WHERE id = 1",
		"DELETE FROM it_init.orders WHERE id = 2",
		"UPDATE it_init.coded SET qty = 20 WHERE code = 'b'",
		"INSERT INTO it_init.coded VALUES ('c', 3)",
		"INSERT INTO it_init.nokey VALUES (2, 'y'), (2, 'y')",
		"DELETE FROM it_init.nokey WHERE a = 1")
	waitCaughtUp(t, root, pg, p, 90*time.Second)
	if n := assertTableEqual(t, root, pg, "it_init", "orders", "it_init", "orders"); n != 3 {
		t.Errorf("orders: %d rows, want 3", n)
	}
	if n := assertTableEqual(t, root, pg, "it_init", "coded", "it_init", "coded"); n != 3 {
		t.Errorf("coded: %d rows, want 3", n)
	}
	var rows string
	if err := pg.QueryRow(t.Context(), "SELECT string_agg(a || ':' || b, ',' ORDER BY a, b) FROM it_init.nokey").Scan(&rows); err != nil || rows != "2:y,2:y" {
		t.Errorf("keyless table in the target: %q (%v), want the two equal rows 2:y,2:y", rows, err)
	}
	p.stop(t)
}

// TestInitElasticsearchTarget: an http:// target writes an Elasticsearch configuration
// that check accepts; a --source without a password takes ${MYSQL_PASSWORD}; a table
// without any identity, which Elasticsearch cannot replicate, is left out (its rule
// commented) and the pattern becomes one rule per table.
func TestInitElasticsearchTarget(t *testing.T) {
	root := mysqlRoot(t)
	freshMySQLDatabase(t, root, "it_init_es")
	mustExec(t, root, "CREATE TABLE it_init_es.docs (id INT PRIMARY KEY, body TEXT)", "CREATE TABLE it_init_es.loose (a INT, b TEXT)")
	requireDocumentedGrants(t)
	path := filepath.Join(t.TempDir(), "config.toml")
	t.Setenv("MYSQL_PASSWORD", mysqlReplPass)
	res := runCLI(t, time.Minute, "init", "-c", path, "--source", fmt.Sprintf("mysql://replicator@%s:%s?tls=disabled", mysqlHost, mysqlPort),
		"--target", esURL, "--tables", "it_init_es.*")
	if res.code != 0 {
		t.Fatalf("init failed (exit %d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	text, _ := os.ReadFile(path)
	if !strings.Contains(res.stdout, "left out it_init_es.loose") {
		t.Errorf("the keyless table is not named as left out:\n%s", res.stdout)
	}
	for _, want := range []string{`password = "${MYSQL_PASSWORD}"`, `type = "elasticsearch"`, fmt.Sprintf("addresses = [%q]", esURL),
		"[[tables]]\nsource = \"it_init_es.docs\"", "# [[tables]]\n# source = \"it_init_es.loose\""} {
		if !strings.Contains(string(text), want) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}
	if out, res := runCheck(t, path); res.code != 0 || !out.OK {
		t.Errorf("check on the written file failed (exit %d):\n%s", res.code, res.stdout)
	}
}
