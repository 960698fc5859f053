package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/schema"
)

// State is the replicator's bookkeeping in the state index (state.index): one document per
// fact, all read back by id (real-time GET and mget, so nothing waits for a refresh).
// Elasticsearch has no transactions, so the order of writes is what keeps it consistent:
//
//   - "plan-<name>": the tables of the snapshot, written by Start before the checkpoint
//   - "table-<name>-<db.table>": a table's index, chunks, estimate, done flag
//   - "schema-<name>-<db.table>": the table definition and replicated columns, for the
//     schema tracker (what schema_history holds on PostgreSQL)
//   - "chunk-<name>-<db.table>-<id>": exists once every document of the chunk is
//     acknowledged
//   - "checkpoint-<name>": position and phase; written last by Start (the snapshot exists
//     from then on), by Finish, and by every streaming batch after its bulk requests
//     were fully acknowledged
type State struct {
	es    *elasticsearch.Client
	index string
	name  string
}

// Phases of a checkpoint.
const (
	PhaseSnapshot  = "snapshot"
	PhaseStreaming = "streaming"
)

// stateMapping indexes only what selecting a replicator's documents needs; the rest stays
// in _source. The index is hidden: searches over all indexes (GET /_search, "*") leave the
// replicator's own documents out, while requests naming it work as before.
const stateMapping = `{"settings":{"number_of_shards":1,"auto_expand_replicas":"0-1","hidden":true},
"mappings":{"dynamic":false,"properties":{"kind":{"type":"keyword"},"name":{"type":"keyword"},"source_table":{"type":"keyword"},"updated_at":{"type":"date"}}}}`

// checkpointDoc is the stored position of one replicator.
type checkpointDoc struct {
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Flavor    string    `json:"flavor"`
	GTID      string    `json:"gtid"`
	Phase     string    `json:"phase"`
	UpdatedAt time.Time `json:"updated_at"`
	// Seq is the position's transaction counter (change.Position.Seq), the version of
	// the writes up to here; absent in checkpoints of older versions.
	Seq uint64 `json:"seq,omitempty"`
}

func (cp *checkpointDoc) position() change.Position {
	return change.Position{Flavor: cp.Flavor, GTID: cp.GTID, Seq: cp.Seq}
}

type planDoc struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	GTID   string   `json:"gtid"`
	Tables []string `json:"tables"`
}

// indexSettings are the settings the snapshot changes and FinishTable puts back; nil
// means the index default.
type indexSettings struct {
	RefreshInterval  *string `json:"refresh_interval"`
	NumberOfReplicas *string `json:"number_of_replicas"`
	// AutoExpandReplicas is absent from the state of older versions, which did not turn
	// it off: null (the default, "false") is then what the index had.
	AutoExpandReplicas *string `json:"auto_expand_replicas"`
}

type tableDoc struct {
	Kind        string        `json:"kind"`
	Name        string        `json:"name"`
	SourceTable string        `json:"source_table"`
	Index       string        `json:"index"`
	Estimate    int64         `json:"estimate"`
	Chunks      []plan.Chunk  `json:"chunks"`
	Restore     indexSettings `json:"restore"`
	Done        bool          `json:"done"`
}

// ddlMark says the index actions of the schema change committed with a version ran, or,
// with Pending, are about to: Before holds what the names they move stood for then.
type ddlMark struct {
	Kind    string              `json:"kind"`
	Name    string              `json:"name"`
	GTID    string              `json:"gtid"`
	Pending bool                `json:"pending,omitempty"`
	Before  map[string][]string `json:"before,omitempty"`
}

type schemaDoc struct {
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	SourceTable string     `json:"source_table"`
	GTID        string     `json:"gtid"`
	Definition  storedPlan `json:"definition"`
	// History holds the definitions DDL gave the table after the snapshot, in stream
	// order; an entry counts only once the checkpoint has reached its version.
	History []schemaVersion `json:"history,omitempty"`
}

// schemaVersion is a table's definition from a position on; Table nil means dropped.
type schemaVersion struct {
	Version int64         `json:"version"`
	GTID    string        `json:"gtid"`
	Table   *schema.Table `json:"table"`
}

// storedPlan is a table definition with its replicated columns.
type storedPlan struct {
	Table   *schema.Table `json:"table"`
	Columns []int         `json:"columns"`
}

