package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/fault"
)

// xaHold is the first phase of an XA transaction being read.
type xaHold struct {
	gtid   string
	xid    string
	part   int // parts stored so far
	events []change.Event
	rows   int
	bytes  int
}

// holdPrepared keeps a row change of an XA transaction's first phase; a large one goes
// to the target's state in parts (bounded memory).
func (b *batcher) holdPrepared(ctx context.Context, ev *change.Event) error {
	if b.xa == nil || b.xa.gtid != ev.GTID {
		b.xa = &xaHold{gtid: ev.GTID, xid: ev.XA.ID}
	}
	h := b.xa
	h.events = append(h.events, *ev)
	h.rows++
	for _, v := range ev.Before {
		h.bytes += len(v) + 8
	}
	for _, v := range ev.After {
		h.bytes += len(v) + 8
	}
	b.batchRows++
	if h.rows >= b.o.Config.Apply.BatchRows || h.bytes >= b.o.Config.Apply.BatchBytes {
		wk := b.partWork()
		wk.prepared = []*change.Prepared{b.takePrepared(h.xid)}
		return b.give(ctx, wk)
	}
	return nil
}

// takePrepared turns the held changes into the next stored part.
func (b *batcher) takePrepared(xid string) *change.Prepared {
	h := b.xa
	p := &change.Prepared{XID: xid, GTID: h.gtid, Part: h.part, Events: h.events}
	h.part++
	h.events, h.rows, h.bytes = nil, 0, 0
	return p
}

// endXA settles the XA side of a transaction end before it is counted: an XA PREPARE
// stores the held changes (an empty part when there were none, so the decision finds a
// record), a plain end of a group with held changes commits them (MySQL's one-phase XA),
// and XA COMMIT / XA ROLLBACK resolve the stored transaction after the changes before it.
func (b *batcher) endXA(ctx context.Context, ev *change.Event) error {
	held := b.xa != nil && b.xa.gtid == ev.GTID
	switch {
	case ev.XA != nil && ev.XA.Op == change.XAPrepare:
		if !held {
			b.xa = &xaHold{gtid: ev.GTID, xid: ev.XA.ID}
		}
		if b.xa.xid != ev.XA.ID {
			return fmt.Errorf("transaction %s: XA PREPARE of %s after rows of XA transaction %s", ev.GTID, ev.XA.ID, b.xa.xid)
		}
		if !held || len(b.xa.events) > 0 || b.xa.part == 0 {
			wk := b.partWork()
			wk.prepared = []*change.Prepared{b.takePrepared(ev.XA.ID)}
			b.xa = nil
			return b.give(ctx, wk)
		}
		b.xa = nil
	case ev.XA != nil:
		b.xa = nil
		wk := b.partWork()
		wk.resolve, wk.xaGTID, wk.xaTime = ev.XA, ev.GTID, ev.Time
		return b.give(ctx, wk)
	case held:
		h := b.xa
		if h.part > 0 {
			// A one-phase commit so large that parts went to the state already: store
			// the rest and resolve it like an XA COMMIT.
			wk := b.partWork()
			wk.prepared = []*change.Prepared{b.takePrepared(h.xid)}
			wk.resolve, wk.xaGTID, wk.xaTime = &change.XA{Op: change.XACommit, ID: h.xid}, ev.GTID, ev.Time
			b.xa = nil
			return b.give(ctx, wk)
		}
		b.xa = nil
		for i := range h.events {
			if err := b.addRow(ctx, &h.events[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolvePrepared applies (XA COMMIT) or drops (XA ROLLBACK) a stored prepared
// transaction, part by part so a large one never has to fit in memory.
func (w *worker) resolvePrepared(ctx context.Context, wk *work) error {
	xa := wk.resolve
	rows := 0
	found, err := w.tx.ResolvePrepared(ctx, xa.ID, xa.Op == change.XACommit, func(events []change.Event) error {
		// The stored changes are applied with the same ordering of foreign key actions
		// as the batcher's (see fkaction.go), at the XA COMMIT's place in the stream.
		f := newFolder(w.modeOf)
		fo := fkOrder{g: wk.fkGraph}
		flush := func() error {
			rows += f.rows
			changes := f.take()
			if err := w.tx.Apply(ctx, changes); err != nil {
				if errors.Is(err, fault.ErrTransient) {
					return err
				}
				return &applyError{err: fmt.Errorf("apply XA transaction %s at its XA COMMIT (GTID %s): %w", xa.ID, wk.xaGTID, err), txns: 1}
			}
			for _, tc := range changes {
				up, del := opCounts(tc)
				w.o.Metrics.Rows(tc.Table.QualifiedName(), up, del)
			}
			if err := applyFK(ctx, w.tx, wk.fkGraph, fo.take()); err != nil {
				if errors.Is(err, fault.ErrTransient) {
					return err
				}
				return &applyError{err: fmt.Errorf("apply foreign key actions of XA transaction %s at its XA COMMIT (GTID %s): %w", xa.ID, wk.xaGTID, err), txns: 1}
			}
			crashpoint.Hit(crashpoint.StreamXACommitResolve)
			return nil
		}
		for i := range events {
			ev := &events[i]
			ev.Table = w.intern(ev.Table)
			// The changes take effect at the XA COMMIT: a soft delete is marked with its time.
			ev.TxTime = wk.xaTime
			if fo.flushBefore(ev) {
				if err := flush(); err != nil {
					return err
				}
			}
			f.add(ev)
			if act, first := fo.after(f, ev); act != nil {
				if first {
					if err := flush(); err != nil {
						return err
					}
				}
				fo.push(act)
			}
		}
		return flush()
	})
	if err != nil {
		var ae *applyError
		if errors.As(err, &ae) {
			return err
		}
		return fmt.Errorf("XA %s %s (GTID %s): %w", strings.ToUpper(xa.Op.String()), xa.ID, wk.xaGTID, err)
	}
	if !found {
		// Its PREPARE is older than the stream's start: the snapshot waits until no XA
		// transaction is prepared, so only one that touched no selected table or one
		// prepared before an older version of the replicator read it gets here.
		w.o.Log.Warn("XA transaction decided whose XA PREPARE was not read by this replicator (before its start position): its changes, if it had any in the selected tables, are not known",
			"xid", xa.ID, "op", xa.Op.String(), "gtid", wk.xaGTID)
	}
	w.mu.Lock()
	w.stats.Rows += int64(rows)
	w.mu.Unlock()
	return nil
}
