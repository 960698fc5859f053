package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/schema"
)

// An online copy (plan.Copy) loads a table again into a new generation of its index (see
// alias.go) while the stream applies: the stream's writes of the table go to the live
// index (through the alias) and to the new generation, the copy's chunks only to the new
// generation, all with the version of the batch that carries them (so a chunk row, which
// holds the row as of its batch, and a stream write order themselves as any two writes
// do). The batch of the last chunk moves the alias to the new generation after its other
// writes: readers of the alias see the old documents or the new ones, never a part. A
// table the target has no index for is copied the same way: its alias appears at the
// swap, with every document (the stream's writes of it wait for the copy, as its chunks
// read them from the source).
//
// The copies live in one state document, "copies-<name>", changed with optimistic
// concurrency (if_seq_no): 'replicator resnapshot' adds requests while the running
// instance moves copies on in its batches. A batch stores its copies' progress after its
// writes are acknowledged and before its checkpoint; a crash between the two replays
// writes the copy already holds, and their versions make the replay a no-op.

func (s *State) copiesID() string { return "copies-" + s.name }

type copiesDoc struct {
	Kind   string    `json:"kind"`
	Name   string    `json:"name"`
	Copies []copyDoc `json:"copies"`
}

// copyDoc is one table's online copy as stored.
type copyDoc struct {
	Table  string `json:"source_table"`
	State  string `json:"state"`
	Reason string `json:"reason"`
	// Index is the generation being filled (while copying).
	Index      string        `json:"index,omitempty"`
	Definition *schema.Table `json:"definition,omitempty"`
	After      change.Row    `json:"after,omitempty"`
	Rows       int64         `json:"rows"`
	Estimate   int64         `json:"estimate"`
	// NoLive: the table had no index when the copy started; the swap creates its alias.
	NoLive bool `json:"no_live,omitempty"`
	// Stale: requested by Reseed; the live index keeps its old documents, untouched by
	// the stream, until the copy swaps in.
	Stale bool `json:"stale,omitempty"`
	// Refresh is the generation's refresh_interval to put back at the swap (nil: the
	// default): it loads with refresh off.
	Refresh     *string   `json:"refresh,omitempty"`
	Error       string    `json:"error,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	StartedAt   time.Time `json:"started_at,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func (c *copyDoc) plan() *plan.Copy {
	started := c.StartedAt
	if started.IsZero() {
		started = c.RequestedAt
	}
	return &plan.Copy{Table: c.Table, State: c.State, Reason: c.Reason, Def: c.Definition, After: c.After, Rows: c.Rows,
		Estimate: c.Estimate, Error: c.Error, Stale: c.Stale, RequestedAt: c.RequestedAt, StartedAt: started, Updated: c.UpdatedAt}
}

func (d *copiesDoc) find(table string) *copyDoc {
	for i := range d.Copies {
		if d.Copies[i].Table == table {
			return &d.Copies[i]
		}
	}
	return nil
}

// request resets (or adds) the copy of table to requested.
func (d *copiesDoc) request(table, reason string, now time.Time) {
	c := d.find(table)
	if c == nil {
		d.Copies = append(d.Copies, copyDoc{Table: table})
		c = &d.Copies[len(d.Copies)-1]
	}
	*c = copyDoc{Table: table, State: plan.CopyRequested, Reason: reason, RequestedAt: now, UpdatedAt: now}
}

// readCopies reads the copies document with its sequence number and primary term (both 0
// when it does not exist), for a conditional write.
func (s *State) readCopies(ctx context.Context) (doc copiesDoc, seq, term int64, err error) {
	var res struct {
		Found  bool            `json:"found"`
		Seq    int64           `json:"_seq_no"`
		Term   int64           `json:"_primary_term"`
		Source json.RawMessage `json:"_source"`
	}
	if _, err := call(ctx, s.es, http.MethodGet, s.docPath(s.copiesID()), nil, nil, &res, http.StatusNotFound); err != nil {
		return copiesDoc{}, 0, 0, fmt.Errorf("read the online copies from %s: %w", s.index, err)
	}
	if !res.Found {
		return copiesDoc{Kind: "copies", Name: s.name}, 0, 0, nil
	}
	if err := json.Unmarshal(res.Source, &doc); err != nil {
		return copiesDoc{}, 0, 0, fmt.Errorf("decode the online copies from %s: %w", s.index, err)
	}
	return doc, res.Seq, res.Term, nil
}

