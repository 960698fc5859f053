//go:build integration

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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

func TestSnapshotSakila(t *testing.T) {
	loadSakila(t)
	url := freshPGDatabase(t)
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[snapshot]
chunk_rows = 3000
parallelism = 3
[[tables]]
source = "sakila.*"
`))
	res := runCLI(t, 5*time.Minute, "snapshot", "-c", cfg)
	if res.code != 0 {
		t.Fatalf("snapshot failed (exit %d): %s\n%s", res.code, res.stdout, tail(res.stderr, 30))
	}
	if !strings.Contains(res.stdout, "snapshot complete: 16 tables") {
		t.Errorf("summary: %s", res.stdout)
	}
	my := mysqlRoot(t)
	pg := pgConnect(t, url)
	total := 0
	for _, tbl := range sakilaTables {
		total += assertTableEqual(t, my, pg, "sakila", tbl, "sakila", tbl)
	}
	if total < 47000 {
		t.Errorf("compared %d rows, want the whole dataset (~47k)", total)
	}
	// The checkpoint is left for streaming, at the recorded GTID.
	var phase, gtid string
	if err := pg.QueryRow(context.Background(), "SELECT phase, gtid FROM _replicator.checkpoint WHERE name = 'default'").Scan(&phase, &gtid); err != nil {
		t.Fatal(err)
	}
	if phase != "streaming" || gtid == "" || !strings.Contains(res.stdout, gtid) {
		t.Errorf("checkpoint phase %q gtid %q; summary %s", phase, gtid, res.stdout)
	}
	// Secondary indexes exist after the load; unique ones are deferrable constraints.
	var n int
	if err := pg.QueryRow(context.Background(), `SELECT count(*) FROM pg_indexes WHERE schemaname = 'sakila' AND indexname = 'rental_rental_date'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("unique index rental_date: count %d err %v", n, err)
	}
	var deferrable bool
	if err := pg.QueryRow(context.Background(), `SELECT condeferrable FROM pg_constraint WHERE conname = 'rental_rental_date'`).Scan(&deferrable); err != nil || !deferrable {
		t.Errorf("rental_date constraint deferrable = %v, %v", deferrable, err)
	}
	// A second snapshot is a no-op that says so.
	res = runCLI(t, time.Minute, "snapshot", "-c", cfg)
	if res.code != 0 || !strings.Contains(res.stdout, "already complete") {
		t.Errorf("second snapshot: exit %d %s", res.code, res.stdout)
	}
}

func TestSnapshotRefusesNonEmptyTarget(t *testing.T) {
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, "it_exist")
	mustExec(t, my, "CREATE TABLE it_exist.t (id INT PRIMARY KEY, v INT)", "INSERT INTO it_exist.t VALUES (1, 1), (2, 2)")
	url := freshPGDatabase(t)
	pg := pgConnect(t, url)
	ctx := context.Background()
	for _, q := range []string{"CREATE SCHEMA it_exist", "CREATE TABLE it_exist.t (id int primary key, v int)", "INSERT INTO it_exist.t VALUES (9, 9)"} {
		if _, err := pg.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	cfg := configText("replicator", mysqlReplPass, url, "[[tables]]\nsource = \"it_exist.t\"\n")
	res := runCLI(t, time.Minute, "snapshot", "-c", writeConfig(t, cfg))
	if res.code == 0 || !strings.Contains(res.stderr, "already holds rows") || !strings.Contains(res.stderr, "on_existing") {
		t.Fatalf("exit %d, stderr %s", res.code, tail(res.stderr, 5))
	}
	res = runCLI(t, time.Minute, "snapshot", "-c", writeConfig(t, cfg+"[snapshot]\non_existing = \"truncate\"\n"))
	if res.code != 0 {
		t.Fatalf("truncate: exit %d %s", res.code, tail(res.stderr, 10))
	}
	assertTableEqual(t, my, pg, "it_exist", "t", "it_exist", "t")
}

// TestSnapshotChunkPlans covers both ways integer keys are split: dense keys (positive and
// negative) by equal ranges between MIN and MAX, sparse keys by walking the key index. Every
// row must land in exactly one chunk.
func TestSnapshotChunkPlans(t *testing.T) {
	my := mysqlRoot(t)
	db := "it_chunks"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE dense (id INT PRIMARY KEY, v INT)",
		"INSERT INTO dense SELECT seq, seq % 97 FROM seq_1_to_20000",
		"CREATE TABLE neg (id INT PRIMARY KEY, v INT)",
		"INSERT INTO neg SELECT CAST(seq AS SIGNED) - 10001, seq % 89 FROM seq_1_to_20000",
		"CREATE TABLE sparse (id BIGINT PRIMARY KEY, v INT)",
		"INSERT INTO sparse SELECT seq * 1000, seq % 83 FROM seq_1_to_20000",
		// The plans start from the row estimates.
		"ANALYZE TABLE dense, neg, sparse")
	url := freshPGDatabase(t)
	cfg := writeConfig(t, configText("replicator", mysqlReplPass, url, `
[snapshot]
chunk_rows = 2000
parallelism = 2
[[tables]]
source = "it_chunks.*"
`))
	res := runCLI(t, 2*time.Minute, "snapshot", "-c", cfg)
	if res.code != 0 {
		t.Fatalf("snapshot failed (exit %d): %s\n%s", res.code, res.stdout, tail(res.stderr, 30))
	}
	pg := pgConnect(t, url)
	ctx := context.Background()
	for _, tbl := range []string{"dense", "neg", "sparse"} {
		if n := assertTableEqual(t, my, pg, db, tbl, db, tbl); n != 20000 {
			t.Errorf("%s: compared %d rows, want 20000", tbl, n)
		}
		var chunks, rows, biggest int
		var offGrid int
		if err := pg.QueryRow(ctx, `SELECT count(*), sum(rows), max(rows), count(*) FILTER (WHERE hi % 1000 <> 0)
			FROM _replicator.snapshot_chunks WHERE source_table = $1`, db+"."+tbl).Scan(&chunks, &rows, &biggest, &offGrid); err != nil {
			t.Fatal(err)
		}
		if chunks < 6 || rows != 20000 || biggest > 3*2000 {
			t.Errorf("%s: %d chunks holding %d rows, the largest %d; want about 10 of about 2000", tbl, chunks, rows, biggest)
		}
		// Walked bounds are keys that exist (multiples of 1000 here); equal ranges over this
		// span would not be.
		if tbl == "sparse" && offGrid != 0 {
			t.Errorf("sparse: %d chunk bounds are not existing keys: the index was not walked", offGrid)
		}
	}
}
