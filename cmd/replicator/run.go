package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/metrics"
	"github.com/replicator/replicator/pipeline"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/snapshot"
	"github.com/replicator/replicator/source"
	"github.com/replicator/replicator/tracker"
)

func init() {
	register(&command{
		name:        "run",
		summary:     "snapshot if the target has no checkpoint, then stream changes until stopped",
		usage:       "run -c config.toml",
		needsConfig: true,
		run:         runStream,
	})
}

func runStream(ctx context.Context, env *runEnv) error {
	cfg := env.cfg
	tgt, err := openTarget(ctx, env)
	if err != nil {
		return err
	}
	defer tgt.Close()
	applier, checkDDL, err := streamApplier(tgt)
	if err != nil {
		return err
	}
	release, err := lockTarget(ctx, tgt)
	if err != nil {
		return err
	}
	defer release()
	m := metrics.New()
	stopHTTP, err := serveHTTP(ctx, env, m)
	if err != nil {
		return err
	}
	defer stopHTTP()
	recordErr := func(err error) {
		if r, ok := tgt.(errorRecorder); ok {
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = r.RecordError(rctx, err.Error())
		}
	}

	_, streaming, _, err := tgt.Checkpoint(ctx)
	if err != nil {
		return err
	}
	if !streaming {
		env.log.Info("no streaming checkpoint in the target: snapshot first")
		m.Phase("snapshot")
		o := snapshotOptions(env, tgt)
		o.Metrics = m
		done := withProgress(env, &o)
		sum, err := snapshot.Run(ctx, o)
		done()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			recordErr(err)
			return err
		}
		env.log.Info("snapshot complete; handing off to the binary log", "gtid", sum.Position.GTID, "rows", sum.Rows,
			"duration", sum.Duration.String(), "lock", sum.LockTime.String())
	}
	schemas := func(ctx context.Context) (*tracker.Tracker, error) {
		defs, err := tgt.Definitions(ctx)
		if err != nil {
			return nil, fault.Transient(err)
		}
		stale, err := staleTables(ctx, tgt)
		if err != nil {
			return nil, fault.Transient(err)
		}
		tr := tracker.New(env.routes, nil)
		for _, def := range defs {
			put := tr.Put
			if stale[def.QualifiedName()] {
				// Read from the source's current schema by the recovery from purged
				// binary logs: the stream may still read DDL it already holds.
				put = tr.PutProvisional
			}
			if err := put(def); err != nil {
				return nil, err
			}
		}
		return tr, nil
	}
	var copies pipeline.CopyStore
	if cs, ok := tgt.(pipeline.CopyStore); ok {
		copies = cs
	}
	if cr, ok := tgt.(copyRequester); ok {
		// Not fatal: an unreachable or refusing source is retried by the stream below
		// (for apply.access_denied_retry when refused), and the next start asks again.
		if err := requestMissing(ctx, env, tgt, cr); err != nil {
			env.log.Warn("could not compare the selected tables with the target's; tables it lacks are not copied online in this run", "error", err)
		}
	}
	if dc, ok := tgt.(documentComposer); ok {
		if err := dc.ComposeMissing(ctx); err != nil {
			recordErr(err)
			return err
		}
	}
	var floor func(context.Context, change.Position) (int, error)
	if f, ok := tgt.(floorer); ok {
		floor = func(ctx context.Context, from change.Position) (int, error) {
			n, err := f.Floor(ctx, from)
			if err != nil {
				return 0, fault.Transient(err)
			}
			return n, nil
		}
	}
	err = pipeline.Run(ctx, pipeline.Options{
		Config: cfg, Dialer: source.NewDialer(cfg.Source), Applier: applier, CheckDDL: checkDDL, Schemas: schemas, Log: env.log, Metrics: m,
		Routes: env.routes, Copies: copies, OnPurged: onPurged(env, tgt), Floor: floor,
		OnError: func(err error, transient bool) {
			if transient {
				// status shows the stream is not stopped but waits to apply the batch again.
				err = fmt.Errorf("%w; retrying", err)
			}
			recordErr(err)
		},
		Checkpoint: func(ctx context.Context) (change.Position, error) {
			pos, _, found, err := tgt.Checkpoint(ctx)
			if err != nil {
				return change.Position{}, fault.Transient(err)
			}
			if !found {
				return change.Position{}, errors.New("the target's checkpoint disappeared: was the state schema dropped?")
			}
			return pos, nil
		},
	})
	if err == nil {
		env.log.Info("stopped cleanly")
	}
	return err
}

// floorer is a target that may commit parts of a batch ahead of its checkpoint
// (PostgreSQL with apply.parallelism): see pipeline.Options.Floor.
type floorer interface {
	Floor(ctx context.Context, from change.Position) (int, error)
}

