package main

import (
	"fmt"
	"log"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/go-mysql-org/go-mysql/client"

	"github.com/replicator/replicator/source"
)

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

func sourceGTID(my *client.Conn) string {
	r, err := my.Execute("SELECT @@GLOBAL.gtid_binlog_pos")
	check(err)
	s, _ := r.GetString(0, 0)
	return s
}

// heartbeat updates bench.heartbeat every 100 ms with the source's clock.
func heartbeat(stop <-chan struct{}) { heartbeatIn("bench", stop) }

// heartbeatIn updates db.heartbeat every 100 ms with the source's clock until stop.
func heartbeatIn(db string, stop <-chan struct{}) {
	c, err := client.Connect(myHost+":"+myPort, "root", myRoot, db)
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
	o := runSysbench("bench", *tables, *rows, *threads, 0, d, events)
	s := o
	w := regexp.MustCompile(`write:\s+(\d+)`).FindStringSubmatch(s)
	tps := regexp.MustCompile(`transactions:\s+\d+\s+\(([\d.]+) per sec`).FindStringSubmatch(s)
	if w == nil || tps == nil {
		fatalf("unexpected sysbench output:\n%s", s)
	}
	writes, _ := strconv.ParseInt(w[1], 10, 64)
	tp, _ := strconv.ParseFloat(tps[1], 64)
	return writes, tp
}

// runSysbench runs oltp_write_only on db's sbtest tables for d (or events transactions
// when events > 0) at rate transactions per second (0: as fast as it goes) and returns its
// output. Deadlocks and lock wait timeouts (which concurrent DDL causes) are retried by
// sysbench instead of ending the run.
func runSysbench(db string, tables, rows, threads, rate int, d time.Duration, events int) string {
	cmd := exec.Command("sysbench", "oltp_write_only", "--db-driver=mysql", "--mysql-host="+myHost, "--mysql-port="+myPort,
		"--mysql-user=root", "--mysql-password="+myRoot, "--mysql-db="+db, fmt.Sprintf("--tables=%d", tables),
		fmt.Sprintf("--table-size=%d", rows), fmt.Sprintf("--threads=%d", threads), fmt.Sprintf("--time=%d", int(d.Seconds())),
		fmt.Sprintf("--events=%d", events), fmt.Sprintf("--rate=%d", rate), "--report-interval=0", "--rand-type=uniform",
		"--mysql-ignore-errors=1213,1205", "run")
	o, err := cmd.CombinedOutput()
	if err != nil {
		fatalf("sysbench: %v\n%s", err, o)
	}
	return string(o)
}
