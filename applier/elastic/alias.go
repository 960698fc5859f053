package elastic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// Every table's documents live in a concrete index behind an alias: the alias is the name
// the table's rule gives (route.ESIndex), which readers query; the concrete index is that
// name with a generation suffix, "NAME-g000001", "NAME-g000002", ... A new generation is
// built beside the current one and the alias moved to it in one request, so readers see
// either the old documents or the new ones, never an empty or half-filled index (TRUNCATE,
// and the online re-snapshot). route.ESNameProblem refuses names that end like a
// generation suffix, so a concrete index name is never another table's alias.
//
// A concrete index named exactly like the alias (created by versions before aliases) is
// generation 0: it keeps working as it is, and the first new generation replaces it (the
// alias swap removes the old index in the same request).

// concreteName is the name of generation gen of alias.
func concreteName(alias string, gen int) string { return fmt.Sprintf("%s-g%06d", alias, gen) }

var generationPart = regexp.MustCompile(`-g([0-9]{6,})$`)

// generationOf returns the generation of a concrete index of alias: 0 for the index named
// like the alias, -1 for a name that is no generation of it.
func generationOf(alias, concrete string) int {
	if concrete == alias {
		return 0
	}
	rest, ok := strings.CutPrefix(concrete, alias)
	if !ok {
		return -1
	}
	m := generationPart.FindStringSubmatch(rest)
	if m == nil || len(m[0]) != len(rest) {
		return -1
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return -1
	}
	return n
}

// aliasState is what an index name stands for in the cluster.
type aliasState struct {
	// Legacy is a concrete index under the name itself (generation 0).
	Legacy bool
	// Indices are the concrete indexes the name stands for: the alias's indexes, or the
	// legacy index. Empty when the name does not exist.
	Indices []string
}

func (a aliasState) exists() bool { return len(a.Indices) > 0 }

// resolveName asks what name stands for: an alias (its indexes), a concrete index
// (legacy), or nothing.
func (t *Target) resolveName(ctx context.Context, name string) (aliasState, error) {
	var res struct {
		Indices []struct {
			Name string `json:"name"`
		} `json:"indices"`
		Aliases []struct {
			Name    string   `json:"name"`
			Indices []string `json:"indices"`
		} `json:"aliases"`
	}
	code, err := call(ctx, t.es, http.MethodGet, "/_resolve/index/"+url.PathEscape(name), url.Values{"expand_wildcards": {"all"}}, nil, &res, http.StatusNotFound)
	if err != nil {
		return aliasState{}, fmt.Errorf("resolve index name %s: %w", name, err)
	}
	if code == http.StatusNotFound {
		return aliasState{}, nil
	}
	for _, a := range res.Aliases {
		if a.Name == name {
			return aliasState{Indices: a.Indices}, nil
		}
	}
	for _, ix := range res.Indices {
		if ix.Name == name {
			return aliasState{Legacy: true, Indices: []string{name}}, nil
		}
	}
	return aliasState{}, nil
}

// generations lists the concrete indexes of alias that exist, aliased or not (a new
// generation whose swap never happened), with their generation numbers.
func (t *Target) generations(ctx context.Context, alias string) (map[string]int, error) {
	var res struct {
		Indices []struct {
			Name string `json:"name"`
		} `json:"indices"`
	}
	if _, err := call(ctx, t.es, http.MethodGet, "/_resolve/index/"+url.PathEscape(alias)+"-g*", url.Values{"expand_wildcards": {"all"}}, nil, &res, http.StatusNotFound); err != nil {
		return nil, fmt.Errorf("list the generations of index %s: %w", alias, err)
	}
	out := map[string]int{}
	for _, ix := range res.Indices {
		if g := generationOf(alias, ix.Name); g > 0 {
			out[ix.Name] = g
		}
	}
	return out, nil
}

