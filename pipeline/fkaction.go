package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// Foreign key actions. InnoDB runs ON DELETE CASCADE / SET NULL and ON UPDATE CASCADE /
// SET NULL inside the storage engine, and the binary log holds only the change of the
// referenced (parent) row. The pipeline therefore hands the target, at the point of the
// stream where the parent row is deleted or its referenced columns change, an FKAction;
// the target applies the tracked actions to the replicated referencing (child) tables in
// the same transaction, following the children's own foreign keys recursively.
//
// Ordering with the fold: a batch folds many transactions into one state per key, which
// is only right for changes that commute. A cascade does not commute with a change of a
// row it may touch, so the batcher applies what it folded so far before an action whose
// tables (the parent's descendants) it touched, and applies the pending actions before it
// folds a later change of one of those tables. The child's own later changes therefore
// win over the cascade of an earlier parent change, as at the source.

// FKEdge is a foreign key of a replicated child table to a replicated parent table with
// an action the binary log does not carry.
type FKEdge struct {
	Child *schema.Table
	FK    schema.ForeignKey
	// Cols are the referencing columns (indexes into Child.Columns); RefCols the
	// referenced ones (indexes into the parent's columns), pairwise.
	Cols, RefCols []int
}

// OnDelete and OnUpdate are the edge's actions, upper case.
func (e *FKEdge) OnDelete() string { return strings.ToUpper(e.FK.OnDelete) }

// OnUpdate is the edge's ON UPDATE action, upper case.
func (e *FKEdge) OnUpdate() string { return strings.ToUpper(e.FK.OnUpdate) }

// FKGraph indexes the replicated tables' foreign key actions by parent table.
type FKGraph struct {
	children map[string][]FKEdge
	// reach is, per parent, every table an action starting there may change. Built
	// with the graph: the batcher and the worker (stored XA changes) read it at once.
	reach map[string]map[string]bool
	// names caches the qualified names of the definitions the graph was built from, so
	// the per-event look-ups do not build strings.
	names map[*schema.Table]string
	// Untracked names foreign keys whose columns are not known (definitions stored by an
	// older version): their actions are not applied.
	Untracked []string
}

// unloggedAction reports an action that changes child rows without row events.
func unloggedAction(a string) bool {
	switch strings.ToUpper(a) {
	case "CASCADE", "SET NULL", "SET DEFAULT":
		return true
	}
	return false
}

// BuildFKGraph indexes the foreign keys of tables whose referenced table is among tables
// too (a parent that is not replicated has no row events to start an action from).
func BuildFKGraph(tables []*schema.Table) *FKGraph {
	byName := map[string]*schema.Table{}
	for _, t := range tables {
		byName[t.QualifiedName()] = t
	}
	g := &FKGraph{children: map[string][]FKEdge{}, reach: map[string]map[string]bool{}, names: map[*schema.Table]string{}}
	for _, t := range tables {
		g.names[t] = t.QualifiedName()
	}
	for _, t := range tables {
		for _, fk := range t.ForeignKeys {
			if !unloggedAction(fk.OnDelete) && !unloggedAction(fk.OnUpdate) {
				continue
			}
			rs := fk.RefSchema
			if rs == "" {
				rs = t.Schema
			}
			parent := byName[rs+"."+fk.RefTable]
			if parent == nil {
				continue
			}
			if len(fk.Columns) == 0 || len(fk.Columns) != len(fk.RefColumns) {
				g.Untracked = append(g.Untracked, t.QualifiedName()+"."+fk.Name)
				continue
			}
			e := FKEdge{Child: t, FK: fk}
			ok := true
			for i := range fk.Columns {
				c, r := t.ColumnIndex(fk.Columns[i]), parent.ColumnIndex(fk.RefColumns[i])
				if c < 0 || r < 0 {
					ok = false
					break
				}
				e.Cols, e.RefCols = append(e.Cols, c), append(e.RefCols, r)
			}
			if !ok {
				g.Untracked = append(g.Untracked, t.QualifiedName()+"."+fk.Name)
				continue
			}
			g.children[parent.QualifiedName()] = append(g.children[parent.QualifiedName()], e)
		}
	}
	for p := range g.children {
		g.reach[p] = g.reachOf(p)
	}
	return g
}

// name is t's qualified name.
func (g *FKGraph) name(t *schema.Table) string {
	if n, ok := g.names[t]; ok {
		return n
	}
	return t.QualifiedName()
}

// Children returns the edges whose parent is the table named "db.table".
func (g *FKGraph) Children(parent string) []FKEdge {
	if g == nil {
		return nil
	}
	return g.children[parent]
}

