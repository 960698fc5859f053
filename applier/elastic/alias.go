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

	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/plan"
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
// deleted by the next Lock (removeUnusedGenerations); until then the generation number
// goes past it.
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
	crashpoint.Hit(crashpoint.ElasticAliasSwapped)
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
	if err := block(to, false); err != nil {
		return err
	}
	// The clone is this replicator's generation now, deleted at the next start if a
	// kill keeps the alias from reaching it (unusedGenerations).
	info, err := t.inspectIndex(ctx, to)
	if err != nil {
		return err
	}
	meta := indexMeta{Name: t.cfg.State.Name, State: t.cfg.State.Index}
	if info.Meta != nil {
		meta.Source = info.Meta.Source
	}
	return t.putMeta(ctx, to, info, meta)
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
	t.forgetGenWrite(index)
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

// writeAlias returns the write alias of the index alias points to (writeAliasOf).
func (t *Target) writeAlias(ctx context.Context, alias string) (string, error) {
	cur, err := t.resolveName(ctx, alias)
	if err != nil {
		return "", err
	}
	if len(cur.Indices) != 1 {
		return "", fmt.Errorf("alias %s points to %d indexes (%v), want one: remove the alias from all but the table's current generation", alias, len(cur.Indices), cur.Indices)
	}
	return t.writeAliasOf(ctx, cur.Indices[0])
}

