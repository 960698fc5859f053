//go:build integration

// Package integration holds the tests that run against real MariaDB, PostgreSQL and
// Elasticsearch servers started by integration/env/up.sh.
package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// Connection settings of the local environment (integration/env/up.sh).
var (
	mysqlHost     = envOr("REPLICATOR_MYSQL_HOST", "127.0.0.1")
	mysqlPort     = envOr("REPLICATOR_MYSQL_PORT", "13306")
	mysqlRootPass = envOr("REPLICATOR_MYSQL_ROOT_PASSWORD", "root")
	mysqlReplPass = envOr("REPLICATOR_MYSQL_REPL_PASSWORD", "replicator")
	pgURL         = envOr("REPLICATOR_PG_URL", "postgres://postgres@127.0.0.1:15432/postgres?sslmode=disable")
)

// envOr returns the environment variable k, or def when it is unset or empty.
func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// unavailable reports a server the test cannot reach. Under CI=true a missing server is a
// failure, never a skip: CI must prove the integration suite really ran.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s unreachable (CI=true, so this fails): %v; start it with integration/env/up.sh", what, err)
	}
	t.Skipf("%s unreachable: %v; start it with integration/env/up.sh", what, err)
}

// mysqlRoot connects to the source as an administrator for test set-up.
func mysqlRoot(t testing.TB) *client.Conn {
	t.Helper()
	c, err := client.Connect(mysqlHost+":"+mysqlPort, "root", mysqlRootPass, "")
	if err != nil {
		unavailable(t, "MariaDB at "+mysqlHost+":"+mysqlPort, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mustExec runs statements on the source, failing the test on error.
func mustExec(t testing.TB, c *client.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := c.Execute(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// pgConnect connects to the target database url.
func pgConnect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// freshPGDatabase creates an empty target database for one test and returns its URL.
func freshPGDatabase(t testing.TB) string {
	t.Helper()
	admin := pgConnect(t, pgURL)
	name := "it_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	cfg, _ := pgx.ParseConfig(pgURL)
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}

// freshMySQLDatabase drops and creates a source database.
func freshMySQLDatabase(t testing.TB, c *client.Conn, name string) {
	t.Helper()
	mustExec(t, c, "DROP DATABASE IF EXISTS `"+name+"`", "CREATE DATABASE `"+name+"`")
}

// runMySQLFile feeds an SQL file to the mariadb client as root.
func runMySQLFile(t testing.TB, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("mariadb", "--no-defaults", "-uroot", "-p"+mysqlRootPass, "-h"+mysqlHost, "-P"+mysqlPort)
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("load %s: %v\n%s", path, err, out)
	}
}

// sourceGTID reads the source's current GTID position.
func sourceGTID(t testing.TB, my *client.Conn) string {
	t.Helper()
	r, err := my.Execute("SELECT @@GLOBAL.gtid_binlog_pos")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := r.GetString(0, 0)
	return s
}

// gtidCovers compares MariaDB GTID positions domain by domain (seq of got >= want).
func gtidCovers(got, want string) bool {
	seqs := map[string]int64{}
	for _, g := range strings.Split(got, ",") {
		parts := strings.Split(strings.TrimSpace(g), "-")
		if len(parts) == 3 {
			var n int64
			for _, c := range parts[2] {
				n = n*10 + int64(c-'0')
			}
			seqs[parts[0]] = n
		}
	}
	for _, g := range strings.Split(want, ",") {
		parts := strings.Split(strings.TrimSpace(g), "-")
		if len(parts) != 3 {
			continue
		}
		var n int64
		for _, c := range parts[2] {
			n = n*10 + int64(c-'0')
		}
		if seqs[parts[0]] < n {
			return false
		}
	}
	return true
}

func ctxBG() context.Context { return context.Background() }

func pgScalar(t *testing.T, pg *pgx.Conn, q string) string {
	t.Helper()
	var s *string
	if err := pg.QueryRow(context.Background(), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if s == nil {
		return "NULL"
	}
	return *s
}

// esDo performs req and returns the status code and body; a transport failure fails the test.
func esDo(t *testing.T, es *elasticsearch.Client, req esapi.Request) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := req.Do(ctx, es)
	if err != nil {
		t.Fatalf("%T: %v", req, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%T: reading body: %v", req, err)
	}
	return res.StatusCode, body
}

// esOK is esDo that fails the test unless the status is 2xx, and decodes the body into out.
func esOK(t *testing.T, es *elasticsearch.Client, req esapi.Request, out any) {
	t.Helper()
	code, body := esDo(t, es, req)
	if code < 200 || code > 299 {
		t.Fatalf("%T: status %d: %s", req, code, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%T: decoding %s: %v", req, body, err)
		}
	}
}

func esCount(t *testing.T, es *elasticsearch.Client, index, query string) int {
	t.Helper()
	var res struct {
		Count int `json:"count"`
	}
	req := esapi.CountRequest{Index: []string{index}}
	if query != "" {
		req.Body = strings.NewReader(`{"query":` + query + `}`)
	}
	esOK(t, es, req, &res)
	return res.Count
}

// rollbackXAOnCleanup rolls back, when the test ends, any of ids still prepared: a
// prepared XA transaction left behind would hold every later snapshot's view.
func rollbackXAOnCleanup(t *testing.T, my *client.Conn, ids ...string) {
	t.Cleanup(func() {
		for _, id := range ids {
			_, _ = my.Execute("XA ROLLBACK '" + id + "'")
		}
	})
}

// xaSession runs statements on a connection of its own (an XA transaction belongs to
// its session until XA PREPARE).
func xaSession(t *testing.T, stmts ...string) {
	t.Helper()
	c := mysqlRoot(t)
	mustExec(t, c, stmts...)
	c.Close()
}

// privilegeSet normalises a privilege list: MariaDB 10.5+ shows REPLICATION CLIENT as
// BINLOG MONITOR (the README names both).
func privilegeSet(list string) string {
	var out []string
	for _, p := range strings.Split(list, ",") {
		p = strings.Join(strings.Fields(strings.ToUpper(p)), " ")
		if p == "REPLICATION CLIENT" {
			p = "BINLOG MONITOR"
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// requireDocumentedGrants fails the test unless the replicator account has exactly the
// privileges the README documents: check must be tried with what users are told to grant
// (information_schema hides some things from such an account).
func requireDocumentedGrants(t *testing.T) {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := documentedGrant.FindSubmatch(readme)
	if m == nil {
		t.Fatalf("README.md has no line %q", documentedGrant)
	}
	want := privilegeSet(string(m[1]))
	r, err := mysqlRoot(t).Execute("SHOW GRANTS FOR 'replicator'@'127.0.0.1'")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range r.RowNumber() {
		g, _ := r.GetString(i, 0)
		got = append(got, g)
	}
	global := regexp.MustCompile("^GRANT (.+) ON \\*\\.\\* TO `replicator`@`127.0.0.1`") // backquotes inside: no raw string
	if len(got) != 1 || global.FindStringSubmatch(got[0]) == nil || privilegeSet(global.FindStringSubmatch(got[0])[1]) != want {
		t.Fatalf("the replicator account must have exactly the README's grants (%s), it has %q: recreate it with integration/env/up.sh", want, got)
	}
}

// sakilaDir is the Sakila dataset of the extra suite, never part of the repository: a
// clone stands on its own, so the Sakila tests run only when REPLICATOR_SAKILA_DIR names
// the dataset (.ci/run sets it when ../shared/datasets/sakila exists beside the clone).
// Set but wrong is a failure.
func sakilaDir(t testing.TB) string {
	dir := os.Getenv("REPLICATOR_SAKILA_DIR")
	if dir == "" {
		t.Skip("Sakila extra suite: REPLICATOR_SAKILA_DIR is not set (the types and corpus tests cover the same ground)")
	}
	if _, err := os.Stat(filepath.Join(dir, "sakila-schema.sql")); err != nil {
		t.Fatalf("Sakila dataset not found at REPLICATOR_SAKILA_DIR=%s: %v", dir, err)
	}
	return dir
}

// loadSakila (re)creates the sakila database on the source from the shared SQL files.
func loadSakila(t testing.TB) {
	t.Helper()
	mysqlRoot(t) // fails or skips when the server is down
	dir := sakilaDir(t)
	for _, f := range []string{"sakila-schema.sql", "sakila-data.sql"} {
		runMySQLFile(t, filepath.Join(dir, f))
	}
}

var sakilaTables = []string{"actor", "address", "category", "city", "country", "customer", "film", "film_actor",
	"film_category", "film_text", "inventory", "language", "payment", "rental", "staff", "store"}
