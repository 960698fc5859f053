package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/replicator/replicator/snapshot"
)

// TestProgressBarsAligned: bars of tables with names of different lengths start in one
// column, and a table done before its first draw shows its rate, not "0 rows/s".
func TestProgressBarsAligned(t *testing.T) {
	var out bytes.Buffer
	d := newProgressDisplay(mpb.WithOutput(&out), mpb.WithWidth(120), mpb.WithRefreshRate(10*time.Millisecond), mpb.WithAutoRefresh())
	d.report([]snapshot.TableStatus{
		{Name: "shop.a", Rows: 0, Estimate: 1000},
		{Name: "shop.a_much_longer_table_name", Rows: 500, Estimate: 100000},
		{Name: "shop.tiny", Rows: 0, Estimate: 5},
	})
	time.Sleep(150 * time.Millisecond)
	d.report([]snapshot.TableStatus{
		{Name: "shop.a", Rows: 400, Estimate: 1000},
		{Name: "shop.a_much_longer_table_name", Rows: 50000, Estimate: 100000},
		{Name: "shop.tiny", Rows: 5, Estimate: 5, Done: true},
	})
	time.Sleep(150 * time.Millisecond)
	d.report([]snapshot.TableStatus{
		{Name: "shop.a", Rows: 1000, Estimate: 1000, Done: true},
		{Name: "shop.a_much_longer_table_name", Rows: 100000, Estimate: 100000, Done: true},
		{Name: "shop.tiny", Rows: 5, Estimate: 5, Done: true},
	})
	d.p.Wait()
	// The last frame: the final line of each bar.
	ansi := regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")
	last := map[string]string{}
	for _, l := range strings.Split(ansi.ReplaceAllString(out.String(), "\n"), "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "shop.") {
			last[f[0]] = l
		}
	}
	if len(last) != 3 {
		t.Fatalf("bars %q in\n%s", last, out.String())
	}
	col := -1
	for name, l := range last {
		i := strings.IndexAny(l, "[|")
		if col == -1 {
			col = i
		}
		if i != col || i < 0 {
			t.Errorf("bar of %s starts at column %d, another at %d:\n%q", name, i, col, last)
		}
		if strings.Contains(l, " 0 rows/s") || !strings.Contains(l, "done in") {
			t.Errorf("%s: %q", name, l)
		}
	}
}
