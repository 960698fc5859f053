//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/jackc/pgx/v5"
)

// Hostile names: quotes of every kind, backquotes, semicolons, spaces, SQL fragments and
// non-ASCII letters in database, table and column names.
const (
	hostileDB   = "it hostile;db" // the base name: each target's subtest adds its suffix
	hostileT1   = "we`ird \"tab'le; DROP TABLE x"
	hostileT2   = "ünïcødé 表 tbl"
	hostileKey  = "i d"
	hostileKey2 = "n;o"
)

// q quotes a MySQL identifier.
func q(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func hostileSetup(t *testing.T, db string) {
	t.Helper()
	my := mysqlRoot(t)
	mustExec(t, my, "DROP DATABASE IF EXISTS "+q(db), "CREATE DATABASE "+q(db), "USE "+q(db),
		fmt.Sprintf("CREATE TABLE %s (%s INT PRIMARY KEY, %s VARCHAR(20), %s TEXT, %s INT, %s DECIMAL(10,2), %s VARCHAR(10), %s DATETIME)",
			q(hostileT1), q(hostileKey), q("col`bt"), q(`quo"te`), q("'single'"), q("semi;colon"), q("ünï 表"), q("Mixed Case")),
		fmt.Sprintf("CREATE TABLE %s (%s VARCHAR(20), %s INT, %s TEXT, PRIMARY KEY (%s, %s))",
			q(hostileT2), q("k ey`"), q(hostileKey2), q(`val"ue;--`), q("k ey`"), q(hostileKey2)),
		fmt.Sprintf("INSERT INTO %s SELECT seq, CONCAT('v`', seq), CONCAT('\"q\";', seq), seq * 3, seq / 7, 'ü表', '2024-01-01' + INTERVAL seq MINUTE FROM seq_1_to_3000", q(hostileT1)),
		fmt.Sprintf("INSERT INTO %s SELECT CONCAT('k''`\"; ', seq %% 40), seq, CONCAT('x', seq) FROM seq_1_to_500", q(hostileT2)))
}

// hostileStream writes inserts, updates (one changing the key) and deletes to both tables.
func hostileStream(t *testing.T, db string) {
	t.Helper()
	my := mysqlRoot(t)
	mustExec(t, my, "USE "+q(db),
		fmt.Sprintf("INSERT INTO %s (%s, %s, %s) VALUES (5001, 'new`', 'n\"ew')", q(hostileT1), q(hostileKey), q("col`bt"), q(`quo"te`)),
		fmt.Sprintf("UPDATE %s SET %s = 'upd;ated', %s = -1 WHERE %s <= 50", q(hostileT1), q("col`bt"), q("'single'"), q(hostileKey)),
		fmt.Sprintf("UPDATE %s SET %s = 6000 WHERE %s = 60", q(hostileT1), q(hostileKey), q(hostileKey)),
		fmt.Sprintf("DELETE FROM %s WHERE %s BETWEEN 100 AND 120", q(hostileT1), q(hostileKey)),
		fmt.Sprintf("INSERT INTO %s VALUES ('ne`w\"'';', 1, 'fresh')", q(hostileT2)),
		fmt.Sprintf("UPDATE %s SET %s = 'changed' WHERE %s < 30", q(hostileT2), q(`val"ue;--`), q(hostileKey2)),
		fmt.Sprintf("DELETE FROM %s WHERE %s BETWEEN 200 AND 210", q(hostileT2), q(hostileKey2)))
}

// TestFaultHostileNames replicates tables whose names need quoting everywhere through the
// snapshot and streaming, and verify compares them and names a row changed only in the
// target. Elasticsearch index names must be lower case without quotes or spaces, so there
// the rules name the indexes, while the field names stay hostile.
func TestFaultHostileNames(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		db := tg.DB(hostileDB)
		hostileSetup(t, db)
		var text string
		switch h := tg.(type) {
		case *pgHarness:
			text = h.Config(q(db), "[apply]\nflush_interval = \"100ms\"\n[snapshot]\nchunk_rows = 1000\n")
		case *esHarness:
			rule := func(table, index string) string {
				return fmt.Sprintf("[[tables]]\nsource = %q\ntarget = %q\n", q(db)+"."+q(table), h.prefix+index)
			}
			text = h.Config("unused", "[apply]\nflush_interval = \"100ms\"\n[snapshot]\nchunk_rows = 1000\n"+rule(hostileT1, "t1")+rule(hostileT2, "t2"))
			text = strings.Replace(text, "[[tables]]\nsource = \"unused.*\"\ntarget = \""+h.prefix+"{db}.{table}\"\n", "", 1)
		}
		cfg := writeConfig(t, text)
		my := mysqlRoot(t)
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, time.Minute)
		hostileStream(t, db)
		tg.WaitCaughtUp(t, my, p, time.Minute)
		rep := assertVerifyEqual(t, cfg, "--chunk-rows", "700")
		if len(rep.Tables) != 2 {
			t.Fatalf("verified %d tables, want 2: %+v", len(rep.Tables), rep.Tables)
		}
		want := map[string]string{db + "." + hostileT1: "key ranges", db + "." + hostileT2: "hash buckets"}
		for _, tb := range rep.Tables {
			if want[tb.Source] != tb.Method || tb.SourceRows == 0 {
				t.Errorf("table %q compared by %q over %d rows", tb.Source, tb.Method, tb.SourceRows)
			}
		}
		// A change made only in the target is found and named.
		switch h := tg.(type) {
		case *pgHarness:
			if _, err := h.pg.Exec(context.Background(), fmt.Sprintf("UPDATE %s SET %s = 'tampered' WHERE %s = 7",
				pgx.Identifier{db, hostileT1}.Sanitize(), pgx.Identifier{`quo"te`}.Sanitize(), pgx.Identifier{hostileKey}.Sanitize())); err != nil {
				t.Fatal(err)
			}
		case *esHarness:
			esOK(t, h.es, esapi.UpdateRequest{Index: h.prefix + "t1", DocumentID: "7", Body: strings.NewReader(`{"doc":{"quo\"te":"tampered"}}`)}, nil)
		}
		bad, res := runVerify(t, cfg, "--retries", "0")
		if res.code == 0 || bad.Equal {
			t.Fatalf("tampered hostile table reported equal")
		}
		for _, tb := range bad.Tables {
			if tb.Source == db+"."+hostileT1 {
				if len(tb.Diffs) != 1 || tb.Diffs[0].Key[hostileKey] == nil || *tb.Diffs[0].Key[hostileKey] != "7" || tb.Diffs[0].Columns[0] != `quo"te` {
					t.Errorf("diffs %+v", tb.Diffs)
				}
			}
		}
		faultResult(t, "hostile names ("+tg.Name()+")", "verify equal; tampered row named", "tables", len(rep.Tables))
		p.stop(t)
	})
}
