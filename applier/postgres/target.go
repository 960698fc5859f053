package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/replicator/replicator/applier/postgres/pgddl"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// Target is a PostgreSQL database receiving the replicated tables.
type Target struct {
	pool  *pgxpool.Pool
	state *State
	cfg   *config.Config
	log   *slog.Logger

	stream streamConn
}

// Open connects to the target and makes sure the state schema exists.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Target, error) {
	return open(ctx, cfg, log, true)
}

// OpenReadOnly connects to the target without creating the state schema, for commands
// that only read it ('status'): on a fresh target they report no checkpoint instead of
// racing a starting replicator to create it.
func OpenReadOnly(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Target, error) {
	return open(ctx, cfg, log, false)
}

func open(ctx context.Context, cfg *config.Config, log *slog.Logger, ensure bool) (*Target, error) {
	pc, err := pgxpool.ParseConfig(cfg.Target.Postgres.URL)
	if err != nil {
		return nil, fmt.Errorf("target.postgres.url: %w", err)
	}
	pc.MaxConns = int32(cfg.Snapshot.Parallelism + 2)
	pc.ConnConfig.RuntimeParams["application_name"] = "replicator"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, explain(pc.ConnConfig, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, explain(pc.ConnConfig, err)
	}
	t := &Target{pool: pool, cfg: cfg, log: log, state: &State{pool: pool, schema: cfg.State.Schema, name: cfg.State.Name}}
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
	t.stream.mu.Unlock()
	t.pool.Close()
}

// State returns the checkpoint store.
func (t *Target) State() *State { return t.state }

// tableIdent returns the quoted target table of a source table.
func (t *Target) tableIdent(src *schema.Table) (pgx.Identifier, error) {
	rule := t.cfg.Rule(src.Schema, src.Name)
	if rule == nil {
		return nil, fmt.Errorf("table %s is not selected by any [[tables]] rule", src.QualifiedName())
	}
	s, n := mapping.PGTarget(rule, src.Schema, src.Name)
	return pgx.Identifier{s, n}, nil
}

// createTableSQL renders CREATE TABLE for the selected columns, with the primary key when
// withKey. Types follow the [mapping] rules (mapping.PGType).
func createTableSQL(id pgx.Identifier, t *schema.Table, cols []int, withKey bool) (string, error) {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(id.Sanitize())
	b.WriteString(" (")
	for i, ci := range cols {
		c := &t.Columns[ci]
		typ, err := mapping.PGType(c)
		if err != nil {
			return "", fmt.Errorf("table %s: %w", t.QualifiedName(), err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{c.Name}.Sanitize())
		b.WriteByte(' ')
		b.WriteString(typ)
		if !c.Nullable {
			b.WriteString(" NOT NULL")
		}
	}
	if withKey {
		b.WriteString(", ")
		b.WriteString(primaryKeyClause(t))
	}
	b.WriteString(")")
	return b.String(), nil
}

// primaryKeyClause renders PRIMARY KEY (...) over the table's identity columns.
func primaryKeyClause(t *schema.Table) string {
	var b strings.Builder
	b.WriteString("PRIMARY KEY (")
	for i, k := range t.Key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{t.Columns[k].Name}.Sanitize())
	}
	b.WriteString(")")
	return b.String()
}

// indexSQL renders the statements creating a table's secondary indexes in PostgreSQL.
// Unique indexes become DEFERRABLE INITIALLY DEFERRED constraints, so a batch in which two
// rows swap a unique value commits. Indexes on columns that are not replicated, FULLTEXT and
// SPATIAL indexes, and plain indexes over unbounded text or binary columns (PostgreSQL's
// btree rejects long entries) are skipped and reported.
func indexSQL(id pgx.Identifier, t *schema.Table, cols []int) (stmts []string, skipped []string) {
	selected := map[string]*schema.Column{}
	for _, ci := range cols {
		selected[strings.ToLower(t.Columns[ci].Name)] = &t.Columns[ci]
	}
	for _, ix := range t.Indexes {
		if ix.Kind != "" {
			skipped = append(skipped, ix.Name+" ("+ix.Kind+")")
			continue
		}
		var names []string
		ok := true
		for _, c := range ix.Columns {
			col := selected[strings.ToLower(c)]
			if col == nil || (!ix.Unique && unboundedType(col.DataType)) {
				ok = false
				break
			}
			names = append(names, pgx.Identifier{col.Name}.Sanitize())
		}
		if !ok {
			skipped = append(skipped, ix.Name)
			continue
		}
		if pgddl.RedundantUnique(t, ix, nil) {
			// The unique index a configured key stands on, or SERIAL's beside its primary
			// key: the stream's CREATE TABLE leaves it out by the same rule.
			skipped = append(skipped, ix.Name+" (the primary key)")
			continue
		}
		name := pgx.Identifier{pgddl.PGIndexName(id[len(id)-1], ix.Name)}.Sanitize()
		if ix.Unique {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s UNIQUE (%s) DEFERRABLE INITIALLY DEFERRED", id.Sanitize(), name, strings.Join(names, ", ")))
		} else {
			stmts = append(stmts, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", name, id.Sanitize(), strings.Join(names, ", ")))
		}
	}
	return stmts, skipped
}

func unboundedType(dt string) bool {
	switch dt {
	case "tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob", "longblob", "json", "geometry":
		return true
	}
	return false
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
