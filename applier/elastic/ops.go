package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"sort"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/status"
)

// Status reads the checkpoint and the snapshot progress from the state index.
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
	return st, nil
}
