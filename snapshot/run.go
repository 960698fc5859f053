package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/metrics"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/source"
)

// Options are what a snapshot runs with.
type Options struct {
	Config *config.Config
	// Routes are Config's compiled [[tables]] rules: the tables copied, their columns
	// and the names of their destinations.
	Routes *route.Set
	Dialer *source.Dialer
	Target Target
	Log    *slog.Logger
	// Report receives every table's progress every ReportEvery, and once more at the end;
	// nil logs a progress line every 5 s instead.
	Report      func([]TableStatus)
	ReportEvery time.Duration
	// Metrics is optional.
	Metrics *metrics.Metrics
	// PreparedXAWait bounds the wait for prepared XA transactions before the view opens
	// (DefaultPreparedXAWait when 0).
	PreparedXAWait time.Duration
}

// TableStatus is one table's progress for display.
type TableStatus struct {
	Name           string
	Rows, Estimate int64
	Done           bool
}

// Summary is what a finished snapshot reports.
type Summary struct {
	Position change.Position
	Tables   int
	Rows     int64
	Bytes    int64
	Duration time.Duration
	LockTime time.Duration
	Method   string
	// AlreadyComplete means an earlier run had finished; nothing was copied.
	AlreadyComplete bool
}

// maxAttempts bounds how often a snapshot starts over because DDL changed a table
// while it was read.
const maxAttempts = 4

// Run performs or resumes the snapshot and leaves the streaming checkpoint in the target.
//
// A DDL that touched a selected table between the view's position and the reads (see
// scan.go) makes the snapshot start over under a new view, with the tables' new
// definitions, up to maxAttempts times; a resumed snapshot ends at its newest view (see
// resolve.go). Either way the checkpoint left for streaming is a position at which every
// table holds exactly the source's rows, read with the definitions streaming starts from.
func Run(ctx context.Context, o Options) (*Summary, error) {
	start := time.Now()
	if o.PreparedXAWait <= 0 {
		o.PreparedXAWait = DefaultPreparedXAWait
	}
	var interruptions, doneBefore int
	begun := false // once set, it stays: a later attempt's failure is an interruption too
	for attempt := 1; ; attempt++ {
		sum, changed, err := runAttempt(ctx, o, attempt > 1, &begun)
		if err != nil {
			// A snapshot that stored its plan resumes from its stored progress, as the
			// next start would, instead of ending the process: a network blip or a
			// server restart hours into a large table costs a pause, not the run. One that
			// did not get that far (a source or target unreachable from the start) fails at
			// once, so a wrong address is seen at once.
			if ctx.Err() != nil || !begun || !interrupted(err) {
				return nil, err
			}
			// Chunks copied since the last interruption start the count anew (the target
			// may not answer now: then nothing is known to have moved).
			if prog, perr := o.Target.LoadProgress(ctx); perr == nil {
				if done := chunksDone(prog); done > doneBefore {
					interruptions, doneBefore = 0, done
				}
			}
			interruptions++
			if interruptions > maxInterruptions {
				return nil, fmt.Errorf("%w (the snapshot was interrupted %d times in a row without copying a chunk; it resumes from its stored progress at the next start)", err, maxInterruptions)
			}
			wait := interruptBackoff(interruptions)
			o.Log.Warn("snapshot interrupted; resuming from its stored progress", "error", err, "retry_in", wait.String(), "interruption", interruptions)
			select {
			case <-ctx.Done():
				return nil, err
			case <-time.After(wait):
			}
			attempt = 0 // the stored snapshot is resumed (runAttempt with restart false), as by a new process
			continue
		}
		if changed == nil {
			if !sum.AlreadyComplete {
				sum.Duration = time.Since(start)
			}
			return sum, nil
		}
		if attempt >= maxAttempts {
			return nil, ddlError(attempt, changed)
		}
		o.Log.Warn("DDL changed selected tables while the snapshot read them; copying everything again under a new view with the new definitions",
			"attempt", attempt, "changes", changed)
	}
}

