//go:build integration

package integration

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// holdProxy passes requests on to Elasticsearch, except bulk requests holding a marker
// while hold is on: those it keeps (the whole request received, as a node keeps what it
// has queued) without answering, and sends to Elasticsearch only at release, whether or
// not their client is still there: the bulk of a killed process that a node (or anything
// between) still applies after the process has gone.
type holdProxy struct {
	srv    *httptest.Server
	target *url.URL
	mu     sync.Mutex
	marker string
	held   []heldRequest
}

type heldRequest struct {
	path, query string
	header      http.Header
	body        []byte
}

func startHoldProxy(t *testing.T) *holdProxy {
	t.Helper()
	u, err := url.Parse(esURL)
	if err != nil {
		t.Fatal(err)
	}
	hp := &holdProxy{target: u}
	rp := httputil.NewSingleHostReverseProxy(u)
	hp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/_bulk" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			hp.mu.Lock()
			hold := hp.marker != "" && bytes.Contains(body, []byte(hp.marker))
			if hold {
				hp.held = append(hp.held, heldRequest{path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: body})
			}
			hp.mu.Unlock()
			if hold {
				<-r.Context().Done() // never answered: the client waits until it dies
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hp.srv.Close)
	return hp
}

// hold keeps every later bulk request that contains marker.
func (hp *holdProxy) hold(marker string) {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	hp.marker = marker
}

func (hp *holdProxy) heldCount() int {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	return len(hp.held)
}

// release sends the held requests to Elasticsearch, in order, and returns the answers.
func (hp *holdProxy) release(t *testing.T) []string {
	t.Helper()
	hp.mu.Lock()
	held := hp.held
	hp.held, hp.marker = nil, ""
	hp.mu.Unlock()
	var answers []string
	for _, h := range held {
		u := *hp.target
		u.Path, u.RawQuery = h.path, h.query
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, u.String(), bytes.NewReader(h.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = h.header
		req.Header.Del("Accept-Encoding") // a readable answer for the log
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("send the held bulk request: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		answers = append(answers, res.Status+" "+string(b))
	}
	return answers
}

// TestElasticsearchLateBulkAfterKill is the Elasticsearch side of
// TestKeylessCommitOutlivesKill: a replicator's bulk request is still on its way (held by
// a proxy) when the process is killed; the source then moves on, a new process takes the
// lease, reads the checkpoint (before that bulk) and catches up; only then does the old
// bulk reach Elasticsearch. It carries a row inserted into two tables in one transaction.
// Table a's row was updated since: the late write's version is older than the document's,
// so Elasticsearch refuses it and the newer state stays. Table b was truncated since and a
// row written after: the late write must not bring the truncated row back into the new
// generation behind b's alias.
func TestElasticsearchLateBulkAfterKill(t *testing.T) {
	const db = "it_es_late"
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(40))",
		"CREATE TABLE b (id INT PRIMARY KEY, v VARCHAR(40))",
		"INSERT INTO a VALUES (1, 'one'), (2, 'two')",
		"INSERT INTO b VALUES (1, 'one'), (2, 'two')")
	et := newESTarget(t, "eslate")
	hp := startHoldProxy(t)
	text := et.config(db, "[apply]\nflush_interval = \"50ms\"\n")
	viaProxy := writeConfig(t, strings.Replace(text, esURL, hp.srv.URL, 1))
	direct := writeConfig(t, text)

	old := startCLI(t, "run", "-c", viaProxy)
	et.waitCaughtUp(t, my, old, 2*time.Minute)
	hp.hold("late-marker")
	mustExec(t, my, "BEGIN", "INSERT INTO a VALUES (10, 'late-marker')", "INSERT INTO b VALUES (10, 'late-marker')", "COMMIT")
	for start := time.Now(); hp.heldCount() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatalf("the replicator sent no bulk with the marker\n%s", tail(old.output(), 20))
		}
	}
	old.kill()
	_, before, _ := et.checkpoint(t)

	mustExec(t, my, "UPDATE a SET v = 'newer' WHERE id = 10", "TRUNCATE TABLE b", "INSERT INTO b VALUES (20, 'after the truncate')")
	p := startCLI(t, "run", "-c", direct)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	t.Logf("checkpoint at the kill %s; the new process caught up", before)

	answers := hp.release(t)
	if len(answers) == 0 {
		t.Fatal("nothing was held")
	}
	for _, a := range answers {
		t.Logf("late bulk answered: %.400s", a)
	}
	// Whatever the late bulk did is in the index once refreshed (readIndex refreshes).
	et.assertIndexEqual(t, my, db, "a")
	et.assertIndexEqual(t, my, db, "b")
	if p.exited() {
		t.Fatalf("replicator exited (%v)\n%s", p.err, tail(p.output(), 30))
	}
	p.stop(t)
}

