package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// addedDefault is a column that ADD COLUMN gave a constant default: the source wrote that
// value into every row the table had, so every document written before the statement gets
// it too.
type addedDefault struct {
	def    *schema.Table // the table after the statement
	column string
	value  string // the default as the column stores it (canonical text)
	gtid   string // the statement's
}

// addedDefaults lists the ADD COLUMN ... DEFAULT <constant> of replicated columns in a
// batch's schema changes. A NULL default needs nothing (a missing field reads as null);
// CURRENT_TIMESTAMP and expression defaults have values the statement does not carry
// (verify reports those rows until they are written again, as the README says).
func (t *Target) addedDefaults(schemas []*ddl.SchemaChange) []addedDefault {
	var out []addedDefault
	for i, sc := range schemas {
		for _, st := range sc.Steps {
			alter, ok := st.Change.(*ddl.AlterTable)
			if !ok {
				continue
			}
			def := tableNamed(sc.Tables, alter.Name)
			if def == nil || goneLater(schemas[i+1:], def.QualifiedName()) {
				continue // dropped or renamed later in the batch: its index is not this table's any more
			}
			rt := t.routes.For(def.Schema, def.Name)
			if rt == nil {
				continue
			}
			for _, spec := range alter.Specs {
				add, ok := spec.(*ddl.AddColumn)
				if !ok || add.Default.Kind != ddl.DefaultLiteral || !rt.Replicates(add.Column.Name) || def.ColumnIndex(add.Column.Name) < 0 {
					continue
				}
				out = append(out, addedDefault{def: def, column: def.Columns[def.ColumnIndex(add.Column.Name)].Name, value: add.Default.Value, gtid: sc.GTID})
			}
		}
	}
	return out
}

// goneLater reports whether a later schema change of the batch drops or renames the table.
func goneLater(later []*ddl.SchemaChange, table string) bool {
	for _, sc := range later {
		for _, d := range sc.Dropped {
			if strings.EqualFold(d, table) {
				return true
			}
		}
	}
	return false
}

func tableNamed(tables []*schema.Table, n ddl.TableName) *schema.Table {
	for _, tb := range tables {
		if strings.EqualFold(tb.Schema, n.Schema) && strings.EqualFold(tb.Name, n.Name) {
			return tb
		}
	}
	return nil
}

