package snapshot

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

// A resumed snapshot copies its missing chunks under a newer view than the chunks copied
// before the kill. Mixed views are not a state the source ever had: a row whose key moved
// from a done chunk into a pending one is there twice, a unique value that moved between
// rows is held by two rows, and replaying the binary log from the first view over rows
// copied later passes through such states too (unique indexes then refuse them).
//
// So a resumed snapshot ends at its newest view, where every table is exact: a row
// unchanged since the first view is the same in every view, and every key the binary log
// shows changed between the first view and the newest (scanBinlog) is read again under
// the newest view and replaces what the target holds for that key (deleted when the view
// has no such row). Streaming then starts at the newest view's position. Unique indexes
// of tables with chunks from an earlier run are built only after that.

// resolveBatch is how many keys one source query reads.
const resolveBatch = 1000

// resolveKeys replaces, for every key in res, the target's row with the row conn's view
// holds (or none), through Target.ApplyRows: once per table, because a table whose unique
// indexes exist already (copied entirely before a kill, or before a DDL elsewhere) is only
// consistent once all of its changed rows are at the view (a unique value may have moved
// between any two of them).
func resolveKeys(ctx context.Context, o Options, conn *source.Conn, pos change.Position, res *scanResult) (int64, error) {
	var total int64
	for p, byKey := range res.keys {
		keys := make([]change.Row, 0, len(byKey))
		for _, k := range byKey {
			keys = append(keys, k)
		}
		var rows []change.Row
		for rest := keys; len(rest) > 0; {
			n := min(len(rest), resolveBatch)
			q, err := keysQuery(p, rest[:n])
			if err != nil {
				return total, err
			}
			rest = rest[n:]
			err = StreamRows(ctx, conn, q, p.SelectedColumns(), func(r change.Row) error {
				cp := make(change.Row, len(r))
				for i, v := range r {
					if v != nil {
						cp[i] = append([]byte{}, v...)
					}
				}
				rows = append(rows, cp)
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("read changed rows of %s again at GTID %s: %w", p.Name(), pos.GTID, err)
			}
		}
		if err := o.Target.ApplyRows(ctx, p, pos, keys, rows); err != nil {
			return total, fmt.Errorf("bring %d changed rows of %s to GTID %s: %w", len(keys), p.Name(), pos.GTID, err)
		}
		crashpoint.Hit(crashpoint.SnapshotResumeApplyRows)
		total += int64(len(keys))
	}
	return total, nil
}

// keysQuery selects the plan's columns of the rows with the given keys.
func keysQuery(p *plan.Table, keys []change.Row) (string, error) {
	t := p.Table
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, ci := range p.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(source.QuoteIdent(t.Columns[ci].Name))
	}
	b.WriteString(" FROM " + source.QuoteTable(t.Schema, t.Name) + " WHERE (")
	for i, k := range t.Key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(source.QuoteIdent(t.Columns[k].Name))
	}
	b.WriteString(") IN (")
	for i, r := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, k := range t.Key {
			if j > 0 {
				b.WriteString(", ")
			}
			lit, err := sqlLiteral(&t.Columns[k], r[k])
			if err != nil {
				return "", fmt.Errorf("key column %s of %s: %w", t.Columns[k].Name, p.Name(), err)
			}
			b.WriteString(lit)
		}
		b.WriteByte(')')
	}
	b.WriteString(")")
	if p.Where != "" {
		// A changed row now outside the filter is deleted from the target, as a key
		// without a row is.
		b.WriteString(" AND " + p.Where)
	}
	return b.String(), nil
}

// sqlLiteral writes a canonical value as a literal the column compares equal to: numbers
// as they are, binary strings as hex, everything else as a utf8mb4 string given in hex
// (no escaping to get wrong; the introducer's coercibility lets the column's collation
// decide the comparison).
func sqlLiteral(c *schema.Column, v []byte) (string, error) {
	if v == nil {
		return "NULL", nil
	}
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric", "float", "double", "real", "year":
		for _, ch := range v {
			if !(ch >= '0' && ch <= '9' || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E') {
				return "", fmt.Errorf("value %q is not a number", v)
			}
		}
		return string(v), nil
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit":
		return "X'" + hex.EncodeToString(v) + "'", nil
	}
	return "_utf8mb4 X'" + hex.EncodeToString(v) + "'", nil
}
