package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// benchPostgres measures the PostgreSQL target: snapshot, ceilings, pgloader, streaming
// under load and the backlog drain.
func benchPostgres(ctx context.Context, bin, dir string, my *client.Conn) {
	target := freshPGDatabase(ctx, "bench")
	cfgPath := filepath.Join(dir, "config.toml")
	check(os.WriteFile(cfgPath, []byte(pgConfig(target, 4299, "bench.*", fmt.Sprintf("[apply]\nparallelism = %d\n", *parallelism))), 0o600))
	pg, err := pgx.Connect(ctx, target)
	check(err)
	defer pg.Close(ctx)
	var pgVersion string
	check(pg.QueryRow(ctx, "SHOW server_version").Scan(&pgVersion))
	report("machine: PostgreSQL", "target", "%s", pgVersion)

	// 1. Snapshot. Every measured phase starts after a PostgreSQL checkpoint, so full-page
	// writes weigh the same on the replicator and on the ceilings.
	pgCheckpoint(ctx, pg)
	cpu0 := serverCPU(ctx, my)
	snapOut, snapRSS, snapWall, snapCPU := runToEnd(bin, "snapshot", "-c", cfgPath)
	snapServers := serverCPU(ctx, my).sub(cpu0)
	m := regexp.MustCompile(`(\d+) rows, ([\d.]+) MB in \S+ \((\d+) rows/s, ([\d.]+) MB/s\); .* held ([^;]+);`).FindStringSubmatch(snapOut)
	if m == nil {
		fatalf("unexpected snapshot output: %s", snapOut)
	}
	report("snapshot rows", fmt.Sprintf("%d tables x %d rows", *tables, *rows), "%s", m[1])
	report("snapshot rows/s", "wall "+snapWall.Round(time.Millisecond).String(), "%s", m[3])
	report("snapshot MB/s", m[2]+" MB of values", "%s", m[4])
	report("snapshot global lock", "BACKUP STAGE BLOCK_COMMIT", "%s", m[5])
	report("snapshot peak RSS", "", "%.0f MiB", snapRSS)
	report("snapshot CPU", fmt.Sprintf("seconds over %.1f s: PostgreSQL, MariaDB, replicator", snapWall.Seconds()), "%s / %s / %.1f",
		secs(snapServers.pg), secs(snapServers.my), snapCPU)
	snapRate, _ := strconv.ParseFloat(m[3], 64)

	// 1b. Ceilings and pgloader, same data, same run.
	ceil := measureCeilings(ctx, dir, pg)
	report("snapshot / parallel COPY ceiling", "into tables with a primary key", "%.2f", snapRate/ceil.copyN)
	report("snapshot / bulk-load ceiling", "same end state; target: at least 0.9", "%.2f", snapRate/ceil.bulk)
	if *withPgloader {
		pgAdmin, err := pgx.Connect(ctx, pgURL)
		check(err)
		if rate := pgloaderRate(ctx, pgAdmin); rate > 0 {
			report("pgloader rows/s", "same tables, prefetch rows = 10000", "%.0f", rate)
			report("snapshot / pgloader", "", "%.2f", snapRate/rate)
		}
		pgAdmin.Close(ctx)
	}

	// 2. Streaming under load, lag from a heartbeat row written every 100 ms.
	run := startRun(bin, cfgPath)
	// A fresh heartbeat first, so no lag sample measures the age of an old one.
	mustExec(my, "UPDATE bench.heartbeat SET ts = UTC_TIMESTAMP(6) WHERE id = 1")
	waitCaughtUp(my, pg, 10*time.Minute)
	stopHB := make(chan struct{})
	var hbWG sync.WaitGroup
	hbWG.Add(1)
	go func() { defer hbWG.Done(); heartbeat(stopHB) }()
	var lags []float64
	lagStop := make(chan struct{})
	var lagWG sync.WaitGroup
	lagWG.Add(1)
	// pgx connections are not safe for concurrent use: the sampler gets its own.
	pgLag, err := pgx.Connect(ctx, strings.Replace(pgURL, "/postgres?", "/bench?", 1))
	check(err)
	defer pgLag.Close(ctx)
	go func() {
		defer lagWG.Done()
		lags = sampleLag(lagStop, func() (ts time.Time, err error) {
			err = pgLag.QueryRow(context.Background(), "SELECT ts FROM bench.heartbeat WHERE id = 1").Scan(&ts)
			return ts, err
		})
	}()
	writes, txPerSec := sysbench(*duration, 0)
	t0 := time.Now()
	waitCaughtUp(my, pg, 10*time.Minute)
	close(lagStop)
	lagWG.Wait()
	close(stopHB)
	hbWG.Wait()
	catchUp := time.Since(t0)
	report("streaming: sysbench write_only", fmt.Sprintf("%d threads, %s", *threads, *duration), "%.0f tx/s, %.0f row changes/s", txPerSec, float64(writes)/duration.Seconds())
	report("streaming: applied row changes/s", "caught up "+catchUp.Round(time.Millisecond).String()+" after the load stopped", "%.0f", float64(writes)/(duration.Seconds()+catchUp.Seconds()))
	p50, p99, mx := percentile(lags, 0.50), percentile(lags, 0.99), percentile(lags, 1)
	report("streaming: lag p50 / p99 / max", fmt.Sprintf("%d heartbeat samples", len(lags)), "%.3f s / %.3f s / %.3f s", p50, p99, mx)
	if *withOnline {
		// 2b. An online copy of one table under the same load.
		benchOnlineCopy(ctx, bin, cfgPath, my, pg, snapRate)
	}
	rss := run.stop()
	report("streaming peak RSS", "", "%.0f MiB", rss)
	if *withOnline {
		// The replicator's own account of the copy's time (read once it has exited).
		for _, line := range strings.Split(run.log.String(), "\n") {
			if strings.Contains(line, `"online copy done"`) {
				log.Printf("online copy: %s", line)
			}
		}
	}

	// 3. Backlog drain.
	if *backlog > 0 {
		t0 := time.Now()
		bw, _ := sysbench(0, *backlog/4) // oltp_write_only: 4 row changes per transaction
		built := time.Since(t0)
		pgCheckpoint(ctx, pg)
		cpu0 := serverCPU(ctx, my)
		run = startRun(bin, cfgPath)
		t1 := time.Now()
		waitCaughtUp(my, pg, 20*time.Minute)
		d := time.Since(t1)
		cpu := serverCPU(ctx, my).sub(cpu0)
		rate := float64(bw) / d.Seconds()
		report("backlog drain", fmt.Sprintf("%d row changes (built in %s) applied in %s, from the replicator's start", bw, built.Round(time.Second), d.Round(time.Millisecond)), "%.0f row changes/s", rate)
		report("backlog drain / merge ceiling, 1 connection", fmt.Sprintf("apply.parallelism = %d; target: at least 1.5", *parallelism), "%.2f", rate/ceil.merge)
		report(fmt.Sprintf("backlog drain / merge ceiling, %d connections", *tables), "", "%.2f", rate/ceil.mergeN)
		rss := run.stop()
		report("backlog drain CPU", "seconds over the drain: PostgreSQL, MariaDB, replicator", "%s / %s / %.1f", secs(cpu.pg), secs(cpu.my), processCPU(run.cmd))
		report("backlog drain peak RSS", "", "%.0f MiB", rss)
	}

}

func waitCaughtUp(my *client.Conn, pg *pgx.Conn, timeout time.Duration) {
	want := sourceGTID(my)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var got string
		if err := pg.QueryRow(context.Background(), "SELECT gtid FROM _replicator.checkpoint WHERE phase = 'streaming'").Scan(&got); err == nil && covers(got, want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	fatalf("target did not catch up to %s within %s", want, timeout)
}

// pgCheckpoint flushes PostgreSQL's dirty pages, so the next phase pays full-page writes
// from the same starting point as the others.
func pgCheckpoint(ctx context.Context, pg *pgx.Conn) { mustPG(ctx, pg, "CHECKPOINT") }

// pgConfig is the replicator's configuration for a PostgreSQL target at url, selecting
// pattern, with extra TOML sections appended.
func pgConfig(url string, serverID int, pattern, extra string) string {
	return fmt.Sprintf(`[source]
host = %q
port = %s
user = "replicator"
password = %q
server_id = %d
[source.tls]
mode = "disabled"
[target]
type = "postgres"
[target.postgres]
url = %q
[log]
format = "json"
%s[[tables]]
source = %q
`, myHost, myPort, myRepl, serverID, url, extra, pattern)
}
