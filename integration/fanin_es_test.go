//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"

	"github.com/replicator/replicator/route"
)

// esFanInConfig merges orders of every shard "it_fanin_s?_es.orders" into the index
// <prefix>all_orders; extra goes into the rule.
func esFanInConfig(h *esHarness, extra string) string {
	cfg := h.Config("it_fanin_none_es", "")
	rule := "source = \"it_fanin_none_es.*\"\ntarget = \"" + h.prefix + "{db}.{table}\"\n"
	if !strings.Contains(cfg, rule) {
		panic("esFanInConfig: the harness's rule changed")
	}
	return strings.Replace(cfg, rule, "source = \"it_fanin_s?_es.orders\"\ntarget = \""+h.prefix+"all_orders\"\n"+extra, 1) + `
[apply]
flush_interval = "100ms"
batch_rows = 300
[snapshot]
chunk_rows = 1000
`
}

// esFanInIndex is the index of esFanInConfig.
func esFanInIndex(h *esHarness) string { return route.ESName(h.prefix + "all_orders") }

// assertFanInIndexEqual compares the fan-in index with the union of table in the shards,
// document by document and field by field: each source row is the document whose _id is
// the JSON array of its source ("db.table") and key texts, holding its source in
// replicator_source and every column's value; no other document is there. It returns the
// rows compared.
func assertFanInIndexEqual(t *testing.T, my *client.Conn, h *esHarness, shards []string, table, index string) int {
	t.Helper()
	docs := h.readIndex(t, index)
	seen := map[string]bool{}
	total, bad := 0, 0
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		if bad++; bad > 10 {
			t.Fatalf("%s: too many differences", index)
		}
	}
	for _, db := range shards {
		cols := esSourceColumns(t, my, db, table)
		fcols := append([]esColumn{{name: "replicator_source", dataType: "varchar", columnType: "varchar(129)", key: true}}, cols...)
		names := map[string]bool{}
		for _, c := range fcols {
			names[c.name] = true
		}
		source := db + "." + table
		for _, row := range esSourceRows(t, my, db, table, cols) {
			frow := append([]*string{&source}, row...)
			id := esExpectedID(fcols, frow)
			seen[id] = true
			total++
			doc, ok := docs[id]
			if !ok {
				fail("%s: no document _id %s for a row of %s", index, id, source)
				continue
			}
			for f := range doc {
				if !names[f] {
					fail("%s/%s: field %s, which %s lacks", index, id, f, source)
				}
			}
			for i, c := range fcols {
				if d := esValueEqual(c, frow[i], doc[c.name]); d != "" {
					fail("%s/%s field %s (%s): %s", index, id, c.name, c.columnType, d)
				}
			}
		}
	}
	for id, d := range docs {
		if !seen[id] {
			fail("%s: extra document _id %s (replicator_source %v)", index, id, d["replicator_source"])
		}
	}
	if n := h.count(t, index); n != total {
		t.Errorf("%s: _count %d, the shards have %d rows", index, n, total)
	}
	return total
}

