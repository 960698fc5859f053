package postgres

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"testing"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// TestSpread: a batch's plain changes go to the shares so that every change of one row
// lands in one share across the batch's Apply calls; small tables go whole to the least
// loaded share, a large one is split by key; tables with unique keys, soft deletes or a
// configured key always go whole; keyless tables and rows of copies stay apart.
func TestSpread(t *testing.T) {
	cfg := testConfig(t, `[[tables]]
source = "db.soft"
deletes = "soft"
[[tables]]
source = "db.*"
`)
	routes, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tg := &Target{cfg: cfg, routes: routes, pol: mapping.NewPolicy(cfg.Mapping), log: slog.New(slog.DiscardHandler), laneSeed: maphash.MakeSeed()}
	tg.lanes = []*streamConn{{}, {}, {}}
	def := func(name string, mod func(*schema.Table)) *schema.Table {
		d := &schema.Table{Schema: "db", Name: name, Key: []int{0}, KeyIsPrimary: true, Columns: []schema.Column{
			{Name: "id", DataType: "int", ColumnType: "int(11)"},
			{Name: "v", DataType: "varchar", ColumnType: "varchar(10)", Nullable: true},
		}}
		if mod != nil {
			mod(d)
		}
		return d
	}
	big, small := def("big", nil), def("small", nil)
	uniq := def("uniq", func(d *schema.Table) { d.Indexes = []schema.Index{{Name: "v", Unique: true, Columns: []string{"v"}}} })
	soft := def("soft", nil)
	keyed := def("keyed", func(d *schema.Table) { d.KeyIsPrimary = false })
	keyless := def("keyless", func(d *schema.Table) { d.Key = nil })
	copied := def("copied", nil)
	rows := func(d *schema.Table, from, n int) change.TableChanges {
		tc := change.TableChanges{Table: d}
		for i := from; i < from+n; i++ {
			r := change.Row{[]byte(fmt.Sprint(i)), []byte("x")}
			if i%3 == 0 {
				tc.Deletes = append(tc.Deletes, r)
			} else {
				tc.Upserts = append(tc.Upserts, r)
				tc.Origins = append(tc.Origins, change.Origin{GTID: fmt.Sprintf("0-1-%d", i)})
			}
		}
		return tc
	}
	b := &Batch{t: tg}
	copying := map[string]*copyInfo{"db.copied": {}}
	where := map[string]int{} // "table/key" -> share
	check := func(shares [][]change.TableChanges) {
		t.Helper()
		for s, share := range shares {
			for _, tc := range share {
				if len(tc.Origins) != len(tc.Upserts) {
					t.Fatalf("%s in share %d: %d origins for %d upserts", tc.Table.Name, s, len(tc.Origins), len(tc.Upserts))
				}
				for i, r := range append(append([]change.Row{}, tc.Upserts...), tc.Deletes...) {
					k := tc.Table.Name + "/" + string(r[0])
					if prev, ok := where[k]; ok && prev != s {
						t.Fatalf("row %s in share %d and in share %d", k, prev, s)
					}
					where[k] = s
					if i < len(tc.Upserts) && string(tc.Origins[i].GTID) != "0-1-"+string(r[0]) {
						t.Fatalf("row %s carries origin %q", k, tc.Origins[i].GTID)
					}
				}
			}
		}
	}
	sharesOf := func(table string) map[int]bool {
		out := map[int]bool{}
		for k, s := range where {
			if len(k) > len(table) && k[:len(table)+1] == table+"/" {
				out[s] = true
			}
		}
		return out
	}
	for part := 0; part < 3; part++ {
		shares, rest := b.spread([]change.TableChanges{
			rows(big, part*1000, 1200), rows(small, part*10, 20), rows(uniq, part*100, 400), rows(soft, part*100, 400),
			rows(keyed, part*100, 400), rows(keyless, 0, 5), rows(copied, 0, 5),
		}, copying)
		if len(rest) != 2 || rest[0].Table != keyless || rest[1].Table != copied {
			t.Fatalf("part %d: rest %v, want the keyless table and the copied one", part, rest)
		}
		check(shares)
	}
	if n := len(sharesOf("big")); n != 4 {
		t.Errorf("the large table went to %d shares, want all 4", n)
	}
	for _, name := range []string{"small", "uniq", "soft", "keyed"} {
		if n := len(sharesOf(name)); n != 1 {
			t.Errorf("%s went to %d shares, want 1", name, n)
		}
	}
}
