// Package tracker keeps the definitions of the selected tables as of the position being
// decoded. Row events are positional and, without binlog_row_metadata=FULL, nameless: the
// tracked definition is what gives their values names and types. DDL moves it on
// (ddl.Catalog), in stream order, before the row events that follow are decoded.
package tracker

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// Tracker maps source tables to their current definitions. It is safe for concurrent use.
type Tracker struct {
	routes *route.Set

	mu     sync.RWMutex
	tables ddl.Catalog
	// skip caches tables that no rule selects, so their events are dropped cheaply.
	skip map[string]bool
	// unknown holds selected names that a skipped RENAME gave to a table without a tracked
	// definition, taken for a temporary table (see MarkUnknown), with the reason.
	unknown map[ddl.TableName]string
	// provisional holds tables whose definition was read from the source's current schema
	// for an online copy (PutProvisional), not followed from the stream.
	provisional map[ddl.TableName]bool
}

// New returns a tracker of the tables routes selects, seeded with definitions (for
// example from the target's schema history at the checkpoint).
func New(routes *route.Set, defs []*schema.Table) *Tracker {
	t := &Tracker{routes: routes, tables: ddl.Catalog{}, skip: map[string]bool{}, unknown: map[ddl.TableName]string{}, provisional: map[ddl.TableName]bool{}}
	for _, d := range defs {
		t.tables[ddl.TableName{Schema: d.Schema, Name: d.Name}] = d
	}
	return t
}

// Selected reports whether a [[tables]] rule selects db.table.
func (t *Tracker) Selected(db, table string) bool {
	k := db + "\x00" + table
	t.mu.RLock()
	s, known := t.skip[k]
	t.mu.RUnlock()
	if known {
		return !s
	}
	sel := t.routes.Selects(db, table)
	t.mu.Lock()
	t.skip[k] = !sel
	t.mu.Unlock()
	return sel
}

// SelectedDB reports whether a [[tables]] rule may select tables of database db.
func (t *Tracker) SelectedDB(db string) bool { return t.routes.SelectsDB(db) }

// Lookup returns the tracked definition of db.table, or nil.
func (t *Tracker) Lookup(db, table string) *schema.Table {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.tables[ddl.TableName{Schema: db, Name: table}]
}

// Put sets the definition of a table, applying its rule's configured key. It refuses a
// name marked unknown: such a table was taken for a temporary one, and a definition read
// for it now (its first row event) means it was a real table whose rows were never copied.
func (t *Tracker) Put(def *schema.Table) error {
	n := ddl.TableName{Schema: def.Schema, Name: def.Name}
	t.mu.RLock()
	reason, marked := t.unknown[n]
	t.mu.RUnlock()
	if marked {
		return fmt.Errorf("table %s has rows, but %s; its rows were never copied: snapshot the table again (or, if it is not needed, leave it out of the [[tables]] rules)", n, reason)
	}
	if err := t.withRuleKey(def); err != nil {
		return err
	}
	if len(def.Key) == 0 && !t.routes.Keyless() {
		return fmt.Errorf("table %s has no primary key: set key = [\"col\", ...] in its [[tables]] rule (a PostgreSQL target replicates it without one, by full-row match)", def.QualifiedName())
	}
	t.mu.Lock()
	t.tables[ddl.TableName{Schema: def.Schema, Name: def.Name}] = def
	t.mu.Unlock()
	return nil
}

// PutProvisional is Put for a definition read from the source's current schema, which
// may be ahead of the position being decoded: the stream may still replay a DDL the
// definition already holds, and rows written before it. Such a table's DDL and rows are
// handled by its online copy (see pipeline/copier.go) until Confirm.
func (t *Tracker) PutProvisional(def *schema.Table) error {
	if err := t.Put(def); err != nil {
		return err
	}
	t.mu.Lock()
	t.provisional[ddl.TableName{Schema: def.Schema, Name: def.Name}] = true
	t.mu.Unlock()
	return nil
}

