package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/status"
)

// Lock takes a session-level advisory lock named after the state schema and name, held on
// a connection of its own until release, so two replicators never write one target state.
func (t *Target) Lock(ctx context.Context) (release func(), err error) {
	conn, err := Connect(ctx, t.cfg.Target.Postgres.URL)
	if err != nil {
		return nil, err
	}
	key := "replicator:" + t.cfg.State.Schema + ":" + t.cfg.State.Name
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key).Scan(&ok); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("take the instance lock: %w", err)
	}
	if !ok {
		conn.Close(context.Background())
		return nil, fmt.Errorf("another replicator with state.name %q is already running against this target (PostgreSQL advisory lock %q is held): stop it first, or give this one its own [state] name", t.cfg.State.Name, key)
	}
	return func() { conn.Close(context.Background()) }, nil
}

// RecordError stores the last error in the checkpoint row, for 'replicator status'.
func (t *Target) RecordError(ctx context.Context, msg string) error {
	s := t.state
	_, err := t.pool.Exec(ctx, "UPDATE "+s.ident("checkpoint")+" SET last_error = $2, last_error_at = now() WHERE name = $1", s.name, msg)
	return err
}

// Status reads the checkpoint, the snapshot progress and the last error.
func (t *Target) Status(ctx context.Context) (*status.Target, error) {
	s := t.state
	if ok, err := s.exists(ctx); err != nil || !ok {
		return nil, err // a target opened read-only may have no state yet
	}
	st := &status.Target{}
	var lastErr *string
	err := t.pool.QueryRow(ctx, "SELECT flavor, gtid, phase, updated_at, source_time, last_error, last_error_at FROM "+s.ident("checkpoint")+" WHERE name = $1", s.name).
		Scan(&st.Checkpoint.Flavor, &st.Checkpoint.GTID, &st.Phase, &st.UpdatedAt, &st.SourceTime, &lastErr, &st.LastErrorAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	st.GTID = st.Checkpoint.GTID
	if lastErr != nil {
		st.LastError = *lastErr
	}
	rows, err := t.pool.Query(ctx, `SELECT st.source_table, st.target_table, st.chunks, st.done,
			count(c.*) FILTER (WHERE c.done), COALESCE(sum(c.rows), 0)
		FROM `+s.ident("snapshot_tables")+` st LEFT JOIN `+s.ident("snapshot_chunks")+` c
		  ON c.name = st.name AND c.source_table = st.source_table
		WHERE st.name = $1 GROUP BY st.source_table, st.target_table, st.chunks, st.done ORDER BY st.source_table`, s.name)
	if err != nil {
		return nil, fmt.Errorf("read snapshot progress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tb status.Table
		if err := rows.Scan(&tb.Source, &tb.Target, &tb.Chunks, &tb.Done, &tb.ChunksDone, &tb.Rows); err != nil {
			return nil, err
		}
		st.Tables = append(st.Tables, tb)
	}
	return st, rows.Err()
}
