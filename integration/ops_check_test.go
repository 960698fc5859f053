//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

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
	// Into PostgreSQL a table without a key replicates by full-row match: a warning with
	// the cost and the fixes (a failure into Elasticsearch, see TestInitElasticsearchTarget).
	st, fix := statusOf(out, "source.table.it_check.keyless")
	if res.code != 0 || st != "warn" || !strings.Contains(fix, "key = [") {
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

// documentedGrant is the account statement of the README's "What the source needs".
var documentedGrant = regexp.MustCompile(`(?m)^GRANT ([A-Z ,]+) ON \*\.\* TO 'replicator'@'host';$`)

// TestCheckWarnsForeignKeyCascade: foreign keys whose actions MariaDB does not log are
// reported to the documented account, which information_schema.REFERENTIAL_CONSTRAINTS
// shows nothing: with the PostgreSQL target and the parent replicated, as applied by the
// stream (a passing line); with the parent left out, as a warning whose fix is to
// replicate it; with Elasticsearch, which applies them too (documents found by their
// foreign key fields), as applied.
func TestCheckWarnsForeignKeyCascade(t *testing.T) {
	url := checkSetup(t)
	root := mysqlRoot(t)
	mustExec(t, root,
		"CREATE TABLE it_check.parent (id INT PRIMARY KEY)",
		"CREATE TABLE it_check.child (id INT PRIMARY KEY, pid INT, CONSTRAINT `child fk` FOREIGN KEY (pid) REFERENCES it_check.parent (id) ON DELETE CASCADE ON UPDATE SET NULL)",
		"CREATE TABLE it_check.strict_child (id INT PRIMARY KEY, pid INT, CONSTRAINT sc_fk FOREIGN KEY (pid) REFERENCES it_check.parent (id))")
	fkResults := func(out checkOut) (res []string) {
		for _, c := range out.Checks {
			if strings.HasPrefix(c.Name, "source.table.") && c.Kind == "source.foreign_keys" {
				res = append(res, c.Status+" "+c.Name+": "+c.Detail+" | fix: "+c.Fix)
			}
		}
		return res
	}
	out, res := runCheck(t, writeConfig(t, configText("replicator", mysqlReplPass, url, checkTables)))
	if res.code != 0 || !out.OK {
		t.Fatalf("check failed (exit %d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	want := "pass source.table.it_check.child: it_check.child (child fk ON DELETE CASCADE, ON UPDATE SET NULL to parent): foreign key actions InnoDB does not write to the binary log; the referenced tables are replicated, so the stream applies these actions"
	if got := fkResults(out); len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("foreign keys, parent replicated: %q, want exactly one starting %q", got, want)
	}

	out, _ = runCheck(t, writeConfig(t, configText("replicator", mysqlReplPass, url, "[[tables]]\nsource = \"it_check.child\"\n")))
	want = "warn source.table.it_check.child: it_check.child (child fk ON DELETE CASCADE, ON UPDATE SET NULL to it_check.parent (not replicated))"
	if got := fkResults(out); len(got) != 1 || !strings.HasPrefix(got[0], want) || !strings.Contains(got[0], "fix: add the referenced tables") {
		t.Errorf("foreign keys, parent not replicated: %q, want exactly one starting %q", got, want)
	}

	et := newESTarget(t, "check-fk")
	t.Cleanup(func() { et.cleanup(t) })
	out, _ = runCheck(t, writeConfig(t, et.config("it_check", "")))
	want = "pass source.table.it_check.child: it_check.child (child fk ON DELETE CASCADE, ON UPDATE SET NULL to parent): foreign key actions InnoDB does not write to the binary log; the referenced tables are replicated, so the stream applies these actions"
	if got := fkResults(out); len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("foreign keys, Elasticsearch: %q, want exactly one starting %q", got, want)
	}
}

// TestCheckGroupsFindingsWithEvidence: check prints one line per kind of finding, naming
// the tables and columns, warns about zero dates and NUL bytes where the sample found them
// (the sql_mode of the shared server lets zero dates be written, so date columns without
// any are one separate line), offers fixes that change something, and ends with the
// counts; --json keeps every finding per table.
func TestCheckGroupsFindingsWithEvidence(t *testing.T) {
	root := mysqlRoot(t)
	freshMySQLDatabase(t, root, "it_check_ev")
	mustExec(t, root,
		"SET SESSION sql_mode = ''",
		"CREATE TABLE it_check_ev.parent (id INT PRIMARY KEY, name VARCHAR(20))",
		"CREATE TABLE it_check_ev.kid1 (id INT PRIMARY KEY, pid INT, CONSTRAINT k1 FOREIGN KEY (pid) REFERENCES it_check_ev.parent (id) ON DELETE CASCADE)",
		"CREATE TABLE it_check_ev.kid2 (id INT PRIMARY KEY, pid INT, CONSTRAINT k2 FOREIGN KEY (pid) REFERENCES it_check_ev.parent (id) ON UPDATE CASCADE)",
		"CREATE TABLE it_check_ev.dated (id INT PRIMARY KEY, d DATE, note VARCHAR(20))",
		"CREATE TABLE it_check_ev.nul (id INT PRIMARY KEY, s VARCHAR(20))",
		"INSERT INTO it_check_ev.parent VALUES (1, 'p')",
		"INSERT INTO it_check_ev.dated VALUES (1, '0000-00-00', 'zero'), (2, '2020-00-15', 'partly'), (3, '2020-01-15', 'real')",
		"INSERT INTO it_check_ev.nul VALUES (1, CONCAT('a', CHAR(0), 'b')), (2, 'plain')")
	url := freshPGDatabase(t)
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, "[[tables]]\nsource = \"it_check_ev.*\"\n"))
	requireDocumentedGrants(t)
	text := runCLI(t, time.Minute, "check", "-c", cfg)
	if text.code != 0 {
		t.Fatalf("check failed (exit %d):\n%s\n%s", text.code, text.stdout, text.stderr)
	}
	lines := strings.Split(strings.TrimSpace(text.stdout), "\n")
	count := func(prefix string) (n int, line string) {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				n, line = n+1, l
			}
		}
		return n, line
	}
	// The parent is replicated: the PostgreSQL stream applies the actions, one passing line.
	n, fk := count("PASS  source.foreign_keys ")
	if n != 1 || !strings.Contains(fk, "it_check_ev.kid1 (k1 ON DELETE CASCADE to parent); it_check_ev.kid2 (k2 ON UPDATE CASCADE to parent)") {
		t.Errorf("foreign keys: %d lines, %q", n, fk)
	}
	if n, nul := count("WARN  mapping.text_nul "); n != 1 || !strings.Contains(nul, "it_check_ev.nul (s: 1 of 2 sampled rows)") || strings.Contains(nul, "parent") {
		t.Errorf("NUL bytes: %d lines, %q", n, nul)
	}
	var zero []string
	for _, l := range lines {
		if strings.HasPrefix(l, "WARN  mapping.zero_dates ") {
			zero = append(zero, l)
		}
	}
	if len(zero) != 1 || !strings.Contains(zero[0], "found in the sample") || !strings.Contains(zero[0], "it_check_ev.dated (d: 2 of 3 sampled rows)") {
		t.Errorf("zero dates: %q", zero)
	}
	if strings.Contains(text.stdout, `mapping.zero_dates = "infinity" or`) || strings.Contains(text.stdout, `set mapping.zero_dates = "infinity"`) ||
		strings.Contains(text.stdout, `set mapping.text_nul = "error"`) {
		t.Errorf("a fix names the value already set:\n%s", text.stdout)
	}
	if strings.Contains(text.stdout, "PASS  source.table.") {
		t.Errorf("per-table passing lines printed:\n%s", text.stdout)
	}
	if last := lines[len(lines)-1]; last != "5 tables ok, 2 warnings, 0 failures" {
		t.Errorf("last line %q\n%s", last, text.stdout)
	}

	out, res := runCheck(t, cfg)
	if res.code != 0 || !out.OK {
		t.Fatalf("check --json failed (exit %d)", res.code)
	}
	perTable := map[string]bool{}
	for _, c := range out.Checks {
		if strings.HasPrefix(c.Name, "source.table.it_check_ev.") && c.Status == "pass" {
			perTable[c.Name] = true
		}
	}
	if len(perTable) != 5 {
		t.Errorf("--json has %d per-table results, want 5: %v", len(perTable), perTable)
	}
	var js struct {
		Summary struct{ TablesOK, Warnings, Failures int } `json:"summary"`
	}
	_ = json.Unmarshal([]byte(res.stdout), &js)
	if js.Summary.Warnings != 2 {
		t.Errorf("--json summary %+v", js.Summary)
	}
}

