package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/jackc/pgx/v5"
)

// ceilings measures, on the same machine and data as the replicator's run, what the
// servers themselves allow: the source's full-scan read rate, PostgreSQL COPY into tables
// with a primary key with one and with N parallel streams, the bulk-load limit with the
// snapshot's end state (COPY into bare tables, N streams, then the primary key and the
// index built, as pgcopydb does), and the staging-COPY-and-merge upsert rate of the
// drain's change mix on one connection and on N. The replicator's figures are reported
// as ratios to them.
type ceilings struct {
	read, copy1, copyN, bulk, merge, mergeN float64
}

func measureCeilings(ctx context.Context, dir string, pg *pgx.Conn) ceilings {
	var c ceilings
	c.read = ceilingRead()
	report("ceiling: source full scan", fmt.Sprintf("%d tables in parallel, text protocol", *tables), "%.0f rows/s", c.read)

	// The rows as PostgreSQL COPY text, from the snapshot's target tables.
	files := make([]string, *tables)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("sbtest%d.copy", i+1))
		f, err := os.Create(files[i])
		check(err)
		_, err = pg.PgConn().CopyTo(ctx, f, fmt.Sprintf("COPY bench.sbtest%d TO STDOUT", i+1))
		check(err)
		check(f.Close())
	}
	prepare := func(bare bool) {
		mustPG(ctx, pg, "DROP SCHEMA IF EXISTS ceiling CASCADE", "CREATE SCHEMA ceiling")
		for i := 1; i <= *tables; i++ {
			mustPG(ctx, pg, fmt.Sprintf("CREATE TABLE ceiling.t%d (LIKE bench.sbtest%d)", i, i))
			if !bare {
				mustPG(ctx, pg, fmt.Sprintf("ALTER TABLE ceiling.t%d ADD PRIMARY KEY (id)", i))
			}
		}
	}
	// indexesAfter loads bare tables, then builds what the snapshot's tables end with
	// (the primary key and sysbench's index on k), a connection per table.
	load := func(parallel, indexesAfter bool) float64 {
		prepare(indexesAfter)
		pgCheckpoint(ctx, pg)
		t0 := time.Now()
		var wg sync.WaitGroup
		run := func(i int) {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, benchPGURL())
			check(err)
			defer conn.Close(ctx)
			f, err := os.Open(files[i])
			check(err)
			defer f.Close()
			_, err = conn.PgConn().CopyFrom(ctx, bufio.NewReaderSize(f, 1<<20), fmt.Sprintf("COPY ceiling.t%d FROM STDIN", i+1))
			check(err)
			if indexesAfter {
				mustPG(ctx, conn, fmt.Sprintf("ALTER TABLE ceiling.t%d ADD PRIMARY KEY (id)", i+1),
					fmt.Sprintf("CREATE INDEX ON ceiling.t%d (k)", i+1))
			}
		}
		for i := range files {
			wg.Add(1)
			if parallel {
				go run(i)
			} else {
				run(i)
			}
		}
		wg.Wait()
		return float64(*tables**rows) / time.Since(t0).Seconds()
	}
	c.copy1 = load(false, false)
	report("ceiling: PostgreSQL COPY, 1 stream", "into tables with a primary key", "%.0f rows/s", c.copy1)
	c.bulk = load(true, true)
	report(fmt.Sprintf("ceiling: PostgreSQL bulk load, %d streams", *tables), "COPY into bare tables, then primary key and index on k built: the snapshot's end state", "%.0f rows/s", c.bulk)
	c.copyN = load(true, false)
	report(fmt.Sprintf("ceiling: PostgreSQL COPY, %d streams", *tables), "into tables with a primary key", "%.0f rows/s", c.copyN)

	// Staging COPY and merge of the mix the drain applies. sysbench's write_only changes
	// keys at random in every table: an update of k (indexed), an update of c, and a
	// delete and insert of the same id with new values, which the replicator folds into
	// one upsert. The ceiling tables get the target's secondary index on k, so the merge
	// maintains the same indexes; the changed rows are picked before the clock starts.
	for i := 1; i <= *tables; i++ {
		mustPG(ctx, pg, fmt.Sprintf("CREATE INDEX ON ceiling.t%d (k)", i))
	}
	n := min(*rows, 50000)
	conn, err := pgx.Connect(ctx, benchPGURL())
	check(err)
	defer conn.Close(ctx)
	for i := 1; i <= *tables; i++ {
		mustPG(ctx, conn, fmt.Sprintf("CREATE TEMP TABLE stage%d AS SELECT * FROM ceiling.t%d WITH NO DATA", i, i))
	}
	// The best of two rounds (different keys): one round lasts a few seconds, and the
	// ceiling should be what the server manages, not its worst moment.
	for round := 0; round < 2; round++ {
		samples := make([]bytes.Buffer, *tables)
		for i := range samples {
			_, err = conn.PgConn().CopyTo(ctx, &samples[i], fmt.Sprintf(`COPY (SELECT id,
				CASE id %% 3 WHEN 0 THEN k + 1 WHEN 1 THEN k ELSE (random() * %d)::int END,
				CASE id %% 3 WHEN 0 THEN c ELSE left(repeat(md5(random()::text), 4), 119) END,
				CASE id %% 3 WHEN 2 THEN left(repeat(md5(random()::text), 2), 59) ELSE pad END
				FROM ceiling.t%d ORDER BY random() LIMIT %d) TO STDOUT`, *rows, i+1, n))
			check(err)
		}
		pgCheckpoint(ctx, pg)
		t0 := time.Now()
		tx, err := conn.Begin(ctx)
		check(err)
		for i := range samples {
			_, err = conn.PgConn().CopyFrom(ctx, &samples[i], fmt.Sprintf("COPY stage%d FROM STDIN", i+1))
			check(err)
			_, err = tx.Exec(ctx, fmt.Sprintf("INSERT INTO ceiling.t%d SELECT * FROM stage%d ON CONFLICT (id) DO UPDATE SET k = EXCLUDED.k, c = EXCLUDED.c, pad = EXCLUDED.pad; TRUNCATE stage%d", i+1, i+1, i+1))
			check(err)
		}
		check(tx.Commit(ctx))
		c.merge = max(c.merge, float64(n**tables)/time.Since(t0).Seconds())
	}
	report("ceiling: staging COPY + merge upsert, 1 connection", fmt.Sprintf("%d keys at random in each table, changed as sysbench write_only changes them; tables indexed as the target; best of 2", n), "%.0f rows/s", c.merge)
	c.mergeN = mergeParallel(ctx, n)
	report(fmt.Sprintf("ceiling: staging COPY + merge upsert, %d connections", *tables), "the same, a connection per table at once; best of 2", "%.0f rows/s", c.mergeN)
	mustPG(ctx, pg, "DROP SCHEMA ceiling CASCADE")
	return c
}

