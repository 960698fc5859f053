package snapshot

import (
	"context"
	"fmt"
	"log/slog"
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
func openView(ctx context.Context, d *source.Dialer, n int, log *slog.Logger) (*view, error) {
	admin, err := d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
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
	err = begin()
	var gtid string
	if err == nil {
		gtid, err = admin.CurrentGTID(ctx)
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
	v.pos = change.Position{Flavor: source.MariaDB, GTID: *g[0][0]}
	v.method = "binlog_snapshot status (no lock)"
	*ok = true
	return nil
}
