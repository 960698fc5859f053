package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/source"
)

// view is a set of source connections that all read the same consistent snapshot, and
// the binary log position of that snapshot.
type view struct {
	readers  []*source.Conn
	pos      change.Position
	lockTime time.Duration
	method   string
}

func (v *view) close() {
	for _, r := range v.readers {
		r.Close()
	}
}

// openView starts n reader transactions at one instant of the source.
//
// MariaDB: BACKUP STAGE BLOCK_COMMIT pauses commits (not reads, not running statements)
// while the readers start their snapshots and gtid_binlog_pos is read; without the RELOAD
// privilege a single reader takes its position from the binlog_snapshot_* status, which
// needs no lock at all. MySQL: FLUSH TABLES WITH READ LOCK for the same moment, with a
// short lock_wait_timeout so a long-running statement makes it fail instead of blocking
// writers for long.
func openView(ctx context.Context, d *source.Dialer, n int, xaWait time.Duration, log *slog.Logger) (*view, error) {
	admin, err := d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	for attempt := 0; ; attempt++ {
		if err := waitNoPreparedXA(ctx, admin, xaWait, log); err != nil {
			return nil, err
		}
		v, err := openViewOnce(ctx, d, admin, n, log)
		// A transaction prepared between the wait and the lock: the view is discarded and
		// the wait starts again.
		var px *preparedXAError
		if errors.As(err, &px) && attempt < 3 {
			log.Warn("an XA transaction was prepared while the snapshot view opened; waiting for it again", "xids", px.xids)
			continue
		}
		return v, err
	}
}

