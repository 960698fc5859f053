//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
)

// docsSchema is a Sakila-shaped schema: films with a language (N:1), categories and
// actors through join tables (N:M), copies in inventory (1:N). No foreign keys: a
// snapshot resumed after a kill does not follow the cascades of the binary log gap it
// catches up over (the rows it re-reads are those the row events name), for any table.
var docsSchema = []string{
	"CREATE TABLE language (language_id TINYINT UNSIGNED PRIMARY KEY, name CHAR(20) NOT NULL)",
	"CREATE TABLE category (category_id TINYINT UNSIGNED PRIMARY KEY, name VARCHAR(25) NOT NULL)",
	"CREATE TABLE actor (actor_id SMALLINT UNSIGNED PRIMARY KEY, first_name VARCHAR(45) NOT NULL, last_name VARCHAR(45) NOT NULL)",
	"CREATE TABLE film (film_id SMALLINT UNSIGNED PRIMARY KEY, title VARCHAR(128) NOT NULL, language_id TINYINT UNSIGNED NULL, length SMALLINT UNSIGNED NULL, KEY (language_id))",
	"CREATE TABLE film_category (film_id SMALLINT UNSIGNED NOT NULL, category_id TINYINT UNSIGNED NOT NULL, PRIMARY KEY (film_id, category_id))",
	"CREATE TABLE film_actor (actor_id SMALLINT UNSIGNED NOT NULL, film_id SMALLINT UNSIGNED NOT NULL, PRIMARY KEY (actor_id, film_id), KEY (film_id))",
	"CREATE TABLE inventory (inventory_id MEDIUMINT UNSIGNED PRIMARY KEY, film_id SMALLINT UNSIGNED NULL, store_id TINYINT UNSIGNED NOT NULL, KEY (film_id))",
	"INSERT INTO language SELECT seq, CONCAT('lang ', seq) FROM seq_1_to_6",
	"INSERT INTO category SELECT seq, CONCAT('category ', seq) FROM seq_1_to_16",
	"INSERT INTO actor SELECT seq, CONCAT('first', seq), CONCAT('last', seq) FROM seq_1_to_300",
	"INSERT INTO film SELECT seq, CONCAT('film ', seq), IF(seq % 50 = 0, NULL, 1 + seq % 6), 40 + seq % 140 FROM seq_1_to_600",
	"INSERT INTO film_category SELECT seq, 1 + seq % 16 FROM seq_1_to_600",
	"INSERT IGNORE INTO film_category SELECT seq, 1 + (seq * 7) % 16 FROM seq_1_to_600 WHERE seq % 3 = 0",
	// About 8 actors a film; actor 1 is in every tenth film.
	"INSERT IGNORE INTO film_actor SELECT 1 + (f.seq * 13 + a.seq * 37) % 300, f.seq FROM seq_1_to_600 f, seq_1_to_8 a",
	"INSERT IGNORE INTO film_actor SELECT 1, seq FROM seq_1_to_600 WHERE seq % 10 = 0",
	// 1:N: about 2 copies a film, some of none.
	"INSERT INTO inventory SELECT seq, IF(seq % 97 = 0, NULL, 1 + (seq * 11) % 600), 1 + seq % 2 FROM seq_1_to_1200",
}

const docsDecl = `
[snapshot]
chunk_rows = 100
[apply]
batch_rows = 500

[[documents]]
index = %q
root = "%s.film"
columns = ["title", "language_id", "length"]
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
[[documents.nested]]
field = "inventory"
table = "%s.inventory"
on = { film_id = "film_id" }
columns = ["store_id"]
`

