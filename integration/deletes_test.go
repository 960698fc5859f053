//go:build integration

package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestDeletesSoftIgnorePostgres replicates a hard parent, a soft child it cascades into,
// a soft table under a row filter and an ignore table, through multi-statement
// transactions with fixed commit times (SET timestamp) that delete, re-insert, change
// keys and move rows out of the filter, with a kill -9 in the middle. It then checks
// row by row which rows are kept, marked and with which _deleted_at (the commit time, not
// the statement's), that verify is equal and counts the kept rows, that check shows the
// modes, and that an online copy of a soft table is refused naming tables[N].deletes.
func TestDeletesSoftIgnore(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) { deletesScenario(t, tg) })
}

// tableRulesConfig is tg's configuration for db with rules, [[tables]] rules of its own
// and the sections after them, in place of the harness's db.* rule: rules gets the
// target line each rule needs (the Elasticsearch harness's index prefix; "" for
// PostgreSQL).
func tableRulesConfig(t *testing.T, tg targetHarness, db string, rules func(target string) string) string {
	t.Helper()
	switch h := tg.(type) {
	case *pgHarness:
		return withServerID(configText("replicator", mysqlReplPass, h.url, rules("")), h.serverID)
	case *esHarness:
		base := h.esTarget.config(db, "")
		i := strings.Index(base, "[[tables]]")
		return withServerID(base[:i]+rules(fmt.Sprintf("target = \"%s{db}.{table}\"", h.prefix)), h.serverID)
	}
	t.Fatalf("no configuration for %s", tg.Name())
	return ""
}

