//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// TestSnapshotSakila snapshots Sakila and compares every row of every table with its
// copy; the checkpoint is left for streaming at the GTID the summary names, and a second
// snapshot is a no-op that says so. PostgreSQL: secondary indexes exist, unique ones as
// deferrable constraints. Elasticsearch: the explicit mapping, the settings restored
// after the load, and searches on the mapped types.
func TestSnapshotSakila(t *testing.T) {
	// Serial: both load the one sakila database.
	forEachTargetSerial(t, func(t *testing.T, tg targetHarness) {
		loadSakila(t)
		cfg := writeConfig(t, tg.Config("sakila", `
[snapshot]
chunk_rows = 3000
parallelism = 3
`))
		start := time.Now()
		res := runCLI(t, 5*time.Minute, "snapshot", "-c", cfg)
		elapsed := time.Since(start)
		if res.code != 0 {
			t.Fatalf("snapshot failed (exit %d): %s\n%s", res.code, res.stdout, tail(res.stderr, 30))
		}
		if !strings.Contains(res.stdout, "snapshot complete: 16 tables") {
			t.Errorf("summary: %s", res.stdout)
		}
		my := mysqlRoot(t)
		total := 0
		for _, tbl := range sakilaTables {
			total += tg.AssertTableEqual(t, my, "sakila", tbl)
		}
		if total < 47000 {
			t.Errorf("compared %d rows, want the whole dataset (~47k)", total)
		}
		t.Logf("BENCH snapshot of Sakila into %s: %d rows in %s (process wall time) = %.0f rows/s; %s",
			tg.Name(), total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), strings.TrimSpace(res.stdout))
		phase, gtid, found := tg.Checkpoint(t)
		if !found || phase != "streaming" || gtid == "" || !strings.Contains(res.stdout, gtid) {
			t.Errorf("checkpoint phase %q gtid %q; summary %s", phase, gtid, res.stdout)
		}
		switch h := tg.(type) {
		case *pgHarness:
			assertSakilaPostgres(t, h)
		case *esHarness:
			assertSakilaElastic(t, h)
		}
		res = runCLI(t, time.Minute, "snapshot", "-c", cfg)
		if res.code != 0 || !strings.Contains(res.stdout, "already complete") {
			t.Errorf("second snapshot: exit %d %s", res.code, res.stdout)
		}
	})
}

