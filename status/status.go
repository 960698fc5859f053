// Package status is a target's stored state as 'replicator status' shows it (the "state"
// object of --json): checkpoint, phase, each table's snapshot progress, the last error.
// Each target fills it from its own storage and cmd prints it, so it sits below both and
// holds types only. It stays apart from plan, the snapshot's working vocabulary, because
// it is a report format: its JSON names are a public output that must not move when the
// snapshot's types do.
package status

import (
	"time"

	"github.com/replicator/replicator/change"
)

// Target is what a target's state says.
type Target struct {
	Checkpoint  change.Position `json:"-"`
	GTID        string          `json:"gtid"`
	Phase       string          `json:"phase"`
	UpdatedAt   time.Time       `json:"updated_at"`
	SourceTime  *time.Time      `json:"source_time,omitempty"`
	Tables      []Table         `json:"snapshot_tables,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	LastErrorAt *time.Time      `json:"last_error_at,omitempty"`
	// Blocked names the target's write blocks in force now, each with its cause and
	// remedy: a block on the state index also keeps the last error from being stored.
	Blocked []string `json:"write_blocks,omitempty"`
}

// Table is one table's snapshot progress.
type Table struct {
	Source     string `json:"source"`
	Target     string `json:"target"`
	Chunks     int    `json:"chunks"`
	ChunksDone int    `json:"chunks_done"`
	Rows       int64  `json:"rows"`
	Done       bool   `json:"done"`
}
