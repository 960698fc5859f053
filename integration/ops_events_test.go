//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// Golden files of `replicator events` live in testdata/events; REPLICATOR_UPDATE_GOLDEN=1
// rewrites them from the current output.
var updateGolden = os.Getenv("REPLICATOR_UPDATE_GOLDEN") == "1"

func eventsConfig(t *testing.T, db string) string {
	// The target is never contacted by events; any valid configuration works.
	return writeConfig(t, configText("replicator", mysqlReplPass, pgURL, fmt.Sprintf(`
[[tables]]
source = "%s.*"
`, db)))
}

// eventsProc is `replicator events` running in the background with its stdout and stderr
// kept apart, stdout read line by line.
type eventsProc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	mu     sync.Mutex
	lines  []string
	done   chan struct{}
	err    error
}

func startEvents(t *testing.T, args ...string) *eventsProc {
	t.Helper()
	p := &eventsProc{stderr: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, append([]string{"events"}, args...)...)
	p.cmd.Stderr = lockedWriter{&p.mu, p.stderr}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *eventsProc) snapshot() ([]string, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...), p.stderr.String()
}

// waitFor polls until cond holds for the lines and stderr so far.
func (p *eventsProc) waitFor(t *testing.T, what string, timeout time.Duration, cond func(lines []string, stderr string) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lines, stderr := p.snapshot()
		if cond(lines, stderr) {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("events exited (%v) while waiting for %s\nstdout:\n%s\nstderr:\n%s", p.err, what, strings.Join(lines, "\n"), tail(stderr, 30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s\nstdout:\n%s\nstderr:\n%s", what, timeout, strings.Join(lines, "\n"), tail(stderr, 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects exit code 0.
func (p *eventsProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("events did not stop within 30 s after SIGTERM")
	}
	if p.err != nil {
		_, stderr := p.snapshot()
		t.Fatalf("events exited with %v after SIGTERM\n%s", p.err, tail(stderr, 30))
	}
}

var (
	gtidField = regexp.MustCompile(`"gtid":"([^"]*)"`)
	posField  = regexp.MustCompile(`"pos":"([^"]*)"`)
	timeField = regexp.MustCompile(`"time":"([^"]*)"`)
	rfc3339Z  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

// normaliseEvents checks that every line is a JSON object with an RFC 3339 UTC time, and
// replaces what differs between runs: each GTID by "<gtid N>" (N in order of first
// appearance), a commit's pos by "<pos N>" of its own transaction's GTID, times by
// "<time>". Everything else stays byte for byte.
func normaliseEvents(t *testing.T, lines []string) string {
	t.Helper()
	ids := map[string]int{}
	var b strings.Builder
	for _, l := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("not a JSON object: %s: %v", l, err)
		}
		gm := gtidField.FindStringSubmatch(l)
		if gm == nil {
			t.Fatalf("no gtid: %s", l)
		}
		if _, ok := ids[gm[1]]; !ok {
			ids[gm[1]] = len(ids) + 1
		}
		n := ids[gm[1]]
		if tm := timeField.FindStringSubmatch(l); tm == nil || !rfc3339Z.MatchString(tm[1]) {
			t.Fatalf("time is not RFC 3339 UTC: %s", l)
		}
		if pm := posField.FindStringSubmatch(l); pm != nil && !strings.Contains(pm[1], gm[1]) {
			t.Errorf("commit pos %q does not include its transaction %q", pm[1], gm[1])
		}
		l = gtidField.ReplaceAllString(l, fmt.Sprintf(`"gtid":"<gtid %d>"`, n))
		l = posField.ReplaceAllString(l, fmt.Sprintf(`"pos":"<pos %d>"`, n))
		l = timeField.ReplaceAllString(l, `"time":"<time>"`)
		b.WriteString(l + "\n")
	}
	return b.String()
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "events", name)
	if updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (REPLICATOR_UPDATE_GOLDEN=1 writes it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d (REPLICATOR_UPDATE_GOLDEN=1 rewrites it)\n got: %s\nwant: %s\n\nfull output:\n%s", path, i+1, g, w, got)
			}
		}
	}
}

