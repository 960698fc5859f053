//go:build integration

package integration

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"
)

// mysqlInt runs a query returning one integer.
func mysqlInt(t *testing.T, my *client.Conn, q string) int64 {
	t.Helper()
	r, err := my.Execute(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	n, err := r.GetInt(0, 0)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// mysqlColumn runs a query and returns its first column as text, in row order.
func mysqlColumn(t *testing.T, my *client.Conn, q string) []string {
	t.Helper()
	r, err := my.Execute(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var out []string
	for i := 0; i < r.RowNumber(); i++ {
		s, _ := r.GetString(i, 0)
		out = append(out, s)
	}
	return out
}

// esSortedField searches index with sort and returns field of the first size hits'
// _source as text, in hit order.
func esSortedField(t *testing.T, es *elasticsearch.Client, index, sort, field string, size int) []string {
	t.Helper()
	var res struct {
		Hits struct {
			Hits []struct {
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	esOK(t, es, esapi.SearchRequest{Index: []string{index}, Body: strings.NewReader(fmt.Sprintf(`{"size":%d,"sort":[%s]}`, size, sort))}, &res)
	var out []string
	for _, h := range res.Hits.Hits {
		out = append(out, fmt.Sprint(h.Source[field]))
	}
	return out
}

// esFieldMappings returns the properties of index's mapping.
func esFieldMappings(t *testing.T, es *elasticsearch.Client, index string) map[string]map[string]any {
	t.Helper()
	var m map[string]struct {
		Mappings struct {
			Properties map[string]map[string]any `json:"properties"`
		} `json:"mappings"`
	}
	esOK(t, es, esapi.IndicesGetMappingRequest{Index: []string{index}}, &m)
	for _, im := range m {
		return im.Mappings.Properties
	}
	t.Fatalf("no mapping for %s", index)
	return nil
}

// jsonText is v as compact JSON.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// assertSakilaSearches: the queries a search team starts with answer as SQL does on Sakila
// (issue "Mappings as ES users expect"): a match on a word of a VARCHAR, exact match on its
// keyword subfield, a DECIMAL sorted and range-filtered as a number, dates queried in the
// stored form, as a day and in ISO 8601.
func assertSakilaSearches(t *testing.T, et *esHarness, my *client.Conn) {
	t.Helper()
	film := et.index("sakila", "film")
	want := mysqlInt(t, my, `SELECT COUNT(*) FROM sakila.film WHERE CONCAT(' ', title, ' ') LIKE '% DINOSAUR %'`)
	if n := esCount(t, et.es, film, `{"match":{"title":"dinosaur"}}`); int64(n) != want || want < 2 {
		t.Errorf("match title dinosaur: %d documents, SQL counts %d", n, want)
	}
	if n := esCount(t, et.es, film, `{"match":{"description":"crocodile"}}`); int64(n) != mysqlInt(t, my, `SELECT COUNT(*) FROM sakila.film WHERE CONCAT(' ', description, ' ') LIKE '% Crocodile %'`) || n == 0 {
		t.Errorf("match description crocodile: %d", n)
	}
	if n := esCount(t, et.es, film, `{"term":{"title.keyword":"ACADEMY DINOSAUR"}}`); n != 1 {
		t.Errorf("term title.keyword ACADEMY DINOSAUR: %d, want 1", n)
	}
	for _, q := range []struct{ es, sql string }{
		{`{"range":{"replacement_cost":{"gte":20}}}`, `replacement_cost >= 20`},
		{`{"range":{"replacement_cost":{"gt":9.99,"lte":19.99}}}`, `replacement_cost > 9.99 AND replacement_cost <= 19.99`},
		{`{"term":{"replacement_cost":"19.99"}}`, `replacement_cost = 19.99`},
		{`{"range":{"rental_rate":{"gte":4}}}`, `rental_rate >= 4`},
		{`{"term":{"rating":"PG-13"}}`, `rating = 'PG-13'`},
	} {
		want := mysqlInt(t, my, "SELECT COUNT(*) FROM sakila.film WHERE "+q.sql)
		if n := esCount(t, et.es, film, q.es); int64(n) != want || want == 0 {
			t.Errorf("%s: %d documents, SQL %s counts %d", q.es, n, q.sql, want)
		}
	}
	for _, dir := range []string{"desc", "asc"} {
		got := esSortedField(t, et.es, film, `{"replacement_cost":"`+dir+`"},{"film_id":"asc"}`, "replacement_cost", 30)
		sql := mysqlColumn(t, my, "SELECT replacement_cost FROM sakila.film ORDER BY replacement_cost "+dir+", film_id LIMIT 30")
		if strings.Join(got, " ") != strings.Join(sql, " ") {
			t.Errorf("sort replacement_cost %s: %v, SQL %v", dir, got, sql)
		}
	}
	rental := et.index("sakila", "rental")
	day := mysqlInt(t, my, `SELECT COUNT(*) FROM sakila.rental WHERE rental_date >= '2005-05-25' AND rental_date < '2005-05-26'`)
	if day == 0 {
		t.Fatal("no Sakila rentals on 2005-05-25")
	}
	for _, r := range []string{
		`{"gte":"2005-05-25","lt":"2005-05-26"}`,
		`{"gte":"2005-05-25 00:00:00","lt":"2005-05-26 00:00:00"}`,
		`{"gte":"2005-05-25T00:00:00Z","lt":"2005-05-26T00:00:00.000Z"}`,
		`{"gte":"2005-05-25T00:00:00","lt":"2005-05-25T23:59:59.999"}`,
	} {
		if n := esCount(t, et.es, rental, `{"range":{"rental_date":`+r+`}}`); int64(n) != day {
			t.Errorf("rental_date range %s: %d documents, SQL counts %d", r, n, day)
		}
	}
}

// TestElasticMappingQueries: the mapping of each kind of column, and the queries it is for,
// on documents of both the snapshot and the stream: match and exact match on strings (and
// field_types turning them around), DECIMAL sorted and range-filtered as numbers with the
// exact text kept in _source (a DECIMAL(20,4) too large for a double to keep apart found by
// its keyword subfield), dates in every form people query with, CHAR codes and BINARY ids by
// term. verify still finds the index equal; the state index is hidden from searches over all
// indexes.
func TestElasticMappingQueries(t *testing.T) {
	my := mysqlRoot(t)
	et := newESHarness(t)
	db := et.DB("it_esmap")
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "CREATE TABLE "+db+`.items (
		id INT PRIMARY KEY,
		title VARCHAR(100) NOT NULL,
		body TEXT,
		country CHAR(2),
		sku VARCHAR(20),
		label CHAR(20),
		kind ENUM('book','film'),
		price DECIMAL(7,2),
		big DECIMAL(20,4),
		released DATE,
		seen DATETIME(3),
		changed TIMESTAMP NULL,
		hash BINARY(4))`)
	rows := []string{
		"(1, 'The Dinosaur Academy', 'A tale of a dinosaur', 'US', 'AB-1', 'Blue Label', 'book', 9.99, 1234567890123456.0001, '2006-02-15', '2006-02-15 04:05:06.789', '2006-02-15 10:00:00', 0x01020304)",
		"(2, 'Academy of Dinosaurs', 'Dinosaurs everywhere', 'GB', 'AB-2', 'Red Label', 'film', 20.00, 1234567890123456.0002, '2006-02-14', '2006-02-14 23:59:59.999', '2006-02-14 10:00:00', 0x05060708)",
		"(3, 'Quiet Garden', NULL, 'US', 'CD-3', NULL, 'book', 100.50, -5.5, '2020-01-01', '2020-01-01 00:00:00.000', NULL, NULL)",
	}
	mustExec(t, my, "INSERT INTO "+db+".items VALUES "+strings.Join(rows[:2], ", "))
	cfg := writeConfig(t, et.Config(db, `field_types = { sku = "keyword", label = "text" }
`))
	p := startCLI(t, "run", "-c", cfg)
	et.WaitCaughtUp(t, my, p, time.Minute)
	mustExec(t, my, "INSERT INTO "+db+".items VALUES "+rows[2]) // streamed
	et.WaitCaughtUp(t, my, p, time.Minute)
	index := et.index(db, "items")
	esOK(t, et.es, esapi.IndicesRefreshRequest{Index: []string{index}}, nil) // the streamed row searchable
	props := esFieldMappings(t, et.es, index)
	text := `{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"}`
	for f, want := range map[string]string{
		"title": text, "body": text, "label": text,
		"country": `{"type":"keyword"}`, "sku": `{"type":"keyword"}`, "kind": `{"type":"keyword"}`,
		"price": `{"type":"double"}`, "big": `{"fields":{"keyword":{"type":"keyword"}},"type":"double"}`,
		"released": `{"format":"yyyy-MM-dd||strict_date_optional_time||epoch_millis","ignore_malformed":true,"type":"date"}`,
		"hash":     `{"type":"keyword"}`,
	} {
		if got := jsonText(props[f]); got != want {
			t.Errorf("mapping of %s: %s, want %s", f, got, want)
		}
	}

	for _, q := range []struct {
		query string
		want  int
	}{
		{`{"match":{"title":"dinosaur"}}`, 1}, // the standard analyzer does not stem: "Dinosaurs" is another word
		{`{"match":{"title":"academy"}}`, 2},
		{`{"match":{"body":"dinosaurs"}}`, 1},
		{`{"match":{"label":"label"}}`, 2},
		{`{"term":{"title.keyword":"Quiet Garden"}}`, 1},
		{`{"term":{"label.keyword":"Red Label"}}`, 1},
		{`{"term":{"country":"US"}}`, 2},
		{`{"term":{"sku":"AB-1"}}`, 1},
		{`{"match":{"sku":"AB"}}`, 0}, // keyword by field_types: exact values only
		{`{"term":{"kind":"film"}}`, 1},
		{`{"range":{"price":{"gte":20}}}`, 2},
		{`{"range":{"price":{"gt":9.99,"lt":100.5}}}`, 1},
		{`{"term":{"price":"9.99"}}`, 1},
		{`{"term":{"big.keyword":"1234567890123456.0002"}}`, 1},
		{`{"range":{"big":{"lt":0}}}`, 1},
		{`{"term":{"released":"2006-02-15"}}`, 1},
		{`{"range":{"released":{"gte":"2006-02-14T00:00:00Z","lte":"2006-02-15"}}}`, 2},
		{`{"range":{"seen":{"gte":"2006-02-15"}}}`, 2},
		{`{"range":{"seen":{"gte":"2006-02-14 23:59:59.999","lt":"2006-02-15T04:05:06.789Z"}}}`, 1},
		{`{"range":{"seen":{"gte":"2006-02-14 23:59:59"}}}`, 3},
		{`{"range":{"changed":{"gte":"2006-02-15T09:00:00+00:00"}}}`, 1},
		{`{"term":{"hash":"` + base64.StdEncoding.EncodeToString([]byte{5, 6, 7, 8}) + `"}}`, 1},
	} {
		if n := esCount(t, et.es, index, q.query); n != q.want {
			t.Errorf("%s: %d documents, want %d", q.query, n, q.want)
		}
	}
	if got := esSortedField(t, et.es, index, `{"price":"desc"}`, "price", 3); strings.Join(got, " ") != "100.50 20.00 9.99" {
		t.Errorf("sort price desc: %v (the _source keeps the exact text)", got)
	}
	if got := esSortedField(t, et.es, index, `{"big":"asc"}`, "big", 3); strings.Join(got, " ") != "-5.5000 1234567890123456.0001 1234567890123456.0002" {
		t.Errorf("sort big asc: %v", got)
	}
	if got := esSortedField(t, et.es, index, `{"title.keyword":"asc"}`, "title", 3); strings.Join(got, "|") != "Academy of Dinosaurs|Quiet Garden|The Dinosaur Academy" {
		t.Errorf("sort title.keyword: %v", got)
	}

	// The state index is hidden: a search over all indexes does not see its documents,
	// one naming it does.
	state := et.state
	// The state's documents are written without a refresh (they are read by id): refresh
	// before searching them.
	esOK(t, et.es, esapi.IndicesRefreshRequest{Index: []string{state}}, nil)
	if n := esCount(t, et.es, state, `{"match_all":{}}`); n == 0 {
		t.Fatalf("state index %s holds no documents", state)
	}
	var all struct {
		Aggs struct {
			Index struct {
				Buckets []struct {
					Key string `json:"key"`
				} `json:"buckets"`
			} `json:"index"`
		} `json:"aggregations"`
	}
	esOK(t, et.es, esapi.SearchRequest{Body: strings.NewReader(`{"size":0,"aggs":{"index":{"terms":{"field":"_index","size":10000}}}}`)}, &all)
	seenItems := false
	for _, b := range all.Aggs.Index.Buckets {
		if b.Key == state {
			t.Errorf("GET /_search returns documents of the state index %s", state)
		}
		seenItems = seenItems || strings.HasPrefix(b.Key, index+"-g") // the concrete index behind the alias
	}
	if !seenItems {
		t.Errorf("GET /_search does not find %s either: %+v", index, all.Aggs.Index.Buckets)
	}
	p.stop(t)
	if res := runCLI(t, time.Minute, "verify", "-c", cfg); res.code != 0 {
		t.Errorf("verify: exit %d\n%s\n%s", res.code, res.stdout, tail(res.stderr, 5))
	}
}

// esIndexSettings reads the flat settings of an index.
func esIndexSettings(t *testing.T, es *elasticsearch.Client, index string) map[string]string {
	t.Helper()
	flat := true
	var res map[string]struct {
		Settings map[string]string `json:"settings"`
	}
	esOK(t, es, esapi.IndicesGetSettingsRequest{Index: []string{index}, FlatSettings: &flat}, &res)
	for _, v := range res {
		return v.Settings
	}
	t.Fatalf("no settings for %s", index)
	return nil
}

// TestElasticIndexSettingsRestored (issue 23 defect 8): after the snapshot every index has
// the settings its index template gave it (composable or legacy), not Elasticsearch's
// defaults, and an index no template speaks for has auto_expand_replicas 0-1: on this
// single node no replica, so the index is green, not yellow with an unassignable replica.
func TestElasticIndexSettingsRestored(t *testing.T) {
	my := mysqlRoot(t)
	et := newESHarness(t)
	db := et.DB("it_essettings")
	freshMySQLDatabase(t, my, db)
	for _, tbl := range []string{"tpl", "legacy", "plain"} {
		mustExec(t, my, "CREATE TABLE "+db+"."+tbl+" (id INT PRIMARY KEY, v VARCHAR(20))",
			"INSERT INTO "+db+"."+tbl+" VALUES (1, 'a'), (2, 'b')")
	}
	composable, legacy := "it-essettings-composable", "it-essettings-legacy"
	esOK(t, et.es, esapi.IndicesPutIndexTemplateRequest{Name: composable, Body: strings.NewReader(
		`{"index_patterns":["` + et.index(db, "tpl") + `-g*"],"priority":417,"template":{"settings":{"number_of_replicas":0,"refresh_interval":"5s"}}}`)}, nil)
	esOK(t, et.es, esapi.IndicesPutTemplateRequest{Name: legacy, Body: strings.NewReader(
		`{"index_patterns":["` + et.prefix + db + `.leg*"],"settings":{"number_of_replicas":0,"refresh_interval":"3s"}}`)}, nil)
	t.Cleanup(func() {
		esDo(t, et.es, esapi.IndicesDeleteIndexTemplateRequest{Name: composable})
		esDo(t, et.es, esapi.IndicesDeleteTemplateRequest{Name: legacy})
	})
	res := runCLI(t, 2*time.Minute, "snapshot", "-c", writeConfig(t, et.Config(db, "")))
	if res.code != 0 {
		t.Fatalf("snapshot: exit %d\n%s", res.code, tail(res.stderr, 20))
	}
	for tbl, want := range map[string]map[string]string{
		"tpl":    {"index.number_of_replicas": "0", "index.refresh_interval": "5s", "index.auto_expand_replicas": ""},
		"legacy": {"index.number_of_replicas": "0", "index.refresh_interval": "3s", "index.auto_expand_replicas": ""},
		"plain":  {"index.number_of_replicas": "0", "index.refresh_interval": "", "index.auto_expand_replicas": "0-1"},
	} {
		index := et.index(db, tbl)
		got := esIndexSettings(t, et.es, index)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %q after the snapshot, want %q", index, k, got[k], v)
			}
		}
		var health struct {
			Status string `json:"status"`
		}
		esOK(t, et.es, esapi.ClusterHealthRequest{Index: []string{index}, WaitForStatus: "green", Timeout: 10 * time.Second}, &health)
		if health.Status != "green" {
			t.Errorf("%s: health %s, want green", index, health.Status)
		}
		if n := et.count(t, index); n != 2 {
			t.Errorf("%s: %d documents, want 2", index, n)
		}
	}
}

// TestElasticAddColumnDefault (issue 23 defect 9): after ADD COLUMN ... DEFAULT <constant>
// the documents of rows the table had carry the default, as those rows do at the source,
// while a row written later with NULL keeps its null; verify finds the index equal without
// any row being written again. A column added in the same batch as rows written before it
// (one flush) is filled too.
func TestElasticAddColumnDefault(t *testing.T) {
	my := mysqlRoot(t)
	et := newESHarness(t)
	db := et.DB("it_esdefault")
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "CREATE TABLE "+db+".t (id INT PRIMARY KEY, v VARCHAR(10))")
	for i := 1; i <= 2500; i++ { // more than one page of the fill's scroll
		if i%500 == 1 {
			var vals []string
			for j := i; j < i+500; j++ {
				vals = append(vals, fmt.Sprintf("(%d, 'v%d')", j, j))
			}
			mustExec(t, my, "INSERT INTO "+db+".t VALUES "+strings.Join(vals, ","))
		}
	}
	cfg := writeConfig(t, et.Config(db, ""))
	p := startCLI(t, "run", "-c", cfg)
	et.WaitCaughtUp(t, my, p, time.Minute)
	mustExec(t, my, "USE "+db,
		"INSERT INTO t VALUES (2501, 'before')",
		"ALTER TABLE t ADD COLUMN note VARCHAR(10) DEFAULT 'x', ADD COLUMN qty INT NOT NULL DEFAULT 7, ADD COLUMN price DECIMAL(5,2) DEFAULT 1.5, ADD COLUMN gone INT NULL DEFAULT NULL",
		"INSERT INTO t (id, v, note) VALUES (2502, 'after', NULL)",
		"INSERT INTO t (id, v) VALUES (2503, 'after2')",
		"UPDATE t SET note = 'y' WHERE id = 2")
	et.WaitCaughtUp(t, my, p, time.Minute)
	docs := et.readIndex(t, et.index(db, "t"))
	if len(docs) != 2503 {
		t.Fatalf("%d documents, want 2503", len(docs))
	}
	for id, want := range map[string]string{
		"1":    `{"gone":null,"id":1,"note":"x","price":"1.50","qty":7,"v":"v1"}`, // snapshot document
		"2":    `{"gone":null,"id":2,"note":"y","price":"1.50","qty":7,"v":"v2"}`,
		"2500": `{"gone":null,"id":2500,"note":"x","price":"1.50","qty":7,"v":"v2500"}`,
		"2501": `{"gone":null,"id":2501,"note":"x","price":"1.50","qty":7,"v":"before"}`, // streamed before the ALTER
		"2502": `{"gone":null,"id":2502,"note":null,"price":"1.50","qty":7,"v":"after"}`,
		"2503": `{"gone":null,"id":2503,"note":"x","price":"1.50","qty":7,"v":"after2"}`,
	} {
		doc := docs[id]
		if _, ok := doc["gone"]; !ok && id != "2502" && id != "2503" && id != "2" {
			doc["gone"] = nil // a NULL default needs no fill: a missing field reads as null
		}
		if got := jsonText(doc); got != want {
			t.Errorf("document %s: %s, want %s", id, got, want)
		}
	}
	if n := esCount(t, et.es, et.index(db, "t"), `{"term":{"qty":7}}`); n != 2503 {
		t.Errorf("term qty 7: %d documents, want 2503", n)
	}
	p.stop(t)
	res := runCLI(t, time.Minute, "verify", "-c", cfg)
	if res.code != 0 || !strings.Contains(res.stdout, "equal (2503 rows") {
		t.Errorf("verify: exit %d\n%s\n%s", res.code, res.stdout, tail(res.stderr, 5))
	}
	// A table dropped right after the ADD COLUMN (one catch-up batch) gets no fill: its
	// index stays deleted, not created again for the documents it no longer has.
	mustExec(t, my, "USE "+db, "CREATE TABLE g (id INT PRIMARY KEY)", "INSERT INTO g VALUES (1)",
		"ALTER TABLE g ADD COLUMN a VARCHAR(3) DEFAULT 'x'", "DROP TABLE g")
	p = startCLI(t, "run", "-c", cfg)
	et.WaitCaughtUp(t, my, p, time.Minute)
	p.stop(t)
	if code, body := esDo(t, et.es, esapi.IndicesExistsRequest{Index: []string{et.index(db, "g")}}); code != 404 {
		t.Errorf("index of the dropped table g: HTTP %d %s, want 404\n%s", code, body, tail(p.output(), 10))
	}
}

// TestElasticStatusLastError (issue 23 defect 7): when run stops on an error Elasticsearch
// gave (a document its index refuses), 'replicator status' shows it as the last error, in
// text and JSON, with the checkpoint it stopped at.
func TestElasticStatusLastError(t *testing.T) {
	my := mysqlRoot(t)
	et := newESHarness(t)
	db := et.DB("it_eslasterr")
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "CREATE TABLE "+db+".t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO "+db+".t VALUES (1, 'abc')")
	// An empty index of the user's whose field v is a number: the snapshot's document is refused.
	esOK(t, et.es, esapi.IndicesCreateRequest{Index: et.index(db, "t"), Body: strings.NewReader(`{"mappings":{"properties":{"v":{"type":"long"}}}}`)}, nil)
	cfg := writeConfig(t, et.Config(db, ""))
	res := runCLI(t, 2*time.Minute, "run", "-c", cfg)
	if res.code == 0 || !strings.Contains(res.stderr, "document_parsing_exception") {
		t.Fatalf("run: exit %d, want a refusal naming document_parsing_exception\n%s", res.code, tail(res.stderr, 10))
	}
	st := runCLI(t, time.Minute, "status", "-c", cfg)
	if st.code != 0 || !strings.Contains(st.stdout, "last error") || !strings.Contains(st.stdout, "document_parsing_exception") ||
		!strings.Contains(st.stdout, "phase") {
		t.Errorf("status: exit %d\n%s\n%s", st.code, st.stdout, tail(st.stderr, 5))
	}
	st = runCLI(t, time.Minute, "status", "-c", cfg, "--json")
	var rep struct {
		State struct {
			Phase       string     `json:"phase"`
			LastError   string     `json:"last_error"`
			LastErrorAt *time.Time `json:"last_error_at"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(st.stdout), &rep); err != nil {
		t.Fatalf("status --json: %v\n%s", err, st.stdout)
	}
	if rep.State.Phase != "snapshot" || !strings.Contains(rep.State.LastError, "document_parsing_exception") || !strings.Contains(rep.State.LastError, "field [v]") ||
		rep.State.LastErrorAt == nil || time.Since(*rep.State.LastErrorAt) > 5*time.Minute {
		t.Errorf("status --json state: %+v\n%s", rep.State, st.stdout)
	}
}
