//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the replicator built once for the whole suite: tests drive the real CLI.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "replicator-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "replicator")
	build := exec.Command("go", "build", "-o", binary, "../cmd/replicator")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build replicator:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is a finished replicator process.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the replicator to completion with a timeout.
func runCLI(t testing.TB, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("run replicator %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("replicator %v did not finish within %s\nstderr:\n%s", args, timeout, tail(res.stderr, 40))
	}
	return res
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

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

// waitOutput waits until the process output contains s; false when it exited or the
// timeout passed first.
func waitOutput(p *proc, s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(p.output(), s) {
			return true
		}
		if p.exited() {
			return strings.Contains(p.output(), s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// waitExit waits for the process to exit; false when it still runs after timeout.
func waitExit(p *proc, timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// waitStreaming waits until p logged that it streams: a SIGTERM before its signal handler
// is installed ends it by the signal, not by a clean stop.
func waitStreaming(t *testing.T, p *proc) {
	t.Helper()
	waitStreamingWithin(t, p, 60*time.Second)
}

// waitStreamingWithin is waitStreaming with a deadline of its own (a resumed snapshot
// that reads many changed rows again takes longer).
func waitStreamingWithin(t *testing.T, p *proc, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.output(), `"msg":"streaming"`) {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("replicator did not start streaming: %v\n%s", p.err, tail(p.output(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lastLine is the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

type checkOut struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name, Status, Detail, Fix, Kind string
	} `json:"checks"`
}

func runCheck(t *testing.T, cfgPath string) (checkOut, result) {
	t.Helper()
	if text, err := os.ReadFile(cfgPath); err == nil && strings.Contains(string(text), "\nuser = \"replicator\"\n") {
		requireDocumentedGrants(t)
	}
	res := runCLI(t, 60*time.Second, "check", "-c", cfgPath, "--json")
	var out checkOut
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("check --json output is not JSON: %v\nstdout:\n%s\nstderr:\n%s", err, res.stdout, res.stderr)
	}
	return out, res
}

func statusOf(out checkOut, name string) (status, fix string) {
	for _, c := range out.Checks {
		if c.Name == name {
			return c.Status, c.Fix
		}
	}
	return "", ""
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func httpGet(url string) (int, string, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// verifyReport is the part of `replicator verify --json` the tests read.
type verifyReport struct {
	Equal      bool   `json:"equal"`
	Reason     string `json:"reason"`
	SourceGTID string `json:"source_gtid"`
	Documents  []struct {
		Index       string   `json:"index"`
		Equal       bool     `json:"equal"`
		Documents   int      `json:"documents"`
		Differences int      `json:"differences"`
		Differ      []string `json:"differ"`
	} `json:"documents"`
	Tables []struct {
		Source           string `json:"source"`
		Target           string `json:"target"`
		Method           string `json:"method"`
		SourceRows       int64  `json:"source_rows"`
		TargetRows       int64  `json:"target_rows"`
		Chunks           int    `json:"chunks"`
		MismatchedChunks int    `json:"mismatched_chunks"`
		Equal            bool   `json:"equal"`
		Differences      int    `json:"differences"`
		Deletes          string `json:"deletes"`
		Kept             int64  `json:"kept_rows"`
		Error            string `json:"error"`
		NotSelected      bool   `json:"not_selected"`
		Diffs            []struct {
			Kind    string             `json:"kind"`
			Key     map[string]*string `json:"key"`
			Columns []string           `json:"columns"`
			Source  map[string]*string `json:"source"`
			Target  map[string]*string `json:"target"`
		} `json:"diffs"`
	} `json:"tables"`
}

// runVerify runs `replicator verify --json` with extra flags and decodes its report.
func runVerify(t testing.TB, cfg string, flags ...string) (verifyReport, result) {
	t.Helper()
	args := append([]string{"verify", "-c", cfg, "--json", "--log-level", "warn"}, flags...)
	res := runCLI(t, 5*time.Minute, args...)
	var rep verifyReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("verify --json printed no report (exit %d): %v\nstdout:\n%s\nstderr:\n%s", res.code, err, tail(res.stdout, 20), tail(res.stderr, 20))
	}
	return rep, res
}

// assertVerifyEqual runs verify and fails the test unless it reports every table equal
// and exits 0. It returns the report.
func assertVerifyEqual(t testing.TB, cfg string, flags ...string) verifyReport {
	t.Helper()
	rep, res := runVerify(t, cfg, flags...)
	if res.code != 0 || !rep.Equal {
		t.Fatalf("verify: exit %d, equal %v: %s\n%s\n%s", res.code, rep.Equal, rep.Reason, tail(res.stdout, 60), tail(res.stderr, 10))
	}
	for _, tb := range rep.Tables {
		// Counts come from the checksum pass; under write load a chunk may have been read
		// mid-change and settled by the rechecks.
		if !tb.Equal || (tb.MismatchedChunks == 0 && tb.SourceRows != tb.TargetRows) {
			t.Fatalf("verify says equal but table %s: %+v", tb.Source, tb)
		}
	}
	return rep
}

// killSnapshotThenStream kills 'run' of cfg with SIGKILL three times: inside the snapshot
// after 1500 rows of a chunk (kill point snapshot.chunk-rows:1500), then twice while it
// resumes or streams, first after first, then 700 ms later in the run. The test's
// workload keeps writing throughout.
func killSnapshotThenStream(t *testing.T, h targetHarness, cfg string, first time.Duration) {
	t.Helper()
	k := startCLIEnv(t, []string{"REPLICATOR_CRASH_AT=snapshot.chunk-rows:1500"}, "run", "-c", cfg)
	select {
	case <-k.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the snapshot did not reach its kill point:\n%s", tail(k.output(), 20))
	}
	if phase, _, _ := h.Checkpoint(t); phase != "snapshot" {
		t.Fatalf("after the kill in the snapshot the checkpoint phase is %q, want snapshot:\n%s", phase, tail(k.output(), 20))
	}
	for i := 0; i < 2; i++ {
		p := startCLI(t, "run", "-c", cfg)
		time.Sleep(first + time.Duration(700*i)*time.Millisecond)
		if p.exited() {
			t.Fatalf("replicator exited early: %v\n%s", p.err, tail(p.output(), 30))
		}
		p.kill()
	}
}
