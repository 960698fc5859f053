//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// fanInShards creates the source databases of a fan-in test, empty: n shards named like
// the rule's pattern "it_fanin_s?_pg.orders". Shards another test left beyond n are
// dropped (the pattern would select them).
func fanInShards(t *testing.T, my *client.Conn, n int) []string {
	t.Helper()
	return fanInShardsOf(t, my, n, "pg")
}

// fanInShardsOf is fanInShards for the pattern "it_fanin_s?_<target>.orders".
func fanInShardsOf(t *testing.T, my *client.Conn, n int, target string) []string {
	t.Helper()
	out := make([]string, n)
	for i := range 9 {
		db := fmt.Sprintf("it_fanin_s%d_%s", i+1, target)
		if i < n {
			out[i] = db
			freshMySQLDatabase(t, my, db)
		} else {
			mustExec(t, my, "DROP DATABASE IF EXISTS `"+db+"`")
		}
	}
	return out
}

// fanInConfig merges db.orders of every shard into fanin.orders.
func fanInConfig(h *pgHarness, extra string) string {
	return withServerID(configText("replicator", mysqlReplPass, h.url, `
[apply]
flush_interval = "100ms"
batch_rows = 300
[snapshot]
chunk_rows = 1000
[[tables]]
source = "it_fanin_s?_pg.orders"
target = "fanin.orders"
`+extra), h.serverID)
}

// fanInWorkload runs multi-statement transactions spanning the shards until stop: each
// touches the same key in several shards differently (insert, update, key change,
// delete), so a target that mixed up equal keys of two shards would differ.
func fanInWorkload(t *testing.T, shards []string, stop <-chan struct{}) func() int {
	return txnWorkload(t, "", stop, []string{"Deadlock", "Duplicate entry"}, func(rng *rand.Rand) []string {
		id := rng.Intn(4000) + 1
		var stmts []string
		for _, db := range shards {
			if rng.Intn(3) == 0 {
				continue
			}
			tb := "`" + db + "`.orders"
			switch op := rng.Intn(10); {
			case op < 3:
				stmts = append(stmts, fmt.Sprintf("INSERT INTO %s (id, code, total, note) VALUES (%d, 'k%d', %d.25, '%s') ON DUPLICATE KEY UPDATE total = total + 1", tb, id, id, rng.Intn(1000), db))
			case op < 6:
				stmts = append(stmts, fmt.Sprintf("UPDATE %s SET total = %d.50, note = CONCAT('upd ', %d) WHERE id = %d", tb, rng.Intn(1000), rng.Intn(100), id))
			case op < 8:
				nid := rng.Intn(4000) + 4001
				stmts = append(stmts, fmt.Sprintf("UPDATE IGNORE %s SET id = %d, code = 'k%d' WHERE id = %d", tb, nid, nid, id))
			default:
				stmts = append(stmts, fmt.Sprintf("DELETE FROM %s WHERE id = %d", tb, id))
			}
		}
		return stmts
	})
}

// assertFanInEqual compares the fan-in target pgSchema.pgTable with the union of table in
// the shards, row by row and value by value per source table (by the source column), and
// checks that it holds no other rows. It returns the rows compared.
func assertFanInEqual(t *testing.T, my *client.Conn, pg *pgx.Conn, shards []string, table, pgSchema, pgTable, srcCol string) int {
	t.Helper()
	total := 0
	var sources []string
	for _, db := range shards {
		cols := sourceColumns(t, my, db, table)
		src := readSource(t, my, db, table, cols)
		dst := readTargetWhere(t, pg, pgSchema, pgTable, cols, " WHERE "+pgx.Identifier{srcCol}.Sanitize()+" = $1", db+"."+table)
		compareRows(t, db+"."+table, cols, src, dst)
		total += len(src)
		sources = append(sources, db+"."+table)
	}
	var other, all int
	if err := pg.QueryRow(context.Background(), "SELECT count(*) FILTER (WHERE NOT ("+pgx.Identifier{srcCol}.Sanitize()+" = ANY($1))), count(*) FROM "+pgx.Identifier{pgSchema, pgTable}.Sanitize(), sources).Scan(&other, &all); err != nil {
		t.Fatal(err)
	}
	if other != 0 || all != total {
		t.Errorf("%s.%s holds %d rows, %d of them of no shard; the shards have %d", pgSchema, pgTable, all, other, total)
	}
	return total
}

