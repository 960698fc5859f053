package config

import (
	"fmt"
	"strings"
)

// DeleteMode says what a source DELETE does to a rule's target rows.
type DeleteMode string

// Delete modes of a [[tables]] rule (deletes = "...").
const (
	// DeletesHard deletes the target row (the default).
	DeletesHard DeleteMode = "hard"
	// DeletesSoft keeps the row and marks it: MarkerDeleted true and MarkerDeletedAt the
	// deleting transaction's commit time. A later insert of the key clears the marks.
	DeletesSoft DeleteMode = "soft"
	// DeletesIgnore keeps the row as it was last written.
	DeletesIgnore DeleteMode = "ignore"
)

// The marker columns a soft-delete rule adds to its target tables. A source column of
// either name is refused (it would be overwritten).
const (
	MarkerDeleted   = "_deleted"
	MarkerDeletedAt = "_deleted_at"
)

// IsMarker reports whether a column name is one of the soft-delete marker names
// (compared case-insensitively, as PostgreSQL folds unquoted names and MySQL compares
// column names).
func IsMarker(name string) bool {
	n := strings.ToLower(name)
	return n == MarkerDeleted || n == MarkerDeletedAt
}

// DeleteMode returns the rule's delete mode, DeletesHard when unset.
func (r *TableRule) DeleteMode() DeleteMode {
	if r.Deletes == "" {
		return DeletesHard
	}
	return DeleteMode(r.Deletes)
}

// validateDeletes checks deletes = "..." of rule i.
func (r *TableRule) validateDeletes(i int) error {
	switch DeleteMode(r.Deletes) {
	case "", DeletesHard, DeletesSoft, DeletesIgnore:
		return nil
	}
	return fmt.Errorf("tables[%d].deletes = %q: must be \"hard\" (default), \"soft\" or \"ignore\"", i, r.Deletes)
}
