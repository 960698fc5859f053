package snapshot

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

// A snapshot's rows are only right if every table was read with the definition it had at
// the view's position. MariaDB (like MySQL) resolves a statement's names against the
// current dictionary even inside a consistent-snapshot transaction, and instant DDL
// (RENAME COLUMN, DROP COLUMN, ADD COLUMN) does not make the older view unreadable: a
// rename swap read under the view's rows puts values in the wrong columns.
//
// Metadata locks bound when such a DDL can happen: a reader's first statement on a table
// takes a shared metadata lock held until its transaction (the view) ends, and a DDL
// needs an exclusive one to commit. So a DDL on a table either committed before the
// first read of it, or waits until the view is closed. The binary log between the view's
// position and a position read after every copy (while the view is still open) therefore
// holds every DDL that may have changed what a reader saw: scanBinlog finds them.
//
// The same scan collects, for a resumed snapshot, the keys of every row changed since the
// first view: see resolve.go.

// scanResult is what the binary log between two positions says about the planned tables.
type scanResult struct {
	// ddl names, per planned table ("db.table"), the first DDL that touched it.
	ddl map[string]string
	// created names a table a rule selects that a DDL created or renamed into place.
	created string
	// keys holds, per plan, the key of every row changed (full-width rows carrying only
	// the key values), by change.Key.
	keys map[*plan.Table]map[string]change.Row
	rows int
	// cascaded names, per plan, a row change of a parent whose foreign key actions (which
	// InnoDB does not log) may have changed the plan's rows: its changed rows are not all
	// named, so it is copied again whole (see recopyWhole).
	cascaded map[*plan.Table]string
}

// scanSchemas gives the stream decoder the planned definitions; a table stops being
// decoded once a DDL touched it (its rows no longer match the planned definition).
type scanSchemas struct {
	tables map[string]*plan.Table // by "db\x00table"
	decode bool
}

func (s *scanSchemas) Selected(db, table string) bool {
	return s.decode && s.tables[db+"\x00"+table] != nil
}

func (s *scanSchemas) Lookup(db, table string) *schema.Table {
	if p := s.tables[db+"\x00"+table]; p != nil {
		return p.Table
	}
	return nil
}

func (s *scanSchemas) Put(*schema.Table) error { return nil }