// TestFanInPostgres merges orders of four shards with equal keys into one PostgreSQL
// table: a snapshot killed -9 mid-chunk, a stream of transactions spanning the shards
// killed -9 twice, ADD COLUMN on each shard in turn with rows written in between (the
// target holds both shapes), TRUNCATE of one shard; then the target must equal the
// union of the shards row by row, verify must be equal per shard, check shows the
// fan-in, resnapshot of a shard is refused, and a MODIFY on one shard that the others do
// not have stops the stream naming the tables.
func TestFanInPostgres(t *testing.T) {
	my := mysqlRoot(t)
	h := newPGHarness(t)
	shards := fanInShards(t, my, 4)
	for i, db := range shards {
		mustExec(t, my, "USE "+db,
			"CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, total DECIMAL(10,2) NULL, note VARCHAR(64) NULL, UNIQUE KEY (code), KEY (total))",
			// Equal keys and equal unique codes in every shard, different values.
			fmt.Sprintf("INSERT INTO orders SELECT seq, CONCAT('k', seq), seq * %d + 0.5, IF(seq %% 7 = 0, NULL, CONCAT('%s ', seq)) FROM seq_1_to_3000", i+1, db),
			"CREATE TABLE other (id INT PRIMARY KEY)") // not selected
	}
	cfg := writeConfig(t, fanInConfig(h, ""))

	out, res := runCheck(t, cfg)
	var shown, perTable bool
	for _, r := range out.Checks {
		if r.Status == "pass" && strings.Contains(r.Detail, `fan-in into fanin.orders: 4 source tables (it_fanin_s1_pg.orders, it_fanin_s2_pg.orders, it_fanin_s3_pg.orders, it_fanin_s4_pg.orders), told apart by replicator_source`) {
			shown = true
		}
		if r.Status == "pass" && strings.Contains(r.Detail, "transforms: fan-in source column replicator_source") {
			perTable = true
		}
	}
	if !shown || !perTable || res.code != 0 {
		t.Fatalf("check (exit %d) does not show the fan-in (%v) or its per-table line (%v):\n%s", res.code, shown, perTable, res.stdout)
	}

	stop := make(chan struct{})
	wait := fanInWorkload(t, shards, stop)
	killSnapshotThenStream(t, h, cfg, 2*time.Second)
	p := startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	// ADD COLUMN on each shard in turn, rows using it in between: the first shard's ALTER
	// adds the column, the others find it there.
	for i, db := range shards {
		mustExec(t, my, "USE "+db, "ALTER TABLE orders ADD COLUMN tag VARCHAR(20) NULL",
			fmt.Sprintf("UPDATE orders SET tag = 'shard %d' WHERE id %% 10 = 3", i+1))
		time.Sleep(200 * time.Millisecond)
	}
	// TRUNCATE of one shard empties only its rows; some come back.
	mustExec(t, my, "TRUNCATE TABLE `"+shards[3]+"`.orders",
		"INSERT INTO `"+shards[3]+"`.orders (id, code, total, tag) SELECT seq, CONCAT('k', seq), seq, 'again' FROM seq_1_to_50")
	time.Sleep(500 * time.Millisecond)
	p.kill() // once more after the DDL
	p = startCLI(t, "run", "-c", cfg)
	time.Sleep(time.Second)
	close(stop)
	n := wait()
	h.WaitCaughtUp(t, my, p, 120*time.Second)
	p.stop(t)
	t.Logf("1 kill -9 in the snapshot, 3 in the stream, %d workload transactions", n)

	if cols := pgColumns(t, h.url, "fanin", "orders"); !strings.Contains(cols, "replicator_source character varying") || !strings.Contains(cols, "tag character varying") {
		t.Fatalf("fanin.orders columns: %s", cols)
	}
	var pk string
	if err := h.pg.QueryRow(context.Background(), `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'fanin.orders'::regclass AND contype = 'p'`).Scan(&pk); err != nil || pk != "PRIMARY KEY (replicator_source, id)" {
		t.Fatalf("primary key %q (%v), want (replicator_source, id)", pk, err)
	}
	rows := assertFanInEqual(t, my, h.pg, shards, "orders", "fanin", "orders", "replicator_source")
	if rows < 4000 {
		t.Fatalf("only %d rows compared", rows)
	}
	// The row-by-row comparison holds the TRUNCATE to its shard; that it ran: the
	// truncated shard has only what was written after it (about a third of the others).
	var s1, s4 int
	if err := h.pg.QueryRow(context.Background(), "SELECT count(*) FILTER (WHERE replicator_source = $1), count(*) FILTER (WHERE replicator_source = $2) FROM fanin.orders",
		shards[0]+".orders", shards[3]+".orders").Scan(&s1, &s4); err != nil {
		t.Fatal(err)
	}
	if s4 < 50 || s4 >= s1*3/4 {
		t.Errorf("the truncated shard has %d rows at the target, the first shard %d", s4, s1)
	}

	rep := assertVerifyEqual(t, cfg)
	if len(rep.Tables) != 4 {
		t.Fatalf("verify compared %d tables, want the 4 shards", len(rep.Tables))
	}
	sum := int64(0)
	for _, tb := range rep.Tables {
		if tb.Target != `"fanin"."orders"` || tb.SourceRows != tb.TargetRows {
			t.Errorf("verify %s -> %s: source %d rows, target %d", tb.Source, tb.Target, tb.SourceRows, tb.TargetRows)
		}
		sum += tb.TargetRows
	}
	if sum != int64(rows) {
		t.Errorf("verify counted %d target rows, the shards have %d", sum, rows)
	}

	rs := runCLI(t, 30*time.Second, "resnapshot", "-c", cfg, shards[1]+".orders")
	if rs.code == 0 || !strings.Contains(rs.stderr, "tables[0].target: table "+shards[1]+".orders cannot be copied online: it is merged into fanin.orders") {
		t.Errorf("resnapshot of a shard: exit %d\n%s", rs.code, tail(rs.stderr, 5))
	}

	// A change the other shards do not have, which the one target cannot hold for both.
	mustExec(t, my, "ALTER TABLE `"+shards[0]+"`.orders MODIFY total DECIMAL(14,3) NULL")
	p = startCLI(t, "run", "-c", cfg)
	if !waitExit(p, 60*time.Second) {
		p.kill()
		t.Fatalf("run did not stop at the MODIFY on one shard:\n%s", tail(p.output(), 20))
	}
	want := "tables[0]: fan-in target fanin.orders holds one definition for the source tables of \"it_fanin_s?_pg.orders\", and after this change of " + shards[0] + ".orders it could not hold the rows of " + shards[1] + ".orders: column total would be numeric(14,3)"
	if !strings.Contains(p.output(), want) {
		t.Errorf("run stopped without naming the shards and the column (want %q):\n%s", want, tail(p.output(), 10))
	}
}

