package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/schema"
)

// With apply.parallelism = N above 1, a streaming batch's row changes are spread over the
// stream's connection and N-1 lanes, each a connection with a transaction of its own. A
// lane commits its share ahead of the checkpoint, which the stream's connection commits
// last. A failure in between leaves the target holding rows of transactions past the
// checkpoint; replaying from the checkpoint is harmless as long as no replayed row is
// older than the one a lane wrote: every share holds folded final images, so a batch
// holding at least the transactions the lanes reached writes each row as of the same or
// a later transaction. Each lane records how far it reached (apply_lanes), and Floor makes
// the pipeline's first batch hold that many. What is not a plain upsert or delete of a
// keyed table (keyless tables, tables under online copy, foreign key actions, DDL, XA,
// copy steps) stays on the stream's connection, committed with the checkpoint, so it is
// never applied twice; before the first of those in a batch the lanes commit, and the
// rest of the batch is applied on the stream's connection alone (a lane's open
// transaction would otherwise wait on locks the stream's holds, and the reverse).

// Reach implements pipeline.Reacher.
func (b *Batch) Reach(n int) {
	if n > b.reach {
		b.reach = n
	}
}

// Floor implements pipeline.Options.Floor: how many transactions past from the lanes'
// committed shares reach. It also sets the base the next batches' lanes record.
func (t *Target) Floor(ctx context.Context, from change.Position) (int, error) {
	var n *int
	err := t.pool.QueryRow(ctx, `SELECT max(reach) FROM `+t.state.ident("apply_lanes")+` WHERE name = $1 AND base = $2`,
		t.state.name, from.GTID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read the apply lanes' progress: %w", classify(err))
	}
	t.stream.mu.Lock()
	t.stream.base = from.GTID
	t.stream.mu.Unlock()
	if n == nil {
		return 0, nil
	}
	return *n, nil
}

// parallel reports whether this batch spreads its rows over the lanes.
func (b *Batch) parallel() bool {
	return len(b.t.lanes) > 0 && !b.serial && b.sc.base != ""
}

// serialize commits the lanes' shares and keeps the rest of the batch on the stream's
// connection: called before every step that is not a plain row change.
func (b *Batch) serialize(ctx context.Context) error {
	if b.serial {
		return nil
	}
	b.serial = true
	return b.commitLanes(ctx)
}

// commitLanes commits every lane holding a share of the batch, each with how far it
// reaches past the batch's base.
func (b *Batch) commitLanes(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(b.lanes))
	committed := false
	for i, l := range b.lanes {
		if l == nil || l.tx == nil {
			continue
		}
		committed = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.commitLane(ctx, i+1, b.sc.base, b.reach)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if committed {
		crashpoint.Hit(crashpoint.StreamLanesCommitted)
	}
	return nil
}

func (b *Batch) commitLane(ctx context.Context, lane int, base string, reach int) error {
	tx := b.tx
	b.tx = nil
	// A lane commits rows ahead of the checkpoint: it too must see the instance lock
	// held, or it could write older rows after another replicator wrote newer ones.
	err := b.t.state.verifyLock(ctx, tx)
	if err == nil {
		_, err = tx.Exec(ctx, `INSERT INTO `+b.t.state.ident("apply_lanes")+` (name, lane, base, reach) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name, lane) DO UPDATE SET base = EXCLUDED.base, reach = EXCLUDED.reach, updated_at = now()`,
			b.t.state.name, lane, base, reach)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		_ = tx.Rollback(context.Background())
		b.resetLane()
		return fmt.Errorf("commit apply lane %d: %w", lane, classify(err))
	}
	return nil
}

// rollbackLanes abandons the lanes' open shares.
func (b *Batch) rollbackLanes() {
	for _, l := range b.lanes {
		if l != nil && l.tx != nil {
			_ = l.tx.Rollback(context.Background())
			l.tx = nil
			l.resetLane()
		}
	}
}

