package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/replicator/replicator/applier/elastic"
	"github.com/replicator/replicator/applier/postgres"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/pipeline"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/snapshot"
)

// target is what the commands need of a destination; the PostgreSQL and Elasticsearch
// appliers provide it (their streaming batches through streamApplier).
type target interface {
	snapshot.Target
	// Checkpoint returns the stored position; streaming is true once the snapshot completed.
	Checkpoint(ctx context.Context) (pos change.Position, streaming, found bool, err error)
	// Definitions returns the latest stored table definitions for the schema tracker.
	Definitions(ctx context.Context) ([]*schema.Table, error)
	Close()
}

// Both targets are what the commands drive, checked here where the interfaces are used.
var (
	_ target = (*postgres.Target)(nil)
	_ target = (*elastic.Target)(nil)
)

// targetOpeners holds a constructor per target type; an applier registers itself here.
var targetOpeners = map[string]opener{
	config.TargetPostgres: func(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger) (target, error) {
		return postgres.Open(ctx, cfg, routes, log)
	},
	config.TargetElasticsearch: func(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger) (target, error) {
		return elastic.Open(ctx, cfg, routes, log)
	},
}

// targetReadOnlyOpeners open a target without creating its state, for commands that only
// read it.
var targetReadOnlyOpeners = map[string]opener{
	config.TargetPostgres: func(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger) (target, error) {
		return postgres.OpenReadOnly(ctx, cfg, routes, log)
	},
	config.TargetElasticsearch: func(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger) (target, error) {
		return elastic.OpenReadOnly(ctx, cfg, routes, log)
	},
}

// opener opens a target of one type with the configuration and its compiled routes.
type opener func(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger) (target, error)

// The targets' batches are what the pipeline applies through; the targets do not import
// the pipeline, so the wiring checks that they fit.
var (
	_ pipeline.Tx                = (*postgres.Batch)(nil)
	_ pipeline.ForeignKeyApplier = (*postgres.Batch)(nil)
	_ pipeline.CopyTx            = (*postgres.Batch)(nil)
	_ pipeline.CopyStore         = (*postgres.Target)(nil)
	_ pipeline.CopyIndexer       = (*postgres.Target)(nil)
	_ pipeline.CopyTx            = (*elastic.Batch)(nil)
	_ pipeline.CopyChecker       = (*elastic.Target)(nil)
	_ copyRequester              = (*elastic.Target)(nil)
	_ pipeline.Tx                = (*elastic.Batch)(nil)
	_ pipeline.ForeignKeyApplier = (*elastic.Batch)(nil)
)

// streamApplier gives the pipeline a target's streaming batches (each target's Begin
// returns its own batch type) and, where the target translates DDL, its check of a
// change (pipeline.Options.CheckDDL).
func streamApplier(t target) (pipeline.Applier, func(ddl.Change, ddl.Tables) error, error) {
	switch t := t.(type) {
	case *postgres.Target:
		return pipeline.ApplierOf(t.Begin), t.CheckDDL, nil
	case *elastic.Target:
		return pipeline.ApplierOf(t.Begin), t.CheckDDL, nil
	}
	return nil, nil, fmt.Errorf("target %T does not stream", t)
}

func openTarget(ctx context.Context, env *runEnv) (target, error) {
	return openWith(ctx, targetOpeners, env)
}

// openTargetReadOnly opens the target without creating its state (see targetReadOnlyOpeners).
func openTargetReadOnly(ctx context.Context, env *runEnv) (target, error) {
	return openWith(ctx, targetReadOnlyOpeners, env)
}

func openWith(ctx context.Context, openers map[string]opener, env *runEnv) (target, error) {
	open := openers[env.cfg.Target.Type]
	if open == nil {
		return nil, fmt.Errorf("target.type %q is not supported yet", env.cfg.Target.Type)
	}
	return open(ctx, env.cfg, env.routes, env.log)
}

// heldTables names ("db.table") the tables the target holds definitions of.
func heldTables(ctx context.Context, t target) (map[string]bool, error) {
	defs, err := t.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	held := make(map[string]bool, len(defs))
	for _, d := range defs {
		held[d.QualifiedName()] = true
	}
	return held, nil
}
