package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/snapshot"
	"github.com/replicator/replicator/source"
)

// Online copies (plan.Copy) copy a table again while the stream applies, in key order,
// one chunk at a time, with the watermark algorithm of DBLog adapted to a read-only
// source:
//
//  1. The copier asks the batcher to open a window on the table. From then on the
//     batcher notes the key of every row of the table that the stream changes.
//  2. The copier reads the chunk (the rows after the last key copied, up to a limit) in
//     a consistent snapshot that sees every transaction the stream had read when the
//     window opened (snapshot.BeginChunkRead): the rows are the source's at some point
//     at or after the window's opening.
//  3. The copier hands the chunk to the batcher, which closes the window: the rows whose
//     key the stream changed while it was open are dropped (the stream applied their
//     changes, which are as new as the chunk or newer: its row images are whole), and
//     the rest go into the open batch after every change read so far, with the copy's
//     progress.
//
// A row not changed while the window was open is the same at the chunk's read as when
// the batch that takes the chunk applies it; a row changed is the stream's. The target
// applies the stream's changes of the table to the copy from its start on (a row not
// copied yet that the stream writes is written again by its chunk, or was changed in the
// window and kept), so when the last chunk lands the copy holds every row as of that
// batch, and the target swaps it in there. Windows are open only for one chunk's read;
// the keys they note are bounded by what the table takes in that time.
//
// What the batcher cannot reconcile makes it act on the copy instead: a DDL on the table
// starts the copy again with the new definition; a drop or rename of the table fails
// it; a foreign key action or a prepared XA transaction's decision that may change the
// table while a window is open makes the copier read the chunk again.

// CopyStore is what the copier reads of a target: the stored online copies.
type CopyStore interface {
	Copies(ctx context.Context) ([]*plan.Copy, error)
}

// CopyChecker is a CopyStore that refuses some tables before their copy starts (the
// reason is stored with the failed copy).
type CopyChecker interface {
	CheckCopy(table string) error
}

// CopyIndexer is a CopyStore that builds a copy's indexes beside the stream once its rows
// are nearly all copied (before its last chunk), so the batch that swaps it in does not
// build them while the stream waits. Best effort: what it did not build, the swap does.
type CopyIndexer interface {
	PrepareCopyIndexes(ctx context.Context, def *schema.Table) error
}

// CopyTx is a batch of a target that copies tables online (see plan.Copy); the worker
// calls it in stream order, in the batch that carries the copy's step.
type CopyTx interface {
	// StartCopy starts (or starts again, empty) the copy of def.
	StartCopy(ctx context.Context, def *schema.Table, estimate int64) error
	// CopyChunk writes rows (full-width rows of def) into the copy and records after,
	// the key of the last row read, as its progress. readAt is the GTID set the rows were
	// read at (every row's last change is covered by it): the metadata columns of column
	// transforms show it.
	CopyChunk(ctx context.Context, def *schema.Table, rows []change.Row, after change.Row, readAt string) error
	// FinishCopy swaps the copy in for the live table.
	FinishCopy(ctx context.Context, def *schema.Table) error
	// FailCopy gives the copy up, saying why.
	FailCopy(ctx context.Context, def *schema.Table, why string) error
}

// DefaultCopyChunkRows is how many rows an online copy reads per chunk when
// [snapshot] chunk_rows does not say.
const DefaultCopyChunkRows = 5000

// copyOp is one step of an online copy, applied by the worker after the changes of its
// work item.
type copyOp struct {
	kind     copyKind
	def      *schema.Table
	estimate int64
	rows     []change.Row
	after    change.Row
	readAt   string
	why      string
}

type copyKind uint8

const (
	copyStart copyKind = iota + 1
	copyChunk
	copyFinish
	copyFail
)