// TestEventsGolden streams a scripted sequence through `events --follow`: inserts with
// every kind of value, a transaction over two selected tables and an unselected one,
// updates (one changing the primary key, one a composite key), deletes, an ALTER TABLE
// ADD COLUMN and rows after it. The lines must equal the golden file once GTIDs and times
// are normalised; SIGTERM ends the run with exit 0.
func TestEventsGolden(t *testing.T) {
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, "it_events")
	freshMySQLDatabase(t, my, "it_events_x")
	mustExec(t, my,
		"CREATE TABLE it_events.t (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(10,2), data VARBINARY(8), doc JSON, ts DATETIME(3), flags BIT(3), f DOUBLE, y YEAR, tags SET('a','b','c'), e ENUM('x','y'), big BIGINT UNSIGNED)",
		"CREATE TABLE it_events.c (a INT, b VARCHAR(5), n INT, PRIMARY KEY (a, b))",
		"CREATE TABLE it_events_x.o (id INT PRIMARY KEY)")
	from := sourceGTID(t, my)

	p := startEvents(t, "-c", eventsConfig(t, "it_events"), "--from", from, "--follow", "--ops", "insert,update,delete,ddl,commit")
	// The tracker is seeded before the stream starts: the ALTER below must come after.
	p.waitFor(t, "streaming log line", 30*time.Second, func(_ []string, stderr string) bool {
		return strings.Contains(stderr, "events: streaming")
	})

	mustExec(t, my, "USE it_events",
		`INSERT INTO t VALUES (1, 'a"b\\c\nd é😀', 1.50, x'00ff10', '{"k": [1, 2.5, "x"], "n": null}', '2024-01-02 03:04:05.120', b'101', 0.25, 2024, 'a,c', 'y', 18446744073709551615)`,
		"BEGIN",
		"INSERT INTO t (id, name) VALUES (2, 'two'), (3, 'three')",
		"INSERT INTO it_events_x.o VALUES (1)",
		"INSERT INTO c VALUES (1, 'x', 10)",
		"COMMIT",
		"UPDATE t SET name = NULL, price = -2.25, tags = '' WHERE id = 1",
		"UPDATE t SET id = 20 WHERE id = 2", // primary key change
		"UPDATE c SET b = 'y', n = 11 WHERE a = 1",
		"DELETE FROM t WHERE id = 3",
		"ALTER TABLE t ADD COLUMN note VARCHAR(10) NOT NULL DEFAULT 'n/a' AFTER name",
		"INSERT INTO t (id, name, note) VALUES (4, 'four', 'hi')",
		"UPDATE t SET note = 'changed' WHERE id = 20",
		"DELETE FROM c",
		"INSERT INTO t (id, name) VALUES (999, 'end')")

	p.waitFor(t, "the last row's commit", 60*time.Second, func(lines []string, _ string) bool {
		for i, l := range lines {
			if strings.Contains(l, `"key":{"id":999}`) {
				for _, m := range lines[i+1:] {
					if strings.Contains(m, `"op":"commit"`) {
						return true
					}
				}
			}
		}
		return false
	})
	p.stop(t)
	lines, _ := p.snapshot()
	compareGolden(t, "scenario.jsonl", normaliseEvents(t, lines))

	// From the commit before the ALTER, without --follow: the tracker starts with today's
	// definitions, which already hold the new column, so the replayed ALTER cannot apply:
	// it is printed marked "reloaded" and the rows after it decode as before. The run
	// ends by itself at the source's position at its start.
	var resume string
	for i, l := range lines {
		if strings.Contains(l, `"op":"delete","database":"it_events","table":"t"`) {
			if m := posField.FindStringSubmatch(lines[i+1]); m != nil {
				resume = m[1]
			}
		}
	}
	if resume == "" {
		t.Fatal("no commit line after the delete")
	}
	res := runCLI(t, 60*time.Second, "events", "-c", eventsConfig(t, "it_events"), "--from", resume, "--ops", "insert,update,delete,ddl,commit")
	if res.code != 0 {
		t.Fatalf("events --from %s: exit %d\n%s", resume, res.code, tail(res.stderr, 20))
	}
	if !strings.Contains(res.stderr, "column note already exists") {
		t.Errorf("no warning about the replayed ALTER on stderr:\n%s", tail(res.stderr, 20))
	}
	compareGolden(t, "from_before_alter.jsonl", normaliseEvents(t, splitLines(res.stdout)))
}