// scanBinlog reads the binary log from from up to to (both transaction-end positions)
// and reports the DDL that touched a planned table, and, with collectKeys, the keys of
// the planned tables' changed rows. With selectNew, a DDL creating a table a rule
// selects is reported too (a snapshot that ends past such a CREATE must copy the table).
//
// known names every planned table ("db\x00table"): none of them counts as created.
//
// related are the other planned tables (read under other views): with collectKeys, their
// row changes are decoded too, for the foreign key actions they set off in plans.
func scanBinlog(ctx context.Context, o Options, from, to change.Position, plans, related []*plan.Table, known map[string]bool, collectKeys, selectNew bool) (*scanResult, error) {
	res := &scanResult{ddl: map[string]string{}, keys: map[*plan.Table]map[string]change.Row{}, cascaded: map[*plan.Table]string{}}
	if done, err := source.Covers(from.Flavor, from.GTID, to.GTID); err != nil || done {
		return res, err
	}
	sch := &scanSchemas{tables: map[string]*plan.Table{}, decode: collectKeys}
	planned := map[string]*plan.Table{}
	byName := map[string]*plan.Table{} // plans only: the tables this scan answers for
	var defs []*schema.Table
	for _, p := range plans {
		sch.tables[p.Table.Schema+"\x00"+p.Table.Name] = p
		planned[p.Table.Schema+"\x00"+p.Table.Name] = p
		byName[p.Table.QualifiedName()] = p
		defs = append(defs, p.Table)
	}
	for _, p := range related {
		if k := p.Table.Schema + "\x00" + p.Table.Name; planned[k] == nil {
			sch.tables[k] = p
			defs = append(defs, p.Table)
		}
	}
	fk := schema.BuildFKGraph(defs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan change.Event, 1024)
	errc := make(chan error, 1)
	parser := ddl.Parser{Flavor: ddl.Flavor(from.Flavor)}
	onDDL := func(_ context.Context, db, query string, pos change.Position, gtid string) (bool, error) {
		for _, n := range statementTables(parser, db, query) {
			key := n.Schema + "\x00" + n.Name
			if p := planned[key]; p != nil {
				if _, seen := res.ddl[p.Name()]; !seen {
					res.ddl[p.Name()] = fmt.Sprintf("GTID %s: %s", gtid, abbreviate(query))
				}
				delete(sch.tables, key)
			} else if selectNew && !known[key] && res.created == "" && o.Routes.Selects(n.Schema, n.Name) {
				res.created = fmt.Sprintf("%s.%s (GTID %s: %s)", n.Schema, n.Name, gtid, abbreviate(query))
			}
		}
		return false, nil
	}
	go func() {
		defer close(events)
		errc <- o.Dialer.Stream(ctx, source.StreamOptions{From: from, ServerID: source.ProbeServerID(o.Config.Source.ServerID) + 1,
			Schemas: sch, Log: o.Log, DDL: onDDL}, events)
	}()
	// The scan reads what is already in the binary log; a stall this long means the
	// position is not reached (it was read from this server a moment ago).
	began, txns := time.Now(), 0
	idle := time.NewTimer(time.Minute)
	defer idle.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				err := <-errc
				return nil, fmt.Errorf("read the binary log from %s to %s: the stream ended early: %w", from.GTID, to.GTID, err)
			}
			idle.Reset(time.Minute)
			switch ev.Kind {
			case change.Insert, change.Update, change.Delete:
				p := sch.tables[ev.Table.Schema+"\x00"+ev.Table.Name]
				if p == nil || p.Table != ev.Table {
					continue
				}
				if !fk.Empty() {
					for _, c := range cascadedBy(fk, &ev) {
						if cp := byName[c]; cp != nil && res.cascaded[cp] == "" {
							res.cascaded[cp] = fmt.Sprintf("%s of %s at GTID %s", ev.Kind, p.Name(), ev.GTID)
						}
					}
				}
				if byName[p.Table.QualifiedName()] != p {
					continue // another view's table: its own scan collects its keys
				}
				m := res.keys[p]
				if m == nil {
					m = map[string]change.Row{}
					res.keys[p] = m
				}
				for _, r := range []change.Row{ev.Before, ev.After} {
					if r == nil {
						continue
					}
					k := change.Key(p.Table, r)
					if _, ok := m[k]; !ok {
						m[k] = keyOnly(p.Table, r)
						res.rows++
					}
				}
			case change.Commit:
				txns++
				if done, err := source.Covers(from.Flavor, ev.Pos.GTID, to.GTID); err != nil || done {
					cancel()
					for range events {
					}
					<-errc
					o.Log.Info("binary log checked for DDL during the snapshot", "from_gtid", from.GTID, "to_gtid", to.GTID,
						"transactions", txns, "ddl", len(res.ddl), "changed_keys", res.rows, "took", time.Since(began).Round(time.Millisecond).String())
					return res, err
				}
			}
		case <-idle.C:
			return nil, fmt.Errorf("read the binary log from %s to %s: nothing arrived for a minute", from.GTID, to.GTID)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// cascadedBy returns the tables whose rows the unlogged foreign key actions a row change