// TestCheckReportsGTIDStrictMode: check names MariaDB's gtid_strict_mode and what it means
// for the target, as information (both values are supported). The mode is a global setting
// of the shared server: it is flipped only for the check runs and put back.
func TestCheckReportsGTIDStrictMode(t *testing.T) {
	url := checkSetup(t)
	root := mysqlRoot(t)
	et := newESTarget(t, "check-strict")
	t.Cleanup(func() { et.cleanup(t) })
	pgCfg := writeConfig(t, configText("replicator", mysqlReplPass, url, checkTables))
	esCfg := writeConfig(t, strings.Replace(et.config("it_check", ""), `source = "it_check.*"`, `source = "it_check.orders"`, 1))
	r, err := root.Execute("SELECT @@GLOBAL.gtid_strict_mode")
	if err != nil {
		t.Fatal(err)
	}
	was, _ := r.GetInt(0, 0)
	defer mustExec(t, root, fmt.Sprintf("SET GLOBAL gtid_strict_mode = %d", was))
	for _, mode := range []int64{was, 1 - was} {
		mustExec(t, root, fmt.Sprintf("SET GLOBAL gtid_strict_mode = %d", mode))
		for _, tc := range []struct{ target, cfg, meaning string }{
			{"postgres", pgCfg, "PostgreSQL target applies transactions in binary log order"},
			{"elasticsearch", esCfg, "transaction counter kept with the checkpoint"},
		} {
			out, res := runCheck(t, tc.cfg)
			if res.code != 0 {
				t.Errorf("%s, strict mode %d: check failed (exit %d): %v\n%s", tc.target, mode, res.code, out.Checks, tail(res.stderr, 5))
			}
			var detail, status string
			for _, c := range out.Checks {
				if c.Name == "source.gtid_strict_mode" {
					detail, status = c.Detail, c.Status
				}
			}
			want := "gtid_strict_mode = ON"
			if mode == 0 {
				want = "gtid_strict_mode = OFF: a transaction may carry a lower sequence number"
			}
			if status != "pass" || !strings.HasPrefix(detail, want) || (mode == 0 && !strings.Contains(detail, tc.meaning)) {
				t.Errorf("%s, strict mode %d: source.gtid_strict_mode %s %q (exit %d)", tc.target, mode, status, detail, res.code)
			}
		}
	}
	text := runCLI(t, time.Minute, "check", "-c", pgCfg)
	if !strings.Contains(text.stdout, "PASS  source.gtid_strict_mode") {
		t.Errorf("text output lacks the gtid_strict_mode line:\n%s", text.stdout)
	}
}