// docsWorkload runs multi-statement transactions over all five related tables and the
// root until stop closes: join rows added and removed, actors renamed (actor 1 is in 60
// films), deleted (with or without their join rows) and added, languages and categories
// renamed, films changed, added and deleted.
func docsWorkload(t *testing.T, db string, stop <-chan struct{}) (wait func() int) {
	my := mysqlRoot(t)
	mustExec(t, my, "USE "+db)
	var wg sync.WaitGroup
	n := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer my.Close()
		r := rand.New(rand.NewSource(24))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			f, a := 1+r.Intn(700), 1+r.Intn(320)
			stmts := []string{"BEGIN"}
			// 1:N: a copy moves to another film (or to none), one is added, one goes.
			if i%3 == 0 {
				stmts = append(stmts, fmt.Sprintf("UPDATE IGNORE inventory SET film_id = NULLIF(%d, 0) WHERE inventory_id = %d", r.Intn(650), 1+r.Intn(1300)),
					fmt.Sprintf("INSERT IGNORE INTO inventory VALUES (%d, %d, 1)", 1+r.Intn(1300), f),
					fmt.Sprintf("DELETE FROM inventory WHERE inventory_id = %d", 1+r.Intn(1300)))
			}
			switch i % 8 {
			case 0:
				stmts = append(stmts, fmt.Sprintf("INSERT IGNORE INTO film_actor VALUES (%d, %d)", a, f),
					fmt.Sprintf("DELETE FROM film_actor WHERE film_id = %d AND actor_id <> %d LIMIT 1", 1+r.Intn(600), a))
			case 1:
				stmts = append(stmts, fmt.Sprintf("UPDATE actor SET last_name = CONCAT('renamed', %d) WHERE actor_id IN (1, %d)", i, a),
					fmt.Sprintf("UPDATE film SET title = CONCAT('film ', film_id, ' v', %d) WHERE film_id = %d", i, f))
			case 2:
				stmts = append(stmts, fmt.Sprintf("UPDATE language SET name = CONCAT('language ', %d) WHERE language_id = %d", i, 1+r.Intn(6)))
			case 3:
				stmts = append(stmts, fmt.Sprintf("DELETE FROM actor WHERE actor_id = %d", a))
				if r.Intn(2) == 0 {
					stmts = append(stmts, fmt.Sprintf("DELETE FROM film_actor WHERE actor_id = %d", a))
				}
			case 4:
				stmts = append(stmts, fmt.Sprintf("INSERT IGNORE INTO actor VALUES (%d, 'new', CONCAT('actor ', %d))", a, i),
					fmt.Sprintf("INSERT IGNORE INTO film_actor VALUES (%d, %d)", a, f))
			case 5:
				stmts = append(stmts, fmt.Sprintf("UPDATE film SET language_id = %d, length = length + 1 WHERE film_id = %d", 1+r.Intn(6), f),
					fmt.Sprintf("INSERT IGNORE INTO film_category VALUES (%d, %d)", f, 1+r.Intn(16)),
					fmt.Sprintf("UPDATE category SET name = CONCAT('cat ', %d) WHERE category_id = %d", i, 1+r.Intn(16)))
			case 6:
				stmts = append(stmts, fmt.Sprintf("INSERT IGNORE INTO film VALUES (%d, CONCAT('new film ', %d), %d, NULL)", f, i, 1+r.Intn(6)),
					fmt.Sprintf("DELETE FROM film_category WHERE film_id = %d LIMIT 1", 1+r.Intn(600)))
			case 7:
				stmts = append(stmts, fmt.Sprintf("DELETE FROM film WHERE film_id = %d", f))
				if r.Intn(2) == 0 {
					stmts = append(stmts, fmt.Sprintf("DELETE FROM film_actor WHERE film_id = %d", f), fmt.Sprintf("DELETE FROM film_category WHERE film_id = %d", f))
				}
			}
			stmts = append(stmts, "COMMIT")
			for _, s := range stmts {
				if _, err := my.Execute(s); err != nil {
					t.Errorf("workload %q: %v", s, err)
					return
				}
			}
			n++
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() int { wg.Wait(); return n }
}