func deletesScenario(t *testing.T, tg targetHarness) {
	my := mysqlRoot(t)
	db := tg.DB("it_deletes")
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB",
		"CREATE TABLE child (id INT PRIMARY KEY, pid INT, v VARCHAR(20), FOREIGN KEY (pid) REFERENCES parent(id) ON DELETE CASCADE) ENGINE=InnoDB",
		"CREATE TABLE soft (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(20)) ENGINE=InnoDB",
		"CREATE TABLE ign (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB",
		"INSERT INTO parent VALUES (1, 'p1'), (2, 'p2'), (3, 'p3')",
		"INSERT INTO child VALUES (10, 1, 'a'), (11, 1, 'b'), (12, 2, 'c'), (13, 3, 'd')",
		"INSERT INTO soft VALUES (1, 1, 's1'), (2, 1, 's2'), (3, 1, 's3'), (4, 1, 's4'), (5, 1, 's5'), (6, 500, 'outside')",
		"INSERT INTO ign VALUES (1, 'i1'), (2, 'i2'), (3, 'i3'), (4, 'i4')")
	cfg := writeConfig(t, tableRulesConfig(t, tg, db, func(target string) string {
		return fmt.Sprintf(`[[tables]]
source = "%[1]s.parent"
%[2]s
[[tables]]
source = "%[1]s.child"
deletes = "soft"
%[2]s
[[tables]]
source = "%[1]s.soft"
deletes = "soft"
where = "v < 100"
%[2]s
[[tables]]
source = "%[1]s.ign"
deletes = "ignore"
%[2]s
[apply]
flush_interval = "50ms"
`, db, target)
	}))

	out, res := runCheck(t, cfg)
	shown := map[string]bool{}
	for _, r := range out.Checks {
		if r.Status == "pass" && strings.Contains(r.Detail, "deletes: soft (rows kept, marked in _deleted, _deleted_at)") {
			shown[r.Name] = true
		}
		if r.Status == "pass" && strings.Contains(r.Detail, "deletes: ignore (rows kept as last written)") {
			shown[r.Name] = true
		}
	}
	if len(shown) != 3 {
		t.Fatalf("check (exit %d) does not show the delete modes of 3 tables (%v):\n%s", res.code, shown, res.stdout)
	}

	p := startCLI(t, "run", "-c", cfg)
	tg.WaitCaughtUp(t, my, p, 60*time.Second)

	const t1, t1stmt, t2, t3 = 1700000100, 1700000050, 1700000200, 1700000300
	// T1: the statements' times differ from the commit's; _deleted_at is the commit's.
	mustExec(t, my, "USE "+db,
		fmt.Sprintf("SET timestamp = %d", t1stmt), "BEGIN",
		"DELETE FROM soft WHERE id = 1",         // soft delete
		"INSERT INTO soft VALUES (7, 1, 'new')", // inserted and deleted in one transaction
		"DELETE FROM soft WHERE id = 7",         //
		"UPDATE soft SET id = 8 WHERE id = 2",   // key change: 2 marked, 8 inserted
		"UPDATE soft SET v = 500 WHERE id = 3",  // leaves the row filter: marked
		"DELETE FROM ign WHERE id IN (1, 2)",    // ignored
		"UPDATE ign SET id = 20 WHERE id = 3",   // key change: 3 kept, 20 inserted
		"DELETE FROM parent WHERE id = 1",       // hard, cascades into child 10 and 11 (soft)
		fmt.Sprintf("SET timestamp = %d", t1), "COMMIT")
	p.kill()
	// T2 while stopped: re-insert of a soft-deleted key clears the marks.
	mustExec(t, my, "USE "+db,
		fmt.Sprintf("SET timestamp = %d", t2), "BEGIN",
		"INSERT INTO soft VALUES (1, 2, 'back')",
		"UPDATE ign SET v = 'i4 changed' WHERE id = 4",
		"INSERT INTO ign VALUES (1, 'i1 again')",
		"COMMIT")
	p = startCLI(t, "run", "-c", cfg)
	time.Sleep(700 * time.Millisecond)
	p.kill() // kill -9 mid-stream, wherever it is
	mustExec(t, my, "USE "+db,
		fmt.Sprintf("SET timestamp = %d", t3), "BEGIN",
		"DELETE FROM soft WHERE id = 4",
		"DELETE FROM child WHERE id = 12",
		"DELETE FROM parent WHERE id = 3", // cascades into 13
		"COMMIT", "SET timestamp = DEFAULT")
	p = startCLI(t, "run", "-c", cfg)
	tg.WaitCaughtUp(t, my, p, 60*time.Second)

	rows := func(table string, cols []string, marked bool) []string {
		t.Helper()
		return targetRows(t, tg, db, table, cols, marked)
	}
	check := func(name string, got, want []string) {
		t.Helper()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\ngot\n  %s\nwant\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
	soft := []string{
		"1 2 back false -",
		"2 1 s2 true " + fmt.Sprint(t1),
		"3 1 s3 true " + fmt.Sprint(t1),
		"4 1 s4 true " + fmt.Sprint(t3),
		"5 1 s5 false -",
		"7 1 new true " + fmt.Sprint(t1),
		"8 1 s2 false -",
	}
	check("soft", rows("soft", []string{"id", "v", "note"}, true), soft)
	check("child", rows("child", []string{"id", "pid", "v"}, true), []string{
		"10 1 a true " + fmt.Sprint(t1),
		"11 1 b true " + fmt.Sprint(t1),
		"12 2 c true " + fmt.Sprint(t3),
		"13 3 d true " + fmt.Sprint(t3),
	})
	check("parent", rows("parent", []string{"id", "name"}, false), []string{"2 p2"})
	check("ign", rows("ign", []string{"id", "v"}, false), []string{"1 i1 again", "2 i2", "20 i3", "3 i3", "4 i4 changed"})

	rep := assertVerifyEqual(t, cfg, "--json")
	kept := map[string]int64{}
	for _, tb := range rep.Tables {
		kept[tb.Source] = tb.Kept
	}
	if kept[db+".soft"] != 4 || kept[db+".child"] != 4 || kept[db+".ign"] != 2 {
		t.Errorf("verify's kept rows: %v, want soft 4, child 4, ign 2", kept)
	}

	// An online copy of a table that keeps deleted rows is refused, naming the key.
	res = runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, db+".soft")
	deadline := time.Now().Add(20 * time.Second)
	var st result
	for time.Now().Before(deadline) {
		st = runCLI(t, 10*time.Second, "status", "-c", cfg)
		if strings.Contains(st.stdout, "tables[2].deletes") {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(st.stdout, `tables[2].deletes = "soft"`) || !strings.Contains(st.stdout, "cannot be copied online") {
		t.Errorf("resnapshot (exit %d: %s) of a soft table not refused in status:\n%s", res.code, res.stderr, st.stdout)
	}
	check("soft after the refused copy", rows("soft", []string{"id", "v", "note"}, true), soft)
	p.stop(t)
}

// targetRows reads a table's rows at the target as sorted lines of the columns' values,
// with the marks (deleted, and _deleted_at as Unix seconds or "-") when marked. A document
// without the marker fields (written by the snapshot) counts as not deleted.
func targetRows(t *testing.T, tg targetHarness, db, table string, cols []string, marked bool) []string {
	t.Helper()
	var out []string
	switch h := tg.(type) {
	case *pgHarness:
		q := "SELECT " + strings.Join(cols, ", ")
		if marked {
			q += ", _deleted, coalesce(extract(epoch FROM _deleted_at)::bigint::text, '-')"
		}
		r, err := h.pg.Query(context.Background(), q+` FROM "`+db+`".`+table)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer r.Close()
		for r.Next() {
			vals, err := r.Values()
			if err != nil {
				t.Fatal(err)
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = fmt.Sprint(v)
			}
			out = append(out, strings.Join(parts, " "))
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
	case *esHarness:
		for _, d := range h.readIndex(t, h.index(db, table)) {
			var parts []string
			for _, c := range cols {
				parts = append(parts, fmt.Sprint(d[c]))
			}
			if marked {
				del, _ := d["_deleted"].(bool)
				at := "-"
				if s, ok := d["_deleted_at"].(string); ok {
					tm, err := time.Parse(time.RFC3339, s)
					if err != nil {
						t.Fatalf("_deleted_at %q: %v", s, err)
					}
					at = fmt.Sprint(tm.Unix())
				}
				parts = append(parts, fmt.Sprint(del), at)
			}
			out = append(out, strings.Join(parts, " "))
		}
	}
	sort.Strings(out)
	return out
}