func (w *worker) applyCopy(ctx context.Context, ops []copyOp) error {
	if len(ops) == 0 {
		return nil
	}
	ct, ok := w.tx.(CopyTx)
	if !ok {
		return errors.New("the target does not copy tables online")
	}
	for _, op := range ops {
		var err error
		switch op.kind {
		case copyStart:
			err = ct.StartCopy(ctx, op.def, op.estimate)
		case copyChunk:
			err = ct.CopyChunk(ctx, op.def, op.rows, op.after, op.readAt)
			if err == nil {
				crashpoint.Hit(crashpoint.OnlineChunkApplied)
			}
		case copyFinish:
			err = ct.FinishCopy(ctx, op.def)
		case copyFail:
			err = ct.FailCopy(ctx, op.def, op.why)
		}
		if err != nil {
			return fmt.Errorf("online copy of %s: %w", op.def.QualifiedName(), err)
		}
	}
	return nil
}

// copyMsg is what the copier asks of the batcher; the batcher answers on reply.
type copyMsg struct {
	kind  msgKind
	table string
	// start and resume: the stored copy's definition (resume) and the estimate.
	def      *schema.Table
	estimate int64
	// chunk: the rows read, the key of the last, the GTID set they were read at (the
	// window's opening position), and whether it was the last chunk (open: whether the
	// copier has waited long enough for the stream's backlog).
	rows   []change.Row
	after  change.Row
	readAt string
	// highAt (last chunk): the source's position after the chunk was read, which covers
	// every chunk's read; the swap waits until the stream has passed it.
	highAt string
	last   bool
	why    string
	reply  chan copyReply
}

type msgKind uint8

const (
	msgStart msgKind = iota + 1
	msgResume
	msgOpen
	msgChunk
	msgFail
	// msgPosition asks for the position of the last transaction the batcher read.
	msgPosition
)

// copyReply answers a copyMsg: the definition to copy with, the GTIDs the stream had read
// when a window opened, and whether the copy starts over (from the first row, with def)
// or was given up (a DDL dropped the table).
type copyReply struct {
	def *schema.Table
	// gen counts the starts of the copy in this stream: a new one means it starts over.
	gen       int
	seen      []string
	restarted bool
	retry     bool
	gone      string
	// busy: the stream has a backlog; the copier waits before it opens the window.
	busy bool
	// finishing (msgPosition): a copy's last chunk is handed over and its swap waits for
	// the stream (copyState.finishAt).
	finishing bool
	err       error
}

// copyBacklog is the reader's backlog (events read ahead of the batcher) from which an
// online copy waits for the stream: streaming comes first, the copy takes what is left.
const copyBacklog = 1024

// copyYield bounds how long the copier waits for the stream's backlog before a chunk.
const copyYield = time.Second

// window notes the keys of a table's rows the stream changes while a chunk is read, and
// the foreign key actions whose parent is a direct parent of the table: those change rows
// without naming them, and are applied to the chunk's rows again (fkReplay).
type window struct {
	table string
	keys  map[string]struct{}
	fk    []windowFK
	valid bool
	// hold: the batcher reads no events while the chunk is read, so nothing can make
	// the window invalid (see copyHoldAfter).
	hold   bool
	opened time.Time
}

// copyHoldMax bounds how long a window holds the stream: a copier that does not hand its
// chunk over by then (its read failed and waits to retry) gives the stream back, and the
// window reads its chunk again.
const copyHoldMax = 10 * time.Second

// copyHoldAfter is how many windows in a row the stream may make invalid (foreign key
// actions through other tables, XA decisions) before the next window holds the stream
// for the read of its chunk: a copy always progresses however busy the stream is, at
// the cost of one chunk read's lag.
const copyHoldAfter = 3

// windowFK is one foreign key action of a parent row on the table under copy, along one
// edge: the parent row's values before and after (nil: deleted).
type windowFK struct {
	edge          schema.FKEdge
	before, after change.Row
}

// copyState is the batcher's view of the online copy under way.
type copyState struct {
	def *schema.Table
	gen int
	win *window
	// retries counts the windows in a row the stream made invalid.
	retries int
	// finishAt: every chunk is handed over; the copy is swapped in once the stream has
	// read the transactions up to this position (see finishCopy).
	finishAt string
}

