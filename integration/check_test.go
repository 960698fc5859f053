//go:build integration

package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

type checkOut struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name, Status, Detail, Fix string
	} `json:"checks"`
}

func runCheck(t *testing.T, cfgPath string) (checkOut, result) {
	t.Helper()
	res := runCLI(t, 60*time.Second, "check", "-c", cfgPath, "--json")
	var out checkOut
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("check --json output is not JSON: %v\nstdout:\n%s\nstderr:\n%s", err, res.stdout, res.stderr)
	}
	return out, res
}

func statusOf(out checkOut, name string) (status, fix string) {
	for _, c := range out.Checks {
		if c.Name == name {
			return c.Status, c.Fix
		}
	}
	return "", ""
}

func checkSetup(t *testing.T) (targetURL string) {
	root := mysqlRoot(t)
	freshMySQLDatabase(t, root, "it_check")
	mustExec(t, root,
		"CREATE TABLE it_check.orders (id INT PRIMARY KEY, note VARCHAR(20))",
		"CREATE TABLE it_check.keyless (code VARCHAR(10) NOT NULL, v INT, UNIQUE KEY (code))")
	return freshPGDatabase(t)
}

const checkTables = `
[[tables]]
source = "it_check.keyless"
key = ["code"]
[[tables]]
source = "it_check.*"
`

func TestCheckPassesOnLocalEnvironment(t *testing.T) {
	url := checkSetup(t)
	out, res := runCheck(t, writeConfig(t, configText("replicator", mysqlReplPass, url, checkTables)))
	if res.code != 0 || !out.OK {
		t.Fatalf("check failed (exit %d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, name := range []string{"source.connect", "source.binlog_format", "source.binlog_row_image", "source.gtid",
		"source.privilege.replication_slave", "source.privilege.replication_client", "source.table.it_check.orders",
		"source.table.it_check.keyless", "target.connect", "target.writable"} {
		if st, _ := statusOf(out, name); st != "pass" {
			t.Errorf("check %s = %q, want pass", name, st)
		}
	}
	// The human form prints one line per check.
	text := runCLI(t, 60*time.Second, "check", "-c", writeConfig(t, configText("replicator", mysqlReplPass, url, checkTables)))
	if !strings.Contains(text.stdout, "PASS  source.binlog_format") {
		t.Errorf("text output lacks the binlog_format line:\n%s", text.stdout)
	}
}

func TestCheckFailsOnStatementFormat(t *testing.T) {
	url := checkSetup(t)
	root := mysqlRoot(t)
	mustExec(t, root, "SET GLOBAL binlog_format = 'STATEMENT'")
	t.Cleanup(func() { mustExec(t, mysqlRoot(t), "SET GLOBAL binlog_format = 'ROW'") })
	out, res := runCheck(t, writeConfig(t, configText("replicator", mysqlReplPass, url, checkTables)))
	if res.code == 0 || out.OK {
		t.Fatalf("check passed with binlog_format=STATEMENT:\n%s", res.stdout)
	}
	st, fix := statusOf(out, "source.binlog_format")
	if st != "fail" || !strings.Contains(fix, "SET GLOBAL binlog_format = 'ROW'") {
		t.Fatalf("source.binlog_format = %q, fix %q", st, fix)
	}
	if !strings.Contains(res.stderr, "source.binlog_format") {
		t.Errorf("one-line reason does not name the failed check: %q", res.stderr)
	}
}

func TestCheckFailsWithoutReplicationSlave(t *testing.T) {
	url := checkSetup(t)
	root := mysqlRoot(t)
	mustExec(t, root,
		"DROP USER IF EXISTS 'noslave'@'127.0.0.1'",
		"CREATE USER 'noslave'@'127.0.0.1' IDENTIFIED BY 'pw'",
		"GRANT SELECT, RELOAD, BINLOG MONITOR ON *.* TO 'noslave'@'127.0.0.1'")
	t.Cleanup(func() { mustExec(t, mysqlRoot(t), "DROP USER IF EXISTS 'noslave'@'127.0.0.1'") })
	out, res := runCheck(t, writeConfig(t, configText("noslave", "pw", url, checkTables)))
	if res.code == 0 {
		t.Fatalf("check passed without REPLICATION SLAVE:\n%s", res.stdout)
	}
	st, fix := statusOf(out, "source.privilege.replication_slave")
	if st != "fail" || !strings.Contains(fix, "GRANT REPLICATION SLAVE ON *.*") {
		t.Fatalf("source.privilege.replication_slave = %q, fix %q\n%s", st, fix, res.stdout)
	}
	if st, _ := statusOf(out, "source.binlog_format"); st != "pass" {
		t.Errorf("unrelated check binlog_format = %q", st)
	}
}

func TestCheckNamesMissingKeyAndBadPassword(t *testing.T) {
	url := checkSetup(t)
	out, res := runCheck(t, writeConfig(t, configText("replicator", mysqlReplPass, url, `
[[tables]]
source = "it_check.*"
`)))
	st, fix := statusOf(out, "source.table.it_check.keyless")
	if res.code == 0 || st != "fail" || !strings.Contains(fix, "key = [") {
		t.Fatalf("keyless table without key: status %q fix %q exit %d", st, fix, res.code)
	}

	out, res = runCheck(t, writeConfig(t, configText("replicator", "wrong-password", url, checkTables)))
	st, _ = statusOf(out, "source.connect")
	if res.code == 0 || st != "fail" {
		t.Fatalf("wrong password: source.connect = %q exit %d", st, res.code)
	}
	if strings.Contains(res.stdout+res.stderr, "wrong-password") {
		t.Errorf("the password appears in the output")
	}
	if !strings.Contains(res.stdout, "access denied") {
		t.Errorf("wrong password not explained:\n%s", res.stdout)
	}
}

func TestBadConfigNamesKey(t *testing.T) {
	p := writeConfig(t, configText("replicator", "x", pgURL, "[[tables]]\nsource = \"a.b\"\n[snapshot]\nparalelism = 3\n"))
	res := runCLI(t, 10*time.Second, "check", "-c", p)
	if res.code == 0 || !strings.Contains(res.stderr, "snapshot.paralelism") {
		t.Fatalf("exit %d, stderr %q: want the unknown key named", res.code, res.stderr)
	}
}
