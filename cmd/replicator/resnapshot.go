package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/replicator/replicator/plan"
)

func init() {
	register(&command{
		name:        "resnapshot",
		summary:     "copy tables again online while 'run' streams: the request is stored in the target and the running (or next) 'run' carries it out",
		usage:       "resnapshot -c config.toml db.table [db.table ...]",
		needsConfig: true,
		run:         requestResnapshot,
	})
}

// copyRequester is a target that stores online copy requests.
type copyRequester interface {
	RequestCopies(ctx context.Context, tables []string, reason string) (pending []string, err error)
	Copies(ctx context.Context) ([]*plan.Copy, error)
}

func requestResnapshot(ctx context.Context, env *runEnv) error {
	if len(env.args) == 0 {
		return errors.New("name the tables to copy again: replicator resnapshot -c config.toml db.table [db.table ...]")
	}
	tgt, err := openTarget(ctx, env)
	if err != nil {
		return err
	}
	defer tgt.Close()
	cr, ok := tgt.(copyRequester)
	if !ok {
		return fmt.Errorf("target type %s does not copy tables online yet: copy everything again with 'replicator snapshot' (target.%s)", env.cfg.Target.Type, env.cfg.Target.Type)
	}
	_, streaming, _, err := tgt.Checkpoint(ctx)
	if err != nil {
		return err
	}
	if !streaming {
		return errors.New("the target has no completed snapshot yet: 'replicator run' copies every selected table first")
	}
	held, err := heldTables(ctx, tgt)
	if err != nil {
		return err
	}
	var tables []string
	for _, a := range env.args {
		db, table, ok := strings.Cut(a, ".")
		if !ok || db == "" || table == "" {
			return fmt.Errorf("%q: name a table as db.table", a)
		}
		rt := env.routes.For(db, table)
		if rt == nil {
			return fmt.Errorf("table %s is not selected by any [[tables]] rule of %s", a, "the configuration")
		}
		if err := rt.FanInCopyRefusal(); err != nil {
			return err
		}
		if !held[a] {
			// Copied in place (PostgreSQL) or behind an alias that appears at the end
			// (Elasticsearch), as 'run' does for the selected tables it finds missing.
			fmt.Fprintf(env.stdout, "%s: not in the target yet; its copy creates it\n", a)
		}
		tables = append(tables, a)
	}
	pending, err := cr.RequestCopies(ctx, tables, "replicator resnapshot")
	if err != nil {
		return err
	}
	isPending := map[string]bool{}
	for _, p := range pending {
		isPending[p] = true
	}
	for _, t := range tables {
		if isPending[t] {
			fmt.Fprintf(env.stdout, "%s: already requested or being copied; that copy ends with every row as of its end\n", t)
		} else {
			fmt.Fprintf(env.stdout, "%s: copy requested; 'replicator run' copies it online ('replicator status' shows its progress)\n", t)
		}
	}
	return nil
}
