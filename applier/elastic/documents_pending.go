package elastic

import (
	"context"
	"fmt"
	"net/http"

	"github.com/replicator/replicator/change"
)

// The child rows a foreign key action changes have no binary log events: the batch finds
// them in the child's index (fkaction.go) and touches their documents (touchDoc). Once
// the batch's bulk writes are acknowledged those children are already changed, so a
// replay of the batch after a kill before its documents were composed again (and its
// checkpoint stored) finds no children left to act on, and nothing would compose the
// documents that held them: a film would keep the actor a cascade deleted. So the
// batch stores those touches in the state index before its first bulk request, and the
// first batch a process commits composes the stored ones again too (the replay of the
// killed batch, or any later one: the documents are read after its writes, so at least
// as new as its version), then removes them.

// pendingTouches is the state document of the foreign key actions' touches not yet
// composed (pendingID).
type pendingTouches struct {
	Kind string       `json:"kind"`
	Name string       `json:"name"`
	Rows []pendingRow `json:"rows"`
}

// pendingRow is one touched child row: the values of its columns that find documents
// (keys and join columns, as their key text).
type pendingRow struct {
	Table  string            `json:"table"`
	Values map[string]string `json:"values"`
}

func (s *State) pendingID() string { return "touched-" + s.name }

// loadPending reads the touches a killed process stored and did not compose, once per
// process, as touches of the tables' current definitions.
func (t *Target) loadPending(ctx context.Context) ([]docTouch, error) {
	t.mu.Lock()
	read := t.pendingRead
	t.mu.Unlock()
	if read {
		return nil, nil
	}
	var doc pendingTouches
	found, err := t.state.get(ctx, t.state.pendingID(), &doc)
	if err != nil {
		return nil, err
	}
	var out []docTouch
	if found && len(doc.Rows) > 0 {
		defs, err := t.Definitions(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range doc.Rows {
			for _, def := range defs {
				if def.QualifiedName() != r.Table {
					continue
				}
				row := make(change.Row, len(def.Columns))
				for col, v := range r.Values {
					if i := def.ColumnIndex(col); i >= 0 {
						row[i] = []byte(v)
					}
				}
				out = append(out, docTouch{def: def, row: row})
			}
		}
		t.log.Info("composing again the documents of foreign key actions a stopped run did not compose", "rows", len(out))
	}
	t.mu.Lock()
	t.pendingRead, t.pending = true, out
	t.mu.Unlock()
	return out, nil
}

// storeFKTouches runs at Commit before any bulk request: it adds the stored touches of a
// killed run to the batch's, and stores the batch's foreign key touches with them.
func (b *Batch) storeFKTouches(ctx context.Context) error {
	t := b.t
	if len(t.cfg.Documents) == 0 {
		return nil
	}
	if _, err := t.loadPending(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	pending := t.pending
	t.mu.Unlock()
	b.touched = append(b.touched, pending...)
	if len(b.fkTouched) == 0 {
		return nil
	}
	doc := pendingTouches{Kind: "touched", Name: t.state.name}
	for _, tc := range append(append([]docTouch(nil), pending...), b.fkTouched...) {
		r := pendingRow{Table: tc.def.QualifiedName(), Values: map[string]string{}}
		for i, v := range tc.row {
			if v != nil && i < len(tc.def.Columns) {
				r.Values[tc.def.Columns[i].Name] = string(v)
			}
		}
		doc.Rows = append(doc.Rows, r)
	}
	if err := t.state.put(ctx, t.state.pendingID(), doc); err != nil {
		return fmt.Errorf("store the documents foreign key actions touch: %w", err)
	}
	t.mu.Lock()
	t.pendingStored = true
	t.mu.Unlock()
	return nil
}

// clearFKTouches removes the stored touches once the batch composed them all.
func (b *Batch) clearFKTouches(ctx context.Context) error {
	t := b.t
	t.mu.Lock()
	stored := t.pendingStored || len(t.pending) > 0
	t.mu.Unlock()
	if !stored {
		return nil
	}
	if _, err := call(ctx, t.es, http.MethodDelete, t.state.docPath(t.state.pendingID()), nil, nil, nil, http.StatusNotFound); err != nil {
		return fmt.Errorf("remove the composed foreign key touches %s from %s: %w", t.state.pendingID(), t.state.index, err)
	}
	t.mu.Lock()
	t.pending, t.pendingStored = nil, false
	t.mu.Unlock()
	return nil
}
