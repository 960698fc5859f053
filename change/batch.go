package change

import (
	"time"

	"github.com/replicator/replicator/schema"
)

// TableChanges is the folded effect of a run of row changes on one table: the final
// state of every touched key. Deletes hold rows whose key values identify them. With full
// row images, applying that state (delete or upsert of the whole row) has the same effect
// as replaying every change, which is what makes a batch idempotent.
type TableChanges struct {
	Table   *schema.Table
	Upserts []Row
	// Origins are, parallel to Upserts, the transactions that wrote them (the metadata
	// columns of column transforms show them); for rows an online copy read, the GTID set
	// it read them at. Missing entries are rows of no known origin (NULL metadata).
	Origins []Origin
	Deletes []Row
	// Marked are the rows a soft-delete rule (deletes = "soft") keeps: each is written
	// as its last image with the deleted mark and the deleting transaction's time.
	Marked []MarkedRow
	// Ops are the changes of a table without a key (Table.Key empty), not folded: each
	// applies to one row matching its full before-image, in stream order.
	Ops []RowOp
}

// MarkedRow is a row deleted at the source that the target keeps, marked deleted at At.
type MarkedRow struct {
	Row Row
	At  time.Time
	// GTID is the deleting transaction's: the last to touch the row.
	GTID string
}

// Origin is the source transaction a row image comes from: its GTID and commit time (the
// header time of its GTID event). A row a snapshot or an online copy read has the GTID
// set of the position it was read at and no time.
type Origin struct {
	GTID string
	Time time.Time
}

// RowOp is one row change of a table without a key.
type RowOp struct {
	Kind          Kind
	Before, After Row
}

// FKAction is a parent row change whose foreign key actions the target applies (see
// schema.FKGraph): a delete (After is nil) or an update that changed referenced columns.
// Before and After are the full source row images.
type FKAction struct {
	Parent        *schema.Table
	Before, After Row
	GTID          string
	// Time is the parent change's transaction commit time (a cascaded soft delete of a
	// child stores it).
	Time time.Time
}
