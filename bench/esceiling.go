package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"
)

// esBulkCeiling is what the Elasticsearch node indexes with nothing in the way: the
// documents the snapshot wrote for index (read back from it), bulk-loaded by a bare
// client into a fresh index with the same mapping, refresh off and no replicas, in bulk
// requests of about the snapshot's size, at each concurrency in turn; the best rate.
func esBulkCeiling(index string, concurrencies []int) (rate float64, best int) {
	raw, err := esDo(http.MethodGet, "/"+index+"/_mapping", nil)
	check(err)
	var mappings map[string]struct {
		Mappings json.RawMessage `json:"mappings"`
	}
	check(json.Unmarshal(raw, &mappings))
	var mapping json.RawMessage
	for _, m := range mappings {
		// Without the replicator's _meta: the index is not one of its generations.
		var fields map[string]json.RawMessage
		check(json.Unmarshal(m.Mappings, &fields))
		delete(fields, "_meta")
		mapping, err = json.Marshal(fields)
		check(err)
	}
	bodies, docs := esReadBack(index, 4<<20)
	const ceiling = "bench-es-ceiling"
	client := &http.Client{Timeout: 5 * time.Minute}
	for _, conc := range concurrencies {
		_, _ = esDo(http.MethodDelete, "/"+ceiling+"?ignore_unavailable=true", nil)
		settings := fmt.Sprintf(`{"settings":{"number_of_replicas":0,"refresh_interval":"-1"},"mappings":%s}`, mapping)
		_, err := esDo(http.MethodPut, "/"+ceiling, []byte(settings))
		check(err)
		next := make(chan []byte)
		var wg sync.WaitGroup
		t0 := time.Now()
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for body := range next {
					req, err := http.NewRequest(http.MethodPost, strings.TrimRight(esURL, "/")+"/"+ceiling+"/_bulk", bytes.NewReader(body))
					check(err)
					req.Header.Set("Content-Type", "application/x-ndjson")
					resp, err := client.Do(req)
					check(err)
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode >= 300 || bytes.Contains(b[:min(len(b), 64)], []byte(`"errors":true`)) {
						fatalf("bulk ceiling: %s: %.300s", resp.Status, b)
					}
				}
			}()
		}
		for _, b := range bodies {
			next <- b
		}
		close(next)
		wg.Wait()
		r := float64(docs) / time.Since(t0).Seconds()
		log.Printf("Elasticsearch bulk ceiling: %d documents at concurrency %d: %.0f docs/s", docs, conc, r)
		if r > rate {
			rate, best = r, conc
		}
	}
	_, _ = esDo(http.MethodDelete, "/"+ceiling+"?ignore_unavailable=true", nil)
	return rate, best
}

// esReadBack reads every document of index into bulk request bodies of about size bytes.
func esReadBack(index string, size int) (bodies [][]byte, docs int) {
	var cur bytes.Buffer
	var after json.RawMessage
	for {
		q := `{"size":5000,"sort":[{"_doc":"asc"}]`
		if after != nil {
			q += `,"search_after":` + string(after)
		}
		q += `}`
		raw, err := esDo(http.MethodPost, "/"+index+"/_search", []byte(q))
		check(err)
		var res struct {
			Hits struct {
				Hits []struct {
					ID     string          `json:"_id"`
					Source json.RawMessage `json:"_source"`
					Sort   json.RawMessage `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		check(json.Unmarshal(raw, &res))
		if len(res.Hits.Hits) == 0 {
			break
		}
		for _, h := range res.Hits.Hits {
			id, _ := json.Marshal(h.ID)
			fmt.Fprintf(&cur, "{\"index\":{\"_id\":%s}}\n%s\n", id, h.Source)
			docs++
			if cur.Len() >= size {
				bodies = append(bodies, bytes.Clone(cur.Bytes()))
				cur.Reset()
			}
			after = h.Sort
		}
	}
	if cur.Len() > 0 {
		bodies = append(bodies, bytes.Clone(cur.Bytes()))
	}
	return bodies, docs
}