// restartCopy starts the copy under way again from its first row with def.
func (b *batcher) restartCopy(def *schema.Table) copyOp {
	gen := 1
	if b.copy != nil {
		gen = b.copy.gen + 1
	}
	b.copy = &copyState{def: def, gen: gen}
	return copyOp{kind: copyStart, def: def}
}

// handleCopy answers one message of the copier in stream order.
func (b *batcher) handleCopy(ctx context.Context, m copyMsg) error {
	var r copyReply
	var err error
	switch m.kind {
	case msgStart, msgResume:
		def := b.defs[m.table]
		if def == nil && b.track != nil && m.kind == msgStart && m.def != nil {
			// A table the target does not hold: its definition as the source has it now
			// (read by the copier) is the stream's from here on.
			if def, err = b.track(m.def); err != nil {
				r.gone = err.Error()
				def, err = nil, nil
			} else {
				b.defs[m.table] = def
				b.rebuildFK()
			}
		}
		switch {
		case r.gone != "":
		case def == nil:
			r.gone = "the stream tracks no definition of it and the source has none"
		case len(def.Key) == 0:
			r.gone = "the table has no primary key: configure a key for it ([[tables]] key) or copy everything again with 'replicator snapshot'"
		case m.kind == msgResume && reflect.DeepEqual(def, m.def):
			b.copy = &copyState{def: def}
		default:
			b.copy = nil
			op := b.restartCopy(def)
			op.estimate = m.estimate
			r.restarted = m.kind == msgResume
			err = b.giveCopy(ctx, op)
		}
		if b.copy != nil {
			r.gen = b.copy.gen
		}
		r.def = def
	case msgOpen:
		if b.copy == nil || b.copy.def.QualifiedName() != m.table {
			r.gone = "its copy was ended by the stream"
			break
		}
		if len(b.events) > copyBacklog && !m.last {
			r.busy, r.def, r.gen = true, b.copy.def, b.copy.gen
			break
		}
		b.copy.win = &window{table: m.table, keys: map[string]struct{}{}, valid: true, hold: b.copy.retries >= copyHoldAfter, opened: time.Now()}
		if b.copy.win.hold {
			b.o.Log.Info("online copy: the stream made the last windows read their chunk again; this one holds the stream while its chunk is read", "table", m.table, "windows", b.copy.retries)
		}
		r.def, r.gen = b.copy.def, b.copy.gen
		r.seen = []string{b.lastPos.GTID}
		if !b.boundary && b.lastGTID != "" {
			r.seen = append(r.seen, b.lastGTID)
		}
	case msgChunk:
		if b.copy == nil || b.copy.def.QualifiedName() != m.table {
			r.gone = "its copy was ended by the stream"
			break
		}
		w := b.copy.win
		b.copy.win = nil
		r.def, r.gen = b.copy.def, b.copy.gen
		if w == nil || !w.valid {
			r.retry = true
			b.copy.retries++
			break
		}
		b.copy.retries = 0
		def := b.copy.def
		kept := m.rows[:0]
		for _, row := range m.rows {
			if _, changed := w.keys[change.Key(def, row)]; !changed {
				kept = append(kept, row)
			}
		}
		if len(w.fk) > 0 {
			n := len(kept)
			kept = fkReplay(kept, w.fk)
			b.o.Log.Debug("online copy: the window's foreign key actions applied to its chunk again", "table", m.table, "actions", len(w.fk), "rows", n, "kept", len(kept))
		}
		ops := []copyOp{{kind: copyChunk, def: def, rows: kept, after: m.after, readAt: m.readAt}}
		if m.last {
			// Only a table with foreign key actions waits (copyCaughtUp): a cascade over
			// rows the stream has not caught up with would change rows no later event
			// restores. Other tables' rows converge on the stream's full row images.
			if b.fk.g.Involves(def.QualifiedName()) {
				b.copy.finishAt = m.highAt
			}
			if b.copyCaughtUp() {
				ops = append(ops, b.finishOp())
			}
		}
		err = b.giveCopy(ctx, ops...)
	case msgPosition:
		r.seen = []string{b.lastPos.GTID}
		r.finishing = b.copy != nil && b.copy.finishAt != ""
	case msgFail:
		def := m.def
		if b.copy != nil && b.copy.def.QualifiedName() == m.table {
			def = b.copy.def
			b.copy = nil
		}
		if def == nil {
			db, table, _ := splitName(m.table)
			def = &schema.Table{Schema: db, Name: table}
		}
		err = b.giveCopy(ctx, copyOp{kind: copyFail, def: def, why: m.why})
	}
	m.reply <- r
	return err
}

