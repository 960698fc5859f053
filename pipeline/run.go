// Package pipeline runs the streaming phase: the binlog source feeds decoded events through
// a bounded channel to one applier loop that folds them into batches and commits each
// batch with its checkpoint. Data flows one way: source -> decode -> batch -> apply ->
// checkpoint.
//
// One role per file: Run (run.go) retries stream attempts from the stored checkpoint; an
// attempt (stream.go) starts the reader, the binlog source whose DDL handler (ddl.go)
// moves the schema tracker in stream order, and feeds its events to the batcher
// (batcher.go), which folds row changes (fold.go), keeps foreign key actions in order
// with them (fkaction.go) and holds the first phase of XA transactions (xa.go); the
// worker (worker.go) owns the target transaction and applies what the batcher hands it
// through the target's Applier and Tx (applier.go).
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/metrics"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
	"github.com/replicator/replicator/tracker"
)

// Options are what the streaming phase runs with.
type Options struct {
	Config  *config.Config
	Dialer  *source.Dialer
	Applier Applier
	// Schemas loads the schema tracker as of the stored checkpoint; it is called at every
	// (re)start, because definitions the reader moved past an uncommitted DDL are void.
	Schemas func(ctx context.Context) (*tracker.Tracker, error)
	// Checkpoint reads the position to stream from.
	Checkpoint func(ctx context.Context) (change.Position, error)
	Log        *slog.Logger
	// Metrics is optional.
	Metrics *metrics.Metrics
	// OnError is told of every error that ends a stream attempt (for the target's
	// last-error record); optional.
	OnError func(err error, transient bool)
	// CheckDDL reports a change the target cannot translate, against the definitions
	// before it (optional: nil takes every change). It is called in the reader, in stream
	// order, so such a change goes through [ddl] on_error before the tracker moves past
	// it and before the rows after it are decoded, like a statement the parser rejects;
	// the target translates the change for real in Tx.ApplySchema, in its batch.
	CheckDDL func(ch ddl.Change, before ddl.Tables) error
	// Routes are the compiled [[tables]] rules (the online copies' columns).
	Routes *route.Set
	// Copies, when set, are the target's stored online copies, carried out while
	// streaming (see copier.go); the target's batches then implement CopyTx.
	Copies CopyStore
	// OnPurged, when set, is called when the source no longer has the binary logs after
	// the checkpoint (source.ErrPositionPurged; [snapshot] on_missing_binlog =
	// "resnapshot"): it moves the checkpoint to the source's current position and asks
	// for an online copy of every table, and the stream starts again from there.
	OnPurged func(ctx context.Context, cause error) error
	// Floor, when set, says how many source transactions after the checkpoint from the
	// target already holds some rows of (parts of a batch committed ahead of its
	// checkpoint, see Reacher, before a failure): the first batch commits only once it
	// holds them all, so a replayed row never goes back to an older image than readers
	// saw. It is called at every (re)start, after Checkpoint.
	Floor func(ctx context.Context, from change.Position) (int, error)

	// tables are the tracked definitions at the stream's start, from which the batcher
	// builds the foreign key graph (set by runOnce).
	tables []*schema.Table
	// track adds a definition to the stream's tracker (set by runOnce).
	track func(def *schema.Table) (*schema.Table, error)
	// confirm ends a provisional definition (set by runOnce).
	confirm func(db, table string)
}

// Stats are counters of a running pipeline; Position (with its source time) is the last
// committed checkpoint.
type Stats struct {
	Rows, Batches int64
	Position      change.Position
}

// DefaultAccessDeniedRetry is how long refused access is retried when the configuration
// does not say.
const DefaultAccessDeniedRetry = 5 * time.Minute

// accessDenied reports whether err is a refusal that only an administrator can lift.
func accessDenied(err error) bool {
	return errors.Is(err, fault.ErrAccessDenied) || errors.Is(err, source.ErrAccessDenied) || errors.Is(err, source.ErrNoReplicationPrivilege) ||
		errors.Is(err, source.ErrCertificate) || errors.Is(err, fault.ErrCertificate)
}

