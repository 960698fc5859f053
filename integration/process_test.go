//go:build integration

package integration

import (
	"bytes"
	"context"
	"math/rand"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"
)

// proc is a replicator running in the background.
type proc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
	err  error
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startCLI starts the replicator; the test's cleanup kills it if it still runs.
func startCLI(t testing.TB, args ...string) *proc {
	t.Helper()
	p := &proc{out: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stdout = lockedWriter{p.mu, p.out}
	p.cmd.Stderr = lockedWriter{p.mu, p.out}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL: the crash the replicator must survive.
func (p *proc) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("replicator did not stop within 30 s after SIGTERM\n%s", tail(p.output(), 30))
	}
	if p.err != nil {
		t.Fatalf("replicator exited with %v after SIGTERM\n%s", p.err, tail(p.output(), 30))
	}
}

// sourceGTID reads the source's current GTID position.
func sourceGTID(t testing.TB, my *client.Conn) string {
	t.Helper()
	r, err := my.Execute("SELECT @@GLOBAL.gtid_binlog_pos")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := r.GetString(0, 0)
	return s
}

// waitCaughtUp waits until the target's checkpoint reaches the source's position.
func waitCaughtUp(t testing.TB, my *client.Conn, pg *pgx.Conn, p *proc, timeout time.Duration) {
	t.Helper()
	want := sourceGTID(t, my)
	deadline := time.Now().Add(timeout)
	var got string
	for time.Now().Before(deadline) {
		if p != nil && p.exited() {
			t.Fatalf("replicator exited (%v) before catching up to %s\n%s", p.err, want, tail(p.output(), 40))
		}
		err := pg.QueryRow(context.Background(), "SELECT gtid FROM _replicator.checkpoint WHERE name = 'default' AND phase = 'streaming'").Scan(&got)
		if err == nil && gtidCovers(got, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := ""
	if p != nil {
		out = tail(p.output(), 40)
	}
	t.Fatalf("target checkpoint %q did not reach source %q within %s\n%s", got, want, timeout, out)
}

// gtidCovers compares MariaDB GTID positions domain by domain (seq of got >= want).
func gtidCovers(got, want string) bool {
	seqs := map[string]int64{}
	for _, g := range strings.Split(got, ",") {
		parts := strings.Split(strings.TrimSpace(g), "-")
		if len(parts) == 3 {
			var n int64
			for _, c := range parts[2] {
				n = n*10 + int64(c-'0')
			}
			seqs[parts[0]] = n
		}
	}
	for _, g := range strings.Split(want, ",") {
		parts := strings.Split(strings.TrimSpace(g), "-")
		if len(parts) != 3 {
			continue
		}
		var n int64
		for _, c := range parts[2] {
			n = n*10 + int64(c-'0')
		}
		if seqs[parts[0]] < n {
			return false
		}
	}
	return true
}

// workload writes random inserts, updates (some changing the key), deletes and
// multi-row transactions to db.wl until stop is closed. Returns the number of statements.
func workload(t testing.TB, db string, workers int, stop <-chan struct{}) func() int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			c, err := client.Connect(mysqlHost+":"+mysqlPort, "root", mysqlRootPass, db)
			if err != nil {
				t.Errorf("workload connect: %v", err)
				return
			}
			defer c.Close()
			rng := rand.New(rand.NewSource(seed))
			n := 0
			for {
				select {
				case <-stop:
					mu.Lock()
					total += n
					mu.Unlock()
					return
				default:
				}
				id := rng.Intn(5000) + 1
				var q string
				switch op := rng.Intn(10); {
				case op < 4:
					q = "INSERT INTO wl (id, grp, v, note) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE v = v + 1"
					_, err = c.Execute(q, id, rng.Intn(10), rng.Int63(), randText(rng))
				case op < 7:
					_, err = c.Execute("UPDATE wl SET v = ?, note = ? WHERE id = ?", rng.Int63(), randText(rng), id)
				case op < 8:
					_, err = c.Execute("UPDATE IGNORE wl SET id = ? WHERE id = ?", rng.Intn(5000)+5001, id)
				case op < 9:
					_, err = c.Execute("DELETE FROM wl WHERE id = ?", id)
				default:
					if _, err = c.Execute("BEGIN"); err == nil {
						for i := 0; i < 5 && err == nil; i++ {
							_, err = c.Execute("REPLACE INTO wl (id, grp, v, note) VALUES (?, ?, ?, ?)", rng.Intn(10000)+1, rng.Intn(10), rng.Int63(), randText(rng))
						}
						if err == nil {
							_, err = c.Execute("COMMIT")
						}
					}
				}
				if err != nil && !strings.Contains(err.Error(), "Deadlock") && !strings.Contains(err.Error(), "Lock wait") {
					t.Errorf("workload: %v", err)
					return
				}
				n++
			}
		}(int64(w) + time.Now().UnixNano())
	}
	return func() int { wg.Wait(); return total }
}

func randText(rng *rand.Rand) string {
	words := []string{"alpha", "β-beta", "gamma\ttab", "delta\nline", "ε😀", "quote'd", `back\slash`, ""}
	return words[rng.Intn(len(words))] + strings.Repeat("x", rng.Intn(20))
}

const wlTable = `CREATE TABLE wl (
	id INT NOT NULL PRIMARY KEY,
	grp TINYINT UNSIGNED NOT NULL,
	v BIGINT NOT NULL,
	note VARCHAR(64) CHARACTER SET utf8mb4 NULL,
	ts TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	KEY (grp))`
