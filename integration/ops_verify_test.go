//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"
)

// verifyTablesSetup creates db with the workload table (seeded), a table of many types and
// a table with a composite, non-integer-first key.
func verifyTablesSetup(t *testing.T, my *client.Conn, db string, rows int) {
	t.Helper()
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`", wlTable,
		`CREATE TABLE types (id BIGINT UNSIGNED PRIMARY KEY, v VARCHAR(20), n DECIMAL(30,10), f FLOAT, d DOUBLE,
			y YEAR, b BIT(10), tm TIME(3), dt DATETIME(6), ts TIMESTAMP(2) NULL, dd DATE, j JSON, bl BLOB, e ENUM('x','y'), s SET('p','q'))`,
		`INSERT INTO types VALUES (1, 'one', 1.5, 3.14, 1e300, 2020, b'1010101010', '-838:59:59.000', '2020-01-01 00:00:00.000001',
			'2020-02-02 02:02:02.50', '0000-00-00', '{"b": [1, 2.50], "a": null}', x'00ff10', 'y', 'p,q'),
			(2, '', NULL, 1000000, 123456789, 0, NULL, '12:00:00', NULL, NULL, '2020-01-01', NULL, '', NULL, ''),
			(18446744073709551615, 'max', -0.0000000001, -1.5e-7, -0.0, 1901, b'1', '838:59:59', '9999-12-31 23:59:59.999999', NULL, '1000-01-01', '[]', NULL, 'x', 'q')`,
		`CREATE TABLE comp (k1 VARCHAR(10) CHARACTER SET latin1, k2 INT, p TEXT, PRIMARY KEY (k1, k2))`,
		`INSERT INTO comp SELECT CONCAT('k', seq % 50, IF(seq % 7 = 0, 'é', '')), seq, REPEAT('z', seq % 30) FROM seq_1_to_2000`)
	seed(t, my, db, rows)
}

// TestVerify runs verify while a workload writes and the replicator streams (differences
// in flight are read again, so the verdict is "equal"), then under --max-rows-per-second,
// then after rows of the target were changed, deleted and added behind the replicator's
// back: every difference is found and named by key, kind and columns, in the JSON and the
// text report.
func TestVerify(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_verify")
		verifyTablesSetup(t, my, db, 20000)
		cfg := writeConfig(t, tg.Config(db, "[apply]\nflush_interval = \"100ms\"\nbatch_rows = 2000\n[snapshot]\nchunk_rows = 3000\n"))

		stop := make(chan struct{})
		wait := workload(t, db, 2, stop)
		p := startCLI(t, "run", "-c", cfg)
		tg.WaitCaughtUp(t, my, p, 2*time.Minute)
		mustExec(t, my, "UPDATE `"+db+"`.types SET v = 'streamed', j = '{\"z\": 1.0e2}' WHERE id = 2",
			"INSERT INTO `"+db+"`.comp VALUES ('new', 1, 'streamed')", "DELETE FROM `"+db+"`.comp WHERE k2 = 3")

		// While the workload writes: differences in flight are read again after the target
		// caught up, so the verdict is still "equal".
		time.Sleep(time.Second)
		rep := assertVerifyEqual(t, cfg, "--chunk-rows", "3000")
		t.Logf("verify under write load: %d tables equal", len(rep.Tables))
		close(stop)
		n := wait()
		tg.WaitCaughtUp(t, my, p, time.Minute)
		t.Logf("workload: %d statements", n)

		start := time.Now()
		rep = assertVerifyEqual(t, cfg, "--chunk-rows", "3000", "--max-rows-per-second", "15000")
		if el := time.Since(start); el < 700*time.Millisecond {
			t.Errorf("verify read ~24,000 source rows in %s despite --max-rows-per-second 15000", el)
		}
		methods := map[string]string{}
		for _, tb := range rep.Tables {
			methods[tb.Source] = tb.Method
			if tb.Source == db+".wl" && tb.SourceRows < 15000 {
				t.Errorf("wl compared over %d rows", tb.SourceRows)
			}
		}
		if methods[db+".wl"] != "key ranges" || methods[db+".comp"] != "hash buckets" {
			t.Errorf("comparison methods %v", methods)
		}

		// Tamper with the target: one row changed, one deleted, one that the source lacks.
		want := map[string]string{
			db + ".wl 15000":   "changed[note]",
			db + ".wl 16000":   "missing[]",
			db + ".wl 999999":  "extra[]",
			db + ".comp k7é,7": "changed[p]",
		}
		tablesDiffer := "2 of 3 tables differ"
		switch h := tg.(type) {
		case *pgHarness:
			for _, q := range []string{
				`UPDATE ` + db + `.wl SET note = 'tampered' WHERE id = 15000`,
				`DELETE FROM ` + db + `.wl WHERE id = 16000`,
				`INSERT INTO ` + db + `.wl (id, grp, v, note, ts) VALUES (999999, 1, 2, 'extra', now())`,
				`UPDATE ` + db + `.comp SET p = 'tampered' WHERE k1 = 'k7é' AND k2 = 7`,
				`UPDATE ` + db + `.types SET f = 3.15 WHERE id = 1`,
			} {
				if _, err := h.pg.Exec(ctxBG(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			want[db+".types 1"] = "changed[f]"
			tablesDiffer = "3 of 3 tables differ"
		case *esHarness:
			index := h.index(db, "wl")
			esOK(t, h.es, esapi.UpdateRequest{Index: index, DocumentID: "15000", Body: strings.NewReader(`{"doc":{"note":"tampered"}}`)}, nil)
			esOK(t, h.es, esapi.DeleteRequest{Index: index, DocumentID: "16000"}, nil)
			esOK(t, h.es, esapi.IndexRequest{Index: index, DocumentID: "999999", Body: strings.NewReader(`{"id":999999,"grp":1,"v":2,"note":"extra"}`)}, nil)
			esOK(t, h.es, esapi.IndexRequest{Index: h.index(db, "comp"), DocumentID: `["k7é","7"]`, Body: strings.NewReader(`{"k1":"k7é","k2":7,"p":"tampered"}`)}, nil)
		}
		rep, res := runVerify(t, cfg, "--chunk-rows", "3000", "--retries", "1", "--retry-delay", "100ms")
		if res.code == 0 || rep.Equal {
			t.Fatalf("verify exit %d, equal %v after tampering\n%s", res.code, rep.Equal, res.stdout)
		}
		if lines := strings.Split(strings.TrimSpace(res.stderr), "\n"); !strings.Contains(lines[len(lines)-1], tablesDiffer) {
			t.Errorf("last stderr line should give the reason (%s): %q", tablesDiffer, lines[len(lines)-1])
		}
		got := map[string]string{} // "table key" -> kind [columns]
		for _, tb := range rep.Tables {
			for _, d := range tb.Diffs {
				var key []string
				for _, k := range []string{"id", "k1", "k2"} {
					if v, ok := d.Key[k]; ok && v != nil {
						key = append(key, *v)
					}
				}
				got[tb.Source+" "+strings.Join(key, ",")] = d.Kind + fmt.Sprint(d.Columns)
			}
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("difference %s: got %q, want %q (all: %v)", k, got[k], v, got)
			}
		}
		if len(got) != len(want) {
			t.Errorf("differences %v, want %v", got, want)
		}
		for _, tb := range rep.Tables {
			if tb.Source == db+".wl" {
				for _, d := range tb.Diffs {
					if d.Kind == "changed" && (d.Target["note"] == nil || *d.Target["note"] != "tampered" || d.Source["note"] == nil) {
						t.Errorf("changed row shows source %v, target %v", d.Source, d.Target)
					}
				}
			}
		}
		// The text report names the keys too.
		text := runCLI(t, time.Minute, "verify", "-c", cfg, "--retries", "0", "--log-level", "warn")
		for _, s := range []string{`id="15000": changed note`, `id="16000": missing in target`, `id="999999": extra in target`, "DIFFERENT"} {
			if !strings.Contains(text.stdout, s) {
				t.Errorf("text report lacks %q:\n%s", s, text.stdout)
			}
		}
		p.stop(t)
	})
}

// TestVerifyCountsManyDifferences changes, deletes and adds far more target rows than
// verify keeps (10,000 per table): beyond that it must still count every differing row, not
// the difference of row counts (which is zero for a changed row). Both comparison methods.
func TestVerifyCountsManyDifferences(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_verify_many"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`", wlTable,
		`CREATE TABLE comp (k1 VARCHAR(10), k2 INT, p VARCHAR(20), PRIMARY KEY (k1, k2))`,
		`INSERT INTO comp SELECT CONCAT('k', seq % 50), seq, 'p' FROM seq_1_to_30000`)
	seed(t, my, db, 150000)
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	cfg := writeConfig(t, streamConfig(url, db))
	p := startCLI(t, "run", "-c", cfg)
	waitCaughtUp(t, my, pg, p, 2*time.Minute)
	p.stop(t)
	assertVerifyEqual(t, cfg)

	ctx := ctxBG()
	for _, q := range []string{
		// 66,667 changed
		`UPDATE it_verify_many.wl SET note = 'tampered' WHERE id % 3 <> 0 AND id <= 100000`,
		// 30,000 missing
		`DELETE FROM it_verify_many.wl WHERE id % 3 = 0 AND id <= 90000`,
		// 30,000 missing: whole chunks the target lacks
		`DELETE FROM it_verify_many.wl WHERE id BETWEEN 100001 AND 130000`,
		// 10,000 extra
		`INSERT INTO it_verify_many.wl (id, grp, v, note, ts) SELECT i, 1, 2, 'extra', now() FROM generate_series(200001, 210000) i`,
		// 15,000 changed
		`UPDATE it_verify_many.comp SET p = 'tampered' WHERE k2 % 2 = 0`,
	} {
		if _, err := pg.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	start := time.Now()
	rep, res := runVerify(t, cfg, "--retries", "0")
	if res.code == 0 || rep.Equal {
		t.Fatalf("verify exit %d, equal %v after tampering\n%s", res.code, rep.Equal, res.stdout)
	}
	t.Logf("verify of 180,000 source rows with 151,667 differences: %s", time.Since(start).Round(time.Millisecond))
	want := map[string]struct {
		method      string
		src, tgt    int64
		differences int
	}{
		db + ".wl":   {"key ranges", 150000, 100000, 136667},
		db + ".comp": {"hash buckets", 30000, 30000, 15000},
	}
	for _, tb := range rep.Tables {
		w, ok := want[tb.Source]
		if !ok {
			t.Errorf("unexpected table %s in the report", tb.Source)
			continue
		}
		if tb.Method != w.method || tb.SourceRows != w.src || tb.TargetRows != w.tgt || tb.Differences != w.differences {
			t.Errorf("%s: method %q, rows %d/%d, %d differences; want %q, %d/%d, %d",
				tb.Source, tb.Method, tb.SourceRows, tb.TargetRows, tb.Differences, w.method, w.src, w.tgt, w.differences)
		}
		if len(tb.Diffs) != 10 {
			t.Errorf("%s: %d differing rows described, want the default 10", tb.Source, len(tb.Diffs))
		}
	}
	if !strings.Contains(rep.Reason, "136667 rows differ") || !strings.Contains(rep.Reason, "15000 rows differ") {
		t.Errorf("reason %q", rep.Reason)
	}
}