// docsExpected composes every film's document from the source with the test's own SQL:
// what the declaration means, written independently of the replicator's composer.
func docsExpected(t *testing.T, my *client.Conn, db string) map[string]string {
	t.Helper()
	q := func(sql string) [][]mysql.FieldValue {
		r, err := my.Execute(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return r.Values
	}
	val := func(v mysql.FieldValue, number bool) any {
		switch {
		case v.Type == mysql.FieldValueTypeNull:
			return nil
		case number:
			return json.Number(fmt.Sprint(v.Value()))
		}
		return string(v.AsString())
	}
	docs := map[string]map[string]any{}
	for _, r := range q("SELECT f.film_id, f.title, f.language_id, f.length, l.name FROM `" + db + "`.film f LEFT JOIN `" + db + "`.language l USING (language_id)") {
		d := map[string]any{"film_id": val(r[0], true), "title": val(r[1], false), "language_id": val(r[2], true), "length": val(r[3], true),
			"language": nil, "categories": []any{}, "actors": []any{}, "inventory": []any{}}
		if r[4].Type != mysql.FieldValueTypeNull {
			d["language"] = map[string]any{"name": val(r[4], false)}
		}
		docs[fmt.Sprint(r[0].Value())] = d
	}
	for _, r := range q("SELECT fc.film_id, c.category_id, c.name FROM `" + db + "`.film_category fc JOIN `" + db + "`.category c USING (category_id) ORDER BY fc.film_id, c.category_id") {
		if d := docs[fmt.Sprint(r[0].Value())]; d != nil {
			d["categories"] = append(d["categories"].([]any), map[string]any{"category_id": val(r[1], true), "name": val(r[2], false)})
		}
	}
	for _, r := range q("SELECT fa.film_id, a.actor_id, a.first_name, a.last_name FROM `" + db + "`.film_actor fa JOIN `" + db + "`.actor a USING (actor_id) ORDER BY fa.film_id, a.actor_id") {
		if d := docs[fmt.Sprint(r[0].Value())]; d != nil {
			d["actors"] = append(d["actors"].([]any), map[string]any{"actor_id": val(r[1], true), "first_name": val(r[2], false), "last_name": val(r[3], false)})
		}
	}
	for _, r := range q("SELECT film_id, inventory_id, store_id FROM `" + db + "`.inventory WHERE film_id IS NOT NULL ORDER BY film_id, inventory_id") {
		if d := docs[fmt.Sprint(r[0].Value())]; d != nil {
			d["inventory"] = append(d["inventory"].([]any), map[string]any{"inventory_id": val(r[1], true), "store_id": val(r[2], true)})
		}
	}
	out := make(map[string]string, len(docs))
	for id, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = string(b)
	}
	return out
}

// assertDocsEqual compares every composed document with the source's, in both
// directions, and returns how many there are.
func assertDocsEqual(t *testing.T, et *esTarget, my *client.Conn, db, index string) int {
	t.Helper()
	want := docsExpected(t, my, db)
	got := et.readIndex(t, index)
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	bad := 0
	for _, id := range ids {
		g, ok := got[id]
		if !ok {
			t.Errorf("film %s: no document in %s", id, index)
			bad++
		} else if b, _ := json.Marshal(g); string(b) != want[id] {
			t.Errorf("film %s:\n got %s\nwant %s", id, b, want[id])
			bad++
		}
		if bad > 10 {
			t.Fatalf("more than 10 documents differ")
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("document %s of %s: no such film at the source", id, index)
		}
	}
	return len(want)
}

