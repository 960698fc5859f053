package elastic

import (
	"fmt"

	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/transform"
)

// Column transforms (a rule's rename, hash, metadata; package transform) on Elasticsearch:
// every path that writes documents (snapshot chunks, changed rows of a resumed snapshot,
// the stream, online copies, foreign key actions) encodes through encoder, which writes
// the view's fields and an _id of the view's (hashed) key, and every index mapping comes
// from properties over the same view. The stored definitions stay the source's: the view
// is made of them wherever it is needed.

// encoder compiles the document encoder of table version def, reading full source rows:
// the rule's view of def (esdoc.NewViewEncoder) when the rule transforms columns, the
// replicated columns cols as they are otherwise.
func (t *Target) encoder(def *schema.Table, cols []int) (*esdoc.Encoder, error) {
	rt, err := t.route(def)
	if err != nil {
		return nil, err
	}
	if rt.Transforms() == nil {
		return esdoc.NewEncoder(t.pol, def, cols, t.opts), nil
	}
	v, err := rt.View(def)
	if err != nil {
		return nil, err
	}
	return esdoc.NewViewEncoder(t.pol, v, t.opts), nil
}

// targetField returns source column name of def as its documents hold it (the field's
// name and type under the rule's transforms) and value (canonical, as the source holds it)
// as they hold it: its hash for a hashed column.
func (t *Target) targetField(def *schema.Table, name string, value []byte) (schema.Column, []byte, error) {
	rt, err := t.route(def)
	if err != nil {
		return schema.Column{}, nil, err
	}
	i := def.ColumnIndex(name)
	if i < 0 {
		return schema.Column{}, nil, fmt.Errorf("table %s has no column %s", def.QualifiedName(), name)
	}
	if rt.Transforms() == nil {
		return def.Columns[i], value, nil
	}
	v, err := rt.View(def)
	if err != nil {
		return schema.Column{}, nil, err
	}
	full := make(change.Row, len(def.Columns))
	full[i] = value
	row := v.Row(full, change.Origin{})
	for j, c := range v.Columns {
		if c.Meta == 0 && c.Source == i {
			return v.Table.Columns[j], row[j], nil
		}
	}
	return schema.Column{}, nil, fmt.Errorf("column %s of %s is not replicated", name, def.QualifiedName())
}

// fieldNames returns the fields of def's documents in the order the encoder writes them:
// the view's (target names, metadata last) under column transforms, the replicated
// columns cols otherwise.
func (t *Target) fieldNames(def *schema.Table, cols []int) ([]string, error) {
	rt, err := t.route(def)
	if err != nil {
		return nil, err
	}
	var out []string
	if rt.Transforms() == nil {
		for _, c := range cols {
			out = append(out, def.Columns[c].Name)
		}
		return out, nil
	}
	v, err := rt.View(def)
	if err != nil {
		return nil, err
	}
	for _, c := range v.Table.Columns {
		out = append(out, c.Name)
	}
	return out, nil
}

// transformsOf returns the column transforms of def's rule, nil (the identity) for none
// or a table no rule selects.
func (t *Target) transformsOf(def *schema.Table) *transform.Rules {
	if rt := t.routes.For(def.Schema, def.Name); rt != nil {
		return rt.Transforms()
	}
	return nil
}