// fillDefault gives every document of the table's index that lacks the added column's
// field (written before the ADD COLUMN) the column's default, by partial updates. It runs
// after the batch's writes are acknowledged and before the checkpoint moves: a document
// written after the statement carries the field (null included) and is left alone, and a
// replay after a crash finds the filled documents carrying it. An update bumps a
// document's version by one, which stays at or below the version of every later change.
func (t *Target) fillDefault(ctx context.Context, ad addedDefault) error {
	gtid := ad.gtid
	index, err := t.indexOf(ad.def)
	if err != nil {
		return err
	}
	if info, err := t.inspectIndex(ctx, index); err != nil {
		return err
	} else if !info.Exists {
		return nil // no documents to fill (and no index to create for them)
	}
	p, err := t.plan(ctx, ad.def) // maps the new field; its writes go to the write alias
	if err != nil {
		return err
	}
	rt, err := t.route(ad.def)
	if err != nil {
		return err
	}
	// A fan-in shard's own documents only: the other shards get the default with their
	// own ADD COLUMN.
	only := map[string]any{"match_all": map[string]any{}}
	if rt.FanIn() != "" {
		only = map[string]any{"term": map[string]any{rt.FanIn(): rt.SourceValue()}}
	} else if other, err := t.otherTableOf(ctx, index, ad.def.QualifiedName()); err != nil {
		return err
	} else if other != "" {
		t.log.Warn("ADD COLUMN with a default: documents written before it are left without the field, because index "+index+" also holds "+other+"'s documents",
			"table", ad.def.QualifiedName(), "column", ad.column, "gtid", gtid)
		return nil
	}
	// The field and the value as the documents hold them (a rule's rename and hash).
	col, value, err := t.targetField(ad.def, ad.column, []byte(ad.value))
	if err != nil {
		return err
	}
	one := &schema.Table{Schema: ad.def.Schema, Name: ad.def.Name, Columns: []schema.Column{col}}
	doc, err := esdoc.NewEncoder(t.pol, one, []int{0}, t.opts).AppendDoc(nil, change.Row{value}, change.Origin{})
	if err != nil {
		return fmt.Errorf("default %q of the column %s added to %s at GTID %s: %w", ad.value, ad.column, ad.def.QualifiedName(), gtid, err)
	}
	if _, err := call(ctx, t.es, http.MethodPost, indexPath(index)+"/_refresh", nil, nil, nil); err != nil {
		return fmt.Errorf("refresh index %s: %w", index, err)
	}
	type page struct {
		ScrollID string `json:"_scroll_id"`
		Hits     struct {
			Hits []struct {
				ID     string                     `json:"_id"`
				Source map[string]json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	query, _ := json.Marshal(map[string]any{
		"size": 2000, "sort": []string{"_doc"}, "_source": []string{col.Name},
		"query": map[string]any{"bool": map[string]any{"filter": only, "must_not": map[string]any{"exists": map[string]any{"field": col.Name}}}},
	})
	q := url.Values{"scroll": {"1m"}, "filter_path": {"_scroll_id,hits.hits._id,hits.hits._source"}}
	var pg page
	if _, err := call(ctx, t.es, http.MethodPost, indexPath(index)+"/_search", q, query, &pg); err != nil {
		return fmt.Errorf("list documents of index %s without the field %s: %w", index, col.Name, err)
	}
	defer func() {
		if pg.ScrollID != "" {
			body, _ := json.Marshal(map[string]any{"scroll_id": pg.ScrollID})
			_, _ = call(ctx, t.es, http.MethodDelete, "/_search/scroll", nil, body, nil, http.StatusNotFound)
		}
	}()
	indexJSON := p.indexJSON
	filled := 0
	for len(pg.Hits.Hits) > 0 {
		var body []byte
		for _, h := range pg.Hits.Hits {
			if _, ok := h.Source[col.Name]; ok {
				continue // written after the statement with NULL: not a missing field
			}
			body = append(body, `{"update":{"_index":`...)
			body = append(body, indexJSON...)
			body = append(body, `,"_id":`...)
			body = mapping.AppendJSONString(body, h.ID)
			body = append(body, "}}\n{\"doc\":"...)
			body = append(body, doc...)
			body = append(body, "}\n"...)
			filled++
		}
		if len(body) > 0 {
			var res struct {
				Errors bool                        `json:"errors"`
				Items  []map[string]bulkItemResult `json:"items"`
			}
			if _, err := call(ctx, t.es, http.MethodPost, "/_bulk", bulkQuery, body, &res); err != nil {
				return fmt.Errorf("set the default of the column %s added to %s (GTID %s) in index %s: %w", col.Name, ad.def.QualifiedName(), gtid, index, err)
			}
			if res.Errors {
				for _, it := range res.Items {
					for _, r := range it {
						if r.Error != nil && r.Status != http.StatusNotFound { // deleted meanwhile: nothing to fill
							return fmt.Errorf("set the default of the column %s added to %s (GTID %s) in index %s: HTTP %d %s",
								col.Name, ad.def.QualifiedName(), gtid, index, r.Status, r.reason())
						}
					}
				}
			}
		}
		scroll, _ := json.Marshal(map[string]string{"scroll": "1m", "scroll_id": pg.ScrollID})
		pg.Hits.Hits = nil
		if _, err := call(ctx, t.es, http.MethodPost, "/_search/scroll", url.Values{"filter_path": {"_scroll_id,hits.hits._id,hits.hits._source"}}, scroll, &pg); err != nil {
			return fmt.Errorf("list documents of index %s without the field %s: %w", index, col.Name, err)
		}
	}
	t.log.Info("ADD COLUMN with a default: documents written before it got the default", "table", ad.def.QualifiedName(), "column", col.Name,
		"index", index, "documents", filled, "gtid", gtid)
	return nil
}

// otherTableOf names another table of the snapshot whose documents share index, or "".
func (t *Target) otherTableOf(ctx context.Context, index, table string) (string, error) {
	tables, _, err := t.state.tables(ctx)
	if err != nil {
		return "", err
	}
	for name, td := range tables {
		if name != table && td.Index == index {
			return name, nil
		}
	}
	return "", nil
}
