package elastic

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/replicator/replicator/applier/elastic/compose"
	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/plan"
)

// LoadProgress implements snapshot.Target.
func (t *Target) LoadProgress(ctx context.Context) (*plan.Progress, error) {
	cp, err := t.state.checkpoint(ctx)
	if err != nil || cp == nil {
		return nil, err
	}
	pos := change.Position{Flavor: cp.Flavor, GTID: cp.GTID}
	prog := &plan.Progress{Position: pos, Complete: cp.Phase == PhaseStreaming, Tables: map[string]*plan.TableProgress{}}
	if prog.Complete {
		return prog, nil
	}
	if err := t.setSnapshot(pos); err != nil {
		return nil, err
	}
	tables, schemas, err := t.state.tables(ctx)
	if err != nil {
		return nil, err
	}
	if tables == nil {
		return nil, fmt.Errorf("the checkpoint in %s names a snapshot at %s but its plan document is missing: delete the checkpoint document %s to start over", t.state.index, pos.GTID, t.state.checkpointID())
	}
	var chunkIDs []string
	for name, td := range tables {
		sd := schemas[name]
		if sd == nil || sd.Definition.Table == nil {
			return nil, fmt.Errorf("snapshot state of %s has no stored definition in %s: delete the checkpoint document to start over", name, t.state.index)
		}
		tp := &plan.TableProgress{Table: sd.Definition.Table, Columns: sd.Definition.Columns,
			Chunks: td.Chunks, ChunkDone: map[int]bool{}, Done: td.Done, Estimate: td.Estimate}
		if sd.GTID != "" && sd.GTID != pos.GTID { // copied again after a DDL (RestartTables)
			tp.From = change.Position{Flavor: pos.Flavor, GTID: sd.GTID}
		}
		prog.Tables[name] = tp
		for _, c := range td.Chunks {
			chunkIDs = append(chunkIDs, t.state.chunkID(name, c.ID))
		}
	}
	done, err := t.state.mget(ctx, chunkIDs)
	if err != nil {
		return nil, err
	}
	for name, tp := range prog.Tables {
		for _, c := range tp.Chunks {
			if _, ok := done[t.state.chunkID(name, c.ID)]; ok {
				tp.ChunkDone[c.ID] = true
			}
		}
	}
	return prog, nil
}

// setSnapshot records the snapshot position and the version its documents carry.
func (t *Target) setSnapshot(pos change.Position) error {
	v, err := Version(pos)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.snapPos, t.snapVersion = &pos, v
	t.mu.Unlock()
	return nil
}

func (t *Target) snapshotVersion() (change.Position, int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.snapPos == nil {
		return change.Position{}, 0, errors.New("snapshot chunk copied before the snapshot started")
	}
	return *t.snapPos, t.snapVersion, nil
}