// TestFanInRefusesDifferingShards: shards whose definitions one target cannot hold are
// refused by check and by the snapshot, naming both tables and the column; a shard
// without a key is refused naming the key to set.
func TestFanInRefusesDifferingShards(t *testing.T) {
	my := mysqlRoot(t)
	h := newPGHarness(t)
	shards := fanInShards(t, my, 3)
	for i, db := range shards {
		extra := ""
		if i == 1 {
			extra = ", extra INT NULL" // the second shard has a column the others lack
		}
		mustExec(t, my, "USE "+db, "CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL"+extra+")", "INSERT INTO orders (id, code) VALUES (1, 'a')")
	}
	cfg := writeConfig(t, fanInConfig(h, ""))
	out, res := runCheck(t, cfg)
	want := "tables[0]: it_fanin_s1_pg.orders and it_fanin_s2_pg.orders are merged into fanin.orders (fan-in), but column extra is in it_fanin_s2_pg.orders only"
	st, _ := statusOf(out, "source.table."+shards[1]+".orders")
	if res.code == 0 || st != "fail" || !strings.Contains(res.stdout, want) {
		t.Errorf("check (exit %d, %s) does not refuse the differing shard with %q:\n%s", res.code, st, want, res.stdout)
	}
	sn := runCLI(t, 60*time.Second, "snapshot", "-c", cfg)
	if sn.code == 0 || !strings.Contains(sn.stderr, want) {
		t.Errorf("snapshot: exit %d, want %q\n%s", sn.code, want, tail(sn.stderr, 5))
	}

	// Without a key: refused naming the key.
	mustExec(t, my, "USE "+shards[1], "ALTER TABLE orders DROP COLUMN extra", "ALTER TABLE orders DROP PRIMARY KEY")
	out, res = runCheck(t, cfg)
	if res.code == 0 || !strings.Contains(res.stdout, "tables[0].target: table "+shards[1]+".orders has no key") {
		t.Errorf("check (exit %d) does not refuse the keyless shard:\n%s", res.code, res.stdout)
	}
	_ = out
}

