//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// esDoc is one generated document; the same struct decodes _source for comparison.
type esDoc struct {
	SKU     string  `json:"sku"`
	Qty     int64   `json:"qty"`
	Title   string  `json:"title"`
	Created string  `json:"created"`
	Price   float64 `json:"price"`
	InStock bool    `json:"in_stock"`
}

const (
	esNodeDocs    = 10000
	esNodeDeleted = 7 // every 7th document (i%7 == 0) is deleted
)

var esColors = []string{"red", "green", "blue", "amber", "violet"}

var esBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// esDocID and esDocFor generate document i deterministically.
func esDocID(i int) string { return fmt.Sprintf("doc-%05d", i) }

func esDocFor(i int) esDoc {
	return esDoc{
		SKU:     fmt.Sprintf("SKU-%03d-%05d", i%97, i),
		Qty:     int64(i)*1_000_003 - 5_000_000_000, // negative and beyond int32
		Title:   fmt.Sprintf("%s widget number %d", esColors[i%len(esColors)], i),
		Created: esBase.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
		Price:   float64(i%1000)*0.25 + 0.99,
		InStock: i%3 != 0,
	}
}

func esDeleted(i int) bool { return i%esNodeDeleted == 0 }

// esBulk sends an NDJSON bulk body and checks that every item got the wanted status.
func esBulk(t *testing.T, es *elasticsearch.Client, index string, body *bytes.Buffer, items int, want int) {
	t.Helper()
	var res struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
		} `json:"items"`
	}
	esOK(t, es, esapi.BulkRequest{Index: index, Body: bytes.NewReader(body.Bytes())}, &res)
	if res.Errors || len(res.Items) != items {
		t.Fatalf("bulk: errors=%v, %d items for %d actions", res.Errors, len(res.Items), items)
	}
	for n, item := range res.Items {
		for op, r := range item {
			if r.Status != want {
				t.Fatalf("bulk item %d (%s): status %d, want %d", n, op, r.Status, want)
			}
		}
	}
	body.Reset()
}