// giveCopy hands the copy steps to the worker after every change read so far, in the
// open batch, which it commits when it ends at a transaction boundary: the chunks keep
// the worker busy, so a batch left open would only be committed when it is full, and the
// stream's lag would grow by a full batch's worth of time with every one.
func (b *batcher) giveCopy(ctx context.Context, ops ...copyOp) error {
	if !b.pending {
		b.pending, b.batchFrom = true, time.Now()
	}
	var wk *work
	if b.boundary && b.floored() {
		wk = b.commitWork()
	} else {
		wk = b.partWork()
	}
	wk.copy = ops
	return b.give(ctx, wk)
}

// noteCopy records a row change of the table under copy in the open window.
func (b *batcher) noteCopy(ev *change.Event) {
	c := b.copy
	if c == nil || c.win == nil || ev.Table == nil || ev.Table.QualifiedName() != c.win.table {
		return
	}
	if ev.XA != nil {
		// Applied at its XA COMMIT, which the window may not see: read the chunk again.
		c.win.valid = false
		return
	}
	for _, r := range []change.Row{ev.Before, ev.After} {
		if r != nil {
			c.win.keys[change.Key(ev.Table, r)] = struct{}{}
		}
	}
}

// copyAfterDDL acts on the copy under way after a schema change: the table's new
// definition starts it again, its drop (or rename away) gives it up.
func (b *batcher) copyAfterDDL(wk *work, tables []*schema.Table, dropped []string) {
	c := b.copy
	if c == nil {
		return
	}
	name := c.def.QualifiedName()
	for _, n := range dropped {
		if n == name {
			wk.copy = append(wk.copy, copyOp{kind: copyFail, def: c.def, why: "the table was dropped or renamed while it was copied"})
			b.copy = nil
			return
		}
	}
	for _, t := range tables {
		if t.QualifiedName() == name {
			b.o.Log.Info("DDL on a table being copied online: its copy starts again with the new definition", "table", name)
			wk.copy = append(wk.copy, b.restartCopy(t))
			return
		}
	}
}

// copyAfterFK notes a foreign key action that may change the table under copy in the
// open window: the action changes rows the stream does not name, some of which the
// chunk may have read before it. The target applies the action to the copy's rows
// already loaded (as to the live table); an action of a direct parent is applied again
// to the chunk's rows when it is handed over (fkReplay). An action reaching the table
// through other tables (or one fkReplay cannot repeat exactly) makes the window read its
// chunk again.
func (b *batcher) copyAfterFK(act *change.FKAction) {
	c := b.copy
	if c == nil || c.win == nil || !c.win.valid {
		return
	}
	target := c.def.QualifiedName()
	direct, other := fkReach(b.fk.g, act, target)
	if !other {
		for _, e := range direct {
			if !b.fkReplayable(c.def, e, act.After == nil) {
				other = true
				break
			}
		}
	}
	if other {
		b.o.Log.Debug("a foreign key action may change the table being copied online: its chunk is read again", "table", target, "parent", act.Parent.QualifiedName(), "gtid", act.GTID)
		c.win.valid = false
		return
	}
	for _, e := range direct {
		c.win.fk = append(c.win.fk, windowFK{edge: e, before: act.Before, after: act.After})
	}
}

