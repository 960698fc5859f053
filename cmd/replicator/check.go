package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/replicator/replicator/applier/elastic"
	"github.com/replicator/replicator/applier/postgres"
	"github.com/replicator/replicator/check"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/finding"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
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
		if len(cfg.Documents) > 0 {
			checkDocuments(ctx, rep, env, d)
		}
	}
	return rep
}

// checkDocuments resolves the [[documents]] declarations against the source's current
// definitions of their tables, as the stream will against the target's.
func checkDocuments(ctx context.Context, rep *finding.Report, env *runEnv, d *source.Dialer) {
	const name = "documents"
	conn, err := d.Dial(ctx)
	if err != nil {
		rep.Failf(name, "make the source reachable (see source.connect)", "cannot read the involved tables' definitions: %v", err)
		return
	}
	defer conn.Close()
	defs := map[string]*schema.Table{}
	for i := range env.cfg.Documents {
		for _, n := range env.cfg.Documents[i].Tables() {
			db, table, _ := strings.Cut(n, ".")
			if defs[n] != nil {
				continue
			}
			def, err := conn.LoadTable(ctx, db, table)
			if err != nil {
				rep.Failf(name, "make the table readable by the replicator's user", "documents[%d]: table %s: %v", i, n, err)
				return
			}
			if def == nil {
				rep.Failf(name, "create the table or correct the declaration", "documents[%d]: table %s does not exist at the source", i, n)
				return
			}
			if rt := env.routes.For(db, table); rt != nil {
				if err := rt.Identify(def); err != nil {
					rep.Failf(name, "give the table a primary key or a key in its [[tables]] rule", "documents[%d]: %v", i, err)
					return
				}
			}
			defs[n] = def
		}
	}
	lines, err := elastic.ResolveDocuments(env.cfg, env.routes, defs)
	if err != nil {
		rep.Failf(name, "correct the declaration (README: Composed documents)", "%v", err)
		return
	}
	rep.Passf(name, "%s", strings.Join(lines, " | "))
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