// errCopiesChanged: another writer changed the copies document between the read and the
// conditional write.
var errCopiesChanged = errors.New("the online copies changed meanwhile")

// updateCopies changes the copies document with change, read again and changed again when
// another writer got in between.
func (s *State) updateCopies(ctx context.Context, change func(d *copiesDoc) error) error {
	for attempt := 0; ; attempt++ {
		doc, seq, term, err := s.readCopies(ctx)
		if err != nil {
			return err
		}
		if err := change(&doc); err != nil {
			return err
		}
		doc.Kind, doc.Name = "copies", s.name
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		q := url.Values{}
		if term == 0 {
			q.Set("op_type", "create")
		} else {
			q.Set("if_seq_no", strconv.FormatInt(seq, 10))
			q.Set("if_primary_term", strconv.FormatInt(term, 10))
		}
		code, err := call(ctx, s.es, http.MethodPut, s.docPath(s.copiesID()), q, b, nil, http.StatusConflict)
		if err != nil {
			return fmt.Errorf("store the online copies in %s: %w", s.index, err)
		}
		if code != http.StatusConflict {
			return nil
		}
		if attempt == 20 {
			return fmt.Errorf("store the online copies in %s: %w", s.index, errCopiesChanged)
		}
	}
}

// RequestCopies stores a request to copy each table ("db.table") online; the running
// stream (or the next one) carries them out. A table already requested or being copied
// is left as it is and returned in pending.
func (t *Target) RequestCopies(ctx context.Context, tables []string, reason string) (pending []string, err error) {
	for _, name := range tables {
		if t.involved(name) {
			// The copy's swap replaces the rows composed documents are read from
			// without touching the documents (README: Composed documents).
			return nil, fmt.Errorf("table %s is composed into [[documents]]: this version does not copy such tables online; snapshot again instead (snapshot.on_existing = \"recreate\")", name)
		}
	}
	now := time.Now().UTC()
	err = t.state.updateCopies(ctx, func(d *copiesDoc) error {
		pending = nil
		for _, name := range tables {
			if c := d.find(name); c != nil && (c.State == plan.CopyRequested || c.State == plan.CopyCopying) {
				pending = append(pending, name)
				continue
			}
			d.request(name, reason, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.forgetCopies()
	return pending, nil
}

// Copies returns every stored online copy: requested, copying, and the last done or
// failed one of each table.
func (t *Target) Copies(ctx context.Context) ([]*plan.Copy, error) {
	d, _, _, err := t.state.readCopies(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*plan.Copy, 0, len(d.Copies))
	for i := range d.Copies {
		out = append(out, d.Copies[i].plan())
	}
	return out, nil
}

// CheckCopy reports why a table cannot be copied online: a table sharing its index with
// others by their [[tables]] rules (a new generation would hold only its documents).
func (t *Target) CheckCopy(table string) error {
	db, name, _ := strings.Cut(table, ".")
	rt := t.routes.For(db, name)
	if rt == nil {
		return fmt.Errorf("table %s is not selected by any [[tables]] rule", table)
	}
	if err := rt.FanInCopyRefusal(); err != nil {
		return err
	}
	if rt.ESIndexShared() {
		return fmt.Errorf("index %s is shared with other tables by their [[tables]] rules, so it cannot be loaded again for one of them: copy everything again with 'replicator snapshot'", rt.ESIndex())
	}
	return t.checkCopyDeletes(table)
}

// liveCopy is what a batch knows of a table's online copy.
type liveCopy struct {
	// gen is the generation being filled; "" while the copy is only requested.
	gen string
	def *schema.Table
	// noLive: there is no live index (requested: the table has none; copying: it had
	// none when the copy started): the stream writes the copy only.
	noLive bool
	// stale: requested by Reseed (the live index is left alone until the swap).
	stale bool
	// refresh is the generation's refresh_interval to put back at the swap.
	refresh *string
	// done: the copy ended in this batch and its generation is the live index from the
	// swap on: the batch's later writes go to it by name.
	done bool
}

// loadCopies returns the copies requested or under way by source table, read once per
// process and kept current by the batches that change them.
func (t *Target) loadCopies(ctx context.Context) (map[string]*liveCopy, error) {
	t.mu.Lock()
	m := t.copies
	t.mu.Unlock()
	if m != nil {
		return m, nil
	}
	d, _, _, err := t.state.readCopies(ctx)
	if err != nil {
		return nil, err
	}
	m = map[string]*liveCopy{}
	for _, c := range d.Copies {
		switch c.State {
		case plan.CopyCopying:
			if c.Definition != nil && c.Index != "" {
				m[c.Table] = &liveCopy{gen: c.Index, def: c.Definition, noLive: c.NoLive || c.Stale, stale: c.Stale, refresh: c.Refresh}
			}
		case plan.CopyRequested:
			if c.Stale {
				m[c.Table] = &liveCopy{noLive: true, stale: true}
				continue
			}
			db, table, _ := strings.Cut(c.Table, ".")
			rt := t.routes.For(db, table)
			if rt == nil {
				continue
			}
			st, err := t.resolveName(ctx, rt.ESIndex())
			if err != nil {
				return nil, err
			}
			if !st.exists() {
				m[c.Table] = &liveCopy{noLive: true}
			}
		}
	}
	t.mu.Lock()
	t.copies = m
	t.mu.Unlock()
	return m, nil
}

// forgetCopies makes the next batch read the copies again.
func (t *Target) forgetCopies() {
	t.mu.Lock()
	t.copies = nil
	t.mu.Unlock()
}

// copyEdit is one change a batch makes to the stored copies, applied at Commit in order.
type copyEdit func(d *copiesDoc, now time.Time)

// batchCopies returns the batch's view of the copies: the stored ones as this batch has
// changed them so far.
func (b *Batch) batchCopies(ctx context.Context) (map[string]*liveCopy, error) {
	if b.copies != nil {
		return b.copies, nil
	}
	m, err := b.t.loadCopies(ctx)
	if err != nil {
		return nil, err
	}
	b.copies = make(map[string]*liveCopy, len(m))
	for k, v := range m {
		c := *v
		b.copies[k] = &c
	}
	return b.copies, nil
}

// genPlan is how the stream and the chunks write def's rows into the generation gen:
// through its write alias, with require_alias (genWriteTarget).
func (b *Batch) genPlan(ctx context.Context, def *schema.Table, gen string) (*tablePlan, error) {
	key := gen + "\x00" + def.QualifiedName()
	if p := b.genPlans[key]; p != nil && p.def == def {
		return p, nil
	}
	rt, err := b.t.route(def)
	if err != nil {
		return nil, err
	}
	cols, err := rt.Columns(def)
	if err != nil {
		return nil, err
	}
	enc, err := b.t.encoder(def, cols)
	if err != nil {
		return nil, err
	}
	indexJSON, err := b.t.genWriteTarget(ctx, gen)
	if err != nil {
		return nil, err
	}
	p := &tablePlan{index: gen, indexJSON: indexJSON, enc: enc, def: def, fixed: true, soft: rt.Deletes() == config.DeletesSoft}
	if b.genPlans == nil {
		b.genPlans = map[string]*tablePlan{}
	}
	b.genPlans[key] = p
	return p, nil
}

// discard drops the batch's writes into gen (a copy given up or started again).
func (b *Batch) discard(gen string) {
	for i := range b.items {
		if b.items[i].plan.index == gen && b.items[i].plan.fixed {
			b.items[i].dead = true
		}
	}
	for k, i := range b.slot {
		if b.items[i].dead {
			delete(b.slot, k)
		}
	}
}

// StartCopy implements pipeline.CopyTx: it creates an empty new generation of def's index
// at once (readers do not see it; one left by a batch that never committed is deleted by
// the next start) and writes the stream's changes of the table to it from here on. The
// copy is marked copying at Commit.
func (b *Batch) StartCopy(ctx context.Context, def *schema.Table, estimate int64) error {
	t := b.t
	name := def.QualifiedName()
	if len(def.Key) == 0 {
		return fmt.Errorf("table %s has no primary key: it cannot be copied online; configure a key for it ([[tables]] key) or copy everything again with 'replicator snapshot'", name)
	}
	if err := t.CheckCopy(name); err != nil {
		return err
	}
	copies, err := b.batchCopies(ctx)
	if err != nil {
		return err
	}
	alias, err := t.aliasOf(def)
	if err != nil {
		return err
	}
	rt, err := t.route(def)
	if err != nil {
		return err
	}
	cols, err := rt.Columns(def)
	if err != nil {
		return err
	}
	cur, err := t.resolveName(ctx, alias)
	if err != nil {
		return err
	}
	prev := copies[name]
	if prev != nil && prev.done {
		prev = nil // its generation is the live index now
	}
	// Generations of the alias nothing uses were left by a batch that never committed.
	// Only an alias tells: a generation made under this name may be another table's
	// live index since a RENAME moved that table's alias to it.
	keep := map[string]bool{}
	for _, c := range copies {
		if c.gen != "" {
			keep[c.gen] = true // started by this batch, not stored yet
		}
	}
	if err := t.removeUnusedGenerations(ctx, url.PathEscape(alias)+"-g*", alias, keep); err != nil {
		return err
	}
	gen, err := t.nextGeneration(ctx, alias)
	if err != nil {
		return err
	}
	var from *indexCopy
	if cur.exists() {
		// The live index's shards, replicas and analysis settings; the mapping comes from
		// the configuration again (field_types changed since take effect).
		if from, err = t.copyOf(ctx, cur.Indices[0]); err != nil {
			return err
		}
		m, err := t.mappingsOf(def, cols)
		if err != nil {
			return err
		}
		if from.Mappings, err = json.Marshal(m); err != nil {
			return err
		}
	}
	if err := t.createConcrete(ctx, gen, "", def, cols, from); err != nil {
		return err
	}
	// Loaded with refresh off, as the snapshot loads; the swap puts it back and refreshes.
	created, err := t.currentSettings(ctx, gen)
	if err != nil {
		return err
	}
	if _, err := call(ctx, t.es, http.MethodPut, indexPath(gen)+"/_settings", nil, []byte(`{"index":{"refresh_interval":"-1"}}`), nil); err != nil {
		return fmt.Errorf("turn refresh off on index %s for the online copy of %s: %w", gen, name, err)
	}
	refresh := created.RefreshInterval
	t.log.Info("online copy: created a new index generation", "table", name, "alias", alias, "index", gen)
	stale := prev != nil && prev.stale
	noLive := !cur.exists() || stale
	if prev != nil && prev.gen != "" {
		b.discard(prev.gen)
		b.dropGens = append(b.dropGens, prev.gen)
	}
	copies[name] = &liveCopy{gen: gen, def: def, noLive: noLive, stale: stale, refresh: refresh}
	if !cur.exists() {
		b.newDefs = append(b.newDefs, def)
	}
	b.copyEdits = append(b.copyEdits, func(d *copiesDoc, now time.Time) {
		c := d.find(name)
		if c == nil {
			d.request(name, "", now)
			c = d.find(name)
		}
		c.State, c.Index, c.Definition, c.After, c.Rows, c.Estimate, c.NoLive, c.Error = plan.CopyCopying, gen, def, nil, 0, estimate, !cur.exists(), ""
		c.StartedAt, c.UpdatedAt, c.Refresh = now, now, refresh
	})
	return nil
}

// CopyChunk implements pipeline.CopyTx: rows (full-width rows of def) go into the copy's
// generation, after the stream's writes so far, and after is its progress at Commit; a
// transform's metadata fields show readAt.
func (b *Batch) CopyChunk(ctx context.Context, def *schema.Table, rows []change.Row, after change.Row, readAt string) error {
	copies, err := b.batchCopies(ctx)
	if err != nil {
		return err
	}
	name := def.QualifiedName()
	c := copies[name]
	if c == nil || c.gen == "" || c.done {
		return fmt.Errorf("no online copy of %s is under way", name)
	}
	if len(rows) > 0 {
		p, err := b.genPlan(ctx, def, c.gen)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := b.add(p, r, false, change.Origin{GTID: readAt}); err != nil {
				return err
			}
		}
	}
	n := int64(len(rows))
	b.copyEdits = append(b.copyEdits, func(d *copiesDoc, now time.Time) {
		if c := d.find(name); c != nil {
			c.After, c.Rows, c.UpdatedAt = after, c.Rows+n, now
		}
	})
	return nil
}

// FinishCopy implements pipeline.CopyTx: at Commit, after the writes before it, the
// generation is refreshed and the alias moved to it (the old generation deleted). The
// writes after it in the batch go to the alias, which is the new generation by then.
func (b *Batch) FinishCopy(ctx context.Context, def *schema.Table) error {
	copies, err := b.batchCopies(ctx)
	if err != nil {
		return err
	}
	name := def.QualifiedName()
	c := copies[name]
	if c == nil || c.gen == "" || c.done {
		return fmt.Errorf("no online copy of %s is under way", name)
	}
	alias, err := b.t.aliasOf(def)
	if err != nil {
		return err
	}
	gen, t, refresh := c.gen, b.t, c.refresh
	b.segs = append(b.segs, segment{end: len(b.items), gtid: "online copy of " + name, actions: []ddlAction{{
		what: "move alias " + alias + " to the online copy " + gen,
		run: func(ctx context.Context) error {
			body, err := json.Marshal(map[string]any{"index": map[string]any{"refresh_interval": refresh}})
			if err != nil {
				return err
			}
			if _, err := call(ctx, t.es, http.MethodPut, indexPath(gen)+"/_settings", nil, body, nil); err != nil {
				return fmt.Errorf("put the refresh interval of index %s back: %w", gen, err)
			}
			return t.swapAlias(ctx, alias, gen)
		},
	}}})
	// Writes after the swap are the new generation's own: none may replace one before.
	b.slot = map[string]int{}
	c.done = true
	b.copyEdits = append(b.copyEdits, func(d *copiesDoc, now time.Time) {
		if c := d.find(name); c != nil {
			c.State, c.Error, c.UpdatedAt = plan.CopyDone, "", now
		}
	})
	return nil
}

// FailCopy implements pipeline.CopyTx: the copy is marked failed with why at Commit, its
// generation deleted after; the live index stays as it is.
func (b *Batch) FailCopy(ctx context.Context, def *schema.Table, why string) error {
	copies, err := b.batchCopies(ctx)
	if err != nil {
		return err
	}
	name := def.QualifiedName()
	if c := copies[name]; c != nil && !c.done {
		if c.gen != "" {
			b.discard(c.gen)
			b.dropGens = append(b.dropGens, c.gen)
		}
		delete(copies, name)
	}
	b.copyEdits = append(b.copyEdits, func(d *copiesDoc, now time.Time) {
		c := d.find(name)
		if c == nil {
			d.request(name, "", now)
			c = d.find(name)
		}
		c.State, c.Error, c.UpdatedAt = plan.CopyFailed, why, now
	})
	return nil
}

// requestCopies asks, at Commit, for online copies of tables (a schema change whose new
// column's values for the existing rows only the source has).
func (b *Batch) requestCopies(tables []string, reason string) {
	b.requested = b.requested || len(tables) > 0
	for _, name := range tables {
		b.copyEdits = append(b.copyEdits, func(d *copiesDoc, now time.Time) { d.request(name, reason, now) })
		b.t.log.Info("online copy requested", "table", name, "reason", reason)
	}
}

// createdByStream ends the copy requests of the tables a statement creates that have not
// started: a table the target lacked at 'run' start whose CREATE TABLE the stream reads
// gets its documents from the binary log after it.
func (b *Batch) createdByStream(ctx context.Context, sc *ddl.SchemaChange) error {
	copies, err := b.batchCopies(ctx)
	if err != nil {
		return err
	}
	for _, st := range sc.Steps {
		var name string
		switch c := st.Change.(type) {
		case *ddl.CreateTable:
			name = c.Table.QualifiedName()
		case *ddl.CreateTableLike:
			name = c.Name.String()
		default:
			continue
		}
		if c := copies[name]; c != nil && c.gen == "" {
			delete(copies, name)
		}
		note := "; not needed: the stream created the table (GTID " + sc.GTID + ")"
		b.copyEdits = append(b.copyEdits, func(d *copiesDoc, now time.Time) {
			if c := d.find(name); c != nil && c.State == plan.CopyRequested {
				c.State, c.Reason, c.UpdatedAt = plan.CopyDone, c.Reason+note, now
			}
		})
	}
	return nil
}

// commitCopies stores the batch's changes of the copies (before the checkpoint moves) and
// the definitions of the tables a copy creates.
func (b *Batch) commitCopies(ctx context.Context, version int64) error {
	if len(b.newDefs) > 0 {
		if err := b.t.state.recordSchemas(ctx, []*ddl.SchemaChange{{Tables: b.newDefs}}, version); err != nil {
			return err
		}
	}
	if len(b.copyEdits) == 0 {
		return nil
	}
	now := time.Now().UTC()
	err := b.t.state.updateCopies(ctx, func(d *copiesDoc) error {
		for _, e := range b.copyEdits {
			e(d, now)
		}
		return nil
	})
	if err != nil {
		b.t.forgetCopies()
		return err
	}
	return nil
}

// afterCommit deletes the generations the batch's copies gave up and publishes its view of
// the copies.
func (b *Batch) afterCommit(ctx context.Context) {
	for _, gen := range b.dropGens {
		if err := b.t.deleteConcrete(ctx, gen); err != nil {
			b.t.log.Warn("could not delete the index generation of an ended online copy; the next copy of the table deletes it", "index", gen, "error", err)
		}
	}
	if len(b.copyEdits) == 0 {
		return
	}
	if b.requested || b.copies == nil {
		b.t.forgetCopies() // a request needs its table's index looked up
		return
	}
	for name, c := range b.copies {
		if c.done {
			delete(b.copies, name)
		}
	}
	b.t.mu.Lock()
	b.t.copies = b.copies
	b.t.mu.Unlock()
}

// computedColumns returns the tables of sc whose ADD COLUMN gives a replicated column
// values for the existing rows that the binary log does not carry (a generated column,
// AUTO_INCREMENT, an expression or CURRENT_TIMESTAMP default): their documents need an
// online copy for them.
func (t *Target) computedColumns(sc *ddl.SchemaChange) []string {
	var out []string
	for _, st := range sc.Steps {
		alter, ok := st.Change.(*ddl.AlterTable)
		if !ok {
			continue
		}
		def := tableNamed(sc.Tables, alter.Name)
		if def == nil {
			continue
		}
		rt := t.routes.For(def.Schema, def.Name)
		if rt == nil {
			continue
		}
		for _, spec := range alter.Specs {
			add, ok := spec.(*ddl.AddColumn)
			if !ok || !rt.Replicates(add.Column.Name) {
				continue
			}
			if add.Column.AutoIncrement || add.Column.Generated != "" || add.Default.Kind == ddl.DefaultExpression || add.Default.Kind == ddl.DefaultCurrentTimestamp {
				out = append(out, def.QualifiedName())
				break
			}
		}
	}
	return out
}

// resetCopies forgets the online copies and deletes the generations they filled (a new
// snapshot loads every table again).
func (t *Target) resetCopies(ctx context.Context) error {
	d, _, _, err := t.state.readCopies(ctx)
	if err != nil {
		return err
	}
	for _, c := range d.Copies {
		if c.State == plan.CopyCopying && c.Index != "" {
			if err := t.deleteConcrete(ctx, c.Index); err != nil {
				return err
			}
		}
	}
	t.forgetCopies()
	return t.state.deleteDocs(ctx, []string{t.state.copiesID()})
}

// Reseed moves on from purged binary logs: it requests a stale online copy of every table
// of defs (the stream leaves their live indexes alone until the copies swap in), records
// defs as their definitions from pos on, and stores pos as the checkpoint, in that order,
// so a crash in between starts over from the old checkpoint (and its purged position).
func (t *Target) Reseed(ctx context.Context, pos change.Position, defs []*schema.Table, reason string) error {
	version, err := PositionVersion(pos)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	err = t.state.updateCopies(ctx, func(d *copiesDoc) error {
		for _, def := range defs {
			d.request(def.QualifiedName(), reason, now)
			d.find(def.QualifiedName()).Stale = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.forgetCopies()
	if err := t.state.recordSchemas(ctx, []*ddl.SchemaChange{{Tables: defs, GTID: pos.GTID}}, version); err != nil {
		return err
	}
	return t.state.saveCheckpoint(ctx, pos, PhaseStreaming)
}

// writePlans are the indexes the stream's changes of table go to, and its foreign key
// actions: its live index, and the generation its online copy fills (which holds
// documents read before a change). A copy without a live index (or a stale one, or one
// swapped in by this batch) leaves the live index alone.
func (b *Batch) writePlans(ctx context.Context, child *schema.Table) ([]*tablePlan, error) {
	copies, err := b.batchCopies(ctx)
	if err != nil {
		return nil, err
	}
	var plans []*tablePlan
	c := copies[child.QualifiedName()]
	if c == nil || !(c.noLive || c.done) {
		p, err := b.t.plan(ctx, child)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	if c != nil && c.gen != "" {
		p, err := b.genPlan(ctx, child, c.gen)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}
