package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/instance"
	"github.com/replicator/replicator/status"
)

// Lock takes a session-level advisory lock named after the state schema and name, held on
// a connection of its own until release, so two replicators never write one target state.
// The lock connection carries this process's label (instance.Label) as its
// application_name: a restart after a kill -9 can find the lock still held by the dead
// process's backend, which PostgreSQL ends only once it notices the closed socket (late
// on a loaded server). A holder that crashed on this host is waited for, then terminated;
// any other holder is a replicator that runs, and this one is refused.
func (t *Target) Lock(ctx context.Context) (release func(), err error) {
	self := instance.Self()
	conn, err := connectAs(ctx, t.cfg.Target.Postgres.URL, self.Label())
	if err != nil {
		return nil, err
	}
	key := "replicator:" + t.cfg.State.Schema + ":" + t.cfg.State.Name
	deadline := time.Now().Add(lockWaitCrashed)
	terminated, waiting := false, false
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key).Scan(&ok); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("take the instance lock: %w", err)
		}
		if ok {
			if err := t.endCrashedSessions(ctx, conn); err != nil {
				conn.Close(context.Background())
				return nil, err
			}
			held := &heldLock{url: t.cfg.Target.Postgres.URL, label: self.Label(), key: key, log: t.log, conn: conn, pid: conn.PgConn().PID()}
			t.state.setLock(held)
			return func() { t.state.setLock(nil); held.release() }, nil
		}
		holder, pid, err := lockHolder(ctx, conn, key)
		if err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("find the holder of the instance lock: %w", err)
		}
		released := pid == 0 && time.Now().Before(deadline)
		if !released && (!holder.Crashed() || terminated && time.Now().After(deadline)) {
			conn.Close(context.Background())
			return nil, fmt.Errorf("another replicator with state.name %q is already running against this target (PostgreSQL advisory lock %q is held by backend %d, %s): stop it first, or give this one its own [state] name", t.cfg.State.Name, key, pid, holderText(holder))
		}
		if !released && !terminated && time.Now().After(deadline) {
			// The backend outlived its client by the whole wait: end it (a role may end
			// its own sessions), so the restart does not depend on the server's timing.
			t.log.Warn("the instance lock is still held by the backend of a replicator that no longer runs; terminating that backend", "backend_pid", pid, "holder", holderText(holder))
			_, _ = conn.Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
			terminated, deadline = true, time.Now().Add(lockWaitCrashed)
		}
		if !released && !waiting {
			waiting = true
			t.log.Info("waiting for the instance lock: its holder crashed on this host and PostgreSQL has not ended its session yet", "backend_pid", pid, "holder", holderText(holder))
		}
		select {
		case <-ctx.Done():
			conn.Close(context.Background())
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// endCrashedSessions ends the other sessions of replicators that crashed on this host,
// once the instance lock is taken and before anything reads the state: the lock session
// of a process killed -9 may be gone while its streaming or snapshot session still runs,
// with a COMMIT of rows and checkpoint in its socket buffer that it carries out later (a
// loaded server, a slow fsync). A checkpoint read before that commit is behind the rows:
// the batch would be applied twice, which a table without a key cannot absorb (its
// update finds the row already changed). Every session of this process carries its label
// (application_name), so those of a dead one are found, terminated and waited for: each
// then committed or rolled back whole before the state is read. Only sessions of the
// same role in this database are considered: they are the ones this role may end.
func (t *Target) endCrashedSessions(ctx context.Context, conn *pgx.Conn) error {
	pids, err := crashedSessions(ctx, conn)
	if err != nil || len(pids) == 0 {
		return err
	}
	t.log.Warn("a replicator that crashed on this host still has sessions on the target; terminating them before reading the checkpoint", "backend_pids", pids)
	for _, pid := range pids {
		if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
			return fmt.Errorf("terminate backend %d of a crashed replicator: %w", pid, err)
		}
	}
	deadline := time.Now().Add(lockWaitCrashed)
	for {
		var left []int
		if err := conn.QueryRow(ctx, "SELECT COALESCE(array_agg(pid), '{}') FROM pg_stat_activity WHERE pid = ANY($1)", pids).Scan(&left); err != nil {
			return fmt.Errorf("wait for the sessions of a crashed replicator to end: %w", err)
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("backends %v of a replicator that crashed on this host still run %s after pg_terminate_backend: the checkpoint cannot be read before they end (they may still commit); end them on the PostgreSQL server (pg_terminate_backend, or restart it) and start again", left, lockWaitCrashed)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// crashedSessions lists the backends, other than conn's, of this role in this database
// whose label names a replicator that no longer runs on this host.
func crashedSessions(ctx context.Context, conn *pgx.Conn) ([]int, error) {
	rows, err := conn.Query(ctx, `SELECT pid, application_name FROM pg_stat_activity
		WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid() AND application_name LIKE 'replicator pid=%'`)
	if err != nil {
		return nil, fmt.Errorf("list the sessions of crashed replicators: %w", err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		var app string
		if err := rows.Scan(&pid, &app); err != nil {
			return nil, fmt.Errorf("list the sessions of crashed replicators: %w", err)
		}
		if p, ok := instance.ParseLabel(app); ok && p.Crashed() {
			pids = append(pids, pid)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the sessions of crashed replicators: %w", err)
	}
	return pids, nil
}

// lockWaitCrashed is how long Lock waits for the session of a crashed holder to end, before
// and again after terminating it.
const lockWaitCrashed = 10 * time.Second

// lockHolder returns the process that holds the advisory lock key (by its label; zero when
// the session is not a labelled replicator) and its backend pid. A bigint advisory lock is
// listed in pg_locks with its high half as classid and its low half as objid.
func lockHolder(ctx context.Context, conn *pgx.Conn, key string) (instance.Process, int, error) {
	var app string
	var pid int
	err := conn.QueryRow(ctx, `WITH k AS (SELECT hashtextextended($1, 0) AS h)
		SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid, k
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND l.classid = ((k.h >> 32) & 4294967295)::oid AND l.objid = (k.h & 4294967295)::oid
		LIMIT 1`, key).Scan(&app, &pid)
	if errors.Is(err, pgx.ErrNoRows) {
		return instance.Process{}, 0, nil // released in between: the next try takes it
	}
	if err != nil {
		return instance.Process{}, 0, err
	}
	p, _ := instance.ParseLabel(app)
	return p, pid, nil
}

func holderText(p instance.Process) string {
	if p.PID == 0 {
		return "a session that is not a replicator of this version, or one whose pid is not visible to this role"
	}
	return fmt.Sprintf("replicator pid %d on host %s", p.PID, p.Host)
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