// TestElasticsearchNode checks the node started by integration/env/es.sh end to end with the
// go-elasticsearch v8 client: product check, an explicit mapping, 10,000 bulk-indexed
// documents, bulk deletes, and exact counts and documents afterwards.
func TestElasticsearchNode(t *testing.T) {
	url := envOr("REPLICATOR_ES_URL", "http://127.0.0.1:19200")
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: []string{url},
		Transport: &http.Transport{ResponseHeaderTimeout: 60 * time.Second},
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	// Info is the first request, so it also runs the client's product check.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	res, err := es.Info(es.Info.WithContext(ctx))
	cancel()
	if err != nil {
		unavailable(t, "Elasticsearch at "+url, err)
	}
	var info struct {
		ClusterName string `json:"cluster_name"`
		Version     struct {
			Number string `json:"number"`
		} `json:"version"`
	}
	err = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("info: status %d, %v", res.StatusCode, err)
	}
	// REPLICATOR_ES_MAJOR: the major version the node under test must be (test.sh sets 9
	// for its pass on the 9.x node), so a node of another version left on the port fails.
	major := envOr("REPLICATOR_ES_MAJOR", "8")
	if !strings.HasPrefix(info.Version.Number, major+".") {
		t.Fatalf("server version %q, want %s.x (REPLICATOR_ES_MAJOR)", info.Version.Number, major)
	}
	t.Logf("Elasticsearch %s, cluster %q at %s", info.Version.Number, info.ClusterName, url)

	index := fmt.Sprintf("replicator-it-es-node-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		code, body := esDo(t, es, esapi.IndicesDeleteRequest{Index: []string{index}})
		if code != 200 && code != 404 {
			t.Errorf("deleting index %s: status %d: %s", index, code, body)
		}
	})

	mapping := `{
		"settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
		"mappings": {"dynamic": "strict", "properties": {
			"sku":      {"type": "keyword"},
			"qty":      {"type": "long"},
			"title":    {"type": "text"},
			"created":  {"type": "date"},
			"price":    {"type": "double"},
			"in_stock": {"type": "boolean"}
		}}
	}`
	esOK(t, es, esapi.IndicesCreateRequest{Index: index, Body: strings.NewReader(mapping)}, nil)

	// The mapping reads back as created.
	var gotMapping map[string]struct {
		Mappings struct {
			Dynamic    string                       `json:"dynamic"`
			Properties map[string]map[string]string `json:"properties"`
		} `json:"mappings"`
	}
	esOK(t, es, esapi.IndicesGetMappingRequest{Index: []string{index}}, &gotMapping)
	wantTypes := map[string]string{"sku": "keyword", "qty": "long", "title": "text", "created": "date", "price": "double", "in_stock": "boolean"}
	props := gotMapping[index].Mappings.Properties
	if len(props) != len(wantTypes) || gotMapping[index].Mappings.Dynamic != "strict" {
		t.Fatalf("mapping: %+v", gotMapping[index].Mappings)
	}
	for f, typ := range wantTypes {
		if props[f]["type"] != typ {
			t.Errorf("mapping of %s: type %q, want %q", f, props[f]["type"], typ)
		}
	}

	// Index 10,000 documents in bulk requests of 2,000.
	start := time.Now()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	pending := 0
	for i := 0; i < esNodeDocs; i++ {
		fmt.Fprintf(&buf, `{"index":{"_id":%q}}`+"\n", esDocID(i))
		if err := enc.Encode(esDocFor(i)); err != nil {
			t.Fatal(err)
		}
		if pending++; pending == 2000 || i == esNodeDocs-1 {
			esBulk(t, es, index, &buf, pending, 201)
			pending = 0
		}
	}
	// Delete every 7th document in one bulk request.
	deleted := 0
	for i := 0; i < esNodeDocs; i++ {
		if esDeleted(i) {
			fmt.Fprintf(&buf, `{"delete":{"_id":%q}}`+"\n", esDocID(i))
			deleted++
		}
	}
	esBulk(t, es, index, &buf, deleted, 200)
	esOK(t, es, esapi.IndicesRefreshRequest{Index: []string{index}}, nil)
	t.Logf("indexed %d and deleted %d documents in %v", esNodeDocs, deleted, time.Since(start).Round(time.Millisecond))

	// Exact counts: everything, and one query per field type, against the generator.
	want := map[string]int{"": 0}
	queries := map[string]func(i int, d esDoc) bool{
		`{"term":{"sku":"SKU-042-00042"}}`:                     func(i int, d esDoc) bool { return d.SKU == "SKU-042-00042" },
		`{"prefix":{"sku":"SKU-013-"}}`:                        func(i int, d esDoc) bool { return i%97 == 13 },
		`{"range":{"qty":{"gte":0}}}`:                          func(i int, d esDoc) bool { return d.Qty >= 0 },
		`{"match":{"title":"amber"}}`:                          func(i int, d esDoc) bool { return i%len(esColors) == 3 },
		`{"range":{"created":{"gte":"2024-01-05T00:00:00Z"}}}`: func(i int, d esDoc) bool { return i >= 4*24*60 },
		`{"range":{"price":{"gt":100.5,"lte":200.99}}}`:        func(i int, d esDoc) bool { return d.Price > 100.5 && d.Price <= 200.99 },
		`{"term":{"in_stock":false}}`:                          func(i int, d esDoc) bool { return !d.InStock },
		`{"bool":{"filter":[{"term":{"in_stock":true}},{"match":{"title":"red"}}]}}`: func(i int, d esDoc) bool {
			return d.InStock && i%len(esColors) == 0
		},
	}
	for q := range queries {
		want[q] = 0
	}
	for i := 0; i < esNodeDocs; i++ {
		if esDeleted(i) {
			continue
		}
		d := esDocFor(i)
		want[""]++
		for q, match := range queries {
			if match(i, d) {
				want[q]++
			}
		}
	}
	if want[""] != esNodeDocs-deleted || want[""] != 8571 {
		t.Fatalf("generator: %d live documents, want %d", want[""], esNodeDocs-deleted)
	}
	for q, n := range want {
		if got := esCount(t, es, index, q); got != n {
			t.Errorf("count %s: %d, want %d", q, got, n)
		}
	}

	// Exact documents for a sample of ids; deleted ones are 404.
	for _, i := range []int{0, 1, 2, 6, 7, 8, 13, 14, 42, 97, 500, 1000, 4096, 5000, 7777, 9996, 9997, 9998, 9999} {
		code, body := esDo(t, es, esapi.GetRequest{Index: index, DocumentID: esDocID(i)})
		var got struct {
			ID     string `json:"_id"`
			Found  bool   `json:"found"`
			Source *esDoc `json:"_source"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("get %s: decoding %s: %v", esDocID(i), body, err)
		}
		if esDeleted(i) {
			if code != 404 || got.Found {
				t.Errorf("get deleted %s: status %d, found %v, want 404", esDocID(i), code, got.Found)
			}
			continue
		}
		if code != 200 || !got.Found || got.ID != esDocID(i) || got.Source == nil {
			t.Errorf("get %s: status %d: %s", esDocID(i), code, body)
			continue
		}
		if w := esDocFor(i); !reflect.DeepEqual(*got.Source, w) {
			t.Errorf("get %s:\n got  %+v\n want %+v", esDocID(i), *got.Source, w)
		}
	}

	// An unknown field is rejected by the strict mapping.
	code, body := esDo(t, es, esapi.IndexRequest{Index: index, DocumentID: "bad", Body: strings.NewReader(`{"nope":1}`)})
	if code != 400 || !strings.Contains(string(body), "strict_dynamic_mapping_exception") {
		t.Errorf("strict mapping: status %d: %s", code, body)
	}
}
