package plan

import (
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// Copy states. A request waits until the running stream starts it; a copying table
// receives its chunks in stream batches; a done or failed copy stays for status.
const (
	CopyRequested = "requested"
	CopyCopying   = "copying"
	CopyDone      = "done"
	CopyFailed    = "failed"
)

// Copy is one table's online copy: the table copied again (or for the first time) from
// the source while the stream keeps applying. The target stores it in its state and
// moves it on in the stream's own batches, so a kill resumes it from its last chunk.
//
// The target loads the copy into a shadow (a table or an index readers do not see),
// applies the stream's changes of the table to it as well as to the live copy from the
// moment it starts, and swaps it in for the live copy in the batch of its last chunk:
// readers see the old rows or the new, never a part.
type Copy struct {
	// Table is the source table, "db.table".
	Table string
	State string
	// Reason says who asked for it ("replicator resnapshot", a DDL, ...).
	Reason string
	// Def is the definition the shadow was created with (while copying).
	Def *schema.Table
	// After is a full-width row of Def holding the key of the last row copied; nil
	// before the first chunk.
	After    change.Row
	Rows     int64
	Estimate int64
	// InPlace: the target held no copy of the table when it started, so the copy fills
	// the live table (it appears as it fills) instead of a shadow.
	InPlace bool
	// Stale: requested because the binary logs after the checkpoint were purged; the live
	// copy keeps its old rows, and the stream leaves it alone, until the copy swaps in.
	Stale bool
	// Error says why a failed copy was given up.
	Error                           string
	RequestedAt, StartedAt, Updated time.Time
}
