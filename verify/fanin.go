package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A fan-in target (route.Route.FanIn) is compared per source table, each with the target's
// rows of its source value. Rows of a source value no selected table has (a shard dropped
// while no replicator ran, or no longer selected by the rule) belong to no comparison:
// otherSources reports them as extra rows, one report per such value.

// sourceLister is a fan-in target table that counts its rows per source value.
type sourceLister interface {
	// otherSources counts the rows whose source value is not among known, per value (at
	// most maxOtherSources values).
	otherSources(ctx context.Context, known []string) (map[string]int64, error)
}

// maxOtherSources bounds the values otherSources reports.
const maxOtherSources = 100

// otherSources reports, per fan-in target of the compared tables, the target rows of
// source values that no selected table has.
func (v *verifier) otherSources(ctx context.Context, states []*tableState) []*TableReport {
	type group struct {
		sl    sourceLister
		name  string // the target as the compared tables' reports name it
		known []string
	}
	groups := map[string]*group{}
	for _, st := range states {
		db, tb, _ := strings.Cut(st.rep.Source, ".")
		rt := v.o.Routes.For(db, tb)
		if rt == nil || rt.FanIn() == "" {
			continue
		}
		target := rt.TargetName()
		g := groups[target]
		if g == nil {
			g = &group{}
			groups[target] = g
		}
		g.known = append(g.known, rt.SourceValue())
		if sl, ok := st.tt.(sourceLister); ok && g.sl == nil {
			g.sl, g.name = sl, st.rep.Target
		}
	}
	var out []*TableReport
	targets := make([]string, 0, len(groups))
	for t := range groups {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	for _, target := range targets {
		g := groups[target]
		if g.sl == nil {
			continue // no table of it could be read: each reports its error
		}
		counts, err := g.sl.otherSources(ctx, g.known)
		if err != nil {
			out = append(out, &TableReport{Source: "other source tables of " + g.name, Target: g.name, Error: err.Error()})
			continue
		}
		values := make([]string, 0, len(counts))
		for s := range counts {
			values = append(values, s)
		}
		slices.Sort(values)
		for _, s := range values {
			out = append(out, &TableReport{Source: s, Target: g.name, TargetRows: counts[s], Differences: int(counts[s]), NotSelected: true})
		}
	}
	return out
}

// otherSources counts the rows of a fan-in target table whose source column is not among
// known.
func (pt *pgTable) otherSources(ctx context.Context, known []string) (map[string]int64, error) {
	col := pgx.Identifier{pt.t.Route.FanIn()}.Sanitize()
	rows, err := pt.pool.Query(ctx, fmt.Sprintf("SELECT %s, count(*) FROM %s WHERE NOT (%s = ANY($1)) GROUP BY 1 ORDER BY 1 LIMIT %d",
		col, pt.id.Sanitize(), col, maxOtherSources), known)
	if err != nil {
		return nil, fmt.Errorf("count the rows of other source tables in %s: %w", pt.id.Sanitize(), err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// otherSources counts the documents of a fan-in index whose source field is not among
// known.
func (et *esTable) otherSources(ctx context.Context, known []string) (map[string]int64, error) {
	field := et.t.Route.FanIn()
	body, err := json.Marshal(map[string]any{
		"size":  0,
		"query": map[string]any{"bool": map[string]any{"must_not": map[string]any{"terms": map[string]any{field: known}}}},
		"aggs":  map[string]any{"sources": map[string]any{"terms": map[string]any{"field": field, "size": maxOtherSources}}},
	})
	if err != nil {
		return nil, err
	}
	var res struct {
		Aggregations struct {
			Sources struct {
				Buckets []struct {
					Key   string `json:"key"`
					Count int64  `json:"doc_count"`
				} `json:"buckets"`
			} `json:"sources"`
		} `json:"aggregations"`
	}
	if _, err := et.e.do(ctx, http.MethodPost, "/"+url.PathEscape(et.index)+"/_search", body, &res); err != nil {
		return nil, fmt.Errorf("count the documents of other source tables in %s: %w", et.index, err)
	}
	out := map[string]int64{}
	for _, b := range res.Aggregations.Sources.Buckets {
		out[b.Key] = b.Count
	}
	return out, nil
}
