//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
)

var esURL = envOr("REPLICATOR_ES_URL", "http://127.0.0.1:19200")

// esTarget is one test's Elasticsearch target: its own index prefix and state index, so
// tests (and other users of the node) do not see each other's documents.
type esTarget struct {
	es     *elasticsearch.Client
	prefix string // index name prefix of the replicated tables
	state  string // state index, also under prefix
}

// newESTarget connects to the test node and removes what an earlier run of the test left.
func newESTarget(t *testing.T, name string) *esTarget {
	t.Helper()
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: []string{esURL},
		Transport: &http.Transport{ResponseHeaderTimeout: 60 * time.Second},
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	res, err := es.Info(es.Info.WithContext(ctx))
	cancel()
	if err != nil {
		unavailable(t, "Elasticsearch at "+esURL, err)
	}
	res.Body.Close()
	et := &esTarget{es: es, prefix: "it-" + name + ".", state: "it-" + name + ".replicator-state"}
	et.cleanup(t)
	return et
}

// cleanup deletes the test's indexes by name (the node refuses wildcard deletes).
func (et *esTarget) cleanup(t *testing.T) {
	var found []struct {
		Index string `json:"index"`
	}
	esOK(t, et.es, esapi.CatIndicesRequest{Index: []string{et.prefix + "*"}, Format: "json", ExpandWildcards: "all"}, &found)
	for _, ix := range found {
		code, body := esDo(t, et.es, esapi.IndicesDeleteRequest{Index: []string{ix.Index}})
		if code != 200 && code != 404 {
			t.Fatalf("delete %s: %d %s", ix.Index, code, body)
		}
	}
}

// index is the index a source table is replicated to.
func (et *esTarget) index(db, table string) string {
	return strings.ToLower(et.prefix + db + "." + table)
}

// config renders a configuration replicating db.* into this target; extra is appended.
func (et *esTarget) config(db, extra string) string {
	return fmt.Sprintf(`[source]
host = %q
port = %s
user = "replicator"
password = %q
server_id = 4272
[source.tls]
mode = "disabled"

[target]
type = "elasticsearch"
[target.elasticsearch]
addresses = [%q]

[state]
index = %q

[log]
level = "debug"
format = "json"

[[tables]]
source = "%s.*"
target = "%s{db}.{table}"
%s
`, mysqlHost, mysqlPort, mysqlReplPass, esURL, et.state, db, et.prefix, extra)
}

// checkpoint reads the stored checkpoint document.
func (et *esTarget) checkpoint(t *testing.T) (phase, gtid string, found bool) {
	t.Helper()
	code, body := esDo(t, et.es, esapi.GetRequest{Index: et.state, DocumentID: "checkpoint-default"})
	if code == 404 || code == 503 { // 503: the state index is being created
		return "", "", false
	}
	var doc struct {
		Source struct {
			Phase string `json:"phase"`
			GTID  string `json:"gtid"`
		} `json:"_source"`
	}
	if code != 200 || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("read checkpoint: %d %s", code, body)
	}
	return doc.Source.Phase, doc.Source.GTID, true
}