// TestFanInSnapshotDDL: a snapshot of two shards killed -9 after a committed chunk, then
// ADD COLUMN on both shards and writes, then resumed: the fan-in target cannot take one
// shard again on its own, so the snapshot copies every table again under a new view, and
// the target equals the shards row by row with the new column. Then, streaming, a third
// shard created with rows joins the target, and a DROP TABLE of the second deletes its
// rows only.
func TestFanInSnapshotDDL(t *testing.T) {
	my := mysqlRoot(t)
	h := newPGHarness(t)
	shards := fanInShards(t, my, 2)
	for i, db := range shards {
		mustExec(t, my, "USE "+db,
			"CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, total DECIMAL(10,2) NULL, note VARCHAR(64) NULL)",
			fmt.Sprintf("INSERT INTO orders SELECT seq, CONCAT('k', seq), seq * %d, NULL FROM seq_1_to_5000", i+1))
	}
	cfg := writeConfig(t, strings.Replace(fanInConfig(h, ""), "chunk_rows = 1000", "chunk_rows = 1000\nparallelism = 1", 1))
	k := startCLIEnv(t, []string{"REPLICATOR_CRASH_AT=snapshot.chunk-committed:3"}, "snapshot", "-c", cfg)
	if !waitExit(k, 60*time.Second) {
		k.kill()
		t.Fatalf("the snapshot did not reach its kill point:\n%s", tail(k.output(), 20))
	}
	for _, db := range shards {
		mustExec(t, my, "USE "+db, "ALTER TABLE orders ADD COLUMN tag VARCHAR(20) NULL",
			"UPDATE orders SET tag = 'after', total = total + 1 WHERE id % 100 = 1")
	}
	p := startCLI(t, "run", "-c", cfg)
	h.WaitCaughtUp(t, my, p, 120*time.Second)
	p.stop(t)
	if !strings.Contains(p.output(), "copying every table again") {
		t.Errorf("the resumed snapshot did not copy every table again:\n%s", tail(p.output(), 30))
	}
	if n := assertFanInEqual(t, my, h.pg, shards, "orders", "fanin", "orders", "replicator_source"); n != 10000 {
		t.Errorf("compared %d rows, want 10000", n)
	}
	assertVerifyEqual(t, cfg)

	// While streaming: a new shard comes with its CREATE TABLE and rows; then a DROP TABLE
	// of another deletes that shard's rows only.
	p = startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	s3 := "it_fanin_s3_pg"
	mustExec(t, my, "CREATE DATABASE `"+s3+"`", "USE "+s3,
		"CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, total DECIMAL(10,2) NULL, note VARCHAR(64) NULL, tag VARCHAR(20) NULL)",
		"INSERT INTO orders SELECT seq, CONCAT('k', seq), seq, 'third', NULL FROM seq_1_to_100")
	h.WaitCaughtUp(t, my, p, 60*time.Second)
	if n := assertFanInEqual(t, my, h.pg, append(shards, s3), "orders", "fanin", "orders", "replicator_source"); n != 10100 {
		t.Errorf("compared %d rows with the new shard, want 10100", n)
	}
	mustExec(t, my, "DROP TABLE `"+shards[1]+"`.orders")
	h.WaitCaughtUp(t, my, p, 60*time.Second)
	p.stop(t)
	if n := assertFanInEqual(t, my, h.pg, []string{shards[0], s3}, "orders", "fanin", "orders", "replicator_source"); n != 5100 {
		t.Errorf("compared %d rows after the DROP, want 5100", n)
	}
	assertVerifyEqual(t, cfg)
}

// TestFanInDeletesFilterRename: a fan-in rule with deletes = "soft", a row filter and a
// rename: a delete or a row leaving the filter in one shard marks only that shard's row
// of the key, verify is equal per shard and counts each shard's kept rows.
func TestFanInDeletesFilterRename(t *testing.T) {
	my := mysqlRoot(t)
	h := newPGHarness(t)
	shards := fanInShards(t, my, 2)
	for _, db := range shards {
		mustExec(t, my, "USE "+db,
			"CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, total DECIMAL(10,2) NULL, note VARCHAR(64) NULL)",
			"INSERT INTO orders SELECT seq, CONCAT('k', seq), seq, CONCAT('n', seq) FROM seq_1_to_100",
			"INSERT INTO orders VALUES (1000, 'neg', -5, 'filtered out')")
	}
	cfg := writeConfig(t, fanInConfig(h, "deletes = \"soft\"\nwhere = \"total >= 0\"\nrename = { note = \"remark\" }\n"))
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
	type row struct {
		src     string
		id      int
		deleted bool
		remark  string
	}
	want := []row{
		{shards[0] + ".orders", 5, true, "n5"},
		{shards[1] + ".orders", 5, false, "second"},
		{shards[0] + ".orders", 6, false, "n6"},
		{shards[1] + ".orders", 6, true, "n6"},
		{shards[0] + ".orders", 1000, false, "filtered out"},
	}
	for _, w := range want {
		var got row
		err := h.pg.QueryRow(context.Background(), "SELECT replicator_source, id, _deleted, remark FROM fanin.orders WHERE replicator_source = $1 AND id = $2", w.src, w.id).Scan(&got.src, &got.id, &got.deleted, &got.remark)
		if err != nil || got != w {
			t.Errorf("row %s id %d: %+v (%v), want %+v", w.src, w.id, got, err, w)
		}
	}
	var all, marked, absent int
	if err := h.pg.QueryRow(context.Background(), "SELECT count(*), count(*) FILTER (WHERE _deleted), count(*) FILTER (WHERE replicator_source = $1 AND id = 1000) FROM fanin.orders", shards[1]+".orders").Scan(&all, &marked, &absent); err != nil {
		t.Fatal(err)
	}
	if all != 201 || marked != 2 || absent != 0 {
		t.Errorf("target has %d rows (want 201), %d marked (want 2), %d of the second shard's filtered row (want 0)", all, marked, absent)
	}
	rep := assertVerifyEqual(t, cfg)
	for _, tb := range rep.Tables {
		if tb.Kept != 1 {
			t.Errorf("verify %s: %d kept rows, want 1", tb.Source, tb.Kept)
		}
	}
}

