package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/replicator/replicator/applier/postgres/pgvalue"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// Target reads the replicated copies of the selected tables. Postgres and Elastic return
// one.
type Target interface {
	// table prepares the comparison of one table; an error means it cannot be compared
	// (for example, the target table does not exist).
	table(ctx context.Context, t *Table) (targetTable, error)
	// Close releases the connections.
	Close()
}

// targetTable reads one table's copy in comparison form.
type targetTable interface {
	// name is the destination for messages ("schema.table" or the index).
	name() string
	// ranged reports whether rows can be selected by a range of the first key column.
	ranged() bool
	// converter returns a converter for source rows, with buffers of its own.
	converter() converter
	// refresh makes acknowledged writes visible to rows.
	refresh(ctx context.Context) error
	// rows streams the rows in r to fn, in no particular order.
	rows(ctx context.Context, r Range, fn func(*row) error) error
	// text renders a value in comparison form for a report.
	text(v []byte) string
}

// pgTarget reads PostgreSQL tables in a read-only session whose settings fix the text
// form of every type.
type pgTarget struct {
	pool *pgxpool.Pool
	pol  mapping.Policy // the [mapping] rules the target was written under
}

// Postgres connects to the PostgreSQL target of cfg with up to conns connections. Source
// rows are encoded under cfg's [mapping] rules, as the applier encodes them.
func Postgres(ctx context.Context, cfg *config.Config, conns int) (Target, error) {
	pc, err := pgxpool.ParseConfig(cfg.Target.Postgres.URL)
	if err != nil {
		return nil, fmt.Errorf("target.postgres.url: %w", err)
	}
	pc.MaxConns = int32(max(conns, 1))
	rp := pc.ConnConfig.RuntimeParams
	rp["TimeZone"] = "UTC"
	rp["DateStyle"] = "ISO, YMD"
	rp["IntervalStyle"] = "postgres"
	rp["bytea_output"] = "hex"
	rp["extra_float_digits"] = "1"
	rp["default_transaction_read_only"] = "on"
	rp["application_name"] = "replicator-verify"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to target PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to target PostgreSQL: %w", err)
	}
	return &pgTarget{pool: pool, pol: mapping.NewPolicy(cfg.Mapping)}, nil
}

func (p *pgTarget) Close() { p.pool.Close() }

type pgTable struct {
	pool  *pgxpool.Pool
	pol   mapping.Policy
	t     *Table
	id    pgx.Identifier
	types []string // PostgreSQL type per replicated column
	query string   // SELECT ... FROM without WHERE
	key   string   // quoted first key column
	// only is the condition on a fan-in target's source column ("" for another table),
	// with args its parameter.
	only string
	args []any
}

func (p *pgTarget) table(ctx context.Context, t *Table) (targetTable, error) {
	s, n := t.Route.PGTarget()
	pt := &pgTable{pool: p.pool, pol: p.pol, t: t, id: pgx.Identifier{s, n}}
	var exists bool
	if err := p.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", pt.id.Sanitize()).Scan(&exists); err != nil {
		return nil, fmt.Errorf("look up %s: %w", pt.id.Sanitize(), err)
	}
	if !exists {
		return nil, fmt.Errorf("target table %s does not exist", pt.id.Sanitize())
	}
	exprs := make([]string, len(t.columns()))
	for i, c := range t.columns() {
		typ, err := pgvalue.Type(p.pol, c)
		if err != nil {
			return nil, err
		}
		pt.types = append(pt.types, typ)
		exprs[i] = pgx.Identifier{c.Name}.Sanitize() + "::text"
	}
	from := pt.id.Sanitize()
	var conds []string
	if c := t.Route.FanIn(); c != "" {
		// The target holds other source tables' rows too (fan-in): this table's only.
		pt.only = pgx.Identifier{c}.Sanitize() + " = $1"
		pt.args = []any{t.Route.SourceValue()}
		conds = append(conds, pt.only)
	}
	if t.Route.Deletes() == config.DeletesSoft {
		// Rows marked deleted are compared with nothing: the source deleted them.
		conds = append(conds, "NOT "+pgx.Identifier{config.MarkerDeleted}.Sanitize())
	}
	if len(conds) > 0 {
		from = "(SELECT * FROM " + from + " WHERE " + strings.Join(conds, " AND ") + ") t"
	}
	pt.query = "SELECT " + strings.Join(exprs, ", ") + " FROM " + from
	pt.key = pgx.Identifier{t.firstKey().Name}.Sanitize()
	return pt, nil
}

