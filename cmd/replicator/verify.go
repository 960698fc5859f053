package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/replicator/replicator/applier/elastic"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/source"
	"github.com/replicator/replicator/verify"
)

func init() {
	var (
		asJSON bool
		o      verify.Options
	)
	register(&command{
		name:        "verify",
		summary:     "compare every selected table between source and target; exit 0 only when all are equal",
		usage:       "verify -c config.toml [--json] [--chunk-rows N] [--parallelism N] [--max-rows-per-second N]",
		needsConfig: true,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
			fs.IntVar(&o.ChunkRows, "chunk-rows", 10000, "source rows per checksummed key range")
			fs.IntVar(&o.Parallelism, "parallelism", 2, "chunks compared at once (one source connection each)")
			fs.IntVar(&o.MaxRowsPerSecond, "max-rows-per-second", 0, "cap on rows read from the source per second (0: no cap)")
			fs.IntVar(&o.Retries, "retries", 5, "times differing rows are read again, after the target caught up, before they count")
			fs.DurationVar(&o.RetryDelay, "retry-delay", time.Second, "pause before each re-read of differing rows")
			fs.DurationVar(&o.CatchupTimeout, "catchup-timeout", time.Minute, "how long to wait for the target's checkpoint to reach the source's position")
			fs.IntVar(&o.MaxDiffs, "max-diffs", 10, "differing rows shown per table")
		},
		run: func(ctx context.Context, env *runEnv) error {
			rep, err := runVerify(ctx, env, o)
			if err != nil {
				return err
			}
			if asJSON {
				err = rep.WriteJSON(env.stdout)
			} else {
				err = rep.WriteText(env.stdout)
			}
			if err != nil {
				return err
			}
			if !rep.Equal {
				return errors.New(rep.Reason)
			}
			return nil
		},
	})
}

// runVerify opens the target for its checkpoint and a reader of its tables, and compares.
func runVerify(ctx context.Context, env *runEnv, o verify.Options) (*verify.Report, error) {
	cfg := env.cfg
	if o.ChunkRows < 1 || o.Parallelism < 1 || o.Parallelism > 64 || o.MaxRowsPerSecond < 0 || o.Retries < 0 {
		return nil, exitError{2, errors.New("--chunk-rows must be at least 1, --parallelism 1..64, --max-rows-per-second and --retries not negative")}
	}
	tgt, err := openTargetReadOnly(ctx, env) // verify only reads the state
	if err != nil {
		return nil, err
	}
	defer tgt.Close()
	var reader verify.Target
	switch cfg.Target.Type {
	case config.TargetPostgres:
		reader, err = verify.Postgres(ctx, cfg, o.Parallelism+1)
	case config.TargetElasticsearch:
		et, ok := tgt.(*elastic.Target)
		if !ok {
			return nil, fmt.Errorf("elasticsearch target of unexpected type %T", tgt)
		}
		reader, err = verify.Elastic(cfg, et.FieldOptions())
	default:
		err = fmt.Errorf("target.type %q cannot be verified", cfg.Target.Type)
	}
	if err != nil {
		return nil, err
	}
	defer reader.Close()
	o.Config, o.Routes, o.Dialer, o.Target, o.Log = cfg, env.routes, source.NewDialer(cfg.Source), reader, env.log
	o.Checkpoint = func(ctx context.Context) (change.Position, bool, bool, error) { return tgt.Checkpoint(ctx) }
	rep, err := verify.Run(ctx, o)
	if err != nil || len(cfg.Documents) == 0 {
		return rep, err
	}
	et, ok := tgt.(*elastic.Target)
	if !ok {
		return rep, nil
	}
	// The tables' indexes were just compared with the source: documents equal to their
	// composition of those indexes equal the source's.
	checks, err := et.VerifyDocuments(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range checks {
		d := &verify.DocumentsReport{Index: c.Index, Equal: c.Differences == 0, Documents: c.Documents, Differences: c.Differences, Differ: c.Differ}
		rep.Documents = append(rep.Documents, d)
		if !d.Equal && rep.Equal {
			rep.Equal, rep.Reason = false, fmt.Sprintf("composed index %s: %d documents differ", c.Index, c.Differences)
		}
	}
	return rep, nil
}
