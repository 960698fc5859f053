package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// A fan-in index (route.Route.FanIn) holds the documents of several source tables (shards),
// told apart by the source field ("db.table"), which leads the key: the _id of a document
// is the JSON array of the source and the key texts (["shop_1.orders","7"], by the rules
// of esdoc.Encoder.AppendID), so equal keys of two shards are two documents. What a
// statement does to one shard as a whole concerns only its documents, found by a term
// query on the source field: TRUNCATE and DROP TABLE delete them, RENAME TABLE onto
// another name of the same rule moves them to the ids of the new name. ALTER and CREATE
// TABLE change the one mapping for all shards, so they pass only when the index can
// still hold every shard's documents afterwards (route.Route.CheckFanInChange); adding a
// field is idempotent, so the first shard's ADD COLUMN maps it and the others' find it
// mapped.
//
// Versions need nothing of their own: every write carries the stream's transaction
// counter (PositionVersion), one sequence for all tables, and a document is only ever
// compared with writes to its own _id, which belong to one shard. The documents a
// statement deletes or moves are deleted (and, moved, indexed again) with the version of
// the batch that applies it: at least every earlier write of the shard, so a replayed or
// late older write of a deleted document is refused while its tombstone lives, and at
// most every later one, so the shard's next changes pass.

// fanInRoute returns the route of n when a fan-in rule selects it, else nil.
func (t *Target) fanInRoute(n ddl.TableName) *route.Route {
	return t.routes.FanInFor(n)
}

// fieldType is the Elasticsearch side of a column under the [mapping] rules
// (esdoc.FieldShape): two shards of one fan-in index must agree on it.
func (t *Target) fieldType(c *schema.Column) (string, error) {
	return esdoc.FieldShape(t.pol, c, t.opts)
}

