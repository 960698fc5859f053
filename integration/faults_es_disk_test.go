//go:build integration

package integration

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// floodStage turns on the node's disk threshold decider (the test node starts with it
// off) with watermarks no disk meets, so Elasticsearch itself puts
// index.blocks.read_only_allow_delete on every index of the node, as on a full disk.
// It waits until index has the block. The returned function restores the watermarks and
// waits until Elasticsearch has lifted the block by itself (the disk "freed"); the
// test's cleanup restores the node's settings and removes any block left.
func floodStage(t *testing.T, et *esTarget, index string) (clear func()) {
	t.Helper()
	put := func(body string) {
		t.Helper()
		code, out := esDo(t, et.es, esapi.ClusterPutSettingsRequest{Body: strings.NewReader(body)})
		if code != 200 {
			t.Fatalf("cluster settings %s: %d %s", body, code, out)
		}
	}
	t.Cleanup(func() {
		put(`{"persistent":{"cluster.routing.allocation.disk.threshold_enabled":null,"cluster.info.update.interval":null,
			"cluster.routing.allocation.disk.watermark.low":null,"cluster.routing.allocation.disk.watermark.high":null,
			"cluster.routing.allocation.disk.watermark.flood_stage":null}}`)
		esDo(t, et.es, esapi.IndicesPutSettingsRequest{Index: []string{"_all"}, ExpandWildcards: "all",
			Body: strings.NewReader(`{"index.blocks.read_only_allow_delete":null}`)})
	})
	blocked := func() bool {
		_, out := esDo(t, et.es, esapi.IndicesGetSettingsRequest{Index: []string{index}, Name: []string{"index.blocks.read_only_allow_delete"}})
		return strings.Contains(string(out), `"read_only_allow_delete":"true"`)
	}
	wait := func(want bool, what string) time.Duration {
		t.Helper()
		start := time.Now()
		for blocked() != want {
			if time.Since(start) > 2*time.Minute {
				t.Fatalf("Elasticsearch did not %s within %s", what, time.Since(start).Round(time.Second))
			}
			time.Sleep(200 * time.Millisecond)
		}
		return time.Since(start)
	}
	// Watermarks in bytes are the free space required: more than any test disk has.
	put(`{"persistent":{"cluster.routing.allocation.disk.threshold_enabled":true,"cluster.info.update.interval":"10s",
		"cluster.routing.allocation.disk.watermark.low":"3pb","cluster.routing.allocation.disk.watermark.high":"2pb",
		"cluster.routing.allocation.disk.watermark.flood_stage":"1pb"}}`)
	t.Logf("flood-stage block on %s after %s", index, wait(true, "apply the flood-stage block").Round(time.Millisecond))
	return func() {
		put(`{"persistent":{"cluster.routing.allocation.disk.watermark.low":null,"cluster.routing.allocation.disk.watermark.high":null,
			"cluster.routing.allocation.disk.watermark.flood_stage":null}}`)
		t.Logf("Elasticsearch lifted the block after %s", wait(false, "lift the flood-stage block by itself").Round(time.Millisecond))
	}
}

// TestFaultTargetElasticsearchFloodStage fills the disk as far as Elasticsearch can tell:
// past the flood-stage watermark the node blocks every index (the replicated ones and the
// state index) with read_only_allow_delete, and bulk items fail with 429
// cluster_block_exception. Replication pauses with the log and 'replicator status' naming
// the block, the checkpoint stays before the changes made meanwhile, and once the node
// lifts the block by itself (disk below the high watermark) replication resumes with no
// one touching it and verify finds the index equal to the table.
func TestFaultTargetElasticsearchFloodStage(t *testing.T) {
	db := "it_fault_esflood"
	esFault(t, db, "tfflood", "Elasticsearch flood-stage watermark", nil, true, func(et *esTarget) func() {
		return floodStage(t, et, et.index(db, "wl"))
	}, []string{"blocked", "read_only_allow_delete", "flood-stage watermark", "free disk space"}, "bulk items failed; retrying them", "target index write-blocked", "flood-stage watermark")
}

// esQueueURL is the extra node test.sh starts with a tiny write thread pool
// (REPLICATOR_ES_QUEUE_URL; by hand: ES_PORT=19204 ES_TRANSPORT_PORT=19304
// ES_DIR=/tmp/replicator-env/es-queue ES_HEAP=256m ES_SETTINGS="thread_pool.write.size=1
// thread_pool.write.queue_size=1" bash integration/env/es.sh up).
var esQueueURL = envOr("REPLICATOR_ES_QUEUE_URL", "http://127.0.0.1:19204")

// TestFaultTargetElasticsearchWriteQueue runs on a node of its own started with a tiny
// write thread pool (esQueueURL; the queue size is a node setting only a start can set,
// and such a node rejects writes under any load, so the suite's default node is not one).
// Other writers flood the node with bulk requests until its write queue rejects the
// replicator's with real 429 es_rejected_execution_exception; replication retries, goes on
// once the flood stops, and verify finds the index equal to the table.
func TestFaultTargetElasticsearchWriteQueue(t *testing.T) {
	probe := newESTargetAt(t, esQueueURL, "tfqueue")
	var pools []struct {
		Size      string `json:"size"`
		QueueSize string `json:"queue_size"`
	}
	esOK(t, probe.es, esapi.CatThreadPoolRequest{ThreadPoolPatterns: []string{"write"}, H: []string{"size", "queue_size"}, Format: "json"}, &pools)
	if len(pools) != 1 || pools[0].QueueSize == "" || len(pools[0].QueueSize) > 1 {
		unavailable(t, "an Elasticsearch node with a one-slot write queue at "+esQueueURL,
			fmt.Errorf("its write queue is %+v: start it with ES_SETTINGS=\"thread_pool.write.size=1 thread_pool.write.queue_size=1\" (see esQueueURL) to get real 429s", pools))
	}
	db := "it_fault_esqueue"
	var rejected atomic.Int64
	esFaultAt(t, esQueueURL, db, "tfqueue", "Elasticsearch write queue full (429)", nil, false, func(et *esTarget) func() {
		var body strings.Builder
		for i := range 200 {
			fmt.Fprintf(&body, "{\"index\":{\"_index\":%q}}\n{\"n\":%d,\"pad\":%q}\n", et.prefix+"flood", i, strings.Repeat("x", 200))
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					res, err := et.es.Bulk(strings.NewReader(body.String()))
					if err != nil {
						continue
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode == 429 || strings.Contains(string(b), "es_rejected_execution_exception") {
						rejected.Add(1)
					}
				}
			}()
		}
		return func() {
			close(stop)
			wg.Wait()
			t.Logf("the flood's own bulk requests were rejected %d times", rejected.Load())
		}
	}, nil, "retrying", "es_rejected_execution_exception")
}