// Start implements snapshot.Target. Without transactions, the checkpoint document is the
// commit point: it is written last, so a crash before it leaves no snapshot (the next run
// starts over, finding the indexes it created empty), and a crash after it leaves a
// complete plan to resume.
func (t *Target) Start(ctx context.Context, pos change.Position, plans []*plan.Table, onExisting string) error {
	begun := time.Now()
	if err := t.setSnapshot(pos); err != nil {
		return err
	}
	s := t.state
	if err := s.reset(ctx); err != nil {
		return err
	}
	if err := t.resetCopies(ctx); err != nil {
		return err
	}
	// The plan goes first, so a later reset finds every document this start writes.
	names := make([]string, 0, len(plans))
	for _, p := range plans {
		names = append(names, p.Name())
	}
	if err := s.put(ctx, s.planID(), planDoc{Kind: "plan", Name: s.name, GTID: pos.GTID, Tables: names}); err != nil {
		return err
	}
	// Tables are prepared a few at a time (index creation waits for the cluster state to
	// change, which is slow one by one); tables sharing an index go through one worker, in
	// order, so the second finds the index the first created.
	groups := map[string][]*plan.Table{}
	var order []string
	names = names[:0]
	for _, p := range plans {
		index, err := t.aliasOf(p.Table)
		if err != nil {
			return err
		}
		names = append(names, p.Name())
		if groups[index] == nil {
			order = append(order, index)
		}
		groups[index] = append(groups[index], p)
	}
	for index, tables := range t.routes.ESCollisions(names) {
		return fmt.Errorf("tables %v would all go to index %s (index names are lower-cased, invalid characters become '_'), overwriting each other's documents: give each a [[tables]] rule of its own with a distinct target", tables, index)
	}
	if err := t.checkFanInPlans(plans); err != nil {
		return err
	}
	err := forEach(ctx, order, prepareWorkers, func(ctx context.Context, index string) error {
		for i, p := range groups[index] {
			how := onExisting
			if i > 0 {
				// The first table's index, just prepared: an empty index in snapshot
				// mode, its recorded settings the ones to restore.
				how = ""
			}
			restore, err := t.prepareIndex(ctx, index, p, how)
			if err != nil {
				return err
			}
			if err := s.put(ctx, s.schemaID(p.Name()), schemaDoc{Kind: "schema", Name: s.name, SourceTable: p.Name(), GTID: pos.GTID,
				Definition: storedPlan{Table: p.Table, Columns: p.Columns}}); err != nil {
				return err
			}
			if err := s.put(ctx, s.tableID(p.Name()), tableDoc{Kind: "table", Name: s.name, SourceTable: p.Name(), Index: index,
				Estimate: p.RowsEstimate, Chunks: p.Chunks, Restore: restore}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.log.Debug("snapshot indexes prepared", "tables", len(plans), "took", time.Since(begun).String())
	return s.saveCheckpoint(ctx, pos, PhaseSnapshot)
}

// prepareWorkers is how many indexes Start prepares at once.
const prepareWorkers = 4

// forEach runs fn for every item with up to n at once and returns the first error.
func forEach[T any](ctx context.Context, items []T, n int, fn func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, n)
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, it); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// prepareIndex creates a table's index, or deals with an existing one by onExisting, and
// leaves it in snapshot mode (no refresh, no replicas). It returns the settings
// FinishTable restores: the index's own, as it had them before (an existing index) or as
// its templates gave them (a new one).
func (t *Target) prepareIndex(ctx context.Context, index string, p *plan.Table, onExisting string) (indexSettings, error) {
	info, err := t.inspectIndex(ctx, index)
	if err != nil {
		return indexSettings{}, err
	}
	if info.Exists {
		switch onExisting {
		case "recreate":
			if err := t.deleteIndex(ctx, index); err != nil {
				return indexSettings{}, err
			}
			info = &indexInfo{}
		case "truncate":
			if err := t.deleteAllDocs(ctx, index); err != nil {
				return indexSettings{}, err
			}
		default:
			n, err := t.countDocs(ctx, index)
			if err != nil {
				return indexSettings{}, err
			}
			if n > 0 {
				return indexSettings{}, fmt.Errorf("target index %s already holds %d documents: delete it, or set snapshot.on_existing = \"truncate\" or \"recreate\"", index, n)
			}
		}
	}
	if !info.Exists {
		return t.prepareNewIndex(ctx, index, p.Table, p.Columns)
	}
	if err := t.addMissingFields(ctx, index, info, p.Table, p.Columns); err != nil {
		return indexSettings{}, err
	}
	return t.enterSnapshotMode(ctx, index, info, p.Table)
}

// FinishTable implements snapshot.Target: the index gets its refresh interval and replicas
// back and is refreshed, then the table is marked done.
func (t *Target) FinishTable(ctx context.Context, p *plan.Table) error {
	s := t.state
	var td tableDoc
	found, err := s.get(ctx, s.tableID(p.Name()), &td)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("finish %s: no snapshot state in %s", p.Name(), s.index)
	}
	if td.Done {
		return nil
	}
	if err := t.leaveSnapshotMode(ctx, td.Index, td.Restore); err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.SnapshotIndexBuild)
	td.Done = true
	return s.put(ctx, s.tableID(p.Name()), td)
}

// Finish implements snapshot.Target: streaming continues from pos.
func (t *Target) Finish(ctx context.Context, pos change.Position) error {
	if len(t.cfg.Documents) > 0 {
		// The tables' indexes hold the snapshot's rows, all at pos, and the stream has
		// not started: composed from them, documents are what one read view at pos
		// would compose. A crash before the checkpoint below composes them again.
		version, err := PositionVersion(pos)
		if err != nil {
			return err
		}
		var plan planDoc
		if _, err := t.state.get(ctx, t.state.planID(), &plan); err != nil {
			return err
		}
		if err := t.composeAll(ctx, func(*compose.Spec, *composedMarker) bool { return true }, plan.GTID, version); err != nil {
			return err
		}
	}
	return t.state.saveCheckpoint(ctx, pos, PhaseStreaming)
}

// ApplyRows implements snapshot.Target: the rows are indexed and the keys without a row
// deleted, all with pos's version, which is at least the version of every snapshot
// document (they carry the first view's) and below every streamed change after pos.
func (t *Target) ApplyRows(ctx context.Context, p *plan.Table, pos change.Position, keys, rows []change.Row) error {
	if err := t.checkLease(); err != nil {
		return err
	}
	version, err := PositionVersion(pos)
	if err != nil {
		return err
	}
	index, err := t.indexOf(p.Table)
	if err != nil {
		return err
	}
	full, err := t.encoder(p.Table, p.Columns)
	if err != nil {
		return err
	}
	enc, origin := full.Projected(), change.Origin{GTID: pos.GTID}
	indexJSON, err := t.writeTarget(ctx, index)
	if err != nil {
		return fmt.Errorf("snapshot of %s: changed rows at GTID %s: %w", p.Name(), pos.GTID, err)
	}
	where := fmt.Sprintf("snapshot of %s: changed rows at GTID %s", p.Name(), pos.GTID)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := newPipelinedSender(ctx, t, where)
	body := getBody()
	kept := make(map[string]bool, len(rows))
	var id []byte
	add := func(op string, doc *esdoc.Prepared) error {
		body.begin(op, indexJSON, id, version)
		if doc != nil {
			if body.buf, err = enc.AppendPreparedDoc(body.buf, *doc); err != nil {
				body.undo()
				return fmt.Errorf("row of %s (_id %s): %w", p.Name(), id, err)
			}
			body.buf = append(body.buf, '\n')
		}
		return placeLast(&body, t.bulk, p.Name(), id, w.send)
	}
	fillErr := func() error {
		for _, r := range rows {
			pr := enc.Prepare(r, origin) // a hashed key is hashed once for the _id and the document
			if id, err = enc.AppendPreparedID(id[:0], pr); err != nil {
				return fmt.Errorf("row of %s: %w", p.Name(), err)
			}
			kept[string(id)] = true
			if err := add("index", &pr); err != nil {
				return err
			}
		}
		for _, k := range keys {
			if id, err = full.AppendID(id[:0], k); err != nil {
				return fmt.Errorf("key of %s: %w", p.Name(), err)
			}
			if kept[string(id)] {
				continue
			}
			if err := add("delete", nil); err != nil {
				return err
			}
		}
		return nil
	}()
	if fillErr == nil && body.len() > 0 {
		fillErr = w.send(body)
	} else {
		putBody(body)
	}
	_, sendErr := w.wait()
	if fillErr != nil && !errors.Is(fillErr, errSenderFailed) {
		return fillErr
	}
	return sendErr
}

// RestartTables implements snapshot.Target: the old plan's chunk marks are deleted, the
// index is deleted and created again for the new definition, then the definition (as of
// pos) and the table's new chunks are stored. A kill in between leaves a plan whose
// chunks are not done, which the resumed snapshot copies and, finding the DDL in the
// binary log again, replaces again. An index shared with another table cannot be emptied
// for one of them: ErrCopyAllAgain.
func (t *Target) RestartTables(ctx context.Context, pos change.Position, plans []*plan.Table) error {
	if err := t.checkLease(); err != nil {
		return err
	}
	s := t.state
	tables, _, err := s.tables(ctx)
	if err != nil {
		return err
	}
	indexes := make([]string, len(plans))
	for i, p := range plans {
		if indexes[i], err = t.indexOf(p.Table); err != nil {
			return err
		}
		for name, td := range tables {
			if name != p.Name() && td.Index == indexes[i] {
				return fmt.Errorf("index %s also holds %s: %w", indexes[i], name, plan.ErrCopyAllAgain)
			}
		}
	}
	for i, p := range plans {
		if old := tables[p.Name()]; old != nil {
			for _, c := range old.Chunks {
				if _, err := call(ctx, s.es, http.MethodDelete, s.docPath(s.chunkID(p.Name(), c.ID)), nil, nil, nil, http.StatusNotFound); err != nil {
					return fmt.Errorf("reset chunk %d of %s in %s: %w", c.ID, p.Name(), s.index, err)
				}
			}
		}
		if err := t.deleteIndex(ctx, indexes[i]); err != nil {
			return err
		}
		restore, err := t.prepareNewIndex(ctx, indexes[i], p.Table, p.Columns)
		if err != nil {
			return err
		}
		if err := s.put(ctx, s.schemaID(p.Name()), schemaDoc{Kind: "schema", Name: s.name, SourceTable: p.Name(), GTID: pos.GTID,
			Definition: storedPlan{Table: p.Table, Columns: p.Columns}}); err != nil {
			return err
		}
		if err := s.put(ctx, s.tableID(p.Name()), tableDoc{Kind: "table", Name: s.name, SourceTable: p.Name(), Index: indexes[i],
			Estimate: p.RowsEstimate, Chunks: p.Chunks, Restore: restore}); err != nil {
			return err
		}
	}
	return nil
}
