package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/status"
)

// Status reads the checkpoint, the snapshot progress and the last error from the state
// index.
func (t *Target) Status(ctx context.Context) (*status.Target, error) {
	cp, err := t.state.checkpoint(ctx)
	var he *httpError
	if errors.As(err, &he) && he.Type == "no_shard_available_action_exception" {
		// A replicator created the state index after this command looked for it.
		if err = t.state.waitReady(ctx); err == nil {
			cp, err = t.state.checkpoint(ctx)
		}
	}
	if err != nil || cp == nil {
		return nil, err
	}
	st := &status.Target{Checkpoint: change.Position{Flavor: cp.Flavor, GTID: cp.GTID}, GTID: cp.GTID, Phase: cp.Phase, UpdatedAt: cp.UpdatedAt}
	var ed errorDoc
	if found, err := t.state.get(ctx, t.state.errorID(), &ed); err != nil {
		return nil, err
	} else if found {
		at := ed.UpdatedAt
		st.LastError, st.LastErrorAt = ed.Message, &at
	}
	tables, _, err := t.state.tables(ctx)
	if err != nil {
		return nil, err
	}
	for name, td := range tables {
		tb := status.Table{Source: name, Target: td.Index, Chunks: len(td.Chunks), Done: td.Done}
		ids := make([]string, len(td.Chunks))
		for i, c := range td.Chunks {
			ids[i] = t.state.chunkID(name, c.ID)
		}
		docs, err := t.state.mget(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, raw := range docs {
			var cd chunkDoc
			if json.Unmarshal(raw, &cd) == nil {
				tb.ChunksDone++
				tb.Rows += cd.Rows
			}
		}
		st.Tables = append(st.Tables, tb)
	}
	sort.Slice(st.Tables, func(i, j int) bool { return st.Tables[i].Source < st.Tables[j].Source })
	indexes := []string{t.state.index}
	for _, tb := range st.Tables {
		indexes = append(indexes, tb.Target)
	}
	if st.Blocked, err = t.writeBlocks(ctx, indexes); err != nil {
		return nil, err
	}
	return st, nil
}

// writeBlocks reads the write blocks in force on indexes (names or aliases; missing
// ones are skipped), one line each with what lifts it. The flood-stage watermark blocks
// the state index as well, so the last error a run meets then cannot be stored: this is
// what tells 'status' why replication waits.
func (t *Target) writeBlocks(ctx context.Context, indexes []string) ([]string, error) {
	names := make([]string, len(indexes))
	for i, ix := range indexes {
		names[i] = url.PathEscape(ix)
	}
	var res map[string]struct {
		Settings map[string]string `json:"settings"`
	}
	q := url.Values{"flat_settings": {"true"}, "ignore_unavailable": {"true"}, "allow_no_indices": {"true"}, "expand_wildcards": {"all"}}
	if _, err := call(ctx, t.es, http.MethodGet, "/"+strings.Join(names, ",")+"/_settings/index.blocks.*", q, nil, &res); err != nil {
		return nil, fmt.Errorf("read the write blocks of %s: %w", strings.Join(indexes, ", "), err)
	}
	var out []string
	for index, r := range res {
		switch {
		case r.Settings["index.blocks.read_only_allow_delete"] == "true":
			out = append(out, fmt.Sprintf("index %s: read_only_allow_delete, set by Elasticsearch when a node's disk is above the flood-stage watermark; it lifts by itself once the disk is below the high watermark: free disk space (replication resumes by itself)", index))
		case r.Settings["index.blocks.read_only"] == "true":
			out = append(out, fmt.Sprintf("index %s: index.blocks.read_only: replication waits until an administrator removes it", index))
		case r.Settings["index.blocks.write"] == "true":
			out = append(out, fmt.Sprintf("index %s: index.blocks.write: replication waits until an administrator removes it", index))
		}
	}
	sort.Strings(out)
	return out, nil
}

// errorDoc is the last error of one replicator, for 'replicator status'. It is a document
// of its own, not a field of the checkpoint, so recording it never races a commit's
// checkpoint write.
type errorDoc struct {
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Message   string    `json:"message"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RecordError stores the last error in the state index, for 'replicator status'. Under a
// block on the state index too (the flood-stage watermark blocks every index on the node)
// it fails like the commits do, and the log is what says why.
func (t *Target) RecordError(ctx context.Context, msg string) error {
	return t.state.put(ctx, t.state.errorID(), errorDoc{Kind: "error", Name: t.state.name, Message: msg, UpdatedAt: time.Now().UTC()})
}
