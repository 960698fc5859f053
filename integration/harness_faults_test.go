//go:build integration

package integration

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// The fault suite runs short by default (CI); REPLICATOR_FAULTS=full runs every scenario
// at full size: REPLICATOR_FAULTS=full REPLICATOR_TEST_RUN=Fault bash integration/test.sh
func faultsFull() bool { return os.Getenv("REPLICATOR_FAULTS") == "full" }

// fullOnly keeps a scenario whose length is inherent (a 30 s default timeout, a retry
// budget waited out) for the full fault run, REPLICATOR_FAULTS=full, or when
// REPLICATOR_TEST_RUN / -run names it alone; the default run covers the same path with
// the shorter scenario named by covered.
func fullOnly(t *testing.T, covered string) {
	t.Helper()
	if faultsFull() {
		return
	}
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "^"+t.Name()+"$" {
		return
	}
	t.Skipf("full fault run only (REPLICATOR_FAULTS=full, or -run '^%s$'): the default run covers the same path with %s", t.Name(), covered)
}

// faultSize picks the short or full value of a scenario parameter; the environment
// variable name overrides both.
func faultSize(env string, short, full int) int {
	if v, err := strconv.Atoi(os.Getenv(env)); err == nil && v > 0 {
		return v
	}
	if faultsFull() {
		return full
	}
	return short
}

// faultResult logs one line per scenario run in a fixed format, collected for the report.
func faultResult(t testing.TB, scenario, outcome string, kv ...any) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "FAULT-RESULT scenario=%q outcome=%q", scenario, outcome)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	t.Log(b.String())
}

// needServerControl skips tests that stop and restart servers unless the environment they
// run against is named (REPLICATOR_ENV_DIR) or this is CI (CI=true, as test.sh sets it),
// where the suite owns the default servers: a developer's plain `go test` must not
// restart servers others use.
func needServerControl(t *testing.T) {
	t.Helper()
	if os.Getenv("CI") != "true" && os.Getenv("REPLICATOR_ENV_DIR") == "" {
		t.Skip("restarts servers: set REPLICATOR_ENV_DIR (and the ports) of an environment you own, or CI=true")
	}
}

// envScript runs one of integration/env's scripts with the ports the tests use, so the
// server it acts on is the one the tests talk to.
func envScript(t testing.TB, script string, args ...string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"env/" + script}, args...)...)
	cmd.Env = append(os.Environ(), "REPLICATOR_MYSQL_PORT="+mysqlPort, "REPLICATOR_PG_PORT="+pgPort(), "ES_PORT="+esPort(), "REPLICATOR_ENV_ES=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("env/%s %v: %v\n%s", script, args, err, out)
	}
}

func pgPort() string {
	cfg, err := pgx.ParseConfig(pgURL)
	if err != nil {
		return "15432"
	}
	return strconv.Itoa(int(cfg.Port))
}

func esPort() string {
	u, err := url.Parse(esURL)
	if err != nil || u.Port() == "" {
		return "19200"
	}
	return u.Port()
}

// restartServer stops a server with down.sh, leaves it down for downtime and starts it
// again with up.sh; it returns when the server answers again.
func restartServer(t testing.TB, which string, downtime time.Duration) time.Time {
	t.Helper()
	envScript(t, "down.sh", which)
	time.Sleep(downtime)
	envScript(t, "up.sh")
	return time.Now()
}

