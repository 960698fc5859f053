// Package status describes a replicator's state for 'replicator status': what the target
// stores (checkpoint, snapshot progress, last error) and what the source reports.
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