// mergeParallel is the merge ceiling with a connection per table, all at once: what
// several apply connections can get out of the server for the drain's mix.
func mergeParallel(ctx context.Context, n int) float64 {
	conns := make([]*pgx.Conn, *tables)
	for i := range conns {
		conn, err := pgx.Connect(ctx, benchPGURL())
		check(err)
		defer conn.Close(ctx)
		mustPG(ctx, conn, fmt.Sprintf("CREATE TEMP TABLE stage AS SELECT * FROM ceiling.t%d WITH NO DATA", i+1))
		conns[i] = conn
	}
	best := 0.0
	for round := 0; round < 2; round++ {
		samples := make([]bytes.Buffer, *tables)
		for i := range samples {
			_, err := conns[i].PgConn().CopyTo(ctx, &samples[i], fmt.Sprintf(`COPY (SELECT id,
				CASE id %% 3 WHEN 0 THEN k + 1 WHEN 1 THEN k ELSE (random() * %d)::int END,
				CASE id %% 3 WHEN 0 THEN c ELSE left(repeat(md5(random()::text), 4), 119) END,
				CASE id %% 3 WHEN 2 THEN left(repeat(md5(random()::text), 2), 59) ELSE pad END
				FROM ceiling.t%d ORDER BY random() LIMIT %d) TO STDOUT`, *rows, i+1, n))
			check(err)
		}
		pgCheckpoint(ctx, conns[0])
		t0 := time.Now()
		var wg sync.WaitGroup
		for i, conn := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tx, err := conn.Begin(ctx)
				check(err)
				_, err = conn.PgConn().CopyFrom(ctx, &samples[i], "COPY stage FROM STDIN")
				check(err)
				_, err = tx.Exec(ctx, fmt.Sprintf("INSERT INTO ceiling.t%d SELECT * FROM stage ON CONFLICT (id) DO UPDATE SET k = EXCLUDED.k, c = EXCLUDED.c, pad = EXCLUDED.pad; TRUNCATE stage", i+1))
				check(err)
				check(tx.Commit(ctx))
			}()
		}
		wg.Wait()
		best = max(best, float64(n**tables)/time.Since(t0).Seconds())
	}
	return best
}

func mustPG(ctx context.Context, pg *pgx.Conn, stmts ...string) {
	for _, s := range stmts {
		if _, err := pg.Exec(ctx, s); err != nil {
			fatalf("%s: %v", s, err)
		}
	}
}

func benchPGURL() string { return strings.Replace(pgURL, "/postgres?", "/bench?", 1) }

// ceilingRead streams every sbtest table fully, one connection per table in parallel.
func ceilingRead() float64 {
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := 1; i <= *tables; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := client.Connect(myHost+":"+myPort, "root", myRoot, "bench")
			check(err)
			defer c.Close()
			var res mysql.Result
			check(c.ExecuteSelectStreaming(fmt.Sprintf("SELECT * FROM sbtest%d", i), &res, func([]mysql.FieldValue) error { return nil }, nil))
		}(i)
	}
	wg.Wait()
	return float64(*tables**rows) / time.Since(t0).Seconds()
}

// pgloaderRate loads the same tables with pgloader (Debian package), the tool users reach
// for today, into a database of its own; 0 when pgloader is not installed or fails.
func pgloaderRate(ctx context.Context, pgAdmin *pgx.Conn) float64 {
	if _, err := exec.LookPath("pgloader"); err != nil {
		log.Printf("pgloader not installed (apt-get install pgloader): skipped")
		return 0
	}
	mustPG(ctx, pgAdmin, "DROP DATABASE IF EXISTS bench_pgloader WITH (FORCE)", "CREATE DATABASE bench_pgloader")
	target := strings.Replace(pgURL, "/postgres?", "/bench_pgloader?", 1)
	target = strings.Split(target, "?")[0]
	src := fmt.Sprintf("mysql://root:%s@%s:%s/bench", myRoot, myHost, myPort)
	t0 := time.Now()
	// With its defaults pgloader exhausts its Lisp heap on 1M-row tables on this machine
	// kind; a smaller prefetch keeps it alive.
	out, err := exec.CommandContext(ctx, "pgloader", "--no-ssl-cert-verification", "--with", "prefetch rows = 10000",
		"--with", "batch rows = 5000", src, target).CombinedOutput()
	if err != nil {
		log.Printf("pgloader failed: %v\n%s", err, tailLines(string(out), 20))
		return 0
	}
	return float64(*tables**rows) / time.Since(t0).Seconds()
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
