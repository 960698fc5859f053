package route

import (
	"fmt"

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
	return r.rule.views.get(t, func() (*transform.View, error) {
		cols, err := r.Columns(t)
		if err != nil {
			return nil, err
		}
		tr := r.rule.transforms
		if len(tr.Metadata()) > 0 && len(t.Key) == 0 {
			return nil, fmt.Errorf("tables[%d].metadata: table %s has no key, and its rows are matched by all their columns: set key = [\"col\", ...] in its [[tables]] rule, or remove metadata", r.rule.index, t.QualifiedName())
		}
		return tr.View(t, cols, r.Wildcard())
	})
}
