package route

import (
	"fmt"
	"strings"

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
		if tr.Source() != "" && len(t.Key) == 0 {
			return nil, fmt.Errorf("tables[%d].target: table %s has no key, and a fan-in target tells the rows of its source tables apart by %s and the key: set key = [\"col\", ...] in its [[tables]] rule to unique NOT NULL columns", r.rule.index, t.QualifiedName(), tr.Source())
		}
		if len(tr.Metadata()) > 0 && len(t.Key) == 0 {
			return nil, fmt.Errorf("tables[%d].metadata: table %s has no key, and its rows are matched by all their columns: set key = [\"col\", ...] in its [[tables]] rule, or remove metadata", r.rule.index, t.QualifiedName())
		}
		return tr.View(t, cols, r.Wildcard())
	})
}

// FanIn returns the fan-in source column when the rule merges several source tables
// into one target (config.TableRule.FanIn), "" otherwise. Such a target holds the rows
// of every source table the rule selects, each with its "db.table" (SourceValue) in that
// column, which leads the key: what concerns one source table as a whole (TRUNCATE, DROP,
// verify, a copy) concerns only the rows with its value.
func (r *Route) FanIn() string { return r.rule.transforms.Source() }

// SourceValue is the value of the fan-in source column for the route's table:
// "db.table".
func (r *Route) SourceValue() string { return r.db + "." + r.table }

// FanInGroups returns, per target (TargetName) of a fan-in rule, the tables among tables
// ("db.table" names of selected source tables) merged into it, in the order given.
func (s *Set) FanInGroups(tables []string) map[string][]string {
	out := map[string][]string{}
	for _, n := range tables {
		db, tb, _ := strings.Cut(n, ".")
		rt := s.For(db, tb)
		if rt == nil || rt.FanIn() == "" {
			continue
		}
		out[rt.TargetName()] = append(out[rt.TargetName()], n)
	}
	return out
}

// FanInCopyRefusal refuses the online copy (replicator resnapshot, a backfill, a table
// added to a rule) of a fan-in source table, nil for another table: the copy replaces the
// whole target table, which holds the other source tables' rows too. Replacing only one
// source table's rows is not built yet.
func (r *Route) FanInCopyRefusal() error {
	if r.FanIn() == "" {
		return nil
	}
	return fmt.Errorf("tables[%d].target: table %s cannot be copied online: it is merged into %s with the other tables of %q (fan-in), and an online copy replaces the whole target table; to copy it again, take a new snapshot (replicator snapshot)", r.rule.index, r.SourceValue(), r.TargetName(), r.rule.source)
}