// nextGeneration returns the name of a concrete index of alias that does not exist yet,
// one generation above every existing one.
func (t *Target) nextGeneration(ctx context.Context, alias string) (string, error) {
	gens, err := t.generations(ctx, alias)
	if err != nil {
		return "", err
	}
	next := 1
	for _, g := range gens {
		next = max(next, g+1)
	}
	return concreteName(alias, next), nil
}

// aliasOf returns the alias (the index name readers query) of a source table, checked
// against the naming rule.
func (t *Target) aliasOf(def *schema.Table) (string, error) {
	name, err := t.indexOf(def)
	if err != nil {
		return "", err
	}
	if p := route.ESNameProblem(name); p != "" {
		return "", fmt.Errorf("table %s: %s: set target in its [[tables]] rule to a valid name", def.QualifiedName(), p)
	}
	return name, nil
}

// NewGeneration creates a fresh, empty concrete index for a table beside the one its
// alias points to, mapped from the table's definition (as a first snapshot maps it), and
// returns its name. Documents written to it by that name stay invisible to readers of the
// alias until SwapAlias moves the alias to it. It is for copying a table again while the
// stream runs (the online re-snapshot): write the copy into the returned index, then call
// SwapAlias. An index created by an earlier NewGeneration whose swap never happened is
// left alone (the generation number goes past it).
func (t *Target) NewGeneration(ctx context.Context, def *schema.Table) (string, error) {
	alias, err := t.aliasOf(def)
	if err != nil {
		return "", err
	}
	rt, err := t.route(def)
	if err != nil {
		return "", err
	}
	cols, err := rt.Columns(def)
	if err != nil {
		return "", err
	}
	concrete, err := t.nextGeneration(ctx, alias)
	if err != nil {
		return "", err
	}
	if err := t.createConcrete(ctx, concrete, "", def, cols, nil); err != nil {
		return "", err
	}
	t.log.Info("created a new index generation", "table", def.QualifiedName(), "alias", alias, "index", concrete)
	return concrete, nil
}

// SwapAlias makes concrete the index behind a table's alias: it refreshes concrete, so
// every document written to it is searchable at the moment of the swap, moves the alias
// from the index it pointed to onto concrete in one POST /_aliases (readers of the alias
// see the old documents until then and the new ones after, never neither), and deletes the
// index the alias pointed to before. A concrete index named like the alias (generation 0)
// is removed in the same request, since an alias cannot be added while an index has its
// name.
func (t *Target) SwapAlias(ctx context.Context, def *schema.Table, concrete string) error {
	alias, err := t.aliasOf(def)
	if err != nil {
		return err
	}
	if generationOf(alias, concrete) <= 0 {
		return fmt.Errorf("swap alias %s of %s: %s is not a generation of it (want %s)", alias, def.QualifiedName(), concrete, concreteName(alias, 1))
	}
	return t.swapAlias(ctx, alias, concrete)
}

func (t *Target) swapAlias(ctx context.Context, alias, concrete string) error {
	if _, err := call(ctx, t.es, http.MethodPost, indexPath(concrete)+"/_refresh", nil, nil, nil); err != nil {
		return fmt.Errorf("refresh index %s before moving alias %s to it: %w", concrete, alias, err)
	}
	cur, err := t.resolveName(ctx, alias)
	if err != nil {
		return err
	}
	var actions []map[string]any
	var old []string
	for _, ix := range cur.Indices {
		switch {
		case ix == concrete:
		case cur.Legacy:
			actions = append(actions, map[string]any{"remove_index": map[string]any{"index": ix}})
		default:
			actions = append(actions, map[string]any{"remove": map[string]any{"index": ix, "alias": alias}})
			old = append(old, ix)
		}
	}
	actions = append(actions, map[string]any{"add": map[string]any{"index": concrete, "alias": alias}})
	body, err := json.Marshal(map[string]any{"actions": actions})
	if err != nil {
		return err
	}
	if _, err := call(ctx, t.es, http.MethodPost, "/_aliases", nil, body, nil); err != nil {
		return fmt.Errorf("move alias %s to index %s: %w", alias, concrete, err)
	}
	t.bumpEpoch()
	t.log.Info("moved alias to a new index generation", "alias", alias, "index", concrete, "replaced", cur.Indices)
	for _, ix := range old {
		if err := t.deleteConcrete(ctx, ix); err != nil {
			return err
		}
	}
	return nil
}

