package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// State is the replicator's bookkeeping in the target's state schema: the checkpoint, the
// snapshot plan and progress, and the schema history. It is written in the same
// transactions as the rows it describes.
type State struct {
	pool   *pgxpool.Pool
	schema string
	name   string

	lockMu sync.Mutex
	lock   *heldLock // the instance lock, once Target.Lock took it: checked with every checkpoint
}

// verifyLock makes sure, inside tx, that this process holds the instance lock (when it
// took one): see heldLock.
func (s *State) verifyLock(ctx context.Context, tx pgx.Tx) error {
	s.lockMu.Lock()
	l := s.lock
	s.lockMu.Unlock()
	if l == nil {
		return nil
	}
	return l.verify(ctx, tx)
}

func (s *State) setLock(l *heldLock) {
	s.lockMu.Lock()
	s.lock = l
	s.lockMu.Unlock()
}

// Phases of a checkpoint.
const (
	PhaseSnapshot  = "snapshot"
	PhaseStreaming = "streaming"
)

// Checkpoint is the stored position of one replicator.
type Checkpoint struct {
	Position change.Position
	Phase    string
}

func (s *State) ident(table string) string { return pgx.Identifier{s.schema, table}.Sanitize() }

// stateStatements create the state schema and its tables, and bring an older state up to
// date. Each is idempotent; ensure runs them in order, in one transaction, whenever their
// fingerprint is not the one recorded on the checkpoint table, so adding a table or a
// column is one more statement here.
func (s *State) stateStatements() []string {
	return []string{
		"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{s.schema}.Sanitize(),
		`CREATE TABLE IF NOT EXISTS ` + s.ident("checkpoint") + ` (
			name text PRIMARY KEY,
			flavor text NOT NULL,
			gtid text NOT NULL,
			phase text NOT NULL,
			updated_at timestamptz NOT NULL DEFAULT now())`,
		`ALTER TABLE ` + s.ident("checkpoint") + ` ADD COLUMN IF NOT EXISTS source_time timestamptz,
			ADD COLUMN IF NOT EXISTS last_error text, ADD COLUMN IF NOT EXISTS last_error_at timestamptz`,
		`CREATE TABLE IF NOT EXISTS ` + s.ident("snapshot_tables") + ` (
			name text NOT NULL,
			source_table text NOT NULL,
			target_table text NOT NULL,
			chunks int NOT NULL,
			rows_estimate bigint NOT NULL,
			done boolean NOT NULL DEFAULT false,
			PRIMARY KEY (name, source_table))`,
		`CREATE TABLE IF NOT EXISTS ` + s.ident("snapshot_chunks") + ` (
			name text NOT NULL,
			source_table text NOT NULL,
			chunk int NOT NULL,
			lo bigint,
			hi bigint,
			rows bigint,
			done boolean NOT NULL DEFAULT false,
			PRIMARY KEY (name, source_table, chunk))`,
		`CREATE TABLE IF NOT EXISTS ` + s.ident("schema_history") + ` (
			name text NOT NULL,
			seq bigserial,
			gtid text NOT NULL,
			source_table text NOT NULL,
			definition jsonb,
			PRIMARY KEY (name, seq))`,
		`CREATE TABLE IF NOT EXISTS ` + s.ident("prepared_xa") + ` (
			name text NOT NULL,
			xid text NOT NULL,
			part int NOT NULL,
			gtid text NOT NULL,
			changes bytea NOT NULL,
			PRIMARY KEY (name, xid, part))`,
		`CREATE TABLE IF NOT EXISTS ` + s.ident("online_copies") + ` (
			name text NOT NULL,
			source_table text NOT NULL,
			state text NOT NULL,
			reason text NOT NULL DEFAULT '',
			definition jsonb,
			after jsonb,
			rows bigint NOT NULL DEFAULT 0,
			estimate bigint NOT NULL DEFAULT 0,
			error text,
			requested_at timestamptz NOT NULL DEFAULT now(),
			started_at timestamptz,
			updated_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (name, source_table))`,
		`ALTER TABLE ` + s.ident("online_copies") + ` ADD COLUMN IF NOT EXISTS in_place boolean NOT NULL DEFAULT false`,
		`ALTER TABLE ` + s.ident("online_copies") + ` ADD COLUMN IF NOT EXISTS stale boolean NOT NULL DEFAULT false`,
		// One row per extra apply connection (apply.parallelism): the share of a batch it
		// committed ahead of the checkpoint base reaches that many transactions past it.
		`CREATE TABLE IF NOT EXISTS ` + s.ident("apply_lanes") + ` (
			name text NOT NULL,
			lane int NOT NULL,
			base text NOT NULL,
			reach int NOT NULL,
			updated_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (name, lane))`,
	}
}