// assertSakilaPostgres: secondary indexes exist after the load; unique ones are
// deferrable constraints.
func assertSakilaPostgres(t *testing.T, h *pgHarness) {
	t.Helper()
	var n int
	if err := h.pg.QueryRow(context.Background(), `SELECT count(*) FROM pg_indexes WHERE schemaname = 'sakila' AND indexname = 'rental_rental_date'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("unique index rental_date: count %d err %v", n, err)
	}
	var deferrable bool
	if err := h.pg.QueryRow(context.Background(), `SELECT condeferrable FROM pg_constraint WHERE conname = 'rental_rental_date'`).Scan(&deferrable); err != nil || !deferrable {
		t.Errorf("rental_date constraint deferrable = %v, %v", deferrable, err)
	}
}

// assertSakilaElastic: the explicit mapping, the settings restored after the load, and
// searches on the mapped types.
func assertSakilaElastic(t *testing.T, et *esHarness) {
	t.Helper()
	// The explicit mapping, and the settings restored after the load.
	var m map[string]struct {
		Mappings struct {
			Dynamic    string                    `json:"dynamic"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"mappings"`
	}
	film := et.index("sakila", "film")
	esOK(t, et.es, esapi.IndicesGetMappingRequest{Index: []string{film}}, &m)
	props := one(t, m).Mappings.Properties
	for f, typ := range map[string]string{"film_id": "long", "title": "text", "description": "text", "release_year": "short",
		"rental_rate": "double", "replacement_cost": "double", "last_update": "date", "rating": "keyword", "special_features": "keyword"} {
		if props[f]["type"] != typ {
			t.Errorf("mapping of film.%s: %v, want %s", f, props[f], typ)
		}
	}
	if one(t, m).Mappings.Dynamic != "strict" {
		t.Errorf("film mapping dynamic = %q", one(t, m).Mappings.Dynamic)
	}
	flat := true
	var settings map[string]struct {
		Settings map[string]string `json:"settings"`
	}
	esOK(t, et.es, esapi.IndicesGetSettingsRequest{Index: []string{film}, FlatSettings: &flat}, &settings)
	if r := one(t, settings).Settings["index.refresh_interval"]; r == "-1" {
		t.Errorf("refresh_interval still -1 after the snapshot")
	}
	// Searches work on the mapped types.
	if n := esCount(t, et.es, film, `{"term":{"special_features":"Trailers"}}`); n != 535 {
		t.Errorf("special_features Trailers: %d, want 535", n)
	}
	assertSakilaSearches(t, et, mysqlRoot(t))
}

// TestSnapshotExistingTarget: a snapshot refuses a target table (index) that already holds
// rows (documents), naming on_existing, then empties it with on_existing = "truncate". An
// Elasticsearch index keeps its own mapping of a column, its _meta and its settings.
func TestSnapshotExistingTarget(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg targetHarness) {
		my := mysqlRoot(t)
		db := tg.DB("it_exist")
		freshMySQLDatabase(t, my, db)
		mustExec(t, my, "CREATE TABLE "+db+".t (id INT PRIMARY KEY, v VARCHAR(20), n INT)", "INSERT INTO "+db+".t VALUES (1, 'one', 1), (2, 'two', 2)")
		refusal := ""
		switch h := tg.(type) {
		case *pgHarness:
			for _, q := range []string{"CREATE SCHEMA " + db, "CREATE TABLE " + db + ".t (id int primary key, v varchar(20), n int)", "INSERT INTO " + db + ".t VALUES (9, 'stale', 9)"} {
				if _, err := h.pg.Exec(context.Background(), q); err != nil {
					t.Fatal(err)
				}
			}
			refusal = "already holds rows"
		case *esHarness:
			index := h.index(db, "t")
			esOK(t, h.es, esapi.IndicesCreateRequest{Index: index, Body: strings.NewReader(
				`{"settings":{"refresh_interval":"7s","number_of_replicas":0},"mappings":{"_meta":{"owner":"test"},"properties":{"v":{"type":"text"}}}}`)}, nil)
			esOK(t, h.es, esapi.IndexRequest{Index: index, DocumentID: "9", Body: strings.NewReader(`{"v":"stale"}`)}, nil)
			refusal = "already holds 1 documents"
		}
		cfg := tg.Config(db, "")
		res := runCLI(t, time.Minute, "snapshot", "-c", writeConfig(t, cfg))
		if res.code == 0 || !strings.Contains(res.stderr, refusal) || !strings.Contains(res.stderr, "on_existing") {
			t.Fatalf("exit %d, stderr %s", res.code, tail(res.stderr, 5))
		}
		res = runCLI(t, time.Minute, "snapshot", "-c", writeConfig(t, cfg+"[snapshot]\non_existing = \"truncate\"\n"))
		if res.code != 0 {
			t.Fatalf("truncate: exit %d %s", res.code, tail(res.stderr, 10))
		}
		if n := tg.AssertTableEqual(t, my, db, "t"); n != 2 {
			t.Errorf("compared %d rows, want 2", n)
		}
		if h, ok := tg.(*esHarness); ok {
			assertExistingIndexKept(t, h, h.index(db, "t"))
			// The index's own mapping of v differs from this version's: a warning names it
			// and says how to get the new mapping.
			if !strings.Contains(res.stderr, "index maps fields otherwise than this version would") ||
				!strings.Contains(res.stderr, "v: text -> text+keyword") || !strings.Contains(res.stderr, "recreate") {
				t.Errorf("no warning about the index's own mapping of v:\n%s", tail(res.stderr, 20))
			}
		}
	})
}

// assertExistingIndexKept: after on_existing = "truncate" the index keeps its own mapping
// of v, its _meta and its settings; the replicator maps only the column it lacked.
func assertExistingIndexKept(t *testing.T, et *esHarness, index string) {
	t.Helper()
	var m map[string]struct {
		Mappings struct {
			Meta       map[string]any            `json:"_meta"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"mappings"`
	}
	esOK(t, et.es, esapi.IndicesGetMappingRequest{Index: []string{index}}, &m)
	mp := one(t, m).Mappings
	if mp.Properties["v"]["type"] != "text" || mp.Properties["n"]["type"] != "long" || mp.Meta["owner"] != "test" {
		t.Errorf("mapping after truncate: %+v", mp)
	}
	flat := true
	var settings map[string]struct {
		Settings map[string]string `json:"settings"`
	}
	esOK(t, et.es, esapi.IndicesGetSettingsRequest{Index: []string{index}, FlatSettings: &flat}, &settings)
	if s := one(t, settings).Settings; s["index.refresh_interval"] != "7s" || s["index.number_of_replicas"] != "0" {
		t.Errorf("settings after the snapshot: %v, want the index's own back", s)
	}
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
