package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/replicator/replicator/applier/elastic"
	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/mapping"
)

// esTarget reads Elasticsearch indexes: documents by scroll, compared field by field with
// the document the applier's encoder makes of the source row.
type esTarget struct {
	es   *elasticsearch.Client
	opts esdoc.Options
	pol  mapping.Policy // the [mapping] rules the target was written under
}

// Elastic returns a reader of the Elasticsearch target of cfg; opts must be the options
// the target writes with (elastic.Target.FieldOptions). Source rows are encoded under
// cfg's [mapping] rules, as the applier encodes them.
func Elastic(cfg *config.Config, opts esdoc.Options) (Target, error) {
	es, err := elastic.NewClient(cfg.Target.Elasticsearch)
	if err != nil {
		return nil, err
	}
	return &esTarget{es: es, opts: opts, pol: mapping.NewPolicy(cfg.Mapping)}, nil
}

func (e *esTarget) Close() {}

type esTable struct {
	e      *esTarget
	t      *Table
	index  string
	names  []string // field names of the replicated columns
	rangeK bool     // the first key column's field is numeric: range queries work
}

func (e *esTarget) table(ctx context.Context, t *Table) (targetTable, error) {
	et := &esTable{e: e, t: t, index: t.Route.ESIndex()}
	for _, c := range t.columns() {
		et.names = append(et.names, c.Name)
	}
	var m map[string]struct {
		Mappings struct {
			Properties map[string]struct {
				Type string `json:"type"`
			} `json:"properties"`
		} `json:"mappings"`
	}
	status, err := e.do(ctx, http.MethodGet, "/"+url.PathEscape(et.index)+"/_mapping", nil, &m)
	if status == http.StatusNotFound {
		return nil, fmt.Errorf("index %s does not exist", et.index)
	}
	if err != nil {
		return nil, err
	}
	for _, im := range m { // one entry, named by the index (or its alias target)
		switch im.Mappings.Properties[t.firstKey().Name].Type {
		case "long", "integer", "short", "byte", "unsigned_long":
			et.rangeK = t.integerKey()
		}
	}
	return et, nil
}

func (et *esTable) name() string { return et.index }
func (et *esTable) ranged() bool { return et.rangeK }

// text shows a JSON string value as its text, other JSON values as they are.
func (et *esTable) text(v []byte) string {
	var s string
	if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// fanIn returns the source field of a fan-in index (route.Route.FanIn), "" for another.
func (et *esTable) fanIn() string {
	if et.t.Route == nil {
		return ""
	}
	return et.t.Route.FanIn()
}

// only narrows query to the table's documents: in a fan-in index, those of its source
// value; in another, query itself.
func (et *esTable) only(query map[string]any) map[string]any {
	c := et.fanIn()
	if c == "" {
		return query
	}
	return map[string]any{"bool": map[string]any{"filter": []any{query, map[string]any{"term": map[string]any{c: et.t.Route.SourceValue()}}}}}
}

// markedQuery matches the documents marked deleted (deletes = "soft").
var markedQuery = map[string]any{"term": map[string]any{config.MarkerDeleted: true}}

// markedRows counts the documents marked deleted.
func (et *esTable) markedRows(ctx context.Context) (int64, error) {
	body, err := json.Marshal(map[string]any{"query": et.only(markedQuery)})
	if err != nil {
		return 0, err
	}
	var res struct {
		Count int64 `json:"count"`
	}
	if _, err := et.e.do(ctx, http.MethodPost, "/"+url.PathEscape(et.index)+"/_count", body, &res); err != nil {
		return 0, fmt.Errorf("count the documents marked deleted in %s: %w", et.index, err)
	}
	return res.Count, nil
}

func (et *esTable) refresh(ctx context.Context) error {
	_, err := et.e.do(ctx, http.MethodPost, "/"+url.PathEscape(et.index)+"/_refresh", nil, nil)
	return err
}

// converter encodes the source row with the applier's encoder (document and _id) and
// brings each field to comparison form. A row the encoder refuses gets values no
// document can have.
func (et *esTable) converter() converter {
	def, cols := et.t.comparedDef()
	var source []byte
	if c := et.fanIn(); c != "" {
		// The source value leads the _id of a fan-in index's documents: the rows get it
		// after the compared columns.
		cols = append(cols[:len(cols):len(cols)], def.ColumnIndex(c))
		source = []byte(et.t.Route.SourceValue())
	}
	enc := esdoc.NewEncoder(et.e.pol, def, cols, et.e.opts).Projected()
	var id, doc []byte
	r := &row{vals: make([][]byte, len(et.names))}
	return func(src change.Row) (*row, error) {
		var err error
		if source != nil {
			src = append(src[:len(src):len(src)], source)
		}
		id, err = enc.AppendID(id[:0], src)
		if err != nil {
			id = append(append(id[:0], 0), err.Error()...)
		}
		r.key = string(id)
		r.first = string(src[et.t.keyPos[0]])
		doc, err = enc.AppendDoc(doc[:0], src, change.Origin{})
		if err != nil {
			for i := range r.vals {
				r.vals[i] = append([]byte{0}, "not representable: "+err.Error()...)
			}
			return r, nil
		}
		return r, et.fields(doc, r)
	}
}

// fields decodes a document's _source into r.vals; a missing field counts as null (a
// column added at the source appears in a document only when the row is written again).
func (et *esTable) fields(src []byte, r *row) error {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("decode document of %s: %w", et.index, err)
	}
	for i, n := range et.names {
		v, ok := m[n]
		if !ok || v == nil {
			r.vals[i] = nil
			continue
		}
		r.vals[i] = appendCanonical(r.vals[i][:0], v)
	}
	return nil
}