// TestFanInElasticsearch is TestFanInPostgres on Elasticsearch: four shards with equal
// keys merged into one index, a snapshot killed -9 mid-chunk and the stream of
// transactions spanning the shards killed -9 twice, ADD COLUMN on each shard in turn with
// rows written in between, TRUNCATE of one shard, then a RENAME of a shard onto another
// name of the pattern and a DROP of another with a kill -9 right after; the index must
// equal the union of the shards document by document, verify be equal per shard, check
// show the fan-in, resnapshot of a shard be refused, and a MODIFY the index cannot hold
// for both shapes stop the stream naming the tables.
func TestFanInElasticsearch(t *testing.T) {
	my := mysqlRoot(t)
	h := newESHarness(t)
	shards := fanInShardsOf(t, my, 4, "es")
	for i, db := range shards {
		mustExec(t, my, "USE "+db,
			"CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, total DECIMAL(10,2) NULL, note VARCHAR(64) NULL, UNIQUE KEY (code), KEY (total))",
			fmt.Sprintf("INSERT INTO orders SELECT seq, CONCAT('k', seq), seq * %d + 0.5, IF(seq %% 7 = 0, NULL, CONCAT('%s ', seq)) FROM seq_1_to_3000", i+1, db),
			"CREATE TABLE other (id INT PRIMARY KEY)") // not selected
	}
	cfg := writeConfig(t, esFanInConfig(h, ""))
	index := esFanInIndex(h)

	out, res := runCheck(t, cfg)
	shown := false
	for _, r := range out.Checks {
		if r.Status == "pass" && strings.Contains(r.Detail, "fan-in into "+index+": 4 source tables (it_fanin_s1_es.orders, it_fanin_s2_es.orders, it_fanin_s3_es.orders, it_fanin_s4_es.orders), told apart by replicator_source") {
			shown = true
		}
	}
	if !shown || res.code != 0 {
		t.Fatalf("check (exit %d) does not show the fan-in:\n%s", res.code, res.stdout)
	}

	stop := make(chan struct{})
	wait := fanInWorkload(t, shards, stop)
	killSnapshotThenStream(t, h, cfg, 2*time.Second)
	p := startCLI(t, "run", "-c", cfg)
	waitStreamingWithin(t, p, 180*time.Second)
	for i, db := range shards {
		mustExec(t, my, "USE "+db, "ALTER TABLE orders ADD COLUMN tag VARCHAR(20) NULL",
			fmt.Sprintf("UPDATE orders SET tag = 'shard %d' WHERE id %% 10 = 3", i+1))
		time.Sleep(200 * time.Millisecond)
	}
	mustExec(t, my, "TRUNCATE TABLE `"+shards[3]+"`.orders",
		"INSERT INTO `"+shards[3]+"`.orders (id, code, total, tag) SELECT seq, CONCAT('k', seq), seq, 'again' FROM seq_1_to_50")
	time.Sleep(500 * time.Millisecond)
	p.kill()
	p = startCLI(t, "run", "-c", cfg)
	time.Sleep(time.Second)
	close(stop)
	n := wait()

	// A shard renamed onto another name of the pattern, one dropped, rows written to the
	// renamed one, and a kill -9 right after: the replay must not apply them twice.
	moved := "it_fanin_s5_es"
	mustExec(t, my, "CREATE DATABASE "+moved,
		"RENAME TABLE `"+shards[1]+"`.orders TO "+moved+".orders",
		"DROP TABLE `"+shards[2]+"`.orders",
		"BEGIN",
		"UPDATE "+moved+".orders SET note = 'after the rename' WHERE id % 5 = 0",
		"INSERT INTO "+moved+".orders (id, code, total) VALUES (9001, 'moved', 1.25)",
		"UPDATE `"+shards[0]+"`.orders SET note = 'with the rename' WHERE id % 5 = 0",
		"COMMIT")
	time.Sleep(300 * time.Millisecond)
	p.kill()
	p = startCLI(t, "run", "-c", cfg)
	h.WaitCaughtUp(t, my, p, 120*time.Second)
	p.stop(t)
	t.Logf("1 kill -9 in the snapshot, 4 in the stream, %d workload transactions", n)

	live := []string{shards[0], moved, shards[3]}
	rows := assertFanInIndexEqual(t, my, h, live, "orders", index)
	if rows < 3000 {
		t.Fatalf("only %d rows compared", rows)
	}
	for _, db := range []string{shards[1], shards[2]} {
		if c := esCount(t, h.es, index, `{"term":{"replicator_source":"`+db+`.orders"}}`); c != 0 {
			t.Errorf("%d documents of %s.orders are left (renamed or dropped)", c, db)
		}
	}
	s1 := esCount(t, h.es, index, `{"term":{"replicator_source":"`+shards[0]+`.orders"}}`)
	s4 := esCount(t, h.es, index, `{"term":{"replicator_source":"`+shards[3]+`.orders"}}`)
	if s4 < 50 || s4 >= s1*3/4 {
		t.Errorf("the truncated shard has %d documents, the first shard %d", s4, s1)
	}
	if f := esFieldTypes(t, h.esTarget, index); f["replicator_source"] != "keyword" || f["tag"] == "" {
		t.Errorf("mapping of %s: %v, want replicator_source a keyword and tag mapped", index, f)
	}

	rep := assertVerifyEqual(t, cfg)
	if len(rep.Tables) != 3 {
		t.Fatalf("verify compared %d tables, want the 3 shards left", len(rep.Tables))
	}
	sum := int64(0)
	for _, tb := range rep.Tables {
		if tb.Target != index || tb.SourceRows != tb.TargetRows {
			t.Errorf("verify %s -> %s: source %d rows, target %d", tb.Source, tb.Target, tb.SourceRows, tb.TargetRows)
		}
		sum += tb.TargetRows
	}
	if sum != int64(rows) {
		t.Errorf("verify counted %d target rows, the shards have %d", sum, rows)
	}

	rs := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, shards[0]+".orders")
	if rs.code == 0 || !strings.Contains(rs.stderr, "tables[0].target: table "+shards[0]+".orders cannot be copied online: it is merged into "+index) {
		t.Errorf("resnapshot of a shard: exit %d\n%s", rs.code, tail(rs.stderr, 5))
	}

	// DECIMAL(20,3) is a double with an exact keyword, DECIMAL(10,2) a double: the one
	// field cannot be both.
	mustExec(t, my, "ALTER TABLE `"+shards[0]+"`.orders MODIFY total DECIMAL(20,3) NULL")
	p = startCLI(t, "run", "-c", cfg)
	if !waitExit(p, 60*time.Second) {
		p.kill()
		t.Fatalf("run did not stop at the MODIFY on one shard:\n%s", tail(p.output(), 20))
	}
	want := "tables[0]: fan-in target " + index + " holds one definition for the source tables of \"it_fanin_s?_es.orders\", and after this change of " + shards[0] + ".orders it could not hold the rows of "
	if !strings.Contains(p.output(), want) || !strings.Contains(p.output(), "column total would be double+keyword") {
		t.Errorf("run stopped without naming the shards and the column (want %q):\n%s", want, tail(p.output(), 10))
	}
}

