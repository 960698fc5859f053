package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/source"
)

func TestInterrupted(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"transient mark", fault.Transient(errors.New("bulk 429")), true},
		{"source gone", fmt.Errorf("read chunk: %w", source.ErrSourceGone), true},
		{"connection reset", fmt.Errorf("read chunk 3 of db.t: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"EOF", fmt.Errorf("copy: %w", io.ErrUnexpectedEOF), true},
		{"go-mysql bad connection", fmt.Errorf("chunk: %w", mysql.ErrBadConn), true},
		{"go-mysql bad connection, wrapped without Unwrap", errors.New("io.ReadFull(header) failed. err EOF: connection was bad"), true},
		{"server gone", &mysql.MyError{Code: 2006, Message: "MySQL server has gone away"}, true},
		{"server shutdown", fmt.Errorf("chunk: %w", &mysql.MyError{Code: 1053, Message: "Server shutdown in progress"}), true},
		{"syntax", &mysql.MyError{Code: 1064, Message: "You have an error in your SQL syntax"}, false},
		{"access denied mark", fault.Describe("access denied", errors.New("1045"), fault.ErrAccessDenied), false},
		{"access denied and transient", fault.Describe("access denied", errors.New("x"), fault.ErrAccessDenied, fault.ErrTransient), false},
		{"certificate", fmt.Errorf("tls: %w", fault.ErrCertificate), false},
		{"cancelled", fmt.Errorf("copy: %w", context.Canceled), false},
		{"a value the target refuses", errors.New(`ERROR: value too long for type character varying(3) (SQLSTATE 22001)`), false},
	} {
		if got := interrupted(c.err); got != c.want {
			t.Errorf("%s: interrupted(%v) = %v; want %v", c.name, c.err, got, c.want)
		}
	}
}

func TestInterruptBackoff(t *testing.T) {
	var total time.Duration
	for n := 1; n <= maxInterruptions; n++ {
		total += interruptBackoff(n)
	}
	if interruptBackoff(1) != time.Second || interruptBackoff(3) != 4*time.Second || interruptBackoff(7) != 30*time.Second || interruptBackoff(100) != 30*time.Second {
		t.Errorf("backoff 1, 3, 7, 100: %s %s %s %s", interruptBackoff(1), interruptBackoff(3), interruptBackoff(7), interruptBackoff(100))
	}
	if total < time.Minute || total > 5*time.Minute {
		t.Errorf("an unreachable server is waited for %s in all; want 1-5 minutes", total)
	}
}

func TestChunksDone(t *testing.T) {
	p := &plan.Progress{Tables: map[string]*plan.TableProgress{
		"a": {ChunkDone: map[int]bool{0: true, 1: true}},
		"b": {ChunkDone: map[int]bool{4: true}},
		"c": {},
	}}
	if n := chunksDone(p); n != 3 {
		t.Errorf("chunksDone = %d; want 3", n)
	}
	if n := chunksDone(nil); n != 0 {
		t.Errorf("chunksDone(nil) = %d", n)
	}
}