// Provisional reports whether db.table's definition came from PutProvisional and is not
// confirmed.
func (t *Tracker) Provisional(db, table string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.provisional[ddl.TableName{Schema: db, Name: table}]
}

// Confirm makes a provisional definition an ordinary one: the copy that needed it ended
// with every row as of a position past which the stream follows it.
func (t *Tracker) Confirm(db, table string) {
	t.mu.Lock()
	delete(t.provisional, ddl.TableName{Schema: db, Name: table})
	t.mu.Unlock()
}

func (t *Tracker) withRuleKey(def *schema.Table) error {
	if r := t.routes.For(def.Schema, def.Name); r != nil {
		return r.Identify(def)
	}
	return nil
}

// Apply moves the tracked definitions past one parsed DDL change and returns the names it
// touched. Definitions are replaced, never changed in place, so rows decoded earlier keep
// theirs. A change to a table the tracker does not hold is ignored when no rule selects it.
func (t *Tracker) Apply(ch ddl.Change) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	before := make(map[ddl.TableName]*schema.Table, len(t.tables))
	for k, v := range t.tables {
		before[k] = v
	}
	err := t.tables.Apply(ch)
	if nt, ok := err.(*ddl.NotTrackedError); ok && !t.routes.Selects(nt.Table.Schema, nt.Table.Name) {
		err = nil
	}
	defer t.unmark(ch)
	// A configured key survives primary key changes, and unselected tables are not kept.
	for k, v := range t.tables {
		if before[k] == v {
			continue
		}
		if !t.routes.Selects(k.Schema, k.Name) {
			delete(t.tables, k)
			continue
		}
		if kerr := t.withRuleKey(v); kerr != nil && err == nil {
			err = kerr
		}
	}
	return err
}

// MarkUnknown records that a skipped statement gave the selected name to to a table the
// tracker has no definition of (from, or a table of that name, was not a table of the
// source's schema when the statement was read: a temporary table). A temporary table
// never has row events, so Put refuses to and names reason if rows come for it. The mark
// of from, if any, moves to to; an unselected to is not marked.
func (t *Tracker) MarkUnknown(from, to ddl.TableName, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.unknown, from)
	if t.routes.Selects(to.Schema, to.Name) {
		t.unknown[to] = reason
	}
}

// Unmark forgets a mark MarkUnknown set on n.
func (t *Tracker) Unmark(n ddl.TableName) {
	t.mu.Lock()
	delete(t.unknown, n)
	t.mu.Unlock()
}

// unmark drops the marks of the names a change gives a definition or removes. Called with
// t.mu held.
func (t *Tracker) unmark(ch ddl.Change) {
	if len(t.unknown) == 0 {
		return
	}
	for n := range t.unknown {
		if t.tables[n] != nil {
			delete(t.unknown, n) // created (or renamed into) with a known definition
		}
	}
	switch c := ch.(type) {
	case *ddl.DropTables:
		for _, n := range c.Names {
			delete(t.unknown, n)
		}
	case *ddl.DropDatabase:
		for n := range t.unknown {
			if n.Schema == c.Name {
				delete(t.unknown, n)
			}
		}
	}
}

// Catalog returns a copy of the tracked definitions: what a DDL change is translated
// against later, in another goroutine, while the tracker moves on. The definitions
// themselves are shared (never changed in place).
func (t *Tracker) Catalog() ddl.Catalog {
	t.mu.RLock()
	defer t.mu.RUnlock()
	c := make(ddl.Catalog, len(t.tables))
	for k, v := range t.tables {
		c[k] = v
	}
	return c
}

// All returns the tracked definitions, sorted by name.
func (t *Tracker) All() []*schema.Table {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*schema.Table, 0, len(t.tables))
	for _, d := range t.tables {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].QualifiedName() < out[j].QualifiedName() })
	return out
}

// String lists the tracked tables, for logs.
func (t *Tracker) String() string {
	var names []string
	for _, d := range t.All() {
		names = append(names, d.QualifiedName())
	}
	return strings.Join(names, ", ")
}