// Run streams until ctx ends (returning nil after a clean stop) or a permanent error.
// Transient errors restart the stream from the stored checkpoint with backoff, for as long
// as they last. Refused access (a wrong password, a revoked grant, on either side) is
// retried the same way for apply.access_denied_retry (a grant restored within it resumes
// replication), then Run returns the error: retrying for ever would hide, behind a
// running process, a replication that can no longer make progress. While it retries the
// phase (status of /readyz) says access is denied and since when.
func Run(ctx context.Context, o Options) error {
	backoff := time.Second
	var isolateUntil *change.Position
	var deniedSince time.Time
	// reseeded: the last attempt started from a position OnPurged chose; a second purge
	// before any progress is not recovered again (a loop).
	reseeded := false
	for {
		start := time.Now()
		progressed, err := runOnce(ctx, o, isolateUntil)
		if ctx.Err() != nil {
			return nil
		}
		if progressed {
			deniedSince = time.Time{}
			reseeded = false
		}
		if accessDenied(err) {
			isolateUntil = nil
			limit := DefaultAccessDeniedRetry
			if o.Config != nil && o.Config.Apply.AccessDeniedRetry.Duration > 0 {
				limit = o.Config.Apply.AccessDeniedRetry.Duration
			}
			if deniedSince.IsZero() {
				deniedSince = start
			}
			if time.Since(deniedSince) >= limit {
				err = fmt.Errorf("still refused after retrying for %s (apply.access_denied_retry); replication stopped: fix the account, grant or certificate and start again: %w",
					time.Since(deniedSince).Round(time.Second), err)
				o.Metrics.Error("permanent")
				if o.OnError != nil {
					o.OnError(err, false)
				}
				return err
			}
			o.Metrics.Error("access_denied")
			o.Metrics.Phase("access denied since " + deniedSince.UTC().Format(time.RFC3339) + ", retrying")
			if o.OnError != nil {
				o.OnError(err, true)
			}
			o.Log.Error("access denied; retrying until the grant is restored or apply.access_denied_retry passes",
				"error", err, "since", deniedSince.UTC().Format(time.RFC3339), "stop_after", limit.String(), "retry_in", backoff.String())
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		deniedSince = time.Time{}
		// A row the target refused inside a batch of several transactions: apply again one
		// transaction per batch up to where it failed, so the error names the transaction.
		var ae *applyError
		if errors.As(err, &ae) && ae.txns > 1 && isolateUntil == nil {
			o.Log.Warn("the target refused a change; re-applying transaction by transaction to name the one that fails", "error", err)
			isolateUntil = &ae.end
			continue
		}
		isolateUntil = nil
		if errors.Is(err, source.ErrPositionPurged) && o.OnPurged != nil && !reseeded {
			o.Log.Warn("the source no longer has the binary logs after the checkpoint: streaming on from its current position and copying every table again online (snapshot.on_missing_binlog = \"resnapshot\")", "error", err)
			rerr := o.OnPurged(ctx, err)
			if rerr == nil {
				reseeded = true
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			err = fmt.Errorf("%w; snapshot.on_missing_binlog = \"resnapshot\" could not move on: %w", err, rerr)
		}
		transient := errors.Is(err, fault.ErrTransient) || errors.Is(err, source.ErrSourceGone)
		if transient {
			o.Metrics.Error("transient")
		} else {
			o.Metrics.Error("permanent")
		}
		if o.OnError != nil {
			o.OnError(err, transient)
		}
		if !transient {
			return err
		}
		o.Metrics.Reconnect()
		o.Metrics.Phase("interrupted, retrying: " + err.Error())
		// An attempt that committed something was a recovery: the next failure is a new
		// outage and starts with a short pause again.
		if progressed || time.Since(start) > time.Minute {
			backoff = time.Second
		}
		o.Log.Warn("stream interrupted; reconnecting from the checkpoint", "error", err, "retry_in", backoff.String())
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}
