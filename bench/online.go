package main

import (
	"context"
	"fmt"
	"log"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// benchOnlineCopy measures an online copy ('replicator resnapshot') of one sysbench table
// while sysbench writes to all of them and the running replicator streams: the copy's
// rows/s, the streaming lag during it (heartbeat, as in the streaming phase) and its rate
// against the initial snapshot's.
func benchOnlineCopy(ctx context.Context, bin, cfgPath string, my *client.Conn, pg *pgx.Conn, snapRate float64) {
	const table = "bench.sbtest1"
	waitCaughtUp(my, pg, 10*time.Minute)
	stopHB := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); heartbeat(stopHB) }()
	pgLag, err := pgx.Connect(ctx, benchPGURL())
	check(err)
	defer pgLag.Close(ctx)
	var lags []float64
	lagStop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		lags = sampleLag(lagStop, func() (ts time.Time, err error) {
			err = pgLag.QueryRow(context.Background(), "SELECT ts FROM bench.heartbeat WHERE id = 1").Scan(&ts)
			return ts, err
		})
	}()
	// sysbench at a steady rate, in rounds of 10 s until the copy is done.
	var copyDone atomic.Bool
	var writes atomic.Int64
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		for !copyDone.Load() {
			o := runSysbench("bench", *tables, *rows, *threads, *onlineRate, 10*time.Second, 0)
			if m := regexp.MustCompile(`write:\s+(\d+)`).FindStringSubmatch(o); m != nil {
				w, _ := strconv.ParseInt(m[1], 10, 64)
				writes.Add(w)
			}
		}
	}()
	time.Sleep(2 * time.Second)
	out, err := exec.Command(bin, "resnapshot", "-c", cfgPath, table).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "copy requested") {
		fatalf("resnapshot: %v\n%s", err, out)
	}
	t0 := time.Now()
	var rows int64
	var secsCopy float64
	for {
		var state string
		err := pg.QueryRow(ctx, `SELECT state, rows, COALESCE(EXTRACT(EPOCH FROM updated_at - started_at), 0)::float8
			FROM _replicator.online_copies WHERE source_table = $1`, table).Scan(&state, &rows, &secsCopy)
		if err == nil && state == "done" {
			break
		}
		if err == nil && state == "failed" {
			fatalf("the online copy of %s failed", table)
		}
		if time.Since(t0) > 30*time.Minute {
			fatalf("the online copy of %s did not end within 30 minutes (state %q, %d rows)", table, state, rows)
		}
		time.Sleep(200 * time.Millisecond)
	}
	copyDone.Store(true)
	<-loadDone
	waitCaughtUp(my, pg, 10*time.Minute)
	close(lagStop)
	close(stopHB)
	wg.Wait()
	rate := float64(rows) / max(secsCopy, 0.001)
	report("online copy ('resnapshot' of one table)", fmt.Sprintf("%s, %d rows in %.1f s, while sysbench wrote %d row changes to all tables (%d tx/s)", table, rows, secsCopy, writes.Load(), *onlineRate), "%.0f rows/s", rate)
	// Where the lag was high, second by second from the start of sampling (2 s before
	// the request), for finding what caused it.
	var bySecond []string
	for i := 0; i < len(lags); i += 10 {
		hi := 0.0
		for _, l := range lags[i:min(i+10, len(lags))] {
			hi = max(hi, l)
		}
		bySecond = append(bySecond, fmt.Sprintf("%.1f", hi))
	}
	log.Printf("online copy: highest lag per second of sampling: %s", strings.Join(bySecond, " "))
	p50, p99, mx := percentile(lags, 0.50), percentile(lags, 0.99), percentile(lags, 1)
	report("online copy: streaming lag p50 / p99 / max", fmt.Sprintf("%d heartbeat samples; goal p99 < 2 s", len(lags)), "%.3f s / %.3f s / %.3f s", p50, p99, mx)
	report("online copy / snapshot rows/s", "one table (one reader) against the initial snapshot of all tables (parallel readers); goal at least 0.5", "%.2f", rate/snapRate)
}