// freshMySQL connects as root, retrying while the server restarts.
func freshMySQL(t testing.TB, timeout time.Duration) *client.Conn {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := client.Connect(mysqlHost+":"+mysqlPort, "root", mysqlRootPass, "")
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("MariaDB did not answer within %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// currentGTID reads the source's position over a new connection.
func currentGTID(t testing.TB) string {
	t.Helper()
	c := freshMySQL(t, time.Minute)
	defer c.Close()
	return sourceGTID(t, c)
}

// pgCheckpoint reads the streaming checkpoint over a new connection ("" when unreadable).
func pgCheckpoint(url string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return ""
	}
	defer c.Close(context.Background())
	var g string
	if c.QueryRow(ctx, "SELECT gtid FROM _replicator.checkpoint WHERE name = 'default' AND phase = 'streaming'").Scan(&g) != nil {
		return ""
	}
	return g
}

// waitPGCovers waits until the PostgreSQL checkpoint covers want, surviving restarts of
// either server, and returns how long that took.
func waitPGCovers(t testing.TB, url, want string, p *proc, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var got string
	for time.Since(start) < timeout {
		if p != nil && p.exited() {
			t.Fatalf("replicator exited (%v) before catching up to %s\n%s", p.err, want, tail(p.output(), 40))
		}
		if got = pgCheckpoint(url); got != "" && gtidCovers(got, want) {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := ""
	if p != nil {
		out = tail(p.output(), 40)
	}
	t.Fatalf("checkpoint %q did not reach %q within %s\n%s", got, want, timeout, out)
	return 0
}

// waitPGCaughtUp waits until the checkpoint covers the source's current position.
func waitPGCaughtUp(t testing.TB, url string, p *proc, timeout time.Duration) time.Duration {
	t.Helper()
	return waitPGCovers(t, url, currentGTID(t), p, timeout)
}

// faultWorkload is the workload of process_test.go that survives the source going away:
// a failed statement reconnects and carries on. It returns the statements run and the
// errors seen.
func faultWorkload(t testing.TB, db string, workers int, stop <-chan struct{}) func() (n, errs int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total, failures := 0, 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			var c *client.Conn
			n, bad := 0, 0
			defer func() {
				if c != nil {
					c.Close()
				}
				mu.Lock()
				total, failures = total+n, failures+bad
				mu.Unlock()
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c == nil {
					var err error
					if c, err = client.Connect(mysqlHost+":"+mysqlPort, "root", mysqlRootPass, db); err != nil {
						c = nil
						bad++
						time.Sleep(200 * time.Millisecond)
						continue
					}
				}
				if err := workloadStatement(c, rng); err != nil {
					bad++
					if !strings.Contains(err.Error(), "Deadlock") && !strings.Contains(err.Error(), "Lock wait") {
						c.Close()
						c = nil
					}
					continue
				}
				n++
			}
		}(int64(w) + time.Now().UnixNano())
	}
	return func() (int, int) { wg.Wait(); return total, failures }
}

// workloadStatement runs one random write of the workload mix on wl.
func workloadStatement(c *client.Conn, rng *rand.Rand) error {
	id := rng.Intn(5000) + 1
	var err error
	switch op := rng.Intn(10); {
	case op < 4:
		_, err = c.Execute("INSERT INTO wl (id, grp, v, note) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE v = v + 1", id, rng.Intn(10), rng.Int63(), randText(rng))
	case op < 7:
		_, err = c.Execute("UPDATE wl SET v = ?, note = ? WHERE id = ?", rng.Int63(), randText(rng), id)
	case op < 8:
		_, err = c.Execute("UPDATE IGNORE wl SET id = ? WHERE id = ?", rng.Intn(5000)+5001, id)
	case op < 9:
		_, err = c.Execute("DELETE FROM wl WHERE id = ?", id)
	default:
		if _, err = c.Execute("BEGIN"); err != nil {
			return err
		}
		for i := 0; i < 5 && err == nil; i++ {
			_, err = c.Execute("REPLACE INTO wl (id, grp, v, note) VALUES (?, ?, ?, ?)", rng.Intn(10000)+1, rng.Intn(10), rng.Int63(), randText(rng))
		}
		if err == nil {
			_, err = c.Execute("COMMIT")
		} else {
			c.Execute("ROLLBACK")
		}
	}
	return err
}

// peakRSS returns the peak resident set size (VmHWM) of a running process in bytes.
func peakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read status of %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// proxy is a TCP proxy on loopback between the replicator and a server. It can drop every
// connection at once (cut) and refuse connections for a while (down/up), which is what a
// network failure or a stopped server looks like from the replicator's side.
type proxy struct {
	t      testing.TB
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	cuts  int
	delay time.Duration // added before each chunk is passed on, both ways: a slow server
}

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(func() { p.down() })
	return p
}

