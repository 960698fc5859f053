package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// fkMaxChildren bounds the documents one action may change (one search page): a larger
// fan-out stops the stream with an error saying so rather than losing the rest.
const fkMaxChildren = 10000

// maxFKDepth bounds a chain of cascades (InnoDB stops at 15 levels).
const maxFKDepth = 64

// fkDoc is a document's fields as JSON values, by field (column) name.
type fkDoc map[string]json.RawMessage

// ApplyForeignKeyActions implements pipeline.ForeignKeyApplier. Elasticsearch has no
// statement that changes documents by a field's value inside a batch, and the batch sends
// nothing before Commit, so the children are found and rewritten here: the documents the
// batch already holds (its buffered writes, which supersede the index) and those the child
// index holds (refreshed, then searched by the foreign key fields' values). Each child
// document found is deleted, or written again with its foreign key fields changed, as a
// write of this batch with the batch's version, in stream order with the batch's other
// writes; its referenced fields continue the cascade. A change of a child's key (its _id)
// by ON UPDATE CASCADE is refused (README: foreign key actions).
func (b *Batch) ApplyForeignKeyActions(ctx context.Context, g *schema.FKGraph, acts []change.FKAction) error {
	for _, a := range acts {
		name := a.Parent.QualifiedName()
		var need []int
		for _, e := range g.Children(name) {
			for _, r := range e.RefCols {
				if !slices.Contains(need, r) {
					need = append(need, r)
				}
			}
		}
		enc := esdoc.NewEncoder(b.t.pol, a.Parent, need, b.t.opts)
		before, err := encodeFields(enc, a.Before)
		if err != nil {
			return fmt.Errorf("foreign key actions of a change of %s at GTID %s: %w", name, a.GTID, err)
		}
		var after fkDoc
		if a.After != nil {
			if after, err = encodeFields(enc, a.After); err != nil {
				return fmt.Errorf("foreign key actions of a change of %s at GTID %s: %w", name, a.GTID, err)
			}
		}
		b.fkTime = a.Time
		if err := b.cascade(ctx, g, a.Parent, before, after, a.After == nil, 0); err != nil {
			return fmt.Errorf("foreign key actions of a change of %s at GTID %s: %w", name, a.GTID, err)
		}
	}
	return nil
}

