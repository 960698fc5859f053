package schema

import (
	"bytes"
	"slices"
	"strings"
)

// Foreign key actions the binary log does not carry. InnoDB runs ON DELETE CASCADE / SET
// NULL and ON UPDATE CASCADE / SET NULL inside the storage engine, and the binary log
// holds only the change of the referenced (parent) row: the target applies the action to
// the replicated referencing (child) tables itself. FKGraph is what it needs to know of
// the tables' foreign keys for that, built from the definitions once per version.

// FKEdge is a foreign key of a replicated child table to a replicated parent table with
// an action the binary log does not carry.
type FKEdge struct {
	Child *Table
	FK    ForeignKey
	// Cols are the referencing columns (indexes into Child.Columns); RefCols the
	// referenced ones (indexes into the parent's columns), pairwise.
	Cols, RefCols []int
}

// OnDelete is the edge's ON DELETE action, upper case.
func (e *FKEdge) OnDelete() string { return strings.ToUpper(e.FK.OnDelete) }

// OnUpdate is the edge's ON UPDATE action, upper case.
func (e *FKEdge) OnUpdate() string { return strings.ToUpper(e.FK.OnUpdate) }

// FKGraph indexes the replicated tables' foreign key actions by parent table. It is not
// changed after BuildFKGraph, so the stages that read it (the batcher, the worker applying
// stored XA changes, the target) share one without locks.
type FKGraph struct {
	children map[string][]FKEdge
	// reach is, per parent, every table an action starting there may change.
	reach map[string]map[string]bool
	// names caches the qualified names of the definitions the graph was built from, so
	// the per-event look-ups do not build strings.
	names map[*Table]string
	// Untracked names foreign keys whose columns are not known (definitions stored by an
	// older version): their actions are not applied.
	Untracked []string
}

// UnloggedAction reports a foreign key action that changes child rows without row
// events of their own.
func UnloggedAction(a string) bool {
	switch strings.ToUpper(a) {
	case "CASCADE", "SET NULL", "SET DEFAULT":
		return true
	}
	return false
}

// ChangedColumns returns the indexes of the columns whose values differ between two
// images of a row (NULL differs from every value, the empty one included).
func ChangedColumns(before, after [][]byte) []int {
	var out []int
	for i := 0; i < len(before) && i < len(after); i++ {
		if (before[i] == nil) != (after[i] == nil) || !bytes.Equal(before[i], after[i]) {
			out = append(out, i)
		}
	}
	return out
}

// Fires returns the action a change of a parent row sets off along e, which InnoDB does
// not log: for a delete (del) the edge's ON DELETE, for an update its ON UPDATE when one of
// the columns it refers to is among changed. false when it sets off none (RESTRICT, NO
// ACTION, or an update of columns the edge does not refer to).
func (e *FKEdge) Fires(del bool, changed []int) (string, bool) {
	a := e.OnDelete()
	if !del {
		if !slices.ContainsFunc(e.RefCols, func(r int) bool { return slices.Contains(changed, r) }) {
			return "", false
		}
		a = e.OnUpdate()
	}
	return a, UnloggedAction(a)
}

// BuildFKGraph indexes the foreign keys of tables whose referenced table is among tables
// too (a parent that is not replicated has no row events to start an action from).
func BuildFKGraph(tables []*Table) *FKGraph {
	byName := map[string]*Table{}
	for _, t := range tables {
		byName[t.QualifiedName()] = t
	}
	g := &FKGraph{children: map[string][]FKEdge{}, reach: map[string]map[string]bool{}, names: map[*Table]string{}}
	for _, t := range tables {
		g.names[t] = t.QualifiedName()
	}
	for _, t := range tables {
		for _, fk := range t.ForeignKeys {
			if !UnloggedAction(fk.OnDelete) && !UnloggedAction(fk.OnUpdate) {
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

// Name is t's qualified name, without building it for a definition the graph was built
// from.
func (g *FKGraph) Name(t *Table) string {
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

// Involves reports whether table is the parent or the child of a foreign key action the
// graph holds.
func (g *FKGraph) Involves(table string) bool {
	if g == nil {
		return false
	}
	if len(g.children[table]) > 0 {
		return true
	}
	for _, r := range g.reach {
		if r[table] {
			return true
		}
	}
	return false
}

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