// TestDocumentsUnderKills composes Sakila-shaped film documents (language, categories,
// actors) through a snapshot killed -9 after a committed chunk and a stream killed -9
// twice right after a batch's row writes (before its documents are composed again and
// its checkpoint stored), under a workload touching every involved table; then every
// document equals the one the test composes from the source's rows, verify is equal,
// a nested query on actors answers with the source's count, and DDL: ADD COLUMN goes
// through, RENAME COLUMN of a used column stops the stream naming documents[0].
func TestDocumentsUnderKills(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "docs")
	db := "it_docs"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, append([]string{"USE " + db}, docsSchema...)...)
	index := et.prefix + "films"
	cfg := writeConfig(t, withServerID(et.config(db, fmt.Sprintf(docsDecl, index, db, db, db, db, db, db, db)), 4291))

	// check resolves the declaration against the source and says what it found; a lookup
	// on a column that is not the looked-up table's key fails naming the key.
	out, _ := runCheck(t, cfg)
	detail := ""
	for _, c := range out.Checks {
		if c.Name == "documents" {
			detail = c.Status + ": " + c.Detail
		}
	}
	if want := "pass: documents[0] index " + index + ": one per " + db + ".film row (_id film_id); language: N:1 " + db + ".language by language_id = language_id; categories: N:M " + db + ".category through " + db + ".film_category (film_id -> film_id, category_id -> category_id); actors: N:M " + db + ".actor through " + db + ".film_actor (film_id -> film_id, actor_id -> actor_id); inventory: 1:N " + db + ".inventory by film_id = film_id"; detail != want {
		t.Errorf("check documents:\n got %s\nwant %s", detail, want)
	}
	bad := writeConfig(t, strings.Replace(readFile(t, cfg), `on = { language_id = "language_id" }`, `on = { language_id = "name" }`, 1))
	out, _ = runCheck(t, bad)
	for _, c := range out.Checks {
		if c.Name == "documents" && (c.Status != "fail" || !strings.Contains(c.Detail, `documents[0].lookup[0].on = { language_id = "name" }: "name" must be the key of `+db+`.language (language_id)`)) {
			t.Errorf("check of a lookup on a non-key column: %s: %s", c.Status, c.Detail)
		}
	}

	stop := make(chan struct{})
	wait := docsWorkload(t, db, stop)
	k := startCLIEnv(t, []string{"REPLICATOR_CRASH_AT=snapshot.chunk-committed:3"}, "run", "-c", cfg)
	select {
	case <-k.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("the snapshot did not reach its kill point:\n%s", tail(k.output(), 20))
	}
	if phase, _, _ := et.checkpoint(t); phase != "snapshot" {
		t.Fatalf("after the kill in the snapshot the checkpoint phase is %q, want snapshot:\n%s", phase, tail(k.output(), 20))
	}
	// Twice in the stream: the 3rd, then the 5th batch's rows are written, the
	// documents they touch not composed again, the checkpoint not moved.
	for _, at := range []string{"elastic.bulk-sent:3", "elastic.bulk-sent:5"} {
		k := startCLIEnv(t, []string{"REPLICATOR_CRASH_AT=" + at}, "run", "-c", cfg)
		select {
		case <-k.done:
		case <-time.After(120 * time.Second):
			t.Fatalf("the stream did not reach its kill point %s:\n%s", at, tail(k.output(), 20))
		}
		if !strings.Contains(k.output(), "crash point elastic.bulk-sent\n") {
			t.Fatalf("the run ended otherwise than at %s:\n%s", at, tail(k.output(), 20))
		}
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	n := wait()
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 120*time.Second)
	docs := assertDocsEqual(t, et, my, db, index)
	t.Logf("1 kill -9 in the snapshot, 2 in the stream, %d workload transactions, %d documents equal", n, docs)

	// A rename of an actor in many films (the workload may have removed them: put back
	// in every tenth) reaches every one of them; a nested query on actors finds them.
	mustExec(t, my, "USE "+db, "INSERT IGNORE INTO film_actor SELECT 1, film_id FROM film WHERE film_id % 10 = 0",
		"INSERT INTO actor VALUES (1, 'Zorro', 'Unique') ON DUPLICATE KEY UPDATE first_name = 'Zorro', last_name = 'Unique'")
	et.waitCaughtUp(t, my, p, 60*time.Second)
	r, err := my.Execute("SELECT COUNT(DISTINCT fa.film_id) FROM `" + db + "`.film_actor fa JOIN `" + db + "`.film f USING (film_id) JOIN `" + db + "`.actor a USING (actor_id) WHERE a.last_name = 'Unique'")
	if err != nil {
		t.Fatal(err)
	}
	wantFilms, _ := r.GetInt(0, 0)
	esOK(t, et.es, esapi.IndicesRefreshRequest{Index: []string{index}}, nil)
	var res struct {
		Hits struct {
			Total struct {
				Value int64 `json:"value"`
			} `json:"total"`
		} `json:"hits"`
	}
	query := `{"track_total_hits":true,"size":0,"query":{"nested":{"path":"actors","query":{"bool":{"must":[{"match":{"actors.first_name":"Zorro"}},{"term":{"actors.last_name.keyword":"Unique"}}]}}}}}`
	esOK(t, et.es, esapi.SearchRequest{Index: []string{index}, Body: strings.NewReader(query)}, &res)
	if wantFilms < 10 || res.Hits.Total.Value != wantFilms {
		t.Errorf("nested query on actors: %d films, the source has %d", res.Hits.Total.Value, wantFilms)
	}

	// ADD COLUMN of a column no declaration uses is followed; then RENAME COLUMN of a
	// used column stops the stream, naming the declaration.
	mustExec(t, my, "USE "+db, "ALTER TABLE actor ADD COLUMN nickname VARCHAR(20) NULL", "UPDATE actor SET nickname = 'nick', last_name = 'After Add' WHERE actor_id = 2")
	et.waitCaughtUp(t, my, p, 60*time.Second)
	assertDocsEqual(t, et, my, db, index)
	p.stop(t)
	rep := assertVerifyEqual(t, cfg)
	if len(rep.Documents) != 1 || !rep.Documents[0].Equal || rep.Documents[0].Index != index || rep.Documents[0].Documents != docs {
		t.Errorf("verify of the composed index: %+v, want %d documents equal", rep.Documents, docs)
	}
	// A document changed behind the replicator's back, and one of a film that does not
	// exist: verify names both.
	r, err = my.Execute("SELECT MIN(film_id) FROM `" + db + "`.film")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := r.GetInt(0, 0)
	esOK(t, et.es, esapi.UpdateRequest{Index: index, DocumentID: fmt.Sprint(first), Body: strings.NewReader(`{"doc":{"title":"tampered"}}`)}, nil)
	esOK(t, et.es, esapi.IndexRequest{Index: index, DocumentID: "65000", Body: strings.NewReader(`{"film_id":65000,"title":"ghost"}`)}, nil)
	rep, vres := runVerify(t, cfg)
	if want := fmt.Sprintf("%d,65000", first); vres.code == 0 || rep.Equal || len(rep.Documents) != 1 || rep.Documents[0].Differences != 2 || strings.Join(rep.Documents[0].Differ, ",") != want {
		t.Errorf("verify after tampering: exit %d, %+v, want %s differing", vres.code, rep.Documents, want)
	}

	mustExec(t, my, "USE "+db, "ALTER TABLE actor RENAME COLUMN last_name TO surname")
	p = startCLI(t, "run", "-c", cfg)
	if !waitExit(p, 60*time.Second) {
		t.Fatalf("the stream did not stop at RENAME COLUMN of a used column:\n%s", tail(p.output(), 20))
	}
	if out := p.output(); !strings.Contains(out, "documents[0] (index "+index+") is composed from "+db+".actor and uses its column last_name") {
		t.Errorf("the stop does not name documents[0] and the column:\n%s", tail(out, 10))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDocumentsAddedLater adds a [[documents]] declaration to a replicator that already
// streams: the next run composes the index from the tables' indexes before it streams,
// into generation 1 behind the index's name as an alias (replacing an index of that name
// an earlier version composed), then keeps it current; a changed declaration (the actors
// relation removed) composes generation 2 beside it and swaps the alias: a reader
// counting the alias's documents all along sees every film each time, never an empty or
// half-composed index.
func TestDocumentsAddedLater(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "docslater")
	db := "it_docs_later"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, append([]string{"USE " + db}, docsSchema...)...)
	index := et.prefix + "films"
	plain := withServerID(et.config(db, ""), 4292)
	cfg := writeConfig(t, plain)
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 120*time.Second)
	p.stop(t)

	// An index of the name composed by an earlier version (concrete, no alias).
	esOK(t, et.es, esapi.IndexRequest{Index: index, DocumentID: "65000", Body: strings.NewReader(`{"film_id":65000,"title":"legacy"}`), Refresh: "true"}, nil)
	decl := fmt.Sprintf(docsDecl, index, db, db, db, db, db, db, db)
	cfg = writeConfig(t, plain+decl)
	p = startCLI(t, "run", "-c", cfg)
	if !waitOutput(p, `"msg":"composed documents"`, 60*time.Second) {
		t.Fatalf("no composition at the run's start:\n%s", tail(p.output(), 20))
	}
	if ix, concrete := et.aliasTarget(t, index); concrete || len(ix) != 1 || ix[0] != index+"-g000001" {
		t.Errorf("after the first composition %s stands for %v (concrete %t), want the alias of %s-g000001", index, ix, concrete, index)
	}
	mustExec(t, my, "USE "+db, "UPDATE actor SET last_name = 'Later' WHERE actor_id = 1", "DELETE FROM film_category WHERE film_id = 3")
	et.waitCaughtUp(t, my, p, 60*time.Second)
	if n := assertDocsEqual(t, et, my, db, index); n < 500 {
		t.Fatalf("only %d films", n)
	}
	p.stop(t)

	// The same declaration again: nothing to compose.
	p = startCLI(t, "run", "-c", cfg)
	waitStreaming(t, p)
	et.waitCaughtUp(t, my, p, 60*time.Second)
	p.stop(t)
	if strings.Contains(p.output(), `"msg":"composed documents"`) {
		t.Errorf("an unchanged declaration was composed again")
	}

	// Without the actors relation: composed again, no document has actors. A reader
	// counts the alias's documents all along.
	films := et.count(t, index)
	counts := map[int]int{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			var res struct {
				Count int `json:"count"`
			}
			r, err := esapi.CountRequest{Index: []string{index}}.Do(context.Background(), et.es)
			switch {
			case err != nil:
				res.Count = -1
			case r.StatusCode != 200 || json.NewDecoder(r.Body).Decode(&res) != nil:
				res.Count = -r.StatusCode
			}
			if err == nil {
				r.Body.Close()
			}
			counts[res.Count]++
			time.Sleep(5 * time.Millisecond)
		}
	}()
	i := strings.Index(decl, "[[documents.nested]]\nfield = \"actors\"")
	j := strings.Index(decl, "[[documents.nested]]\nfield = \"inventory\"")
	cfg = writeConfig(t, plain+decl[:i]+decl[j:])
	p = startCLI(t, "run", "-c", cfg)
	if !waitOutput(p, `"msg":"composed documents"`, 60*time.Second) {
		t.Fatalf("a changed declaration was not composed again:\n%s", tail(p.output(), 20))
	}
	et.waitCaughtUp(t, my, p, 60*time.Second)
	p.stop(t)
	close(done)
	wg.Wait()
	if len(counts) != 1 || counts[films] == 0 {
		t.Errorf("the alias's document count while composing again (count: times seen; negative: HTTP status): %v, want only %d", counts, films)
	}
	if ix, concrete := et.aliasTarget(t, index); concrete || len(ix) != 1 || ix[0] != index+"-g000002" {
		t.Errorf("after the second composition %s stands for %v (concrete %t), want the alias of %s-g000002", index, ix, concrete, index)
	}
	if ix, _ := et.aliasTarget(t, index+"-g000001"); len(ix) != 0 {
		t.Errorf("generation 1 is still there after the swap: %v", ix)
	}
	for id, d := range et.readIndex(t, index) {
		if _, ok := d["actors"]; ok {
			t.Fatalf("film %s still has actors after the relation was removed", id)
		}
	}
}
