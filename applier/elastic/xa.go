package elastic

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/mapping"
)

// preparedDoc is one stored part of a prepared XA transaction ("xa-<name>-<xid>-<part>").
type preparedDoc struct {
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	XID       string    `json:"xid"`
	Part      int       `json:"part"`
	GTID      string    `json:"gtid"`
	Changes   []byte    `json:"changes"` // change.Prepared.EncodeEvents, base64 in _source
	UpdatedAt time.Time `json:"updated_at"`
}

func (s *State) preparedID(xid string, part int) string {
	return "xa-" + s.name + "-" + xid + "-" + strconv.Itoa(part)
}

// StorePrepared implements pipeline.Tx. Like every write of a batch it reaches
// Elasticsearch at Commit, before the checkpoint moves past the XA PREPARE; parts of the
// same transaction that this batch also decides never leave memory.
func (b *Batch) StorePrepared(ctx context.Context, p *change.Prepared) error {
	payload, err := p.EncodeEvents()
	if err != nil {
		return err
	}
	if b.prepared == nil {
		b.prepared = map[string]map[int]*preparedDoc{}
	}
	parts := b.prepared[p.XID]
	if parts == nil {
		parts = map[int]*preparedDoc{}
		b.prepared[p.XID] = parts
	}
	parts[p.Part] = &preparedDoc{Kind: "xa", Name: b.t.state.name, XID: p.XID, Part: p.Part, GTID: p.GTID, Changes: payload}
	return nil
}

// ResolvePrepared implements pipeline.Tx: parts are read in order from this batch or the
// state index (real-time GET), one at a time. The stored ones are deleted after the
// checkpoint has moved past the decision, so a crash before that finds them again.
func (b *Batch) ResolvePrepared(ctx context.Context, xid string, commit bool, apply func([]change.Event) error) (bool, error) {
	mem := b.prepared[xid]
	found := false
	for part := 0; ; part++ {
		var payload []byte
		if d := mem[part]; d != nil {
			payload = d.Changes
		} else {
			var d preparedDoc
			ok, err := b.t.state.get(ctx, b.t.state.preparedID(xid, part), &d)
			if err != nil {
				return found, err
			}
			if !ok {
				break
			}
			payload = d.Changes
			b.resolved = append(b.resolved, b.t.state.preparedID(xid, part))
		}
		found = true
		if !commit {
			continue
		}
		events, err := change.DecodeEvents(payload)
		if err != nil {
			return true, fmt.Errorf("part %d: %w", part, err)
		}
		if len(events) > 0 {
			if err := apply(events); err != nil {
				return true, err
			}
		}
	}
	delete(b.prepared, xid)
	return found, nil
}

// storePrepared writes the batch's prepared parts to the state index.
func (s *State) storePrepared(ctx context.Context, parts map[string]map[int]*preparedDoc) error {
	for _, byPart := range parts {
		for _, d := range byPart {
			d.UpdatedAt = time.Now().UTC()
			if err := s.put(ctx, s.preparedID(d.XID, d.Part), d); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteDocs removes state documents by id (missing ones are fine).
func (s *State) deleteDocs(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		var body []byte
		for _, id := range ids[:n] {
			body = append(body, `{"delete":{"_index":`...)
			body = mapping.AppendJSONString(body, s.index)
			body = append(body, `,"_id":`...)
			body = mapping.AppendJSONString(body, id)
			body = append(body, "}}\n"...)
		}
		var res struct {
			Errors bool `json:"errors"`
			Items  []map[string]struct {
				Status int `json:"status"`
			} `json:"items"`
		}
		if _, err := call(ctx, s.es, http.MethodPost, "/_bulk", url.Values{"filter_path": {"errors,items.*.status"}}, body, &res); err != nil {
			return fmt.Errorf("delete state documents in %s: %w", s.index, err)
		}
		if res.Errors {
			for _, it := range res.Items {
				for _, r := range it {
					if r.Status != http.StatusNotFound && r.Status >= 300 {
						return fmt.Errorf("delete state documents in %s: status %d", s.index, r.Status)
					}
				}
			}
		}
		ids = ids[n:]
	}
	return nil
}
