package elastic

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/ddl"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/schema"
)

// streamSenders is how many bulk requests of one batch are in flight at once. A batch
// holds at most one write per document, so their order does not matter.
const streamSenders = 2

// Begin opens a streaming batch (the pipeline's Applier, through pipeline.ApplierOf). A
// batch only buffers: nothing reaches Elasticsearch before Commit, which knows the
// batch's position and so the version of its writes.
func (t *Target) Begin(ctx context.Context) (*Batch, error) {
	return &Batch{t: t, slot: map[string]int{}}, nil
}

// Batch is one open streaming batch (the pipeline's Tx): the final write per document, in
// first-touched order, with their encoded ids and documents in one arena.
type Batch struct {
	t       *Target
	schemas []*ddl.SchemaChange
	arena   []byte
	items   []pendingWrite
	slot    map[string]int // index + "\x00" + _id -> position in items
	// prepared are the XA parts stored by this batch (xid -> part); resolved are state
	// documents of decided XA transactions, deleted once the checkpoint passed them.
	prepared map[string]map[int]*preparedDoc
	resolved []string
	// segs are the batch's schema changes that change indexes, in stream order: each runs
	// at Commit after the writes before it (items[:end]) and before those after it.
	segs []segment
	// before is the position SchemaBefore gave for the next ApplySchema.
	before *change.Position

	// Online copies (copy.go): the batch's view of them, the write plans of their
	// generations, the changes to store at Commit, the generations to delete after it,
	// and the definitions of tables a copy creates.
	copies    map[string]*liveCopy
	genPlans  map[string]*tablePlan
	copyEdits []copyEdit
	dropGens  []string
	newDefs   []*schema.Table
	requested bool
	// touched are the batch's row writes of tables composed documents are built from
	// (documents.go), in stream order; composed again after the writes, before the
	// checkpoint passes them.
	touched []docTouch
	// fkTouched are the touches of foreign key actions' child rows, also in touched:
	// stored before the bulk writes, since a replay would not find them again.
	fkTouched []docTouch
	// fkTime is the commit time of the foreign key action being applied (a cascaded
	// soft delete stores it).
	fkTime time.Time
}

// segment is a schema change's index actions and where it falls among the writes.
type segment struct {
	end     int // items before the change
	actions []ddlAction
	// before is the position the writes before the change hold the state of: they carry
	// its version, and it is stored as the checkpoint before the actions run.
	before *change.Position
	gtid   string
	// touched is how many of the batch's touched rows come before the change.
	touched int
}

type pendingWrite struct {
	plan           *tablePlan
	idOff, idEnd   int
	docOff, docEnd int
	del            bool
	// dead: a write into the generation of an online copy the batch gave up or started
	// again; not sent.
	dead bool
}