// TestFanInRefusesDifferingShardsES: shards whose definitions one index cannot hold are
// refused by check and by the snapshot, naming both tables and the column, before an
// index is created; shards differing only where the index holds them alike (INT and
// BIGINT are both a long) are merged.
func TestFanInRefusesDifferingShardsES(t *testing.T) {
	my := mysqlRoot(t)
	h := newESHarness(t)
	shards := fanInShardsOf(t, my, 3, "es")
	for i, db := range shards {
		extra := ""
		if i == 1 {
			extra = ", extra INT NULL"
		}
		mustExec(t, my, "USE "+db, "CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL"+extra+")", "INSERT INTO orders (id, code) VALUES (1, 'a')")
	}
	cfg := writeConfig(t, esFanInConfig(h, ""))
	index := esFanInIndex(h)
	out, res := runCheck(t, cfg)
	want := "tables[0]: it_fanin_s1_es.orders and it_fanin_s2_es.orders are merged into " + index + " (fan-in), but column extra is in it_fanin_s2_es.orders only"
	st, _ := statusOf(out, "source.table."+shards[1]+".orders")
	if res.code == 0 || st != "fail" || !strings.Contains(res.stdout, want) {
		t.Errorf("check (exit %d, %s) does not refuse the differing shard with %q:\n%s", res.code, st, want, res.stdout)
	}
	sn := runCLI(t, 60*time.Second, "snapshot", "-c", cfg)
	if sn.code == 0 || !strings.Contains(sn.stderr, want) {
		t.Errorf("snapshot: exit %d, want %q\n%s", sn.code, want, tail(sn.stderr, 5))
	}
	if code, _ := esDo(t, h.es, esapi.IndicesExistsRequest{Index: []string{index}}); code != 404 {
		t.Errorf("the refused snapshot created index %s (HEAD %d)", index, code)
	}

	mustExec(t, my, "USE "+shards[1], "ALTER TABLE orders DROP COLUMN extra", "ALTER TABLE orders MODIFY id BIGINT NOT NULL")
	if _, res = runCheck(t, cfg); res.code != 0 {
		t.Errorf("check refuses shards the index holds alike (exit %d):\n%s", res.code, res.stdout)
	}
	p := startCLI(t, "run", "-c", cfg)
	h.WaitCaughtUp(t, my, p, 90*time.Second)
	p.stop(t)
	if n := assertFanInIndexEqual(t, my, h, shards, "orders", index); n != 3 {
		t.Errorf("compared %d rows, want 3", n)
	}
}

