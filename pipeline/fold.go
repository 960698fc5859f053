package pipeline

import (
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

// folder reduces row changes to the last state per key. With full row images, applying
// that state (delete or upsert of the whole row) has the same effect as replaying every
// change, which is what makes batches idempotent.
type folder struct {
	// modeOf gives the delete mode of a table's rule (nil: every table deletes hard).
	modeOf func(*schema.Table) config.DeleteMode
	tables map[*schema.Table]*tableFold
	order  []*schema.Table
	rows   int
	bytes  int
}

type tableFold struct {
	index   map[string]int
	entries []entry
	ops     []change.RowOp
}

type entry struct {
	row     change.Row
	deleted bool
	// marked: a soft delete, kept with the mark and at.
	marked bool
	at     time.Time
	// origin is the transaction of the last change of the key.
	origin change.Origin
}

func newFolder(modeOf func(*schema.Table) config.DeleteMode) *folder {
	return &folder{modeOf: modeOf, tables: map[*schema.Table]*tableFold{}}
}

func (f *folder) empty() bool { return f.rows == 0 }

func (f *folder) set(t *schema.Table, k string, r change.Row, deleted bool, o change.Origin) {
	f.setEntry(t, k, entry{row: r, deleted: deleted, origin: o})
}

func (f *folder) setEntry(t *schema.Table, k string, e entry) {
	r := e.row
	tf := f.tables[t]
	if tf == nil {
		tf = &tableFold{index: map[string]int{}}
		f.tables[t] = tf
		f.order = append(f.order, t)
	}
	if i, ok := tf.index[k]; ok {
		tf.entries[i] = e
	} else {
		tf.index[k] = len(tf.entries)
		tf.entries = append(tf.entries, e)
	}
	f.rows++
	for _, v := range r {
		f.bytes += len(v) + 8
	}
}

// add folds one row event in. An update that changes the key deletes the old key. A
// table without a key is not folded: rows have no identity to fold by, and duplicates
// are legal, so its changes are kept in order.
func (f *folder) add(ev *change.Event) {
	if len(ev.Table.Key) == 0 {
		f.addOp(ev)
		return
	}
	o := change.Origin{GTID: ev.GTID, Time: ev.TxTime}
	switch ev.Kind {
	case change.Insert:
		f.set(ev.Table, change.Key(ev.Table, ev.After), ev.After, false, o)
	case change.Delete:
		f.remove(ev.Table, change.Key(ev.Table, ev.Before), ev.Before, o)
	case change.Update:
		kb, ka := change.Key(ev.Table, ev.Before), change.Key(ev.Table, ev.After)
		if kb != ka {
			f.remove(ev.Table, kb, ev.Before, o)
		}
		f.set(ev.Table, ka, ev.After, false, o)
	}
}

// remove folds the deletion of key k (last image r, deleted by transaction o) under the
// table's delete mode: hard deletes, soft keeps r marked with o's commit time, ignore
// leaves the key's state as it is (the target keeps what it last wrote, or what the fold
// holds).
func (f *folder) remove(t *schema.Table, k string, r change.Row, o change.Origin) {
	mode := config.DeletesHard
	if f.modeOf != nil {
		mode = f.modeOf(t)
	}
	switch mode {
	case config.DeletesIgnore:
		return
	case config.DeletesSoft:
		f.setEntry(t, k, entry{row: r, deleted: true, marked: true, at: o.Time, origin: o})
	default:
		f.set(t, k, r, true, o)
	}
}

func (f *folder) addOp(ev *change.Event) {
	t := ev.Table
	tf := f.tables[t]
	if tf == nil {
		tf = &tableFold{index: map[string]int{}}
		f.tables[t] = tf
		f.order = append(f.order, t)
	}
	tf.ops = append(tf.ops, change.RowOp{Kind: ev.Kind, Before: ev.Before, After: ev.After})
	f.rows++
	for _, v := range ev.Before {
		f.bytes += len(v) + 8
	}
	for _, v := range ev.After {
		f.bytes += len(v) + 8
	}
}

// take returns the folded changes, table by table in first-touched order, and resets.
func (f *folder) take() []change.TableChanges {
	out := make([]change.TableChanges, 0, len(f.order))
	for _, t := range f.order {
		tc := change.TableChanges{Table: t, Ops: f.tables[t].ops}
		for _, e := range f.tables[t].entries {
			if e.marked {
				tc.Marked = append(tc.Marked, change.MarkedRow{Row: e.row, At: e.at, GTID: e.origin.GTID})
			} else if e.deleted {
				tc.Deletes = append(tc.Deletes, e.row)
			} else {
				tc.Upserts = append(tc.Upserts, e.row)
				tc.Origins = append(tc.Origins, e.origin)
			}
		}
		out = append(out, tc)
	}
	*f = folder{modeOf: f.modeOf, tables: map[*schema.Table]*tableFold{}}
	return out
}