// resetLane forgets the plans of a lane whose transaction ended without a commit: the
// staging tables made in it are gone.
func (b *Batch) resetLane() {
	b.sc.plans, b.sc.staged = map[planKey]*tablePlan{}, map[string]bool{}
	if b.sc.conn != nil && b.sc.conn.IsClosed() {
		b.sc.conn = nil
	}
}

// lane returns lane i (1-based) of the batch with its transaction open.
func (b *Batch) lane(ctx context.Context, i int) (*Batch, error) {
	for len(b.lanes) < i {
		b.lanes = append(b.lanes, nil)
	}
	l := b.lanes[i-1]
	if l == nil {
		l = &Batch{t: b.t, sc: b.t.lanes[i-1]}
		b.lanes[i-1] = l
	}
	if l.tx != nil {
		return l, nil
	}
	sc := l.sc
	if sc.conn == nil || sc.conn.IsClosed() {
		conn, err := Connect(ctx, b.t.cfg.Target.Postgres.URL)
		if err != nil {
			return nil, fault.Transient(err)
		}
		if err := boundLockWait(ctx, conn); err != nil {
			conn.Close(context.Background())
			return nil, classify(err)
		}
		sc.conn, sc.plans, sc.staged = conn, map[planKey]*tablePlan{}, map[string]bool{}
	}
	tx, err := sc.conn.Begin(ctx)
	if err != nil {
		sc.conn.Close(context.Background())
		sc.conn = nil
		return nil, classify(err)
	}
	l.tx = tx
	return l, nil
}

// closeLanes closes the lanes' connections.
func (t *Target) closeLanes() {
	for _, sc := range t.lanes {
		if sc.conn != nil {
			sc.conn.Close(context.Background())
			sc.conn = nil
		}
	}
}

// spread splits the plain changes among the stream's connection (share 0) and the lanes.
// A target table goes whole to the least loaded share when it holds at most its fair part
// of the rows (a statement per table and share costs more than its rows on small
// batches), and always when it must: one with unique keys besides its key (or a
// configured key in place of its primary key), so a unique value moving between rows
// moves in one transaction (its constraint is checked at commit), and one with soft
// deletes, whose plan alters the table (two transactions doing so would wait on each
// other until the commit that never comes). A larger table is split by key. The choice
// holds for the whole batch (b.assign), so every change of a row in it goes to the same
// share: two shares writing one row would wait on each other's lock. The rest is
// returned apart, for share 0.
func (b *Batch) spread(changes []change.TableChanges, copying map[string]*copyInfo) (shares [][]change.TableChanges, rest []change.TableChanges) {
	n := len(b.t.lanes) + 1
	shares = make([][]change.TableChanges, n)
	if b.assign == nil {
		b.assign, b.load = map[string]int{}, make([]int, n)
	}
	type plain struct {
		tc    change.TableChanges
		id    string
		whole bool
	}
	var plains []plain
	total := 0
	for _, tc := range changes {
		if len(tc.Table.Key) == 0 || len(tc.Ops) > 0 || copying[tc.Table.QualifiedName()] != nil {
			rest = append(rest, tc)
			continue
		}
		id, whole, err := b.t.wholeTable(tc.Table)
		if err != nil {
			rest = append(rest, tc) // applied on share 0, which reports the error
			continue
		}
		plains = append(plains, plain{tc, id, whole})
		total += rowsOf(tc)
	}
	for _, pl := range plains {
		tc := pl.tc
		s, ok := b.assign[pl.id]
		if !ok {
			s = -1
			if pl.whole || rowsOf(tc)*n <= total {
				s = 0
				for i := range b.load {
					if b.load[i] < b.load[s] {
						s = i
					}
				}
			}
			b.assign[pl.id] = s
		}
		if s >= 0 {
			shares[s] = append(shares[s], tc)
			b.load[s] += rowsOf(tc)
			continue
		}
		parts := make([]change.TableChanges, n)
		for i := range parts {
			parts[i].Table = tc.Table
		}
		for i, r := range tc.Upserts {
			k := b.t.laneOf(tc.Table, r, n)
			parts[k].Upserts = append(parts[k].Upserts, r)
			if len(tc.Origins) > 0 {
				// Parallel to Upserts; a zero Origin is no known origin, as a missing one.
				var o change.Origin
				if i < len(tc.Origins) {
					o = tc.Origins[i]
				}
				parts[k].Origins = append(parts[k].Origins, o)
			}
		}
		for _, r := range tc.Deletes {
			k := b.t.laneOf(tc.Table, r, n)
			parts[k].Deletes = append(parts[k].Deletes, r)
		}
		for _, m := range tc.Marked {
			k := b.t.laneOf(tc.Table, m.Row, n)
			parts[k].Marked = append(parts[k].Marked, m)
		}
		for i, p := range parts {
			if c := rowsOf(p); c > 0 {
				shares[i] = append(shares[i], p)
				b.load[i] += c
			}
		}
	}
	return shares, rest
}

