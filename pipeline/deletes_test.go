package pipeline

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/schema"
)

// TestFoldDeleteModes folds one run of changes under each delete mode and checks the
// state per key: hard deletes, soft keeps the last image marked at the deleting
// transaction's time (a re-insert clears it), ignore keeps what was written last.
func TestFoldDeleteModes(t *testing.T) {
	tbl := &schema.Table{Schema: "s", Name: "t", Columns: []schema.Column{{Name: "id"}, {Name: "v"}}, Key: []int{0}}
	t1, t2, t3 := time.Unix(1000, 0), time.Unix(2000, 0), time.Unix(3000, 0)
	evs := []change.Event{
		{Kind: change.Insert, Table: tbl, After: row("1", "a"), TxTime: t1},
		{Kind: change.Delete, Table: tbl, Before: row("1", "a"), TxTime: t2},                       // deleted in the batch
		{Kind: change.Delete, Table: tbl, Before: row("2", "b"), TxTime: t2},                       // deleted, written before the batch
		{Kind: change.Update, Table: tbl, Before: row("3", "c"), After: row("4", "c"), TxTime: t2}, // key change
		{Kind: change.Delete, Table: tbl, Before: row("5", "e"), TxTime: t2},
		{Kind: change.Insert, Table: tbl, After: row("5", "again"), TxTime: t3}, // re-insert
	}
	cases := []struct {
		mode config.DeleteMode
		want []string // key=value, kind: up (upsert), del, mark@unix
	}{
		{config.DeletesHard, []string{"1 del", "2 del", "3 del", "4=c up", "5=again up"}},
		{config.DeletesSoft, []string{"1=a mark@2000", "2=b mark@2000", "3=c mark@2000", "4=c up", "5=again up"}},
		{config.DeletesIgnore, []string{"1=a up", "4=c up", "5=again up"}},
	}
	for _, c := range cases {
		t.Run(string(c.mode), func(t *testing.T) {
			f := newFolder(func(*schema.Table) config.DeleteMode { return c.mode })
			for i := range evs {
				f.add(&evs[i])
			}
			var got []string
			for _, tc := range f.take() {
				for _, r := range tc.Upserts {
					got = append(got, fmt.Sprintf("%s=%s up", r[0], r[1]))
				}
				for _, r := range tc.Deletes {
					got = append(got, fmt.Sprintf("%s del", r[0]))
				}
				for _, m := range tc.Marked {
					got = append(got, fmt.Sprintf("%s=%s mark@%d", m.Row[0], m.Row[1], m.At.Unix()))
				}
			}
			sort.Strings(got)
			if strings.Join(got, ", ") != strings.Join(c.want, ", ") {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}