// TestPGTargetCollisionRefused: a wildcard rule whose target keeps the table name but not
// the database ("it_fanin_s?_pg.orders" into "fanin_coll.*") would write every shard's
// orders to one table under equal keys without telling them apart. check, snapshot and a
// CREATE TABLE of a second shard while streaming refuse it, naming the tables, before any
// row reaches the target.
func TestPGTargetCollisionRefused(t *testing.T) {
	my := mysqlRoot(t)
	h := newPGHarness(t)
	shards := fanInShards(t, my, 2)
	for _, db := range shards {
		mustExec(t, my, "USE "+db, "CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL)", "INSERT INTO orders VALUES (1, '"+db+"')")
	}
	cfg := writeConfig(t, strings.Replace(fanInConfig(h, ""), `target = "fanin.orders"`, `target = "fanin_coll.*"`, 1))
	want := "tables " + shards[0] + ".orders, " + shards[1] + ".orders would all be written to table fanin_coll.orders, and rows of equal keys would overwrite each other"
	out, res := runCheck(t, cfg)
	if st, _ := statusOf(out, "target.table_name.fanin_coll.orders"); res.code == 0 || st != "fail" || !strings.Contains(res.stdout, want) {
		t.Errorf("check (exit %d, %s) does not refuse the collision with %q:\n%s", res.code, st, want, res.stdout)
	}
	sn := runCLI(t, 60*time.Second, "snapshot", "-c", cfg)
	if sn.code == 0 || !strings.Contains(sn.stderr, want) {
		t.Errorf("snapshot: exit %d, want %q\n%s", sn.code, want, tail(sn.stderr, 5))
	}
	var oid *uint32
	if err := h.pg.QueryRow(context.Background(), "SELECT to_regclass('fanin_coll.orders')::oid").Scan(&oid); err != nil || oid != nil {
		t.Errorf("the refused snapshot created fanin_coll.orders (%v, %v)", oid, err)
	}

	// One shard: it replicates; a second shard created while streaming stops the stream.
	mustExec(t, my, "DROP TABLE `"+shards[1]+"`.orders")
	p := startCLI(t, "run", "-c", cfg)
	h.WaitCaughtUp(t, my, p, 90*time.Second)
	assertTableEqual(t, my, h.pg, shards[0], "orders", "fanin_coll", "orders")
	mustExec(t, my, "USE "+shards[1], "CREATE TABLE orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL)", "INSERT INTO orders VALUES (1, 'second')")
	msg := "table " + shards[1] + ".orders would be written to table fanin_coll.orders, which holds the rows of " + shards[0] + ".orders already"
	if !waitExitOrMessage(p, msg, 60*time.Second) && !strings.Contains(p.output(), msg) {
		t.Fatalf("the stream did not refuse the second shard with %q:\n%s", msg, tail(p.output(), 20))
	}
	p.kill()
	if !strings.Contains(p.output(), msg) {
		t.Fatalf("the stream stopped without %q:\n%s", msg, tail(p.output(), 20))
	}
	var code string
	if err := h.pg.QueryRow(context.Background(), "SELECT code FROM fanin_coll.orders WHERE id = 1").Scan(&code); err != nil || code != shards[0] {
		t.Errorf("fanin_coll.orders id 1 holds %q (%v), want the first shard's %q", code, err, shards[0])
	}
}