// stateFingerprint names one version of the state statements; it is kept as the comment
// of the checkpoint table.
func stateFingerprint(stmts []string) string {
	h := sha256.New()
	for _, q := range stmts {
		h.Write([]byte(q))
		h.Write([]byte{0})
	}
	return "replicator state " + hex.EncodeToString(h.Sum(nil)[:8])
}

// stateFingerprintNow returns the fingerprint recorded on the checkpoint table, "" when
// the state does not exist (or predates fingerprints).
func (s *State) stateFingerprintNow(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (string, error) {
	var fp *string
	err := q.QueryRow(ctx, "SELECT obj_description(to_regclass($1), 'pg_class')", s.ident("checkpoint")).Scan(&fp)
	if err != nil {
		return "", fmt.Errorf("read the state schema %s: %w", s.schema, err)
	}
	if fp == nil {
		return "", nil
	}
	return *fp, nil
}

// exists reports whether the state schema holds a checkpoint table, for the read-only
// commands that must not create it.
func (s *State) exists(ctx context.Context) (bool, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", s.ident("checkpoint")).Scan(&ok); err != nil {
		return false, fmt.Errorf("read the state schema %s: %w", s.schema, err)
	}
	return ok, nil
}

// ensure creates the state schema and tables, or brings them up to date. Concurrent
// CREATE ... IF NOT EXISTS is not safe in PostgreSQL (two sessions both find the name free
// and one fails on a catalog unique index), so the statements run in one transaction
// holding a transaction-level advisory lock named after the state schema: a second
// replicator starting at the same moment waits, then finds everything in place. When the
// recorded fingerprint is current nothing is locked or altered at all, so opening a
// target never waits behind a running replicator's batch.
func (s *State) ensure(ctx context.Context) error {
	stmts := s.stateStatements()
	want := stateFingerprint(stmts)
	if have, err := s.stateFingerprintNow(ctx, s.pool); err != nil || have == want {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "replicator state:"+s.schema); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		// Another replicator may have finished the work while this one waited.
		if have, err := s.stateFingerprintNow(ctx, tx); err != nil || have == want {
			return err
		}
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "COMMENT ON TABLE "+s.ident("checkpoint")+" IS "+quoteLiteral(want))
		return err
	})
	if err != nil {
		return fmt.Errorf("create state schema %s: %w (the target user needs CREATE on the database, or a schema %s it may create tables in)", s.schema, err, s.schema)
	}
	return nil
}

// quoteLiteral renders a string as a PostgreSQL literal (COMMENT takes no parameters).
func quoteLiteral(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

// Checkpoint returns the stored checkpoint, or nil when there is none.
func (s *State) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	var cp Checkpoint
	err := s.pool.QueryRow(ctx, "SELECT flavor, gtid, phase FROM "+s.ident("checkpoint")+" WHERE name = $1", s.name).
		Scan(&cp.Position.Flavor, &cp.Position.GTID, &cp.Phase)
	var pe *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || (errors.As(err, &pe) && pe.Code == "42P01") {
		return nil, nil // no checkpoint, or (a target opened read-only) no state at all
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return &cp, nil
}

// saveCheckpoint stores the checkpoint inside tx.
func (s *State) saveCheckpoint(ctx context.Context, tx pgx.Tx, cp Checkpoint) error {
	if err := s.verifyLock(ctx, tx); err != nil {
		return err
	}
	var srcTime *time.Time
	if !cp.Position.Time.IsZero() {
		srcTime = &cp.Position.Time
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+s.ident("checkpoint")+` (name, flavor, gtid, phase, source_time) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name) DO UPDATE SET flavor = EXCLUDED.flavor, gtid = EXCLUDED.gtid, phase = EXCLUDED.phase, updated_at = now(),
		  source_time = COALESCE(EXCLUDED.source_time, `+s.ident("checkpoint")+`.source_time)`,
		s.name, cp.Position.Flavor, cp.Position.GTID, cp.Phase, srcTime)
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", cp.Position.GTID, err)
	}
	return nil
}

// Definitions returns the latest stored definition of every table, for the schema tracker.
func (s *State) Definitions(ctx context.Context) ([]*schema.Table, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (source_table) source_table, definition FROM `+s.ident("schema_history")+`
		WHERE name = $1 ORDER BY source_table, seq DESC`, s.name)
	if err != nil {
		return nil, fmt.Errorf("read schema history: %w", err)
	}
	defer rows.Close()
	var out []*schema.Table
	for rows.Next() {
		var name string
		var def []byte
		if err := rows.Scan(&name, &def); err != nil {
			return nil, err
		}
		if def == nil { // dropped
			continue
		}
		var sp storedPlan
		if err := json.Unmarshal(def, &sp); err != nil {
			return nil, fmt.Errorf("decode stored definition of %s: %w", name, err)
		}
		out = append(out, sp.Table)
	}
	return out, rows.Err()
}