// runAttempt runs or resumes one snapshot (restart: a new one over the tables the
// previous attempt created). changed, when not nil, names the DDL that makes it void.
// *begun is set once the target holds the snapshot's plan (stored by this attempt or
// found there to resume): from then on a failure can be resumed from.
func runAttempt(ctx context.Context, o Options, restart bool, begun *bool) (*Summary, map[string]string, error) {
	prog, err := o.Target.LoadProgress(ctx)
	if err != nil {
		return nil, nil, err
	}
	if prog != nil && prog.Complete {
		return &Summary{Position: prog.Position, AlreadyComplete: true}, nil, nil
	}
	if prog != nil {
		*begun = true
	}
	onExisting := o.Config.Snapshot.OnExisting
	if restart {
		// The tables hold this snapshot's own earlier copy, maybe of another definition.
		prog, onExisting = nil, "recreate"
	}
	meta, err := o.Dialer.Dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer meta.Close()

	var plans []*plan.Table
	resumed := prog != nil
	if resumed {
		plans = plansFromProgress(prog, o.Routes)
		o.Log.Info("resuming snapshot", "position", prog.Position.GTID, "tables", len(plans))
	} else {
		plans, err = makePlans(ctx, meta, o)
		if err != nil {
			return nil, nil, err
		}
		if len(plans) == 0 {
			// Streaming starts from the view's position: tables created later under the
			// rules come with their CREATE, and tables the rules select after a restart
			// are copied online.
			o.Log.Warn("no source table matches the [[tables]] rules yet: the snapshot is empty and streaming waits for them (check the rules with 'replicator check')")
		}
	}

	v, err := openView(ctx, o.Dialer, o.Config.Snapshot.Parallelism, o.PreparedXAWait, o.Log)
	if err != nil {
		return nil, nil, fmt.Errorf("open consistent snapshot: %w", err)
	}
	defer func() { v.close() }() // v is replaced when tables are copied again
	o.Log.Info("consistent snapshot opened", "gtid", v.pos.GTID, "method", v.method, "readers", len(v.readers),
		"lock_ms", float64(v.lockTime.Microseconds())/1000)
	crashpoint.Hit(crashpoint.SnapshotViewOpened)

	pos := v.pos
	from := pos
	if resumed {
		from = prog.Position
	} else {
		if err := o.Target.Start(ctx, pos, plans, onExisting); err != nil {
			return nil, nil, err
		}
		crashpoint.Hit(crashpoint.SnapshotPlanStored)
	}
	*begun = true

	// A resumed snapshot builds indexes only once every table is at the newest view.
	sum, copyErr := copyAll(ctx, o, v, plans, prog, !resumed)
	if sum == nil {
		sum = &Summary{}
	}
	// Tables not all read under the newest view: every row changed since a table's
	// own view is read again under the newest (resolve.go).
	mixed := resumed
	for round := 1; ; round++ {
		var me *mysql.MyError
		if copyErr != nil && !errors.As(copyErr, &me) {
			return nil, nil, copyErr
		}
		// Read while the readers still hold their metadata locks: no DDL on a table they
		// read can commit before this position without being seen by the scan.
		now, err := meta.CurrentGTID(ctx)
		if err != nil {
			return nil, nil, err
		}
		res, err := scanAll(ctx, o, from, change.Position{Flavor: from.Flavor, GTID: now}, plans, mixed, mixed)
		if err != nil {
			if copyErr != nil {
				return nil, nil, copyErr
			}
			return nil, nil, fmt.Errorf("check the binary log for DDL during the snapshot: %w", err)
		}
		if len(res.ddl) == 0 && res.created == "" {
			if copyErr != nil {
				return nil, nil, copyErr
			}
			if mixed {
				// A table without a key has no keys to read again: one that changed since
				// an older view is copied again, whole (it is one chunk), under this one.
				if err := recopyKeyless(ctx, o, v, pos, plans, res); err != nil {
					return nil, nil, err
				}
				n, err := resolveKeys(ctx, o, v.readers[0], pos, res)
				if err != nil {
					return nil, nil, err
				}
				o.Log.Info("rows changed since the first view read again under the newest one", "keys", n, "from_gtid", from.GTID, "gtid", pos.GTID)
				for _, p := range plans {
					if err := o.Target.FinishTable(ctx, p); err != nil {
						return nil, nil, err
					}
				}
			}
			break
		}
		if copyErr != nil {
			o.Log.Info("snapshot read failed after DDL on a selected table", "error", copyErr)
		}
		if round >= maxAttempts {
			return nil, nil, ddlError(round, changedBy(res))
		}
		if res.created != "" {
			return nil, changedBy(res), nil
		}
		// Copy the changed tables again, under a new view, with their new definitions;
		// the other tables are brought to that view by their changed rows.
		o.Log.Warn("DDL changed selected tables while the snapshot read them; copying them again under a new view with their new definitions",
			"round", round, "changes", res.ddl)
		v.close()
		v = &view{}
		nv, err := openView(ctx, o.Dialer, o.Config.Snapshot.Parallelism, o.PreparedXAWait, o.Log)
		if err != nil {
			return nil, nil, fmt.Errorf("open consistent snapshot: %w", err)
		}
		v = nv
		pos = v.pos
		o.Log.Info("consistent snapshot opened", "gtid", v.pos.GTID, "method", v.method, "readers", len(v.readers),
			"lock_ms", float64(v.lockTime.Microseconds())/1000)
		again, all, err := replan(ctx, meta, o, plans, res.ddl, pos)
		if err != nil {
			return nil, nil, err
		}
		if again == nil { // a table is gone or renamed: plan everything again
			return nil, changedBy(res), nil
		}
		if err := o.Target.RestartTables(ctx, pos, again); err != nil {
			if errors.Is(err, plan.ErrCopyAllAgain) {
				o.Log.Info("copying every table again", "reason", err)
				return nil, changedBy(res), nil
			}
			return nil, nil, err
		}
		crashpoint.Hit(crashpoint.SnapshotRestartTables)
		plans, mixed = all, true
		// Besides the tables copied again, chunks a failed read left pending are copied
		// under the new view too.
		done, err := o.Target.LoadProgress(ctx)
		if err != nil {
			return nil, nil, err
		}
		var more *Summary
		more, copyErr = copyAll(ctx, o, v, plans, done, false)
		if more != nil {
			sum.Rows += more.Rows
			sum.Bytes += more.Bytes
		}
	}
	crashpoint.Hit(crashpoint.HandoffBeforeCheckpoint)
	if err := o.Target.Finish(ctx, pos); err != nil {
		return nil, nil, err
	}
	crashpoint.Hit(crashpoint.HandoffAfterCheckpoint)
	sum.Position, sum.LockTime, sum.Method = pos, v.lockTime, v.method
	sum.Tables = len(plans)
	return sum, nil, nil
}

