package elastic

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/plan"
)

// placeLast keeps every body at most lim.max bytes, sends one once it reaches lim.fill,
// keeps the items in order, and refuses an item larger than lim.max alone.
func TestPlaceLastSplitsBySize(t *testing.T) {
	lim := bulkLimits{fill: 300, max: 400}
	cur := getBody()
	var sent [][]string
	emit := func(b *bulkBody) error {
		var ids []string
		for i := range b.len() {
			ids = append(ids, b.describe(i))
		}
		if len(b.buf) > lim.max {
			t.Errorf("a body of %d bytes went out, limit %d", len(b.buf), lim.max)
		}
		sent = append(sent, ids)
		putBody(b)
		return nil
	}
	add := func(id string, doc int) error {
		cur.begin("index", []byte(`"i"`), []byte(id), 1)
		cur.buf = append(cur.buf, `{"v":"`...)
		cur.buf = append(cur.buf, strings.Repeat("x", doc)...)
		cur.buf = append(cur.buf, "\"}\n"...)
		return placeLast(&cur, lim, "d.t", []byte(id), emit)
	}
	// Items are about 75 bytes of action and JSON plus the document.
	for i, doc := range []int{10, 10, 200, 10, 250, 10} {
		if err := add(strconv.Itoa(i+1), doc); err != nil {
			t.Fatal(err)
		}
	}
	// 1+2 (about 170 bytes), then 3 (about 280) would make 450: 1+2 go, 3 starts the
	// next, 4 takes it to the fill size; 5 alone reaches it; 6 waits.
	want := [][]string{
		{`index of _id "1" in index i`, `index of _id "2" in index i`},
		{`index of _id "3" in index i`, `index of _id "4" in index i`},
		{`index of _id "5" in index i`},
	}
	if len(sent) != len(want) {
		t.Fatalf("sent %v, want %v", sent, want)
	}
	for i := range want {
		if strings.Join(sent[i], ";") != strings.Join(want[i], ";") {
			t.Errorf("body %d: %v, want %v", i, sent[i], want[i])
		}
	}
	err := add("big", 500)
	var big *DocumentTooLargeError
	if !errors.As(err, &big) || big.Table != "d.t" || big.ID != "big" || big.Limit != 400 || big.Size < 500 {
		t.Fatalf("error %v, want a DocumentTooLargeError for d.t _id big", err)
	}
	for _, part := range []string{"d.t", `"big"`, "target.elasticsearch.bulk_max_bytes = 400", "http.max_content_length"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %s", err, part)
		}
	}
	// The refused item is gone; the body still holds item 6 and takes more.
	if cur.len() != 1 || cur.describe(0) != `index of _id "6" in index i` {
		t.Errorf("after the refusal the body holds %d items", cur.len())
	}
	putBody(cur)
}

func wide(id string, n int) change.Row { return row(id, strings.Repeat("w", n)) }

// checkSizes fails when a request was larger than limit and returns the _ids written,
// sorted (a batch's requests go out concurrently).
func checkSizes(t *testing.T, f *fakeCluster, limit int) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for i, b := range f.bulks {
		if f.sizes[i] > limit {
			t.Errorf("bulk request %d is %d bytes, bulk_max_bytes %d", i+1, f.sizes[i], limit)
		}
		for _, a := range b {
			for _, act := range a {
				ids = append(ids, act["_id"].(string))
			}
		}
	}
	slices.Sort(ids)
	return ids
}

func allCreated(call int, actions []map[string]map[string]any) []itemAnswer {
	out := make([]itemAnswer, len(actions))
	for i := range out {
		out[i] = itemAnswer{status: 201}
	}
	return out
}

