// Package crashpoint kills the process with SIGKILL at a named place in the code, so the
// kill -9 tests can stop the replicator exactly there instead of at a random instant.
//
// REPLICATOR_CRASH_AT names one point, optionally with the hit to kill at ("name:N" kills
// at the Nth time the point is reached, counting from 1). When the point is reached the
// process writes "crash point NAME" to stderr and sends itself SIGKILL: no deferred
// function, no rollback and no flush runs, which is the state a kill -9 leaves. Unset (the
// normal case), Hit costs one load of an already initialised value.
//
// The points are the constants below; README.md's reliability section lists where each
// sits and what a kill there leaves behind.
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Env is the environment variable that arms a point.
const Env = "REPLICATOR_CRASH_AT"

// The points, in the order a run reaches them. Each name says where it is; the comment
// says what has happened and what has not when the process dies there.
const (
	// SnapshotViewOpened: the consistent view is open and its position read; nothing is
	// stored in the target yet.
	SnapshotViewOpened = "snapshot.view-opened"
	// SnapshotPlanStored: the snapshot's plan (tables, chunks, position) is stored in the
	// target; no chunk is copied.
	SnapshotPlanStored = "snapshot.plan-stored"
	// SnapshotChunkRows: in the middle of a chunk's copy, after its first rows went to the
	// target and before the rest.
	SnapshotChunkRows = "snapshot.chunk-rows"
	// SnapshotChunkWritten: all of a chunk's rows are written, its done mark is not
	// committed.
	SnapshotChunkWritten = "snapshot.chunk-written"
	// SnapshotChunkCommitted: a chunk's rows and done mark are committed.
	SnapshotChunkCommitted = "snapshot.chunk-committed"
	// SnapshotRestartTables: a DDL met during the snapshot made its tables' copies restart
	// (RestartTables ran); nothing of the new copies is written.
	SnapshotRestartTables = "snapshot.restart-tables"
	// SnapshotResumeApplyRows: a resumed snapshot re-read the rows that changed since the
	// first view and wrote them (ApplyRows), before the rest of the resume.
	SnapshotResumeApplyRows = "snapshot.resume-apply-rows"
	// SnapshotIndexBuild: a table's rows are all copied and its secondary indexes (or
	// index settings) are being built.
	SnapshotIndexBuild = "snapshot.index-build"
	// HandoffBeforeCheckpoint: every table is copied; the streaming checkpoint at the
	// snapshot's position is not written.
	HandoffBeforeCheckpoint = "handoff.before-checkpoint"
	// HandoffAfterCheckpoint: the streaming checkpoint at the snapshot's position is
	// written; the stream has not started.
	HandoffAfterCheckpoint = "handoff.after-checkpoint"
	// StreamBatchApplied: a batch's rows are applied in its target transaction; the
	// transaction with the checkpoint is not committed.
	StreamBatchApplied = "stream.batch-applied"
	// StreamPartApplied: one part of a large source transaction is applied; its other
	// parts and the commit are still to come.
	StreamPartApplied = "stream.part-applied"
	// StreamCommitted: a batch and its checkpoint are committed.
	StreamCommitted = "stream.committed"
	// StreamDDLApplied: a DDL is applied (ApplySchema) in the batch's transaction, which
	// is not committed.
	StreamDDLApplied = "stream.ddl-applied"
	// StreamXAPrepareStored: an XA PREPARE's changes are stored in the target's state,
	// not committed.
	StreamXAPrepareStored = "stream.xa-prepare-stored"
	// StreamXACommitResolve: during an XA COMMIT, after a stored part was applied and
	// before the batch commits.
	StreamXACommitResolve = "stream.xa-commit-resolve"
	// StreamFKActionApplied: the rows a foreign key action (ON DELETE/UPDATE CASCADE, SET
	// NULL) changes are applied, not committed.
	StreamFKActionApplied = "stream.fk-action-applied"
	// StreamKeylessApplied: the changes of a table without a key (applied one by one, not
	// folded) are applied, not committed. PostgreSQL only.
	StreamKeylessApplied = "stream.keyless-applied"
	// StreamLanesCommitted: with apply.parallelism above 1, the shares of a batch the
	// extra connections applied are committed; the stream connection's share and the
	// checkpoint are not. PostgreSQL only.
	StreamLanesCommitted = "stream.lanes-committed"
	// OnlineChunkApplied: a chunk of an online copy is written into its shadow in the
	// stream's batch, not committed.
	OnlineChunkApplied = "online.chunk-applied"
	// ElasticBulkSent: a batch's bulk requests are all acknowledged by Elasticsearch; the
	// state (checkpoint, schema history, XA parts) is not written.
	ElasticBulkSent = "elastic.bulk-sent"
	// ElasticLeaseRenewal: the lease document is about to be renewed.
	ElasticLeaseRenewal = "elastic.lease-renewal"
	// ElasticSchemasRecorded: a batch's new table definitions are in the schema documents;
	// its checkpoint is not stored.
	ElasticSchemasRecorded = "elastic.schemas-recorded"
	// ElasticRenamePending: a RENAME's alias moves are recorded as about to run, not run.
	ElasticRenamePending = "elastic.rename-pending"
	// ElasticRenameMoved: a RENAME's aliases moved; its mark does not say so yet.
	ElasticRenameMoved = "elastic.rename-moved"
	// ElasticGenerationCreated: a TRUNCATE's new, empty generation of the table's index is
	// created; the alias still points to the old one.
	ElasticGenerationCreated = "elastic.generation-created"
	// ElasticAliasSwapped: an alias moved to a new generation (TRUNCATE, an online copy's
	// swap); the old generation, which no alias points to now, is not deleted.
	ElasticAliasSwapped = "elastic.alias-swapped"
)

