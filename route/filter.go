package route

import (
	"fmt"
	"sync"

	"github.com/replicator/replicator/filter"
	"github.com/replicator/replicator/schema"
)

// Where returns the rule's row filter (where = "..."), nil when every row travels. The
// snapshot, online copies and verify send its SQL to the source; the stream evaluates
// it on row images with the Bound that Filter gives.
func (r *Route) Where() *filter.Expr { return r.rule.where }

// Filter returns the rule's row filter bound to definition t, nil when the rule has none.
// Binding fails when t lacks a column the filter reads (a DDL statement dropped or renamed
// it) or has one of a type filters do not compare.
func (r *Route) Filter(t *schema.Table) (*filter.Bound, error) {
	if r.rule.where == nil {
		return nil, nil
	}
	return r.rule.bound.get(t, func() (*filter.Bound, error) {
		b, err := r.rule.where.Bind(t)
		if err != nil {
			return nil, fmt.Errorf("tables[%d].where = %q: %w", r.rule.index, r.rule.where.Text(), err)
		}
		return b, nil
	})
}

// defCache keeps what was made of each definition it was asked for (a bound filter, a
// transform view): a definition changes only with DDL, and rows of one definition are
// many. make runs outside the lock (it may ask the route for more).
type defCache[V any] struct {
	mu sync.Mutex
	m  map[*schema.Table]V
}

func newDefCache[V any]() *defCache[V] { return &defCache[V]{m: map[*schema.Table]V{}} }

func (c *defCache[V]) get(t *schema.Table, make func() (V, error)) (V, error) {
	c.mu.Lock()
	v, ok := c.m[t]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := make()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= 1024 {
		// Old definitions after many DDL statements: forget them all, they are made again.
		clear(c.m)
	}
	c.m[t] = v
	return v, nil
}
