package main

import (
	"fmt"
	"os"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/replicator/replicator/snapshot"
)

// progressDisplay draws one bar per table while a snapshot runs on a terminal; log lines
// print above the bars. Elsewhere the snapshot logs a progress line every 5 s.
type progressDisplay struct {
	p    *mpb.Progress
	bars map[string]*mpb.Bar
	env  *runEnv
}

// withProgress sets the snapshot's progress reporting for env and returns the function
// that ends the display.
func withProgress(env *runEnv, o *snapshot.Options) (done func()) {
	if !env.terminal {
		return func() {}
	}
	d := &progressDisplay{p: mpb.New(mpb.WithOutput(os.Stderr), mpb.WithRefreshRate(200*time.Millisecond)), bars: map[string]*mpb.Bar{}, env: env}
	old := env.logOut.Swap(d.p)
	o.Report, o.ReportEvery = d.report, 200*time.Millisecond
	return func() {
		for _, b := range d.bars {
			if !b.Completed() {
				b.Abort(false)
			}
		}
		d.p.Wait()
		env.logOut.Swap(old)
	}
}

func (d *progressDisplay) report(tables []snapshot.TableStatus) {
	for _, t := range tables {
		b := d.bars[t.Name]
		total := max(t.Estimate, t.Rows, 1)
		if b == nil {
			// Total 0 makes the bar's total dynamic: it completes only when told to,
			// since the estimate from information_schema may be off either way.
			b = d.p.AddBar(0,
				mpb.PrependDecorators(
					decor.Name(t.Name, decor.WC{C: decor.DindentRight | decor.DextraSpace}),
					decor.Any(func(s decor.Statistics) string { return fmt.Sprintf("%d / ~%d rows", s.Current, s.Total) }, decor.WCSyncSpaceR),
				),
				mpb.AppendDecorators(
					decor.AverageSpeed(0, "%.0f rows/s", decor.WCSyncSpace),
					decor.OnComplete(decor.AverageETA(decor.ET_STYLE_MMSS, decor.WCSyncSpace), "done"),
				),
			)
			d.bars[t.Name] = b
		}
		if b.Completed() {
			continue
		}
		b.SetTotal(total+1, false)
		b.SetCurrent(t.Rows)
		if t.Done {
			b.SetTotal(-1, true) // the rows copied are the total
		}
	}
}