// fkReach returns the edges from act's parent to table whose action act sets off, and
// whether act may change table through other tables too (or through table's own foreign
// keys: a self-reference, a cycle).
func fkReach(g *schema.FKGraph, act *change.FKAction, table string) (direct []schema.FKEdge, other bool) {
	del := act.After == nil
	var changed []int
	if !del {
		changed = schema.ChangedColumns(act.Before, act.After)
	}
	seen := map[string]bool{}
	for _, e := range g.Children(act.Parent.QualifiedName()) {
		hop, ok := fkStep(e, del, changed)
		if !ok {
			continue
		}
		if e.Child.QualifiedName() == table {
			direct = append(direct, e)
		}
		if fkMayReach(g, hop, table, seen) {
			other = true
		}
	}
	return direct, other
}

// fkHop is what an action does to the rows of a table: deletes them, or changes cols.
type fkHop struct {
	table string
	del   bool
	cols  []int
}

// fkStep is what edge e's action does to its child's rows when the parent's rows are
// deleted (del) or have columns changed; false when it changes nothing (RESTRICT, NO
// ACTION, or an update of columns the edge does not refer to).
func fkStep(e schema.FKEdge, del bool, changed []int) (fkHop, bool) {
	a, ok := e.Fires(del, changed)
	if !ok {
		return fkHop{}, false
	}
	h := fkHop{table: e.Child.QualifiedName(), del: del && a == "CASCADE"}
	if !h.del {
		h.cols = e.Cols
	}
	return h, true
}

// fkMayReach reports whether the rows h changes set off an action that changes table.
func fkMayReach(g *schema.FKGraph, h fkHop, table string, seen map[string]bool) bool {
	// Each table is visited once per way its rows change: a cycle of foreign keys ends.
	k := fmt.Sprint(h.table, h.del, h.cols)
	if seen[k] {
		return false
	}
	seen[k] = true
	for _, e := range g.Children(h.table) {
		next, ok := fkStep(e, h.del, h.cols)
		if !ok {
			continue
		}
		if next.table == table || fkMayReach(g, next, table, seen) {
			return true
		}
	}
	return false
}

// fkReplayable reports whether fkReplay repeats edge e's action on def's chunk rows
// exactly as the target applies it: the referencing columns compare by their bytes (no
// string collation that folds case or accents), and the table's rule neither filters
// rows (a changed row may leave the filter) nor keeps deleted rows (the copy must hold a
// cascaded delete's row marked, which the chunk no longer has).
func (b *batcher) fkReplayable(def *schema.Table, e schema.FKEdge, del bool) bool {
	for _, c := range e.Cols {
		if coll := def.Columns[c].Collation; coll != "" && coll != "binary" && !strings.HasSuffix(coll, "_bin") {
			return false
		}
	}
	if b.o.Routes != nil {
		if rt := b.o.Routes.For(def.Schema, def.Name); rt != nil {
			if m := rt.Deletes(); rt.Where() != nil || (del && m != "" && m != config.DeletesHard) {
				return false
			}
		}
	}
	return true
}

// fkReplay applies the window's foreign key actions, in stream order, to the chunk's
// rows: a row read before an action has the parent's old values and gets the action's
// result; one read after it no longer holds them (a row that came to hold them again
// did so by a change the stream names, and was left out of the chunk, or by a later
// action, applied after). Rows a cascaded delete removes are left out.
func fkReplay(rows []change.Row, acts []windowFK) []change.Row {
	for _, a := range acts {
		kept := rows[:0]
		for _, row := range rows {
			if !fkMatches(row, a) {
				kept = append(kept, row)
				continue
			}
			action := a.edge.OnDelete()
			if a.after != nil {
				action = a.edge.OnUpdate()
			}
			if a.after == nil && action == "CASCADE" {
				continue
			}
			row = slices.Clone(row)
			for i, c := range a.edge.Cols {
				if action == "CASCADE" {
					row[c] = a.after[a.edge.RefCols[i]]
				} else {
					row[c] = nil // SET NULL
				}
			}
			kept = append(kept, row)
		}
		rows = kept
	}
	return rows
}

