package change

import (
	"time"

	"github.com/replicator/replicator/schema"
)

// Kind says what an Event is.
type Kind uint8

// Event kinds. Row events of one source transaction are followed by exactly one Commit.
const (
	Insert Kind = iota + 1
	Update
	Delete
	// Commit ends a source transaction; Pos is the position after it.
	Commit
	// DDL is a schema statement. It is followed by a Commit, either at once (a DDL is
	// its own transaction) or after the rows of the same transaction (CREATE TABLE ...
	// SELECT writes the CREATE and its rows as one event group).
	DDL
)

func (k Kind) String() string {
	switch k {
	case Insert:
		return "insert"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case Commit:
		return "commit"
	case DDL:
		return "ddl"
	}
	return "unknown"
}

// Event is one decoded item of the change stream.
type Event struct {
	Kind Kind
	// Table is the definition the row was decoded with (row events and DDL on a table).
	Table *schema.Table
	// Before and After hold every column of Table in order; Before is nil for inserts and
	// After is nil for deletes.
	Before, After Row
	// Pos is set on Commit.
	Pos Position
	// GTID is the source transaction's own GTID.
	GTID string
	// Time is when the source wrote the event.
	Time time.Time
	// TxTime is on row events: the commit time of their transaction, the header time of
	// its GTID event (which the server writes at commit). A soft delete stores it.
	TxTime time.Time
	// Schema and Query are set on DDL: the session database and the statement.
	Schema, Query string
	// XA is set on the row changes of an XA transaction's first phase (they take effect
	// only if a later XA COMMIT says so) and on the Commit ending a phase: the Commit of
	// an XA PREPARE group (Op XAPrepare) or of an XA COMMIT / XA ROLLBACK statement.
	XA *XA
}

// XAOp is what an XA event group does.
type XAOp uint8

// XA operations.
const (
	// XAPrepare: the group's row changes are prepared, not committed; they become
	// effective at the XA COMMIT of the same id, possibly much later in the stream.
	XAPrepare XAOp = iota + 1
	// XACommit commits a prepared transaction: its changes take effect here.
	XACommit
	// XARollback discards a prepared transaction.
	XARollback
)

func (o XAOp) String() string {
	switch o {
	case XAPrepare:
		return "prepare"
	case XACommit:
		return "commit"
	case XARollback:
		return "rollback"
	}
	return "unknown"
}

// XA names an XA transaction and what its event group does.
type XA struct {
	Op XAOp
	// ID is the xid as the server prints it in XA statements: X'gtrid',X'bqual',formatID.
	ID string
}

// Key returns the identity values of a row of t, joined unambiguously (each value
// length-prefixed), for folding changes per row.
func Key(t *schema.Table, r Row) string {
	n := 0
	for _, k := range t.Key {
		n += len(r[k]) + 5
	}
	b := make([]byte, 0, n)
	for _, k := range t.Key {
		v := r[k]
		if v == nil {
			b = append(b, 0xff, 0xff, 0xff, 0xff, 0)
			continue
		}
		l := len(v)
		b = append(b, byte(l>>24), byte(l>>16), byte(l>>8), byte(l), 1)
		b = append(b, v...)
	}
	return string(b)
}