func rowsOf(tc change.TableChanges) int { return len(tc.Upserts) + len(tc.Deletes) + len(tc.Marked) }

// wholeTable reports whether the rows of def go to one share (see spread), and the
// name of the target table they go to (several source tables may go to one).
func (t *Target) wholeTable(def *schema.Table) (string, bool, error) {
	id, err := t.tableIdent(def)
	if err != nil {
		return "", false, err
	}
	rt, err := t.route(def)
	if err != nil {
		return "", false, err
	}
	// A configured key in place of the primary key leaves the primary key a unique
	// constraint of the target: a value may move between rows as with any unique key.
	if rt.Deletes() == config.DeletesSoft || !def.KeyIsPrimary {
		return id.Sanitize(), true, nil
	}
	for _, ix := range def.Indexes {
		if ix.Unique {
			return id.Sanitize(), true, nil
		}
	}
	return id.Sanitize(), false, nil
}

// laneOf picks the share of the row r (a full row, or one with its key columns) of t by
// its key's values: the same key always goes to the same share within a batch.
func (t *Target) laneOf(def *schema.Table, r change.Row, n int) int {
	var h maphash.Hash
	h.SetSeed(t.laneSeed)
	for _, c := range def.Key {
		if c < len(r) {
			// A marker byte keeps NULL apart from the empty value.
			if r[c] == nil {
				h.WriteByte(0)
			} else {
				h.WriteByte(1)
				h.Write(r[c])
			}
		}
		h.WriteByte(0xff)
	}
	return int(h.Sum64() % uint64(n))
}

// applyShares applies each lane's share on its own connection while the stream's
// connection applies share 0.
func (b *Batch) applyShares(ctx context.Context, shares [][]change.TableChanges) error {
	lanes := make([]*Batch, len(shares))
	lanes[0] = b
	for i := 1; i < len(shares); i++ {
		if len(shares[i]) == 0 {
			continue
		}
		l, err := b.lane(ctx, i)
		if err != nil {
			return fmt.Errorf("open apply lane %d: %w", i, err)
		}
		lanes[i] = l
	}
	errs := make([]error, len(shares))
	var wg sync.WaitGroup
	for i := 1; i < len(shares); i++ {
		if lanes[i] == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = lanes[i].applyPlain(ctx, shares[i])
		}()
	}
	errs[0] = b.applyPlain(ctx, shares[0])
	wg.Wait()
	return errors.Join(errs...)
}

// applyPlain writes plain changes (keyed tables, not under copy) to their live tables.
func (b *Batch) applyPlain(ctx context.Context, changes []change.TableChanges) error {
	for _, tc := range changes {
		p, err := b.plan(ctx, tc.Table)
		if err != nil {
			return err
		}
		if err := b.applyTo(ctx, p, tc); err != nil {
			return err
		}
	}
	return nil
}