// fkMatches reports whether row refers to the parent row a acted on.
func fkMatches(row change.Row, a windowFK) bool {
	for i, c := range a.edge.Cols {
		r := a.edge.RefCols[i]
		if c >= len(row) || r >= len(a.before) || row[c] == nil || a.before[r] == nil || !bytes.Equal(row[c], a.before[r]) {
			return false
		}
	}
	return true
}

// copyCaughtUp reports whether the stream has read every transaction up to the copy's
// finishAt. Until then the copy keeps its place beside the live table: its chunks were
// read at positions the stream has not reached, so it may hold rows already gone (or
// changed) at the source that the live table still has, and only the live table can find
// the rows a foreign key action changes until the stream is past them. (A row the stream
// has not caught up with is otherwise only a state the stream's later row events pass
// over again.)
func (b *batcher) copyCaughtUp() bool {
	if b.copy == nil || b.copy.finishAt == "" {
		return true
	}
	ok, err := source.Covers(b.lastPos.Flavor, b.lastPos.GTID, b.copy.finishAt)
	return err == nil && ok
}

// finishOp ends the copy under way: the target swaps it in.
func (b *batcher) finishOp() copyOp {
	def := b.copy.def
	b.copy = nil
	if b.o.confirm != nil {
		b.o.confirm(def.Schema, def.Name)
	}
	return copyOp{kind: copyFinish, def: def}
}

// finishCopy swaps in a copy whose last chunk waited for the stream, once the stream has
// passed its finishAt at a transaction boundary.
func (b *batcher) finishCopy(ctx context.Context) error {
	if b.copy == nil || b.copy.finishAt == "" || !b.boundary || !b.copyCaughtUp() {
		return nil
	}
	return b.giveCopy(ctx, b.finishOp())
}

// copyWindow is the open window of the copy under way, nil when none is open.
func (b *batcher) copyWindow() *window {
	if b.copy == nil {
		return nil
	}
	return b.copy.win
}

// copyAfterXA makes the open window read its chunk again: a prepared transaction's
// decision applies changes the batcher does not see row by row.
func (b *batcher) copyAfterXA() {
	if b.copy != nil && b.copy.win != nil {
		b.copy.win.valid = false
	}
}

// copier runs the stored online copies one after the other, talking to the batcher.
type copier struct {
	o     Options
	store CopyStore
	msgs  chan<- copyMsg
	rows  int
	// finished holds the copies this stream ended, until their end is committed (a copy
	// read back as still copying before then is not started again).
	finished map[string]time.Time
}

func (c *copier) ask(ctx context.Context, m copyMsg) (copyReply, error) {
	m.reply = make(chan copyReply, 1)
	select {
	case c.msgs <- m:
	case <-ctx.Done():
		return copyReply{}, ctx.Err()
	}
	select {
	case r := <-m.reply:
		return r, r.err
	case <-ctx.Done():
		return copyReply{}, ctx.Err()
	}
}