// documentComposer is a target that composes documents from several tables
// ([[documents]]): before the stream starts it builds those not built from the current
// snapshot with the current declaration.
type documentComposer interface {
	ComposeMissing(ctx context.Context) error
}

// requestMissing asks for an online copy of every source table the [[tables]] rules
// select that the target does not hold: a rule added since the snapshot, or a table that
// did not match one then. Tables the stream will create (a CREATE TABLE after the
// checkpoint) are asked for too; their CREATE starts the copy again from its new
// definition, which costs a copy and loses nothing.
func requestMissing(ctx context.Context, env *runEnv, tgt target, cr copyRequester) error {
	conn, err := source.NewDialer(env.cfg.Source).Dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	selected, err := conn.SelectedTables(ctx, env.routes)
	if err != nil {
		return err
	}
	held, err := heldTables(ctx, tgt)
	if err != nil {
		return err
	}
	var missing []string
	for _, n := range selected {
		if !held[n.String()] {
			missing = append(missing, n.String())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	pending, err := cr.RequestCopies(ctx, missing, "selected by [[tables]], not in the target")
	if err != nil {
		return err
	}
	env.log.Info("tables selected by the [[tables]] rules that the target does not hold are copied online", "tables", missing, "already_requested", pending)
	return nil
}

// reseeder is a target that can move on from purged binary logs (see onPurged).
type reseeder interface {
	// Reseed stores, at once, pos as the checkpoint, defs as the tables' definitions from
	// pos on, and a request for a stale online copy of each: the stream leaves the live
	// tables as they are until their copies swap in.
	Reseed(ctx context.Context, pos change.Position, defs []*schema.Table, reason string) error
}

// staleTables lists the tables whose stale copy (Reseed) has not swapped in yet.
func staleTables(ctx context.Context, tgt target) (map[string]bool, error) {
	cr, ok := tgt.(copyRequester)
	if !ok {
		return nil, nil
	}
	copies, err := cr.Copies(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, c := range copies {
		if c.Stale && (c.State == plan.CopyRequested || c.State == plan.CopyCopying) {
			out[c.Table] = true
		}
	}
	return out, nil
}

// onPurged returns the pipeline's recovery from purged binary logs when the configuration
// asks for it ([snapshot] on_missing_binlog = "resnapshot"): the checkpoint moves to the
// source's current position, with every selected table's current definition, and every
// table is copied again online. The tables keep their old rows (readers see them, stale)
// until their copies swap in; the binary logs in between are gone, so nothing else could
// make them exact again.
func onPurged(env *runEnv, tgt target) func(ctx context.Context, cause error) error {
	if env.cfg.Snapshot.OnMissingBinlog != "resnapshot" {
		return nil
	}
	rs, ok := tgt.(reseeder)
	if !ok {
		return nil
	}
	return func(ctx context.Context, cause error) error {
		old, _, _, err := tgt.Checkpoint(ctx)
		if err != nil {
			return err
		}
		conn, err := source.NewDialer(env.cfg.Source).Dial(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		gtid, err := conn.CurrentGTID(ctx)
		if err != nil {
			return err
		}
		names, err := conn.SelectedTables(ctx, env.routes)
		if err != nil {
			return err
		}
		var defs []*schema.Table
		for _, n := range names {
			def, err := conn.LoadTable(ctx, n.Schema, n.Name)
			if err != nil {
				return err
			}
			if def == nil {
				continue // dropped since it was listed
			}
			rt := env.routes.For(def.Schema, def.Name)
			if rt == nil {
				continue
			}
			if err := rt.Identify(def); err != nil {
				return err
			}
			if len(def.Key) == 0 {
				return fmt.Errorf("table %s has no key, so it cannot be copied online: configure a key for it ([[tables]] key) or take a new snapshot", def.QualifiedName())
			}
			if err := rt.FanInCopyRefusal(); err != nil {
				// Before anything moves: a stale table whose copy is refused would stay stale.
				return fmt.Errorf("snapshot.on_missing_binlog = \"resnapshot\" cannot recover: %w", err)
			}
			defs = append(defs, def)
		}
		// The jump counts as one transaction: versions (Elasticsearch) keep growing.
		pos := change.Position{Flavor: conn.Flavor, GTID: gtid, Seq: old.Seq + 1}
		reason := "binary logs after GTID " + old.GTID + " purged (snapshot.on_missing_binlog = \"resnapshot\")"
		if err := rs.Reseed(ctx, pos, defs, reason); err != nil {
			return err
		}
		env.log.Warn("moved the checkpoint past purged binary logs; every table is copied again online and holds its old rows until then",
			"from_gtid", old.GTID, "to_gtid", gtid, "tables", len(defs))
		return nil
	}
}
