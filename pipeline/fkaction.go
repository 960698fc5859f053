package pipeline

import (
	"bytes"
	"context"
	"fmt"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// Foreign key actions. InnoDB runs ON DELETE CASCADE / SET NULL and ON UPDATE CASCADE /
// SET NULL inside the storage engine, and the binary log holds only the change of the
// referenced (parent) row. The pipeline therefore hands the target, at the point of the
// stream where the parent row is deleted or its referenced columns change, an FKAction;
// the target applies the tracked actions to the replicated referencing (child) tables in
// the same transaction, following the children's own foreign keys recursively
// (schema.FKGraph).
//
// Ordering with the fold: a batch folds many transactions into one state per key, which
// is only right for changes that commute. A cascade does not commute with a change of a
// row it may touch, so the batcher applies what it folded so far before an action whose
// tables (the parent's descendants) it touched, and applies the pending actions before it
// folds a later change of one of those tables. The child's own later changes therefore
// win over the cascade of an earlier parent change, as at the source.

// ForeignKeyApplier is implemented by a Tx that applies foreign key actions.
type ForeignKeyApplier interface {
	// ApplyForeignKeyActions applies the actions in order, each to the children g lists
	// for its parent and recursively to theirs, inside the open transaction.
	ApplyForeignKeyActions(ctx context.Context, g *schema.FKGraph, acts []change.FKAction) error
}

// actionFor returns the action a row event starts, or nil: a delete of a row with
// children whose ON DELETE action is not logged, or an update that changes columns an
// ON UPDATE action of a child refers to.
func actionFor(g *schema.FKGraph, ev *change.Event) *change.FKAction {
	if g.Empty() || ev.Table == nil || (ev.Kind != change.Delete && ev.Kind != change.Update) {
		return nil
	}
	edges := g.Children(g.Name(ev.Table))
	for i := range edges {
		e := &edges[i]
		if ev.Kind == change.Delete {
			if schema.UnloggedAction(e.FK.OnDelete) {
				return &change.FKAction{Parent: ev.Table, Before: ev.Before, GTID: ev.GTID, Time: ev.TxTime}
			}
			continue
		}
		if !schema.UnloggedAction(e.FK.OnUpdate) {
			continue
		}
		for _, r := range e.RefCols {
			if r >= len(ev.Before) || r >= len(ev.After) {
				continue
			}
			b, a := ev.Before[r], ev.After[r]
			if (b == nil) != (a == nil) || !bytes.Equal(b, a) {
				return &change.FKAction{Parent: ev.Table, Before: ev.Before, After: ev.After, GTID: ev.GTID, Time: ev.TxTime}
			}
		}
	}
	return nil
}

// fkOrder keeps the pending actions of a run of folded changes and the tables they may
// change, to decide when the fold must be applied first (see the package comment above).
type fkOrder struct {
	g       *schema.FKGraph
	actions []change.FKAction
	touched map[string]bool
}

// flushBefore reports whether the fold and the pending actions must be applied before ev
// is folded: ev changes a table a pending action may change.
func (o *fkOrder) flushBefore(ev *change.Event) bool {
	return len(o.actions) > 0 && ev.Table != nil && o.touched[o.g.Name(ev.Table)]
}

// after is called once ev is folded. It returns the action ev starts, and whether the fold
// must be applied before that action is queued (it holds a change of a table the action
// may change, possibly ev itself when the table refers to itself).
func (o *fkOrder) after(f *folder, ev *change.Event) (*change.FKAction, bool) {
	act := actionFor(o.g, ev)
	if act == nil {
		return nil, false
	}
	reach := o.g.Reach(o.g.Name(act.Parent))
	for _, t := range f.order {
		if reach[o.g.Name(t)] {
			return act, true
		}
	}
	return act, false
}

// push queues an action after the folded changes.
func (o *fkOrder) push(act *change.FKAction) {
	if o.touched == nil {
		o.touched = map[string]bool{}
	}
	o.actions = append(o.actions, *act)
	for t := range o.g.Reach(o.g.Name(act.Parent)) {
		o.touched[t] = true
	}
}

// take returns the pending actions and resets.
func (o *fkOrder) take() []change.FKAction {
	a := o.actions
	o.actions, o.touched = nil, nil
	return a
}

// applyFK applies actions through tx, which must implement ForeignKeyApplier.
func applyFK(ctx context.Context, tx Tx, g *schema.FKGraph, acts []change.FKAction) error {
	if len(acts) == 0 {
		return nil
	}
	fa, ok := tx.(ForeignKeyApplier)
	if !ok {
		return fmt.Errorf("the target does not apply foreign key actions (%s, GTID %s)", acts[0].Parent.QualifiedName(), acts[0].GTID)
	}
	return fa.ApplyForeignKeyActions(ctx, g, acts)
}
