package pgddl

import "fmt"

// UntranslatableError is returned by TranslatePG for a change that PostgreSQL cannot express,
// or whose effect on the rows already in the target is not known (a column added with values
// computed by the source, a table renamed into or out of the replicated set). As with
// ddl.UnsupportedError, the caller applies its [ddl] on_error policy.
type UntranslatableError struct {
	Statement string // what the change does, in MySQL terms ("ALTER TABLE shop.t ADD COLUMN x")
	Reason    string
}

// Error implements error.
func (e *UntranslatableError) Error() string {
	return fmt.Sprintf("cannot translate %s to PostgreSQL: %s", e.Statement, e.Reason)
}
