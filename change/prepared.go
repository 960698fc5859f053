package change

import (
	"encoding/json"
	"fmt"

	"github.com/replicator/replicator/schema"
)

// Prepared is one part of the row changes of a prepared XA transaction, which a target
// keeps in its state from the XA PREPARE until the XA COMMIT or XA ROLLBACK of the same
// id: a prepared transaction may stay open across any number of batches and restarts,
// and the checkpoint moves past its PREPARE long before its decision. A large one is
// stored in several parts, numbered from 0 in stream order.
type Prepared struct {
	XID  string
	GTID string // the GTID of the XA PREPARE event group
	Part int
	// Events are the row changes (Insert, Update, Delete) in stream order.
	Events []Event
}

// preparedWire is the stored form: definitions once, rows referring to them.
type preparedWire struct {
	Tables []*schema.Table `json:"tables"`
	Rows   []preparedRow   `json:"rows"`
}

type preparedRow struct {
	Table  int    `json:"t"`
	Kind   Kind   `json:"k"`
	Before Row    `json:"b,omitempty"`
	After  Row    `json:"a,omitempty"`
	GTID   string `json:"g,omitempty"`
}

// EncodeEvents serialises p.Events with the definitions they were decoded with, so they
// can be applied later whatever the schema tracker holds by then. NULL and empty values
// stay apart (JSON null and "").
func (p *Prepared) EncodeEvents() ([]byte, error) {
	w := preparedWire{Rows: make([]preparedRow, 0, len(p.Events))}
	idx := map[*schema.Table]int{}
	for i := range p.Events {
		ev := &p.Events[i]
		if ev.Table == nil {
			return nil, fmt.Errorf("prepared XA transaction %s: event %d has no table", p.XID, i)
		}
		t, ok := idx[ev.Table]
		if !ok {
			t = len(w.Tables)
			idx[ev.Table] = t
			w.Tables = append(w.Tables, ev.Table)
		}
		w.Rows = append(w.Rows, preparedRow{Table: t, Kind: ev.Kind, Before: ev.Before, After: ev.After, GTID: ev.GTID})
	}
	return json.Marshal(&w)
}

// DecodeEvents is the inverse of EncodeEvents.
func DecodeEvents(b []byte) ([]Event, error) {
	var w preparedWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("decode stored XA transaction: %w", err)
	}
	out := make([]Event, 0, len(w.Rows))
	for i, r := range w.Rows {
		if r.Table < 0 || r.Table >= len(w.Tables) || w.Tables[r.Table] == nil {
			return nil, fmt.Errorf("decode stored XA transaction: row %d names table %d of %d", i, r.Table, len(w.Tables))
		}
		out = append(out, Event{Kind: r.Kind, Table: w.Tables[r.Table], Before: r.Before, After: r.After, GTID: r.GTID})
	}
	return out, nil
}
