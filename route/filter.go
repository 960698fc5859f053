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
	return r.rule.bound.get(r.rule, t)
}

// boundCache keeps the filter bound to each definition it was asked for: a definition
// changes only with DDL, and rows of one definition are many.
type boundCache struct {
	mu sync.Mutex
	m  map[*schema.Table]*filter.Bound
}

func (c *boundCache) get(r *rule, t *schema.Table) (*filter.Bound, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.m[t]; ok {
		return b, nil
	}
	b, err := r.where.Bind(t)
	if err != nil {
		return nil, fmt.Errorf("tables[%d].where = %q: %w", r.index, r.where.Text(), err)
	}
	if len(c.m) >= 1024 {
		// Old definitions after many DDL statements: forget them all, they bind again.
		clear(c.m)
	}
	c.m[t] = b
	return b, nil
}
