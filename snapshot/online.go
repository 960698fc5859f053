package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

// The reads of an online copy (one chunk of one table at a time, while the stream
// applies): each chunk is read in a consistent snapshot of its own, which must see every
// transaction the stream has taken so far (the stream reconciles the chunk with what it
// takes after; see pipeline/copier.go). No lock is taken.

// BeginChunkRead starts on conn a consistent-snapshot transaction that sees every
// transaction the binary log held when it was called, which includes every transaction
// whose events the stream has read (seen, the GTID set of those, for MySQL). A server
// writes a transaction to the binary log before its storage engine commits it, so a
// snapshot started at once may miss the last few: it is started again until it does not.
//
// MariaDB reports the binary log position of a consistent snapshot (binlog_snapshot_file
// and _position), compared with SHOW MASTER STATUS read first. MySQL adds a
// transaction to gtid_executed after its engine commit, so a snapshot started once
// gtid_executed covers seen sees them.
func BeginChunkRead(ctx context.Context, conn *source.Conn, seen []string) error {
	if conn.Flavor == source.MariaDB {
		before, err := binlogEnd(ctx, conn, "SHOW MASTER STATUS", "File", "Position")
		if err != nil {
			return fmt.Errorf("read the binary log position (SHOW MASTER STATUS needs REPLICATION CLIENT): %w", err)
		}
		for attempt := 0; ; attempt++ {
			if _, err := conn.Exec(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
				return fmt.Errorf("start a consistent snapshot: %w", err)
			}
			at, err := binlogEnd(ctx, conn, "SHOW STATUS LIKE 'binlog_snapshot_%'", "Binlog_snapshot_file", "Binlog_snapshot_position")
			if err != nil {
				conn.Exec(context.Background(), "ROLLBACK")
				return fmt.Errorf("read the snapshot's binary log position: %w", err)
			}
			if !at.before(before) {
				return nil
			}
			conn.Exec(context.Background(), "ROLLBACK")
			if attempt >= 100 {
				return fmt.Errorf("a consistent snapshot did not see the transactions written to the binary log before it (at %s:%d, the log at %s:%d) after %d attempts", at.file, at.pos, before.file, before.pos, attempt+1)
			}
			if err := sleep(ctx, 10*time.Millisecond); err != nil {
				return err
			}
		}
	}
	for attempt := 0; ; attempt++ {
		have, err := conn.CurrentGTID(ctx)
		if err != nil {
			return err
		}
		covered := true
		for _, g := range seen {
			ok, err := source.Covers(conn.Flavor, have, g)
			if err != nil {
				return fmt.Errorf("compare GTID sets %s and %s: %w", have, g, err)
			}
			covered = covered && ok
		}
		if covered {
			break
		}
		if attempt >= 100 {
			return fmt.Errorf("the source's gtid_executed %s does not cover the stream's position %s", have, strings.Join(seen, ", "))
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return fmt.Errorf("start a consistent snapshot: %w", err)
	}
	return nil
}

// EndChunkRead ends the transaction BeginChunkRead started.
func EndChunkRead(ctx context.Context, conn *source.Conn) error {
	_, err := conn.Exec(ctx, "COMMIT")
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type binlogPos struct {
	file string
	pos  uint64
}

// before orders binary log positions: files by their numeric suffix.
func (p binlogPos) before(q binlogPos) bool {
	if p.file != q.file {
		return logIndex(p.file) < logIndex(q.file)
	}
	return p.pos < q.pos
}

func logIndex(file string) int64 {
	i := strings.LastIndexByte(file, '.')
	n, _ := strconv.ParseInt(file[i+1:], 10, 64)
	return n
}

// binlogEnd reads a file and position from a statement's result: SHOW MASTER STATUS names
// them in columns, SHOW STATUS in rows.
func binlogEnd(ctx context.Context, conn *source.Conn, q, fileName, posName string) (binlogPos, error) {
	rows, err := conn.QueryStrings(ctx, q)
	if err != nil {
		return binlogPos{}, err
	}
	var p binlogPos
	var pos string
	if strings.HasPrefix(q, "SHOW MASTER") {
		if len(rows) == 0 || len(rows[0]) < 2 || rows[0][0] == nil || rows[0][1] == nil {
			return binlogPos{}, errors.New("the server reports no binary log: is log_bin on?")
		}
		p.file, pos = *rows[0][0], *rows[0][1]
	} else {
		for _, r := range rows {
			if len(r) < 2 || r[0] == nil || r[1] == nil {
				continue
			}
			switch *r[0] {
			case fileName:
				p.file = *r[1]
			case posName:
				pos = *r[1]
			}
		}
	}
	if p.file == "" || pos == "" {
		return binlogPos{}, fmt.Errorf("%s names no binary log position", q)
	}
	if p.pos, err = strconv.ParseUint(pos, 10, 64); err != nil {
		return binlogPos{}, fmt.Errorf("%s: position %q: %w", q, pos, err)
	}
	return p, nil
}

// ReadAfter reads, in the open transaction on conn, up to limit rows of t whose key
// follows after's (a full-width row of t holding key values; nil starts at the first
// row), in key order, as full-width rows holding the columns cols (indexes into
// t.Columns; the others are nil). The key's columns must be among cols.
//
// where, when not empty, is the rule's row filter (filter.Expr.SQL): rows outside it are
// not read.
func ReadAfter(ctx context.Context, conn *source.Conn, t *schema.Table, cols []int, after change.Row, limit int, where string) ([]change.Row, error) {
	if len(t.Key) == 0 {
		return nil, fmt.Errorf("table %s has no key to read it in order by", t.QualifiedName())
	}
	sel := make([]*schema.Column, len(cols))
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(source.QuoteIdent(t.Columns[c].Name))
		sel[i] = &t.Columns[c]
	}
	b.WriteString(" FROM " + source.QuoteTable(t.Schema, t.Name))
	switch {
	case where != "" && after != nil:
		b.WriteString(" WHERE " + where + " AND (")
	case where != "":
		b.WriteString(" WHERE " + where)
	case after != nil:
		b.WriteString(" WHERE (")
	}
	if after != nil {
		// (k1, k2, ...) > (a1, a2, ...) spelled out, which every server's range optimizer
		// turns into index ranges.
		for i := range t.Key {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteByte('(')
			for j := 0; j <= i; j++ {
				k := t.Key[j]
				lit, err := sqlLiteral(&t.Columns[k], after[k])
				if err != nil {
					return nil, fmt.Errorf("key column %s of %s: %w", t.Columns[k].Name, t.QualifiedName(), err)
				}
				op := " = "
				if j == i {
					op = " > "
				}
				if j > 0 {
					b.WriteString(" AND ")
				}
				b.WriteString(source.QuoteIdent(t.Columns[k].Name) + op + lit)
			}
			b.WriteByte(')')
		}
		b.WriteByte(')')
	}
	b.WriteString(" ORDER BY ")
	for i, k := range t.Key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(source.QuoteIdent(t.Columns[k].Name))
	}
	b.WriteString(" LIMIT " + strconv.Itoa(limit))
	var out []change.Row
	err := StreamRows(ctx, conn, b.String(), sel, func(r change.Row) error {
		full := make(change.Row, len(t.Columns))
		for i, c := range cols {
			if r[i] != nil {
				full[c] = append([]byte{}, r[i]...)
			}
		}
		out = append(out, full)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s after the key copied last: %w", t.QualifiedName(), err)
	}
	return out, nil
}

// EstimateRows is the server's row estimate for a table (information_schema), 0 when it
// has none: an online copy's progress is shown against it.
func EstimateRows(ctx context.Context, conn *source.Conn, db, table string) (int64, error) {
	return estimateRows(ctx, conn, source.TableName{Schema: db, Name: table})
}
