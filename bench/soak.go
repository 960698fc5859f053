package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// soakOptions tune `go run ./bench -soak 30m`.
type soakOptions struct {
	duration    time.Duration // total time under load
	rows        int           // rows per sysbench table (4 tables)
	rate        int           // sysbench transactions per second
	killEvery   time.Duration // mean time between two kill -9 of the replicator
	ddlEvery    time.Duration // time between two DDL statements
	verifyEvery time.Duration // the load pauses and verify runs after each such segment
}

// soakRow is one line of the soak report: a minute, or a verify.
type soakRow struct {
	at                     time.Duration
	lagP50, lagP99, lagMax float64
	lagSamples             int
	rssMiB                 float64
	kills, ddl, orm, xa    int
	verify                 string
}

const soakDB = "soak"

// soak runs the replicator (snapshot, then streaming into PostgreSQL) for o.duration under a
// steady sysbench write load plus what production servers write besides single-statement
// transactions: ORM transactions with savepoints and rolled-back parts, writes to a
// non-transactional table inside them, XA transactions (committed and rolled back),
// foreign-key cascades, and DDL on the replicated tables. The replicator is killed with
// SIGKILL at random instants (the first in the snapshot) and started again. After every
// o.verifyEvery the load pauses, the replicator catches up and `replicator verify` must find
// every table equal. It prints a row per minute (replication lag from a heartbeat row, while
// a replicator runs; its RSS; kills, DDL and transactions so far) and per verify, and exits
// non-zero when a verify differs or the replicator stops on its own.
func soak(ctx context.Context, bin, dir string, my *client.Conn, o soakOptions) {
	prepareSoakSource(my, o.rows)
	target := freshPGDatabase(ctx, soakDB)
	cfg := filepath.Join(dir, "soak.toml")
	check(os.WriteFile(cfg, []byte(pgConfig(target, 4301, "soak.*", "[snapshot]\nchunk_rows = 5000\n")), 0o600))
	pg, err := pgx.Connect(ctx, target)
	check(err)
	defer pg.Close(ctx)

	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	r := &soakProcess{bin: bin, cfg: cfg}
	r.start()
	defer r.stop()
	// The first kill lands in the snapshot.
	if r.waitOutput("consistent snapshot opened", time.Minute) {
		time.Sleep(time.Duration(rng.Intn(1500)) * time.Millisecond)
		r.kill()
		r.start()
	}
	kills := 1

	var (
		report       []soakRow
		ddlN         int
		counts       soakCounts
		verifyFailed bool
		began        = time.Now()
		lags         []float64
		rssMax       float64
	)
	readLag := func() (ts time.Time, err error) {
		err = pg.QueryRow(ctx, "SELECT ts FROM soak.heartbeat WHERE id = 1").Scan(&ts)
		return ts, err
	}
	row := func() soakRow {
		return soakRow{at: time.Since(began).Round(time.Second), lagP50: percentile(lags, .5), lagP99: percentile(lags, .99),
			lagMax: percentile(lags, 1), lagSamples: len(lags), rssMiB: rssMax, kills: kills, ddl: ddlN, orm: counts.orm(), xa: counts.xa()}
	}
	// Segments of whole seconds (sysbench's --time=0 would mean no limit).
	for seg := 1; o.duration-time.Since(began) >= time.Second; seg++ {
		length := min(o.verifyEvery, o.duration-time.Since(began)).Truncate(time.Second)
		log.Printf("soak: segment %d, %s under load", seg, length.Round(time.Second))
		stop := make(chan struct{})
		sysbenchDone := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); heartbeatIn(soakDB, stop) }()
		go func() { defer wg.Done(); soakTransactions(stop, rng.Int63(), &counts) }()
		go func() {
			defer wg.Done()
			defer close(sysbenchDone)
			runSysbench(soakDB, 4, o.rows, 4, o.rate, length, 0)
		}()
		// This loop owns the replicator process: it samples, writes the DDL and kills.
		sample := time.NewTicker(100 * time.Millisecond)
		minute := time.NewTicker(time.Minute)
		nextKill := time.Now().Add(jitter(rng, o.killEvery))
		nextDDL := time.Now().Add(o.ddlEvery)
	load:
		for {
			select {
			case <-sysbenchDone:
				break load
			case <-minute.C:
				m := row()
				report = append(report, m)
				lags, rssMax = nil, 0
				log.Printf("soak: %s lag p50 %.3f s p99 %.3f s max %.3f s, RSS %.0f MiB, kills %d, DDL %d, ORM %d, XA %d (last abandoned: %v)",
					m.at, m.lagP50, m.lagP99, m.lagMax, m.rssMiB, m.kills, m.ddl, m.orm, m.xa, counts.last())
			case <-sample.C:
				if err := r.exitedOnItsOwn(); err != nil {
					fatalf("soak: the replicator stopped on its own after %s: %v\n%s", time.Since(began).Round(time.Second), err, tailLines(r.output(), 40))
				}
				if ts, err := readLag(); err == nil {
					lags = append(lags, time.Since(ts).Seconds())
				}
				if v, ok := vmRSS(r.pid()); ok {
					rssMax = max(rssMax, v)
				}
				if time.Now().After(nextDDL) {
					soakDDL(my, ddlN)
					ddlN++
					nextDDL = time.Now().Add(o.ddlEvery)
				}
				if time.Now().After(nextKill) {
					r.kill()
					kills++
					time.Sleep(time.Duration(500+rng.Intn(2500)) * time.Millisecond)
					r.start()
					nextKill = time.Now().Add(jitter(rng, o.killEvery))
				}
			}
		}
		sample.Stop()
		minute.Stop()
		close(stop)
		wg.Wait()
		// The load has stopped: catch up and compare.
		t0 := time.Now()
		waitCaughtUp(my, pg, 10*time.Minute)
		caught := time.Since(t0)
		res := soakVerify(bin, cfg)
		verdict := fmt.Sprintf("%s (caught up in %.1f s)", res, caught.Seconds())
		if len(lags) == 0 && len(report) > 0 {
			// The segment ended on a minute's row: the verify belongs to it.
			report[len(report)-1].verify = verdict
		} else {
			m := row()
			m.verify = verdict
			report = append(report, m)
		}
		lags, rssMax = nil, 0
		log.Printf("soak: verify after segment %d: %s", seg, verdict)
		if res != "equal" {
			verifyFailed = true
		}
	}
	r.stop()

	var b strings.Builder
	fmt.Fprintf(&b, "| time | lag p50 | lag p99 | lag max | samples | RSS | kills | DDL | ORM tx | XA tx | verify |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, m := range report {
		fmt.Fprintf(&b, "| %s | %.3f s | %.3f s | %.3f s | %d | %.0f MiB | %d | %d | %d | %d | %s |\n",
			m.at, m.lagP50, m.lagP99, m.lagMax, m.lagSamples, m.rssMiB, m.kills, m.ddl, m.orm, m.xa, m.verify)
	}
	fmt.Print(b.String())
	if *out != "" {
		check(os.WriteFile(*out, []byte(b.String()), 0o644))
	}
	if verifyFailed {
		fatalf("soak: a verify found differences (table above)")
	}
}