// Points lists every point, for the tests and the documentation.
func Points() []string {
	return []string{
		SnapshotViewOpened, SnapshotPlanStored, SnapshotChunkRows, SnapshotChunkWritten,
		SnapshotChunkCommitted, SnapshotRestartTables, SnapshotResumeApplyRows, SnapshotIndexBuild,
		HandoffBeforeCheckpoint, HandoffAfterCheckpoint, StreamBatchApplied, StreamPartApplied,
		StreamCommitted, StreamDDLApplied, StreamXAPrepareStored, StreamXACommitResolve,
		StreamFKActionApplied, StreamKeylessApplied, StreamLanesCommitted, OnlineChunkApplied, ElasticBulkSent, ElasticLeaseRenewal,
		ElasticRenamePending, ElasticRenameMoved, ElasticSchemasRecorded, ElasticGenerationCreated,
		ElasticAliasSwapped,
	}
}

// armed is the point REPLICATOR_CRASH_AT names; its name and hit number never change
// after the first read, only the count of hits so far.
type armed struct {
	name string
	nth  int64
	hits atomic.Int64
}

// target reads REPLICATOR_CRASH_AT once; nil when unset, so Hit returns at once.
var target = sync.OnceValue(func() *armed { return parse(os.Getenv(Env)) })

// parse reads "name" or "name:N"; an N that is not a positive number counts as 1.
func parse(v string) *armed {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	a := &armed{name: v, nth: 1}
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		if n, err := strconv.ParseInt(v[i+1:], 10, 64); err == nil && n > 0 {
			a.name, a.nth = v[:i], n
		}
	}
	return a
}

// Armed reports whether REPLICATOR_CRASH_AT names the point, so a hot loop can skip its
// Hit calls when it does not.
func Armed(name string) bool {
	a := target()
	return a != nil && a.name == name
}

// Hit is a crash point: when REPLICATOR_CRASH_AT names it (and this is the hit it
// counts to), the process says so on stderr and kills itself with SIGKILL.
func Hit(name string) {
	a := target()
	if a == nil || a.name != name {
		return
	}
	if a.hits.Add(1) != a.nth {
		return
	}
	// Written straight to the file descriptor: nothing buffered survives a SIGKILL.
	_, _ = os.Stderr.WriteString("crash point " + name + "\n")
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is delivered asynchronously; nothing after Hit may run
}
