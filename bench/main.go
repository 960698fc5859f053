// Command bench measures the replicator on the local environment (integration/env/up.sh):
// the snapshot of N sysbench-style tables of M rows (rows/s, MB/s, lock time, peak RSS),
// streaming under a sysbench oltp_write_only load (applied row changes/s, replication lag
// p50/p99/max from a heartbeat row, peak RSS), and the drain of a backlog built while the
// replicator was stopped. It prints a markdown table. It is a measurement, not a test.
//
//	go run ./bench -tables 4 -rows 1000000 -duration 30s -backlog 1000000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/source"
)

var (
	tables       = flag.Int("tables", 4, "sysbench tables")
	rows         = flag.Int("rows", 1000000, "rows per table")
	duration     = flag.Duration("duration", 30*time.Second, "sysbench write load while streaming")
	threads      = flag.Int("threads", 8, "sysbench threads (8 is about the highest rate this 2-core box sustains: 2,689 tx/s alone, 4 give 2,424, 16 give 2,721)")
	backlog      = flag.Int("backlog", 1000000, "row changes sysbench writes while the replicator is stopped, then drained (0 skips the drain)")
	out          = flag.String("out", "", "also write the markdown table to this file")
	keep         = flag.Bool("keep", false, "keep the source tables (skip regenerating when they exist)")
	withPgloader = flag.Bool("pgloader", true, "also load the tables with pgloader (when installed) for comparison")
	withPG       = flag.Bool("pg", true, "measure the PostgreSQL target (snapshot, ceilings, pgloader, streaming, drain)")
	esFlush      = flag.Duration("es-flush-interval", 0, "apply.flush_interval for the Elasticsearch target")
	esSettle     = flag.Duration("es-settle", 0, "pause between the Elasticsearch snapshot and its streaming phase (background merges after the load)")
	withES       = flag.Bool("es", true, "also measure an Elasticsearch target (skipped when REPLICATOR_ES_URL does not answer)")

	myHost = env("REPLICATOR_MYSQL_HOST", "127.0.0.1")
	myPort = env("REPLICATOR_MYSQL_PORT", "13306")
	myRoot = env("REPLICATOR_MYSQL_ROOT_PASSWORD", "root")
	myRepl = env("REPLICATOR_MYSQL_REPL_PASSWORD", "replicator")
	pgURL  = env("REPLICATOR_PG_URL", "postgres://postgres@127.0.0.1:15432/postgres?sslmode=disable")
	esURL  = env("REPLICATOR_ES_URL", "http://127.0.0.1:19200")
)

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type result struct{ name, value, note string }

var results []result

func report(name, note, format string, a ...any) {
	r := result{name, fmt.Sprintf(format, a...), note}
	results = append(results, r)
	log.Printf("%-40s %s %s", r.name, r.value, r.note)
}

func main() {
	flag.Parse()
	log.SetFlags(log.Ltime)
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "replicator-bench-")
	check(err)
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "replicator")
	build := exec.Command("go", "build", "-o", bin, "./cmd/replicator")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	check(build.Run())

	my, err := client.Connect(myHost+":"+myPort, "root", myRoot, "")
	check(err)
	defer my.Close()
	prepareSource(my)

	if *withPG {
		benchPostgres(ctx, bin, dir, my)
	}

	// 4. Elasticsearch: the same tables, snapshot and streaming.
	if *withES {
		benchElastic(ctx, bin, dir, my)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "| measure | value | note |\n| --- | --- | --- |\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.name, r.value, r.note)
	}
	fmt.Print(b.String())
	if *out != "" {
		check(os.WriteFile(*out, []byte(b.String()), 0o644))
	}
}

