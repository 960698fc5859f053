// Command bench measures the replicator on the local environment (integration/env/up.sh):
// the snapshot of N sysbench-style tables of M rows (rows/s, MB/s, lock time, peak RSS),
// streaming under a sysbench oltp_write_only load (applied row changes/s, replication lag
// p50/p99/max from a heartbeat row, peak RSS), and the drain of a backlog built while the
// replicator was stopped. It prints a markdown table. It is a measurement, not a test.
//
//	go run ./bench -tables 4 -rows 1000000 -duration 30s -backlog 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

var (
	tables       = flag.Int("tables", 4, "sysbench tables")
	rows         = flag.Int("rows", 1000000, "rows per table")
	duration     = flag.Duration("duration", 30*time.Second, "sysbench write load while streaming")
	threads      = flag.Int("threads", 8, "sysbench threads (8 is about the highest rate this 2-core box sustains: 2,689 tx/s alone, 4 give 2,424, 16 give 2,721)")
	parallelism  = flag.Int("parallelism", 4, "apply.parallelism of the PostgreSQL streaming and drain phases (1: one connection, every commit at a source transaction boundary)")
	backlog      = flag.Int("backlog", 1000000, "row changes sysbench writes while the replicator is stopped, then drained (0 skips the drain)")
	out          = flag.String("out", "", "also write the markdown table to this file")
	keep         = flag.Bool("keep", false, "keep the source tables (skip regenerating when they exist)")
	withPgloader = flag.Bool("pgloader", true, "also load the tables with pgloader (when installed) for comparison")
	withPG       = flag.Bool("pg", true, "measure the PostgreSQL target (snapshot, ceilings, pgloader, streaming, drain)")
	esFlush      = flag.Duration("es-flush-interval", 0, "apply.flush_interval for the Elasticsearch target")
	esSettle     = flag.Duration("es-settle", 0, "pause between the Elasticsearch snapshot and its streaming phase (background merges after the load)")
	withOnline   = flag.Bool("online", true, "measure an online copy ('replicator resnapshot') of one table under the sysbench load (PostgreSQL)")
	onlineRate   = flag.Int("online-rate", 500, "sysbench transactions per second during the online copy (a steady load the stream keeps up with, as in production)")
	withES       = flag.Bool("es", true, "also measure an Elasticsearch target (skipped when REPLICATOR_ES_URL does not answer)")
	docsOnly     = flag.Int("documents", 0, "measure only composed documents ([[documents]]) with this many films: the composed snapshot's documents/s and a language rename touching every film")

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
	if *soakFor > 0 {
		soak(ctx, bin, dir, my, soakOptions{duration: *soakFor, rows: *soakRows, rate: *soakRate,
			killEvery: *soakKillEvery, ddlEvery: *soakDDLEvery, verifyEvery: *soakVerifyEvery})
		return
	}
	if *docsOnly > 0 {
		benchDocuments(ctx, bin, dir, my, *docsOnly)
		printResults()
		return
	}
	describeMachine(my)
	prepareSource(my)

	if *withPG {
		benchPostgres(ctx, bin, dir, my)
	}

	// 4. Elasticsearch: the same tables, snapshot and streaming.
	if *withES {
		benchElastic(ctx, bin, dir, my)
	}

	printResults()
}

// printResults prints the measures as a markdown table (and writes it to -out).
func printResults() {
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

// describeMachine puts what the figures were measured on at the top of the table.
func describeMachine(my *client.Conn) {
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = ", " + strings.TrimSpace(v)
				break
			}
		}
	}
	report("machine", "shared by the servers, the load and the replicator", "%d cores%s%s, Go %s", runtime.NumCPU(), model, mem, runtime.Version())
	r, err := my.Execute("SELECT VERSION()")
	check(err)
	v, _ := r.GetString(0, 0)
	report("machine: MariaDB", "source", "%s", v)
}
