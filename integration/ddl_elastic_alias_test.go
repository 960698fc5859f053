//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/replicator/replicator/applier/elastic"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// esAliasTarget reads what an index name stands for: the concrete indexes behind the
// alias, and whether the name is a concrete index itself.
func (et *esTarget) aliasTarget(t *testing.T, name string) (indices []string, concrete bool) {
	t.Helper()
	code, body := esDo(t, et.es, esapi.IndicesResolveIndexRequest{Name: []string{name}, ExpandWildcards: "all"})
	if code == 404 {
		return nil, false
	}
	var res struct {
		Indices []struct {
			Name string `json:"name"`
		} `json:"indices"`
		Aliases []struct {
			Name    string   `json:"name"`
			Indices []string `json:"indices"`
		} `json:"aliases"`
	}
	if code != 200 || json.Unmarshal(body, &res) != nil {
		t.Fatalf("resolve %s: %d %s", name, code, body)
	}
	for _, a := range res.Aliases {
		if a.Name == name {
			return a.Indices, false
		}
	}
	for _, ix := range res.Indices {
		if ix.Name == name {
			return []string{name}, true
		}
	}
	return nil, false
}

// assertGenerationsAliased fails for every generation under the target's prefix that no
// alias points to but its own write aliases and no online copy in progress fills: what an
// interrupted TRUNCATE or swap left.
func (et *esTarget) assertGenerationsAliased(t *testing.T) {
	t.Helper()
	filling := map[string]bool{}
	if code, body := esDo(t, et.es, esapi.GetRequest{Index: et.state, DocumentID: "copies-default"}); code == 200 {
		var doc struct {
			Source struct {
				Copies []struct {
					State string `json:"state"`
					Index string `json:"index"`
				} `json:"copies"`
			} `json:"_source"`
		}
		if json.Unmarshal(body, &doc) != nil {
			t.Fatalf("read the online copies: %s", body)
		}
		for _, c := range doc.Source.Copies {
			if c.State == "copying" {
				filling[c.Index] = true
			}
		}
	}
	code, body := esDo(t, et.es, esapi.IndicesResolveIndexRequest{Name: []string{et.prefix + "*"}, ExpandWildcards: "all"})
	if code == 404 {
		return
	}
	var res struct {
		Indices []struct {
			Name    string   `json:"name"`
			Aliases []string `json:"aliases"`
		} `json:"indices"`
	}
	if code != 200 || json.Unmarshal(body, &res) != nil {
		t.Fatalf("resolve %s*: %d %s", et.prefix, code, body)
	}
	for _, ix := range res.Indices {
		if !generationName.MatchString(ix.Name) || filling[ix.Name] {
			continue
		}
		aliased := false
		for _, a := range ix.Aliases {
			aliased = aliased || !strings.HasPrefix(a, ix.Name+".w-")
		}
		if !aliased {
			t.Errorf("index generation %s has no alias (aliases %v): left behind", ix.Name, ix.Aliases)
		}
	}
}

var generationName = regexp.MustCompile(`-g[0-9]{6,}$`)

