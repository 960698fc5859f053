package postgres

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/schema"
)

// applyOps applies the changes of a table without a key in stream order, in one round trip
// (a pipelined batch of statements): an insert inserts; an update or delete changes exactly
// one row whose replicated columns equal the before-image (NULL matching NULL), chosen by
// ctid, since duplicate rows are legal and the source changed one of them. Each statement
// is a scan of the table unless an index covers the compared columns (keyless_index in the
// table's rule). A change that finds no row means the target no longer holds what the
// source had: the stream stops rather than diverge further.
func (b *Batch) applyOps(ctx context.Context, p *tablePlan, def *schema.Table, ops []change.RowOp) error {
	q := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	var names []string
	for _, c := range p.cols {
		names = append(names, q(c.Name))
	}
	insertSQL := func() string {
		ph := make([]string, len(p.cols))
		for i := range ph {
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", p.id.Sanitize(), strings.Join(names, ", "), strings.Join(ph, ", "))
	}()
	var batch pgx.Batch
	kinds := make([]change.Kind, 0, len(ops))
	for _, op := range ops {
		switch op.Kind {
		case change.Insert:
			vals, err := b.opValues(p, def, op.After)
			if err != nil {
				return fmt.Errorf("insert into %s: %w", p.id.Sanitize(), err)
			}
			batch.Queue(insertSQL, vals...)
		case change.Update, change.Delete:
			before, err := b.opValues(p, def, op.Before)
			if err != nil {
				return fmt.Errorf("change of %s: %w", p.id.Sanitize(), err)
			}
			var args []any
			var where []string
			for i, v := range before {
				if v == nil {
					where = append(where, names[i]+" IS NULL")
					continue
				}
				args = append(args, v)
				where = append(where, fmt.Sprintf("%s = $%d", names[i], len(args)))
			}
			match := fmt.Sprintf("ctid = (SELECT ctid FROM %s WHERE %s LIMIT 1)", p.id.Sanitize(), strings.Join(where, " AND "))
			if op.Kind == change.Delete {
				batch.Queue("DELETE FROM "+p.id.Sanitize()+" WHERE "+match, args...)
				break
			}
			after, err := b.opValues(p, def, op.After)
			if err != nil {
				return fmt.Errorf("update of %s: %w", p.id.Sanitize(), err)
			}
			var sets []string
			for i, v := range after {
				args = append(args, v)
				sets = append(sets, fmt.Sprintf("%s = $%d", names[i], len(args)))
			}
			batch.Queue("UPDATE "+p.id.Sanitize()+" SET "+strings.Join(sets, ", ")+" WHERE "+match, args...)
		default:
			continue
		}
		kinds = append(kinds, op.Kind)
	}
	res := b.tx.SendBatch(ctx, &batch)
	defer res.Close()
	for _, k := range kinds {
		tag, err := res.Exec()
		if err != nil {
			return fmt.Errorf("%s %s: %w", strings.ToLower(k.String()), p.id.Sanitize(), classify(err))
		}
		if k != change.Insert && tag.RowsAffected() != 1 {
			return fmt.Errorf("%s of a row of %s (a table without a key, matched by all its replicated columns): no such row in the target, which no longer matches the source; run replicator verify and copy the table again (replicator snapshot)", strings.ToLower(k.String()), p.id.Sanitize())
		}
	}
	if err := res.Close(); err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.StreamKeylessApplied)
	return nil
}

// opValues renders a row's replicated columns as PostgreSQL text input (nil for NULL).
func (b *Batch) opValues(p *tablePlan, def *schema.Table, row change.Row) ([]any, error) {
	proj := p.row(row, change.Origin{}, make(change.Row, len(p.cols)))
	line, err := p.upEnc.AppendRow(b.buf[:0], proj)
	b.buf = line[:0]
	if err != nil {
		return nil, err
	}
	fields := bytes.Split(bytes.TrimSuffix(line, []byte("\n")), []byte("\t"))
	out := make([]any, len(p.cols))
	for i := range p.cols {
		if v := copyUnescape(fields[i]); v != nil {
			out[i] = *v
		}
	}
	return out, nil
}
