package snapshot

import (
	"context"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/plan"
)

// Target is what the snapshot writes to. The PostgreSQL and Elasticsearch appliers
// implement it.
type Target interface {
	// LoadProgress returns the stored state of an earlier snapshot, or nil if none began.
	LoadProgress(ctx context.Context) (*plan.Progress, error)
	// Start creates the target tables (without secondary indexes) according to
	// onExisting, and stores the plan and the position in one transaction.
	Start(ctx context.Context, pos change.Position, plans []*plan.Table, onExisting string) error
	// OpenChunk returns the writer the chunk's rows go into (see plan.ChunkWriter); ctx
	// bounds the writer's work until its Commit or Abort. It is called from several
	// goroutines at once, one open chunk each.
	OpenChunk(ctx context.Context, p *plan.Table, chunk plan.Chunk) (plan.ChunkWriter, error)
	// RestartTables replaces the copies of the plans' tables, after a DDL changed them:
	// each target table is created again, empty, with the plan's definition (without
	// secondary indexes), its chunks become the plan's, none done, and its definition is
	// stored as of pos (the view it is copied under), all in one step. A target that
	// cannot replace one table alone returns an error wrapping plan.ErrCopyAllAgain.
	RestartTables(ctx context.Context, pos change.Position, plans []*plan.Table) error
	// FinishTable creates the secondary indexes and marks the table done.
	FinishTable(ctx context.Context, p *plan.Table) error
	// ApplyRows replaces, in one step, the target's rows for keys (full-width rows of the
	// source table holding only the key values) by rows (read like a chunk's, at pos;
	// a key without a row is deleted). A resumed snapshot brings the rows that changed
	// since its first view to its newest view with it.
	ApplyRows(ctx context.Context, p *plan.Table, pos change.Position, keys, rows []change.Row) error
	// Finish stores the checkpoint from which streaming continues.
	Finish(ctx context.Context, pos change.Position) error
}