// rows reads the documents in r with a scroll.
func (et *esTable) rows(ctx context.Context, r Range, fn func(*row) error) error {
	query := map[string]any{"match_all": map[string]any{}}
	if !r.whole() {
		bounds := map[string]any{}
		if r.Lo != "" {
			bounds["gt"] = json.Number(r.Lo)
		}
		if r.Hi != "" {
			bounds["lte"] = json.Number(r.Hi)
		}
		query = map[string]any{"range": map[string]any{et.t.firstKey().Name: bounds}}
	}
	if et.t.Route != nil && et.t.Route.Deletes() == config.DeletesSoft {
		// Documents marked deleted are compared with nothing: the source deleted them.
		query = map[string]any{"bool": map[string]any{"filter": []any{query}, "must_not": []any{markedQuery}}}
	}
	body, err := json.Marshal(map[string]any{"size": 1000, "sort": []string{"_doc"}, "query": et.only(query)})
	if err != nil {
		return err
	}
	type page struct {
		ScrollID string `json:"_scroll_id"`
		Hits     struct {
			Hits []struct {
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	var pg page
	if _, err := et.e.do(ctx, http.MethodPost, "/"+url.PathEscape(et.index)+"/_search?scroll=2m", body, &pg); err != nil {
		return fmt.Errorf("read %s: %w", et.index, err)
	}
	defer func() {
		if pg.ScrollID != "" {
			b, _ := json.Marshal(map[string]any{"scroll_id": pg.ScrollID})
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = et.e.do(cctx, http.MethodDelete, "/_search/scroll", b, nil)
		}
	}()
	out := &row{vals: make([][]byte, len(et.names))}
	firstName := et.t.firstKey().Name
	for len(pg.Hits.Hits) > 0 {
		for _, h := range pg.Hits.Hits {
			out.key = h.ID
			if err := et.fields(h.Source, out); err != nil {
				return err
			}
			out.first = ""
			for i, n := range et.names {
				if n == firstName && out.vals[i] != nil {
					out.first = string(out.vals[i])
				}
			}
			if err := fn(out); err != nil {
				return err
			}
		}
		b, _ := json.Marshal(map[string]any{"scroll": "2m", "scroll_id": pg.ScrollID})
		id := pg.ScrollID
		pg = page{}
		if _, err := et.e.do(ctx, http.MethodPost, "/_search/scroll", b, &pg); err != nil {
			pg.ScrollID = id
			return fmt.Errorf("read %s: %w", et.index, err)
		}
		if pg.ScrollID == "" {
			pg.ScrollID = id
		}
	}
	return nil
}

// do performs one request and decodes a 2xx answer into out; it returns the status.
func (e *esTarget) do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u, err := url.Parse(path)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.es.Perform(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return res.StatusCode, fmt.Errorf("%s %s: HTTP %d: %s", method, path, res.StatusCode, strings.TrimSpace(string(b)))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return res.StatusCode, nil
	}
	dec := json.NewDecoder(res.Body)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return res.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return res.StatusCode, nil
}