// TestElasticTableDDL: TRUNCATE, RENAME (also a swap through a temporary name, and ALTER
// TABLE ... RENAME), DROP TABLE and CREATE OR REPLACE TABLE change the indexes while a
// workload writes to the truncated table; every index ends equal to its table, row by row,
// every name is an alias of a generation, and verify agrees.
func TestElasticTableDDL(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-tddl")
	db := "it_es_tddl"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable,
		"CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20))", "CREATE TABLE b (id INT PRIMARY KEY, v VARCHAR(20))",
		"CREATE TABLE c (id INT PRIMARY KEY, v VARCHAR(20))", "CREATE TABLE gone (id INT PRIMARY KEY)",
		"CREATE TABLE r (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO a VALUES (1, 'a1'), (2, 'a2')", "INSERT INTO b VALUES (1, 'b1')", "INSERT INTO c VALUES (1, 'c1')",
		"INSERT INTO gone VALUES (1), (2)", "INSERT INTO r VALUES (1, 'r1'), (2, 'r2')")
	seed(t, my, db, 3000)
	cfg := writeConfig(t, et.config(db, "[apply]\nflush_interval = \"50ms\"\n"))
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	if ix, concrete := et.aliasTarget(t, et.index(db, "wl")); concrete || len(ix) != 1 || ix[0] != et.index(db, "wl")+"-g000001" {
		t.Fatalf("index name %s stands for %v (concrete %v), want an alias of generation 1", et.index(db, "wl"), ix, concrete)
	}

	stop := make(chan struct{})
	wait := workload(t, db, 2, stop)
	time.Sleep(time.Second)
	mustExec(t, my, "USE "+db, "TRUNCATE TABLE wl")
	time.Sleep(time.Second)
	mustExec(t, my, "USE "+db,
		"INSERT INTO a VALUES (3, 'a3')",
		"RENAME TABLE a TO a2",
		"INSERT INTO a2 VALUES (4, 'a4')", "UPDATE a2 SET v = 'a1+' WHERE id = 1",
		// A swap through a temporary name that no rule needs.
		"RENAME TABLE b TO tmp_swap, c TO b, tmp_swap TO c",
		"UPDATE b SET v = 'was c' WHERE id = 1", "INSERT INTO c VALUES (2, 'c2 was b')",
		"ALTER TABLE r RENAME TO r2", "INSERT INTO r2 VALUES (3, 'r3')",
		"DROP TABLE gone",
		"CREATE OR REPLACE TABLE b (id INT PRIMARY KEY, w INT)", "INSERT INTO b VALUES (7, 70)")
	time.Sleep(500 * time.Millisecond)
	mustExec(t, my, "USE "+db, "TRUNCATE TABLE wl")
	time.Sleep(time.Second)
	close(stop)
	t.Logf("workload: %d statements", wait())
	et.waitCaughtUp(t, my, p, 2*time.Minute)

	for _, tb := range []string{"wl", "a2", "b", "c", "r2"} {
		et.assertIndexEqual(t, my, db, tb)
	}
	for _, tb := range []string{"a", "r", "gone", "tmp_swap"} {
		if ix, _ := et.aliasTarget(t, et.index(db, tb)); len(ix) > 0 {
			t.Errorf("index %s of a table gone from the source still stands for %v", et.index(db, tb), ix)
		}
	}
	if ix, concrete := et.aliasTarget(t, et.index(db, "wl")); concrete || len(ix) != 1 || ix[0] != et.index(db, "wl")+"-g000003" {
		t.Errorf("after two truncates %s stands for %v (concrete %v), want generation 3 alone", et.index(db, "wl"), ix, concrete)
	}
	// The truncated table's old generations are gone.
	var cat []struct {
		Index string `json:"index"`
	}
	esOK(t, et.es, esapi.CatIndicesRequest{Index: []string{et.index(db, "wl") + "-g*"}, Format: "json"}, &cat)
	if len(cat) != 1 {
		t.Errorf("generations of %s: %v, want one", et.index(db, "wl"), cat)
	}
	// A kill and restart replays nothing wrong: the indexes stay equal.
	p.kill()
	mustExec(t, my, "USE "+db, "INSERT INTO c VALUES (3, 'after restart')", "TRUNCATE TABLE a2", "INSERT INTO a2 VALUES (9, 'a9')")
	p = startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	for _, tb := range []string{"wl", "a2", "b", "c", "r2"} {
		et.assertIndexEqual(t, my, db, tb)
	}
	p.stop(t)
	assertVerifyEqual(t, cfg)
}

// TestElasticTableDDLRefused: a table renamed out of the selected set stops the stream
// with the reason (as on PostgreSQL), and [ddl] on_error = "skip" goes on.
func TestElasticTableDDLRefused(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-tddl-refused")
	db := "it_es_tddl_refused"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE t (id INT PRIMARY KEY)", "CREATE TABLE keep (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	cfg := writeConfig(t, strings.Replace(et.config(db, ""), `source = "`+db+`.*"`, `source = "`+db+`.[tk]*"`, 1))
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, time.Minute)
	mustExec(t, my, "USE "+db, "RENAME TABLE t TO other")
	deadline := time.Now().Add(time.Minute)
	for !p.exited() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !p.exited() || !strings.Contains(p.output(), "would leave the replicated set") {
		t.Fatalf("run did not stop naming the rename out of the selection:\n%s", tail(p.output(), 20))
	}

	// Two tables in one index by their rules: a TRUNCATE of one cannot empty the index.
	db2 := "it_es_tddl_shared"
	freshMySQLDatabase(t, my, db2)
	mustExec(t, my, "USE "+db2, "CREATE TABLE s1 (id INT PRIMARY KEY)", "CREATE TABLE s2 (id INT PRIMARY KEY)", "INSERT INTO s1 VALUES (1)", "INSERT INTO s2 VALUES (2)")
	text := strings.Replace(et.config(db2, fmt.Sprintf("[[tables]]\nsource = %q\ntarget = %q\n", db2+".s2", et.prefix+"shared")),
		`source = "`+db2+`.*"`, `source = "`+db2+`.s1"`, 1)
	text = strings.Replace(text, `target = "`+et.prefix+`{db}.{table}"`, `target = "`+et.prefix+`shared"`, 1)
	text = strings.Replace(text, et.state, et.prefix+"shared-state", 1)
	p = startCLI(t, "run", "-c", writeConfig(t, text))
	(&esTarget{url: et.url, es: et.es, prefix: et.prefix, state: et.prefix + "shared-state"}).waitCaughtUp(t, my, p, time.Minute)
	if n := et.count(t, et.prefix+"shared"); n != 2 {
		t.Fatalf("shared index holds %d documents, want 2", n)
	}
	mustExec(t, my, "TRUNCATE TABLE "+db2+".s1")
	deadline = time.Now().Add(time.Minute)
	for !p.exited() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !p.exited() || !strings.Contains(p.output(), "is shared with other tables") {
		t.Fatalf("run did not stop naming the shared index:\n%s", tail(p.output(), 20))
	}
	if n := et.count(t, et.prefix+"shared"); n != 2 {
		t.Errorf("shared index holds %d documents after the refused TRUNCATE, want 2", n)
	}
}

