// Package snapshot copies the selected tables under one consistent view of the source
// and records the binary log position of that view, so streaming continues from exactly
// there. Chunks commit together with their "done" mark, so a killed snapshot resumes
// without gaps or duplicates.
package snapshot

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

// makePlans loads the selected tables' definitions and plans their chunks.
func makePlans(ctx context.Context, meta *source.Conn, o Options) ([]*plan.Table, error) {
	cfg := o.Config
	names, err := meta.SelectedTables(ctx, o.Routes)
	if err != nil {
		return nil, err
	}
	var plans []*plan.Table
	for _, n := range names {
		t, err := meta.LoadTable(ctx, n.Schema, n.Name)
		if err != nil {
			return nil, err
		}
		if t == nil {
			continue // dropped since it was listed
		}
		rt := o.Routes.For(n.Schema, n.Name)
		cols, err := rt.Columns(t)
		if err != nil {
			return nil, err
		}
		est, err := estimateRows(ctx, meta, n)
		if err != nil {
			return nil, err
		}
		chunks, err := planChunks(ctx, meta, t, est, cfg.Snapshot.ChunkRows)
		if err != nil {
			return nil, err
		}
		plans = append(plans, &plan.Table{Table: t, Columns: cols, Chunks: chunks, RowsEstimate: est, Target: rt.TargetName(), Where: whereSQL(rt)})
	}
	return plans, nil
}

// plansFromProgress rebuilds the plans of a stored snapshot, in name order.
func plansFromProgress(prog *plan.Progress, routes *route.Set) []*plan.Table {
	names := make([]string, 0, len(prog.Tables))
	for n := range prog.Tables {
		names = append(names, n)
	}
	sort.Strings(names)
	plans := make([]*plan.Table, 0, len(names))
	for _, n := range names {
		tp := prog.Tables[n]
		p := &plan.Table{Table: tp.Table, Columns: tp.Columns, Chunks: tp.Chunks, RowsEstimate: tp.Estimate, From: tp.From}
		if tp.Table != nil {
			p.Where = whereSQL(routes.For(tp.Table.Schema, tp.Table.Name))
		}
		plans = append(plans, p)
	}
	return plans
}

// replan plans the tables ddl names again from their current definitions, copied from
// pos, and returns them and the whole plan list with them in place; nil when one of
// them no longer exists under its name.
func replan(ctx context.Context, meta *source.Conn, o Options, plans []*plan.Table, ddl map[string]string, pos change.Position) (again, all []*plan.Table, err error) {
	for _, p := range plans {
		if _, changed := ddl[p.Name()]; !changed {
			all = append(all, p)
			continue
		}
		t, err := meta.LoadTable(ctx, p.Table.Schema, p.Table.Name)
		if err != nil {
			return nil, nil, err
		}
		if t == nil {
			return nil, nil, nil
		}
		rt := o.Routes.For(t.Schema, t.Name)
		if rt == nil {
			return nil, nil, nil
		}
		cols, err := rt.Columns(t)
		if err != nil {
			return nil, nil, err
		}
		n := source.TableName{Schema: t.Schema, Name: t.Name}
		est, err := estimateRows(ctx, meta, n)
		if err != nil {
			return nil, nil, err
		}
		chunks, err := planChunks(ctx, meta, t, est, o.Config.Snapshot.ChunkRows)
		if err != nil {
			return nil, nil, err
		}
		np := &plan.Table{Table: t, Columns: cols, Chunks: chunks, RowsEstimate: est, Target: p.Target, From: pos, Where: whereSQL(rt)}
		again = append(again, np)
		all = append(all, np)
	}
	return again, all, nil
}

