package elastic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// fakeCluster answers the few endpoints the applier uses. Bulk requests go to onBulk,
// which returns one status (and error type) per action; state documents are kept.
type fakeCluster struct {
	mu      sync.Mutex
	onBulk  func(call int, actions []map[string]map[string]any) []itemAnswer
	calls   int
	bulks   [][]map[string]map[string]any
	sizes   []int             // bytes of each bulk request
	docs    map[string]string // state documents by path
	indexes map[string]bool
	aliases map[string]string // alias -> concrete index
}

type itemAnswer struct {
	status int
	errTyp string
}

func (f *fakeCluster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.URL.Path == "/":
		fmt.Fprint(w, `{"cluster_name":"fake","version":{"number":"8.19.0"}}`)
	case r.URL.Path == "/_index_template/_simulate":
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":{"type":"illegal_argument_exception","reason":"no unsigned_long"}}`)
	case r.URL.Path == "/_bulk":
		var actions []map[string]map[string]any
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var a map[string]map[string]any
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			actions = append(actions, a)
			if _, del := a["delete"]; !del {
				sc.Scan() // the document line
				if !json.Valid(sc.Bytes()) {
					http.Error(w, "bad document "+sc.Text(), 400)
					return
				}
			}
		}
		f.calls++
		f.bulks = append(f.bulks, actions)
		f.sizes = append(f.sizes, len(body))
		answers := f.onBulk(f.calls, actions)
		errs := false
		var items []string
		for i, a := range actions {
			op := "index"
			if _, del := a["delete"]; del {
				op = "delete"
			}
			ans := answers[i]
			if ans.errTyp != "" {
				errs = true
				items = append(items, fmt.Sprintf(`{%q:{"status":%d,"error":{"type":%q,"reason":"r%d"}}}`, op, ans.status, ans.errTyp, i))
			} else {
				items = append(items, fmt.Sprintf(`{%q:{"status":%d}}`, op, ans.status))
			}
		}
		fmt.Fprintf(w, `{"errors":%v,"items":[%s]}`, errs, strings.Join(items, ","))
	case strings.Contains(r.URL.Path, "/_doc/"):
		if r.Method == http.MethodPut {
			f.docs[r.URL.Path] = string(body)
			fmt.Fprint(w, `{"result":"updated"}`)
			return
		}
		if d, ok := f.docs[r.URL.Path]; ok {
			fmt.Fprintf(w, `{"found":true,"_source":%s}`, d)
			return
		}
		w.WriteHeader(404)
		fmt.Fprint(w, `{"found":false}`)
	case strings.HasPrefix(r.URL.Path, "/_resolve/index/"):
		name := strings.TrimPrefix(r.URL.Path, "/_resolve/index/")
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			var found []string
			for ix := range f.indexes {
				if strings.HasPrefix(ix, prefix) {
					found = append(found, fmt.Sprintf(`{"name":%q}`, ix))
				}
			}
			fmt.Fprintf(w, `{"indices":[%s],"aliases":[]}`, strings.Join(found, ","))
			return
		}
		if c, ok := f.aliases[name]; ok {
			fmt.Fprintf(w, `{"indices":[],"aliases":[{"name":%q,"indices":[%q]}]}`, name, c)
			return
		}
		if f.indexes[name] {
			fmt.Fprintf(w, `{"indices":[{"name":%q}],"aliases":[]}`, name)
			return
		}
		w.WriteHeader(404)
		fmt.Fprint(w, `{"error":{"type":"index_not_found_exception","reason":"no such index"},"status":404}`)
	case strings.HasSuffix(r.URL.Path, "/_mapping") && r.Method == http.MethodGet:
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/_mapping")
		if c, ok := f.aliases[name]; ok {
			name = c
		}
		if !f.indexes[name] {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":{"type":"index_not_found_exception","reason":"no such index"},"status":404}`)
			return
		}
		fmt.Fprintf(w, `{%q:{"mappings":{"properties":{"id":{"type":"long"},"v":{"type":"keyword"}}}}}`, name)
	case strings.HasSuffix(r.URL.Path, "/_alias") && r.Method == http.MethodGet:
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/_alias")
		var names []string
		for a, c := range f.aliases {
			if c == name {
				names = append(names, fmt.Sprintf(`%q:{}`, a))
			}
		}
		fmt.Fprintf(w, `{%q:{"aliases":{%s}}}`, name, strings.Join(names, ","))
	case r.URL.Path == "/_aliases" && r.Method == http.MethodPost:
		var req struct {
			Actions []map[string]struct{ Index, Alias string } `json:"actions"`
		}
		_ = json.Unmarshal(body, &req)
		for _, a := range req.Actions {
			if add, ok := a["add"]; ok {
				f.aliases[add.Alias] = add.Index
			}
		}
		fmt.Fprint(w, `{"acknowledged":true}`)
	case r.Method == http.MethodPut && strings.Count(r.URL.Path, "/") == 1:
		name := strings.TrimPrefix(r.URL.Path, "/")
		f.indexes[name] = true
		var req struct {
			Aliases map[string]any `json:"aliases"`
		}
		_ = json.Unmarshal(body, &req)
		for a := range req.Aliases {
			f.aliases[a] = name
		}
		fmt.Fprint(w, `{"acknowledged":true}`)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, 500)
	}
}

