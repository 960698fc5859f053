package route

import (
	"fmt"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

// Deletes returns the rule's delete mode (deletes = "..."): what a source DELETE, and an
// UPDATE that moves a key or leaves the row filter, does to the target row.
func (r *Route) Deletes() config.DeleteMode { return r.rule.deletes }

// checkDeletes refuses what the rule's delete mode cannot keep apart: a table without a
// key (a kept row has no identity for a later insert to clear, and the keyless path
// matches rows by every column) and a replicated source column named like a marker.
func (r *Route) checkDeletes(t *schema.Table, cols []int) error {
	m := r.rule.deletes
	if m == config.DeletesHard || m == "" {
		return nil
	}
	if len(t.Key) == 0 {
		return fmt.Errorf("tables[%d].deletes = %q: table %s has no key; keeping deleted rows needs one: set key = [\"col\", ...] in its [[tables]] rule to unique NOT NULL columns, or use deletes = \"hard\"", r.rule.index, m, t.QualifiedName())
	}
	if m != config.DeletesSoft {
		return nil
	}
	for _, c := range cols {
		if config.IsMarker(t.Columns[c].Name) {
			return fmt.Errorf("tables[%d].deletes = \"soft\": %s has a column %q, the name of a marker column soft deletes add (%s, %s): rename it at the source or leave it out with exclude_columns", r.rule.index, t.QualifiedName(), t.Columns[c].Name, config.MarkerDeleted, config.MarkerDeletedAt)
		}
	}
	return nil
}