func openViewOnce(ctx context.Context, d *source.Dialer, admin *source.Conn, n int, log *slog.Logger) (*view, error) {
	v := &view{}
	ok := false
	defer func() {
		if !ok {
			v.close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := d.Dial(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := c.Exec(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
			c.Close()
			return nil, fmt.Errorf("snapshot reader: %w", err)
		}
		v.readers = append(v.readers, c)
	}
	begin := func() error {
		for _, c := range v.readers {
			if _, err := c.Exec(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
				return fmt.Errorf("start consistent snapshot: %w", err)
			}
		}
		return nil
	}

	if admin.Flavor == source.MariaDB {
		if _, err := admin.Exec(ctx, "BACKUP STAGE START"); err != nil {
			log.Warn("no RELOAD privilege: snapshot reads with one connection, positioned by binlog_snapshot status", "error", err)
			for _, c := range v.readers[1:] {
				c.Close()
			}
			v.readers = v.readers[:1]
			return v, v.lockFreeMariaDB(ctx, &ok)
		}
		defer admin.Exec(context.Background(), "BACKUP STAGE END")
		t0 := time.Now()
		if _, err := admin.Exec(ctx, "BACKUP STAGE BLOCK_COMMIT"); err != nil {
			return nil, fmt.Errorf("BACKUP STAGE BLOCK_COMMIT: %w", err)
		}
		err := begin()
		var gtid string
		if err == nil {
			gtid, err = admin.CurrentGTID(ctx)
		}
		if err == nil {
			err = checkNoPreparedXA(ctx, admin)
		}
		_, endErr := admin.Exec(ctx, "BACKUP STAGE END")
		v.lockTime = time.Since(t0)
		if err != nil {
			return nil, err
		}
		if endErr != nil {
			return nil, fmt.Errorf("BACKUP STAGE END: %w", endErr)
		}
		v.pos = change.Position{Flavor: source.MariaDB, GTID: gtid}
		v.method = "BACKUP STAGE BLOCK_COMMIT"
		ok = true
		return v, nil
	}

	if _, err := admin.Exec(ctx, "SET SESSION lock_wait_timeout = 10"); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if _, err := admin.Exec(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		return nil, fmt.Errorf("FLUSH TABLES WITH READ LOCK (needs RELOAD; fails after 10 s if long statements run): %w", err)
	}
	err := begin()
	var gtid string
	if err == nil {
		gtid, err = admin.CurrentGTID(ctx)
	}
	if err == nil {
		err = checkNoPreparedXA(ctx, admin)
	}
	_, unlockErr := admin.Exec(ctx, "UNLOCK TABLES")
	v.lockTime = time.Since(t0)
	if err != nil {
		return nil, err
	}
	if unlockErr != nil {
		return nil, fmt.Errorf("UNLOCK TABLES: %w", unlockErr)
	}
	v.pos = change.Position{Flavor: source.MySQL, GTID: gtid}
	v.method = "FLUSH TABLES WITH READ LOCK"
	ok = true
	return v, nil
}

// lockFreeMariaDB positions a single reader by MariaDB's binlog_snapshot_file/position,
// which the server reports consistent with the reader's snapshot.
func (v *view) lockFreeMariaDB(ctx context.Context, ok *bool) error {
	c := v.readers[0]
	if _, err := c.Exec(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return fmt.Errorf("start consistent snapshot: %w", err)
	}
	rows, err := c.QueryStrings(ctx, "SHOW STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return fmt.Errorf("read binlog_snapshot status: %w", err)
	}
	var file, pos string
	for _, r := range rows {
		switch {
		case r[0] != nil && *r[0] == "Binlog_snapshot_file" && r[1] != nil:
			file = *r[1]
		case r[0] != nil && *r[0] == "Binlog_snapshot_position" && r[1] != nil:
			pos = *r[1]
		}
	}
	if file == "" || pos == "" {
		return fmt.Errorf("the server reports no binlog_snapshot position: is the binary log enabled?")
	}
	g, err := c.QueryStrings(ctx, "SELECT BINLOG_GTID_POS(?, ?)", file, pos)
	if err != nil || len(g) == 0 || g[0][0] == nil {
		return fmt.Errorf("BINLOG_GTID_POS(%s, %s): %v", file, pos, err)
	}
	if err := checkNoPreparedXA(ctx, c); err != nil {
		return err
	}
	v.pos = change.Position{Flavor: source.MariaDB, GTID: *g[0][0]}
	v.method = "binlog_snapshot status (no lock)"
	*ok = true
	return nil
}

// A transaction prepared with XA PREPARE before the view and committed after it is
// invisible to the view (it has not committed), and its rows are written to the binary
// log at the PREPARE, before the view's position, where streaming does not look: they
// would be lost. So a view is only taken while the source holds no prepared XA
// transaction. XA RECOVER needs no privilege beyond the documented grants on MariaDB
// (10.5+ keeps prepared transactions across disconnects and restarts); MySQL 8 needs
// XA_RECOVER_ADMIN for it.

// DefaultPreparedXAWait is how long a snapshot waits for prepared XA transactions to be
// committed or rolled back before it gives up.
const DefaultPreparedXAWait = 60 * time.Second

// preparedXAError names the XA transactions that were prepared at the source.
type preparedXAError struct{ xids []string }

func (e *preparedXAError) Error() string {
	return fmt.Sprintf("the source holds prepared XA transactions (XA RECOVER: %s)", strings.Join(e.xids, ", "))
}

// preparedXIDs lists the prepared XA transactions (XA RECOVER), as SQL literals.
func preparedXIDs(ctx context.Context, c *source.Conn) ([]string, error) {
	q := "XA RECOVER"
	if c.Flavor == source.MariaDB {
		q = "XA RECOVER FORMAT='SQL'"
	}
	rows, err := c.QueryStrings(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list prepared XA transactions (%s; MySQL needs the XA_RECOVER_ADMIN privilege for it): %w", q, err)
	}
	var out []string
	for _, r := range rows {
		if len(r) >= 4 && r[3] != nil {
			out = append(out, *r[3])
		}
	}
	sort.Strings(out)
	return out, nil
}

func checkNoPreparedXA(ctx context.Context, c *source.Conn) error {
	xids, err := preparedXIDs(ctx, c)
	if err != nil {
		return err
	}
	if len(xids) > 0 {
		return &preparedXAError{xids: xids}
	}
	return nil
}

// waitNoPreparedXA waits up to wait for the source to hold no prepared XA transaction,
// logging the ones it waits for.
func waitNoPreparedXA(ctx context.Context, c *source.Conn, wait time.Duration, log *slog.Logger) error {
	deadline := time.Now().Add(wait)
	var lastLog time.Time
	for {
		xids, err := preparedXIDs(ctx, c)
		if err != nil {
			return err
		}
		if len(xids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the source still holds prepared XA transactions after %s (XA RECOVER: %s): a snapshot cannot start while one is prepared, because its rows are in the binary log before the snapshot's position and invisible to the snapshot; commit or roll them back (XA COMMIT xid / XA ROLLBACK xid, after asking their application) and run again",
				wait.Round(time.Second), strings.Join(xids, ", "))
		}
		if time.Since(lastLog) >= 5*time.Second {
			log.Warn("waiting for prepared XA transactions to be committed or rolled back before the snapshot view opens",
				"xids", xids, "gives_up_in", time.Until(deadline).Round(time.Second).String())
			lastLog = time.Now()
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