// moveAliases gives the documents behind each move's from name to its to name, all in
// one POST /_aliases, so the pairs of a swap move together. A legacy index (named like
// its alias) is first cloned into a generation of the new name, since an index cannot
// change its name, and removed in the same request. A destination that exists and is no
// source of these moves is left over (the source had no such table) and is deleted. A move
// whose source name does not exist is skipped.
func (t *Target) moveAliases(ctx context.Context, moves []aliasMove) error {
	states := make([]aliasState, len(moves))
	froms := map[string]bool{}
	for i, m := range moves {
		st, err := t.resolveName(ctx, m.from)
		if err != nil {
			return err
		}
		states[i] = st
		if st.exists() {
			froms[m.from] = true
		}
	}
	var actions []map[string]any
	var moved []string
	for i, m := range moves {
		st := states[i]
		if !st.exists() {
			t.log.Info("RENAME TABLE: the index to move does not exist; nothing to move", "from", m.from, "to", m.to)
			continue
		}
		if !froms[m.to] {
			if err := t.dropName(ctx, m.to); err != nil {
				return err
			}
		}
		if st.Legacy {
			concrete, err := t.nextGeneration(ctx, m.to)
			if err != nil {
				return err
			}
			if err := t.cloneIndex(ctx, m.from, concrete); err != nil {
				return err
			}
			actions = append(actions,
				map[string]any{"remove_index": map[string]any{"index": m.from}},
				map[string]any{"add": map[string]any{"index": concrete, "alias": m.to}})
		} else {
			for _, ix := range st.Indices {
				actions = append(actions,
					map[string]any{"remove": map[string]any{"index": ix, "alias": m.from}},
					map[string]any{"add": map[string]any{"index": ix, "alias": m.to}})
			}
		}
		moved = append(moved, m.from+" -> "+m.to)
	}
	if len(actions) == 0 {
		return nil
	}
	body, err := json.Marshal(map[string]any{"actions": actions})
	if err != nil {
		return err
	}
	if _, err := call(ctx, t.es, http.MethodPost, "/_aliases", nil, body, nil); err != nil {
		return fmt.Errorf("move aliases %v: %w", moved, err)
	}
	t.bumpEpoch()
	t.log.Info("moved aliases of renamed tables", "moves", moved)
	return nil
}

// cloneIndex copies index from into a new index to (hard links on the same node, cheap):
// from is write-blocked for the copy, as the clone API requires, and to is unblocked
// after.
func (t *Target) cloneIndex(ctx context.Context, from, to string) error {
	block := func(index string, on bool) error {
		body := []byte(`{"index.blocks.write":` + strconv.FormatBool(on) + `}`)
		if _, err := call(ctx, t.es, http.MethodPut, indexPath(index)+"/_settings", nil, body, nil); err != nil {
			return fmt.Errorf("set index.blocks.write = %t on index %s: %w", on, index, err)
		}
		return nil
	}
	if err := block(from, true); err != nil {
		return err
	}
	if _, err := call(ctx, t.es, http.MethodPost, indexPath(from)+"/_clone/"+url.PathEscape(to), url.Values{"wait_for_active_shards": {"1"}}, nil, nil); err != nil {
		_ = block(from, false)
		return fmt.Errorf("clone index %s into %s: %w", from, to, err)
	}
	return block(to, false)
}