// fanInDDL translates the changes of a statement that concern fan-in shards as a whole
// (TRUNCATE, DROP TABLE, CREATE OR REPLACE, RENAME TABLE, DROP DATABASE), or checks an
// ALTER / CREATE TABLE of a shard against the other shards of its index. done reports
// that actions are the whole translation of ch.
func (t *Target) fanInDDL(ch ddl.Change, before ddl.Tables) (actions []ddlAction, done bool, err error) {
	cat, _ := before.(ddl.Catalog)
	switch c := ch.(type) {
	case *ddl.TruncateTable:
		if rt := t.fanInRoute(c.Name); rt != nil {
			return []ddlAction{t.deleteShardAction("TRUNCATE TABLE "+c.Name.String(), rt, false)}, true, nil
		}
	case *ddl.DropTables:
		var plain []ddl.TableName
		for _, n := range c.Names {
			if rt := t.fanInRoute(n); rt != nil {
				actions = append(actions, t.deleteShardAction("DROP TABLE "+n.String(), rt, true))
			} else {
				plain = append(plain, n)
			}
		}
		if len(actions) == 0 {
			return nil, false, nil
		}
		if len(plain) > 0 {
			rest, err := t.ddlActions(&ddl.DropTables{Names: plain, IfExists: c.IfExists}, before)
			if err != nil {
				return nil, true, err
			}
			actions = append(actions, rest...)
		}
		return actions, true, nil
	case *ddl.DropDatabase:
		var names []ddl.TableName
		for n := range cat {
			if n.Schema == c.Name && t.fanInRoute(n) != nil {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return nil, false, nil
		}
		slices.SortFunc(names, func(a, b ddl.TableName) int { return strings.Compare(a.String(), b.String()) })
		rest := ddl.Catalog{}
		for n, def := range cat {
			if t.fanInRoute(n) == nil {
				rest[n] = def
			}
		}
		for _, n := range names {
			actions = append(actions, t.deleteShardAction("DROP DATABASE "+c.Name, t.fanInRoute(n), true))
		}
		more, err := t.ddlActions(ch, rest)
		if err != nil {
			return nil, true, err
		}
		return append(actions, more...), true, nil
	case *ddl.CreateTable:
		name := ddl.TableName{Schema: c.Table.Schema, Name: c.Table.Name}
		rt := t.fanInRoute(name)
		if rt == nil {
			return nil, false, nil
		}
		var old *schema.Table
		if cat != nil {
			old = cat.Lookup(name.Schema, name.Name)
		}
		if err := t.checkFanInShape(rt, cat, name, old, c.Table); err != nil {
			return nil, true, err
		}
		if c.OrReplace {
			return []ddlAction{t.deleteShardAction("CREATE OR REPLACE TABLE "+name.String(), rt, true)}, true, nil
		}
		return nil, true, nil
	case *ddl.CreateTableLike:
		if rt := t.fanInRoute(c.Name); rt != nil && c.OrReplace {
			return []ddlAction{t.deleteShardAction("CREATE OR REPLACE TABLE "+c.Name.String(), rt, true)}, true, nil
		}
	case *ddl.RenameTables:
		return t.fanInRename(c, cat)
	case *ddl.AlterTable:
		rt := t.fanInRoute(c.Name)
		if rt == nil {
			return nil, false, nil
		}
		for _, s := range c.Specs {
			if r, ok := s.(*ddl.RenameTable); ok {
				return nil, true, fmt.Errorf("tables[%d]: ALTER TABLE %s RENAME TO %s: a source table of the fan-in index %s renamed with ALTER TABLE; rename it with RENAME TABLE on its own", rt.Index(), c.Name, r.To, rt.TargetName())
			}
			if add, ok := s.(*ddl.AddColumn); ok && rt.Replicates(add.Column.Name) &&
				(add.Column.AutoIncrement || add.Column.Generated != "" || add.Default.Kind == ddl.DefaultExpression || add.Default.Kind == ddl.DefaultCurrentTimestamp) {
				return nil, true, fmt.Errorf("tables[%d]: ALTER TABLE %s ADD COLUMN %s: the source computes the column's values for the existing rows (AUTO_INCREMENT, generated, or an expression default), which only an online copy brings in, and a shard of the fan-in index %s cannot be copied online; add it with a constant default or NULL, or take a new snapshot", rt.Index(), c.Name, add.Column.Name, rt.TargetName())
			}
		}
		if _, err := rt.Transforms().MapAlter(c.Name.String(), c.Specs); err != nil {
			return nil, true, err
		}
		if cat == nil {
			return nil, true, nil
		}
		old := cat.Lookup(c.Name.Schema, c.Name.Name)
		if old == nil {
			return nil, true, nil
		}
		nu, err := ddl.ApplyAlter(old, c)
		if err != nil {
			return nil, true, nil // the tracker refuses it with its own reason
		}
		return nil, true, t.checkFanInShape(rt, cat, c.Name, old, nu)
	}
	return nil, false, nil
}

// checkFanInShape is route.Route.CheckFanInChange of a change of shard name (from old,
// nil for a table created, to nu) against the other shards of its index as tracked in
// cat.
func (t *Target) checkFanInShape(rt *route.Route, cat ddl.Catalog, name ddl.TableName, old, nu *schema.Table) error {
	return rt.CheckFanInChange(old, nu, t.routes.FanInPeers(rt, cat, name), t.fieldType)
}

// checkFanInPlans refuses a snapshot of shards whose definitions one index cannot hold
// together (route.Route.SameShape), naming both tables.
func (t *Target) checkFanInPlans(plans []*plan.Table) error {
	first := map[string]*plan.Table{} // index -> its first shard
	for _, p := range plans {
		rt, err := t.route(p.Table)
		if err != nil || rt.FanIn() == "" {
			continue
		}
		f, ok := first[rt.TargetName()]
		if !ok {
			first[rt.TargetName()] = p
			continue
		}
		if err := rt.SameShape(f.Table, p.Table, t.fieldType); err != nil {
			return err
		}
	}
	return nil
}

// fanInRename moves the documents of shards renamed onto other names of the same fan-in
// rule to their new ids. A rename into or out of a fan-in index is refused: the documents
// would have to move between indexes.
func (t *Target) fanInRename(c *ddl.RenameTables, cat ddl.Catalog) ([]ddlAction, bool, error) {
	touched := false
	for _, p := range c.Pairs {
		if t.fanInRoute(p.From) != nil || t.fanInRoute(p.To) != nil {
			touched = true
		}
	}
	if !touched {
		return nil, false, nil
	}
	var actions []ddlAction
	for _, p := range c.Pairs {
		from, to := t.fanInRoute(p.From), t.fanInRoute(p.To)
		if from == nil || to == nil || from.Index() != to.Index() || from.TargetName() != to.TargetName() {
			rt := from
			if rt == nil {
				rt = to
			}
			return nil, true, fmt.Errorf("tables[%d]: RENAME TABLE %s TO %s moves a table into or out of the fan-in index %s (rule %q); a statement renaming fan-in source tables may only rename them onto other names of the same index: copy the table under its new rule instead (replicator snapshot)", rt.Index(), p.From, p.To, rt.TargetName(), rt.Source())
		}
		actions = append(actions, ddlAction{what: fmt.Sprintf("RENAME TABLE %s TO %s", p.From, p.To), versioned: func(ctx context.Context, version int64) error {
			return t.moveShard(ctx, from, to, version)
		}})
	}
	return actions, true, nil
}

// deleteShardAction deletes the documents of one shard from its fan-in index; dropped
// says the table went (DROP), which target.elasticsearch.on_drop = "keep" keeps them for.
func (t *Target) deleteShardAction(stmt string, rt *route.Route, dropped bool) ddlAction {
	return ddlAction{what: stmt, versioned: func(ctx context.Context, version int64) error {
		if dropped && t.cfg.Target.Elasticsearch.OnDrop == "keep" {
			t.log.Info("the documents of a dropped shard are kept (target.elasticsearch.on_drop = \"keep\")", "table", rt.SourceValue(), "index", rt.ESIndex())
			return nil
		}
		n, err := t.rewriteShard(ctx, rt, nil, version)
		if err != nil {
			return fmt.Errorf("delete the documents of %s from index %s: %w", rt.SourceValue(), rt.ESIndex(), err)
		}
		t.log.Info("deleted the documents of one shard of a fan-in index", "statement", stmt, "index", rt.ESIndex(), "documents", n)
		return nil
	}}
}

// moveShard gives the documents of shard from the source value and ids of shard to.
func (t *Target) moveShard(ctx context.Context, from, to *route.Route, version int64) error {
	n, err := t.rewriteShard(ctx, from, to, version)
	if err != nil {
		return fmt.Errorf("move the documents of %s to %s in index %s: %w", from.SourceValue(), to.SourceValue(), from.ESIndex(), err)
	}
	t.log.Info("moved the documents of a renamed shard of a fan-in index", "from", from.SourceValue(), "to", to.SourceValue(), "index", from.ESIndex(), "documents", n)
	return nil
}

// rewriteShard deletes every document of shard rt from its index, with version; with to
// set, each is first indexed again under the ids and source value of to. It lists the
// documents by the source field (after a refresh, so the batch's writes before the
// statement are seen), and can run again after a crash: what moved already is not
// listed any more, and an item done twice is the same item.
func (t *Target) rewriteShard(ctx context.Context, rt, to *route.Route, version int64) (int, error) {
	index := rt.ESIndex()
	cur, err := t.resolveName(ctx, index)
	if err != nil {
		return 0, err
	}
	if !cur.exists() {
		return 0, nil
	}
	indexJSON := mapping.AppendJSONString(nil, index)
	if !cur.Legacy {
		w, err := t.writeAlias(ctx, index)
		if err != nil {
			return 0, err
		}
		indexJSON = append(mapping.AppendJSONString(nil, w), `,"require_alias":true`...)
	}
	if _, err := call(ctx, t.es, http.MethodPost, indexPath(index)+"/_refresh", nil, nil, nil); err != nil {
		return 0, fmt.Errorf("refresh index %s: %w", index, err)
	}
	field := rt.FanIn()
	type page struct {
		ScrollID string `json:"_scroll_id"`
		Hits     struct {
			Hits []struct {
				ID     string                     `json:"_id"`
				Source map[string]json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	search := map[string]any{"size": 2000, "sort": []string{"_doc"}, "query": map[string]any{"term": map[string]any{field: rt.SourceValue()}}}
	filter := "_scroll_id,hits.hits._id"
	if to != nil {
		filter += ",hits.hits._source"
	} else {
		search["_source"] = false
	}
	query, _ := json.Marshal(search)
	var pg page
	if _, err := call(ctx, t.es, http.MethodPost, indexPath(index)+"/_search", url.Values{"scroll": {"1m"}, "filter_path": {filter}}, query, &pg); err != nil {
		return 0, fmt.Errorf("list the documents of %s: %w", rt.SourceValue(), err)
	}
	defer func() {
		if pg.ScrollID != "" {
			body, _ := json.Marshal(map[string]any{"scroll_id": pg.ScrollID})
			_, _ = call(ctx, t.es, http.MethodDelete, "/_search/scroll", nil, body, nil, http.StatusNotFound)
		}
	}()
	where := "fan-in shard " + rt.SourceValue()
	var newValue []byte
	if to != nil {
		newValue = mapping.AppendJSONString(nil, to.SourceValue())
	}
	n := 0
	for len(pg.Hits.Hits) > 0 {
		body := getBody()
		var bodies []*bulkBody
		emit := func(b *bulkBody) error { bodies = append(bodies, b); return nil }
		for _, h := range pg.Hits.Hits {
			if to != nil {
				id, err := esdoc.FanInID(h.ID, rt.SourceValue(), to.SourceValue())
				if err != nil {
					putBody(body)
					return n, fmt.Errorf("document %q: %w", h.ID, err)
				}
				h.Source[field] = newValue
				doc, err := json.Marshal(h.Source)
				if err != nil {
					putBody(body)
					return n, fmt.Errorf("document %q: %w", h.ID, err)
				}
				body.begin("index", indexJSON, []byte(id), version)
				body.buf = append(append(body.buf, doc...), '\n')
				if err := placeLast(&body, t.bulk, rt.SourceValue(), []byte(id), emit); err != nil {
					putBody(body)
					return n, err
				}
			}
			body.begin("delete", indexJSON, []byte(h.ID), version)
			if err := placeLast(&body, t.bulk, rt.SourceValue(), []byte(h.ID), emit); err != nil {
				putBody(body)
				return n, err
			}
			n++
		}
		if body.len() > 0 {
			bodies = append(bodies, body)
		} else {
			putBody(body)
		}
		// In order, one at a time: a document's new copy goes before its delete.
		for i, b := range bodies {
			if _, err := t.sendBulk(ctx, b, where); err != nil {
				for _, rest := range bodies[i+1:] {
					putBody(rest)
				}
				return n, err
			}
		}
		scroll, _ := json.Marshal(map[string]string{"scroll": "1m", "scroll_id": pg.ScrollID})
		pg.Hits.Hits = nil
		if _, err := call(ctx, t.es, http.MethodPost, "/_search/scroll", url.Values{"filter_path": {filter}}, scroll, &pg); err != nil {
			return n, fmt.Errorf("list the documents of %s: %w", rt.SourceValue(), err)
		}
	}
	return n, nil
}