// waitCaughtUp waits until the streaming checkpoint covers the source's position.
func (et *esTarget) waitCaughtUp(t *testing.T, my *client.Conn, p *proc, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	want := sourceGTID(t, my)
	var got string
	for time.Since(start) < timeout {
		if p != nil && p.exited() {
			t.Fatalf("replicator exited (%v) before catching up to %s\n%s", p.err, want, tail(p.output(), 40))
		}
		phase, gtid, found := et.checkpoint(t)
		got = gtid
		if found && phase == "streaming" && gtidCovers(gtid, want) {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := ""
	if p != nil {
		out = tail(p.output(), 40)
	}
	t.Fatalf("checkpoint %q did not reach source %q within %s\n%s", got, want, timeout, out)
	return 0
}

// readIndex reads every document of an index (after a refresh), by _id.
func (et *esTarget) readIndex(t *testing.T, index string) map[string]map[string]any {
	t.Helper()
	esOK(t, et.es, esapi.IndicesRefreshRequest{Index: []string{index}}, nil)
	docs := map[string]map[string]any{}
	type page struct {
		ScrollID string `json:"_scroll_id"`
		Hits     struct {
			Hits []struct {
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	size := 5000
	code, body := esDo(t, et.es, esapi.SearchRequest{Index: []string{index}, Scroll: time.Minute, Size: &size, Body: strings.NewReader(`{"sort":["_doc"]}`)})
	for {
		if code != 200 {
			t.Fatalf("read %s: %d %s", index, code, body)
		}
		var pg page
		if err := json.Unmarshal(body, &pg); err != nil {
			t.Fatal(err)
		}
		if len(pg.Hits.Hits) == 0 {
			esDo(t, et.es, esapi.ClearScrollRequest{ScrollID: []string{pg.ScrollID}})
			return docs
		}
		for _, h := range pg.Hits.Hits {
			dec := json.NewDecoder(bytes.NewReader(h.Source))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("%s/%s: %v", index, h.ID, err)
			}
			docs[h.ID] = m
		}
		code, body = esDo(t, et.es, esapi.ScrollRequest{ScrollID: pg.ScrollID, Scroll: time.Minute})
	}
}

func (et *esTarget) count(t *testing.T, index string) int {
	t.Helper()
	esOK(t, et.es, esapi.IndicesRefreshRequest{Index: []string{index}}, nil)
	return esCount(t, et.es, index, "")
}

// esColumn is what the comparison needs of a source column.
type esColumn struct {
	name, dataType, columnType string
	key                        bool
}

func esSourceColumns(t *testing.T, my *client.Conn, db, table string) []esColumn {
	t.Helper()
	res, err := my.Execute(`SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLUMN_KEY = 'PRI' FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, db, table)
	if err != nil {
		t.Fatal(err)
	}
	var out []esColumn
	for i := range res.Values {
		var c esColumn
		c.name, _ = res.GetString(i, 0)
		c.dataType, _ = res.GetString(i, 1)
		c.columnType, _ = res.GetString(i, 2)
		k, _ := res.GetInt(i, 3)
		c.key = k == 1
		out = append(out, c)
	}
	return out
}

// esSourceRows reads a source table as MySQL prints it (UTC session), keyed by the
// document _id the README's id rule gives.
func esSourceRows(t *testing.T, my *client.Conn, db, table string, cols []esColumn) map[string][]*string {
	t.Helper()
	if _, err := my.Execute("SET time_zone = '+00:00'"); err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = "`" + c.name + "`"
	}
	rows := map[string][]*string{}
	var res mysql.Result
	err := my.ExecuteSelectStreaming(fmt.Sprintf("SELECT %s FROM `%s`.`%s`", strings.Join(names, ", "), db, table), &res,
		func(vals []mysql.FieldValue) error {
			row := make([]*string, len(vals))
			for i, v := range vals {
				var s string
				switch v.Type {
				case mysql.FieldValueTypeNull:
					continue
				case mysql.FieldValueTypeSigned:
					s = strconv.FormatInt(v.AsInt64(), 10)
				case mysql.FieldValueTypeUnsigned:
					s = strconv.FormatUint(v.AsUint64(), 10)
				case mysql.FieldValueTypeFloat:
					s = strconv.FormatFloat(v.AsFloat64(), 'g', -1, 64)
				default:
					s = string(v.AsString())
				}
				row[i] = &s
			}
			rows[esExpectedID(cols, row)] = row
			return nil
		}, nil)
	if err != nil {
		t.Fatalf("read source %s.%s: %v", db, table, err)
	}
	return rows
}

// esExpectedID is the README's _id rule: a single key's text, or a JSON array of the key
// texts (binary keys in base64).
func esExpectedID(cols []esColumn, row []*string) string {
	var parts []string
	for i, c := range cols {
		if c.key {
			v := *row[i]
			if esBinaryColumn(c.dataType) {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			parts = append(parts, v)
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(parts)
	return strings.TrimSuffix(b.String(), "\n")
}

func esBinaryColumn(dt string) bool {
	switch dt {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point", "linestring", "polygon",
		"multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return true
	}
	return false
}

// esValueEqual compares a source value (MySQL's text) with a _source value under the
// README's mapping rule; it returns a description of the difference, or "".
func esValueEqual(c esColumn, src *string, got any) string {
	if src == nil {
		if got != nil {
			return fmt.Sprintf("source NULL, document %v", got)
		}
		return ""
	}
	s := *src
	diff := func() string { return fmt.Sprintf("source %q, document %#v", s, got) }
	switch c.dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year":
		// BIGINT UNSIGNED is a string on clusters without unsigned_long.
		var text string
		switch g := got.(type) {
		case json.Number:
			text = g.String()
		case string:
			text = g
		default:
			return diff()
		}
		want, ok1 := new(big.Int).SetString(s, 10)
		have, ok2 := new(big.Int).SetString(text, 10)
		if !ok1 || !ok2 || want.Cmp(have) != 0 {
			return diff()
		}
	case "float", "double":
		g, ok := got.(json.Number)
		if !ok {
			return diff()
		}
		bits := 64
		if c.dataType == "float" {
			bits = 32
		}
		a, err1 := strconv.ParseFloat(s, bits)
		b, err2 := strconv.ParseFloat(g.String(), bits)
		if err1 != nil || err2 != nil || a != b {
			return diff()
		}
	case "bit":
		var n uint64
		for _, b := range []byte(s) {
			n = n<<8 | uint64(b)
		}
		if g, ok := got.(json.Number); !ok || g.String() != strconv.FormatUint(n, 10) {
			return diff()
		}
	case "set":
		want := []any{}
		if s != "" {
			for _, m := range strings.Split(s, ",") {
				want = append(want, m)
			}
		}
		if !reflect.DeepEqual(want, got) {
			return diff()
		}
	case "json":
		var want any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if dec.Decode(&want) != nil || !reflect.DeepEqual(want, got) {
			return diff()
		}
	default:
		want := s
		if esBinaryColumn(c.dataType) {
			want = base64.StdEncoding.EncodeToString([]byte(s))
		}
		if g, ok := got.(string); !ok || g != want {
			return diff()
		}
	}
	return ""
}

// assertIndexEqual compares a source table with its index: the same _ids, and every field
// of every document equal to the source value under the mapping rule. It returns the row
// count.
func (et *esTarget) assertIndexEqual(t *testing.T, my *client.Conn, db, table string) int {
	t.Helper()
	cols := esSourceColumns(t, my, db, table)
	src := esSourceRows(t, my, db, table, cols)
	index := et.index(db, table)
	docs := et.readIndex(t, index)
	if n := et.count(t, index); n != len(src) {
		t.Errorf("%s: _count %d, source rows %d", index, n, len(src))
	}
	ids := make([]string, 0, len(src))
	for id := range src {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	bad := 0
	for _, id := range ids {
		doc, ok := docs[id]
		if !ok {
			t.Errorf("%s: _id %s missing", index, id)
			bad++
		} else {
			if len(doc) != len(cols) {
				t.Errorf("%s/%s: %d fields, want %d: %v", index, id, len(doc), len(cols), doc)
				bad++
			}
			for i, c := range cols {
				if d := esValueEqual(c, src[id][i], doc[c.name]); d != "" {
					t.Errorf("%s/%s field %s (%s): %s", index, id, c.name, c.columnType, d)
					bad++
				}
			}
		}
		if bad > 10 {
			t.Fatalf("%s: too many differences", index)
		}
	}
	for id := range docs {
		if _, ok := src[id]; !ok {
			t.Errorf("%s: extra document _id %s", index, id)
			if bad++; bad > 10 {
				t.Fatalf("%s: too many differences", index)
			}
		}
	}
	return len(src)
}

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
