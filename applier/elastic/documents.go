package elastic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/replicator/replicator/applier/elastic/compose"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// Composed documents ([[documents]], README: Composed documents). The current rows of
// every involved table are the documents of that table's own index (its [[tables]]
// rule), written by the snapshot and the stream as for any table; a composed document is
// always built whole from them, never patched, and written with the version of the batch
// (or snapshot) whose writes it was read after. So its content is at least as new as its
// version says, and the last write of a document is the one read after the last change
// that touched it: replays and reordered batches cannot leave an older child state.

const (
	// composeChunk is how many root documents are composed per round of reads.
	composeChunk = 500
	// searchPage is the page size of the searches that find related rows.
	searchPage = 1000
	// termsChunk bounds the values of one terms query.
	termsChunk = 1000
)

// docTouch is a batch's write of a row of a table some document involves.
type docTouch struct {
	def *schema.Table
	row change.Row
}

// touch keeps, of each row tc writes, the values of the columns that find the documents
// it changes (keys and join columns; the rest is read back from the index), so a large
// transaction applied in parts holds no more than those until Commit.
func (b *Batch) touch(ctx context.Context, tc change.TableChanges) error {
	specs, err := b.t.documents(ctx)
	if err != nil {
		return err
	}
	name := tc.Table.QualifiedName()
	var keep []int
	add := func(table, col string) {
		if table == name {
			if i := tc.Table.ColumnIndex(col); i >= 0 {
				keep = append(keep, i)
			}
		}
	}
	for _, s := range specs {
		add(s.Root.Name, s.Root.Key)
		for _, l := range s.Lookups {
			add(l.Table.Name, l.Table.Key)
		}
		for _, n := range s.Nested {
			add(n.Table.Name, n.Table.Key)
			add(n.Table.Name, n.On)
			if n.Through != nil {
				add(n.Through.Table.Name, n.Through.Parent)
			}
		}
	}
	for _, rows := range [][]change.Row{tc.Deletes, tc.Upserts} {
		for _, r := range rows {
			small := make(change.Row, len(r))
			for _, i := range keep {
				if i < len(r) && r[i] != nil {
					small[i] = append([]byte(nil), r[i]...)
				}
			}
			b.touched = append(b.touched, docTouch{def: tc.Table, row: small})
		}
	}
	return nil
}

// touchDoc records a child document a foreign key action deletes or rewrites (fkaction.go):
// its integer fields as a row of def, which is all that finding documents needs.
func (b *Batch) touchDoc(def *schema.Table, doc fkDoc) {
	row := make(change.Row, len(def.Columns))
	for i, c := range def.Columns {
		if v, ok, err := compose.KeyText(doc[c.Name]); err == nil && ok {
			row[i] = []byte(v)
		}
	}
	b.touched = append(b.touched, docTouch{def: def, row: row})
	b.fkTouched = append(b.fkTouched, docTouch{def: def, row: row})
}

