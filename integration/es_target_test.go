//go:build integration

package integration

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// TestElasticSnapshotSakila snapshots Sakila into Elasticsearch and compares every
// document of every index with its source row.
func TestElasticSnapshotSakila(t *testing.T) {
	et := newESTarget(t, "es-sakila")
	loadSakila(t)
	cfg := writeConfig(t, et.config("sakila", `
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
		total += et.assertIndexEqual(t, my, "sakila", tbl)
	}
	if total < 47000 {
		t.Errorf("compared %d rows, want the whole dataset (~47k)", total)
	}
	t.Logf("BENCH snapshot of Sakila into Elasticsearch: %d documents in %s (process wall time) = %.0f docs/s; %s",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), strings.TrimSpace(res.stdout))

	// The checkpoint is left for streaming, at the GTID the summary names.
	phase, gtid, found := et.checkpoint(t)
	if !found || phase != "streaming" || gtid == "" || !strings.Contains(res.stdout, gtid) {
		t.Errorf("checkpoint phase %q gtid %q; summary %s", phase, gtid, res.stdout)
	}
	// The explicit mapping, and the settings restored after the load.
	var m map[string]struct {
		Mappings struct {
			Dynamic    string                    `json:"dynamic"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"mappings"`
	}
	film := et.index("sakila", "film")
	esOK(t, et.es, esapi.IndicesGetMappingRequest{Index: []string{film}}, &m)
	props := m[film].Mappings.Properties
	for f, typ := range map[string]string{"film_id": "long", "title": "keyword", "description": "text", "release_year": "short",
		"rental_rate": "keyword", "last_update": "date", "rating": "keyword", "special_features": "keyword"} {
		if props[f]["type"] != typ {
			t.Errorf("mapping of film.%s: %v, want %s", f, props[f], typ)
		}
	}
	if m[film].Mappings.Dynamic != "strict" {
		t.Errorf("film mapping dynamic = %q", m[film].Mappings.Dynamic)
	}
	flat := true
	var settings map[string]struct {
		Settings map[string]string `json:"settings"`
	}
	esOK(t, et.es, esapi.IndicesGetSettingsRequest{Index: []string{film}, FlatSettings: &flat}, &settings)
	if r := settings[film].Settings["index.refresh_interval"]; r == "-1" {
		t.Errorf("refresh_interval still -1 after the snapshot")
	}
	// Searches work on the mapped types.
	if n := esCount(t, et.es, film, `{"term":{"title":"ACADEMY DINOSAUR"}}`); n != 1 {
		t.Errorf("term title ACADEMY DINOSAUR: %d", n)
	}
	if n := esCount(t, et.es, film, `{"match":{"title.text":"dinosaur"}}`); n < 2 {
		t.Errorf("match title.text dinosaur: %d", n)
	}
	if n := esCount(t, et.es, film, `{"range":{"rental_rate.num":{"gte":4}}}`); n != 336 {
		t.Errorf("rental_rate.num >= 4: %d, want 336", n)
	}
	if n := esCount(t, et.es, film, `{"term":{"special_features":"Trailers"}}`); n != 535 {
		t.Errorf("special_features Trailers: %d, want 535", n)
	}

	res = runCLI(t, time.Minute, "snapshot", "-c", cfg)
	if res.code != 0 || !strings.Contains(res.stdout, "already complete") {
		t.Errorf("second snapshot: exit %d %s", res.code, res.stdout)
	}
	et.cleanup(t)
}

// TestElasticStreamingDML streams inserts, updates, deletes and key changes into
// Elasticsearch, including a 100,000-row transaction.
func TestElasticStreamingDML(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-stream")
	db := "it_es_stream"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my,
		"CREATE TABLE it_es_stream.a (id INT PRIMARY KEY, v VARCHAR(20), n DECIMAL(30,10), u BIGINT UNSIGNED, d DATETIME(6), "+
			"j JSON, b BIT(10), z DATE, bl VARBINARY(8), e ENUM('x','y'), s SET('p','q'), f FLOAT, y YEAR, t TIME(2))",
		"CREATE TABLE it_es_stream.b (k1 INT, k2 VARCHAR(10), payload TEXT, PRIMARY KEY (k1, k2))",
		"CREATE TABLE it_es_stream.big (id INT PRIMARY KEY, v INT, s VARCHAR(40))",
		"INSERT INTO it_es_stream.a VALUES (1, 'one', 1.5, 18446744073709551615, '2020-01-01 00:00:00.000001', '{\"k\": [1, \"x\"]}', b'1000000001', '2020-02-29', x'00ff', 'y', 'p,q', 1.25, 2155, '-838:59:58.25')",
		"INSERT INTO it_es_stream.b VALUES (0, 'seed', 'from the snapshot')")
	cfg := writeConfig(t, et.config(db, `
[apply]
flush_interval = "100ms"
batch_rows = 2000
[snapshot]
chunk_rows = 1000
`))
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 60*time.Second)

	mustExec(t, my,
		"INSERT INTO it_es_stream.a VALUES (2, 'two', -0.0000000001, 0, '1970-01-01 00:00:01', '[]', b'0', '0000-00-00', '', 'x', '', -1e-7, 1901, '00:00:00.5'), "+
			"(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
		"UPDATE it_es_stream.a SET v = 'uno', u = 9223372036854775808 WHERE id = 1",
		"UPDATE it_es_stream.a SET id = 20 WHERE id = 2", // primary key change
		"DELETE FROM it_es_stream.a WHERE id = 3",
		"INSERT INTO it_es_stream.b VALUES (1, 'x', 'first'), (1, 'y', 'second'), (1, '\"q\",', 'composite key with JSON characters')",
		"UPDATE it_es_stream.b SET k2 = 'moved' WHERE k1 = 0", // composite key change
		"BEGIN", "UPDATE it_es_stream.a SET v = 'in-txn' WHERE id = 1", "DELETE FROM it_es_stream.b WHERE k2 = 'x'", "INSERT INTO it_es_stream.b VALUES (2, 'z', 'third')", "COMMIT",
		"REPLACE INTO it_es_stream.a (id, v, n, u) VALUES (20, 'replaced', 2.25, 5)",
		"INSERT INTO it_es_stream.a (id, v) VALUES (1, 'dup') ON DUPLICATE KEY UPDATE v = CONCAT(v, '+dup')",
		"BEGIN", "INSERT INTO it_es_stream.a (id, v) VALUES (30, 'x')", "DELETE FROM it_es_stream.a WHERE id = 30", "INSERT INTO it_es_stream.a (id, v) VALUES (30, 'final')", "COMMIT",
		"BEGIN", "INSERT INTO it_es_stream.a (id, v) VALUES (40, 'gone')", "DELETE FROM it_es_stream.a WHERE id = 40", "COMMIT",
		"INSERT INTO it_es_stream.a (id, z, d) VALUES (50, '0000-00-00', '0000-00-00 00:00:00')",
	)
	et.waitCaughtUp(t, my, p, 60*time.Second)
	for _, tbl := range []string{"a", "b"} {
		et.assertIndexEqual(t, my, db, tbl)
	}
	_, rewindTo, _ := et.checkpoint(t)

	// A burst: one 100,000-row transaction, then an update of a third and a delete of a tenth.
	var sb strings.Builder
	burst := time.Now()
	mustExec(t, my, "BEGIN")
	for i := 0; i < 100000; i += 1000 {
		sb.Reset()
		sb.WriteString("INSERT INTO it_es_stream.big VALUES ")
		for j := i; j < i+1000; j++ {
			if j > i {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "(%d, %d, 'row %d')", j, j*7, j)
		}
		mustExec(t, my, sb.String())
	}
	mustExec(t, my, "COMMIT", "UPDATE it_es_stream.big SET v = v + 1 WHERE id % 3 = 0", "DELETE FROM it_es_stream.big WHERE id % 10 = 0")
	written := time.Since(burst)
	lag := et.waitCaughtUp(t, my, p, 120*time.Second)
	changes := 100000 + 33334 + 10000
	total := time.Since(burst)
	t.Logf("BENCH streaming burst of %d row changes: source writes took %s, caught up %s later; %.0f changes/s end to end",
		changes, written.Round(time.Millisecond), lag.Round(time.Millisecond), float64(changes)/total.Seconds())

	for _, tbl := range []string{"a", "b", "big"} {
		et.assertIndexEqual(t, my, db, tbl)
	}
	var doc struct {
		Source map[string]any `json:"_source"`
	}
	esOK(t, et.es, esapi.GetRequest{Index: et.index(db, "a"), DocumentID: "1"}, &doc)
	if doc.Source["v"] != "in-txn+dup" {
		t.Errorf("a.v for id 1 = %v; want in-txn+dup", doc.Source["v"])
	}
	// The zero date is kept in _source and left out of the index.
	if n := esCount(t, et.es, et.index(db, "a"), `{"term":{"_ignored":"z"}}`); n != 1 {
		t.Errorf("documents with an ignored zero date: %d, want 1", n)
	}
	if n := esCount(t, et.es, et.index(db, "a"), `{"range":{"d":{"lt":"2000-01-01 00:00:00.000000"}}}`); n != 0 {
		t.Errorf("zero datetime matched a range query: %d documents", n)
	}
	p.stop(t)
	if !strings.Contains(p.output(), "stopped cleanly") {
		t.Errorf("no clean stop in log:\n%s", tail(p.output(), 10))
	}

	// A crash after the bulk requests but before the checkpoint document replays batches
	// whose documents are already newer: move the checkpoint back over the burst and
	// restart. The versions refuse every older write, and the indexes stay equal.
	esOK(t, et.es, esapi.IndexRequest{Index: et.state, DocumentID: "checkpoint-default", Body: strings.NewReader(
		fmt.Sprintf(`{"kind":"checkpoint","name":"default","flavor":"mariadb","gtid":%q,"phase":"streaming"}`, rewindTo))}, nil)
	p = startCLI(t, "run", "-c", cfg)
	replay := et.waitCaughtUp(t, my, p, 120*time.Second)
	t.Logf("replay from %s took %s", rewindTo, replay.Round(time.Millisecond))
	for _, tbl := range []string{"a", "b", "big"} {
		et.assertIndexEqual(t, my, db, tbl)
	}
	if !strings.Contains(p.output(), "replayed changes refused") {
		t.Errorf("replay from %s refused nothing:\n%s", rewindTo, tail(p.output(), 20))
	}
	p.stop(t)
	et.cleanup(t)
}

// TestElasticKillNineDuringWorkload kills the replicator repeatedly (first during the
// snapshot, then while streaming) under a write workload; in the end every index equals
// its source table.
func TestElasticKillNineDuringWorkload(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-kill")
	db := "it_es_kill"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable)
	seed(t, my, db, 20000)
	cfg := writeConfig(t, et.config(db, `
[apply]
flush_interval = "100ms"
batch_rows = 2000
[snapshot]
chunk_rows = 1000
`))
	stop := make(chan struct{})
	wait := workload(t, db, 2, stop)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	kills := 6
	replays := 0
	for i := 0; i < kills; i++ {
		p := startCLI(t, "run", "-c", cfg)
		time.Sleep(time.Duration(300+rng.Intn(2500)) * time.Millisecond)
		if p.exited() {
			t.Fatalf("replicator exited early: %v\n%s", p.err, tail(p.output(), 30))
		}
		p.kill()
		replays += strings.Count(p.output(), "replayed changes refused")
	}
	close(stop)
	n := wait()
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 120*time.Second)
	t.Logf("%d kill -9 during %d workload statements; %d batches saw refused replays", kills, n, replays)
	et.assertIndexEqual(t, my, db, "wl")
	p.stop(t)
	et.cleanup(t)
}

// TestElasticSnapshotResumesAfterKill kills a snapshot midway; the next run resumes from
// the chunks marked done, and streaming converges what changed in between.
func TestElasticSnapshotResumesAfterKill(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-resume")
	db := "it_es_resume"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable,
		"CREATE TABLE strkey (code VARCHAR(20) PRIMARY KEY, v INT)",
		"INSERT INTO strkey SELECT CONCAT('k', seq), seq FROM seq_1_to_20000")
	seed(t, my, db, 300000)
	cfg := writeConfig(t, et.config(db, `
[snapshot]
chunk_rows = 2000
parallelism = 2
`))
	chunksDone := func() int {
		code, _ := esDo(t, et.es, esapi.IndicesRefreshRequest{Index: []string{et.state}})
		if code != 200 {
			return 0
		}
		return esCount(t, et.es, et.state, `{"term":{"kind":"chunk"}}`)
	}
	p := startCLI(t, "snapshot", "-c", cfg)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && chunksDone() < 10 {
		if p.exited() {
			t.Fatalf("snapshot finished before it could be killed; make the table larger\n%s", tail(p.output(), 10))
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.kill()
	done := chunksDone()
	if done == 0 || done >= 151 {
		t.Fatalf("kill did not land mid-snapshot: %d chunks done", done)
	}
	t.Logf("killed with %d chunks done", done)
	mustExec(t, my, "UPDATE it_es_resume.wl SET v = -1 WHERE id % 1000 = 0", "DELETE FROM it_es_resume.wl WHERE id % 777 = 0")

	res := runCLI(t, 5*time.Minute, "snapshot", "-c", cfg)
	if res.code != 0 {
		t.Fatalf("resumed snapshot failed: %s\n%s", res.stdout, tail(res.stderr, 20))
	}
	if !strings.Contains(res.stderr, "resuming snapshot") {
		t.Errorf("second run did not resume:\n%s", tail(res.stderr, 10))
	}
	p = startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	if n := et.assertIndexEqual(t, my, db, "wl"); n < 299000 {
		t.Errorf("compared %d rows", n)
	}
	et.assertIndexEqual(t, my, db, "strkey")
	p.stop(t)
	et.cleanup(t)
}

// TestElasticSnapshotExistingIndex refuses an index that holds documents, then empties it
// with on_existing = "truncate", keeping the index's own mapping of a column.
func TestElasticSnapshotExistingIndex(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-exist")
	db := "it_es_exist"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "CREATE TABLE it_es_exist.t (id INT PRIMARY KEY, v VARCHAR(20), n INT)", "INSERT INTO it_es_exist.t VALUES (1, 'one', 1), (2, 'two', 2)")
	index := et.index(db, "t")
	esOK(t, et.es, esapi.IndicesCreateRequest{Index: index, Body: strings.NewReader(
		`{"settings":{"refresh_interval":"7s","number_of_replicas":0},"mappings":{"_meta":{"owner":"test"},"properties":{"v":{"type":"text"}}}}`)}, nil)
	esOK(t, et.es, esapi.IndexRequest{Index: index, DocumentID: "9", Body: strings.NewReader(`{"v":"stale"}`)}, nil)
	cfg := et.config(db, "")
	res := runCLI(t, time.Minute, "snapshot", "-c", writeConfig(t, cfg))
	if res.code == 0 || !strings.Contains(res.stderr, "already holds 1 documents") || !strings.Contains(res.stderr, "on_existing") {
		t.Fatalf("exit %d, stderr %s", res.code, tail(res.stderr, 5))
	}
	res = runCLI(t, time.Minute, "snapshot", "-c", writeConfig(t, cfg+"[snapshot]\non_existing = \"truncate\"\n"))
	if res.code != 0 {
		t.Fatalf("truncate: exit %d %s", res.code, tail(res.stderr, 10))
	}
	et.assertIndexEqual(t, my, db, "t")
	var m map[string]struct {
		Mappings struct {
			Meta       map[string]any            `json:"_meta"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"mappings"`
	}
	esOK(t, et.es, esapi.IndicesGetMappingRequest{Index: []string{index}}, &m)
	mp := m[index].Mappings
	if mp.Properties["v"]["type"] != "text" || mp.Properties["n"]["type"] != "long" || mp.Meta["owner"] != "test" {
		t.Errorf("mapping after truncate: %+v", mp)
	}
	flat := true
	var settings map[string]struct {
		Settings map[string]string `json:"settings"`
	}
	esOK(t, et.es, esapi.IndicesGetSettingsRequest{Index: []string{index}, FlatSettings: &flat}, &settings)
	if s := settings[index].Settings; s["index.refresh_interval"] != "7s" || s["index.number_of_replicas"] != "0" {
		t.Errorf("settings after the snapshot: %v, want the index's own back", s)
	}
	et.cleanup(t)
}
