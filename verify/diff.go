package verify

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"sort"
	"time"
)

// diff is one differing row: present on one side only, or with different values.
type diff struct {
	key, first string
	src, tgt   *row // nil when the side has no such row
}

// resolve turns a table's chunk digests into its verdict: mismatching chunks are narrowed
// to the differing rows, which are read again (after the target caught up) up to Retries
// times, so that changes still on their way do not count as differences.
func (v *verifier) resolve(ctx context.Context, st *tableState) error {
	var bad []*chunk
	for _, c := range st.chunks {
		st.rep.SourceRows += c.src.Rows
		st.rep.TargetRows += c.tgt.Rows
		if !c.equal() {
			bad = append(bad, c)
		}
	}
	st.rep.Chunks, st.rep.MismatchedChunks = len(st.chunks), len(bad)
	if len(bad) == 0 {
		st.rep.Equal = true
		return nil
	}
	v.o.Log.Info("checksums differ; narrowing to rows", "table", st.t.Name(), "chunks", len(bad))
	diffs, extra, err := v.narrow(ctx, st, bad, 0)
	if err != nil {
		return err
	}
	for round := 1; round <= v.o.Retries && len(diffs) > 0; round++ {
		select {
		case <-time.After(v.o.RetryDelay):
		case <-ctx.Done():
			return ctx.Err()
		}
		v.o.Log.Info("reading differing rows again", "table", st.t.Name(), "rows", len(diffs), "round", round)
		if diffs, err = v.recheck(ctx, st, diffs); err != nil {
			return err
		}
		st.rep.Rechecks = round
	}
	st.rep.Differences = len(diffs) + extra
	st.rep.Equal = st.rep.Differences == 0
	sort.Slice(diffs, func(i, j int) bool { return lessKey(diffs[i], diffs[j]) })
	for i, d := range diffs {
		if i == v.o.MaxDiffs {
			break
		}
		st.rep.Diffs = append(st.rep.Diffs, st.describe(d))
	}
	return nil
}

// diffLimit is how many rows of a chunk are compared row by row in memory; bigger chunks
// are split into hash buckets first.
func (v *verifier) diffLimit() int64 { return int64(max(2*v.o.ChunkRows, 1000)) }

// narrow finds the differing rows of mismatching chunks. It returns up to keepDiffs of them
// and the number of further differing rows, compared the same way but only counted.
func (v *verifier) narrow(ctx context.Context, st *tableState, bad []*chunk, depth int) ([]*diff, int, error) {
	var small []*chunk
	var out []*diff
	extra := 0
	keep := func(d []*diff) {
		room := max(keepDiffs-len(out), 0)
		if len(d) > room {
			extra += len(d) - room
			d = d[:room]
		}
		out = append(out, d...)
	}
	for _, c := range bad {
		n := max(c.src.Rows, c.tgt.Rows)
		if len(out) >= keepDiffs && (c.src.Rows == 0 || c.tgt.Rows == 0) && !st.keepsExtra() {
			extra += int(n) // one side lacks the chunk entirely: all of it differs
			continue
		}
		if n <= v.diffLimit() || depth >= 4 {
			small = append(small, c)
			continue
		}
		// Split into m buckets of the parent bucket: rows with hash = bucket (mod buckets)
		// are those with hash = bucket + k*buckets (mod buckets*m).
		m := int((n + int64(v.o.ChunkRows) - 1) / int64(v.o.ChunkRows))
		j := job{st: st, r: c.r, mod: c.buckets * m}
		for k := 0; k < m; k++ {
			j.chunks = append(j.chunks, &chunk{r: c.r, buckets: c.buckets * m, bucket: c.bucket + k*c.buckets})
		}
		if err := v.withConn(ctx, func() error { return v.digestJob(ctx, v.meta, j) }); err != nil {
			return nil, 0, err
		}
		var sub []*chunk
		for _, s := range j.chunks {
			if !s.equal() {
				sub = append(sub, s)
			}
		}
		d, e, err := v.narrow(ctx, st, sub, depth+1)
		if err != nil {
			return nil, 0, err
		}
		keep(d)
		extra += e
	}
	// Compare the small chunks row by row, a few at a time to bound memory.
	for len(small) > 0 {
		// Past keepDiffs a chunk that one side lacks entirely is counted without reading
		// it: every row of the other side differs.
		if c := small[0]; len(out) >= keepDiffs && (c.src.Rows == 0 || c.tgt.Rows == 0) && !st.keepsExtra() {
			extra += int(max(c.src.Rows, c.tgt.Rows))
			small = small[1:]
			continue
		}
		var group []*chunk
		var rows int64
		for len(small) > 0 && (len(group) == 0 || rows+small[0].src.Rows <= 4*v.diffLimit()) {
			rows += small[0].src.Rows
			group, small = append(group, small[0]), small[1:]
		}
		// Past keepDiffs the rows are still compared, only not kept: the row counts of a
		// chunk say nothing about how many of its rows changed value.
		var ranges []Range
		seen := map[Range]bool{}
		for _, c := range group {
			if !seen[c.r] {
				seen[c.r] = true
				ranges = append(ranges, c.r)
			}
		}
		filter := func(r *row) bool {
			for _, c := range group {
				if v.h.bucket(r.key, c.buckets) == c.bucket && inRange(c.r, r.first) {
					return true
				}
			}
			return false
		}
		d, err := v.compareRows(ctx, st, ranges, filter)
		if err != nil {
			return nil, 0, err
		}
		keep(d)
	}
	return out, extra, nil
}

