package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// benchDocuments measures composed documents ([[documents]]): the snapshot of films with
// a language, categories and actors composed (documents/s, from the replicator's own
// log line), then the time from a language rename that touches every film (fan-out)
// until the last film's document shows it.
func benchDocuments(ctx context.Context, bin, dir string, my *client.Conn, films int) {
	if _, err := esDo(http.MethodGet, "/", nil); err != nil {
		log.Printf("Elasticsearch at %s does not answer (%v): skipped", esURL, err)
		return
	}
	const db, stateIndex, index = "bench_docs", "bench-docs-state", "bench-docs.films"
	mustExec(my, "DROP DATABASE IF EXISTS "+db, "CREATE DATABASE "+db, "USE "+db,
		"CREATE TABLE language (language_id TINYINT UNSIGNED PRIMARY KEY, name CHAR(20) NOT NULL)",
		"CREATE TABLE category (category_id TINYINT UNSIGNED PRIMARY KEY, name VARCHAR(25) NOT NULL)",
		"CREATE TABLE actor (actor_id SMALLINT UNSIGNED PRIMARY KEY, first_name VARCHAR(45) NOT NULL, last_name VARCHAR(45) NOT NULL)",
		"CREATE TABLE film (film_id INT UNSIGNED PRIMARY KEY, title VARCHAR(128) NOT NULL, language_id TINYINT UNSIGNED NULL, length SMALLINT UNSIGNED NULL)",
		"CREATE TABLE film_category (film_id INT UNSIGNED NOT NULL, category_id TINYINT UNSIGNED NOT NULL, PRIMARY KEY (film_id, category_id))",
		"CREATE TABLE film_actor (actor_id SMALLINT UNSIGNED NOT NULL, film_id INT UNSIGNED NOT NULL, PRIMARY KEY (actor_id, film_id), KEY (film_id))",
		"INSERT INTO language VALUES (1, 'English')",
		"INSERT INTO category SELECT seq, CONCAT('category ', seq) FROM seq_1_to_16",
		"INSERT INTO actor SELECT seq, CONCAT('first', seq), CONCAT('last', seq) FROM seq_1_to_1000",
		fmt.Sprintf("INSERT INTO film SELECT seq, CONCAT('film ', seq), 1, 90 FROM seq_1_to_%d", films),
		fmt.Sprintf("INSERT INTO film_category SELECT seq, 1 + seq %% 16 FROM seq_1_to_%d", films),
		fmt.Sprintf("INSERT IGNORE INTO film_actor SELECT 1 + (f.seq * 13 + a.seq * 37) %% 1000, f.seq FROM seq_1_to_%d f, seq_1_to_5 a", films))
	for _, idx := range []string{stateIndex, index, db + ".language", db + ".category", db + ".actor", db + ".film", db + ".film_category", db + ".film_actor"} {
		_, _ = esDo(http.MethodDelete, "/"+idx+"?ignore_unavailable=true", nil)
		_, _ = esDo(http.MethodDelete, "/"+idx+"-g000001?ignore_unavailable=true", nil)
	}
	cfgPath := filepath.Join(dir, "config-docs.toml")
	check(os.WriteFile(cfgPath, []byte(fmt.Sprintf(`[source]
host = %q
port = %s
user = "replicator"
password = %q
server_id = 4297
[source.tls]
mode = "disabled"
[target]
type = "elasticsearch"
[target.elasticsearch]
addresses = [%q]
[state]
index = %q
[log]
format = "json"
[[tables]]
source = "%s.*"
[[documents]]
index = %q
root = "%s.film"
columns = ["title", "length"]
[[documents.lookup]]
field = "language"
table = "%s.language"
on = { language_id = "language_id" }
columns = ["name"]
[[documents.nested]]
field = "categories"
table = "%s.category"
through = { table = "%s.film_category", parent = "film_id", child = "category_id" }
columns = ["name"]
[[documents.nested]]
field = "actors"
table = "%s.actor"
through = { table = "%s.film_actor", parent = "film_id", child = "actor_id" }
columns = ["first_name", "last_name"]
`, myHost, myPort, myRepl, esURL, stateIndex, db, index, db, db, db, db, db, db)), 0o600))

	cmd := exec.Command(bin, "snapshot", "-c", cfgPath)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		fatalf("replicator snapshot: %v\n%s", err, logs.String())
	}
	wall := time.Since(t0)
	n := esCount(index, `{"match_all":{}}`)
	report("snapshot of 6 tables, then composed", fmt.Sprintf("%d documents, wall %s", n, wall.Round(time.Millisecond)), "%.0f documents/s overall", float64(n)/wall.Seconds())
	// The composition's own rate, from its log line (after the tables are copied).
	if m := regexp.MustCompile(`"msg":"composed documents".*"duration":"([^"]+)".*"per_second":(\d+)`).FindStringSubmatch(logs.String()); m != nil {
		report("composed snapshot docs/s (films + language, categories, actors)", "composition alone, "+m[1], "%s", m[2])
	}

	r := startRun(bin, cfgPath)
	waitCaughtUpStatus(bin, cfgPath, my, 2*time.Minute)
	t0 = time.Now()
	mustExec(my, "UPDATE "+db+".language SET name = 'Renamed' WHERE language_id = 1")
	for esCount(index, `{"term":{"language.name":"Renamed"}}`) < n {
		if time.Since(t0) > 5*time.Minute {
			fatalf("the rename did not reach %d documents within 5 minutes", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(t0)
	r.stop()
	report("rename touching every film (fan-out)", fmt.Sprintf("%d documents composed again, until all visible", n), "%s", took.Round(time.Millisecond))
}

// esCount counts the documents of index matching query (after a refresh).
func esCount(index, query string) int {
	_, _ = esDo(http.MethodPost, "/"+index+"/_refresh", nil)
	b, err := esDo(http.MethodPost, "/"+index+"/_count", bytes.NewBufferString(`{"query":`+query+`}`).Bytes())
	check(err)
	var res struct {
		Count int `json:"count"`
	}
	check(json.Unmarshal(b, &res))
	return res.Count
}