// TestElasticsearchLateCopyBulkAfterKill: a bulk request of an online copy is still on
// its way (held by a proxy) when the process is killed; the table is dropped at the
// source before the restart, so the new process ends the copy and deletes the table's
// indexes, the generation the copy filled included. Delivered only then, the late bulk
// must not create an index: it is addressed to that generation's write alias
// (require_alias), which went with it. Addressed to the generation's own name, it would
// make a new index of that name, with a mapping Elasticsearch guesses.
func TestElasticsearchLateCopyBulkAfterKill(t *testing.T) {
	const db = "it_es_late_copy"
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE c (id INT PRIMARY KEY, v VARCHAR(40))",
		"CREATE TABLE keep (id INT PRIMARY KEY, v VARCHAR(40))",
		"INSERT INTO c SELECT seq, CONCAT('row ', seq) FROM seq_1_to_300",
		"INSERT INTO keep VALUES (1, 'one')")
	et := newESTarget(t, "eslatecopy")
	hp := startHoldProxy(t)
	text := et.config(db, "[apply]\nflush_interval = \"50ms\"\n")
	viaProxy := writeConfig(t, strings.Replace(text, esURL, hp.srv.URL, 1))
	direct := writeConfig(t, text)

	old := startCLI(t, "run", "-c", viaProxy)
	et.waitCaughtUp(t, my, old, 2*time.Minute)
	hp.hold(`row 150"`) // only the copy writes that row now
	if res := runCLI(t, 30*time.Second, "resnapshot", "-c", direct, db+".c"); res.code != 0 {
		t.Fatalf("resnapshot: exit %d\n%s", res.code, res.stderr)
	}
	for start := time.Now(); hp.heldCount() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatalf("the online copy sent no bulk with the marker\n%s", tail(old.output(), 20))
		}
	}
	old.kill()
	mustExec(t, my, "USE `"+db+"`", "DROP TABLE c", "INSERT INTO keep VALUES (2, 'two')")

	indexesOfC := func() []string {
		var cat []struct {
			Index string `json:"index"`
		}
		esOK(t, et.es, esapi.CatIndicesRequest{Index: []string{et.index(db, "c") + "*"}, Format: "json", ExpandWildcards: "all"}, &cat)
		var out []string
		for _, c := range cat {
			out = append(out, c.Index)
		}
		return out
	}
	p := startCLI(t, "run", "-c", direct)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	// The copy of the dropped table ends (failed: the table is gone), its generation
	// deleted after.
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if st, _, _ := et.storedCopy(t, db+".c"); st != "requested" && st != "copying" {
			t.Logf("the online copy of the dropped table ended %q", st)
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("the online copy of the dropped table did not end\n%s", tail(p.output(), 20))
		}
	}
	for start := time.Now(); len(indexesOfC()) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("indexes of the dropped table 30 s after its copy ended: %v", indexesOfC())
		}
	}
	answers := hp.release(t)
	if len(answers) == 0 {
		t.Fatal("nothing was held")
	}
	for _, a := range answers {
		t.Logf("late bulk answered: %.300s", a)
	}
	if ix := indexesOfC(); len(ix) > 0 {
		t.Errorf("indexes of the dropped table after the late bulk: %v", ix)
	}
	et.assertIndexEqual(t, my, db, "keep")
	if p.exited() {
		t.Fatalf("replicator exited (%v)\n%s", p.err, tail(p.output(), 30))
	}
	p.stop(t)
}

// TestElasticsearchLateChunkAfterKill: a snapshot chunk's bulk request is still on its way
// (held by a proxy) when the process is killed; an ALTER TABLE at the source makes the
// resumed snapshot copy the table again into a new index, whose documents carry the same
// (snapshot) version. Delivered after that, the late chunk must not replace them with rows
// of the old definition: it is addressed to the write alias of the index it was meant for
// (require_alias), gone with it, not to the table's alias.
func TestElasticsearchLateChunkAfterKill(t *testing.T) {
	const db = "it_es_late_chunk"
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`",
		"CREATE TABLE s (id INT PRIMARY KEY, v VARCHAR(40))",
		"INSERT INTO s SELECT seq, CONCAT('row ', seq) FROM seq_1_to_400")
	et := newESTarget(t, "eslatechunk")
	hp := startHoldProxy(t)
	text := et.config(db, "[apply]\nflush_interval = \"50ms\"\n[snapshot]\nchunk_rows = 100\nparallelism = 2\n")
	viaProxy := writeConfig(t, strings.Replace(text, esURL, hp.srv.URL, 1))
	direct := writeConfig(t, text)

	hp.hold(`row 150"`) // in the second chunk
	old := startCLI(t, "run", "-c", viaProxy)
	for start := time.Now(); hp.heldCount() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > time.Minute || old.exited() {
			t.Fatalf("the snapshot sent no bulk with the marker\n%s", tail(old.output(), 20))
		}
	}
	old.kill()
	mustExec(t, my, "USE `"+db+"`", "ALTER TABLE s ADD COLUMN extra INT NOT NULL DEFAULT 7", "UPDATE s SET extra = id WHERE id % 3 = 0")
	p := startCLI(t, "run", "-c", direct)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	et.assertIndexEqual(t, my, db, "s")
	answers := hp.release(t)
	if len(answers) == 0 {
		t.Fatal("nothing was held")
	}
	for _, a := range answers {
		t.Logf("late bulk answered: %.300s", a)
	}
	et.assertIndexEqual(t, my, db, "s")
	if p.exited() {
		t.Fatalf("replicator exited (%v)\n%s", p.err, tail(p.output(), 30))
	}
	p.stop(t)
	assertVerifyEqual(t, direct)
}