// jitter is a random duration between half and one and a half of mean.
func jitter(rng *rand.Rand, mean time.Duration) time.Duration {
	return mean/2 + time.Duration(rng.Int63n(int64(mean)+1))
}

// prepareSoakSource creates soak.sbtest1..4 (sysbench's schema) with rows rows each, the
// heartbeat, an order/order-line pair linked by ON DELETE CASCADE and a MyISAM audit table.
func prepareSoakSource(my *client.Conn, rows int) {
	mustExec(my, "DROP DATABASE IF EXISTS soak", "CREATE DATABASE soak",
		"CREATE TABLE soak.heartbeat (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)",
		"INSERT INTO soak.heartbeat VALUES (1, UTC_TIMESTAMP(6))",
		`CREATE TABLE soak.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer INT NOT NULL, total DECIMAL(12,2) NOT NULL,
			note VARCHAR(40) NULL, created DATETIME(6) NOT NULL)`,
		`CREATE TABLE soak.order_lines (id BIGINT AUTO_INCREMENT PRIMARY KEY, order_id BIGINT NOT NULL, sku VARCHAR(20) NOT NULL,
			qty INT NOT NULL, FOREIGN KEY (order_id) REFERENCES soak.orders (id) ON DELETE CASCADE)`,
		"CREATE TABLE soak.audit (id BIGINT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(60) NOT NULL) ENGINE=MyISAM")
	for i := 1; i <= 4; i++ {
		mustExec(my, fmt.Sprintf(`CREATE TABLE soak.sbtest%d (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
			c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_%d (k))`, i, i),
			fmt.Sprintf(`INSERT INTO soak.sbtest%d (id, k, c, pad) SELECT seq, FLOOR(RAND(seq) * %d), MD5(seq), MD5(seq + 1)
			FROM soak.seq_1_to_%d`, i, rows, rows))
	}
}