// eventsFixture writes a few transactions to a fresh database and returns the position
// before them.
func eventsFixture(t *testing.T, db string) (*client.Conn, string) {
	t.Helper()
	my := mysqlRoot(t)
	freshMySQLDatabase(t, my, db)
	mustExec(t, my, "USE "+db,
		"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))",
		"CREATE TABLE u (id INT PRIMARY KEY)")
	from := sourceGTID(t, my)
	mustExec(t, my,
		"INSERT INTO t VALUES (1, 'a')",
		"INSERT INTO t VALUES (2, 'b'), (3, 'c')",
		"UPDATE t SET v = 'a2' WHERE id = 1",
		"DELETE FROM t WHERE id = 2",
		"INSERT INTO u VALUES (1)")
	return my, from
}

func ops(lines []string) string {
	var out []string
	for _, l := range lines {
		var m struct{ Op, Table string }
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			return "bad JSON: " + l
		}
		out = append(out, m.Op+" "+m.Table)
	}
	return strings.Join(out, ", ")
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestEventsFiltersAndFormats runs without --follow (each run stops at the source's
// position at its start) with --limit, --ops, --tables and --format text.
func TestEventsFiltersAndFormats(t *testing.T) {
	db := "it_events_f"
	_, from := eventsFixture(t, db)
	cfg := eventsConfig(t, db)
	run := func(args ...string) []string {
		t.Helper()
		res := runCLI(t, 60*time.Second, append([]string{"events", "-c", cfg, "--from", from, "--log-level", "info"}, args...)...)
		if res.code != 0 || res.stderr != "" {
			t.Fatalf("events %v: exit %d\n%s", args, res.code, res.stderr)
		}
		return splitLines(res.stdout)
	}

	if got, want := ops(run()), "insert t, insert t, insert t, update t, delete t, insert u"; got != want {
		t.Errorf("all: got %s, want %s", got, want)
	}
	if got, want := ops(run("--limit", "2")), "insert t, insert t"; got != want {
		t.Errorf("--limit 2: got %s, want %s", got, want)
	}
	if got, want := ops(run("--ops", "update,delete")), "update t, delete t"; got != want {
		t.Errorf("--ops update,delete: got %s, want %s", got, want)
	}
	if got, want := ops(run("--tables", db+".u")), "insert u"; got != want {
		t.Errorf("--tables %s.u: got %s, want %s", db, got, want)
	}
	// seq counts a transaction's changes before the filters: id 3 is the second row.
	if l := run("--ops", "insert", "--tables", db+".t", "--limit", "3"); len(l) != 3 || !strings.Contains(l[2], `"seq":1,`) || !strings.Contains(l[2], `"key":{"id":3}`) {
		t.Errorf("seq of the second row of a transaction: %v", l)
	}

	text := strings.Join(run("--format", "text", "--ops", "update,delete"), "\n")
	text = regexp.MustCompile(`gtid \S+`).ReplaceAllString(text, "gtid G")
	text = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`).ReplaceAllString(text, "TIME")
	want := `update it_events_f.t  gtid G  txn 1  seq 0  TIME
    key  {"id":1}
    id   1
    v    "a" -> "a2"

delete it_events_f.t  gtid G  txn 2  seq 0  TIME
    key  {"id":2}
    id   2
    v    "b"`
	if text != want {
		t.Errorf("--format text:\n%s\nwant:\n%s", text, want)
	}
}

// TestEventsClosedPipe is `replicator events | head -1`: the reader closes stdout after
// one line; the next write ends the run with exit 0 and nothing on stderr (not a death by
// SIGPIPE, not an error line).
func TestEventsClosedPipe(t *testing.T) {
	db := "it_events_p"
	my, from := eventsFixture(t, db)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(binary, "events", "-c", eventsConfig(t, db), "--from", from, "--follow", "--log-level", "info")
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || !strings.Contains(line, `"op":"insert"`) {
		t.Fatalf("first line %q, %v", line, err)
	}
	r.Close() // head -1 exits
	deadline := time.After(60 * time.Second)
	for i := 100; ; i++ {
		// Lines already written may sit in the pipe's buffer: more changes make it write.
		mustExec(t, my, fmt.Sprintf("INSERT INTO %s.u VALUES (%d)", db, i))
		select {
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("events ended with %v (status %v) after the reader closed stdout; stderr: %q", err, ee.ProcessState, stderr.String())
			}
			if err != nil {
				t.Fatal(err)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr not empty: %q", stderr.String())
			}
			return
		case <-deadline:
			t.Fatal("events did not end within 60 s after its reader closed stdout")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