// benchPostgres measures the PostgreSQL target: snapshot, ceilings, pgloader, streaming
// under load and the backlog drain.
func benchPostgres(ctx context.Context, bin, dir string, my *client.Conn) {
	pgAdmin, err := pgx.Connect(ctx, pgURL)
	check(err)
	_, err = pgAdmin.Exec(ctx, "DROP DATABASE IF EXISTS bench WITH (FORCE)")
	check(err)
	_, err = pgAdmin.Exec(ctx, "CREATE DATABASE bench")
	check(err)
	pgAdmin.Close(ctx)
	cfgPath := filepath.Join(dir, "config.toml")
	check(os.WriteFile(cfgPath, []byte(fmt.Sprintf(`[source]
host = %q
port = %s
user = "replicator"
password = %q
server_id = 4299
[source.tls]
mode = "disabled"
[target]
type = "postgres"
[target.postgres]
url = %q
[log]
format = "json"
[[tables]]
source = "bench.*"
`, myHost, myPort, myRepl, strings.Replace(pgURL, "/postgres?", "/bench?", 1))), 0o600))
	pg, err := pgx.Connect(ctx, strings.Replace(pgURL, "/postgres?", "/bench?", 1))
	check(err)
	defer pg.Close(ctx)

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
	report("snapshot / parallel COPY ceiling", "target: at least 0.8", "%.2f", snapRate/ceil.copyN)
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
	rss := run.stop()
	report("streaming peak RSS", "", "%.0f MiB", rss)

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
		report("backlog drain / merge ceiling", "target: at least 0.8", "%.2f", rate/ceil.merge)
		rss := run.stop()
		report("backlog drain CPU", "seconds over the drain: PostgreSQL, MariaDB, replicator", "%s / %s / %.1f", secs(cpu.pg), secs(cpu.my), processCPU(run.cmd))
		report("backlog drain peak RSS", "", "%.0f MiB", rss)
	}

}

// children are replicator processes to kill if the benchmark fails.
var children []*exec.Cmd

func fatalf(format string, a ...any) {
	for _, c := range children {
		if c.Process != nil {
			_ = c.Process.Kill()
		}
	}
	log.Fatalf(format, a...)
}

func check(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

// prepareSource creates bench.sbtest1..N with sysbench's schema, filled by the sequence
// engine (much faster than sysbench prepare), and a heartbeat table.
func prepareSource(my *client.Conn) {
	if *keep {
		if r, err := my.Execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bench' AND TABLE_NAME LIKE 'sbtest%'"); err == nil {
			if n, _ := r.GetInt(0, 0); n == int64(*tables) {
				log.Printf("reusing bench tables")
				return
			}
		}
	}
	t0 := time.Now()
	mustExec(my, "DROP DATABASE IF EXISTS bench", "CREATE DATABASE bench",
		"CREATE TABLE bench.heartbeat (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)",
		"INSERT INTO bench.heartbeat VALUES (1, NOW(6))")
	for i := 1; i <= *tables; i++ {
		mustExec(my, fmt.Sprintf(`CREATE TABLE bench.sbtest%d (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
			c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_%d (k))`, i, i))
		for lo := 1; lo <= *rows; lo += 200000 {
			hi := min(lo+199999, *rows)
			mustExec(my, fmt.Sprintf(`INSERT INTO bench.sbtest%d (id, k, c, pad)
				SELECT seq, FLOOR(RAND(seq) * %d), CONCAT_WS('-', LPAD(seq, 11, '0'), MD5(seq), MD5(seq + 1), LEFT(SHA1(seq), 21)),
				       CONCAT_WS('-', MD5(seq * 7), LEFT(SHA1(seq * 3), 27)) FROM bench.seq_%d_to_%d`, i, *rows, lo, hi))
		}
	}
	log.Printf("source prepared in %s", time.Since(t0).Round(time.Millisecond))
}

func mustExec(my *client.Conn, stmts ...string) {
	for _, s := range stmts {
		if _, err := my.Execute(s); err != nil {
			fatalf("%s: %v", s, err)
		}
	}
}