// soakCounts are the transactions soakTransactions committed.
type soakCounts struct {
	mu      sync.Mutex
	ormN    int
	xaN     int
	lastErr error
}

func (c *soakCounts) orm() int { c.mu.Lock(); defer c.mu.Unlock(); return c.ormN }
func (c *soakCounts) xa() int  { c.mu.Lock(); defer c.mu.Unlock(); return c.xaN }

func (c *soakCounts) last() error { c.mu.Lock(); defer c.mu.Unlock(); return c.lastErr }

// soakTransactions writes, until stop, the transactions an ORM writes: an order with its
// lines, a savepoint whose part is rolled back, an audit row in a MyISAM table in the same
// transaction, now and then the delete of an old order (its lines go by ON DELETE
// CASCADE, which the binary log does not show), and XA transactions, some rolled back.
func soakTransactions(stop <-chan struct{}, seed int64, counts *soakCounts) {
	c, err := client.Connect(myHost+":"+myPort, "root", myRoot, soakDB)
	check(err)
	defer c.Close()
	rng := rand.New(rand.NewSource(seed))
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var stmts []string
		xa := n%10 == 9
		if xa {
			id := fmt.Sprintf("'soak-%d-%d'", seed%1000, n)
			end := "XA COMMIT " + id
			if rng.Intn(3) == 0 {
				end = "XA ROLLBACK " + id
			}
			stmts = []string{"XA START " + id,
				fmt.Sprintf("UPDATE orders SET note = 'xa %d' WHERE id = (SELECT MAX(id) FROM orders)", n),
				fmt.Sprintf("INSERT INTO orders (customer, total, created) VALUES (%d, %d.%02d, UTC_TIMESTAMP(6))", rng.Intn(1000), rng.Intn(500), rng.Intn(100)),
				"XA END " + id, "XA PREPARE " + id, end}
		} else {
			stmts = []string{"BEGIN",
				fmt.Sprintf("INSERT INTO orders (customer, total, created) VALUES (%d, %d.%02d, UTC_TIMESTAMP(6))", rng.Intn(1000), rng.Intn(500), rng.Intn(100)),
				"SET @o = LAST_INSERT_ID()",
				fmt.Sprintf("INSERT INTO order_lines (order_id, sku, qty) VALUES (@o, 'sku-%d', %d), (@o, 'sku-%d', %d)", rng.Intn(100), 1+rng.Intn(5), rng.Intn(100), 1+rng.Intn(5)),
				"SAVEPOINT sp_lines",
				"INSERT INTO order_lines (order_id, sku, qty) VALUES (@o, 'rolled-back', 1)",
				"UPDATE orders SET note = 'rolled back' WHERE id = @o",
				"ROLLBACK TO SAVEPOINT sp_lines",
				fmt.Sprintf("INSERT INTO audit (msg) VALUES ('order %d')", n),
				"UPDATE orders SET note = 'kept' WHERE id = @o",
				"COMMIT"}
			if n%7 == 3 {
				stmts = append(stmts, "DELETE FROM orders WHERE id = (SELECT MIN(id) FROM orders WHERE note = 'kept') LIMIT 1")
			}
		}
		ok := true
		for _, s := range stmts {
			if _, err := c.Execute(s); err != nil {
				// The DDL the soak runs can make a statement wait or fail (a lock wait
				// timeout); the transaction is abandoned, which the target must show too.
				counts.mu.Lock()
				counts.lastErr = err
				counts.mu.Unlock()
				_, _ = c.Execute("ROLLBACK")
				ok = false
				break
			}
		}
		if ok {
			counts.mu.Lock()
			if xa {
				counts.xaN++
			} else {
				counts.ormN++
			}
			counts.mu.Unlock()
		}
	}
}