// involved reports whether a table ("db.table") takes part in a [[documents]] declaration.
func (t *Target) involved(name string) bool {
	for i := range t.cfg.Documents {
		for _, n := range t.cfg.Documents[i].Tables() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// documents returns the declarations resolved against the stored definitions (once).
func (t *Target) documents(ctx context.Context) ([]*compose.Spec, error) {
	t.mu.Lock()
	specs := t.docSpecs
	t.mu.Unlock()
	if specs != nil || len(t.cfg.Documents) == 0 {
		return specs, nil
	}
	defs, err := t.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]*schema.Table{}
	for _, d := range defs {
		byName[d.QualifiedName()] = d
	}
	for i := range t.cfg.Documents {
		s, err := resolveDocument(t.cfg, t.routes, i, byName)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	t.mu.Lock()
	t.docSpecs = specs
	t.mu.Unlock()
	return specs, nil
}

// ResolveDocuments checks every [[documents]] declaration against the tables'
// definitions (by "db.table") and their rules, as the stream will ('check' passes the
// source's own), and returns one line per declaration saying what it found.
func ResolveDocuments(cfg *config.Config, routes *route.Set, defs map[string]*schema.Table) ([]string, error) {
	var out []string
	for i := range cfg.Documents {
		s, err := resolveDocument(cfg, routes, i, defs)
		if err != nil {
			return out, err
		}
		var parts []string
		for _, l := range s.Lookups {
			parts = append(parts, fmt.Sprintf("%s: N:1 %s by %s = %s", l.Field, l.Table.Name, l.RootCol, l.Table.Key))
		}
		for _, n := range s.Nested {
			if n.Through != nil {
				parts = append(parts, fmt.Sprintf("%s: N:M %s through %s (%s -> %s, %s -> %s)", n.Field, n.Table.Name, n.Through.Table.Name, n.Through.Parent, s.Root.Key, n.Through.Child, n.Table.Key))
			} else {
				parts = append(parts, fmt.Sprintf("%s: 1:N %s by %s = %s", n.Field, n.Table.Name, n.On, s.Root.Key))
			}
		}
		out = append(out, fmt.Sprintf("documents[%d] index %s: one per %s row (_id %s); %s", i, s.Index, s.Root.Name, s.Root.Key, strings.Join(parts, "; ")))
	}
	return out, nil
}

// resolveDocument checks documents[i] against the definitions and routes: this version
// joins on one integer column referring to a one-column integer key.
func resolveDocument(cfg *config.Config, routes *route.Set, i int, defs map[string]*schema.Table) (*compose.Spec, error) {
	d := &cfg.Documents[i]
	routeOf := func(def *schema.Table) (*route.Route, error) {
		rt := routes.For(def.Schema, def.Name)
		if rt == nil {
			return nil, fmt.Errorf("no [[tables]] rule selects it")
		}
		return rt, nil
	}
	key := fmt.Sprintf("documents[%d]", i)
	table := func(k, name string, keyed bool) (compose.Table, *schema.Table, error) {
		def := defs[name]
		if def == nil {
			return compose.Table{}, nil, fmt.Errorf("%s = %q: the target holds no such table (is it selected by a [[tables]] rule and does it exist at the source?)", k, name)
		}
		rt, err := routeOf(def)
		if err != nil {
			return compose.Table{}, nil, fmt.Errorf("%s = %q: %w", k, name, err)
		}
		switch {
		case rt.Deletes() != config.DeletesHard:
			return compose.Table{}, nil, fmt.Errorf("%s = %q: its rule tables[%d] has deletes = %q; composed documents read the rows of its index as the current rows, so it needs deletes = \"hard\"", k, name, rt.Index(), rt.Deletes())
		case rt.Where() != nil:
			return compose.Table{}, nil, fmt.Errorf("%s = %q: its rule tables[%d] has a where filter; composed documents need every row of the table in its index", k, name, rt.Index())
		case rt.FanIn() != "":
			return compose.Table{}, nil, fmt.Errorf("%s = %q: its rule tables[%d] merges it into index %s with the other tables of %q (fan-in); composed documents over a fan-in index are not supported: give the table a [[tables]] rule of its own", k, name, rt.Index(), rt.ESIndex(), rt.Source())
		case rt.ESIndexShared():
			return compose.Table{}, nil, fmt.Errorf("%s = %q: its index %s is shared with other tables", k, name, rt.ESIndex())
		case rt.ESIndex() == d.Index:
			return compose.Table{}, nil, fmt.Errorf("%s.index = %q is the index of %s itself: name another index", key, d.Index, name)
		case keyed && (len(def.Key) != 1 || !intColumn(def.Columns[def.Key[0]])):
			return compose.Table{}, nil, fmt.Errorf("%s = %q: key (%s) must be one integer column: composite keys and keys of strings, binary strings or decimals are not supported (a document refers to a row by the text of one integer); compose from a table with a one-column integer key, e.g. an AUTO_INCREMENT id", k, name, describeKey(def))
		}
		ct := compose.Table{Name: name, Index: rt.ESIndex()}
		if keyed {
			ct.Key = def.Columns[def.Key[0]].Name
		}
		return ct, def, nil
	}
	column := func(k string, def *schema.Table, col string, wantInt bool) (string, error) {
		c := def.ColumnIndex(col)
		if c < 0 {
			return "", fmt.Errorf("%s: column %q does not exist in %s", k, col, def.QualifiedName())
		}
		rt, err := routeOf(def)
		if err != nil {
			return "", fmt.Errorf("%s: %s: %w", k, def.QualifiedName(), err)
		}
		if !rt.Replicates(def.Columns[c].Name) {
			return "", fmt.Errorf("%s: column %q of %s is excluded by its [[tables]] rule", k, col, def.QualifiedName())
		}
		if wantInt && !intColumn(def.Columns[c]) {
			return "", fmt.Errorf("%s: column %q of %s is %s; joins are on integer columns only (string joins compare by collation, decimal joins by value whatever the scale, which the indexes' ids do not): join on an integer column", k, col, def.QualifiedName(), def.Columns[c].ColumnType)
		}
		return def.Columns[c].Name, nil
	}
	columns := func(k string, def *schema.Table, cols []string) ([]string, error) {
		var out []string
		for _, c := range cols {
			n, err := column(k, def, c, false)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, nil
	}
	if p := route.ESNameProblem(d.Index); p != "" {
		// The name is an alias of generations NAME-g000001, ...: the rule of the tables'
		// index names applies (a name ending like a generation could be another's).
		return nil, fmt.Errorf("%s.index: %s: name another index", key, p)
	}
	s := &compose.Spec{N: i, Index: d.Index}
	root, rootDef, err := table(key+".root", d.Root, true)
	if err != nil {
		return nil, err
	}
	s.Root = root
	if s.Columns, err = columns(key+".columns", rootDef, d.Columns); err != nil {
		return nil, err
	}
	for j, l := range d.Lookup {
		lk := fmt.Sprintf("%s.lookup[%d]", key, j)
		lt, ldef, err := table(lk+".table", l.Table, true)
		if err != nil {
			return nil, err
		}
		from, to := config.OnPair(l.On)
		rc, err := column(lk+".on", rootDef, from, true)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(to, lt.Key) {
			return nil, fmt.Errorf("%s.on = { %s = %q }: %q must be the key of %s (%s): a lookup refers to one row", lk, from, to, to, l.Table, lt.Key)
		}
		cols, err := columns(lk+".columns", ldef, l.Columns)
		if err != nil {
			return nil, err
		}
		s.Lookups = append(s.Lookups, compose.Lookup{Field: l.Field, Table: lt, RootCol: rc, Columns: cols})
	}
	for j, n := range d.Nested {
		nk := fmt.Sprintf("%s.nested[%d]", key, j)
		nt, ndef, err := table(nk+".table", n.Table, true)
		if err != nil {
			return nil, err
		}
		nd := compose.Nested{Field: n.Field, Table: nt}
		if th := n.Through; th != nil {
			tt, tdef, err := table(nk+".through.table", th.Table, false)
			if err != nil {
				return nil, err
			}
			p, err := column(nk+".through.parent", tdef, th.Parent, true)
			if err != nil {
				return nil, err
			}
			c, err := column(nk+".through.child", tdef, th.Child, true)
			if err != nil {
				return nil, err
			}
			// Its key must hold both columns: a deleted join row is known by its key
			// alone, and that must say which document loses a child.
			if !keyHolds(tdef, p) || !keyHolds(tdef, c) {
				return nil, fmt.Errorf("%s.through: the key of %s (%s) must include %q and %q (a join table's primary key)", nk, th.Table, strings.Join(tdef.KeyNames(), ", "), p, c)
			}
			nd.Through = &compose.Through{Table: tt, Parent: p, Child: c}
		} else {
			from, to := config.OnPair(n.On)
			oc, err := column(nk+".on", ndef, from, true)
			if err != nil {
				return nil, err
			}
			if !strings.EqualFold(to, root.Key) {
				return nil, fmt.Errorf("%s.on = { %s = %q }: %q must be the root's key (%s): a nested row refers to its document", nk, from, to, to, root.Key)
			}
			nd.On = oc
		}
		if nd.Columns, err = columns(nk+".columns", ndef, n.Columns); err != nil {
			return nil, err
		}
		s.Nested = append(s.Nested, nd)
	}
	return s, nil
}

// describeKey names a table's key columns with their types, or says it has none.
func describeKey(def *schema.Table) string {
	if len(def.Key) == 0 {
		return "none"
	}
	parts := make([]string, len(def.Key))
	for i, k := range def.Key {
		parts[i] = def.Columns[k].Name + " " + def.Columns[k].ColumnType
	}
	return strings.Join(parts, ", ")
}

func keyHolds(def *schema.Table, col string) bool {
	for _, k := range def.KeyNames() {
		if strings.EqualFold(k, col) {
			return true
		}
	}
	return false
}

func intColumn(c schema.Column) bool {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return true
	}
	return false
}

// composedMarker records that an index was composed in full from a snapshot's rows with
// one declaration (its hash): a run start composes again what lacks it.
type composedMarker struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	Hash string `json:"hash"`
	GTID string `json:"gtid"`
}

func (t *Target) markerID(s *compose.Spec) string { return "documents-" + t.state.name + "-" + s.Index }

func specHash(s *compose.Spec) string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// composeAll builds every document of each declaration again from the tables' indexes:
// the index is created anew, filled, then marked. gtid is the snapshot's position (the
// plan's), version the writes' version.
func (t *Target) composeAll(ctx context.Context, only func(*compose.Spec, *composedMarker) bool, gtid string, version int64) error {
	specs, err := t.documents(ctx)
	if err != nil {
		return err
	}
	for _, s := range specs {
		var m composedMarker
		found, err := t.state.get(ctx, t.markerID(s), &m)
		if err != nil {
			return err
		}
		if !only(s, map[bool]*composedMarker{true: &m}[found]) {
			continue
		}
		concrete, err := t.createComposed(ctx, s)
		if err != nil {
			return err
		}
		if err := t.refresh(ctx, s); err != nil {
			return err
		}
		// Written by its own name: readers of the alias see the generation before
		// (or none) until the swap below, never a half-composed one.
		dest := mapping.AppendJSONString(nil, concrete)
		n, start := 0, time.Now()
		var ids []string
		err = t.searchAll(ctx, s.Root.Index, map[string]any{"match_all": map[string]any{}}, []string{s.Root.Key}, []string{s.Root.Key}, func(src compose.Source) error {
			id, ok, err := compose.KeyText(src[s.Root.Key])
			if err != nil || !ok {
				return fmt.Errorf("documents[%d]: a document of %s has no usable key: %v", s.N, s.Root.Index, err)
			}
			ids = append(ids, id)
			if len(ids) == composeChunk {
				n += len(ids)
				err := t.composeRoots(ctx, s, ids, version, dest)
				ids = ids[:0]
				return err
			}
			return nil
		})
		if err == nil && len(ids) > 0 {
			n += len(ids)
			err = t.composeRoots(ctx, s, ids, version, dest)
		}
		if err == nil {
			err = t.swapAlias(ctx, s.Index, concrete)
		}
		if err != nil {
			return fmt.Errorf("compose documents[%d] into %s (index %s): %w", s.N, s.Index, concrete, err)
		}
		if err := t.state.put(ctx, t.markerID(s), composedMarker{Kind: "documents", Name: t.state.name, Hash: specHash(s), GTID: gtid}); err != nil {
			return err
		}
		took := time.Since(start)
		t.log.Info("composed documents", "index", s.Index, "generation", concrete, "documents", n, "root", s.Root.Name, "duration", took.String(), "per_second", int(float64(n)/max(took.Seconds(), 1e-3)))
	}
	return nil
}

// ComposeMissing composes, before the stream starts, the declarations whose index was not
// composed in full from this snapshot with this declaration (added or changed since, or
// a crash came first), from the tables' indexes at the checkpoint.
func (t *Target) ComposeMissing(ctx context.Context) error {
	if len(t.cfg.Documents) == 0 {
		return nil
	}
	cp, err := t.state.checkpoint(ctx)
	if err != nil || cp == nil {
		return err
	}
	var plan planDoc
	if _, err := t.state.get(ctx, t.state.planID(), &plan); err != nil {
		return err
	}
	version, err := PositionVersion(cp.position())
	if err != nil {
		return err
	}
	return t.composeAll(ctx, func(s *compose.Spec, m *composedMarker) bool {
		return m == nil || m.Hash != specHash(s) || m.GTID != plan.GTID
	}, plan.GTID, version)
}

// createComposed creates the next generation of a declaration's index (the index name
// is its alias, as for the tables' indexes, alias.go) and returns its name: mapped from
// the fields of the tables' own indexes, root fields as they are, a lookup as an object,
// a nested relation as nested; fields not mapped (a column added later) stay in _source
// (dynamic false). Generations no alias points to (a composition killed before its swap)
// are deleted first.
func (t *Target) createComposed(ctx context.Context, s *compose.Spec) (string, error) {
	props := func(index string, cols []string, key string) (map[string]any, error) {
		var res map[string]struct {
			Mappings struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"mappings"`
		}
		if _, err := call(ctx, t.es, http.MethodGet, indexPath(index)+"/_mapping", nil, nil, &res); err != nil {
			return nil, fmt.Errorf("documents[%d]: read the mapping of %s: %w", s.N, index, err)
		}
		out := map[string]any{}
		for _, m := range res {
			for f, v := range m.Mappings.Properties {
				if cols == nil || strings.EqualFold(f, key) || containsFold(cols, f) {
					out[f] = v
				}
			}
		}
		return out, nil
	}
	root, err := props(s.Root.Index, s.Columns, s.Root.Key)
	if err != nil {
		return "", err
	}
	for _, l := range s.Lookups {
		p, err := props(l.Table.Index, l.Columns, "")
		if err != nil {
			return "", err
		}
		root[l.Field] = map[string]any{"type": "object", "properties": p}
	}
	for _, n := range s.Nested {
		p, err := props(n.Table.Index, n.Columns, n.Table.Key)
		if err != nil {
			return "", err
		}
		root[n.Field] = map[string]any{"type": "nested", "properties": p}
	}
	cur, err := t.resolveName(ctx, s.Index)
	if err != nil {
		return "", err
	}
	gens, err := t.generations(ctx, s.Index)
	if err != nil {
		return "", err
	}
	for g := range gens {
		if !slices.Contains(cur.Indices, g) {
			if err := t.deleteConcrete(ctx, g); err != nil {
				return "", fmt.Errorf("documents[%d]: %w", s.N, err)
			}
		}
	}
	concrete, err := t.nextGeneration(ctx, s.Index)
	if err != nil {
		return "", err
	}
	settings := map[string]any{}
	// A replica once a second node can hold one, as the tables' indexes get where no
	// template says otherwise: a single node stays green.
	if !t.templateSetsReplicas(ctx, concrete) {
		settings["auto_expand_replicas"] = defaultAutoExpandReplicas
	}
	body, err := json.Marshal(map[string]any{"settings": settings, "mappings": map[string]any{"dynamic": false, "properties": root},
		"aliases": map[string]any{newWriteAlias(concrete): map[string]any{}}})
	if err != nil {
		return "", err
	}
	if _, err := call(ctx, t.es, http.MethodPut, indexPath(concrete), nil, body, nil); err != nil {
		return "", fmt.Errorf("documents[%d]: create index %s (a generation of %s): %w", s.N, concrete, s.Index, err)
	}
	return concrete, nil
}

// composedDest is where the stream writes the documents of a declaration: the write
// alias of the generation its alias points to, with require_alias (a late bulk of a
// killed process never lands in a later generation, see writeAliasInfix); an index of
// an earlier version, named like the alias, by its name.
func (t *Target) composedDest(ctx context.Context, s *compose.Spec) ([]byte, error) {
	t.mu.Lock()
	d, ok := t.docDest[s.Index]
	epoch := t.epoch
	t.mu.Unlock()
	if ok && d.epoch == epoch {
		return d.json, nil
	}
	cur, err := t.resolveName(ctx, s.Index)
	if err != nil {
		return nil, err
	}
	var dest []byte
	switch {
	case !cur.exists():
		return nil, fmt.Errorf("documents[%d]: the composed index %s does not exist (deleted by hand?): delete the marker document %s in the state index and restart, which composes it again", s.N, s.Index, t.markerID(s))
	case cur.Legacy:
		dest = mapping.AppendJSONString(nil, s.Index)
	default:
		w, err := t.writeAlias(ctx, s.Index)
		if err != nil {
			return nil, fmt.Errorf("documents[%d]: %w", s.N, err)
		}
		dest = append(mapping.AppendJSONString(nil, w), `,"require_alias":true`...)
	}
	t.mu.Lock()
	if t.docDest == nil {
		t.docDest = map[string]destOf{}
	}
	t.docDest[s.Index] = destOf{json: dest, epoch: epoch}
	t.mu.Unlock()
	return dest, nil
}

// destOf is a composed index's write destination, found under an epoch (alias.go).
type destOf struct {
	json  []byte
	epoch int
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// refresh makes the latest writes of a declaration's indexes searchable.
func (t *Target) refresh(ctx context.Context, s *compose.Spec) error {
	names := []string{s.Index, s.Root.Index}
	for _, l := range s.Lookups {
		names = append(names, l.Table.Index)
	}
	for _, n := range s.Nested {
		names = append(names, n.Table.Index)
		if n.Through != nil {
			names = append(names, n.Through.Table.Index)
		}
	}
	esc := make([]string, len(names))
	for i, n := range names {
		esc[i] = strings.TrimPrefix(indexPath(n), "/")
	}
	// ignore_unavailable: the composed index does not exist before its first composition.
	if _, err := call(ctx, t.es, http.MethodPost, "/"+strings.Join(esc, ",")+"/_refresh", url.Values{"ignore_unavailable": {"true"}}, nil, nil); err != nil {
		return fmt.Errorf("documents[%d]: refresh %s: %w", s.N, strings.Join(names, ","), err)
	}
	return nil
}

// searchAll calls fn with the _source (fields only) of every document of index matching
// query, in the order of sortBy (integer key fields that make the order total), a page at
// a time.
func (t *Target) searchAll(ctx context.Context, index string, query map[string]any, sortBy, fields []string, fn func(compose.Source) error) error {
	var after []json.RawMessage
	sorts := make([]any, len(sortBy))
	for i, f := range sortBy {
		sorts[i] = map[string]any{f: "asc"}
	}
	for {
		req := map[string]any{"size": searchPage, "query": query, "sort": sorts, "track_total_hits": false}
		if fields != nil {
			req["_source"] = fields
		}
		if after != nil {
			req["search_after"] = after
		}
		body, err := json.Marshal(req)
		if err != nil {
			return err
		}
		var res struct {
			Hits struct {
				Hits []struct {
					Source compose.Source    `json:"_source"`
					Sort   []json.RawMessage `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if _, err := call(ctx, t.es, http.MethodPost, indexPath(index)+"/_search", nil, body, &res); err != nil {
			return fmt.Errorf("search %s: %w", index, err)
		}
		for _, h := range res.Hits.Hits {
			if err := fn(h.Source); err != nil {
				return err
			}
		}
		if len(res.Hits.Hits) < searchPage {
			return nil
		}
		after = res.Hits.Hits[len(res.Hits.Hits)-1].Sort
	}
}

// terms calls searchAll with field in values, a chunk of values at a time.
func (t *Target) terms(ctx context.Context, index, field string, values []string, sortBy, fields []string, fn func(compose.Source) error) error {
	for len(values) > 0 {
		n := min(len(values), termsChunk)
		q := map[string]any{"terms": map[string]any{field: values[:n]}}
		if err := t.searchAll(ctx, index, q, sortBy, fields, fn); err != nil {
			return err
		}
		values = values[n:]
	}
	return nil
}

// mget reads documents of index by _id in real time; missing ones are absent.
func (t *Target) mget(ctx context.Context, index string, ids []string) (map[string]compose.Source, error) {
	out := make(map[string]compose.Source, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), termsChunk)
		body, err := json.Marshal(map[string]any{"ids": ids[:n]})
		if err != nil {
			return nil, err
		}
		var res struct {
			Docs []struct {
				ID     string         `json:"_id"`
				Found  bool           `json:"found"`
				Source compose.Source `json:"_source"`
			} `json:"docs"`
		}
		if _, err := call(ctx, t.es, http.MethodPost, indexPath(index)+"/_mget", nil, body, &res); err != nil {
			return nil, fmt.Errorf("read documents of %s: %w", index, err)
		}
		for _, d := range res.Docs {
			if d.Found {
				out[d.ID] = d.Source
			}
		}
		ids = ids[n:]
	}
	return out, nil
}

