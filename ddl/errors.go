package ddl

import (
	"errors"
	"fmt"
)

// UnsupportedError is returned by Parse for a statement that it cannot turn into changes: the
// parser rejects its syntax, or it changes rows in a way that the binary log does not carry
// (DROP / TRUNCATE / EXCHANGE PARTITION, IMPORT TABLESPACE). The caller applies its
// [ddl] on_error policy: "stop" reports it, "skip" logs it and goes on, knowing the tracked
// definition or the target may now differ from the source.
type UnsupportedError struct {
	SQL    string // the statement
	Reason string
}

// Error implements error.
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("unsupported DDL %q: %s", abbreviate(e.SQL), e.Reason)
}

// ErrNotTracked is matched (errors.Is) by a NotTrackedError.
var ErrNotTracked = errors.New("table definition not tracked")

// NotTrackedError is returned by Catalog.Apply when a change needs the definition of a table
// that the catalog does not hold: an ALTER of it, a CREATE TABLE ... LIKE it, or a RENAME that
// moves an untracked table to a new name. Table is the table that is left without a known
// definition; a caller that tracks only the replicated tables ignores the error when Table
// is not one of them.
type NotTrackedError struct {
	Table TableName
	// Missing is the table whose definition was needed (the LIKE or RENAME source; the same
	// as Table for an ALTER).
	Missing TableName
}

// Error implements error.
func (e *NotTrackedError) Error() string {
	if e.Missing == e.Table {
		return fmt.Sprintf("%s: %v", e.Table, ErrNotTracked)
	}
	return fmt.Sprintf("%s: definition of %s: %v", e.Table, e.Missing, ErrNotTracked)
}

// Is makes errors.Is(err, ErrNotTracked) true.
func (e *NotTrackedError) Is(target error) bool { return target == ErrNotTracked }

// ApplyError is returned by Apply when a change does not fit the tracked definition (a column
// or index that does not exist, or already does). The source server accepted the statement, so
// the tracked definition is out of step with the source and must not be used to decode rows.
type ApplyError struct {
	Table  TableName
	Reason string
}

// Error implements error.
func (e *ApplyError) Error() string {
	return fmt.Sprintf("apply DDL to %s: %s", e.Table, e.Reason)
}

// abbreviate keeps error messages readable for huge CREATE TABLE statements.
func abbreviate(s string) string {
	const limit = 200
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "..."
}