// TestElasticNamesAndIDs: tables whose names need the naming rule ("café", "order
// items") and keys Elasticsearch cannot take as an _id as they are (empty, beginning with
// "~", over 512 bytes) replicate through snapshot and stream, and verify finds them equal.
// check refuses tables whose names differ only in case.
func TestElasticNamesAndIDs(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-names")
	db := "it_es_names"
	freshMySQLDatabase(t, my, db)
	long := strings.Repeat("k", 600)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE `café` (k VARCHAR(700) CHARACTER SET ascii PRIMARY KEY, v INT)",
		"CREATE TABLE `order items` (id INT PRIMARY KEY, note VARCHAR(20))",
		"CREATE TABLE bin (k VARBINARY(600) PRIMARY KEY, v INT)",
		"INSERT INTO `café` VALUES ('', 1), ('~', 2), ('~x', 3), ('"+long+"', 4), ('plain', 5)",
		"INSERT INTO `order items` VALUES (1, 'one')",
		"INSERT INTO bin VALUES (x'', 1), (REPEAT(x'00', 500), 2)")
	cfg := writeConfig(t, et.config(db, "[apply]\nflush_interval = \"50ms\"\n"))
	res := runCLI(t, time.Minute, "check", "-c", cfg)
	if res.code != 0 {
		t.Fatalf("check: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	p := startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, time.Minute)
	mustExec(t, my, "USE "+db,
		"UPDATE `café` SET v = 10 WHERE k = ''", "UPDATE `café` SET v = 40 WHERE k = '"+long+"'",
		"DELETE FROM `café` WHERE k = '~'", "INSERT INTO `café` VALUES ('~~', 6), ('"+long+"x', 7)",
		"UPDATE `café` SET k = '~y' WHERE k = 'plain'",
		"INSERT INTO `order items` VALUES (2, 'two')",
		"UPDATE bin SET v = 20 WHERE k = REPEAT(x'00', 500)", "INSERT INTO bin VALUES (REPEAT(x'01', 600), 3)")
	et.waitCaughtUp(t, my, p, time.Minute)
	p.stop(t)
	for _, tb := range []string{"café", "order items", "bin"} {
		et.assertIndexEqual(t, my, db, tb)
	}
	if got, want := et.index(db, "order items"), "it-es-names.it_es_names.order_items"; got != want {
		t.Errorf("index of order items %s, want %s", got, want)
	}
	assertVerifyEqual(t, cfg)

	// Names that differ only in case would share one index: check refuses them.
	db2 := "it_es_names_case"
	freshMySQLDatabase(t, my, db2)
	mustExec(t, my, "USE "+db2, "CREATE TABLE Users (id INT PRIMARY KEY)", "CREATE TABLE users (id INT PRIMARY KEY)")
	cfg2 := writeConfig(t, strings.Replace(et.config(db2, ""), et.state, et.prefix+"case-state", 1))
	res = runCLI(t, time.Minute, "check", "-c", cfg2)
	if res.code == 0 || !strings.Contains(res.stdout, db2+".Users, "+db2+".users") || !strings.Contains(res.stdout, "would all go to index") {
		t.Fatalf("check: exit %d, want a failure naming both tables\n%s", res.code, res.stdout)
	}
	res = runCLI(t, time.Minute, "snapshot", "-c", cfg2)
	if res.code == 0 || !strings.Contains(res.stderr, "would all go to index") {
		t.Fatalf("snapshot: exit %d, want the collision refused\n%s", res.code, tail(res.stderr, 5))
	}
}

// TestElasticSwapAlias: NewGeneration and SwapAlias, as the online re-snapshot uses them,
// replace a table's documents under a reader that counts the alias all the time: it sees
// the old count until the swap and the new count after, never 0 or a part.
func TestElasticSwapAlias(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-swap")
	db := "it_es_swap"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, wlTable)
	seed(t, my, db, 2000)
	text := et.config(db, "")
	cfgPath := writeConfig(t, text)
	if res := runCLI(t, 2*time.Minute, "snapshot", "-c", cfgPath); res.code != 0 {
		t.Fatalf("snapshot: exit %d %s", res.code, tail(res.stderr, 10))
	}
	alias := et.index(db, "wl")
	cfg, err := config.Parse(text, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tgt, err := elastic.Open(ctx, cfg, routes, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defs, err := tgt.Definitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var def *schema.Table
	for _, d := range defs {
		if d.Name == "wl" {
			def = d
		}
	}
	if def == nil {
		t.Fatalf("no stored definition of wl in %v", defs)
	}

	// New documents take the stored form of the snapshot's.
	ts := et.readIndex(t, alias)["1"]["ts"]
	counts := map[int]int{}
	var mu sync.Mutex
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
			n := esCount(t, et.es, alias, "")
			mu.Lock()
			counts[n]++
			mu.Unlock()
		}
	}()
	for range 2 { // the second swap replaces a generation made by the first
		concrete, err := tgt.NewGeneration(ctx, def)
		if err != nil {
			t.Fatal(err)
		}
		// Fill the new generation in parts, refreshed after each: a reader of it would see
		// every partial count.
		for part := range 5 {
			var body strings.Builder
			for i := range 600 {
				id := part*600 + i + 1
				fmt.Fprintf(&body, "{\"index\":{\"_index\":%q,\"_id\":\"%d\"}}\n{\"id\":%d,\"grp\":1,\"v\":%d,\"note\":null,\"ts\":%q}\n", concrete, id, id, id, ts)
			}
			esOK(t, et.es, esapi.BulkRequest{Body: strings.NewReader(body.String())}, nil)
			esOK(t, et.es, esapi.IndicesRefreshRequest{Index: []string{concrete}}, nil)
			time.Sleep(100 * time.Millisecond)
		}
		if err := tgt.SwapAlias(ctx, def, concrete); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if ix, c := et.aliasTarget(t, alias); c || len(ix) != 1 || ix[0] != concrete {
			t.Fatalf("after the swap %s stands for %v, want %s", alias, ix, concrete)
		}
	}
	close(done)
	wg.Wait()
	if len(counts) != 2 || counts[2000] == 0 || counts[3000] == 0 {
		t.Fatalf("counts seen by the reader: %v, want only 2000 (before) and 3000 (after)", counts)
	}
	t.Logf("reader counts: %v", counts)
	var cat []struct {
		Index string `json:"index"`
	}
	esOK(t, et.es, esapi.CatIndicesRequest{Index: []string{alias + "-g*"}, Format: "json"}, &cat)
	if len(cat) != 1 || cat[0].Index != alias+"-g000003" {
		t.Errorf("generations left: %v, want only %s-g000003", cat, alias)
	}
}