// Empty reports a graph without edges.
func (g *FKGraph) Empty() bool { return g == nil || len(g.children) == 0 }

// Reach returns every table an action starting at parent may change (its descendants).
func (g *FKGraph) Reach(parent string) map[string]bool { return g.reach[parent] }

func (g *FKGraph) reachOf(parent string) map[string]bool {
	r := map[string]bool{}
	stack := []string{parent}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range g.children[n] {
			c := e.Child.QualifiedName()
			if !r[c] {
				r[c] = true
				stack = append(stack, c)
			}
		}
	}
	return r
}

// FKAction is a parent row change whose foreign key actions the target applies: a delete
// (After is nil) or an update that changed referenced columns. Before and After are the
// full source row images.
type FKAction struct {
	Parent        *schema.Table
	Before, After change.Row
	GTID          string
}

// ForeignKeyApplier is implemented by a Tx that applies foreign key actions.
type ForeignKeyApplier interface {
	// ApplyForeignKeyActions applies the actions in order, each to the children g lists
	// for its parent and recursively to theirs, inside the open transaction.
	ApplyForeignKeyActions(ctx context.Context, g *FKGraph, acts []FKAction) error
}

// actionFor returns the action a row event starts, or nil: a delete of a row with
// children whose ON DELETE action is not logged, or an update that changes columns an
// ON UPDATE action of a child refers to.
func (g *FKGraph) actionFor(ev *change.Event) *FKAction {
	if g.Empty() || ev.Table == nil || (ev.Kind != change.Delete && ev.Kind != change.Update) {
		return nil
	}
	edges := g.children[g.name(ev.Table)]
	for i := range edges {
		e := &edges[i]
		if ev.Kind == change.Delete {
			if unloggedAction(e.FK.OnDelete) {
				return &FKAction{Parent: ev.Table, Before: ev.Before, GTID: ev.GTID}
			}
			continue
		}
		if !unloggedAction(e.FK.OnUpdate) {
			continue
		}
		for _, r := range e.RefCols {
			if r >= len(ev.Before) || r >= len(ev.After) {
				continue
			}
			b, a := ev.Before[r], ev.After[r]
			if (b == nil) != (a == nil) || !bytes.Equal(b, a) {
				return &FKAction{Parent: ev.Table, Before: ev.Before, After: ev.After, GTID: ev.GTID}
			}
		}
	}
	return nil
}

// fkOrder keeps the pending actions of a run of folded changes and the tables they may
// change, to decide when the fold must be applied first (see the package comment above).
type fkOrder struct {
	g       *FKGraph
	actions []FKAction
	touched map[string]bool
}

// flushBefore reports whether the fold and the pending actions must be applied before ev
// is folded: ev changes a table a pending action may change.
func (o *fkOrder) flushBefore(ev *change.Event) bool {
	return len(o.actions) > 0 && ev.Table != nil && o.touched[o.g.name(ev.Table)]
}

// after is called once ev is folded. It returns the action ev starts, and whether the fold
// must be applied before that action is queued (it holds a change of a table the action
// may change, possibly ev itself when the table refers to itself).
func (o *fkOrder) after(f *folder, ev *change.Event) (*FKAction, bool) {
	act := o.g.actionFor(ev)
	if act == nil {
		return nil, false
	}
	reach := o.g.Reach(o.g.name(act.Parent))
	for _, t := range f.order {
		if reach[o.g.name(t)] {
			return act, true
		}
	}
	return act, false
}

// push queues an action after the folded changes.
func (o *fkOrder) push(act *FKAction) {
	if o.touched == nil {
		o.touched = map[string]bool{}
	}
	o.actions = append(o.actions, *act)
	for t := range o.g.Reach(o.g.name(act.Parent)) {
		o.touched[t] = true
	}
}

// take returns the pending actions and resets.
func (o *fkOrder) take() []FKAction {
	a := o.actions
	o.actions, o.touched = nil, nil
	return a
}

// applyFK applies actions through tx, which must implement ForeignKeyApplier.
func applyFK(ctx context.Context, tx Tx, g *FKGraph, acts []FKAction) error {
	if len(acts) == 0 {
		return nil
	}
	fa, ok := tx.(ForeignKeyApplier)
	if !ok {
		return fmt.Errorf("the target does not apply foreign key actions (%s, GTID %s)", acts[0].Parent.QualifiedName(), acts[0].GTID)
	}
	return fa.ApplyForeignKeyActions(ctx, g, acts)
}
