package route

import (
	"fmt"
	"strings"

	"github.com/replicator/replicator/schema"
)

// Replicates reports whether the rule's column lists (columns, exclude_columns) let the
// column of that name travel. Names compare case-insensitively, as MySQL's column names
// do. Key columns are not special here: Columns refuses a key column left out.
func (r *Route) Replicates(column string) bool {
	if len(r.rule.columns) > 0 && !containsFold(r.rule.columns, column) {
		return false
	}
	return !containsFold(r.rule.exclude, column)
}

// Identify sets t's key to the configured key, when the rule has one; otherwise t keeps
// its primary key (or none). A table definition is identified whenever it is read or
// changed by DDL, so a configured key survives primary key changes.
func (r *Route) Identify(t *schema.Table) error {
	if len(r.rule.key) == 0 {
		return nil
	}
	return t.SetKey(r.rule.key)
}

// Columns identifies t (Identify) and returns the indexes, in t.Columns order, of the
// columns that travel to the target. A table left without a key is an error unless the
// target replicates such tables (Set.Keyless). Column names the rule lists for a single
// table must exist; a pattern's lists apply where they fit. Every key column must travel.
func (r *Route) Columns(t *schema.Table) ([]int, error) {
	return r.columns(t, r.set.Keyless())
}

// KeyedColumns is Columns for a reader that needs a key whatever the target (verify
// compares rows by key).
func (r *Route) KeyedColumns(t *schema.Table) ([]int, error) {
	return r.columns(t, false)
}

func (r *Route) columns(t *schema.Table, keyless bool) ([]int, error) {
	if err := r.Identify(t); err != nil {
		return nil, fmt.Errorf("tables rule %q: %w", r.rule.source, err)
	}
	if len(t.Key) == 0 && !keyless {
		return nil, fmt.Errorf("table %s has no primary key: set key = [\"col\", ...] in its [[tables]] rule to unique NOT NULL columns (a PostgreSQL target replicates it without one, by full-row match)", t.QualifiedName())
	}
	var cols []int
	for i, c := range t.Columns {
		if r.Replicates(c.Name) {
			cols = append(cols, i)
		}
	}
	if !r.Wildcard() {
		want := append(append([]string{}, r.rule.columns...), r.rule.exclude...)
		for c := range r.rule.fieldTypes {
			want = append(want, c)
		}
		for _, want := range want {
			if t.ColumnIndex(want) < 0 {
				return nil, fmt.Errorf("tables rule %q: column %q does not exist in %s", r.rule.source, want, t.QualifiedName())
			}
		}
	}
	if _, err := r.Filter(t); err != nil {
		return nil, err
	}
	if err := r.checkDeletes(t, cols); err != nil {
		return nil, err
	}
	for _, k := range t.Key {
		if !containsInt(cols, k) {
			return nil, fmt.Errorf("tables rule %q: key column %q of %s must be replicated (it identifies rows)", r.rule.source, t.Columns[k].Name, t.QualifiedName())
		}
	}
	return cols, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}