// markedRows counts the rows marked deleted (deletes = "soft").
func (p *pgTable) markedRows(ctx context.Context) (int64, error) {
	var n int64
	q := "SELECT count(*) FROM " + p.id.Sanitize() + " WHERE " + pgx.Identifier{config.MarkerDeleted}.Sanitize()
	if p.only != "" {
		q += " AND " + p.only
	}
	if err := p.pool.QueryRow(ctx, q, p.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the rows marked deleted in %s: %w", p.name(), err)
	}
	return n, nil
}

func (p *pgTable) name() string                  { return p.id.Sanitize() }
func (p *pgTable) ranged() bool                  { return true }
func (p *pgTable) refresh(context.Context) error { return nil }
func (p *pgTable) text(v []byte) string          { return string(v) }

// converter encodes each source value with the applier's encoder (pgvalue.Encoder, one
// column at a time so a value it refuses affects only itself), takes back the COPY
// escaping and normalises the text as PostgreSQL would print the stored value.
func (p *pgTable) converter() converter {
	cols := p.t.columns()
	encs := make([]*pgvalue.Encoder, len(cols))
	for i, c := range cols {
		encs[i] = pgvalue.NewEncoder(p.pol, "", []*schema.Column{c})
	}
	one := make(change.Row, 1)
	var buf []byte
	r := &row{vals: make([][]byte, len(cols))}
	return func(src change.Row) (*row, error) {
		buf = buf[:0]
		ends := make([]int, len(cols))
		nulls := make([]bool, len(cols))
		for i, v := range src {
			if v == nil {
				nulls[i] = true
				ends[i] = len(buf)
				continue
			}
			one[0] = v
			start := len(buf)
			out, err := encs[i].AppendRow(buf, one)
			if err != nil {
				// The target cannot hold this value: a marker no stored text can equal
				// (PostgreSQL text has no NUL byte).
				out = append(append(buf[:start], 0), "not representable: "+err.Error()...)
			} else {
				out = out[:len(out)-1] // the row's newline
				if string(out[start:]) == `\N` {
					// The mapping rules made the value NULL (mapping.zero_dates = "null").
					buf, ends[i], nulls[i] = out[:start], start, true
					continue
				}
				field := unescapeCopy(out[start:])
				out = append(out[:start], pgNormalize(p.types[i], field)...)
			}
			buf = out
			ends[i] = len(buf)
		}
		start := 0
		for i := range cols {
			if nulls[i] {
				r.vals[i] = nil
			} else {
				r.vals[i] = buf[start:ends[i]:ends[i]]
			}
			start = ends[i]
		}
		r.key = keyString(r.vals, p.t.keyPos)
		r.first = string(r.vals[p.t.keyPos[0]])
		return r, nil
	}
}

// rows reads the table's rows in r as text and normalises them.
func (p *pgTable) rows(ctx context.Context, r Range, fn func(*row) error) error {
	q := p.query + rangeWhere(p.key, r)
	res, err := p.pool.Query(ctx, q, p.args...)
	if err != nil {
		return fmt.Errorf("read %s: %w", p.name(), err)
	}
	defer res.Close()
	out := &row{vals: make([][]byte, len(p.types))}
	for res.Next() {
		raw := res.RawValues()
		for i, v := range raw {
			if v == nil {
				out.vals[i] = nil
				continue
			}
			out.vals[i] = pgNormalize(p.types[i], v)
		}
		out.key = keyString(out.vals, p.t.keyPos)
		out.first = string(out.vals[p.t.keyPos[0]])
		if err := fn(out); err != nil {
			return err
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("read %s: %w", p.name(), err)
	}
	return nil
}