// composeRoots writes the documents of the roots ids (deleting those whose root row is
// gone) with version into dest (the bulk item's _index value), reading their rows from
// the tables' indexes.
func (t *Target) composeRoots(ctx context.Context, s *compose.Spec, ids []string, version int64, dest []byte) error {
	indexJSON := dest
	for len(ids) > 0 {
		n := min(len(ids), composeChunk)
		chunk := ids[:n]
		ids = ids[n:]
		docs, err := t.buildDocs(ctx, s, chunk)
		if err != nil {
			return err
		}
		body := getBody()
		bodies := []*bulkBody{}
		emit := func(b *bulkBody) error { bodies = append(bodies, b); return nil }
		where := fmt.Sprintf("documents[%d] (index %s)", s.N, s.Index)
		for _, id := range chunk {
			if doc := docs[id]; doc == nil {
				body.begin("delete", indexJSON, []byte(id), version)
			} else {
				body.begin("index", indexJSON, []byte(id), version)
				body.buf = append(append(body.buf, doc...), '\n')
			}
			// Split by bytes as every other bulk writer (target.elasticsearch.bulk_max_bytes).
			if err := placeLast(&body, t.bulk, where, []byte(id), emit); err != nil {
				return err
			}
		}
		if body.len() > 0 {
			bodies = append(bodies, body)
		} else {
			putBody(body)
		}
		if _, err := t.sendAll(ctx, bodies, where); err != nil {
			return err
		}
	}
	return nil
}

