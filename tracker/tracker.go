// Package tracker keeps the definitions of the selected tables as of the position being
// decoded. Row events are positional and, without binlog_row_metadata=FULL, nameless: the
// tracked definition is what gives their values names and types.
package tracker

import (
	"fmt"
	"strings"
	"sync"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

// Tracker maps source tables to their current definitions. It is safe for concurrent use.
type Tracker struct {
	cfg *config.Config

	mu     sync.RWMutex
	tables map[string]*schema.Table
	// skip caches tables that no rule selects, so their events are dropped cheaply.
	skip map[string]bool
}

// New returns a tracker seeded with definitions (for example from the target's schema
// history at the checkpoint).
func New(cfg *config.Config, defs []*schema.Table) *Tracker {
	t := &Tracker{cfg: cfg, tables: map[string]*schema.Table{}, skip: map[string]bool{}}
	for _, d := range defs {
		t.tables[key(d.Schema, d.Name)] = d
	}
	return t
}

func key(db, table string) string { return db + "\x00" + table }

// Selected reports whether a [[tables]] rule selects db.table.
func (t *Tracker) Selected(db, table string) bool {
	k := key(db, table)
	t.mu.RLock()
	s, known := t.skip[k]
	t.mu.RUnlock()
	if known {
		return !s
	}
	sel := t.cfg.Rule(db, table) != nil
	t.mu.Lock()
	t.skip[k] = !sel
	t.mu.Unlock()
	return sel
}

// Lookup returns the tracked definition of db.table, or nil.
func (t *Tracker) Lookup(db, table string) *schema.Table {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.tables[key(db, table)]
}

// Put sets the definition of a table, applying its rule's configured key.
func (t *Tracker) Put(def *schema.Table) error {
	if rule := t.cfg.Rule(def.Schema, def.Name); rule != nil && len(rule.Key) > 0 {
		if err := def.SetKey(rule.Key); err != nil {
			return err
		}
	}
	if len(def.Key) == 0 {
		return fmt.Errorf("table %s has no primary key: set key = [\"col\", ...] in its [[tables]] rule", def.QualifiedName())
	}
	t.mu.Lock()
	t.tables[key(def.Schema, def.Name)] = def
	t.mu.Unlock()
	return nil
}

// Remove forgets a table (after DROP TABLE).
func (t *Tracker) Remove(db, table string) {
	t.mu.Lock()
	delete(t.tables, key(db, table))
	t.mu.Unlock()
}

// All returns the tracked definitions.
func (t *Tracker) All() []*schema.Table {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*schema.Table, 0, len(t.tables))
	for _, d := range t.tables {
		out = append(out, d)
	}
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