// Apply implements pipeline.Tx: it encodes the folded changes and keeps, per document,
// only the last write (a later part of a large transaction replaces an earlier one), so
// the batch sends exactly the state at its commit position.
func (b *Batch) Apply(ctx context.Context, changes []change.TableChanges) error {
	for _, tc := range changes {
		plans, err := b.writePlans(ctx, tc.Table)
		if err != nil {
			return err
		}
		if b.t.involved(tc.Table.QualifiedName()) {
			if err := b.touch(ctx, tc); err != nil {
				return err
			}
		}
		// A copy only requested of a table without an index: its chunks will read what
		// these changes wrote.
		for _, p := range plans {
			for _, r := range tc.Deletes {
				if err := b.add(p, r, true, change.Origin{}); err != nil {
					return err
				}
			}
			for i, r := range tc.Upserts {
				var o change.Origin
				if i < len(tc.Origins) {
					o = tc.Origins[i]
				}
				if err := b.add(p, r, false, o); err != nil {
					return err
				}
			}
			for _, m := range tc.Marked {
				if err := b.addMarked(p, m); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// add adds the write of row r (a delete with del), written by transaction o (the
// metadata fields of column transforms show it).
func (b *Batch) add(p *tablePlan, r change.Row, del bool, o change.Origin) error {
	return b.addRow(p, r, del, o, nil)
}

// addRow is add; a soft table's document gets the marker fields, set when marked is not
// nil (deleted at *marked), cleared otherwise.
func (b *Batch) addRow(p *tablePlan, r change.Row, del bool, o change.Origin, marked *time.Time) error {
	w := pendingWrite{plan: p, del: del, idOff: len(b.arena)}
	var err error
	var pr esdoc.Prepared
	if del {
		b.arena, err = p.enc.AppendID(b.arena, r)
	} else {
		pr = p.enc.Prepare(r, o) // a hashed key is hashed once for the _id and the document
		b.arena, err = p.enc.AppendPreparedID(b.arena, pr)
	}
	if err != nil {
		b.arena = b.arena[:w.idOff]
		return fmt.Errorf("index %s: %w", p.index, err)
	}
	w.idEnd, w.docOff = len(b.arena), len(b.arena)
	if !del {
		if b.arena, err = p.enc.AppendPreparedDoc(b.arena, pr); err != nil {
			id := string(b.arena[w.idOff:w.idEnd])
			b.arena = b.arena[:w.idOff]
			return fmt.Errorf("index %s, _id %s: %w", p.index, id, err)
		}
		if p.soft {
			b.arena = appendMarkers(b.arena, marked)
		}
	}
	w.docEnd = len(b.arena)
	key := p.index + "\x00" + string(b.arena[w.idOff:w.idEnd])
	if i, ok := b.slot[key]; ok {
		b.items[i] = w
		return nil
	}
	b.slot[key] = len(b.items)
	b.items = append(b.items, w)
	return nil
}

// Commit implements pipeline.Tx: every write goes out with the version of pos; only when
// all of them are acknowledged does the checkpoint document move to pos. A schema change
// that changes indexes splits the batch: the writes before it go out first, with the
// version of the position before it, that position is stored as the checkpoint, then
// the indexes change (see ddl.go); a crash in between replays from the statement.
func (b *Batch) Commit(ctx context.Context, pos change.Position) error {
	t := b.t
	if err := t.checkLease(); err != nil {
		return err
	}
	version, err := PositionVersion(pos)
	if err != nil {
		return err
	}
	if err := b.storeFKTouches(ctx); err != nil {
		return err
	}
	where := "GTID " + pos.GTID
	fresh := map[*tablePlan]*tablePlan{}
	start := 0
	for i, sg := range b.segs {
		if sg.end > start {
			v := version
			if sg.before != nil {
				if v, err = PositionVersion(*sg.before); err != nil {
					return err
				}
			}
			if err := b.send(ctx, b.items[start:sg.end], v, where, fresh); err != nil {
				return err
			}
			if sg.before != nil {
				if err := t.composeTouched(ctx, b.touched[:sg.touched], v); err != nil {
					return err
				}
				b.touched = b.touched[sg.touched:]
				for j := i + 1; j < len(b.segs); j++ {
					b.segs[j].touched -= sg.touched
				}
				if err := t.state.storePrepared(ctx, b.prepared); err != nil {
					return err
				}
				b.prepared = nil
				if err := t.state.saveCheckpoint(ctx, *sg.before, PhaseStreaming); err != nil {
					return err
				}
			}
		}
		start = sg.end
		if err := t.runActions(ctx, sg, version, i); err != nil {
			return err
		}
	}
	if err := b.send(ctx, b.items[start:], version, where, fresh); err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.ElasticBulkSent)
	if err := t.composeTouched(ctx, b.touched, version); err != nil {
		return err
	}
	if err := b.clearFKTouches(ctx); err != nil {
		return err
	}
	for _, ad := range t.addedDefaults(b.schemas) {
		if err := t.fillDefault(ctx, ad); err != nil {
			return err
		}
	}
	if err := t.state.recordSchemas(ctx, b.schemas, version); err != nil {
		return err
	}
	if len(b.schemas) > 0 {
		crashpoint.Hit(crashpoint.ElasticSchemasRecorded)
	}
	if err := t.state.storePrepared(ctx, b.prepared); err != nil {
		return err
	}
	if err := b.commitCopies(ctx, version); err != nil {
		return err
	}
	if err := t.state.saveCheckpoint(ctx, pos, PhaseStreaming); err != nil {
		return err
	}
	b.afterCommit(ctx)
	if len(b.resolved) > 0 {
		// Left behind by a failure here, they are only unused documents: no later
		// position reads them again.
		if err := t.state.deleteDocs(ctx, b.resolved); err != nil {
			t.log.Warn("could not delete the stored parts of decided XA transactions", "error", err)
		}
	}
	if len(b.segs) > 0 {
		ids := make([]string, 0, len(b.segs))
		for i := range b.segs {
			ids = append(ids, t.state.ddlID(version, i))
		}
		if err := t.state.deleteDocs(ctx, ids); err != nil {
			t.log.Warn("could not delete the marks of applied schema changes", "error", err)
		}
	}
	b.items, b.arena, b.slot, b.schemas, b.prepared, b.resolved, b.segs, b.touched = nil, nil, nil, nil, nil, nil, nil, nil
	b.copies, b.genPlans, b.copyEdits, b.dropGens, b.newDefs, b.requested = nil, nil, nil, nil, nil, false
	return nil
}

// send writes items with version. A plan compiled before an alias moved or an index went
// (an earlier schema change of this batch, a swap) is compiled again first.
func (b *Batch) send(ctx context.Context, items []pendingWrite, version int64, where string, fresh map[*tablePlan]*tablePlan) error {
	if len(items) == 0 {
		return nil
	}
	t := b.t
	var bodies []*bulkBody
	body := getBody()
	for _, w := range items {
		if w.dead {
			continue
		}
		p, ok := fresh[w.plan]
		if !ok {
			var err error
			if p, err = t.current(ctx, w.plan); err != nil {
				putBody(body)
				for _, bd := range bodies {
					putBody(bd)
				}
				return err
			}
			fresh[w.plan] = p
		}
		id := b.arena[w.idOff:w.idEnd]
		if w.del {
			body.begin("delete", p.indexJSON, id, version)
		} else {
			body.begin("index", p.indexJSON, id, version)
			body.buf = append(body.buf, b.arena[w.docOff:w.docEnd]...)
			body.buf = append(body.buf, '\n')
		}
		if err := placeLast(&body, t.bulk, p.def.QualifiedName(), id, func(ready *bulkBody) error {
			bodies = append(bodies, ready)
			return nil
		}); err != nil {
			putBody(body)
			for _, bd := range bodies {
				putBody(bd)
			}
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	if body.len() > 0 {
		bodies = append(bodies, body)
	} else {
		putBody(body)
	}
	st, err := t.sendAll(ctx, bodies, where)
	if err != nil {
		return err
	}
	if st.Conflicts > 0 {
		t.log.Info("replayed changes refused as older than the indexed documents", "count", st.Conflicts, "where", where)
	}
	return nil
}

// sendAll sends bodies with up to streamSenders requests in flight and stops at the first
// error.
func (t *Target) sendAll(ctx context.Context, bodies []*bulkBody, where string) (bulkStats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		total    bulkStats
		firstErr error
		wg       sync.WaitGroup
	)
	queue := make(chan *bulkBody)
	for range min(streamSenders, len(bodies)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range queue {
				st, err := t.sendBulk(ctx, b, where)
				mu.Lock()
				total.add(st)
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	for i, b := range bodies {
		select {
		case queue <- b:
		case <-ctx.Done():
			for _, rest := range bodies[i:] {
				putBody(rest)
			}
			close(queue)
			wg.Wait()
			if firstErr == nil {
				firstErr = ctx.Err()
			}
			return total, firstErr
		}
	}
	close(queue)
	wg.Wait()
	return total, firstErr
}

// Rollback implements pipeline.Tx: nothing was sent, so dropping the buffer is enough.
func (b *Batch) Rollback(ctx context.Context) {
	b.items, b.arena, b.slot, b.touched = nil, nil, nil, nil
	b.copies, b.genPlans, b.copyEdits, b.dropGens, b.newDefs, b.requested = nil, nil, nil, nil, nil, false
}

// plan compiles (once per table version) how a table is written, making sure its index
// exists and maps every replicated column: an index is created for a table the snapshot
// did not know (created at the source later), and columns added at the source are mapped
// before their first document arrives. Writes go to the write alias of the generation
// the table's alias points to now (writeAlias) with require_alias, so a write never
// creates an index by itself and never lands in a later generation; to an index of an
// earlier version (named like the alias, generation 0) by its name.
func (t *Target) plan(ctx context.Context, def *schema.Table) (*tablePlan, error) {
	t.mu.Lock()
	p, epoch := t.plans[def], t.epoch
	t.mu.Unlock()
	if p != nil && p.epoch == epoch {
		return p, nil
	}
	index, err := t.aliasOf(def)
	if err != nil {
		return nil, err
	}
	rt, err := t.route(def)
	if err != nil {
		return nil, err
	}
	cols, err := rt.Columns(def)
	if err != nil {
		return nil, err
	}
	cur, err := t.resolveName(ctx, index)
	if err != nil {
		return nil, err
	}
	if !cur.exists() {
		if err := t.createIndex(ctx, index, def, cols); err != nil {
			return nil, err
		}
		t.log.Info("created index for a table first seen while streaming", "table", def.QualifiedName(), "index", index)
	} else {
		info, err := t.inspectIndex(ctx, index)
		if err != nil {
			return nil, err
		}
		if err := t.addMissingFields(ctx, index, info, def, cols); err != nil {
			return nil, err
		}
	}
	indexJSON := mapping.AppendJSONString(nil, index)
	if !cur.Legacy {
		w, err := t.writeAlias(ctx, index)
		if err != nil {
			return nil, err
		}
		indexJSON = append(mapping.AppendJSONString(nil, w), `,"require_alias":true`...)
	}
	enc, err := t.encoder(def, cols)
	if err != nil {
		return nil, err
	}
	p = &tablePlan{index: index, indexJSON: indexJSON, enc: enc, def: def, epoch: epoch, soft: rt.Deletes() == config.DeletesSoft}
	t.mu.Lock()
	t.plans[def] = p
	t.mu.Unlock()
	return p, nil
}

// current returns p, or p compiled again when an alias moved or an index went since.
func (t *Target) current(ctx context.Context, p *tablePlan) (*tablePlan, error) {
	t.mu.Lock()
	epoch := t.epoch
	t.mu.Unlock()
	if p.epoch == epoch || p.fixed {
		return p, nil
	}
	return t.plan(ctx, p.def)
}

// SchemaBefore implements pipeline.SchemaPositioner.
func (b *Batch) SchemaBefore(pos change.Position) { b.before = &pos }

// ApplySchema implements pipeline.Tx. A column change needs nothing at once: a new
// column's field is added to the mapping when a document first carries it, and a mapped
// field cannot be dropped or retyped (README: Elasticsearch and DDL). A statement about
// whole tables changes their indexes (ddl.go) at Commit, after the batch's writes before
// it. The new definitions are recorded at Commit, after the batch's writes are
// acknowledged and before the checkpoint moves.
func (b *Batch) ApplySchema(ctx context.Context, sc *ddl.SchemaChange) error {
	before := b.before
	b.before = nil
	var actions []ddlAction
	for i, st := range sc.Steps {
		a, err := b.t.ddlActions(st.Change, st.Before)
		if err != nil {
			return fmt.Errorf("change %d of the statement: %w", i+1, err)
		}
		actions = append(actions, a...)
	}
	b.schemas = append(b.schemas, sc)
	if err := b.createdByStream(ctx, sc); err != nil {
		return err
	}
	if tables := b.t.computedColumns(sc); len(tables) > 0 {
		b.requestCopies(tables, "DDL at GTID "+sc.GTID+": a column whose existing values the source computes")
	}
	if len(actions) == 0 {
		return nil
	}
	b.segs = append(b.segs, segment{end: len(b.items), actions: actions, before: before, gtid: sc.GTID, touched: len(b.touched)})
	// Writes after the change are writes to the changed indexes: none may replace one
	// before it.
	b.slot = map[string]int{}
	return nil
}

// runActions runs a schema change's index actions once: a mark in the state index (by the
// version of the batch) says they ran, so a replay of the batch after a crash does not
// run them again (a swap through a temporary name would swap back).
func (t *Target) runActions(ctx context.Context, sg segment, version int64, i int) error {
	s := t.state
	var mark ddlMark
	found, err := s.get(ctx, s.ddlID(version, i), &mark)
	if err != nil {
		return err
	}
	if found && mark.GTID == sg.gtid {
		if !mark.Pending {
			t.log.Info("schema change already applied to the indexes before a restart", "gtid", sg.gtid)
			return nil
		}
		// A crash came between the actions' start and their mark. An alias move is one
		// request, done or not: names that no longer stand for what they did before it
		// ran say it was done, and running it again would move them back.
		now, err := t.nameStates(ctx, mark.Before)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(now, mark.Before) {
			t.log.Info("schema change already applied to the indexes before a restart (the names it moves have moved)", "gtid", sg.gtid, "before", mark.Before, "now", now)
			return s.put(ctx, s.ddlID(version, i), ddlMark{Kind: "ddl", Name: s.name, GTID: sg.gtid})
		}
	}
	var names []string
	for _, a := range sg.actions {
		names = append(names, a.names...)
	}
	if len(names) > 0 {
		before := map[string][]string{}
		for _, n := range names {
			before[n] = nil
		}
		before, err := t.nameStates(ctx, before)
		if err != nil {
			return err
		}
		if err := s.put(ctx, s.ddlID(version, i), ddlMark{Kind: "ddl", Name: s.name, GTID: sg.gtid, Pending: true, Before: before}); err != nil {
			return err
		}
		crashpoint.Hit(crashpoint.ElasticRenamePending)
	}
	for _, a := range sg.actions {
		run := a.run
		if a.versioned != nil {
			run = func(ctx context.Context) error { return a.versioned(ctx, version) }
		}
		if err := run(ctx); err != nil {
			return fmt.Errorf("%s: %w", a.what, err)
		}
		if len(a.names) > 0 {
			crashpoint.Hit(crashpoint.ElasticRenameMoved)
		}
	}
	return s.put(ctx, s.ddlID(version, i), ddlMark{Kind: "ddl", Name: s.name, GTID: sg.gtid})
}

// nameStates returns, for each index name of names, the concrete indexes it stands for
// now, sorted (none: an empty list).
func (t *Target) nameStates(ctx context.Context, names map[string][]string) (map[string][]string, error) {
	out := make(map[string][]string, len(names))
	for n := range names {
		st, err := t.resolveName(ctx, n)
		if err != nil {
			return nil, err
		}
		ix := append([]string{}, st.Indices...)
		sort.Strings(ix)
		if len(ix) == 0 {
			ix = []string{}
		}
		out[n] = ix
	}
	return out, nil
}
