package main

import (
	"context"
	"fmt"
	"time"

	"github.com/replicator/replicator/snapshot"
	"github.com/replicator/replicator/source"
)

func init() {
	register(&command{
		name:        "snapshot",
		summary:     "copy the selected tables under one consistent view; leaves the checkpoint for 'run'",
		usage:       "snapshot -c config.toml",
		needsConfig: true,
		run: func(ctx context.Context, env *runEnv) error {
			sum, err := runSnapshot(ctx, env)
			if err != nil {
				return err
			}
			if sum.AlreadyComplete {
				fmt.Fprintf(env.stdout, "snapshot already complete at GTID %s; 'replicator run' streams from there\n", sum.Position.GTID)
				return nil
			}
			secs := sum.Duration.Seconds()
			fmt.Fprintf(env.stdout, "snapshot complete: %d tables, %d rows, %.1f MB in %s (%.0f rows/s, %.1f MB/s); %s held %s; streaming starts at GTID %s\n",
				sum.Tables, sum.Rows, float64(sum.Bytes)/1e6, sum.Duration.Round(time.Millisecond), float64(sum.Rows)/max(secs, 0.001),
				float64(sum.Bytes)/1e6/max(secs, 0.001), sum.Method, sum.LockTime.Round(time.Microsecond), sum.Position.GTID)
			return nil
		},
	})
}

func runSnapshot(ctx context.Context, env *runEnv) (*snapshot.Summary, error) {
	tgt, err := openTarget(ctx, env)
	if err != nil {
		return nil, err
	}
	defer tgt.Close()
	release, err := lockTarget(ctx, tgt)
	if err != nil {
		return nil, err
	}
	defer release()
	o := snapshotOptions(env, tgt)
	done := withProgress(env, &o)
	defer done()
	return snapshot.Run(ctx, o)
}

func snapshotOptions(env *runEnv, tgt target) snapshot.Options {
	return snapshot.Options{
		Config: env.cfg,
		Routes: env.routes,
		Dialer: source.NewDialer(env.cfg.Source),
		Target: tgt,
		Log:    env.log,
	}
}
