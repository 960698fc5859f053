package main

import (
	"fmt"
	"os"
	"sync"
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

	// The rate is computed here from the reports, not by mpb: a small table copied
	// between two reports arrives done, and mpb's average speed of a bar completed at its
	// first draw is "0 rows/s".
	mu         sync.Mutex
	tables     map[string]*tableRate
	lastReport time.Time
}

// tableRate is one table's copy as the reports saw it.
type tableRate struct {
	start, end time.Time // start: the report before its first rows; end: when it was done
	rows, est  int64
	done       bool
}

// rate is the table's rows per second and how long its copy took so far.
func (r *tableRate) rate(now time.Time) (perSecond float64, took time.Duration) {
	if r.start.IsZero() {
		return 0, 0
	}
	end := now
	if r.done {
		end = r.end
	}
	took = end.Sub(r.start)
	if took <= 0 {
		return 0, 0
	}
	return float64(r.rows) / took.Seconds(), took
}

func (d *progressDisplay) rateText(name string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.tables[name]
	if r == nil {
		return ""
	}
	perSecond, took := r.rate(time.Now())
	switch {
	case r.done:
		return fmt.Sprintf("%.0f rows/s  done in %s", perSecond, took.Round(100*time.Millisecond))
	case took > 0 && perSecond > 0 && r.est > r.rows:
		left := time.Duration(float64(r.est-r.rows) / perSecond * float64(time.Second))
		return fmt.Sprintf("%.0f rows/s  ~%s left", perSecond, left.Round(time.Second))
	case took > 0:
		return fmt.Sprintf("%.0f rows/s", perSecond)
	}
	return "waiting"
}

// withProgress sets the snapshot's progress reporting for env and returns the function
// that ends the display.
func withProgress(env *runEnv, o *snapshot.Options) (done func()) {
	if !env.terminal {
		return func() {}
	}
	d := newProgressDisplay(mpb.WithOutput(os.Stderr), mpb.WithRefreshRate(200*time.Millisecond))
	d.env = env
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

func newProgressDisplay(opts ...mpb.ContainerOption) *progressDisplay {
	return &progressDisplay{p: mpb.New(opts...), bars: map[string]*mpb.Bar{}, tables: map[string]*tableRate{}, lastReport: time.Now()}
}

func (d *progressDisplay) report(tables []snapshot.TableStatus) {
	now := time.Now()
	d.mu.Lock()
	for _, t := range tables {
		r := d.tables[t.Name]
		if r == nil {
			r = &tableRate{}
			d.tables[t.Name] = r
		}
		if r.done {
			continue
		}
		if r.start.IsZero() && (t.Rows > 0 || t.Done) {
			r.start = d.lastReport
		}
		r.rows, r.est = t.Rows, t.Estimate
		if t.Done {
			r.done, r.end = true, now
		}
	}
	d.lastReport = now
	d.mu.Unlock()
	for _, t := range tables {
		b := d.bars[t.Name]
		total := max(t.Estimate, t.Rows, 1)
		if b == nil {
			// Total 0 makes the bar's total dynamic: it completes only when told to,
			// since the estimate from information_schema may be off either way.
			// Every column has a width synchronised across the bars, so names of
			// different lengths keep the bars in one column (names and the rate text
			// left-aligned, row counts right-aligned).
			name := t.Name
			b = d.p.AddBar(0,
				mpb.PrependDecorators(
					decor.Name(name, decor.WCSyncSpaceR),
					decor.Any(func(s decor.Statistics) string {
						if s.Completed {
							return fmt.Sprintf("%d rows", s.Current)
						}
						return fmt.Sprintf("%d / ~%d rows", s.Current, s.Total)
					}, decor.WCSyncSpace),
				),
				mpb.AppendDecorators(
					decor.Any(func(decor.Statistics) string { return d.rateText(name) }, decor.WCSyncSpaceR),
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