// sets off may change: the children of the edges it triggers (a delete: ON DELETE
// CASCADE / SET NULL / SET DEFAULT; an update of referenced columns: the ON UPDATE ones)
// and every table an action may reach from them.
func cascadedBy(g *schema.FKGraph, ev *change.Event) []string {
	if ev.Kind == change.Insert || ev.Before == nil {
		return nil
	}
	var changed []int
	if ev.Kind == change.Update {
		changed = schema.ChangedColumns(ev.Before, ev.After)
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range g.Children(g.Name(ev.Table)) {
		if _, ok := e.Fires(ev.Kind == change.Delete, changed); !ok {
			continue
		}
		c := g.Name(e.Child)
		for _, t := range append([]string{c}, slices.Collect(maps.Keys(g.Reach(c)))...) {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// keyOnly copies a row's key values into a row of the same width with nothing else.
func keyOnly(t *schema.Table, r change.Row) change.Row {
	out := make(change.Row, len(r))
	for _, k := range t.Key {
		if r[k] != nil {
			out[k] = append([]byte{}, r[k]...)
		}
	}
	return out
}

// statementTables lists the tables a statement touches: from the parse when it parses,
// else every name the statement text mentions (a wrong guess costs a table copied again,
// a missed one would cost wrong rows).
func statementTables(p ddl.Parser, db, query string) []ddl.TableName {
	changes, err := p.Parse(query, db)
	if err != nil {
		return namedTables(db, query)
	}
	var out []ddl.TableName
	for _, ch := range changes {
		tables, _ := ddl.Touched(ch)
		out = append(out, tables...)
	}
	return out
}

var nameRef = regexp.MustCompile("(`[^`]+`|[\\w$]+)(?:\\s*\\.\\s*(`[^`]+`|[\\w$]+))?")

// namedTables reads every identifier of an unparsed statement as a table name, qualified
// or in db.
func namedTables(db, query string) []ddl.TableName {
	var out []ddl.TableName
	for _, m := range nameRef.FindAllStringSubmatch(query, -1) {
		a, b := strings.Trim(m[1], "`"), strings.Trim(m[2], "`")
		if b == "" {
			out = append(out, ddl.TableName{Schema: db, Name: a})
		} else {
			out = append(out, ddl.TableName{Schema: a, Name: b}, ddl.TableName{Schema: db, Name: b})
		}
	}
	return out
}

func abbreviate(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 200 {
		return q[:200] + "..."
	}
	return q
}

// ddlError is returned when DDL changed planned tables during every allowed attempt.
func ddlError(attempts int, ddl map[string]string) error {
	var parts []string
	for t, q := range ddl {
		parts = append(parts, t+" ("+q+")")
	}
	return fmt.Errorf("DDL changed selected tables during each of %d snapshot attempts, last: %s; run the snapshot while no DDL runs on the selected tables (each attempt copies them again under a new view)",
		attempts, strings.Join(parts, "; "))
}

// scanAll scans the binary log up to to once for each position the plans were copied
// from (base, the snapshot's first position, for most; a newer view for tables copied
// again after a DDL), so each table's changes are read with the definition it was copied
// with, and merges what the scans found.
func scanAll(ctx context.Context, o Options, base, to change.Position, plans []*plan.Table, collectKeys, selectNew bool) (*scanResult, error) {
	groups := map[string][]*plan.Table{}
	known := map[string]bool{}
	order := []string{base.GTID} // scanned even without tables of its own, for created ones
	groups[base.GTID] = []*plan.Table{}
	for _, p := range plans {
		known[p.Table.Schema+"\x00"+p.Table.Name] = true
		g := p.From.GTID
		if g == "" {
			g = base.GTID
		}
		if groups[g] == nil {
			order = append(order, g)
		}
		groups[g] = append(groups[g], p)
	}
	out := &scanResult{ddl: map[string]string{}, keys: map[*plan.Table]map[string]change.Row{}, cascaded: map[*plan.Table]string{}}
	for _, g := range order {
		if len(groups[g]) == 0 && !selectNew {
			continue
		}
		var related []*plan.Table
		if collectKeys {
			related = plans
		}
		r, err := scanBinlog(ctx, o, change.Position{Flavor: base.Flavor, GTID: g}, to, groups[g], related, known, collectKeys, selectNew && g == base.GTID)
		if err != nil {
			return nil, err
		}
		for k, v := range r.ddl {
			out.ddl[k] = v
		}
		for k, v := range r.keys {
			out.keys[k] = v
		}
		for k, v := range r.cascaded {
			out.cascaded[k] = v
		}
		if out.created == "" {
			out.created = r.created
		}
		out.rows += r.rows
	}
	return out, nil
}
