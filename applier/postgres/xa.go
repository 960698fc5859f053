package postgres

import (
	"context"
	"fmt"

	"github.com/replicator/replicator/change"
)

// StorePrepared implements pipeline.Tx: the part goes into the state table prepared_xa
// inside the batch's transaction, so it exists exactly when the checkpoint has passed
// the XA PREPARE. A replayed PREPARE overwrites the same part.
func (b *Batch) StorePrepared(ctx context.Context, p *change.Prepared) error {
	if err := b.serialize(ctx); err != nil {
		return err
	}
	payload, err := p.EncodeEvents()
	if err != nil {
		return err
	}
	s := b.t.state
	_, err = b.tx.Exec(ctx, `INSERT INTO `+s.ident("prepared_xa")+` (name, xid, part, gtid, changes) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name, xid, part) DO UPDATE SET gtid = EXCLUDED.gtid, changes = EXCLUDED.changes`,
		s.name, p.XID, p.Part, p.GTID, payload)
	if err != nil {
		return classify(err)
	}
	return nil
}

// ResolvePrepared implements pipeline.Tx: the stored parts are read one at a time (a
// large transaction never has to fit in memory) and deleted in the batch's transaction.
func (b *Batch) ResolvePrepared(ctx context.Context, xid string, commit bool, apply func([]change.Event) error) (bool, error) {
	if err := b.serialize(ctx); err != nil {
		return false, err
	}
	s := b.t.state
	rows, err := b.tx.Query(ctx, `SELECT part FROM `+s.ident("prepared_xa")+` WHERE name = $1 AND xid = $2 ORDER BY part`, s.name, xid)
	if err != nil {
		return false, classify(err)
	}
	var parts []int
	for rows.Next() {
		var p int
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return false, classify(err)
		}
		parts = append(parts, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, classify(err)
	}
	if len(parts) == 0 {
		return false, nil
	}
	if commit {
		for _, p := range parts {
			var payload []byte
			if err := b.tx.QueryRow(ctx, `SELECT changes FROM `+s.ident("prepared_xa")+` WHERE name = $1 AND xid = $2 AND part = $3`, s.name, xid, p).Scan(&payload); err != nil {
				return true, classify(err)
			}
			events, err := change.DecodeEvents(payload)
			if err != nil {
				return true, fmt.Errorf("part %d: %w", p, err)
			}
			if len(events) == 0 {
				continue
			}
			if err := apply(events); err != nil {
				return true, err
			}
		}
	}
	if _, err := b.tx.Exec(ctx, `DELETE FROM `+s.ident("prepared_xa")+` WHERE name = $1 AND xid = $2`, s.name, xid); err != nil {
		return true, classify(err)
	}
	return true, nil
}
