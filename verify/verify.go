package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/source"
)

// Options are what a verification runs with.
type Options struct {
	Config *config.Config
	// Routes are Config's compiled [[tables]] rules: the tables compared, their columns and
	// where they went.
	Routes *route.Set
	Dialer *source.Dialer
	Target Target
	// Checkpoint reads the target's stored position (streaming false while the snapshot
	// runs, found false when there is none). Nil: verify never waits for the target.
	Checkpoint func(ctx context.Context) (pos change.Position, streaming, found bool, err error)
	// ChunkRows is the number of source rows per checksummed key range.
	ChunkRows int
	// Parallelism is how many chunks are compared at once (one source connection each).
	Parallelism int
	// MaxRowsPerSecond caps the rows read from the source; 0 means no cap.
	MaxRowsPerSecond int
	// Retries is how many times differing rows are read again, after the target caught up,
	// before they are reported.
	Retries int
	// RetryDelay is the pause before each re-read.
	RetryDelay time.Duration
	// CatchupTimeout bounds each wait for the target's checkpoint to reach the source's
	// position.
	CatchupTimeout time.Duration
	// MaxDiffs is how many differing rows are described per table.
	MaxDiffs int
	Log      *slog.Logger
}

func (o *Options) defaults() {
	if o.ChunkRows <= 0 {
		o.ChunkRows = 10000
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 2
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.CatchupTimeout <= 0 {
		o.CatchupTimeout = 60 * time.Second
	}
	if o.MaxDiffs <= 0 {
		o.MaxDiffs = 10
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// keepDiffs bounds the differing rows held per table; beyond it they are only counted.
const keepDiffs = 10000

// verifier is one run's state.
type verifier struct {
	o   Options
	h   *hasher
	lim *limiter

	mu      sync.Mutex // guards meta and stalled
	meta    *source.Conn
	stalled bool // the checkpoint did not reach the source within CatchupTimeout once
}

// tableState is one table's comparison in progress.
type tableState struct {
	t      *Table
	tt     targetTable
	rep    *TableReport
	chunks []*chunk
	// kept are the keys of target rows without a source row that deletes = "ignore"
	// allows (a set: a row found again by a recheck counts once).
	kept map[string]bool
}

// keptCounter is a target table that counts the rows it keeps marked deleted (soft).
type keptCounter interface {
	markedRows(ctx context.Context) (int64, error)
}

// countKept fills the report's count of kept rows.
func (st *tableState) countKept(ctx context.Context) error {
	switch st.rep.Deletes {
	case string(config.DeletesIgnore):
		st.rep.Kept = int64(len(st.kept))
	case string(config.DeletesSoft):
		kc, ok := st.tt.(keptCounter)
		if !ok {
			return fmt.Errorf("the target does not count rows marked deleted")
		}
		n, err := kc.markedRows(ctx)
		if err != nil {
			return err
		}
		st.rep.Kept = n
	}
	return nil
}

// keepsExtra reports whether target rows without a source row are allowed (deletes =
// "ignore"). Soft deletes leave their marked rows out of the target's rows instead.
func (st *tableState) keepsExtra() bool {
	return st.t.Route != nil && st.t.Route.Deletes() == config.DeletesIgnore
}

// chunk is a part of a table: the rows in a key range whose key hashes to bucket (mod
// buckets; buckets 1 takes every row of the range), with both sides' digests.
type chunk struct {
	r               Range
	buckets, bucket int
	src, tgt        digest
	err             error // reading it failed
}

func (c *chunk) equal() bool { return c.src == c.tgt }

// Run compares every selected table and returns the report; the error is for failures
// that prevent any comparison (the source unreachable). Tables that cannot be compared
// carry their own error in the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	start := time.Now()
	v := &verifier{o: o, h: newHasher(), lim: newLimiter(o.MaxRowsPerSecond)}
	meta, err := o.Dialer.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer meta.Close()
	v.meta = meta
	rep := &Report{}
	if rep.SourceGTID, err = meta.CurrentGTID(ctx); err != nil {
		return nil, err
	}
	// Compare what the target has applied of the source as it is now.
	if pos, ok := v.waitTarget(ctx, rep.SourceGTID); ok {
		rep.TargetGTID = pos.GTID
	}
	states, err := v.load(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		if st.rep.Error == "" {
			if err := v.plan(ctx, st); err != nil {
				st.rep.Error = err.Error()
			}
		}
	}
	if err := v.digestAll(ctx, states); err != nil {
		return nil, err
	}
	for _, st := range states {
		if st.rep.Error == "" {
			if err := v.resolve(ctx, st); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				st.rep.Error = err.Error()
			} else if err := st.countKept(ctx); err != nil {
				st.rep.Error = err.Error()
			}
		}
		rep.Tables = append(rep.Tables, st.rep)
	}
	rep.Tables = append(rep.Tables, v.otherSources(ctx, states)...)
	rep.finish(time.Since(start))
	return rep, nil
}

// load reads the selected tables' definitions and prepares their target readers.
func (v *verifier) load(ctx context.Context) ([]*tableState, error) {
	names, err := v.meta.SelectedTables(ctx, v.o.Routes)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("no source table matches the [[tables]] rules")
	}
	var out []*tableState
	for _, n := range names {
		st := &tableState{rep: &TableReport{Source: n.String()}}
		out = append(out, st)
		def, err := v.meta.LoadTable(ctx, n.Schema, n.Name)
		if err != nil {
			return nil, err
		}
		if def == nil {
			st.rep.Error = "dropped at the source during verification"
			continue
		}
		rt := v.o.Routes.For(n.Schema, n.Name)
		cols, err := rt.KeyedColumns(def)
		if err != nil {
			st.rep.Error = err.Error()
			continue
		}
		if st.t, err = newTable(def, cols, rt); err != nil {
			st.rep.Error = err.Error()
			continue
		}
		if st.tt, err = v.o.Target.table(ctx, st.t); err != nil {
			st.rep.Error = err.Error()
			continue
		}
		st.rep.Target = st.tt.name()
		if m := rt.Deletes(); m != config.DeletesHard {
			st.rep.Deletes, st.kept = string(m), map[string]bool{}
		}
	}
	return out, nil
}

