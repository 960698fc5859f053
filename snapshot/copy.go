package snapshot

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/crashpoint"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/source"
)

// job is one chunk to copy.
type job struct {
	plan  *plan.Table
	chunk plan.Chunk
}

// copyAll runs one worker per reader connection over the chunks not yet done, largest
// tables first, finishing each table (secondary indexes) when its last chunk lands.
func copyAll(ctx context.Context, o Options, v *view, plans []*plan.Table, prog *plan.Progress, finishTables bool) (*Summary, error) {
	sort.SliceStable(plans, func(i, j int) bool { return plans[i].RowsEstimate > plans[j].RowsEstimate })
	type tableState struct {
		remaining atomic.Int64
		rows      atomic.Int64
	}
	states := make(map[*plan.Table]*tableState, len(plans))
	var jobs []job
	for _, p := range plans {
		// Before any chunk job starts: the jobs read it.
		p.ReadAt = v.pos.GTID
		st := &tableState{}
		states[p] = st
		var tp *plan.TableProgress
		if prog != nil {
			tp = prog.Tables[p.Name()]
		}
		n := 0
		for _, c := range p.Chunks {
			if tp != nil && tp.ChunkDone[c.ID] {
				continue
			}
			jobs = append(jobs, job{p, c})
			n++
		}
		st.remaining.Store(int64(n))
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan job)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		total    atomic.Int64
		bytes    atomic.Int64
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	finish := func(p *plan.Table) {
		if !finishTables {
			o.Log.Info("snapshot table copied", "table", p.Name(), "target", p.Target, "rows", states[p].rows.Load())
			return
		}
		if err := o.Target.FinishTable(ctx, p); err != nil {
			fail(err)
			return
		}
		o.Log.Info("snapshot table done", "table", p.Name(), "target", p.Target, "rows", states[p].rows.Load())
	}
	// Per row only when armed: the copy's inner loop pays nothing otherwise.
	midChunk := crashpoint.Armed(crashpoint.SnapshotChunkRows)
	for _, r := range v.readers {
		wg.Add(1)
		go func(conn *source.Conn) {
			defer wg.Done()
			for j := range queue {
				st := states[j.plan]
				var n int64
				err := copyChunk(ctx, o.Target, conn, j, midChunk, func(r change.Row) {
					st.rows.Add(1)
					total.Add(1)
					for _, v := range r {
						n += int64(len(v))
					}
				})
				bytes.Add(n)
				if err != nil {
					fail(fmt.Errorf("snapshot %s chunk %d: %w", j.plan.Name(), j.chunk.ID, err))
					return
				}
				crashpoint.Hit(crashpoint.SnapshotChunkCommitted)
				if st.remaining.Add(-1) == 0 {
					finish(j.plan)
				}
			}
		}(r)
	}
	// Tables whose chunks were all done before a restart still need finishing.
	for _, p := range plans {
		if states[p].remaining.Load() == 0 {
			finish(p)
		}
	}

	every := 5 * time.Second
	if o.Report != nil && o.ReportEvery > 0 {
		every = o.ReportEvery
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	started := time.Now()
	report := func() {
		for _, p := range plans {
			o.Metrics.SnapshotProgress(p.Name(), states[p].rows.Load(), p.RowsEstimate)
		}
		if o.Report == nil {
			logProgress(o.Log, plans, func(p *plan.Table) int64 { return states[p].rows.Load() }, total.Load(), started)
			return
		}
		out := make([]TableStatus, len(plans))
		for i, p := range plans {
			out[i] = TableStatus{Name: p.Name(), Rows: states[p].rows.Load(), Estimate: p.RowsEstimate, Done: states[p].remaining.Load() == 0}
		}
		o.Report(out)
	}
feed:
	for _, j := range jobs {
		for {
			select {
			case queue <- j:
				continue feed
			case <-ctx.Done():
				break feed
			case <-ticker.C:
				report()
			}
		}
	}
	close(queue)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-ticker.C:
			report()
		}
	}
	report()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &Summary{Rows: total.Load(), Bytes: bytes.Load()}, nil
}

// copyChunk copies one chunk: its rows are read from conn and written, one by one, into
// the writer the target opened for it, which commits them with the chunk's done mark.
// count sees each row before the writer does; midChunk arms the crash point after each
// written row.
func copyChunk(ctx context.Context, tgt Target, conn *source.Conn, j job, midChunk bool, count func(change.Row)) error {
	w, err := tgt.OpenChunk(ctx, j.plan, j.chunk)
	if err != nil {
		return err
	}
	defer w.Abort()
	err = readChunk(ctx, conn, j.plan, j.chunk, func(r change.Row) error {
		count(r)
		if err := w.Write(r); err != nil {
			return err
		}
		if midChunk {
			crashpoint.Hit(crashpoint.SnapshotChunkRows)
		}
		return nil
	})
	if err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.SnapshotChunkWritten)
	_, err = w.Commit(ctx)
	return err
}

// logProgress writes the progress line shown when no Report function is set.
func logProgress(log *slog.Logger, plans []*plan.Table, rows func(*plan.Table) int64, total int64, started time.Time) {
	el := time.Since(started).Seconds()
	rate := float64(total) / max(el, 0.001)
	var est int64
	for _, p := range plans {
		est += max(p.RowsEstimate, rows(p))
	}
	eta := time.Duration(float64(max(est-total, 0))/max(rate, 1)) * time.Second
	log.Info("snapshot progress", "rows", total, "estimate", est, "rows_per_s", int64(rate), "eta", eta.Round(time.Second).String())
}