// dropName deletes what name stands for: the indexes behind an alias, or a legacy index.
func (t *Target) dropName(ctx context.Context, name string) error {
	cur, err := t.resolveName(ctx, name)
	if err != nil {
		return err
	}
	for _, ix := range cur.Indices {
		if err := t.deleteConcrete(ctx, ix); err != nil {
			return err
		}
	}
	if cur.exists() {
		t.bumpEpoch()
	}
	return nil
}

// deleteConcrete deletes one concrete index by its own name (Elasticsearch refuses to
// delete through an alias).
func (t *Target) deleteConcrete(ctx context.Context, index string) error {
	if _, err := call(ctx, t.es, http.MethodDelete, indexPath(index), nil, nil, nil, http.StatusNotFound); err != nil {
		return fmt.Errorf("delete index %s: %w", index, err)
	}
	return nil
}

// bumpEpoch tells the compiled write plans that an alias moved or an index went: each
// checks its index again before its next write.
func (t *Target) bumpEpoch() {
	t.mu.Lock()
	t.epoch++
	t.mu.Unlock()
}

// The write alias of a concrete index: the name the stream's bulk items address, with
// require_alias. Writes never go to the table's alias itself, because a request can
// reach Elasticsearch late: the bulk of a process killed while the request was on its
// way (queued at the node, held by a proxy) is applied after a new process has taken
// over, read the checkpoint and gone on. Through the table's alias such a write would land
// in whatever generation the alias points to by then: after a TRUNCATE (a new generation)
// or a DROP and CREATE (a new index) there is no newer document or tombstone to refuse its
// older version, and a truncated row would come back. A write alias belongs to one index
// and goes with it, and its name carries a random part, so a generation made later under
// the same index name has another: a late write addressed to it is refused (404) instead.
const writeAliasInfix = ".w-"

// writeAliasPrefix is what every write alias of concrete starts with: its name, cut (at
// a character boundary) so that the alias fits Elasticsearch's 255 bytes.
func writeAliasPrefix(concrete string) string {
	limit := 255 - len(writeAliasInfix) - 8
	for len(concrete) > limit {
		_, size := utf8.DecodeLastRuneInString(concrete)
		concrete = concrete[:len(concrete)-size]
	}
	return concrete + writeAliasInfix
}

// newWriteAlias names a fresh write alias for concrete.
func newWriteAlias(concrete string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return writeAliasPrefix(concrete) + hex.EncodeToString(b)
}

// writeAlias returns the write alias of the index alias points to, adding one to an
// index made by a version without them.
func (t *Target) writeAlias(ctx context.Context, alias string) (string, error) {
	cur, err := t.resolveName(ctx, alias)
	if err != nil {
		return "", err
	}
	if len(cur.Indices) != 1 {
		return "", fmt.Errorf("alias %s points to %d indexes (%v), want one: remove the alias from all but the table's current generation", alias, len(cur.Indices), cur.Indices)
	}
	concrete := cur.Indices[0]
	var res map[string]struct {
		Aliases map[string]json.RawMessage `json:"aliases"`
	}
	if _, err := call(ctx, t.es, http.MethodGet, indexPath(concrete)+"/_alias", nil, nil, &res); err != nil {
		return "", fmt.Errorf("read the aliases of index %s: %w", concrete, err)
	}
	for name := range res[concrete].Aliases {
		if strings.HasPrefix(name, writeAliasPrefix(concrete)) {
			return name, nil
		}
	}
	name := newWriteAlias(concrete)
	body, err := json.Marshal(map[string]any{"actions": []any{map[string]any{"add": map[string]any{"index": concrete, "alias": name}}}})
	if err != nil {
		return "", err
	}
	if _, err := call(ctx, t.es, http.MethodPost, "/_aliases", nil, body, nil); err != nil {
		return "", fmt.Errorf("add write alias %s to index %s: %w", name, concrete, err)
	}
	t.log.Info("added a write alias to an index made by an earlier version", "index", concrete, "write_alias", name)
	return name, nil
}
