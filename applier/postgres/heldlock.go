package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/fault"
)

// heldLock is the instance lock this process holds: a session-level advisory lock, so it
// lives exactly as long as its session. A PostgreSQL restart, or the session ended by an
// administrator, releases it without this process noticing, while the stream and the
// snapshot go on over new connections: another replicator starting meanwhile would take
// it and both would write the target. So every checkpoint is stored only once the
// transaction storing it has seen the lock held by this process's lock session (verify),
// and a lock found released is taken again (or, taken by another replicator meanwhile,
// stops this one).
type heldLock struct {
	url, label, key string
	log             *slog.Logger

	mu   sync.Mutex
	conn *pgx.Conn // the lock session
	pid  uint32    // its backend pid
}

// lockHeldSQL is true when the advisory lock $1 is granted to backend $2 (a bigint
// advisory lock shows its high half as classid and its low half as objid).
const lockHeldSQL = `SELECT EXISTS (SELECT 1 FROM pg_locks l, (SELECT hashtextextended($1, 0) AS h) k
	WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid = $2
	  AND l.classid = ((k.h >> 32) & 4294967295)::oid AND l.objid = (k.h & 4294967295)::oid)`

// verify makes sure, inside tx, that this process holds the lock, taking it again when
// its session was lost and nobody else took it. The check itself runs outside mu, so the
// lanes of parallel apply, each verifying in its own transaction, do not wait for each
// other; only a retake is serialised.
func (l *heldLock) verify(ctx context.Context, tx pgx.Tx) error {
	l.mu.Lock()
	pid := l.pid
	l.mu.Unlock()
	if held, err := l.heldBy(ctx, tx, pid); err != nil || held {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pid != pid { // another transaction took it again meanwhile
		if held, err := l.heldBy(ctx, tx, l.pid); err != nil || held {
			return err
		}
	}
	return l.retake(ctx)
}

func (l *heldLock) heldBy(ctx context.Context, tx pgx.Tx, pid uint32) (bool, error) {
	var held bool
	if err := tx.QueryRow(ctx, lockHeldSQL, l.key, pid).Scan(&held); err != nil {
		return false, fmt.Errorf("check the instance lock: %w", err)
	}
	return held, nil
}

// retake opens a new lock session and takes the lock on it. Called with mu held.
func (l *heldLock) retake(ctx context.Context) error {
	if l.conn != nil {
		l.conn.Close(context.Background())
		l.conn = nil
	}
	conn, err := connectAs(ctx, l.url, l.label)
	if err != nil {
		return fault.Transient(fmt.Errorf("take the instance lock again: %w", err))
	}
	var ok bool
	var pid uint32
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0)), pg_backend_pid()", l.key).Scan(&ok, &pid); err != nil {
		conn.Close(context.Background())
		return fault.Transient(fmt.Errorf("take the instance lock again: %w", err))
	}
	if !ok {
		holder, hpid, herr := lockHolder(ctx, conn, l.key)
		conn.Close(context.Background())
		if herr != nil {
			return fault.Transient(fmt.Errorf("find the holder of the instance lock: %w", herr))
		}
		return fmt.Errorf("lost the instance lock: the PostgreSQL session that held it ended (a server restart or a terminated session) and backend %d (%s) took it meanwhile: stopping, so two replicators never write this target", hpid, holderText(holder))
	}
	l.log.Warn("the PostgreSQL session holding the instance lock was gone (a server restart or a terminated session); the lock is taken again", "backend_pid", pid)
	l.conn, l.pid = conn, pid
	return nil
}

// release ends the lock session, releasing the lock.
func (l *heldLock) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		l.conn.Close(context.Background())
		l.conn = nil
	}
}