// soakDDL writes the n-th DDL statement of a cycle over the soak tables: columns added and
// dropped on a sysbench table (whose inserts name their columns), indexes created and
// dropped, and a table created with rows, later dropped.
func soakDDL(my *client.Conn, n int) {
	i := 1 + n/5%4
	var stmts []string
	switch n % 5 {
	case 0:
		stmts = []string{fmt.Sprintf("ALTER TABLE soak.sbtest%d ADD COLUMN extra%d INT NULL", i, n)}
	case 1:
		stmts = []string{fmt.Sprintf("CREATE INDEX ix%d ON soak.orders (customer, created)", n)}
	case 2:
		stmts = []string{fmt.Sprintf("ALTER TABLE soak.sbtest%d DROP COLUMN extra%d", i, n-2)}
	case 3:
		stmts = []string{fmt.Sprintf("DROP INDEX ix%d ON soak.orders", n-2)}
	case 4:
		stmts = []string{fmt.Sprintf("CREATE TABLE soak.side%d (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)", n),
			fmt.Sprintf("INSERT INTO soak.side%d SELECT seq, CONCAT('v', seq) FROM soak.seq_1_to_500", n)}
		if n >= 9 {
			stmts = append(stmts, fmt.Sprintf("DROP TABLE IF EXISTS soak.side%d", n-5))
		}
	}
	mustExec(my, stmts...)
	log.Printf("soak: DDL %s", strings.Join(stmts, "; "))
}

// soakVerify runs `replicator verify` and returns "equal" or what it said.
func soakVerify(bin, cfg string) string {
	cmd := exec.Command(bin, "verify", "-c", cfg, "--json")
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var rep struct {
		Equal  bool   `json:"equal"`
		Reason string `json:"reason"`
	}
	if jerr := json.Unmarshal(so.Bytes(), &rep); jerr != nil {
		return fmt.Sprintf("verify failed: %v %v: %s", err, jerr, tailLines(se.String(), 5))
	}
	if err == nil && rep.Equal {
		return "equal"
	}
	return fmt.Sprintf("DIFFERENT: %s %s", rep.Reason, tailLines(so.String(), 20))
}

// soakProcess is the replicator under soak: one at a time, started, killed, started again.
type soakProcess struct {
	bin, cfg string
	cmd      *exec.Cmd
	log      *syncBuffer
	done     chan struct{}
	err      error
	killed   bool
}

func (p *soakProcess) start() {
	p.cmd = exec.Command(p.bin, "run", "-c", p.cfg)
	p.log = &syncBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.killed = false
	check(p.cmd.Start())
	children = append(children, p.cmd)
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		p.err = cmd.Wait()
		close(done)
	}(p.cmd, p.done)
}

func (p *soakProcess) pid() int { return p.cmd.Process.Pid }

func (p *soakProcess) kill() {
	p.killed = true
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *soakProcess) stop() {
	if p.cmd == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.killed = true
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
}

// exitedOnItsOwn returns the exit error of a replicator that stopped without being killed.
func (p *soakProcess) exitedOnItsOwn() error {
	select {
	case <-p.done:
		if !p.killed {
			return fmt.Errorf("exit: %v", p.err)
		}
	default:
	}
	return nil
}

func (p *soakProcess) output() string { return p.log.String() }

// waitOutput waits until the replicator's log contains s.
func (p *soakProcess) waitOutput(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(p.log.String(), s) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the soak's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// freshPGDatabase creates the target database name again, empty, and returns its URL.
func freshPGDatabase(ctx context.Context, name string) string {
	admin, err := pgx.Connect(ctx, pgURL)
	check(err)
	defer admin.Close(ctx)
	for _, q := range []string{"DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)", "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()} {
		_, err := admin.Exec(ctx, q)
		check(err)
	}
	return strings.Replace(pgURL, "/postgres?", "/"+name+"?", 1)
}

// vmRSS reads a live process's current resident set size in MiB.
func vmRSS(pid int) (float64, bool) { return procStatusMiB(pid, "VmRSS:") }

var (
	soakFor         = flag.Duration("soak", 0, "run the soak instead of the benchmark for this long (e.g. 30m): load, DDL, kill -9, verify over time")
	soakRows        = flag.Int("soak-rows", 20000, "soak: rows per sysbench table (4 tables)")
	soakRate        = flag.Int("soak-rate", 200, "soak: sysbench transactions per second")
	soakKillEvery   = flag.Duration("soak-kill-every", 45*time.Second, "soak: mean time between two kill -9 of the replicator")
	soakDDLEvery    = flag.Duration("soak-ddl-every", 20*time.Second, "soak: time between two DDL statements")
	soakVerifyEvery = flag.Duration("soak-verify-every", 5*time.Minute, "soak: the load pauses for a verify after each such time")
)