// buildDocs composes the documents of the roots ids (at most composeChunk) from the
// tables' indexes; a root without a row has no entry.
func (t *Target) buildDocs(ctx context.Context, s *compose.Spec, ids []string) (map[string][]byte, error) {
	roots, err := t.mget(ctx, s.Root.Index, ids)
	if err != nil {
		return nil, err
	}
	lookups := make([]map[string]compose.Source, len(s.Lookups))
	for i, l := range s.Lookups {
		var want []string
		for _, r := range roots {
			if k, ok, err := compose.KeyText(r[l.RootCol]); err != nil {
				return nil, fmt.Errorf("documents[%d].lookup[%d]: %s: %w", s.N, i, s.Root.Index, err)
			} else if ok {
				want = append(want, k)
			}
		}
		if lookups[i], err = t.mget(ctx, l.Table.Index, dedupe(want)); err != nil {
			return nil, err
		}
	}
	nested := make([]map[string][]compose.Source, len(s.Nested))
	for i, nd := range s.Nested {
		if nested[i], err = t.children(ctx, s, i, nd, ids); err != nil {
			return nil, err
		}
	}
	out := make(map[string][]byte, len(roots))
	for id, root := range roots {
		p := compose.Parts{Root: root, Lookups: make([]compose.Source, len(s.Lookups)), Nested: make([][]compose.Source, len(s.Nested))}
		for i, l := range s.Lookups {
			if k, ok, _ := compose.KeyText(root[l.RootCol]); ok {
				p.Lookups[i] = lookups[i][k]
			}
		}
		for i := range s.Nested {
			p.Nested[i] = nested[i][id]
		}
		if out[id], err = s.Doc(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DocumentsCheck is the outcome of VerifyDocuments for one declaration.
type DocumentsCheck struct {
	Index     string
	Documents int // composed documents compared
	// Differ lists the _id of documents that differ, are missing or have no root row
	// (at most 10), Differences counts them all.
	Differ      []string
	Differences int
}

// VerifyDocuments compares every composed document with the one composed again from the
// tables' indexes, and finds documents whose root row is gone. With verify's comparison
// of each table's index with the source, it compares the documents with the source's
// rows.
func (t *Target) VerifyDocuments(ctx context.Context) ([]DocumentsCheck, error) {
	specs, err := t.documents(ctx)
	if err != nil {
		return nil, err
	}
	var out []DocumentsCheck
	for _, s := range specs {
		if err := t.refresh(ctx, s); err != nil {
			return nil, err
		}
		c := DocumentsCheck{Index: s.Index}
		differ := func(id string) {
			c.Differences++
			if len(c.Differ) < 10 {
				c.Differ = append(c.Differ, id)
			}
		}
		compare := func(ids []string) error {
			want, err := t.buildDocs(ctx, s, ids)
			if err != nil {
				return err
			}
			got, err := t.mget(ctx, s.Index, ids)
			if err != nil {
				return err
			}
			for _, id := range ids {
				c.Documents++
				g, ok := got[id]
				if !ok || !sameJSON(g, want[id]) {
					differ(id)
				}
			}
			return nil
		}
		var ids []string
		err := t.searchAll(ctx, s.Root.Index, map[string]any{"match_all": map[string]any{}}, []string{s.Root.Key}, []string{s.Root.Key}, func(src compose.Source) error {
			id, ok, err := compose.KeyText(src[s.Root.Key])
			if err != nil || !ok {
				return fmt.Errorf("documents[%d]: a document of %s has no usable key: %v", s.N, s.Root.Index, err)
			}
			if ids = append(ids, id); len(ids) == composeChunk {
				err := compare(ids)
				ids = ids[:0]
				return err
			}
			return nil
		})
		if err == nil && len(ids) > 0 {
			err = compare(ids)
		}
		if err != nil {
			return nil, fmt.Errorf("verify documents[%d] (index %s): %w", s.N, s.Index, err)
		}
		// Documents of roots that are gone.
		var extra []string
		err = t.searchAll(ctx, s.Index, map[string]any{"match_all": map[string]any{}}, []string{s.Root.Key}, []string{s.Root.Key}, func(src compose.Source) error {
			if id, ok, _ := compose.KeyText(src[s.Root.Key]); ok {
				if extra = append(extra, id); len(extra) == composeChunk {
					err := t.checkRoots(ctx, s, extra, differ)
					extra = extra[:0]
					return err
				}
			}
			return nil
		})
		if err == nil && len(extra) > 0 {
			err = t.checkRoots(ctx, s, extra, differ)
		}
		if err != nil {
			return nil, fmt.Errorf("verify documents[%d] (index %s): %w", s.N, s.Index, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// checkRoots calls differ for each composed document id whose root row is not indexed.
func (t *Target) checkRoots(ctx context.Context, s *compose.Spec, ids []string, differ func(string)) error {
	roots, err := t.mget(ctx, s.Root.Index, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, ok := roots[id]; !ok {
			differ(id)
		}
	}
	return nil
}

// sameJSON compares a stored _source with composed bytes as JSON values.
func sameJSON(got compose.Source, want []byte) bool {
	if want == nil {
		return false
	}
	var w compose.Source
	if err := json.Unmarshal(want, &w); err != nil || len(w) != len(got) {
		return false
	}
	for k, v := range w {
		a, b := canonJSON(v), canonJSON(got[k])
		if a == "" || a != b {
			return false
		}
	}
	return true
}

func canonJSON(v json.RawMessage) string {
	var x any
	d := json.NewDecoder(strings.NewReader(string(v)))
	d.UseNumber()
	if err := d.Decode(&x); err != nil {
		return ""
	}
	b, err := json.Marshal(x)
	if err != nil {
		return ""
	}
	return string(b)
}

// children returns the rows of nested relation i of the roots ids, by root id.
func (t *Target) children(ctx context.Context, s *compose.Spec, i int, nd compose.Nested, ids []string) (map[string][]compose.Source, error) {
	out := map[string][]compose.Source{}
	if nd.Through == nil {
		err := t.terms(ctx, nd.Table.Index, nd.On, ids, []string{nd.Table.Key}, nil, func(src compose.Source) error {
			k, ok, err := compose.KeyText(src[nd.On])
			if err != nil || !ok {
				return fmt.Errorf("documents[%d].nested[%d]: %s: %v", s.N, i, nd.Table.Index, err)
			}
			out[k] = append(out[k], src)
			return nil
		})
		return out, err
	}
	th := nd.Through
	type pair struct{ parent, child string }
	var pairs []pair
	var want []string
	err := t.terms(ctx, th.Table.Index, th.Parent, ids, []string{th.Parent, th.Child}, []string{th.Parent, th.Child}, func(src compose.Source) error {
		p, ok1, err1 := compose.KeyText(src[th.Parent])
		c, ok2, err2 := compose.KeyText(src[th.Child])
		if err1 != nil || err2 != nil || !ok1 || !ok2 {
			return fmt.Errorf("documents[%d].nested[%d].through: a document of %s lacks %s or %s", s.N, i, th.Table.Index, th.Parent, th.Child)
		}
		pairs = append(pairs, pair{p, c})
		want = append(want, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err := t.mget(ctx, nd.Table.Index, dedupe(want))
	if err != nil {
		return nil, err
	}
	for _, p := range pairs {
		// A join row whose child row does not exist adds nothing (an inner join).
		if r, ok := rows[p.child]; ok {
			out[p.parent] = append(out[p.parent], r)
		}
	}
	return out, nil
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// composeTouched composes again every document the rows touched may change, after their
// writes were acknowledged and before the checkpoint passes them (version: theirs).
func (t *Target) composeTouched(ctx context.Context, touched []docTouch, version int64) error {
	if len(touched) == 0 {
		return nil
	}
	specs, err := t.documents(ctx)
	if err != nil {
		return err
	}
	for _, s := range specs {
		if !specTouched(s, touched) {
			continue
		}
		// Every read below (the searches for affected roots and the composition's own
		// searches of nested rows) must see the batch's writes.
		if err := t.refresh(ctx, s); err != nil {
			return err
		}
		roots, err := t.affected(ctx, s, touched)
		if err != nil {
			return err
		}
		if len(roots) == 0 {
			continue
		}
		dest, err := t.composedDest(ctx, s)
		if err != nil {
			return err
		}
		if err := t.composeRoots(ctx, s, roots, version, dest); err != nil {
			return fmt.Errorf("documents[%d] (index %s): %w", s.N, s.Index, err)
		}
		t.log.Debug("composed documents again", "index", s.Index, "documents", len(roots))
	}
	return nil
}

// specTouched reports whether a touched row belongs to a table of declaration s.
func specTouched(s *compose.Spec, touched []docTouch) bool {
	names := map[string]bool{s.Root.Name: true}
	for _, l := range s.Lookups {
		names[l.Table.Name] = true
	}
	for _, n := range s.Nested {
		names[n.Table.Name] = true
		if n.Through != nil {
			names[n.Through.Table.Name] = true
		}
	}
	for _, tc := range touched {
		if names[tc.def.QualifiedName()] {
			return true
		}
	}
	return false
}

// affected returns the roots (ids) whose document the touched rows may change: the
// touched roots; for a lookup row, the roots referring to it; for a join row, its parent;
// for a nested row, the parents of its join rows (N:M) or the parent it names now and
// the documents holding it (1:N). The searches read the indexes after the batch's writes
// (refreshed by the caller), so a root that stops referring to a row is itself touched.
func (t *Target) affected(ctx context.Context, s *compose.Spec, touched []docTouch) ([]string, error) {
	set := map[string]bool{}
	val := func(tc docTouch, col string) (string, bool) {
		i := tc.def.ColumnIndex(col)
		if i < 0 || i >= len(tc.row) || tc.row[i] == nil {
			return "", false
		}
		return string(tc.row[i]), true
	}
	collect := func(field string) func(compose.Source) error {
		return func(src compose.Source) error {
			if k, ok, err := compose.KeyText(src[field]); err != nil {
				return err
			} else if ok {
				set[k] = true
			}
			return nil
		}
	}
	keysOf := func(name, key string) []string {
		var out []string
		for _, tc := range touched {
			if tc.def.QualifiedName() == name {
				if v, ok := val(tc, key); ok {
					out = append(out, v)
				}
			}
		}
		return dedupe(out)
	}
	for _, k := range keysOf(s.Root.Name, s.Root.Key) {
		set[k] = true
	}
	for _, l := range s.Lookups {
		if ks := keysOf(l.Table.Name, l.Table.Key); len(ks) > 0 {
			if err := t.terms(ctx, s.Root.Index, l.RootCol, ks, []string{s.Root.Key}, []string{s.Root.Key}, collect(s.Root.Key)); err != nil {
				return nil, err
			}
		}
	}
	for _, nd := range s.Nested {
		if th := nd.Through; th != nil {
			for _, k := range keysOf(th.Table.Name, th.Parent) {
				set[k] = true
			}
			if ks := keysOf(nd.Table.Name, nd.Table.Key); len(ks) > 0 {
				if err := t.terms(ctx, th.Table.Index, th.Child, ks, []string{th.Parent, th.Child}, []string{th.Parent}, collect(th.Parent)); err != nil {
					return nil, err
				}
			}
			continue
		}
		for _, k := range keysOf(nd.Table.Name, nd.On) {
			set[k] = true
		}
		if ks := keysOf(nd.Table.Name, nd.Table.Key); len(ks) > 0 {
			// The documents holding the child now: it may have moved to another root
			// or gone, which its new row (or its delete) does not say.
			for len(ks) > 0 {
				n := min(len(ks), termsChunk)
				q := map[string]any{"nested": map[string]any{"path": nd.Field, "query": map[string]any{"terms": map[string]any{nd.Field + "." + nd.Table.Key: ks[:n]}}}}
				if err := t.searchAll(ctx, s.Index, q, []string{s.Root.Key}, []string{s.Root.Key}, collect(s.Root.Key)); err != nil {
					return nil, err
				}
				ks = ks[n:]
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// documentsDDL refuses a schema change that would leave composed documents wrong: a
// whole-table statement on an involved table, or a change to a column a declaration
// uses (a join column, a listed column; adding a column is fine). The reason names the
// declaration's key and what to do.
func (t *Target) documentsDDL(ch ddl.Change) error {
	if len(t.cfg.Documents) == 0 {
		return nil
	}
	refuse := func(stmt, table, what string) error {
		for i := range t.cfg.Documents {
			d := &t.cfg.Documents[i]
			for _, n := range d.Tables() {
				if n != table {
					continue
				}
				if what == "" || docUses(d, table, what) {
					return &UntranslatableError{Statement: stmt, Reason: fmt.Sprintf("documents[%d] (index %s) is composed from %s%s; change the declaration, then compose again (delete the marker document documents-%s-%s in the state index and restart, or snapshot again)",
						i, d.Index, table, map[bool]string{true: "", false: " and uses its column " + what}[what == ""], t.state.name, d.Index)}
				}
			}
		}
		return nil
	}
	switch c := ch.(type) {
	case *ddl.TruncateTable:
		return refuse("TRUNCATE TABLE "+c.Name.String(), c.Name.String(), "")
	case *ddl.DropTables:
		for _, n := range c.Names {
			if err := refuse("DROP TABLE "+n.String(), n.String(), ""); err != nil {
				return err
			}
		}
	case *ddl.RenameTables:
		for _, p := range c.Pairs {
			if err := refuse("RENAME TABLE "+p.From.String(), p.From.String(), ""); err != nil {
				return err
			}
		}
	case *ddl.AlterTable:
		stmt := "ALTER TABLE " + c.Name.String()
		for _, sp := range c.Specs {
			var col string
			switch a := sp.(type) {
			case *ddl.DropColumn:
				col = a.Name
			case *ddl.ModifyColumn:
				col = a.Column.Name
			case *ddl.ChangeColumn:
				col = a.OldName
			case *ddl.RenameColumn:
				col = a.OldName
			case *ddl.RenameTable, *ddl.AddPrimaryKey, *ddl.DropPrimaryKey:
				if err := refuse(stmt, c.Name.String(), ""); err != nil {
					return err
				}
				continue
			default:
				continue
			}
			if err := refuse(stmt, c.Name.String(), col); err != nil {
				return err
			}
		}
	case *ddl.DropDatabase:
		for i := range t.cfg.Documents {
			for _, n := range t.cfg.Documents[i].Tables() {
				if db, _, _ := strings.Cut(n, "."); db == c.Name {
					return refuse("DROP DATABASE "+c.Name, n, "")
				}
			}
		}
	}
	return nil
}

// docUses reports whether declaration d uses column col of table: as a join column, a
// written column, or (every column written) any column.
func docUses(d *config.Document, table, col string) bool {
	uses := func(cols []string) bool { return len(cols) == 0 || containsFold(cols, col) }
	if d.Root == table {
		if uses(d.Columns) {
			return true
		}
	}
	for _, l := range d.Lookup {
		from, to := config.OnPair(l.On)
		if d.Root == table && strings.EqualFold(from, col) {
			return true
		}
		if l.Table == table && (strings.EqualFold(to, col) || uses(l.Columns)) {
			return true
		}
	}
	for _, n := range d.Nested {
		if n.Through != nil && n.Through.Table == table && (strings.EqualFold(n.Through.Parent, col) || strings.EqualFold(n.Through.Child, col)) {
			return true
		}
		from, _ := config.OnPair(n.On)
		if n.Table == table && (strings.EqualFold(from, col) || uses(n.Columns)) {
			return true
		}
	}
	return false
}