// TestFanInDeletesFilterRenameES is TestFanInDeletesFilterRename on Elasticsearch: a
// fan-in rule with deletes = "soft", a row filter and a rename; a delete or a row leaving
// the filter in one shard marks only that shard's document of the key, a row entering it
// in one shard adds only that shard's, verify is equal per shard and counts each shard's
// kept documents.
func TestFanInDeletesFilterRenameES(t *testing.T) {
	my := mysqlRoot(t)
	h := newESHarness(t)
	shards := fanInShardsOf(t, my, 2, "es")
	for _, db := range shards {
		mustExec(t, my, "USE "+db,
			"CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, total DECIMAL(10,2) NULL, note VARCHAR(64) NULL)",
			"INSERT INTO orders SELECT seq, CONCAT('k', seq), seq, CONCAT('n', seq) FROM seq_1_to_100",
			"INSERT INTO orders VALUES (1000, 'neg', -5, 'filtered out')")
	}
	cfg := writeConfig(t, esFanInConfig(h, "deletes = \"soft\"\nwhere = \"total >= 0\"\nrename = { note = \"remark\" }\n"))
	index := esFanInIndex(h)
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	mustExec(t, my, "BEGIN",
		"DELETE FROM `"+shards[0]+"`.orders WHERE id = 5",
		"UPDATE `"+shards[1]+"`.orders SET total = -1 WHERE id = 6",
		"UPDATE `"+shards[1]+"`.orders SET note = 'second' WHERE id = 5",
		"UPDATE `"+shards[0]+"`.orders SET total = 7 WHERE id = 1000", // enters the filter
		"COMMIT")
	h.WaitCaughtUp(t, my, p, 60*time.Second)
	p.stop(t)
	docs := h.readIndex(t, index)
	type doc struct {
		deleted bool
		remark  string
	}
	want := map[string]doc{
		`["` + shards[0] + `.orders","5"]`:    {true, "n5"},
		`["` + shards[1] + `.orders","5"]`:    {false, "second"},
		`["` + shards[0] + `.orders","6"]`:    {false, "n6"},
		`["` + shards[1] + `.orders","6"]`:    {true, "n6"},
		`["` + shards[0] + `.orders","1000"]`: {false, "filtered out"},
	}
	for id, w := range want {
		d, ok := docs[id]
		del, _ := d["_deleted"].(bool)
		remark, _ := d["remark"].(string)
		if !ok || del != w.deleted || remark != w.remark || d["note"] != nil {
			t.Errorf("document %s: %v (found %v), want deleted %v, remark %q", id, d, ok, w.deleted, w.remark)
		}
	}
	marked := 0
	for _, d := range docs {
		if del, _ := d["_deleted"].(bool); del {
			marked++
		}
	}
	if _, ok := docs[`["`+shards[1]+`.orders","1000"]`]; ok || len(docs) != 201 || marked != 2 {
		t.Errorf("index has %d documents (want 201), %d marked (want 2), the second shard's filtered row: %v", len(docs), marked, ok)
	}
	rep := assertVerifyEqual(t, cfg)
	for _, tb := range rep.Tables {
		if tb.Kept != 1 {
			t.Errorf("verify %s: %d kept rows, want 1", tb.Source, tb.Kept)
		}
	}
}

// TestFanInVerifyOtherSources: on both targets, the rows of a shard dropped at the source
// without the replicator seeing it (sql_log_bin = 0) are in the fan-in target and in no
// comparison: verify reports them as extra rows of that source value and is not equal;
// the other shard is still compared equal.
func TestFanInVerifyOtherSources(t *testing.T) {
	my := mysqlRoot(t)
	for _, target := range []string{"pg", "es"} {
		t.Run(target, func(t *testing.T) {
			shards := fanInShardsOf(t, my, 2, target)
			for _, db := range shards {
				mustExec(t, my, "USE "+db, "CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL)",
					"INSERT INTO orders SELECT seq, CONCAT('k', seq) FROM seq_1_to_20")
			}
			var h targetHarness
			var cfg, name string
			if target == "pg" {
				ph := newPGHarness(t)
				h, cfg, name = ph, writeConfig(t, fanInConfig(ph, "")), "\"fanin\".\"orders\""
			} else {
				eh := newESHarness(t)
				h, cfg, name = eh, writeConfig(t, esFanInConfig(eh, "")), esFanInIndex(eh)
			}
			p := startCLI(t, "run", "-c", cfg)
			h.WaitCaughtUp(t, my, p, 90*time.Second)
			p.stop(t)
			assertVerifyEqual(t, cfg)
			mustExec(t, my, "SET sql_log_bin = 0", "DROP TABLE `"+shards[1]+"`.orders", "SET sql_log_bin = 1")
			rep, res := runVerify(t, cfg)
			found := false
			for _, tb := range rep.Tables {
				switch tb.Source {
				case shards[1] + ".orders":
					found = tb.NotSelected && tb.TargetRows == 20 && !tb.Equal && tb.Target == name
				case shards[0] + ".orders":
					if !tb.Equal || tb.SourceRows != 20 {
						t.Errorf("verify %s: equal %v, %d source rows", tb.Source, tb.Equal, tb.SourceRows)
					}
				}
			}
			if !found || rep.Equal || res.code == 0 || !strings.Contains(rep.Reason, shards[1]+".orders (20 target rows of a source table not selected)") {
				t.Errorf("verify (exit %d, equal %v) does not report the dropped shard's rows: %s\n%s", res.code, rep.Equal, rep.Reason, res.stdout)
			}
		})
	}
}
