package pipeline

import (
	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/schema"
)

// folder reduces row changes to the last state per key. With full row images, applying
// that state (delete or upsert of the whole row) has the same effect as replaying every
// change, which is what makes batches idempotent.
type folder struct {
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
}

func newFolder() *folder { return &folder{tables: map[*schema.Table]*tableFold{}} }

func (f *folder) empty() bool { return f.rows == 0 }

func (f *folder) set(t *schema.Table, k string, r change.Row, deleted bool) {
	tf := f.tables[t]
	if tf == nil {
		tf = &tableFold{index: map[string]int{}}
		f.tables[t] = tf
		f.order = append(f.order, t)
	}
	if i, ok := tf.index[k]; ok {
		tf.entries[i] = entry{row: r, deleted: deleted}
	} else {
		tf.index[k] = len(tf.entries)
		tf.entries = append(tf.entries, entry{row: r, deleted: deleted})
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
	switch ev.Kind {
	case change.Insert:
		f.set(ev.Table, change.Key(ev.Table, ev.After), ev.After, false)
	case change.Delete:
		f.set(ev.Table, change.Key(ev.Table, ev.Before), ev.Before, true)
	case change.Update:
		kb, ka := change.Key(ev.Table, ev.Before), change.Key(ev.Table, ev.After)
		if kb != ka {
			f.set(ev.Table, kb, ev.Before, true)
		}
		f.set(ev.Table, ka, ev.After, false)
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
			if e.deleted {
				tc.Deletes = append(tc.Deletes, e.row)
			} else {
				tc.Upserts = append(tc.Upserts, e.row)
			}
		}
		out = append(out, tc)
	}
	*f = folder{tables: map[*schema.Table]*tableFold{}}
	return out
}