type chunkDoc struct {
	Kind        string    `json:"kind"`
	Name        string    `json:"name"`
	SourceTable string    `json:"source_table"`
	Chunk       int       `json:"chunk"`
	Rows        int64     `json:"rows"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func (s *State) checkpointID() string { return "checkpoint-" + s.name }
func (s *State) planID() string       { return "plan-" + s.name }
func (s *State) ddlID(version int64, i int) string {
	return "ddl-" + s.name + "-" + strconv.FormatInt(version, 10) + "-" + strconv.Itoa(i)
}
func (s *State) errorID() string            { return "error-" + s.name }
func (s *State) tableID(src string) string  { return "table-" + s.name + "-" + src }
func (s *State) schemaID(src string) string { return "schema-" + s.name + "-" + src }
func (s *State) chunkID(src string, id int) string {
	return "chunk-" + s.name + "-" + src + "-" + strconv.Itoa(id)
}

// ensure creates the state index unless it exists. Two replicators (or a replicator and
// another command) may create it at the same moment: the one that loses gets
// resource_already_exists_exception, which is success, but the index may not have its
// primary shard yet, so it waits for that before anything reads or writes the state.
func (s *State) ensure(ctx context.Context) error {
	_, err := call(ctx, s.es, http.MethodPut, "/"+url.PathEscape(s.index), nil, []byte(stateMapping), nil)
	if err == nil {
		return nil // the create request itself waits for the primary shard
	}
	var he *httpError
	if !errors.As(err, &he) || he.Type != "resource_already_exists_exception" {
		return fmt.Errorf("create state index %s: %w", s.index, err)
	}
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	// A state index created by an older version is visible to searches over all indexes.
	if _, err := call(ctx, s.es, http.MethodPut, "/"+url.PathEscape(s.index)+"/_settings", nil, []byte(`{"index":{"hidden":true}}`), nil); err != nil {
		return fmt.Errorf("hide state index %s from searches over all indexes (index.hidden): %w", s.index, err)
	}
	return nil
}

// waitReady waits until the state index has its primary shards: a request reaching an
// index that another process has just created fails with no_shard_available_action_exception.
// Cluster health cannot wait for it by status: a new index whose primary is not assigned
// yet is reported yellow, so the active primaries are counted.
func (s *State) waitReady(ctx context.Context) error {
	q := url.Values{"level": {"indices"}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var health struct {
			Indices map[string]struct {
				Shards        int `json:"number_of_shards"`
				ActivePrimary int `json:"active_primary_shards"`
			} `json:"indices"`
		}
		if _, err := call(ctx, s.es, http.MethodGet, "/_cluster/health/"+url.PathEscape(s.index), q, nil, &health, http.StatusRequestTimeout); err != nil {
			return fmt.Errorf("wait for state index %s: %w", s.index, err)
		}
		// Keyed by concrete index name (an alias resolves to its indices).
		shards, active := 0, 0
		for _, ix := range health.Indices {
			shards, active = shards+ix.Shards, active+ix.ActivePrimary
		}
		if shards > 0 && active == shards {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("state index %s exists but %d of its %d primary shards are active after 30s (GET _cluster/allocation/explain tells why)", s.index, active, shards)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// openExisting prepares reading a state index that may not exist, without creating it.
func (s *State) openExisting(ctx context.Context) error {
	code, err := call(ctx, s.es, http.MethodHead, "/"+url.PathEscape(s.index), nil, nil, nil, http.StatusNotFound)
	if err != nil {
		return fmt.Errorf("look for state index %s: %w", s.index, err)
	}
	if code == http.StatusNotFound {
		return nil // reads find no checkpoint
	}
	return s.waitReady(ctx)
}

func (s *State) docPath(id string) string {
	return "/" + url.PathEscape(s.index) + "/_doc/" + url.PathEscape(id)
}

// put stores a document. Elasticsearch acknowledges an index request after its translog
// is synced (index.translog.durability = request), so an acknowledged state is durable.
func (s *State) put(ctx context.Context, id string, doc any) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if _, err := call(ctx, s.es, http.MethodPut, s.docPath(id), nil, b, nil); err != nil {
		return fmt.Errorf("store %s in %s: %w", id, s.index, err)
	}
	return nil
}

// get reads a document in real time; found is false when it does not exist.
func (s *State) get(ctx context.Context, id string, out any) (found bool, err error) {
	var res struct {
		Found  bool            `json:"found"`
		Source json.RawMessage `json:"_source"`
	}
	if _, err := call(ctx, s.es, http.MethodGet, s.docPath(id), nil, nil, &res, http.StatusNotFound); err != nil {
		return false, fmt.Errorf("read %s from %s: %w", id, s.index, err)
	}
	if !res.Found {
		return false, nil
	}
	if err := json.Unmarshal(res.Source, out); err != nil {
		return false, fmt.Errorf("decode %s from %s: %w", id, s.index, err)
	}
	return true, nil
}

// mget reads documents by id in real time; missing ones are absent from the result.
func (s *State) mget(ctx context.Context, ids []string) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		body, err := json.Marshal(map[string]any{"ids": ids[:n]})
		if err != nil {
			return nil, err
		}
		var res struct {
			Docs []struct {
				ID     string          `json:"_id"`
				Found  bool            `json:"found"`
				Source json.RawMessage `json:"_source"`
			} `json:"docs"`
		}
		if _, err := call(ctx, s.es, http.MethodPost, "/"+url.PathEscape(s.index)+"/_mget", nil, body, &res); err != nil {
			return nil, fmt.Errorf("read state from %s: %w", s.index, err)
		}
		for _, d := range res.Docs {
			if d.Found {
				out[d.ID] = d.Source
			}
		}
		ids = ids[n:]
	}
	return out, nil
}

// reset removes the documents of an earlier snapshot of this replicator (found through
// its plan, which Start writes first), before a new snapshot stores its own. It works by
// id, so it needs neither a refresh nor the delete-by-query module.
func (s *State) reset(ctx context.Context) error {
	tables, _, err := s.tables(ctx)
	if err != nil {
		return err
	}
	ids := []string{s.planID()}
	for name, td := range tables {
		ids = append(ids, s.tableID(name), s.schemaID(name))
		for _, c := range td.Chunks {
			ids = append(ids, s.chunkID(name, c.ID))
		}
	}
	if err := s.deleteDocs(ctx, ids); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return nil
}

// checkpoint returns the stored checkpoint, or nil when there is none.
func (s *State) checkpoint(ctx context.Context) (*checkpointDoc, error) {
	var cp checkpointDoc
	found, err := s.get(ctx, s.checkpointID(), &cp)
	if err != nil || !found {
		return nil, err
	}
	return &cp, nil
}

func (s *State) saveCheckpoint(ctx context.Context, pos change.Position, phase string) error {
	v, err := PositionVersion(pos)
	if err != nil {
		return err
	}
	return s.put(ctx, s.checkpointID(), checkpointDoc{Kind: "checkpoint", Name: s.name, Flavor: pos.Flavor, GTID: pos.GTID, Phase: phase, UpdatedAt: time.Now().UTC(), Seq: uint64(v)})
}

// tables reads the snapshot plan's table documents and definitions.
func (s *State) tables(ctx context.Context) (map[string]*tableDoc, map[string]*schemaDoc, error) {
	var plan planDoc
	found, err := s.get(ctx, s.planID(), &plan)
	if err != nil || !found {
		return nil, nil, err
	}
	ids := make([]string, 0, 2*len(plan.Tables))
	for _, n := range plan.Tables {
		ids = append(ids, s.tableID(n), s.schemaID(n))
	}
	docs, err := s.mget(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	tables, schemas := map[string]*tableDoc{}, map[string]*schemaDoc{}
	for _, n := range plan.Tables {
		if raw, ok := docs[s.tableID(n)]; ok {
			var td tableDoc
			if err := json.Unmarshal(raw, &td); err != nil {
				return nil, nil, fmt.Errorf("decode snapshot state of %s: %w", n, err)
			}
			tables[n] = &td
		}
		if raw, ok := docs[s.schemaID(n)]; ok {
			var sd schemaDoc
			if err := json.Unmarshal(raw, &sd); err != nil {
				return nil, nil, fmt.Errorf("decode stored definition of %s: %w", n, err)
			}
			schemas[n] = &sd
		}
	}
	return tables, schemas, nil
}

// recordSchemas appends the definitions a batch's DDL produced to the tables' schema
// documents (adding new tables to the plan, so Definitions finds them), before the
// checkpoint moves: entries beyond the checkpoint are ignored on restart.
func (s *State) recordSchemas(ctx context.Context, scs []*ddl.SchemaChange, version int64) error {
	if len(scs) == 0 {
		return nil
	}
	var plan planDoc
	if _, err := s.get(ctx, s.planID(), &plan); err != nil {
		return err
	}
	planChanged := false
	record := func(name, gtid string, def *schema.Table) error {
		var sd schemaDoc
		found, err := s.get(ctx, s.schemaID(name), &sd)
		if err != nil {
			return err
		}
		if !found {
			sd = schemaDoc{Kind: "schema", Name: s.name, SourceTable: name, GTID: gtid}
		}
		sd.History = append(sd.History, schemaVersion{Version: version, GTID: gtid, Table: def})
		if err := s.put(ctx, s.schemaID(name), sd); err != nil {
			return err
		}
		for _, n := range plan.Tables {
			if n == name {
				return nil
			}
		}
		plan.Tables, planChanged = append(plan.Tables, name), true
		return nil
	}
	for _, sc := range scs {
		for _, def := range sc.Tables {
			if err := record(def.QualifiedName(), sc.GTID, def); err != nil {
				return err
			}
		}
		for _, name := range sc.Dropped {
			if err := record(name, sc.GTID, nil); err != nil {
				return err
			}
		}
	}
	if planChanged {
		plan.Kind, plan.Name = "plan", s.name
		return s.put(ctx, s.planID(), plan)
	}
	return nil
}
