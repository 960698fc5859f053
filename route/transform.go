package route

import (
	"fmt"
	"sync"

	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/transform"
)

// Transforms returns the rule's compiled column transforms (rename, hash, metadata), nil
// when it has none: the identity.
func (r *Route) Transforms() *transform.Rules { return r.rule.transforms }

// View returns the target view of definition t under the rule's column transforms: the
// table the target holds (its travelling columns under their target names, hashed ones as
// CHAR(64), metadata columns last) and the row each source row becomes. A rule without
// transforms gives the view of the travelling columns as they are. Every path that writes
// or compares rows asks it, so snapshot, stream, online copy and verify make the same
// target row of a source row. It fails as Columns does, and where the transforms do not
// fit t (transform.Rules.View), or for metadata on a table without a key (a row matched
// by all its columns cannot carry values that differ with the transaction that wrote it).
func (r *Route) View(t *schema.Table) (*transform.View, error) {
	return r.rule.views.get(r, t)
}

// viewCache keeps the view of each definition it was asked for: a definition changes only
// with DDL, and rows of one definition are many.
type viewCache struct {
	mu sync.Mutex
	m  map[*schema.Table]*transform.View
}

func (c *viewCache) get(r *Route, t *schema.Table) (*transform.View, error) {
	c.mu.Lock()
	v, ok := c.m[t]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	cols, err := r.Columns(t)
	if err != nil {
		return nil, err
	}
	tr := r.rule.transforms
	if len(tr.Metadata()) > 0 && len(t.Key) == 0 {
		return nil, fmt.Errorf("tables[%d].metadata: table %s has no key, and its rows are matched by all their columns: set key = [\"col\", ...] in its [[tables]] rule, or remove metadata", r.rule.index, t.QualifiedName())
	}
	v, err = tr.View(t, cols, r.Wildcard())
	if err != nil {
		return nil, err
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