// testTarget opens a Target on f; settings are more lines of [target.elasticsearch].
func testTarget(t *testing.T, f *fakeCluster, settings ...string) *Target {
	t.Helper()
	f.docs, f.indexes, f.aliases = map[string]string{}, map[string]bool{}, map[string]string{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg, err := config.Parse(fmt.Sprintf(`[source]
host = "127.0.0.1"
user = "r"
password = "p"
server_id = 1
[target]
type = "elasticsearch"
[target.elasticsearch]
addresses = [%q]
%s
[[tables]]
source = "d.*"
`, srv.URL, strings.Join(settings, "\n")), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	routes, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := Open(context.Background(), cfg, routes, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return tgt
}

var testTable = &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{
	{Name: "id", DataType: "int"}, {Name: "v", DataType: "varchar", CharLength: 10},
}, Key: []int{0}, KeyIsPrimary: true}

func row(id, v string) change.Row { return change.Row{[]byte(id), []byte(v)} }

var pos = change.Position{Flavor: "mariadb", GTID: "0-1-500"}

func TestCommitRetriesOverloadedItemsThenMovesCheckpoint(t *testing.T) {
	f := &fakeCluster{onBulk: func(call int, actions []map[string]map[string]any) []itemAnswer {
		out := make([]itemAnswer, len(actions))
		for i := range out {
			out[i] = itemAnswer{status: 201}
		}
		if call == 1 {
			out[0] = itemAnswer{status: 429, errTyp: "es_rejected_execution_exception"}
			out[2] = itemAnswer{status: 409, errTyp: "version_conflict_engine_exception"}
		}
		return out
	}}
	tgt := testTarget(t, f)
	ctx := context.Background()
	tx, _ := tgt.Begin(ctx)
	// Two parts of one batch: id 1 is written twice and then deleted; only the delete goes.
	if err := tx.Apply(ctx, []change.TableChanges{{Table: testTable, Upserts: []change.Row{row("1", "a"), row("2", "b"), row("3", "c")}}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Apply(ctx, []change.TableChanges{{Table: testTable, Upserts: []change.Row{row("2", "b2")}, Deletes: []change.Row{row("1", "")}}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, pos); err != nil {
		t.Fatal(err)
	}
	if len(f.bulks) != 2 || len(f.bulks[0]) != 3 || len(f.bulks[1]) != 1 {
		t.Fatalf("bulk requests %v", f.bulks)
	}
	first := f.bulks[0]
	// Writes address the current generation's own write alias, never the table's alias
	// (a late write must not reach a later generation).
	d := first[0]["delete"]
	if ix, _ := d["_index"].(string); d == nil || d["_id"] != "1" || !strings.HasPrefix(ix, "d.t-g000001.w-") || f.aliases[ix] != "d.t-g000001" ||
		d["require_alias"] != true || d["version"] != float64(500) || d["version_type"] != "external_gte" {
		t.Errorf("first item %v, want the delete of 1 at version 500 through the write alias of d.t-g000001 (aliases %v)", first[0], f.aliases)
	}
	if f.bulks[1][0]["delete"]["_id"] != "1" {
		t.Errorf("retried %v, want the overloaded delete of 1 alone", f.bulks[1])
	}
	cp := f.docs["/replicator-state/_doc/checkpoint-default"]
	if !strings.Contains(cp, `"gtid":"0-1-500"`) || !strings.Contains(cp, `"phase":"streaming"`) {
		t.Errorf("checkpoint %s", cp)
	}
}

// TestCommitRetriesWriteBlockedItems: an index write block (403 cluster_block_exception)
// lifts without a change to the data, so its items are sent again, and a block that
// outlasts the attempts ends the batch transient with the block named, the checkpoint not
// moved.
func TestCommitRetriesWriteBlockedItems(t *testing.T) {
	for _, c := range []struct {
		name        string
		blockedFor  int // bulk calls answered with the block
		wantErr     bool
		wantBulks   int
		wantCheckpt bool
	}{
		{"block lifts", 2, false, 3, true},
		{"block stays", 1000, true, bulkAttempts, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeCluster{onBulk: func(call int, actions []map[string]map[string]any) []itemAnswer {
				out := make([]itemAnswer, len(actions))
				for i := range out {
					out[i] = itemAnswer{status: 201}
					if call <= c.blockedFor {
						out[i] = itemAnswer{status: 403, errTyp: "cluster_block_exception"}
					}
				}
				return out
			}}
			tgt := testTarget(t, f)
			tgt.retryBase = time.Millisecond
			ctx := context.Background()
			tx, _ := tgt.Begin(ctx)
			if err := tx.Apply(ctx, []change.TableChanges{{Table: testTable, Upserts: []change.Row{row("1", "a"), row("2", "b")}}}); err != nil {
				t.Fatal(err)
			}
			err := tx.Commit(ctx, pos)
			switch {
			case c.wantErr && (!errors.Is(err, fault.ErrTransient) || !strings.Contains(err.Error(), "write-blocked") || !strings.Contains(err.Error(), "cluster_block_exception")):
				t.Fatalf("error %v, want a transient error naming the write block", err)
			case !c.wantErr && err != nil:
				t.Fatal(err)
			}
			if len(f.bulks) != c.wantBulks {
				t.Errorf("%d bulk requests, want %d", len(f.bulks), c.wantBulks)
			}
			if _, ok := f.docs["/replicator-state/_doc/checkpoint-default"]; ok != c.wantCheckpt {
				t.Errorf("checkpoint written %v, want %v", ok, c.wantCheckpt)
			}
		})
	}
}

func TestCommitStopsOnRefusedItemWithoutCheckpoint(t *testing.T) {
	f := &fakeCluster{onBulk: func(call int, actions []map[string]map[string]any) []itemAnswer {
		out := make([]itemAnswer, len(actions))
		for i := range out {
			out[i] = itemAnswer{status: 201}
		}
		out[1] = itemAnswer{status: 400, errTyp: "document_parsing_exception"}
		return out
	}}
	tgt := testTarget(t, f)
	ctx := context.Background()
	tx, _ := tgt.Begin(ctx)
	if err := tx.Apply(ctx, []change.TableChanges{{Table: testTable, Upserts: []change.Row{row("6", "a"), row("7", "b")}}}); err != nil {
		t.Fatal(err)
	}
	err := tx.Commit(ctx, pos)
	var ie *ItemError
	if !errors.As(err, &ie) || errors.Is(err, fault.ErrTransient) {
		t.Fatalf("error %v, want a permanent *ItemError", err)
	}
	for _, want := range []string{`_id "7"`, "index d.t", "GTID 0-1-500", "document_parsing_exception", "HTTP 400"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, ok := f.docs["/replicator-state/_doc/checkpoint-default"]; ok {
		t.Error("checkpoint moved past a refused change")
	}
}

func TestCommitTransportFailureIsTransient(t *testing.T) {
	f := &fakeCluster{onBulk: func(int, []map[string]map[string]any) []itemAnswer { return nil }}
	tgt := testTarget(t, f)
	ctx := context.Background()
	tx, _ := tgt.Begin(ctx)
	if err := tx.Apply(ctx, []change.TableChanges{{Table: testTable, Upserts: []change.Row{row("1", "a")}}}); err != nil {
		t.Fatal(err)
	}
	tgt.es.Transport = failingTransport{}
	tgt.retryBase = time.Millisecond
	err := tx.Commit(context.Background(), pos)
	if !errors.Is(err, fault.ErrTransient) {
		t.Fatalf("error %v, want ErrTransient", err)
	}
}

type failingTransport struct{}

func (failingTransport) Perform(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp: connection refused")
}