// run polls the stored copies and carries them out until ctx ends. A failing read is
// logged and tried again: the stream goes on whatever the copies do.
func (c *copier) run(ctx context.Context) {
	backoff := time.Second
	// Copies start once the stream has read what the source held when it started: a
	// table asked for because the target lacks it may be created by a CREATE TABLE the
	// stream still has to read, which then takes its rows from the binary log instead.
	for {
		err := c.waitCaughtUp(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		c.o.Log.Warn("online copies wait for the source", "error", err, "retry_in", backoff.String())
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, 30*time.Second)
	}
	backoff = time.Second
	for {
		next, err := c.next(ctx)
		if err == nil && next != nil {
			err = c.copyTable(ctx, next)
			if err == nil {
				backoff = time.Second
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		wait := 2 * time.Second
		if err != nil {
			c.o.Log.Warn("online copy interrupted; trying again", "error", err, "retry_in", backoff.String())
			wait, backoff = backoff, min(backoff*2, 30*time.Second)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
	}
}

// waitCaughtUp waits until the batcher has read every transaction the source held when
// it was called.
func (c *copier) waitCaughtUp(ctx context.Context) error {
	conn, err := c.o.Dialer.Dial(ctx)
	if err != nil {
		return err
	}
	want, err := conn.CurrentGTID(ctx)
	conn.Close()
	if err != nil {
		return err
	}
	for {
		r, err := c.ask(ctx, copyMsg{kind: msgPosition})
		if err != nil {
			return err
		}
		if len(r.seen) > 0 {
			if ok, err := source.Covers(conn.Flavor, r.seen[0], want); err == nil && ok {
				return nil
			}
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitFinished waits until the batcher has swapped in the copy whose last chunk it was
// handed.
func (c *copier) waitFinished(ctx context.Context) error {
	for {
		r, err := c.ask(ctx, copyMsg{kind: msgPosition})
		if err != nil {
			return err
		}
		if !r.finishing {
			return nil
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// next returns the oldest copy to carry out, nil when there is none.
func (c *copier) next(ctx context.Context) (*plan.Copy, error) {
	all, err := c.store.Copies(ctx)
	if err != nil {
		return nil, err
	}
	for _, cp := range all {
		if cp.State != plan.CopyRequested && cp.State != plan.CopyCopying {
			continue
		}
		if at, ok := c.finished[cp.Table]; ok && !cp.RequestedAt.After(at) {
			continue // ended by this stream, not committed yet
		}
		return cp, nil
	}
	return nil, nil
}

func (c *copier) copyTable(ctx context.Context, cp *plan.Copy) error {
	conn, err := c.o.Dialer.Dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	db, table, _ := splitName(cp.Table)
	if ck, ok := c.store.(CopyChecker); ok {
		if err := ck.CheckCopy(cp.Table); err != nil {
			c.o.Log.Error("online copy refused", "table", cp.Table, "reason", err.Error())
			_, err := c.ask(ctx, copyMsg{kind: msgFail, table: cp.Table, why: err.Error()})
			c.finished[cp.Table] = time.Now()
			return err
		}
	}
	estimate, _ := snapshot.EstimateRows(ctx, conn, db, table)
	kind := msgStart
	after := cp.After
	def := cp.Def
	if cp.State == plan.CopyCopying && cp.Def != nil {
		kind = msgResume
	} else if def, err = conn.LoadTable(ctx, db, table); err != nil {
		return err
	}
	r, err := c.ask(ctx, copyMsg{kind: kind, table: cp.Table, def: def, estimate: estimate})
	if err != nil {
		return err
	}
	if r.gone != "" {
		c.o.Log.Error("online copy refused", "table", cp.Table, "reason", r.gone)
		_, err := c.ask(ctx, copyMsg{kind: msgFail, table: cp.Table, why: r.gone})
		c.finished[cp.Table] = time.Now()
		return err
	}
	if kind == msgStart || r.restarted {
		after = nil
	}
	def = r.def
	gen := r.gen
	rt := c.o.Routes.For(def.Schema, def.Name)
	if rt == nil {
		return fmt.Errorf("table %s is not selected by any [[tables]] rule", cp.Table)
	}
	c.o.Log.Info("online copy", "table", cp.Table, "resumed", after != nil, "estimate", estimate, "reason", cp.Reason)
	start := time.Now()
	var rows int64
	waited := time.Duration(0)
	// Where the copy's time goes, for its end log: waiting for the stream's backlog,
	// reading chunks, and handing them to the batcher (which waits for the worker).
	var busy, reading, handing time.Duration
	for {
		// The stream's backlog makes the copy wait, up to copyYield per chunk: streaming
		// first, and the copy still moves on when the stream never catches up.
		w, err := c.ask(ctx, copyMsg{kind: msgOpen, table: cp.Table, last: waited >= copyYield})
		if err != nil {
			return err
		}
		if w.gone != "" {
			c.finished[cp.Table] = time.Now()
			return nil
		}
		if w.busy {
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			waited += 100 * time.Millisecond
			busy += 100 * time.Millisecond
			continue
		}
		waited = 0
		if w.gen != gen {
			def, gen, after = w.def, w.gen, nil // started again (a DDL, a foreign key action)
		}
		cols, err := rt.Columns(def)
		if err != nil {
			return err
		}
		where := ""
		if rt.Where() != nil {
			where = rt.Where().SQL()
		}
		t0 := time.Now()
		read, err := c.readChunk(ctx, conn, def, cols, after, w.seen, where)
		if err != nil {
			return err
		}
		reading += time.Since(t0)
		last := len(read) < c.rows
		if ix, ok := c.store.(CopyIndexer); ok && last {
			t0 := time.Now()
			if err := ix.PrepareCopyIndexes(ctx, def); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				c.o.Log.Warn("online copy: the indexes could not be built beside the stream; the swap builds them", "table", cp.Table, "error", err)
			} else {
				c.o.Log.Info("online copy: indexes built beside the stream", "table", cp.Table, "duration", time.Since(t0).Round(time.Millisecond).String())
			}
		}
		next := after
		if len(read) > 0 {
			next = read[len(read)-1]
		}
		t1 := time.Now()
		// The chunk's snapshot saw the stream's position at the window's opening (seen[0]);
		// rows the stream changed after it are left out of the chunk (the window), so
		// every row kept was last changed within that position.
		readAt := ""
		if len(w.seen) > 0 {
			readAt = w.seen[0]
		}
		highAt := ""
		if last {
			// Read after the chunk: it covers every chunk's read position.
			if highAt, err = conn.CurrentGTID(ctx); err != nil {
				return err
			}
		}
		r, err := c.ask(ctx, copyMsg{kind: msgChunk, table: cp.Table, rows: read, after: keyOnly(def, next), readAt: readAt, highAt: highAt, last: last})
		if err != nil {
			return err
		}
		handing += time.Since(t1)
		switch {
		case r.gone != "":
			c.finished[cp.Table] = time.Now()
			return nil
		case r.gen != gen:
			def, gen, after = r.def, r.gen, nil
			continue
		case r.retry:
			continue
		}
		rows += int64(len(read))
		after = next
		if last {
			// The swap waits for the stream to pass the last chunk's read (copyCaughtUp);
			// the next copy starts after it.
			t2 := time.Now()
			if err := c.waitFinished(ctx); err != nil {
				return err
			}
			handing += time.Since(t2)
			c.finished[cp.Table] = time.Now()
			c.o.Log.Info("online copy done", "table", cp.Table, "rows", rows, "duration", time.Since(start).Round(time.Millisecond).String(),
				"waiting_for_stream", busy.String(), "reading", reading.Round(time.Millisecond).String(), "handing_over", handing.Round(time.Millisecond).String())
			return nil
		}
	}
}

// readChunk reads the next chunk in a consistent snapshot that sees what the stream had
// read (seen).
func (c *copier) readChunk(ctx context.Context, conn *source.Conn, def *schema.Table, cols []int, after change.Row, seen []string, where string) ([]change.Row, error) {
	if err := snapshot.BeginChunkRead(ctx, conn, seen); err != nil {
		return nil, err
	}
	rows, err := snapshot.ReadAfter(ctx, conn, def, cols, after, c.rows, where)
	if endErr := snapshot.EndChunkRead(ctx, conn); err == nil && endErr != nil {
		err = endErr
	}
	return rows, err
}

// keyOnly keeps the key values of a full-width row (what the progress stores).
func keyOnly(def *schema.Table, r change.Row) change.Row {
	if r == nil {
		return nil
	}
	out := make(change.Row, len(def.Columns))
	for _, k := range def.Key {
		out[k] = r[k]
	}
	return out
}

func splitName(n string) (db, table string, ok bool) {
	for i := 0; i < len(n); i++ {
		if n[i] == '.' {
			return n[:i], n[i+1:], true
		}
	}
	return "", n, false
}
