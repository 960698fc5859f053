package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/replicator/replicator/plan"
)

func testPlan() *plan.Table {
	return &plan.Table{Table: testTable, Columns: []int{0, 1}, Chunks: []plan.Chunk{{ID: 0}}}
}

// chunkDocs returns the stored chunk documents by path.
func chunkDocs(f *fakeCluster) map[string]chunkDoc {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]chunkDoc{}
	for path, d := range f.docs {
		if strings.Contains(path, "/_doc/chunk-") {
			var c chunkDoc
			_ = json.Unmarshal([]byte(d), &c)
			out[path] = c
		}
	}
	return out
}

// A chunk's rows go out in bulk requests of at most bulkMaxItems, every one an index
// action with the snapshot's version addressed to the generation's write alias, and the
// chunk is marked done with its row count only at Commit.
func TestChunkWriterSendsInBulksThenMarksDone(t *testing.T) {
	f := &fakeCluster{onBulk: func(call int, actions []map[string]map[string]any) []itemAnswer {
		out := make([]itemAnswer, len(actions))
		for i := range out {
			out[i] = itemAnswer{status: 201}
		}
		return out
	}}
	tgt := testTarget(t, f)
	// The table's alias, its generation and the generation's write alias, which every
	// write addresses with require_alias.
	const gen, write = "d.t-g000001", "d.t-g000001.w-0000abcd"
	f.indexes[gen], f.aliases["d.t"], f.aliases[write] = true, gen, gen
	ctx := context.Background()
	if err := tgt.setSnapshot(pos); err != nil {
		t.Fatal(err)
	}
	_, version, _ := tgt.snapshotVersion()
	w, err := tgt.OpenChunk(ctx, testPlan(), plan.Chunk{ID: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	const n = 2*bulkMaxItems + 5
	for i := 1; i <= n; i++ {
		if err := w.Write(row(strconv.Itoa(i), "v")); err != nil {
			t.Fatal(err)
		}
	}
	if docs := chunkDocs(f); len(docs) != 0 {
		t.Fatalf("chunk marked done before Commit: %v", docs)
	}
	rows, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows != n {
		t.Errorf("Commit stored %d rows, want %d", rows, n)
	}
	f.mu.Lock()
	sizes := []int{}
	next := 1
	for _, b := range f.bulks {
		sizes = append(sizes, len(b))
		for _, a := range b {
			act, ok := a["index"]
			if !ok {
				t.Fatalf("action %v, want index", a)
			}
			if act["_id"] != strconv.Itoa(next) || act["_index"] != write || act["require_alias"] != true || act["version"] != float64(version) || act["version_type"] != "external_gte" {
				t.Fatalf("action %d: %v", next, act)
			}
			next++
		}
	}
	f.mu.Unlock()
	if want := []int{bulkMaxItems, bulkMaxItems, 5}; len(sizes) != 3 || sizes[0] != want[0] || sizes[1] != want[1] || sizes[2] != want[2] {
		t.Errorf("bulk sizes %v, want %v", sizes, want)
	}
	docs := chunkDocs(f)
	if len(docs) != 1 {
		t.Fatalf("chunk documents %v, want one", docs)
	}
	for _, d := range docs {
		if d.Kind != "chunk" || d.SourceTable != "d.t" || d.Chunk != 0 || d.Rows != n {
			t.Errorf("chunk document %+v", d)
		}
	}
	w.Abort() // after Commit: nothing
	if len(chunkDocs(f)) != 1 {
		t.Error("Abort after Commit changed the chunk's state")
	}
}

// An item the cluster refuses stops the chunk with the refusal (from Write once the
// sender failed, or from Commit); the chunk is not marked done and Abort returns.
func TestChunkWriterRefusedItemLeavesChunkPending(t *testing.T) {
	f := &fakeCluster{onBulk: func(call int, actions []map[string]map[string]any) []itemAnswer {
		out := make([]itemAnswer, len(actions))
		for i := range out {
			out[i] = itemAnswer{status: 201}
		}
		out[1] = itemAnswer{status: 400, errTyp: "mapper_parsing_exception"}
		return out
	}}
	tgt := testTarget(t, f)
	f.indexes["d.t"] = true // an index of an earlier version: written by its name
	ctx := context.Background()
	if err := tgt.setSnapshot(pos); err != nil {
		t.Fatal(err)
	}
	w, err := tgt.OpenChunk(ctx, testPlan(), plan.Chunk{ID: 0})
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := 1; i <= 4*bulkMaxItems && werr == nil; i++ {
		werr = w.Write(row(strconv.Itoa(i), "v"))
	}
	if werr == nil {
		_, werr = w.Commit(ctx)
	}
	w.Abort()
	var ie *ItemError
	if !errors.As(werr, &ie) || ie.Reason != "mapper_parsing_exception: r1" {
		t.Fatalf("error %v, want the refused item", werr)
	}
	if docs := chunkDocs(f); len(docs) != 0 {
		t.Errorf("a failed chunk was marked done: %v", docs)
	}
}