// plan splits a table into chunks: key ranges of about ChunkRows source rows when the
// first key column is an integer both sides can select ranges of, else hash buckets of
// the whole table (read in one pass per side).
func (v *verifier) plan(ctx context.Context, st *tableState) error {
	if st.t.integerKey() && st.tt.ranged() {
		bounds, err := v.bounds(ctx, st.t)
		if err != nil {
			return err
		}
		st.rep.Method = "key ranges"
		lo := ""
		for _, b := range bounds {
			st.chunks = append(st.chunks, &chunk{r: Range{Lo: lo, Hi: b}, buckets: 1})
			lo = b
		}
		st.chunks = append(st.chunks, &chunk{r: Range{Lo: lo}, buckets: 1})
		return nil
	}
	est, err := v.estimate(ctx, st.t)
	if err != nil {
		return err
	}
	n := int(max(1, (est+int64(v.o.ChunkRows)-1)/int64(v.o.ChunkRows)))
	st.rep.Method = "hash buckets"
	for b := 0; b < n; b++ {
		st.chunks = append(st.chunks, &chunk{buckets: n, bucket: b})
	}
	return nil
}

// bounds walks the source's primary key for chunk boundaries ChunkRows rows apart.
func (v *verifier) bounds(ctx context.Context, t *Table) ([]string, error) {
	k := source.QuoteIdent(t.sourceFirstKey().Name)
	tbl := source.QuoteTable(t.Def.Schema, t.Def.Name)
	var out []string
	for {
		q := fmt.Sprintf("SELECT %s FROM %s ORDER BY %s LIMIT 1 OFFSET %d", k, tbl, k, v.o.ChunkRows-1)
		if len(out) > 0 {
			q = fmt.Sprintf("SELECT %s FROM %s WHERE %s > %s ORDER BY %s LIMIT 1 OFFSET %d", k, tbl, k, out[len(out)-1], k, v.o.ChunkRows-1)
		}
		if err := v.lim.take(ctx, v.o.ChunkRows); err != nil {
			return nil, err
		}
		v.mu.Lock()
		rows, err := v.meta.QueryStrings(ctx, q)
		v.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("plan chunks of %s: %w", t.Name(), err)
		}
		if len(rows) == 0 || rows[0][0] == nil {
			return out, nil
		}
		if !validBound(*rows[0][0]) {
			return nil, fmt.Errorf("plan chunks of %s: key value %q is not an integer", t.Name(), *rows[0][0])
		}
		out = append(out, *rows[0][0])
	}
}

func (v *verifier) estimate(ctx context.Context, t *Table) (int64, error) {
	v.mu.Lock()
	rows, err := v.meta.QueryStrings(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", t.Def.Schema, t.Def.Name)
	v.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("estimate rows of %s: %w", t.Name(), err)
	}
	var n int64
	if len(rows) > 0 && rows[0][0] != nil {
		fmt.Sscan(*rows[0][0], &n)
	}
	return n, nil
}

// sourceGTID reads the source's current position.
func (v *verifier) sourceGTID(ctx context.Context) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.meta.CurrentGTID(ctx)
}

// waitTarget waits until the target's streaming checkpoint covers gtid. It returns at
// once without a checkpoint (nothing replicates into the target), and stops waiting for
// good once the checkpoint failed to get there within CatchupTimeout (the replicator is
// stopped or stuck: the target is compared as it is).
func (v *verifier) waitTarget(ctx context.Context, gtid string) (change.Position, bool) {
	if v.o.Checkpoint == nil {
		return change.Position{}, false
	}
	v.mu.Lock()
	stalled, flavor := v.stalled, v.meta.Flavor
	v.mu.Unlock()
	deadline := time.Now().Add(v.o.CatchupTimeout)
	for {
		pos, streaming, found, err := v.o.Checkpoint(ctx)
		switch {
		case err != nil:
			v.o.Log.Warn("cannot read the target's checkpoint", "error", err)
			return pos, false
		case !found:
			return pos, false
		case streaming && covers(flavor, pos.GTID, gtid):
			return pos, true
		case stalled || time.Now().After(deadline):
			if !stalled {
				v.o.Log.Warn("the target's checkpoint did not reach the source's position; comparing the target as it is",
					"checkpoint", pos.GTID, "source", gtid, "waited", v.o.CatchupTimeout.String())
				v.mu.Lock()
				v.stalled = true
				v.mu.Unlock()
			}
			return pos, found
		}
		select {
		case <-ctx.Done():
			return pos, false
		case <-time.After(100 * time.Millisecond):
		}
	}
}
