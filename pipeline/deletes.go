package pipeline

import (
	"sync"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// deleteModes looks up the delete mode (deletes = "...") of each table version's rule,
// for the fold: the batcher's and the XA resolution's in the worker share one.
type deleteModes struct {
	routes *route.Set
	mu     sync.Mutex
	m      map[*schema.Table]config.DeleteMode
}

func newDeleteModes(routes *route.Set) *deleteModes {
	return &deleteModes{routes: routes, m: map[*schema.Table]config.DeleteMode{}}
}

// of returns t's delete mode; a table no rule selects deletes hard.
func (d *deleteModes) of(t *schema.Table) config.DeleteMode {
	if d == nil || d.routes == nil || t == nil {
		return config.DeletesHard
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if m, ok := d.m[t]; ok {
		return m
	}
	m := config.DeletesHard
	if rt := d.routes.For(t.Schema, t.Name); rt != nil {
		m = rt.Deletes()
	}
	if len(d.m) >= 1024 {
		clear(d.m) // old definitions after many DDL statements
	}
	d.m[t] = m
	return m
}