// runToEnd runs the replicator to completion and returns stdout, peak RSS (MiB), wall time
// and CPU seconds.
func runToEnd(bin string, args ...string) (string, float64, time.Duration, float64) {
	cmd := exec.Command(bin, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	t0 := time.Now()
	check(cmd.Start())
	peak := watchRSS(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		fatalf("replicator %v: %v\n%s", args, err, se.String())
	}
	return so.String(), peak(), time.Since(t0), processCPU(cmd)
}

// watchRSS samples the process's peak RSS (VmHWM) every 50 ms until it exits; the
// returned function gives the last sample in MiB. The rusage of a child cannot be used:
// Linux counts in it the parent's RSS at the moment of exec.
func watchRSS(pid int) func() float64 {
	var mu sync.Mutex
	var peak float64
	go func() {
		for {
			v, ok := vmHWM(pid)
			if !ok {
				return
			}
			mu.Lock()
			peak = max(peak, v)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// vmHWM reads a live process's peak resident set size in MiB.
func vmHWM(pid int) (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}

type running struct {
	cmd *exec.Cmd
	log *bytes.Buffer
}

func startRun(bin, cfg string) *running {
	r := &running{cmd: exec.Command(bin, "run", "-c", cfg), log: &bytes.Buffer{}}
	r.cmd.Stderr = r.log
	check(r.cmd.Start())
	children = append(children, r.cmd)
	return r
}

// stop ends the replicator with SIGTERM and returns its peak RSS in MiB, read just
// before the signal.
func (r *running) stop() float64 {
	peak, _ := vmHWM(r.cmd.Process.Pid)
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	if err := r.cmd.Wait(); err != nil {
		fatalf("replicator run: %v\n%s", err, r.log.String())
	}
	return peak
}

func sourceGTID(my *client.Conn) string {
	r, err := my.Execute("SELECT @@GLOBAL.gtid_binlog_pos")
	check(err)
	s, _ := r.GetString(0, 0)
	return s
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

// heartbeat updates bench.heartbeat every 100 ms with the source's clock.
func heartbeat(stop <-chan struct{}) {
	c, err := client.Connect(myHost+":"+myPort, "root", myRoot, "bench")
	check(err)
	defer c.Close()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if _, err := c.Execute("UPDATE heartbeat SET ts = UTC_TIMESTAMP(6) WHERE id = 1"); err != nil {
				log.Printf("heartbeat: %v", err)
			}
		}
	}
}

// sampleLag reads the replicated heartbeat every 100 ms with read: lag = now - its
// timestamp.
func sampleLag(stop <-chan struct{}, read func() (time.Time, error)) []float64 {
	var out []float64
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return out
		case <-t.C:
			if ts, err := read(); err == nil {
				out = append(out, time.Since(ts).Seconds())
			}
		}
	}
}

// covers reports whether the MariaDB GTID position got has reached want, with the
// replicator's own comparison.
func covers(got, want string) bool {
	ok, err := source.Covers(source.MariaDB, got, want)
	return err == nil && ok
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// sysbench runs oltp_write_only against the bench tables for d, or for a number of
// transactions when events > 0; it returns the row-changing statements executed and
// transactions per second.
func sysbench(d time.Duration, events int) (int64, float64) {
	cmd := exec.Command("sysbench", "oltp_write_only", "--db-driver=mysql", "--mysql-host="+myHost, "--mysql-port="+myPort,
		"--mysql-user=root", "--mysql-password="+myRoot, "--mysql-db=bench", fmt.Sprintf("--tables=%d", *tables),
		fmt.Sprintf("--table-size=%d", *rows), fmt.Sprintf("--threads=%d", *threads), fmt.Sprintf("--time=%d", int(d.Seconds())), fmt.Sprintf("--events=%d", events),
		"--report-interval=0", "--rand-type=uniform", "run")
	o, err := cmd.CombinedOutput()
	if err != nil {
		fatalf("sysbench: %v\n%s", err, o)
	}
	s := string(o)
	w := regexp.MustCompile(`write:\s+(\d+)`).FindStringSubmatch(s)
	tps := regexp.MustCompile(`transactions:\s+\d+\s+\(([\d.]+) per sec`).FindStringSubmatch(s)
	if w == nil || tps == nil {
		fatalf("unexpected sysbench output:\n%s", s)
	}
	writes, _ := strconv.ParseInt(w[1], 10, 64)
	tp, _ := strconv.ParseFloat(tps[1], 64)
	return writes, tp
}

// pgCheckpoint flushes PostgreSQL's dirty pages, so the next phase pays full-page writes
// from the same starting point as the others.
func pgCheckpoint(ctx context.Context, pg *pgx.Conn) { mustPG(ctx, pg, "CHECKPOINT") }

// cpuTimes are the servers' CPU seconds (user + system, their exited children included)
// and the process ids they were read from.
type cpuTimes struct {
	pg, my       float64
	pgPID, myPID int
}

// sub is the CPU used between two samples; NaN for a server whose process changed (it was
// restarted in between: its counters started again from zero).
func (a cpuTimes) sub(b cpuTimes) cpuTimes {
	d := cpuTimes{pg: a.pg - b.pg, my: a.my - b.my, pgPID: a.pgPID, myPID: a.myPID}
	if a.pgPID != b.pgPID || a.pgPID == 0 {
		d.pg = math.NaN()
	}
	if a.myPID != b.myPID || a.myPID == 0 {
		d.my = math.NaN()
	}
	return d
}

// secs formats a CPU figure; a NaN (restarted or unreadable server) says so instead of
// printing a meaningless difference.
func secs(v float64) string {
	if math.IsNaN(v) {
		return "n/a (server restarted or not local)"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// serverCPU reads the CPU time of the PostgreSQL and MariaDB servers the bench talks to,
// found by the process ids they report. Summing every process named mariadbd counted the
// local environment's replica too, whose restart between two samples (the failover tests
// restart it) made the difference negative.
func serverCPU(ctx context.Context, my *client.Conn) cpuTimes {
	var c cpuTimes
	c.myPID = mariadbPID(my)
	c.pgPID = postmasterPID(ctx)
	c.my, c.pg = pidTreeCPU(c.myPID), pidTreeCPU(c.pgPID)
	return c
}

// mariadbPID reads the server's pid file (@@pid_file, relative to @@datadir when not
// absolute); 0 when it is not readable here.
func mariadbPID(my *client.Conn) int {
	r, err := my.Execute("SELECT @@pid_file, @@datadir")
	if err != nil {
		return 0
	}
	file, _ := r.GetString(0, 0)
	dir, _ := r.GetString(0, 1)
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	return pidFromFile(file)
}

// postmasterPID reads the first line of postmaster.pid in the server's data directory.
func postmasterPID(ctx context.Context) int {
	pg, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return 0
	}
	defer pg.Close(ctx)
	var dir string
	if err := pg.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
		return 0
	}
	return pidFromFile(filepath.Join(dir, "postmaster.pid"))
}

// esPID asks the Elasticsearch node for its process id; 0 when it does not answer.
func esPID() int {
	resp, err := http.Get(strings.TrimRight(esURL, "/") + "/_nodes/_local/process")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var out struct {
		Nodes map[string]struct {
			Process struct {
				ID int `json:"id"`
			} `json:"process"`
		} `json:"nodes"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0
	}
	for _, n := range out.Nodes {
		return n.Process.ID
	}
	return 0
}

func pidFromFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	return pid
}

// pidTreeCPU is the CPU seconds of process pid: its own, its reaped children's
// (cutime+cstime) and its live children's (PostgreSQL's backends); 0 for pid 0.
func pidTreeCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	ents, _ := os.ReadDir("/proc")
	var total float64
	for _, e := range ents {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		st := string(b)
		end := strings.LastIndexByte(st, ')')
		if end < 0 || end+2 > len(st) {
			continue
		}
		f := strings.Fields(st[end+2:])
		if len(f) < 20 {
			continue
		}
		num := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v }
		// Fields after the name: ppid 1, utime 11, stime 12, cutime 13, cstime 14.
		switch {
		case id == pid:
			total += num(11) + num(12) + num(13) + num(14)
		case int(num(1)) == pid:
			total += num(11) + num(12)
		}
	}
	return total / 100 // USER_HZ
}

// processCPU is a finished child's user + system CPU seconds.
func processCPU(cmd *exec.Cmd) float64 {
	if cmd.ProcessState == nil {
		return 0
	}
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}
