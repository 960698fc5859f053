package pipeline

import (
	"context"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/ddl"
)

// Applier opens target transactions. The PostgreSQL and Elasticsearch appliers provide it
// (through ApplierOf: they do not import the pipeline).
type Applier interface {
	// Begin opens a batch. Everything applied through it becomes visible, together with
	// the checkpoint, at Commit, or not at all.
	Begin(ctx context.Context) (Tx, error)
}

// Tx is one open batch.
type Tx interface {
	// Apply writes folded row changes. It may be called several times per batch (a large
	// source transaction is applied in parts, all committed together).
	Apply(ctx context.Context, changes []change.TableChanges) error
	// ApplySchema translates a schema change's steps for the target, each against the
	// definitions it carries, applies them (after the rows before it) and records the new
	// definitions in the schema history, all visible with the checkpoint at Commit. The
	// steps passed Options.CheckDDL in the reader.
	ApplySchema(ctx context.Context, sc *ddl.SchemaChange) error
	// StorePrepared keeps one part of a prepared XA transaction's row changes in the
	// target's state, visible with the checkpoint at Commit: the checkpoint moves past
	// the XA PREPARE while the transaction's decision may come batches or restarts later.
	StorePrepared(ctx context.Context, p *change.Prepared) error
	// ResolvePrepared ends the prepared XA transaction xid (stored by this or an earlier
	// batch): with commit, apply is called with the changes of each stored part in order;
	// the parts are removed with the checkpoint at Commit. found is false when nothing is
	// stored under xid (its PREPARE came before the stream's start).
	ResolvePrepared(ctx context.Context, xid string, commit bool, apply func(events []change.Event) error) (found bool, err error)
	// Commit stores pos as the checkpoint and makes the batch visible atomically.
	Commit(ctx context.Context, pos change.Position) error
	// Rollback abandons the batch.
	Rollback(ctx context.Context)
}

// SchemaPositioner is a Tx that needs to know, before ApplySchema, the position after the
// last complete source transaction ahead of the schema change (the batch's changes so far
// hold the state there). A target without transactions (Elasticsearch) stores it as a
// checkpoint before it changes its indexes, so a crash in between replays from the
// statement itself rather than from rows the changed indexes no longer fit.
type SchemaPositioner interface {
	SchemaBefore(pos change.Position)
}

// Reacher is a Tx that commits parts of a batch ahead of its checkpoint (PostgreSQL with
// apply.parallelism above 1). Before each step the worker tells it how many source
// transactions after the batch's start the rows handed to it so far come from (a
// transaction still being read counts): what a part committed ahead records, so that
// after a failure Options.Floor makes the first batch hold at least as many.
type Reacher interface {
	Reach(n int)
}

// ApplierOf adapts the Begin of a target whose batches are of its own type (the targets
// do not import the pipeline) to Applier.
func ApplierOf[T Tx](begin func(ctx context.Context) (T, error)) Applier { return beginFunc[T](begin) }

type beginFunc[T Tx] func(ctx context.Context) (T, error)

func (f beginFunc[T]) Begin(ctx context.Context) (Tx, error) {
	tx, err := f(ctx)
	if err != nil {
		return nil, err // not a nil T in a non-nil Tx
	}
	return tx, nil
}