// makeLegacy turns a table's alias and its generation 1 into what versions before aliases
// made: a concrete index under the name itself, with the same documents.
func (et *esTarget) makeLegacy(t *testing.T, name string) {
	t.Helper()
	gen := name + "-g000001"
	esOK(t, et.es, esapi.IndicesPutSettingsRequest{Index: []string{gen}, Body: strings.NewReader(`{"index.blocks.write":true}`)}, nil)
	esOK(t, et.es, esapi.IndicesUpdateAliasesRequest{Body: strings.NewReader(fmt.Sprintf(`{"actions":[{"remove":{"index":%q,"alias":%q}}]}`, gen, name))}, nil)
	esOK(t, et.es, esapi.IndicesCloneRequest{Index: gen, Target: name}, nil)
	esOK(t, et.es, esapi.IndicesDeleteRequest{Index: []string{gen}}, nil)
	esOK(t, et.es, esapi.IndicesPutSettingsRequest{Index: []string{name}, Body: strings.NewReader(`{"index.blocks.write":false}`)}, nil)
	esOK(t, et.es, esapi.ClusterHealthRequest{Index: []string{name}, WaitForStatus: "yellow"}, nil)
	if ix, concrete := et.aliasTarget(t, name); !concrete || len(ix) != 1 {
		t.Fatalf("%s is not a concrete index: %v", name, ix)
	}
}