// A streamed batch whose documents together exceed bulk_max_bytes goes out in requests
// each within it, the checkpoint after the last; a refusal of a later request leaves the
// checkpoint where it was.
func TestCommitSplitsBulkRequestsByBytes(t *testing.T) {
	const limit = 65536
	for _, refuse := range []bool{false, true} {
		f := &fakeCluster{onBulk: func(call int, actions []map[string]map[string]any) []itemAnswer {
			out := allCreated(call, actions)
			if refuse && call == 3 {
				out[0] = itemAnswer{status: 400, errTyp: "mapper_parsing_exception"}
			}
			return out
		}}
		tgt := testTarget(t, f, "bulk_max_bytes = 65536")
		ctx := context.Background()
		tx, _ := tgt.Begin(ctx)
		var rows []change.Row
		for i := 1; i <= 9; i++ {
			rows = append(rows, wide(strconv.Itoa(i), 25000))
		}
		if err := tx.Apply(ctx, []change.TableChanges{{Table: testTable, Upserts: rows}}); err != nil {
			t.Fatal(err)
		}
		err := tx.Commit(ctx, pos)
		_, checkpointed := f.docs["/replicator-state/_doc/checkpoint-default"]
		if refuse {
			var ie *ItemError
			if !errors.As(err, &ie) || checkpointed {
				t.Fatalf("refused third request: error %v, checkpoint written %v; want the ItemError and no checkpoint", err, checkpointed)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !checkpointed {
			t.Error("checkpoint not written")
		}
		// Two documents of 25000 bytes fit in 64 KiB, three do not.
		ids := checkSizes(t, f, limit)
		if len(f.bulks) != 5 || strings.Join(ids, ",") != "1,2,3,4,5,6,7,8,9" {
			t.Errorf("%d requests of sizes %v writing %v; want 5 requests writing 1..9", len(f.bulks), f.sizes, ids)
		}
	}
}

// A streamed document larger than bulk_max_bytes stops the batch before anything is
// sent, naming the table, _id and size.
func TestCommitRefusesDocumentOverBulkMaxBytes(t *testing.T) {
	f := &fakeCluster{onBulk: allCreated}
	tgt := testTarget(t, f, "bulk_max_bytes = 65536")
	ctx := context.Background()
	tx, _ := tgt.Begin(ctx)
	if err := tx.Apply(ctx, []change.TableChanges{{Table: testTable, Upserts: []change.Row{row("1", "a"), wide("2", 70000), row("3", "c")}}}); err != nil {
		t.Fatal(err)
	}
	err := tx.Commit(ctx, pos)
	var big *DocumentTooLargeError
	if !errors.As(err, &big) || big.Table != "d.t" || big.ID != "2" || big.Size <= 70000 {
		t.Fatalf("error %v, want a DocumentTooLargeError for d.t _id 2", err)
	}
	if len(f.bulks) != 0 {
		t.Errorf("%d bulk requests sent before the refusal", len(f.bulks))
	}
	if _, ok := f.docs["/replicator-state/_doc/checkpoint-default"]; ok {
		t.Error("checkpoint written")
	}
}

// Snapshot chunks and changed rows (ApplyRows) split the same way, and refuse a document
// over the limit naming it.
func TestSnapshotSplitsBulkRequestsByBytes(t *testing.T) {
	const limit = 65536
	f := &fakeCluster{onBulk: allCreated}
	tgt := testTarget(t, f, "bulk_max_bytes = 65536")
	f.indexes["d.t"] = true // an index of an earlier version: written by its name
	ctx := context.Background()
	if err := tgt.setSnapshot(pos); err != nil {
		t.Fatal(err)
	}
	w, err := tgt.OpenChunk(ctx, testPlan(), plan.Chunk{ID: 0})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if err := w.Write(wide(strconv.Itoa(i), 30000)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := w.Commit(ctx); err != nil || n != 5 {
		t.Fatalf("Commit: %d rows, %v", n, err)
	}
	if ids := checkSizes(t, f, limit); len(f.bulks) != 3 || strings.Join(ids, ",") != "1,2,3,4,5" {
		t.Errorf("chunk: %d requests of sizes %v writing %v; want 3 writing 1..5", len(f.bulks), f.sizes, ids)
	}

	w, err = tgt.OpenChunk(ctx, testPlan(), plan.Chunk{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Write(wide("7", 70000))
	w.Abort()
	var big *DocumentTooLargeError
	if !errors.As(err, &big) || big.ID != "7" || !strings.Contains(err.Error(), "row 1 of d.t") {
		t.Fatalf("chunk Write: %v, want a DocumentTooLargeError for row 1, _id 7", err)
	}

	f.mu.Lock()
	f.bulks, f.sizes = nil, nil
	f.mu.Unlock()
	rows := []change.Row{wide("1", 30000), wide("2", 30000), wide("3", 30000)}
	if err := tgt.ApplyRows(ctx, testPlan(), pos, []change.Row{row("1", ""), row("9", "")}, rows); err != nil {
		t.Fatal(err)
	}
	if ids := checkSizes(t, f, limit); len(f.bulks) != 2 || strings.Join(ids, ",") != "1,2,3,9" {
		t.Errorf("ApplyRows: %d requests of sizes %v writing %v; want 2 writing 1,2,3,9", len(f.bulks), f.sizes, ids)
	}
	err = tgt.ApplyRows(ctx, testPlan(), pos, nil, []change.Row{row("1", "a"), wide("8", 70000)})
	if !errors.As(err, &big) || big.ID != "8" {
		t.Fatalf("ApplyRows: %v, want a DocumentTooLargeError for _id 8", err)
	}
}

// TestOverIndexingPressure: the reason of a 9.x rejection whose single operation is larger
// than the node's limit (seen on 9.5.3 with a 44.7 MB document and a 512 MB heap) is
// permanent; one that fits the limit, waiting on other writes, is not.
func TestOverIndexingPressure(t *testing.T) {
	for _, c := range []struct {
		reason  string
		request int
		want    bool
	}{
		{"es_rejected_execution_exception: rejected execution of primary operation [coordinating_and_primary_bytes=44739474, replica_bytes=0, all_bytes=44739474, primary_operation_bytes=178957096, max_primary_bytes=53687091]", 44739474, true},
		// 179 MB fits 214 MB, but not with the request's own 44.7 MB beside it.
		{"es_rejected_execution_exception: rejected execution of primary operation [coordinating_and_primary_bytes=44739474, replica_bytes=0, all_bytes=44739474, primary_operation_bytes=178957096, max_primary_bytes=214748364]", 44739474, true},
		{"es_rejected_execution_exception: rejected execution of primary operation [coordinating_and_primary_bytes=50000000, replica_bytes=0, all_bytes=50000000, primary_operation_bytes=4000000, max_primary_bytes=53687091]", 1000000, false},
		{"es_rejected_execution_exception: rejected execution of coordinating operation", 100, false},
	} {
		if got := overIndexingPressure(c.reason, c.request); got != c.want {
			t.Errorf("overIndexingPressure(%q) = %v, want %v", c.reason, got, c.want)
		}
	}
}
