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
	"github.com/replicator/replicator/transform"
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
		// The parent's values in clear (a child's foreign key holds them so: a hashed
		// column in one with an action is refused), under the parent's field names, as the
		// documents the cascade goes on from hold them.
		enc := esdoc.NewEncoder(b.t.pol, a.Parent, need, b.t.opts)
		tr := b.t.transformsOf(a.Parent)
		before, err := encodeFields(enc, a.Before, tr)
		if err != nil {
			return fmt.Errorf("foreign key actions of a change of %s at GTID %s: %w", name, a.GTID, err)
		}
		var after fkDoc
		if a.After != nil {
			if after, err = encodeFields(enc, a.After, tr); err != nil {
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

// encodeFields encodes row's fields by enc, keyed by their target names under tr.
func encodeFields(enc *esdoc.Encoder, row [][]byte, tr *transform.Rules) (fkDoc, error) {
	doc, err := enc.AppendDoc(nil, row, change.Origin{})
	if err != nil {
		return nil, err
	}
	var src fkDoc
	if err := json.Unmarshal(doc, &src); err != nil {
		return nil, err
	}
	out := make(fkDoc, len(src))
	for k, v := range src {
		out[tr.TargetName(k)] = v
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
		ptr, ctr := b.t.transformsOf(table), b.t.transformsOf(e.Child)
		for i, r := range e.RefCols {
			pn := table.Columns[r].Name
			if depth > 0 && ptr.Hashed(pn) {
				// old and new are a document's fields: this one holds the hash, the
				// child's foreign key the clear value.
				return fmt.Errorf("%s (%s): column %s of %s is hashed (its rule's hash), and the cascade reaching it cannot find the rows that refer to its clear value: hash another column, or declare the foreign key RESTRICT", e.Child.QualifiedName(), e.FK.Name, pn, table.QualifiedName())
			}
			v := old[ptr.TargetName(pn)]
			if isNull(v) {
				skip = true
				break
			}
			match[ctr.TargetName(e.Child.Columns[e.Cols[i]].Name)] = v
			if !del && !bytes.Equal(v, new[ptr.TargetName(pn)]) {
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
	plans, err := b.writePlans(ctx, child)
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
	fields, err := b.t.fieldNames(child, cols)
	if err != nil {
		return err
	}
	act := childFKAction{e: e, action: action, del: del, match: match, parent: parent, parentNew: parentNew,
		mode: rt.Deletes(), fields: fields, ctr: rt.Transforms(), ptr: b.t.transformsOf(parent), depth: depth}
	switch len(plans) {
	case 0:
		return nil
	case 1:
		return b.childDocsAction(ctx, g, &act, plans[0], nil)
	default:
		// The live index finds the rows; the copy's generation gets the same writes. Its
		// own documents cannot drive the cascade: it lacks the rows not copied yet, and a
		// cascade through one of them (a self-reference) would miss the documents below
		// it the stream already wrote there.
		return b.childDocsAction(ctx, g, &act, plans[0], plans[1])
	}
}

// childFKAction is one foreign key's action on the children of one parent row: the edge,
// the action, the parent's old values to match (under the child's field names) and new
// ones, and how the child's documents are written.
type childFKAction struct {
	e         *schema.FKEdge
	action    string
	del       bool
	match     fkDoc
	parent    *schema.Table
	parentNew fkDoc
	mode      config.DeleteMode
	fields    []string         // the child's document fields, in the encoder's order
	ctr, ptr  *transform.Rules // the child's and the parent's column transforms
	depth     int
}

// childDocsAction applies a to the child documents of one index of the child (its live
// index, or its online copy's generation when it has none, see writePlans), and writes
// the same to mirror (the generation beside a live index) when it is not nil.
func (b *Batch) childDocsAction(ctx context.Context, g *schema.FKGraph, a *childFKAction, p, mirror *tablePlan) error {
	write := func(id, doc []byte, del bool) {
		b.addRaw(p, id, doc, del)
		if mirror != nil {
			b.addRaw(mirror, id, doc, del)
		}
	}
	child := a.e.Child
	docs, err := b.findChildren(ctx, p, a.match)
	if err != nil {
		return err
	}
	for _, d := range docs {
		if a.mode == config.DeletesSoft && markedDoc(d.src) {
			continue // marked deleted: not at the source, no action reaches it
		}
		if b.t.involved(child.QualifiedName()) {
			// Composed documents follow the child's change like one the binary log had.
			b.touchDoc(child, d.src)
		}
		if a.del && a.action == "CASCADE" {
			switch a.mode {
			case config.DeletesSoft:
				doc, err := orderedDoc(a.fields, d.src)
				if err != nil {
					return err
				}
				at := b.fkTime
				write(d.id, appendMarkers(doc, &at), false)
			case config.DeletesIgnore:
				// The child keeps the document; its own children follow their rules.
			default:
				write(d.id, nil, true)
			}
			if err := b.cascade(ctx, g, child, d.src, nil, true, a.depth+1); err != nil {
				return err
			}
			continue
		}
		now := fkDoc{}
		for k, v := range d.src {
			now[k] = v
		}
		for i, c := range a.e.Cols {
			v := json.RawMessage("null")
			if a.action == "CASCADE" {
				v = a.parentNew[a.ptr.TargetName(a.parent.Columns[a.e.RefCols[i]].Name)]
			}
			now[a.ctr.TargetName(child.Columns[c].Name)] = v
		}
		doc, err := orderedDoc(a.fields, now)
		if err != nil {
			return err
		}
		if a.mode == config.DeletesSoft {
			doc = appendMarkers(doc, nil)
		}
		write(d.id, doc, false)
		if b.t.involved(child.QualifiedName()) {
			b.touchDoc(child, now)
		}
		if err := b.cascade(ctx, g, child, d.src, now, false, a.depth+1); err != nil {
			return err
		}
	}
	return nil
}

// orderedDoc renders a document with its fields in the order the encoder writes them
// (fieldNames).
func orderedDoc(fields []string, d fkDoc) ([]byte, error) {
	out := []byte{'{'}
	for i, n := range fields {
		if i > 0 {
			out = append(out, ',')
		}
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
	// The batch's last write of each document of the index: the state the action sees.
	// Not the slots: a swap or a DDL in the batch starts them anew, and a document
	// written (or deleted) before it must not be found as the index still holds it.
	latest := map[string]int{}
	for i, w := range b.items {
		if w.plan.index == p.index {
			latest[string(b.arena[w.idOff:w.idEnd])] = i
		}
	}
	for i, w := range b.items {
		if w.plan.index != p.index || w.del || latest[string(b.arena[w.idOff:w.idEnd])] != i {
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
		if _, held := latest[h.ID]; held {
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