// TestCheckSakilaReadable (Sakila extra suite): on Sakila, check reads as a person needs
// it: no per-table passing lines, each kind of finding once, no warning without evidence
// (no NUL bytes in its data; the foreign keys' actions are applied by the PostgreSQL
// stream since every referenced table is replicated), and the closing count.
func TestCheckSakilaReadable(t *testing.T) {
	loadSakila(t)
	requireDocumentedGrants(t)
	url := freshPGDatabase(t)
	res := runCLI(t, time.Minute, "check", "-c", writeConfig(t, configText("replicator", mysqlReplPass, url, "[[tables]]\nsource = \"sakila.*\"\n")))
	if res.code != 0 {
		t.Fatalf("check failed (exit %d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	kinds := map[string]int{}
	warns := 0
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 || (f[0] != "PASS" && f[0] != "WARN" && f[0] != "FAIL") {
			continue
		}
		kinds[f[1]]++
		if f[0] == "WARN" {
			warns++
		}
		if strings.HasPrefix(f[1], "source.table.") || strings.HasPrefix(f[1], "mapping.sakila.") {
			t.Errorf("per-table line: %s", l)
		}
	}
	for k, n := range kinds {
		if n > 1 {
			t.Errorf("%s printed %d times", k, n)
		}
	}
	if kinds["source.foreign_keys"] != 1 || !strings.Contains(res.stdout, "PASS  source.foreign_keys") || strings.Contains(res.stdout, "WARN  mapping.text_nul") {
		t.Errorf("foreign keys or NUL bytes:\n%s", res.stdout)
	}
	// The zero-date line depends on the server's sql_mode; nothing else should warn.
	want := fmt.Sprintf("16 tables ok, %d warnings, 0 failures", warns)
	if warns == 1 {
		want = "16 tables ok, 1 warning, 0 failures"
	}
	if warns > 1 || lines[len(lines)-1] != want {
		t.Errorf("%d warnings, last line %q, want %q:\n%s", warns, lines[len(lines)-1], want, res.stdout)
	}
}

// TestCheckAndStatusWhileStreaming: against a target a replicator streams into, check
// passes target.connect and target.writable, and status shows the streaming phase with no
// transaction behind. (Before, only an Elasticsearch lock test asserted this.)
func TestCheckAndStatusWhileStreaming(t *testing.T) {
	// Serial: "behind 0 transactions" counts every write of the source.
	forEachTargetSerial(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_check_status")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "USE "+db, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1)")
		cfg := writeConfig(t, tg.Config(db, "[apply]\nflush_interval = \"50ms\"\n"))
		p := startCLI(t, "run", "-c", cfg)
		mustExec(t, my, "INSERT INTO "+db+".t VALUES (2, 2)")
		tg.WaitCaughtUp(t, my, p, time.Minute)
		out, res := runCheck(t, cfg)
		for _, name := range []string{"target.connect", "target.writable"} {
			if st, _ := statusOf(out, name); st != "pass" {
				t.Errorf("check %s = %q (exit %d)\n%s", name, st, res.code, res.stdout)
			}
		}
		st := runCLI(t, 30*time.Second, "status", "-c", cfg)
		if st.code != 0 || !strings.Contains(st.stdout, "phase       streaming") || !strings.Contains(st.stdout, "behind      0 transactions") {
			t.Errorf("status: exit %d\n%s\n%s", st.code, st.stdout, tail(st.stderr, 5))
		}
		p.stop(t)
	})
}
