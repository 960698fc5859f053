//go:build integration

package integration

import (
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
