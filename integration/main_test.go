//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// binary is the replicator built once for the whole suite: tests drive the real CLI.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "replicator-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "replicator")
	build := exec.Command("go", "build", "-o", binary, "../cmd/replicator")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build replicator:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Connection settings of the local environment (integration/env/up.sh).
var (
	mysqlHost     = envOr("REPLICATOR_MYSQL_HOST", "127.0.0.1")
	mysqlPort     = envOr("REPLICATOR_MYSQL_PORT", "13306")
	mysqlRootPass = envOr("REPLICATOR_MYSQL_ROOT_PASSWORD", "root")
	mysqlReplPass = envOr("REPLICATOR_MYSQL_REPL_PASSWORD", "replicator")
	pgURL         = envOr("REPLICATOR_PG_URL", "postgres://postgres@127.0.0.1:15432/postgres?sslmode=disable")
)

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

// configText renders a configuration for the local servers; extra is appended verbatim.
func configText(user, password, targetURL, extra string) string {
	return fmt.Sprintf(`[source]
host = %q
port = %s
user = %q
password = %q
server_id = 4201
[source.tls]
mode = "disabled"

[target]
type = "postgres"
[target.postgres]
url = %q

[log]
level = "debug"
format = "json"
%s
`, mysqlHost, mysqlPort, user, password, targetURL, extra)
}

// writeConfig writes a configuration file into the test's temporary directory.
func writeConfig(t testing.TB, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// result is a finished replicator process.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the replicator to completion with a timeout.
func runCLI(t testing.TB, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("run replicator %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("replicator %v did not finish within %s\nstderr:\n%s", args, timeout, tail(res.stderr, 40))
	}
	return res
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
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