// recopyKeyless copies again, under v, the tables without a key that res found changed,
// and takes them out of res (resolveKeys needs keys).
func recopyKeyless(ctx context.Context, o Options, v *view, pos change.Position, plans []*plan.Table, res *scanResult) error {
	var again []*plan.Table
	for p := range res.keys {
		if len(p.Table.Key) == 0 {
			again = append(again, p)
			delete(res.keys, p)
		}
	}
	// A table a foreign key action may have changed since its view: the action's rows
	// have no events of their own, so the keys do not name them.
	for _, p := range plans {
		if why := res.cascaded[p]; why != "" && !slices.Contains(again, p) && p.From.GTID != pos.GTID {
			o.Log.Info("a foreign key action may have changed a table since its view; copying it again whole under the newest", "table", p.Name(), "change", why, "gtid", pos.GTID)
			again = append(again, p)
			delete(res.keys, p)
		}
	}
	if len(again) == 0 {
		return nil
	}
	o.Log.Info("tables without a key or changed by foreign key actions since an older view; copying them again under the newest", "tables", len(again), "gtid", pos.GTID)
	if err := o.Target.RestartTables(ctx, pos, again); err != nil {
		return err
	}
	done, err := o.Target.LoadProgress(ctx)
	if err != nil {
		return err
	}
	if _, err := copyAll(ctx, o, v, plans, done, false); err != nil {
		return fmt.Errorf("copy tables without a key again: %w", err)
	}
	return nil
}

// changedBy names what a scan found that makes the copy void.
func changedBy(res *scanResult) map[string]string {
	changed := map[string]string{}
	for k, v := range res.ddl {
		changed[k] = v
	}
	if res.created != "" {
		changed["created"] = res.created
	}
	return changed
}
