package plan

import (
	"context"

	"github.com/replicator/replicator/change"
)

// ChunkWriter stores the rows of one chunk. The snapshot opens one per chunk
// (snapshot.Target.OpenChunk), writes it the chunk's rows in order as it reads them from
// the source, and ends it with Commit or Abort: the copy runs one way, from the reader
// down into the target. A writer holds only the rows it is about to send, so memory stays
// bounded whatever the chunk's size. One goroutine uses a writer; the snapshot runs one
// writer per reader connection at once.
type ChunkWriter interface {
	// Write adds a row: the plan's replicated columns in order, in canonical form. The
	// row is reused once Write returns, so the writer encodes it at once. Write may wait
	// while the target takes earlier rows, under the context the writer was opened with.
	// After an error only Abort is left to call.
	Write(r change.Row) error
	// Commit stores the rows written and marks the chunk done, atomically, and returns
	// how many rows it stored. A resumed snapshot never copies a committed chunk again.
	Commit(ctx context.Context) (rows int64, err error)
	// Abort gives the chunk up: it is not marked done, so a later run copies it again (a
	// target that kept some of its rows gets the same rows once more). It releases what
	// the writer holds and waits for the work the writer started. After a successful
	// Commit it does nothing, so callers defer it.
	Abort()
}
