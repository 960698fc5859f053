// Package plan is the vocabulary the snapshot shares with its targets: a table's plan
// (definition, replicated columns, chunks), the progress a target stores for a snapshot,
// and what a target reports when a table cannot be copied again alone. The snapshot
// (which drives the copy) and the targets (which store it) both import it; it imports
// neither.
package plan

import (
	"errors"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// Table is one table's part of a snapshot.
type Table struct {
	Table *schema.Table
	// Columns are the indexes (into Table.Columns) of the replicated columns.
	Columns []int
	// Target names the destination for messages ("schema.table" or an index).
	Target string
	// Where is the rule's row filter as SQL for the source (filter.Expr.SQL), "" when
	// every row is copied: every read of the table's rows adds it.
	Where        string
	Chunks       []Chunk
	RowsEstimate int64
	// ReadAt is the GTID set of the view the table's chunks are being read under (the
	// snapshot sets it before it copies them): a transform's metadata column shows it.
	ReadAt string
	// From is the view position the table was (last) planned at when it was copied again
	// after a DDL; empty means the snapshot's first position. Binary log changes covered
	// by it are in the copy.
	From change.Position
}

// Name is the source table's "db.table".
func (p *Table) Name() string { return p.Table.QualifiedName() }

// SelectedColumns returns the replicated columns in order.
func (p *Table) SelectedColumns() []*schema.Column {
	out := make([]*schema.Column, len(p.Columns))
	for i, c := range p.Columns {
		out[i] = &p.Table.Columns[c]
	}
	return out
}

// Chunk is a range of the first key column: Lo < key <= Hi, where a nil bound is open.
// Only integer first key columns are split; any other table is one chunk.
type Chunk struct {
	ID     int
	Lo, Hi *int64
}

// ErrCopyAllAgain says a table cannot be copied again on its own (an Elasticsearch index
// shared with other tables): the whole snapshot starts over instead.
var ErrCopyAllAgain = errors.New("the table cannot be copied again on its own")

// Progress is a stored snapshot: where it started and what is done.
type Progress struct {
	Position change.Position
	// Complete means the snapshot finished and streaming owns the checkpoint.
	Complete bool
	Tables   map[string]*TableProgress
}

// TableProgress is one table's stored plan and progress.
type TableProgress struct {
	Table     *schema.Table
	Columns   []int
	Chunks    []Chunk
	ChunkDone map[int]bool
	Done      bool
	Estimate  int64
	// From is the position the table was copied again from (see Table.From); empty for
	// the snapshot's position.
	From change.Position
}
