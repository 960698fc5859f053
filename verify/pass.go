package verify

import (
	"context"
	"fmt"
	"sync"

	"github.com/replicator/replicator/change"
	"github.com/replicator/replicator/snapshot"
	"github.com/replicator/replicator/source"
)

// job is one unit of the checksum pass: the chunks of a table that one read of range r
// on each side covers (one chunk for a key range; every bucket for a hashed table).
type job struct {
	st     *tableState
	r      Range
	mod    int
	chunks []*chunk
}

// digestAll runs the checksum pass over every table's chunks with Parallelism workers,
// each with its own source connection.
func (v *verifier) digestAll(ctx context.Context, states []*tableState) error {
	for _, st := range states {
		if st.rep.Error == "" {
			if err := st.tt.refresh(ctx); err != nil {
				st.rep.Error = err.Error()
			}
		}
	}
	var jobs []job
	for _, st := range states {
		if st.rep.Error != "" {
			continue
		}
		if st.rep.Method == "key ranges" {
			for _, c := range st.chunks {
				jobs = append(jobs, job{st: st, r: c.r, mod: 1, chunks: []*chunk{c}})
			}
		} else {
			jobs = append(jobs, job{st: st, mod: st.chunks[0].buckets, chunks: st.chunks})
		}
	}
	queue := make(chan job)
	var wg sync.WaitGroup
	var dialErr error
	var once sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < min(v.o.Parallelism, max(len(jobs), 1)); w++ {
		conn, err := v.o.Dialer.Dial(ctx)
		if err != nil {
			close(queue)
			wg.Wait()
			return err
		}
		wg.Add(1)
		go func(conn *source.Conn) {
			defer wg.Done()
			defer func() { conn.Close() }() // the connection in use at the end
			for j := range queue {
				if err := v.digestJob(ctx, conn, j); err != nil && ctx.Err() == nil {
					for _, c := range j.chunks {
						c.err = err
					}
					// A query that failed half way leaves the connection unusable.
					conn.Close()
					if conn, err = v.o.Dialer.Dial(ctx); err != nil {
						once.Do(func() { dialErr = err; cancel() })
						return
					}
				}
			}
		}(conn)
	}
feed:
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if dialErr != nil {
		return dialErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, st := range states {
		for _, c := range st.chunks {
			if c.err != nil && st.rep.Error == "" {
				st.rep.Error = c.err.Error()
			}
		}
	}
	return nil
}

// digestJob reads j's range on both sides at once and adds each row to its chunk's digest.
func (v *verifier) digestJob(ctx context.Context, conn *source.Conn, j job) error {
	byBucket := make(map[int]*chunk, len(j.chunks))
	for _, c := range j.chunks {
		byBucket[c.bucket] = c
	}
	var tgtErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		var scratch []byte
		tgtErr = j.st.tt.rows(ctx, j.r, func(r *row) error {
			c := byBucket[v.h.bucket(r.key, j.mod)]
			if c == nil {
				return nil
			}
			var h uint64
			h, scratch = v.h.rowHash(r, scratch)
			c.tgt.add(h)
			return nil
		})
	}()
	var scratch []byte
	srcErr := v.sourceRows(ctx, conn, j.st, j.r, j.st.tt.converter(), func(r *row) error {
		c := byBucket[v.h.bucket(r.key, j.mod)]
		if c == nil {
			return nil
		}
		var h uint64
		h, scratch = v.h.rowHash(r, scratch)
		c.src.add(h)
		return nil
	})
	<-done
	if srcErr != nil {
		return fmt.Errorf("read source %s (%s): %w", j.st.t.Name(), j.r, srcErr)
	}
	if tgtErr != nil {
		return tgtErr
	}
	return nil
}

// sourceRows streams the source rows of st in r, converted to comparison form, under the
// rate limit.
func (v *verifier) sourceRows(ctx context.Context, conn *source.Conn, st *tableState, r Range, conv converter, fn func(*row) error) error {
	n := 0
	return snapshot.StreamRows(ctx, conn, sourceQuery(st.t, r), st.t.sourceColumns(), func(cr change.Row) error {
		if n++; n%100 == 0 {
			if err := v.lim.take(ctx, 100); err != nil {
				return err
			}
		}
		rw, err := conv(st.t.toTarget(cr))
		if err != nil {
			return err
		}
		return fn(rw)
	})
}
