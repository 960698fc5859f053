package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"sort"

	"github.com/replicator/replicator/applier/elastic"
	"github.com/replicator/replicator/applier/postgres"
	"github.com/replicator/replicator/check"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/finding"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/source"
)

func init() {
	var asJSON bool
	var sampleRows int
	register(&command{
		name:        "check",
		summary:     "preflight the source and the target; prints each check with its fix, findings of one kind as one line",
		usage:       "check -c config.toml [--json] [--sample rows]",
		needsConfig: true,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print every check, per table, as JSON")
			fs.IntVar(&sampleRows, "sample", check.DefaultSampleRows, "read at most this many rows of each table to look for zero dates and NUL bytes (0: none)")
		},
		run: func(ctx context.Context, env *runEnv) error {
			rep := runChecks(ctx, env, sampleRows)
			var err error
			if asJSON {
				err = rep.WriteJSON(env.stdout)
			} else {
				err = rep.WriteText(env.stdout)
			}
			if err != nil {
				return err
			}
			if !rep.OK() {
				return fmt.Errorf("%d checks failed: %v", len(rep.Failed()), rep.Failed())
			}
			return nil
		},
	})
}

func runChecks(ctx context.Context, env *runEnv, sampleRows int) *finding.Report {
	cfg := env.cfg
	rep := &finding.Report{}
	d := source.NewDialer(cfg.Source)
	// The probe's dump ends by design at the end of the log, which go-mysql logs as errors.
	check.Source(ctx, rep, cfg, env.routes, d, slog.New(slog.DiscardHandler), check.Options{SampleRows: sampleRows})

	switch cfg.Target.Type {
	case config.TargetPostgres:
		postgres.Check(ctx, rep, cfg.Target.Postgres.URL, cfg.State.Schema, targetSchemas(ctx, env.routes, d))
	case config.TargetElasticsearch:
		elastic.Check(ctx, rep, cfg.Target.Elasticsearch)
	}
	return rep
}

// targetSchemas lists the PostgreSQL schemas the selected tables go to; unknown when the
// source cannot be read (the source checks report that).
func targetSchemas(ctx context.Context, routes *route.Set, d *source.Dialer) []string {
	conn, err := d.Dial(ctx)
	if err != nil {
		return nil
	}
	defer conn.Close()
	tables, err := conn.SelectedTables(ctx, routes)
	if err != nil {
		return nil
	}
	set := map[string]bool{}
	for _, t := range tables {
		s, _ := routes.For(t.Schema, t.Name).PGTarget()
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