// recheck reads the rows of diffs again on both sides and returns those still differing.
func (v *verifier) recheck(ctx context.Context, st *tableState, diffs []*diff) ([]*diff, error) {
	keys := make(map[string]bool, len(diffs))
	for _, d := range diffs {
		keys[d.key] = true
	}
	ranges := []Range{{}}
	if st.rep.Method == "key ranges" {
		ranges = pointRanges(diffs)
	}
	return v.compareRows(ctx, st, ranges, func(r *row) bool { return keys[r.key] })
}

// pointRanges covers the first key values of diffs with few narrow ranges: values closer
// than 100 apart share one.
func pointRanges(diffs []*diff) []Range {
	var vals []*big.Int
	for _, d := range diffs {
		if n, ok := new(big.Int).SetString(d.first, 10); ok {
			vals = append(vals, n)
		}
	}
	if len(vals) < len(diffs) {
		return []Range{{}} // a key without an integer first column value: read everything
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i].Cmp(vals[j]) < 0 })
	var out []Range
	gap := big.NewInt(100)
	one := big.NewInt(1)
	lo, hi := vals[0], vals[0]
	flush := func() {
		out = append(out, Range{Lo: new(big.Int).Sub(lo, one).String(), Hi: hi.String()})
	}
	for _, n := range vals[1:] {
		if new(big.Int).Sub(n, hi).Cmp(gap) <= 0 {
			hi = n
			continue
		}
		flush()
		lo, hi = n, n
	}
	flush()
	return out
}

// compareRows reads the rows in ranges that pass filter from the source, waits until the
// target has caught up with the source's position after that read, reads the same rows
// from the target and returns the differences. Reading the source first and the target
// after it has applied everything up to then makes a difference that remains a real one,
// unless the row changed again in between (which the next recheck resolves).
func (v *verifier) compareRows(ctx context.Context, st *tableState, ranges []Range, filter func(*row) bool) ([]*diff, error) {
	src := map[string]*row{}
	err := v.withConn(ctx, func() error {
		for _, r := range ranges {
			if err := v.sourceRows(ctx, v.meta, st, r, st.tt.converter(), func(rw *row) error {
				if filter(rw) {
					src[rw.key] = rw.clone()
				}
				return nil
			}); err != nil {
				return fmt.Errorf("read source %s (%s): %w", st.t.Name(), r, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	gtid, err := v.sourceGTID(ctx)
	if err != nil {
		return nil, err
	}
	v.waitTarget(ctx, gtid)
	if err := st.tt.refresh(ctx); err != nil {
		return nil, err
	}
	var out []*diff
	for _, r := range ranges {
		err := st.tt.rows(ctx, r, func(rw *row) error {
			if !filter(rw) {
				return nil
			}
			s, ok := src[rw.key]
			if !ok && st.keepsExtra() {
				st.kept[rw.key] = true // deletes = "ignore": the target keeps rows the source deleted
				return nil
			}
			if !ok {
				out = append(out, &diff{key: rw.key, first: rw.first, tgt: rw.clone()})
				return nil
			}
			delete(src, rw.key)
			if !sameValues(s, rw) {
				out = append(out, &diff{key: rw.key, first: rw.first, src: s, tgt: rw.clone()})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, s := range src {
		out = append(out, &diff{key: s.key, first: s.first, src: s})
	}
	return out, nil
}

// withConn runs fn with the metadata connection held; a failure replaces the connection,
// which a query that failed half way leaves unusable.
func (v *verifier) withConn(ctx context.Context, fn func() error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	err := fn()
	if err != nil && ctx.Err() == nil {
		v.meta.Close()
		c, derr := v.o.Dialer.Dial(ctx)
		if derr != nil {
			return fmt.Errorf("%w (and reconnecting failed: %v)", err, derr)
		}
		v.meta = c
	}
	return err
}

func sameValues(a, b *row) bool {
	if len(a.vals) != len(b.vals) {
		return false
	}
	for i := range a.vals {
		if (a.vals[i] == nil) != (b.vals[i] == nil) || !bytes.Equal(a.vals[i], b.vals[i]) {
			return false
		}
	}
	return true
}

// inRange reports whether the integer text first lies in r (always true for every row).
func inRange(r Range, first string) bool {
	if r.whole() {
		return true
	}
	n, ok := new(big.Int).SetString(first, 10)
	if !ok {
		return false
	}
	if r.Lo != "" {
		lo, _ := new(big.Int).SetString(r.Lo, 10)
		if n.Cmp(lo) <= 0 {
			return false
		}
	}
	if r.Hi != "" {
		hi, _ := new(big.Int).SetString(r.Hi, 10)
		if n.Cmp(hi) > 0 {
			return false
		}
	}
	return true
}

// lessKey orders diffs by first key value numerically when both have one, else by key.
func lessKey(a, b *diff) bool {
	x, ok1 := new(big.Int).SetString(a.first, 10)
	y, ok2 := new(big.Int).SetString(b.first, 10)
	if ok1 && ok2 && x.Cmp(y) != 0 {
		return x.Cmp(y) < 0
	}
	return a.key < b.key
}