// TestElasticLegacyIndex: indexes of versions before aliases (concrete under the table's
// index name) keep receiving the stream; TRUNCATE replaces one by an alias of a new
// generation, RENAME clones one into a generation of the new name; every index ends equal.
func TestElasticLegacyIndex(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-legacy")
	db := "it_es_legacy"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE l1 (id INT PRIMARY KEY, v VARCHAR(20))", "CREATE TABLE l2 (id INT PRIMARY KEY, v VARCHAR(20))",
		"CREATE TABLE l3 (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO l1 VALUES (1, 'a'), (2, 'b')", "INSERT INTO l2 VALUES (1, 'x'), (2, 'y')", "INSERT INTO l3 VALUES (1, 'p')")
	cfg := writeConfig(t, et.config(db, "[apply]\nflush_interval = \"50ms\"\n"))
	if res := runCLI(t, 2*time.Minute, "snapshot", "-c", cfg); res.code != 0 {
		t.Fatalf("snapshot: exit %d %s", res.code, tail(res.stderr, 10))
	}
	for _, tb := range []string{"l1", "l2", "l3"} {
		et.makeLegacy(t, et.index(db, tb))
	}
	p := startCLI(t, "run", "-c", cfg)
	mustExec(t, my, "USE "+db, "INSERT INTO l1 VALUES (3, 'c')", "UPDATE l2 SET v = 'x2' WHERE id = 1", "DELETE FROM l3 WHERE id = 1", "INSERT INTO l3 VALUES (2, 'q')")
	et.waitCaughtUp(t, my, p, time.Minute)
	for _, tb := range []string{"l1", "l2", "l3"} {
		et.assertIndexEqual(t, my, db, tb)
	}
	mustExec(t, my, "USE "+db, "TRUNCATE TABLE l1", "INSERT INTO l1 VALUES (9, 'after truncate')",
		"RENAME TABLE l2 TO l2b", "INSERT INTO l2b VALUES (3, 'z')", "DROP TABLE l3")
	et.waitCaughtUp(t, my, p, time.Minute)
	p.stop(t)
	for _, tb := range []string{"l1", "l2b"} {
		et.assertIndexEqual(t, my, db, tb)
		if ix, concrete := et.aliasTarget(t, et.index(db, tb)); concrete || len(ix) != 1 || ix[0] != et.index(db, tb)+"-g000001" {
			t.Errorf("%s stands for %v (concrete %v), want an alias of generation 1", et.index(db, tb), ix, concrete)
		}
	}
	for _, tb := range []string{"l2", "l3"} {
		if ix, _ := et.aliasTarget(t, et.index(db, tb)); len(ix) > 0 {
			t.Errorf("%s still stands for %v", et.index(db, tb), ix)
		}
	}
}

// TestElasticDropKeep: with target.elasticsearch.on_drop = "keep" a dropped table's index
// stays as it was.
func TestElasticDropKeep(t *testing.T) {
	my := mysqlRoot(t)
	et := newESTarget(t, "es-dropkeep")
	db := "it_es_dropkeep"
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db, "CREATE TABLE k (id INT PRIMARY KEY)", "INSERT INTO k VALUES (1), (2)")
	text := strings.Replace(et.config(db, "[apply]\nflush_interval = \"50ms\"\n"), "[target.elasticsearch]\n", "[target.elasticsearch]\non_drop = \"keep\"\n", 1)
	p := startCLI(t, "run", "-c", writeConfig(t, text))
	et.waitCaughtUp(t, my, p, time.Minute)
	mustExec(t, my, "USE "+db, "INSERT INTO k VALUES (3)", "DROP TABLE k")
	et.waitCaughtUp(t, my, p, time.Minute)
	p.stop(t)
	if !strings.Contains(p.output(), `on_drop = \"keep\"`) {
		t.Errorf("no log line says the index was kept:\n%s", tail(p.output(), 10))
	}
	if n := et.count(t, et.index(db, "k")); n != 3 {
		t.Errorf("kept index holds %d documents, want 3", n)
	}
}
