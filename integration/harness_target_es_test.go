//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/go-mysql-org/go-mysql/client"

	"github.com/replicator/replicator/route"
)

var esURL = envOr("REPLICATOR_ES_URL", "http://127.0.0.1:19200")

// esTarget is one test's Elasticsearch target: its own index prefix and state index, so
// tests (and other users of the node) do not see each other's documents.
type esTarget struct {
	url    string // the node's address
	es     *elasticsearch.Client
	prefix string // index name prefix of the replicated tables
	state  string // state index, also under prefix
}

// newESTarget connects to the test node and removes what an earlier run of the test left.
func newESTarget(t *testing.T, name string) *esTarget {
	t.Helper()
	return newESTargetAt(t, esURL, name)
}

// newESTargetAt is newESTarget on the node at url (one of the extra nodes test.sh starts).
func newESTargetAt(t *testing.T, url, name string) *esTarget {
	t.Helper()
	return newESTargetWith(t, elasticsearch.Config{
		Addresses: []string{url},
		Transport: &http.Transport{ResponseHeaderTimeout: 60 * time.Second},
	}, name)
}

// newESTargetWith is newESTarget with a client of cfg (one address; credentials and CA of
// the secured node).
func newESTargetWith(t *testing.T, cfg elasticsearch.Config, name string) *esTarget {
	t.Helper()
	url := cfg.Addresses[0]
	es, err := elasticsearch.NewClient(cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	res, err := es.Info(es.Info.WithContext(ctx))
	cancel()
	if err != nil {
		unavailable(t, "Elasticsearch at "+url, err)
	}
	res.Body.Close()
	et := &esTarget{url: url, es: es, prefix: "it-" + name + ".", state: "it-" + name + ".replicator-state"}
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
	return route.ESName(et.prefix + db + "." + table)
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

// one returns the entry of an answer keyed by concrete index name (a mapping or settings
// read through an alias has one entry, named after the index behind it).
func one[T any](t *testing.T, m map[string]T) T {
	t.Helper()
	if len(m) != 1 {
		t.Fatalf("answer for %d indexes, want 1: %v", len(m), m)
	}
	var out T
	for _, v := range m {
		out = v
	}
	return out
}

func (et *esTarget) count(t *testing.T, index string) int {
	t.Helper()
	esOK(t, et.es, esapi.IndicesRefreshRequest{Index: []string{index}}, nil)
	return esCount(t, et.es, index, "")
}
