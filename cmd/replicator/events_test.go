package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicator/replicator/events"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

func TestEventsServerID(t *testing.T) {
	if a, b := eventsServerID(4201, 100), eventsServerID(4201, 101); a == b {
		t.Errorf("two processes share server id %d", a)
	}
	for _, cfg := range []uint32{4201, 2_000_000_100, 1_000_000_100} {
		id := eventsServerID(cfg, 100)
		if id == cfg || id == source.ProbeServerID(cfg) {
			t.Errorf("configured %d: derived id %d collides", cfg, id)
		}
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func testRecord() *events.Record {
	tbl := &schema.Table{Schema: "db", Name: "t", Key: []int{0}, Columns: []schema.Column{{Name: "id", DataType: "int"}}}
	return &events.Record{Op: events.OpInsert, GTID: "0-1-1", Txn: 1, Time: time.Unix(0, 0),
		View: events.NewView(tbl, nil), After: [][]byte{[]byte("1")}}
}

func TestLineSink(t *testing.T) {
	var out bytes.Buffer
	s := &lineSink{w: bufio.NewWriter(&out), limit: 2}
	if err := s.Put(testRecord()); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(testRecord()); !errors.Is(err, events.ErrStop) {
		t.Fatalf("second line with --limit 2: got %v, want ErrStop", err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Errorf("%d lines written, want 2", n)
	}

	// A closed pipe is a quiet stop; any other write error is reported.
	s = &lineSink{w: bufio.NewWriterSize(failWriter{&os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}}, 16)}
	if err := s.Put(testRecord()); !errors.Is(err, events.ErrStop) || !s.closed {
		t.Errorf("EPIPE: got %v (closed %v), want ErrStop", err, s.closed)
	}
	s = &lineSink{w: bufio.NewWriterSize(failWriter{fmt.Errorf("disk full")}, 16)}
	if err := s.Put(testRecord()); err == nil || errors.Is(err, events.ErrStop) {
		t.Errorf("disk full: got %v, want an error", err)
	}
}

func TestEventsFlagErrors(t *testing.T) {
	cfg := writeTestConfig(t)
	for _, args := range [][]string{
		{"--from", "0-1-1", "--from-now"},
		{"--format", "yaml"},
		{"--limit", "-1"},
		{"--ops", "upsert"},
		{"--tables", "nodot"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"events", "-c", cfg}, args...), &stdout, &stderr)
		if code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "replicator events:") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}

func writeTestConfig(t *testing.T) string {
	t.Helper()
	p := t.TempDir() + "/config.toml"
	text := `[source]
host = "127.0.0.1"
port = 1
user = "u"
server_id = 1
[target]
type = "postgres"
[target.postgres]
url = "postgres://x@127.0.0.1:1/db"
[[tables]]
source = "db.*"
`
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
