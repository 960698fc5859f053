package postgres

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/replicator/replicator/applier/postgres/pgddl"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/instance"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/transform"
)

// Target is a PostgreSQL database receiving the replicated tables.
type Target struct {
	pool  *pgxpool.Pool
	state *State
	cfg   *config.Config
	pol   mapping.Policy // the [mapping] rules of cfg, for every type mapping and encoder
	// routes say where each source table goes and which of its columns.
	routes *route.Set
	log    *slog.Logger

	stream streamConn
	// lanes are the extra streaming connections of apply.parallelism (see parallel.go),
	// used under stream's lock; laneSeed spreads rows over them.
	lanes    []*streamConn
	laneSeed maphash.Seed
}

// Open connects to the target and makes sure the state schema exists. routes are cfg's
// compiled [[tables]] rules.
func Open(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger) (*Target, error) {
	return open(ctx, cfg, routes, log, true)
}

// OpenReadOnly connects to the target without creating the state schema, for commands
// that only read it ('status'): on a fresh target they report no checkpoint instead of
// racing a starting replicator to create it.
func OpenReadOnly(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger) (*Target, error) {
	return open(ctx, cfg, routes, log, false)
}

func open(ctx context.Context, cfg *config.Config, routes *route.Set, log *slog.Logger, ensure bool) (*Target, error) {
	pc, err := pgxpool.ParseConfig(cfg.Target.Postgres.URL)
	if err != nil {
		return nil, fmt.Errorf("target.postgres.url: %w", err)
	}
	pc.MaxConns = int32(cfg.Snapshot.Parallelism + 2)
	// Labelled like every session of this process: see Target.endCrashedSessions.
	pc.ConnConfig.RuntimeParams["application_name"] = instance.Self().Label()
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, explain(pc.ConnConfig, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, explain(pc.ConnConfig, err)
	}
	t := &Target{pool: pool, cfg: cfg, routes: routes, pol: mapping.NewPolicy(cfg.Mapping), log: log, state: &State{pool: pool, schema: cfg.State.Schema, name: cfg.State.Name}}
	t.laneSeed = maphash.MakeSeed()
	for i := 1; i < cfg.Apply.Parallelism; i++ {
		t.lanes = append(t.lanes, &streamConn{})
	}
	if !ensure {
		return t, nil
	}
	if err := t.state.ensure(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return t, nil
}

// Close releases the connections.
func (t *Target) Close() {
	t.stream.mu.Lock()
	if t.stream.conn != nil {
		t.stream.conn.Close(context.Background())
	}
	t.closeLanes()
	t.stream.mu.Unlock()
	t.pool.Close()
}

// State returns the checkpoint store.
func (t *Target) State() *State { return t.state }

// route returns the route of a source table.
func (t *Target) route(src *schema.Table) (*route.Route, error) {
	rt := t.routes.For(src.Schema, src.Name)
	if rt == nil {
		return nil, fmt.Errorf("table %s is not selected by any [[tables]] rule", src.QualifiedName())
	}
	return rt, nil
}

// tableIdent returns the quoted target table of a source table.
func (t *Target) tableIdent(src *schema.Table) (pgx.Identifier, error) {
	rt, err := t.route(src)
	if err != nil {
		return nil, err
	}
	s, n := rt.PGTarget()
	return pgx.Identifier{s, n}, nil
}

// render renders a planned table with pgddl.RenderTable, exactly as the stream renders a
// CREATE TABLE of it, over the plan's columns. flavor is the source's (change.Position's),
// for reading the defaults information_schema shows; "" renders none (the key and indexes
// do not need them).
func (t *Target) render(p *plan.Table, flavor string) (*pgddl.Rendered, error) {
	target, ok := t.resolve(p.Table.Schema, p.Table.Name)
	if !ok {
		return nil, fmt.Errorf("table %s is not selected by any [[tables]] rule", p.Name())
	}
	rt, err := t.route(p.Table)
	if err != nil {
		return nil, err
	}
	view, err := rt.View(p.Table)
	if err != nil {
		return nil, err
	}
	def := p.Table
	var defaults []ddl.Default
	if view.Identity() {
		selected := map[string]bool{}
		for _, c := range p.Columns {
			selected[strings.ToLower(p.Table.Columns[c].Name)] = true
		}
		target.Column = func(name string) bool { return selected[strings.ToLower(name)] }
		if flavor != "" {
			defaults = make([]ddl.Default, len(p.Table.Columns))
			for i := range p.Table.Columns {
				defaults[i] = ddl.InfoDefault(&p.Table.Columns[i], ddl.Flavor(flavor))
			}
		}
	} else {
		// The view holds the travelling columns under their target names, keyed: its
		// hashed and metadata columns take no default (every row the replicator writes
		// carries their values).
		def = view.Table
		// resolve gave keyless_index under the target's names already.
		target.Column, target.Key = func(string) bool { return true }, nil
		if flavor != "" {
			defaults = make([]ddl.Default, len(view.Columns))
			for i, c := range view.Columns {
				if c.Meta == 0 && !c.Hashed {
					defaults[i] = ddl.InfoDefault(&p.Table.Columns[c.Source], ddl.Flavor(flavor))
				}
			}
		}
	}
	r, err := pgddl.RenderTable(t.pol, def, defaults, target)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", p.Name(), err)
	}
	if rt.Deletes() == config.DeletesSoft {
		r.AddColumns(markerColumns...)
	}
	return r, nil
}

// Checkpoint returns the stored position; streaming is true once the snapshot completed.
func (t *Target) Checkpoint(ctx context.Context) (pos change.Position, streaming, found bool, err error) {
	cp, err := t.state.Checkpoint(ctx)
	if err != nil || cp == nil {
		return change.Position{}, false, false, err
	}
	return cp.Position, cp.Phase == PhaseStreaming, true, nil
}

// Definitions returns the latest stored table definitions for the schema tracker.
func (t *Target) Definitions(ctx context.Context) ([]*schema.Table, error) {
	return t.state.Definitions(ctx)
}

// targetColumns returns the target columns of a planned table, and its view when the
// rule transforms columns (nil when the rows read are the target's rows as they are).
func (t *Target) targetColumns(p *plan.Table) ([]*schema.Column, *transform.View, error) {
	rt, err := t.route(p.Table)
	if err != nil {
		return nil, nil, err
	}
	view, err := rt.View(p.Table)
	if err != nil {
		return nil, nil, err
	}
	if view.Identity() {
		return p.SelectedColumns(), nil, nil
	}
	cols := make([]*schema.Column, len(view.Table.Columns))
	for i := range view.Table.Columns {
		cols[i] = &view.Table.Columns[i]
	}
	return cols, view, nil
}