func encodeFields(enc *esdoc.Encoder, row [][]byte) (fkDoc, error) {
	doc, err := enc.AppendDoc(nil, row)
	if err != nil {
		return nil, err
	}
	var out fkDoc
	if err := json.Unmarshal(doc, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// cascade applies the actions of table's children for a document whose referenced fields
// were old and are now new (deleted when del).
func (b *Batch) cascade(ctx context.Context, g *schema.FKGraph, table *schema.Table, old, new fkDoc, del bool, depth int) error {
	if depth > maxFKDepth {
		return fmt.Errorf("foreign key actions nest deeper than %d levels at %s", maxFKDepth, table.QualifiedName())
	}
	for _, e := range g.Children(table.QualifiedName()) {
		action := e.OnUpdate()
		if del {
			action = e.OnDelete()
		}
		if action != "CASCADE" && action != "SET NULL" && action != "SET DEFAULT" {
			continue
		}
		match := fkDoc{}
		changed, skip := del, false
		for i, r := range e.RefCols {
			pn := table.Columns[r].Name
			v := old[pn]
			if isNull(v) {
				skip = true
				break
			}
			match[e.Child.Columns[e.Cols[i]].Name] = v
			if !del && !bytes.Equal(v, new[pn]) {
				changed = true
			}
		}
		if skip || !changed {
			continue
		}
		if err := b.childAction(ctx, g, &e, action, del, match, table, new, depth); err != nil {
			return fmt.Errorf("%s (%s: %s %s): %w", e.Child.QualifiedName(), e.FK.Name, map[bool]string{true: "ON DELETE", false: "ON UPDATE"}[del], action, err)
		}
	}
	return nil
}

// childDoc is a child document found for an action.
type childDoc struct {
	id  []byte
	src fkDoc
}

func (b *Batch) childAction(ctx context.Context, g *schema.FKGraph, e *schema.FKEdge, action string, del bool, match fkDoc, parent *schema.Table, parentNew fkDoc, depth int) error {
	child := e.Child
	if action == "SET DEFAULT" {
		return fmt.Errorf("SET DEFAULT is not applied to Elasticsearch (InnoDB refuses it; declare the foreign key RESTRICT, CASCADE or SET NULL)")
	}
	p, err := b.t.plan(ctx, child)
	if err != nil {
		return err
	}
	rt, err := b.t.route(child)
	if err != nil {
		return err
	}
	cols, err := rt.Columns(child)
	if err != nil {
		return err
	}
	for _, c := range e.Cols {
		if !slices.Contains(cols, c) {
			return fmt.Errorf("column %s is not replicated (excluded by the table's rule), so the action cannot be applied; replicate it or declare the foreign key RESTRICT", child.Columns[c].Name)
		}
		if !(del && action == "CASCADE") && slices.Contains(child.Key, c) {
			return fmt.Errorf("column %s is part of the document id (the table's key): a cascaded key change is not applied to Elasticsearch; declare the foreign key ON UPDATE RESTRICT and change the rows with statements, or replicate into PostgreSQL", child.Columns[c].Name)
		}
	}
	docs, err := b.findChildren(ctx, p, match)
	if err != nil {
		return err
	}
	mode := rt.Deletes()
	for _, d := range docs {
		if mode == config.DeletesSoft && markedDoc(d.src) {
			continue // marked deleted: not at the source, no action reaches it
		}
		if b.t.involved(child.QualifiedName()) {
			// Composed documents follow the child's change like one the binary log had.
			b.touchDoc(child, d.src)
		}
		if del && action == "CASCADE" {
			switch mode {
			case config.DeletesSoft:
				doc, err := orderedDoc(child, cols, d.src)
				if err != nil {
					return err
				}
				at := b.fkTime
				b.addRaw(p, d.id, appendMarkers(doc, &at), false)
			case config.DeletesIgnore:
				// The child keeps the document; its own children follow their rules.
			default:
				b.addRaw(p, d.id, nil, true)
			}
			if err := b.cascade(ctx, g, child, d.src, nil, true, depth+1); err != nil {
				return err
			}
			continue
		}
		now := fkDoc{}
		for k, v := range d.src {
			now[k] = v
		}
		for i, c := range e.Cols {
			v := json.RawMessage("null")
			if action == "CASCADE" {
				v = parentNew[parent.Columns[e.RefCols[i]].Name]
			}
			now[child.Columns[c].Name] = v
		}
		doc, err := orderedDoc(child, cols, now)
		if err != nil {
			return err
		}
		if mode == config.DeletesSoft {
			doc = appendMarkers(doc, nil)
		}
		b.addRaw(p, d.id, doc, false)
		if b.t.involved(child.QualifiedName()) {
			b.touchDoc(child, now)
		}
		if err := b.cascade(ctx, g, child, d.src, now, false, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// orderedDoc renders a document with its fields in column order, as the encoder writes it.
func orderedDoc(t *schema.Table, cols []int, d fkDoc) ([]byte, error) {
	out := []byte{'{'}
	for i, c := range cols {
		if i > 0 {
			out = append(out, ',')
		}
		n := t.Columns[c].Name
		out = mapping.AppendJSONString(out, n)
		out = append(out, ':')
		v, ok := d[n]
		if !ok || len(v) == 0 {
			v = json.RawMessage("null")
		}
		out = append(out, v...)
	}
	return append(out, '}'), nil
}

// findChildren returns the documents of p's index whose fields equal match: the batch's
// own buffered documents, then the index's (refreshed first, so the last batches' writes
// are searchable) that the batch does not hold a write for.
func (b *Batch) findChildren(ctx context.Context, p *tablePlan, match fkDoc) ([]childDoc, error) {
	var out []childDoc
	for _, w := range b.items {
		if w.plan.index != p.index || w.del {
			continue
		}
		var d fkDoc
		if err := json.Unmarshal(b.arena[w.docOff:w.docEnd], &d); err != nil {
			return nil, err
		}
		if matches(d, match) {
			out = append(out, childDoc{id: append([]byte(nil), b.arena[w.idOff:w.idEnd]...), src: d})
		}
	}
	if _, err := call(ctx, b.t.es, http.MethodPost, indexPath(p.index)+"/_refresh", nil, nil, nil); err != nil {
		return nil, fmt.Errorf("refresh index %s: %w", p.index, err)
	}
	var filters []string
	for f, v := range match {
		filters = append(filters, `{"term":{`+string(mapping.AppendJSONString(nil, f))+`:`+string(v)+`}}`)
	}
	body := fmt.Sprintf(`{"size":%d,"track_total_hits":true,"query":{"bool":{"filter":[%s]}}}`, fkMaxChildren, strings.Join(filters, ","))
	var res struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []struct {
				ID     string `json:"_id"`
				Source fkDoc  `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if _, err := call(ctx, b.t.es, http.MethodPost, indexPath(p.index)+"/_search", nil, []byte(body), &res); err != nil {
		return nil, fmt.Errorf("search index %s for the referencing documents: %w", p.index, err)
	}
	if res.Hits.Total.Value > fkMaxChildren {
		return nil, fmt.Errorf("%d documents of index %s refer to the changed row, more than the %d one action applies; run replicator snapshot for the table after the change", res.Hits.Total.Value, p.index, fkMaxChildren)
	}
	for _, h := range res.Hits.Hits {
		if _, held := b.slot[p.index+"\x00"+h.ID]; held {
			continue // the batch's own write supersedes the indexed document
		}
		out = append(out, childDoc{id: []byte(h.ID), src: h.Source})
	}
	return out, nil
}

func matches(d, match fkDoc) bool {
	for f, v := range match {
		if !bytes.Equal(d[f], v) {
			return false
		}
	}
	return true
}

// addRaw adds a write of an already encoded id and document (nil for a delete), replacing
// the batch's earlier write of the same document.
func (b *Batch) addRaw(p *tablePlan, id, doc []byte, del bool) {
	w := pendingWrite{plan: p, del: del, idOff: len(b.arena)}
	b.arena = append(b.arena, id...)
	w.idEnd, w.docOff = len(b.arena), len(b.arena)
	b.arena = append(b.arena, doc...)
	w.docEnd = len(b.arena)
	key := p.index + "\x00" + string(id)
	if i, ok := b.slot[key]; ok {
		b.items[i] = w
		return
	}
	b.slot[key] = len(b.items)
	b.items = append(b.items, w)
}
