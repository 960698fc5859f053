package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// indexInfo is what the replicator reads of an existing index.
type indexInfo struct {
	Exists bool
	// Properties are the mapped top-level fields.
	Properties map[string]json.RawMessage
	// Meta is the mapping's _meta.replicator, set on indexes the replicator created or
	// put into snapshot mode.
	Meta *indexMeta
	// otherMeta is the rest of _meta, kept when _meta.replicator changes (Elasticsearch
	// replaces _meta as a whole).
	otherMeta map[string]json.RawMessage
}

// indexMeta is kept in the index mapping's _meta.replicator.
type indexMeta struct {
	Source string `json:"source"`
	Name   string `json:"name"`
	// State is the state index of the replicator that made the index: with Name, whose
	// generations it may delete once no alias points to them (alias.go).
	State string `json:"state,omitempty"`
	// Restore holds the settings to put back after the snapshot, written when the index
	// entered snapshot mode, so a crash during the snapshot's start does not take the
	// snapshot settings for the user's. It is only trusted while refresh is still off.
	Restore *indexSettings `json:"restore,omitempty"`
}

func indexPath(index string) string { return "/" + url.PathEscape(index) }

// inspectIndex reads an index's mapping; Exists is false when there is no such index.
func (t *Target) inspectIndex(ctx context.Context, index string) (*indexInfo, error) {
	var res map[string]struct {
		Mappings struct {
			Meta       map[string]json.RawMessage `json:"_meta"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	code, err := call(ctx, t.es, http.MethodGet, indexPath(index)+"/_mapping", nil, nil, &res, http.StatusNotFound)
	if err != nil {
		return nil, fmt.Errorf("read mapping of index %s: %w", index, err)
	}
	if code == http.StatusNotFound {
		return &indexInfo{}, nil
	}
	info := &indexInfo{Exists: true, Properties: map[string]json.RawMessage{}, otherMeta: map[string]json.RawMessage{}}
	for _, m := range res { // one entry, named after the concrete index (index may be an alias)
		for k, v := range m.Mappings.Properties {
			info.Properties[k] = v
		}
		for k, v := range m.Mappings.Meta {
			if k != "replicator" {
				info.otherMeta[k] = v
				continue
			}
			var rm indexMeta
			if json.Unmarshal(v, &rm) == nil {
				info.Meta = &rm
			}
		}
	}
	return info, nil
}

// putMeta sets _meta.replicator of an index, keeping the rest of its _meta.
func (t *Target) putMeta(ctx context.Context, index string, info *indexInfo, meta indexMeta) error {
	all := map[string]any{"replicator": meta}
	for k, v := range info.otherMeta {
		all[k] = v
	}
	body, err := json.Marshal(map[string]any{"_meta": all})
	if err != nil {
		return err
	}
	if _, err := call(ctx, t.es, http.MethodPut, indexPath(index)+"/_mapping", nil, body, nil); err != nil {
		return fmt.Errorf("update _meta of index %s: %w", index, err)
	}
	info.Meta = &meta
	return nil
}

// properties is the mapping of a table's replicated columns, under the [mapping] rules and
// its [[tables]] rule's field_types; under the rule's column transforms, the fields of its
// view (renamed, hashed, metadata), which the route makes of def itself.
func (t *Target) properties(def *schema.Table, cols []int) (map[string]any, error) {
	rt, err := t.route(def)
	if err != nil {
		return nil, err
	}
	var props map[string]any
	if rt.Transforms() == nil {
		props, err = esdoc.Properties(t.pol, def, cols, t.opts, rt.FieldType)
	} else {
		v, verr := rt.View(def)
		if verr != nil {
			return nil, verr
		}
		props, err = esdoc.ViewProperties(t.pol, v, t.opts, rt.FieldType)
	}
	if err == nil && rt.Deletes() == config.DeletesSoft {
		addMarkerFields(props)
	}
	return props, err
}

// createIndex creates the concrete index of a table behind its alias index (the name its
// rule gives), the next generation of it (see alias.go), in one request, so the alias
// exists the moment the index does. The mapping is derived from the table's columns and
// unknown fields are rejected (dynamic: strict), so a column the mapping lacks surfaces as
// an error instead of a guessed type. The index gets the settings the cluster's index
// templates give its concrete name; when no template sets its replicas,
// auto_expand_replicas "0-1" (one replica once a second node can hold it, none on a single
// node, which stays green) instead of Elasticsearch's fixed one. The snapshot puts it into
// snapshot mode afterwards (prepareNewIndex), so the settings to restore are the index's
// own.
func (t *Target) createIndex(ctx context.Context, index string, def *schema.Table, cols []int) error {
	if p := route.ESNameProblem(index); p != "" {
		return fmt.Errorf("table %s: %s: set target in its [[tables]] rule to a valid name", def.QualifiedName(), p)
	}
	concrete, err := t.nextGeneration(ctx, index)
	if err != nil {
		return err
	}
	return t.createConcrete(ctx, concrete, index, def, cols, nil)
}

// indexCopy is what a new generation takes over from the index it replaces: the mapping
// as it is (fields added since, a user's own mapping of a field) and the settings a user
// may have chosen.
type indexCopy struct {
	Mappings json.RawMessage
	Settings map[string]any
}

// createConcrete creates concrete index concrete, with alias alias unless it is "", mapped
// like from when from is not nil.
func (t *Target) createConcrete(ctx context.Context, concrete, alias string, def *schema.Table, cols []int, from *indexCopy) error {
	settings := map[string]any{}
	var mappings any
	if from != nil {
		settings = from.Settings
		m, err := t.withOwnMeta(from.Mappings, def)
		if err != nil {
			return fmt.Errorf("create index %s: %w", concrete, err)
		}
		mappings = m
	} else {
		m, err := t.mappingsOf(def, cols)
		if err != nil {
			return err
		}
		mappings = m
		if !t.templateSetsReplicas(ctx, concrete) {
			settings["auto_expand_replicas"] = defaultAutoExpandReplicas
		}
	}
	t.forgetGenWrite(concrete)
	aliases := map[string]any{newWriteAlias(concrete): map[string]any{}}
	if alias != "" {
		aliases[alias] = map[string]any{}
	}
	req := map[string]any{"settings": settings, "mappings": mappings, "aliases": aliases}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := call(ctx, t.es, http.MethodPut, indexPath(concrete), nil, body, nil); err != nil {
		table := "a table"
		if def != nil {
			table = def.QualifiedName()
		}
		if alias != "" {
			return fmt.Errorf("create index %s (alias %s) for %s: %w", concrete, alias, table, err)
		}
		return fmt.Errorf("create index %s for %s: %w", concrete, table, err)
	}
	return nil
}

// withOwnMeta is a mapping taken over from another index with _meta.replicator naming
// this replicator (the index it was taken from may be a user's, or an earlier version's),
// so that the new index is known as its own (unusedGenerations). The source table stays
// the old index's when def is nil.
func (t *Target) withOwnMeta(mappings json.RawMessage, def *schema.Table) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(mappings, &m); err != nil {
		return nil, fmt.Errorf("decode the mapping to take over: %w", err)
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	meta := map[string]json.RawMessage{}
	if raw, ok := m["_meta"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil || meta == nil {
			meta = map[string]json.RawMessage{}
		}
	}
	var own indexMeta
	if raw, ok := meta["replicator"]; ok {
		_ = json.Unmarshal(raw, &own) // not ours to read: replaced below
	}
	if def != nil {
		own.Source = def.QualifiedName()
	}
	own.Name, own.State, own.Restore = t.cfg.State.Name, t.cfg.State.Index, nil
	var err error
	if meta["replicator"], err = json.Marshal(own); err != nil {
		return nil, err
	}
	if m["_meta"], err = json.Marshal(meta); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// mappingsOf is the mapping the configuration gives a new index of def.
func (t *Target) mappingsOf(def *schema.Table, cols []int) (map[string]any, error) {
	props, err := t.properties(def, cols)
	if err != nil {
		return nil, err
	}
	meta := &indexMeta{Source: def.QualifiedName(), Name: t.cfg.State.Name, State: t.cfg.State.Index}
	return map[string]any{"dynamic": "strict", "_meta": map[string]any{"replicator": meta}, "properties": props}, nil
}

// defaultAutoExpandReplicas is the replica setting of an index the replicator creates where
// no index template sets one (the state index has it too).
const defaultAutoExpandReplicas = "0-1"

// prepareNewIndex creates an index for the snapshot and puts it into snapshot mode,
// returning the settings it had when created (its templates'), which FinishTable restores.
func (t *Target) prepareNewIndex(ctx context.Context, index string, def *schema.Table, cols []int) (indexSettings, error) {
	if err := t.createIndex(ctx, index, def, cols); err != nil {
		return indexSettings{}, err
	}
	info, err := t.inspectIndex(ctx, index) // the _meta a template may have added
	if err != nil {
		return indexSettings{}, err
	}
	return t.enterSnapshotMode(ctx, index, info, def)
}

// templateSetsReplicas reports whether an index template would set the replicas of a new
// index of this name (number_of_replicas or auto_expand_replicas): the composable
// template that matches it, or, when none does, a legacy one. When the templates cannot
// be read (no privilege), the answer is yes: the cluster's own rules are left alone.
func (t *Target) templateSetsReplicas(ctx context.Context, index string) bool {
	var sim struct {
		Template *struct {
			Settings struct {
				Index map[string]any `json:"index"`
			} `json:"settings"`
		} `json:"template"`
	}
	if _, err := call(ctx, t.es, http.MethodPost, "/_index_template/_simulate_index/"+url.PathEscape(index), nil, nil, &sim); err != nil {
		t.log.Debug("could not read the index templates; new indexes get the cluster's replica default", "index", index, "error", err)
		return true
	}
	if sim.Template != nil { // a composable template matches: legacy ones do not apply
		return hasReplicaSetting(sim.Template.Settings.Index)
	}
	var legacy map[string]struct {
		Patterns []string       `json:"index_patterns"`
		Settings map[string]any `json:"settings"`
	}
	q := url.Values{"flat_settings": {"true"}}
	if _, err := call(ctx, t.es, http.MethodGet, "/_template", q, nil, &legacy); err != nil {
		t.log.Debug("could not read the legacy index templates; new indexes get the cluster's replica default", "index", index, "error", err)
		return true
	}
	for _, tpl := range legacy {
		for _, p := range tpl.Patterns {
			if simpleMatch(p, index) && (tpl.Settings["index.number_of_replicas"] != nil || tpl.Settings["index.auto_expand_replicas"] != nil) {
				return true
			}
		}
	}
	return false
}

func hasReplicaSetting(index map[string]any) bool {
	return index["number_of_replicas"] != nil || index["auto_expand_replicas"] != nil
}

// simpleMatch is Elasticsearch's index pattern match: '*' matches any run of characters,
// everything else itself.
func simpleMatch(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:star]) {
		return false
	}
	s, pattern = s[star:], pattern[star+1:]
	if pattern == "" {
		return true
	}
	for i := 0; i <= len(s); i++ {
		if simpleMatch(pattern, s[i:]) {
			return true
		}
	}
	return false
}

// copyOf reads what a new generation of index takes over from it: its mapping and the
// settings of shards, replicas, refresh and analysis (which a mapping may name).
func (t *Target) copyOf(ctx context.Context, index string) (*indexCopy, error) {
	var m map[string]struct {
		Mappings json.RawMessage `json:"mappings"`
	}
	if _, err := call(ctx, t.es, http.MethodGet, indexPath(index)+"/_mapping", nil, nil, &m); err != nil {
		return nil, fmt.Errorf("read mapping of index %s: %w", index, err)
	}
	var s map[string]struct {
		Settings struct {
			Index map[string]json.RawMessage `json:"index"`
		} `json:"settings"`
	}
	if _, err := call(ctx, t.es, http.MethodGet, indexPath(index)+"/_settings", nil, nil, &s); err != nil {
		return nil, fmt.Errorf("read settings of index %s: %w", index, err)
	}
	c := &indexCopy{Settings: map[string]any{}}
	for _, v := range m { // one entry, named after the concrete index
		c.Mappings = v.Mappings
	}
	for _, v := range s {
		for _, k := range []string{"number_of_shards", "number_of_replicas", "auto_expand_replicas", "refresh_interval", "analysis"} {
			if raw, ok := v.Settings.Index[k]; ok {
				c.Settings[k] = raw
			}
		}
	}
	if c.Mappings == nil {
		return nil, fmt.Errorf("read mapping of index %s: no mapping in the answer", index)
	}
	return c, nil
}

// addMissingFields maps the replicated columns an existing index lacks (a column added at
// the source, or an index created beforehand). Existing fields are left as they are:
// a user's own mapping of a column wins, and Elasticsearch cannot change a field's type in
// place. Fields mapped otherwise than this version maps them (an index created by an older
// version, or by hand) are named in a warning with the way to the new mapping.
func (t *Target) addMissingFields(ctx context.Context, index string, info *indexInfo, def *schema.Table, cols []int) error {
	props, err := t.properties(def, cols)
	if err != nil {
		return err
	}
	if diff := mappingDiff(info.Properties, props); len(diff) > 0 {
		t.log.Warn("index maps fields otherwise than this version would; they keep their mapping (Elasticsearch cannot change a field's type in place): "+
			"to take the new mapping, snapshot the table again into a new index (snapshot.on_existing = \"recreate\", or delete the index and its checkpoint)",
			"index", index, "table", def.QualifiedName(), "fields", diff)
	}
	missing := map[string]any{}
	var names []string
	for name, f := range props {
		if _, ok := info.Properties[name]; !ok {
			missing[name] = f
			names = append(names, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(names)
	body, err := json.Marshal(map[string]any{"properties": missing})
	if err != nil {
		return err
	}
	if _, err := call(ctx, t.es, http.MethodPut, indexPath(index)+"/_mapping", nil, body, nil); err != nil {
		return fmt.Errorf("add fields %v to index %s: %w", names, index, err)
	}
	t.log.Info("mapped new fields", "index", index, "table", def.QualifiedName(), "fields", names)
	for name, f := range missing {
		raw, _ := json.Marshal(f)
		info.Properties[name] = raw
	}
	return nil
}

// mappingDiff lists the fields of have whose mapping differs from want's, each as
// "name: have -> want" in short form (type and subfields), sorted.
func mappingDiff(have map[string]json.RawMessage, want map[string]any) []string {
	var out []string
	for name, w := range want {
		raw, ok := have[name]
		if !ok {
			continue
		}
		var h, wn map[string]any
		wb, _ := json.Marshal(w)
		if json.Unmarshal(raw, &h) != nil || json.Unmarshal(wb, &wn) != nil || reflect.DeepEqual(h, wn) {
			continue
		}
		out = append(out, name+": "+shortField(h)+" -> "+shortField(wn))
	}
	sort.Strings(out)
	return out
}

// shortField shows a field mapping as its type with its subfields ("text+keyword"), and
// its parameters when only they differ from another's.
func shortField(f map[string]any) string {
	s, _ := f["type"].(string)
	if s == "" {
		s = "object"
	}
	if sub, ok := f["fields"].(map[string]any); ok {
		names := make([]string, 0, len(sub))
		for n := range sub {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			s += "+" + n
		}
	}
	rest := map[string]any{}
	for k, v := range f {
		if k != "type" && k != "fields" {
			rest[k] = v
		}
	}
	if len(rest) > 0 {
		b, _ := json.Marshal(rest)
		s += " " + string(b)
	}
	return s
}

// currentSettings reads the explicitly set values of the settings the snapshot changes.
func (t *Target) currentSettings(ctx context.Context, index string) (indexSettings, error) {
	var res map[string]struct {
		Settings map[string]string `json:"settings"`
	}
	q := url.Values{"flat_settings": {"true"}}
	if _, err := call(ctx, t.es, http.MethodGet, indexPath(index)+"/_settings/index.refresh_interval,index.number_of_replicas,index.auto_expand_replicas", q, nil, &res); err != nil {
		return indexSettings{}, fmt.Errorf("read settings of index %s: %w", index, err)
	}
	var s indexSettings
	for _, v := range res {
		if r, ok := v.Settings["index.refresh_interval"]; ok {
			s.RefreshInterval = &r
		}
		if r, ok := v.Settings["index.number_of_replicas"]; ok {
			s.NumberOfReplicas = &r
		}
		if r, ok := v.Settings["index.auto_expand_replicas"]; ok {
			s.AutoExpandReplicas = &r
		}
	}
	return s, nil
}

// enterSnapshotMode turns refresh and replicas off on an index for the load and
// returns the settings to restore, which it also records in the index's _meta. An index
// still in snapshot mode from an earlier start (refresh off and settings recorded) keeps
// the recorded settings, so the snapshot's own are never taken for the user's.
func (t *Target) enterSnapshotMode(ctx context.Context, index string, info *indexInfo, def *schema.Table) (indexSettings, error) {
	cur, err := t.currentSettings(ctx, index)
	if err != nil {
		return indexSettings{}, err
	}
	restore := cur
	if info.Meta != nil && info.Meta.Restore != nil && cur.RefreshInterval != nil && *cur.RefreshInterval == "-1" {
		restore = *info.Meta.Restore
	} else if err := t.putMeta(ctx, index, info, indexMeta{Source: def.QualifiedName(), Name: t.cfg.State.Name, State: t.cfg.State.Index, Restore: &restore}); err != nil {
		return restore, err
	}
	body := []byte(`{"index":{"refresh_interval":"-1","number_of_replicas":0,"auto_expand_replicas":"false"}}`)
	if _, err := call(ctx, t.es, http.MethodPut, indexPath(index)+"/_settings", nil, body, nil); err != nil {
		return restore, fmt.Errorf("prepare index %s for the snapshot: %w", index, err)
	}
	return restore, nil
}

// leaveSnapshotMode puts the recorded settings back (a setting the index did not have set
// goes back to the default, as null) and refreshes the index so the loaded documents are
// searchable at once.
func (t *Target) leaveSnapshotMode(ctx context.Context, index string, restore indexSettings) error {
	body, _ := json.Marshal(map[string]any{"index": restore})
	if _, err := call(ctx, t.es, http.MethodPut, indexPath(index)+"/_settings", nil, body, nil); err != nil {
		return fmt.Errorf("restore settings of index %s: %w", index, err)
	}
	if _, err := call(ctx, t.es, http.MethodPost, indexPath(index)+"/_refresh", nil, nil, nil); err != nil {
		return fmt.Errorf("refresh index %s: %w", index, err)
	}
	return nil
}

// countDocs refreshes an index and counts its documents.
func (t *Target) countDocs(ctx context.Context, index string) (int64, error) {
	if _, err := call(ctx, t.es, http.MethodPost, indexPath(index)+"/_refresh", nil, nil, nil); err != nil {
		return 0, fmt.Errorf("refresh index %s: %w", index, err)
	}
	var res struct {
		Count int64 `json:"count"`
	}
	if _, err := call(ctx, t.es, http.MethodGet, indexPath(index)+"/_count", nil, nil, &res); err != nil {
		return 0, fmt.Errorf("count documents of index %s: %w", index, err)
	}
	return res.Count, nil
}

// deleteAllDocs empties an index but keeps its mapping and settings (on_existing =
// "truncate"). It scrolls through the ids and deletes them in bulk, which every cluster
// can do (delete-by-query is a module some builds lack). The deleted documents' versions
// are remembered for index.gc_deletes, which only matters if the new snapshot's source
// position is older than theirs.
func (t *Target) deleteAllDocs(ctx context.Context, index string) error {
	if _, err := call(ctx, t.es, http.MethodPost, indexPath(index)+"/_refresh", nil, nil, nil); err != nil {
		return fmt.Errorf("refresh index %s: %w", index, err)
	}
	type page struct {
		ScrollID string `json:"_scroll_id"`
		Hits     struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	var pg page
	q := url.Values{"scroll": {"1m"}, "filter_path": {"_scroll_id,hits.hits._id"}}
	if _, err := call(ctx, t.es, http.MethodPost, indexPath(index)+"/_search", q,
		[]byte(`{"size":5000,"sort":["_doc"],"_source":false}`), &pg); err != nil {
		return fmt.Errorf("list documents of index %s: %w", index, err)
	}
	indexJSON := mapping.AppendJSONString(nil, index)
	deleted := 0
	for len(pg.Hits.Hits) > 0 {
		var body []byte
		for _, h := range pg.Hits.Hits {
			body = append(body, `{"delete":{"_index":`...)
			body = append(body, indexJSON...)
			body = append(body, `,"_id":`...)
			body = mapping.AppendJSONString(body, h.ID)
			body = append(body, "}}\n"...)
		}
		var res struct {
			Errors bool `json:"errors"`
		}
		if _, err := call(ctx, t.es, http.MethodPost, "/_bulk", url.Values{"filter_path": {"errors"}}, body, &res); err != nil || res.Errors {
			return fmt.Errorf("empty index %s: bulk delete failed: %v", index, err)
		}
		deleted += len(pg.Hits.Hits)
		scroll, _ := json.Marshal(map[string]string{"scroll": "1m", "scroll_id": pg.ScrollID})
		pg = page{}
		if _, err := call(ctx, t.es, http.MethodPost, "/_search/scroll", url.Values{"filter_path": {"_scroll_id,hits.hits._id"}}, scroll, &pg); err != nil {
			return fmt.Errorf("list documents of index %s: %w", index, err)
		}
	}
	if pg.ScrollID != "" {
		body, _ := json.Marshal(map[string]any{"scroll_id": pg.ScrollID})
		_, _ = call(ctx, t.es, http.MethodDelete, "/_search/scroll", nil, body, nil, http.StatusNotFound)
	}
	t.log.Info("emptied existing index (snapshot.on_existing = \"truncate\")", "index", index, "deleted", deleted)
	return nil
}

// deleteIndex deletes the indexes behind a table's index name (alias or legacy index).
func (t *Target) deleteIndex(ctx context.Context, index string) error { return t.dropName(ctx, index) }