// estimateRows is the server's row estimate for a table (information_schema), 0 when it has none.
func estimateRows(ctx context.Context, c *source.Conn, n source.TableName) (int64, error) {
	rows, err := c.QueryStrings(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", n.Schema, n.Name)
	if err != nil {
		return 0, fmt.Errorf("estimate rows of %s: %w", n, err)
	}
	if len(rows) == 0 || rows[0][0] == nil {
		return 0, nil
	}
	var v int64
	fmt.Sscan(*rows[0][0], &v)
	return v, nil
}

// planChunks splits a table on its first key column when that is an integer, so chunks
// hold about chunkRows rows each. Dense keys (the usual AUTO_INCREMENT) are split into
// equal ranges between MIN and MAX, which the server answers from the index ends; sparse
// or skewed keys are split by walking the key index, which reads the whole index (in
// InnoDB, the whole table) and so is kept for the tables that need it.
func planChunks(ctx context.Context, conn *source.Conn, t *schema.Table, estimate int64, chunkRows int) ([]plan.Chunk, error) {
	whole := []plan.Chunk{{ID: 0}}
	if len(t.Key) == 0 || estimate < int64(chunkRows)*3/2 || !isInteger(t.Columns[t.Key[0]].DataType) {
		return whole, nil
	}
	k := source.QuoteIdent(t.Columns[t.Key[0]].Name)
	tbl := source.QuoteTable(t.Schema, t.Name)
	ends, err := conn.QueryStrings(ctx, fmt.Sprintf("SELECT MIN(%s), MAX(%s) FROM %s", k, k, tbl))
	if err != nil {
		return nil, fmt.Errorf("plan chunks of %s: %w", t.QualifiedName(), err)
	}
	if len(ends) == 1 && ends[0][0] != nil && ends[0][1] != nil {
		lo, err1 := strconv.ParseInt(*ends[0][0], 10, 64)
		hi, err2 := strconv.ParseInt(*ends[0][1], 10, 64)
		if err1 == nil && err2 == nil {
			if chunks := evenChunks(lo, hi, estimate, chunkRows); chunks != nil {
				return chunks, nil
			}
		}
	}
	var bounds []int64
	var last *int64
	for {
		q := fmt.Sprintf("SELECT %s FROM %s ORDER BY %s LIMIT 1 OFFSET %d", k, tbl, k, chunkRows-1)
		if last != nil {
			q = fmt.Sprintf("SELECT %s FROM %s WHERE %s > %d ORDER BY %s LIMIT 1 OFFSET %d", k, tbl, k, *last, k, chunkRows-1)
		}
		rows, err := conn.QueryStrings(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("plan chunks of %s: %w", t.QualifiedName(), err)
		}
		if len(rows) == 0 || rows[0][0] == nil {
			break
		}
		v, err := strconv.ParseInt(*rows[0][0], 10, 64)
		if err != nil {
			// An unsigned key beyond int64: keep what was planned and leave the rest open.
			break
		}
		bounds = append(bounds, v)
		last = &bounds[len(bounds)-1]
	}
	if len(bounds) == 0 {
		return whole, nil
	}
	chunks := make([]plan.Chunk, 0, len(bounds)+1)
	var lo *int64
	for i := range bounds {
		hi := bounds[i]
		chunks = append(chunks, plan.Chunk{ID: i, Lo: lo, Hi: &hi})
		lo = &bounds[i]
	}
	return append(chunks, plan.Chunk{ID: len(bounds), Lo: lo}), nil
}

// evenChunks splits the keys lo..hi into ranges holding about chunkRows of the estimated
// rows each, or returns nil when the keys are too sparse for that (fewer than one row per
// two key values) or the span overflows: such tables are planned by walking their index.
// The first and last ranges are open, so rows written below lo or above hi later are
// still read.
func evenChunks(lo, hi, estimate int64, chunkRows int) []plan.Chunk {
	if hi < lo || lo == math.MinInt64 || estimate <= 0 || chunkRows <= 0 {
		return nil
	}
	span := uint64(hi-lo) + 1
	if hi-lo < 0 || span > 2*uint64(estimate) {
		return nil
	}
	width := int64((span*uint64(chunkRows) + uint64(estimate) - 1) / uint64(estimate))
	var chunks []plan.Chunk
	var prev *int64
	for b := lo - 1 + width; b < hi; b += width {
		bound := b
		chunks = append(chunks, plan.Chunk{ID: len(chunks), Lo: prev, Hi: &bound})
		prev = &bound
		if b > hi-width { // the next step would pass hi (or overflow)
			break
		}
	}
	return append(chunks, plan.Chunk{ID: len(chunks), Lo: prev})
}

func isInteger(dataType string) bool {
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return true
	}
	return false
}

// chunkQuery is the SELECT that reads one chunk's rows.
func chunkQuery(p *plan.Table, c plan.Chunk) string {
	cols := ""
	for i, ci := range p.Columns {
		if i > 0 {
			cols += ", "
		}
		cols += source.QuoteIdent(p.Table.Columns[ci].Name)
	}
	q := "SELECT " + cols + " FROM " + source.QuoteTable(p.Table.Schema, p.Table.Name)
	var conds []string
	if p.Where != "" {
		conds = append(conds, p.Where)
	}
	if c.Lo != nil || c.Hi != nil {
		k := source.QuoteIdent(p.Table.Columns[p.Table.Key[0]].Name)
		if c.Lo != nil {
			conds = append(conds, fmt.Sprintf("%s > %d", k, *c.Lo))
		}
		if c.Hi != nil {
			conds = append(conds, fmt.Sprintf("%s <= %d", k, *c.Hi))
		}
	}
	if len(conds) == 0 {
		return q
	}
	return q + " WHERE " + strings.Join(conds, " AND ")
}

// whereSQL is the row filter of a table's rule for the source, "" without one.
func whereSQL(rt *route.Route) string {
	if rt == nil || rt.Where() == nil {
		return ""
	}
	return rt.Where().SQL()
}