// writeAliasOf returns the write alias of a concrete index, adding one to an index made
// by a version without them.
func (t *Target) writeAliasOf(ctx context.Context, concrete string) (string, error) {
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

// writeTarget returns the index part of a bulk action line for writes to the table
// behind alias: the write alias of the generation alias points to, with require_alias,
// or the name itself for an index of an earlier version (generation 0), as the stream's
// plans address it. Snapshot chunks and the rows a resumed snapshot copies again write
// this way, so none creates an index, and a chunk still on its way when its process died
// does not land in the index a resumed snapshot made again for a new definition (its
// documents carry the same snapshot version, so nothing else would refuse it). It is read
// once per alias until an alias moves or an index goes (the epoch).
func (t *Target) writeTarget(ctx context.Context, alias string) ([]byte, error) {
	t.mu.Lock()
	w, ok := t.writes[alias]
	epoch := t.epoch
	t.mu.Unlock()
	if ok && w.epoch == epoch {
		return w.json, nil
	}
	cur, err := t.resolveName(ctx, alias)
	if err != nil {
		return nil, err
	}
	var js []byte
	switch {
	case !cur.exists():
		return nil, fmt.Errorf("index %s does not exist: it is created with the table's snapshot, so snapshot the table again (snapshot.on_existing = \"recreate\")", alias)
	case cur.Legacy:
		js = mapping.AppendJSONString(nil, alias)
	default:
		if len(cur.Indices) != 1 {
			return nil, fmt.Errorf("alias %s points to %d indexes (%v), want one: remove the alias from all but the table's current generation", alias, len(cur.Indices), cur.Indices)
		}
		name, err := t.writeAliasOf(ctx, cur.Indices[0])
		if err != nil {
			return nil, err
		}
		js = append(mapping.AppendJSONString(nil, name), `,"require_alias":true`...)
	}
	t.mu.Lock()
	if t.writes == nil {
		t.writes = map[string]cachedWrite{}
	}
	t.writes[alias] = cachedWrite{json: js, epoch: epoch}
	t.mu.Unlock()
	return js, nil
}

// cachedWrite is a writeTarget answer and the epoch it was read under.
type cachedWrite struct {
	json  []byte
	epoch int
}

// genWriteTarget is writeTarget for a generation an online copy fills, by its concrete
// name: its write alias with require_alias. A generation's write alias goes with it, so a
// write of a copy given up (its generation deleted, perhaps made again under the same
// name by the next copy) is refused instead of creating the index or landing in the new
// one.
func (t *Target) genWriteTarget(ctx context.Context, gen string) ([]byte, error) {
	key := genWriteKey(gen)
	t.mu.Lock()
	w, ok := t.writes[key]
	t.mu.Unlock()
	if ok {
		return w.json, nil
	}
	name, err := t.writeAliasOf(ctx, gen)
	if err != nil {
		return nil, err
	}
	js := append(mapping.AppendJSONString(nil, name), `,"require_alias":true`...)
	t.mu.Lock()
	if t.writes == nil {
		t.writes = map[string]cachedWrite{}
	}
	t.writes[key] = cachedWrite{json: js}
	t.mu.Unlock()
	return js, nil
}

// genWriteKey is where writes keeps a generation's write alias, apart from the aliases
// writeTarget keeps.
func genWriteKey(gen string) string { return "\x00" + gen }

// forgetGenWrite drops the write alias kept for an index that goes (or is made again: a
// generation deleted with a copy given up can come back under its name, with a new write
// alias).
func (t *Target) forgetGenWrite(index string) {
	t.mu.Lock()
	delete(t.writes, genWriteKey(index))
	t.mu.Unlock()
}

// Generations no alias points to. A kill -9 can leave one between a new generation's
// creation and the alias move (TRUNCATE's, an online copy's whose batch never
// committed), or between the move and the old generation's deletion (TRUNCATE, the
// online copy's swap): no reader sees it, and nothing would delete it, so it would hold
// its disk forever. Once this process holds the instance lease (Lock), nothing else of
// its state makes generations, and it deletes every generation it made (its state index
// and name in the mapping's _meta) that no alias but its own write aliases points to and
// no online copy in progress fills. An index another replicator or a user made, or one a
// user aliased, is left alone. A TRUNCATE or swap the kill interrupted is then replayed
// from its statement into a generation of its own.

// unusedGenerations lists the generations matching pattern (a path segment, escaped) of
// alias, or of any alias when alias is "", that this replicator made and nothing uses, as
// above; keep names more to leave alone.
func (t *Target) unusedGenerations(ctx context.Context, pattern, alias string, keep map[string]bool) ([]string, error) {
	var res struct {
		Indices []struct {
			Name    string   `json:"name"`
			Aliases []string `json:"aliases"`
		} `json:"indices"`
	}
	if _, err := call(ctx, t.es, http.MethodGet, "/_resolve/index/"+pattern, url.Values{"expand_wildcards": {"open,closed"}}, nil, &res, http.StatusNotFound); err != nil {
		return nil, fmt.Errorf("list index generations %s: %w", pattern, err)
	}
	var candidates []string
	for _, ix := range res.Indices {
		if keep[ix.Name] {
			continue
		}
		if alias != "" && generationOf(alias, ix.Name) <= 0 || alias == "" && generationPart.FindStringIndex(ix.Name) == nil {
			continue
		}
		used := false
		for _, a := range ix.Aliases {
			if !strings.HasPrefix(a, writeAliasPrefix(ix.Name)) {
				used = true // the table's alias (perhaps another name's after a RENAME), or a user's
			}
		}
		if !used {
			candidates = append(candidates, ix.Name)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	copies, _, _, err := t.state.readCopies(ctx)
	if err != nil {
		return nil, err
	}
	filling := map[string]bool{}
	for _, c := range copies.Copies {
		if c.State == plan.CopyCopying && c.Index != "" {
			filling[c.Index] = true
		}
	}
	var out []string
	for _, ix := range candidates {
		if filling[ix] {
			continue
		}
		info, err := t.inspectIndex(ctx, ix)
		if err != nil {
			return nil, err
		}
		if info.Exists && info.Meta != nil && info.Meta.State == t.cfg.State.Index && info.Meta.Name == t.cfg.State.Name {
			out = append(out, ix)
		}
	}
	return out, nil
}

// removeUnusedGenerations deletes the generations unusedGenerations lists.
func (t *Target) removeUnusedGenerations(ctx context.Context, pattern, alias string, keep map[string]bool) error {
	gens, err := t.unusedGenerations(ctx, pattern, alias, keep)
	if err != nil {
		return err
	}
	for _, ix := range gens {
		if err := t.deleteConcrete(ctx, ix); err != nil {
			return err
		}
		t.log.Info("deleted an index generation no alias points to, left by an interrupted TRUNCATE, online copy or alias swap", "index", ix)
	}
	if len(gens) > 0 {
		t.bumpEpoch()
	}
	return nil
}
