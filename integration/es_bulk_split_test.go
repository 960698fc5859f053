//go:build integration

package integration

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// esSmallURL is the extra node test.sh starts with http.max_content_length=1mb
// (REPLICATOR_ES_SMALL_URL; by hand: ES_PORT=19201 ES_TRANSPORT_PORT=19301
// ES_DIR=/tmp/replicator-env/es-small ES_HEAP=256m ES_SETTINGS="http.max_content_length=1mb"
// bash integration/env/es.sh up).
var esSmallURL = envOr("REPLICATOR_ES_SMALL_URL", "http://127.0.0.1:19201")

// bulkSplitRows inserts rows from..to of db.t, each with a body of size characters.
func bulkSplitRows(from, to, size int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO t (id, note, body) VALUES ")
	for id := from; id <= to; id++ {
		if id > from {
			b.WriteString(",")
		}
		// MD5 is 32 characters: size/32 of them make a body of that size that differs per row.
		fmt.Fprintf(&b, "(%d, 'row %d', REPEAT(MD5(%d), %d))", id, id, id, size/32)
	}
	return b.String()
}

// TestElasticsearchBulkSplit proves, on a real node that refuses any request over 1 MB
// (http.max_content_length=1mb), that the applier splits its bulk requests by bytes
// (target.elasticsearch.bulk_max_bytes) for snapshot chunks and for a streaming batch of
// one large transaction, and that a single document too large for any request stops the
// run naming table, _id and size, with the checkpoint before it. Without the split the
// same rows make requests of several megabytes: the first run shows the node refusing
// them (413) and the error naming the setting to lower.
func TestElasticsearchBulkSplit(t *testing.T) {
	db := "it_bulksplit"
	et := newESTargetAt(t, esSmallURL, "bulksplit")
	var nodes struct {
		Nodes map[string]struct {
			Settings map[string]string `json:"settings"`
		} `json:"nodes"`
	}
	esOK(t, et.es, esapi.NodesInfoRequest{NodeID: []string{"_local"}, Metric: []string{"settings"}, FlatSettings: esapi.BoolPtr(true)}, &nodes)
	for _, n := range nodes.Nodes {
		if got := n.Settings["http.max_content_length"]; got != "1mb" {
			t.Fatalf("the node at %s has http.max_content_length %q, want \"1mb\": start it with ES_SETTINGS=\"http.max_content_length=1mb\" (see esSmallURL)", esSmallURL, got)
		}
	}
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	// 40 rows of 100,000 characters: 4 MB, four times what the node accepts in a request.
	mustExec(t, my, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY, note VARCHAR(20), body MEDIUMTEXT)",
		"USE `"+db+"`", bulkSplitRows(1, 40, 100000))

	// The default bulk_max_bytes (64 MiB) fills requests up to 4 MiB: the node refuses them.
	p := startCLI(t, "run", "-c", writeConfig(t, et.config(db, "")))
	if !waitExit(p, 2*time.Minute) {
		t.Fatalf("run with requests over the node's http.max_content_length did not stop within 2 minutes\n%s", tail(p.output(), 20))
	}
	for _, want := range []string{"413", "http.max_content_length is smaller; set target.elasticsearch.bulk_max_bytes (now 67108864) below it"} {
		if !strings.Contains(p.output(), want) {
			t.Fatalf("run refused by the node (%v): output lacks %q\n%s", p.err, want, tail(p.output(), 20))
		}
	}
	et.cleanup(t)

	// 256 KiB requests: two documents each.
	text := strings.Replace(et.config(db, "[apply]\nflush_interval = \"100ms\"\n"),
		"[target.elasticsearch]\n", "[target.elasticsearch]\nbulk_max_bytes = 262144\n", 1)
	cfg := writeConfig(t, text)
	p = startCLI(t, "run", "-c", cfg)
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	if n := et.assertIndexEqual(t, my, db, "t"); n != 40 {
		t.Fatalf("after the snapshot the index holds %d rows, want 40", n)
	}

	// One transaction of 40 inserts, 20 updates and 5 deletes of 100 KB rows is one batch
	// of about 6 MB: written in requests of at most 256 KiB, the checkpoint after all.
	mustExec(t, my, "USE `"+db+"`", "BEGIN", bulkSplitRows(41, 80, 100000),
		"UPDATE t SET body = REPEAT(MD5(id + 1000), 3125), note = 'updated' WHERE id <= 20",
		"DELETE FROM t WHERE id BETWEEN 36 AND 40", "COMMIT")
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	if n := et.assertIndexEqual(t, my, db, "t"); n != 75 {
		t.Fatalf("after the streamed transaction the index holds %d rows, want 75", n)
	}

	// A row of 300,000 characters is more than any request may hold.
	before := sourceGTID(t, my)
	mustExec(t, my, "USE `"+db+"`", bulkSplitRows(999, 999, 300000))
	if !waitExit(p, 2*time.Minute) {
		t.Fatalf("run did not stop on a document larger than bulk_max_bytes\n%s", tail(p.output(), 20))
	}
	// The size: the 300,000 characters, the row's other fields and the action line (whose
	// version grows with the source's GTIDs).
	m := regexp.MustCompile(`the document of it_bulksplit\.t with _id "999" is (\d+) bytes in a bulk request, more than target\.elasticsearch\.bulk_max_bytes = 262144: raise bulk_max_bytes`).FindStringSubmatch(p.output())
	if m == nil {
		t.Fatalf("run stopped (%v) without naming the table, _id and size\n%s", p.err, tail(p.output(), 20))
	}
	if n, _ := strconv.Atoi(m[1]); n < 300100 || n > 300300 {
		t.Fatalf("the refused document's size is given as %s bytes, want its bulk item's, 300,100 to 300,300", m[1])
	}
	if _, gtid, _ := et.checkpoint(t); !gtidCovers(gtid, before) || gtidCovers(gtid, sourceGTID(t, my)) {
		t.Fatalf("checkpoint %s: want it at %s, before the refused transaction", gtid, before)
	}
	if n := et.count(t, et.index(db, "t")); n != 75 {
		t.Fatalf("after the refusal the index holds %d documents, want 75", n)
	}

	// Raised below the node's limit, the same row goes through.
	p = startCLI(t, "run", "-c", writeConfig(t, strings.Replace(text, "bulk_max_bytes = 262144", "bulk_max_bytes = 1000000", 1)))
	et.waitCaughtUp(t, my, p, 2*time.Minute)
	if n := et.assertIndexEqual(t, my, db, "t"); n != 76 {
		t.Fatalf("after raising bulk_max_bytes the index holds %d rows, want 76", n)
	}
	p.stop(t)
}
