package snapshot

import (
	"context"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/source"
)

// readChunk streams one chunk's rows in canonical form to emit. The row handed to emit
// is reused for the next row: emit must encode it before returning.
func readChunk(ctx context.Context, conn *source.Conn, p *plan.Table, c plan.Chunk, emit func(change.Row) error) error {
	return StreamRows(ctx, conn, chunkQuery(p, c), p.SelectedColumns(), emit)
}