// Port is the proxy's port.
func (p *proxy) Port() string {
	_, port, _ := net.SplitHostPort(p.addr)
	return port
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *proxy) pipe(c net.Conn) {
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { p.copy(s, c); done <- struct{}{} }()
	go func() { p.copy(c, s); done <- struct{}{} }()
	<-done
	c.Close()
	s.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// copy passes src on to dst, each chunk after the proxy's delay.
func (p *proxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.delay
			p.mu.Unlock()
			if d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// slow sets the delay added to every chunk passed on (0: none).
func (p *proxy) slow(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// cut drops every open connection (a reset, as after a network failure); new
// connections are accepted. It returns how many connections it dropped.
func (p *proxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST, not FIN
		}
		c.Close()
		n++
	}
	p.cuts++
	return n / 2
}

// down refuses new connections and drops the open ones.
func (p *proxy) down() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.mu.Unlock()
	p.cut()
}

// up accepts connections again on the same address.
func (p *proxy) up() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("proxy cannot listen on %s again: %v", p.addr, err)
}

// faultConfig is the streaming configuration of the fault scenarios.
func faultConfig(url, db, extra string) string {
	return configText("replicator", mysqlReplPass, url, fmt.Sprintf(`
[apply]
flush_interval = "100ms"
batch_rows = 2000
[snapshot]
chunk_rows = 2000
parallelism = 2
[[tables]]
source = "%s.*"
%s`, db, extra))
}

// faultSetup creates db with the workload table seeded with rows.
func faultSetup(t *testing.T, db string, rows int) {
	t.Helper()
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE `"+db+"`", wlTable)
	if rows > 0 {
		seed(t, my, db, rows)
	}
}

// finishScenario stops the workload, waits for the target to catch up, and checks that
// verify reports equality while p (the running replicator) is still running.
func finishScenario(t *testing.T, url, cfg string, p *proc, stop chan struct{}, wait func() (int, int)) (statements int, verifyTime time.Duration) {
	t.Helper()
	close(stop)
	n, _ := wait()
	waitPGCaughtUp(t, url, p, 3*time.Minute)
	start := time.Now()
	rep := assertVerifyEqual(t, cfg)
	for _, tb := range rep.Tables {
		t.Logf("verify: %s %d rows equal (%d chunks)", tb.Source, tb.SourceRows, tb.Chunks)
	}
	if p.exited() {
		t.Fatalf("replicator exited (%v) instead of running on\n%s", p.err, tail(p.output(), 30))
	}
	return n, time.Since(start)
}

// phaseOf names where a replicator's log says it is: the snapshot, the hand-off from the
// finished snapshot to the stream, or streaming.
func phaseOf(out string) string {
	switch {
	case strings.Contains(out, `"msg":"streaming"`):
		return "streaming"
	case strings.Contains(out, "snapshot complete"):
		return "handoff"
	case strings.Contains(out, "consistent snapshot opened") || strings.Contains(out, "resuming snapshot"):
		return "snapshot"
	}
	return "startup"
}

// handedOff reports whether the run whose log is out finished a snapshot and the target's
// checkpoint is still that snapshot's position: the kill came in the hand-off, before the
// stream's first batch.
func handedOff(out, url string) bool {
	m := snapshotGTID.FindStringSubmatch(out)
	return m != nil && pgCheckpoint(url) == m[1]
}

// resetPG drops the replicated schema and the state schema, so the next run snapshots
// again from scratch.
func resetPG(t *testing.T, url, db string) {
	t.Helper()
	c := pgConnect(t, url)
	for _, s := range []string{db, "_replicator"} {
		if _, err := c.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{s}.Sanitize()+" CASCADE"); err != nil {
			t.Fatal(err)
		}
	}
}
