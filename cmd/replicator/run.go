package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/pipeline"
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
	tgt, err := openTarget(ctx, cfg, env.log)
	if err != nil {
		return err
	}
	defer tgt.Close()

	_, streaming, _, err := tgt.Checkpoint(ctx)
	if err != nil {
		return err
	}
	if !streaming {
		env.log.Info("no streaming checkpoint in the target: snapshot first")
		o := snapshotOptions(env, tgt)
		done := withProgress(env, &o)
		sum, err := snapshot.Run(ctx, o)
		done()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		env.log.Info("snapshot complete; handing off to the binary log", "gtid", sum.Position.GTID, "rows", sum.Rows,
			"duration", sum.Duration.String(), "lock", sum.LockTime.String())
	}
	schemas := func(ctx context.Context) (*tracker.Tracker, error) {
		defs, err := tgt.Definitions(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", pipeline.ErrTransient, err)
		}
		tr := tracker.New(cfg, nil)
		for _, def := range defs {
			if err := tr.Put(def); err != nil {
				return nil, err
			}
		}
		return tr, nil
	}
	err = pipeline.Run(ctx, pipeline.Options{
		Config: cfg, Dialer: source.NewDialer(cfg.Source), Applier: tgt, Schemas: schemas, Log: env.log,
		Checkpoint: func(ctx context.Context) (change.Position, error) {
			pos, _, found, err := tgt.Checkpoint(ctx)
			if err != nil {
				return change.Position{}, fmt.Errorf("%w: %v", pipeline.ErrTransient, err)
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
