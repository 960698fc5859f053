package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/replicator/replicator/fault"
)

// TestClassifyMarksKeepTheCause: classify puts the pipeline's marks on top of the driver's
// error; errors.As still finds the *pgconn.PgError or the net.Error under them.
func TestClassifyMarksKeepTheCause(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	for _, c := range []struct {
		name      string
		err       error
		transient bool
		denied    bool
		code      string // the SQLSTATE errors.As must find, if any
		text      string
	}{
		{"admin shutdown", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true, false, "57P01", "transient: "},
		{"connection failure", &pgconn.PgError{Code: "08006", Message: "connection failure"}, true, false, "08006", "transient: "},
		{"deadlock", &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}, true, false, "40P01",
			"target deadlock with another session (SQLSTATE 40P01: deadlock detected)"},
		{"out of disk", fmt.Errorf("upsert into t: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file"}), true, false, "53100",
			"target out of disk space: free space on the disk of the table's tablespace (SQLSTATE 53100: could not extend file)"},
		{"statement timeout", &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}, true, false, "57014",
			"target statement cancelled (a statement_timeout shorter than the batch, or an administrator) (SQLSTATE 57014: canceling statement due to statement timeout)"},
		{"lock timeout", &pgconn.PgError{Code: "55P03", Message: "canceling statement due to lock timeout"}, true, false, "55P03",
			"target table locked by another session (lock_timeout passed) (SQLSTATE 55P03: canceling statement due to lock timeout)"},
		{"serialization", &pgconn.PgError{Code: "40001", Message: "could not serialize access"}, true, false, "40001", "target serialization failure"},
		{"out of memory", &pgconn.PgError{Code: "53200", Message: "out of memory"}, true, false, "53200", "target out of memory (SQLSTATE 53200"},
		{"too many connections", &pgconn.PgError{Code: "53300", Message: "too many clients"}, true, false, "53300", "transient: "},
		{"other resource", &pgconn.PgError{Code: "53400", Message: "configuration limit exceeded"}, true, false, "53400", "target out of resources"},
		{"revoked grant", &pgconn.PgError{Code: "42501", Message: "permission denied for table t"}, false, true, "42501",
			"PostgreSQL refused the change: permission denied for table t [SQLSTATE 42501]: access denied: grant the target account"},
		{"refused value", &pgconn.PgError{Code: "22P02", Message: "invalid input syntax", Detail: "x"}, false, false, "22P02",
			"PostgreSQL rejected the change: invalid input syntax (x) [SQLSTATE 22P02]"},
		{"wrapped refused value", fmt.Errorf("copy: %w", &pgconn.PgError{Code: "23505", Message: "duplicate key"}), false, false, "23505",
			"PostgreSQL rejected the change: duplicate key [SQLSTATE 23505]"},
		{"dial refused", refused, true, false, "", "transient: dial tcp: connect: connection refused"},
		{"refused without net.Error", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true, false, "", "transient: dial: connection refused"},
		{"closed connection", fmt.Errorf("query: %w", pgconn.ErrConnClosed), true, false, "", "transient: query: conn closed"},
		{"unexpected EOF", io.ErrUnexpectedEOF, true, false, "", "transient: unexpected EOF"},
		{"anything else", pgx.ErrTxClosed, false, false, "", "tx is closed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := classify(c.err)
			if errors.Is(got, fault.ErrTransient) != c.transient || errors.Is(got, fault.ErrAccessDenied) != c.denied {
				t.Errorf("classify(%v) = %v: transient %v, denied %v; want %v, %v", c.err, got,
					errors.Is(got, fault.ErrTransient), errors.Is(got, fault.ErrAccessDenied), c.transient, c.denied)
			}
			if !strings.HasPrefix(got.Error(), c.text) {
				t.Errorf("classify(%v) reads %q, want it to start with %q", c.err, got, c.text)
			}
			if !errors.Is(got, c.err) {
				t.Errorf("classify(%v) = %v: the cause is not in the chain", c.err, got)
			}
			var pe *pgconn.PgError
			if c.code != "" && (!errors.As(got, &pe) || pe.Code != c.code) {
				t.Errorf("classify(%v) = %v: errors.As(*pgconn.PgError) does not find SQLSTATE %s", c.err, got, c.code)
			}
		})
	}
	if classify(nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}

func TestExplainKeepsTheCause(t *testing.T) {
	cfg, err := pgx.ParseConfig("postgres://u@127.0.0.1:5/db")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err    error
		denied bool
		text   string
	}{
		{&pgconn.PgError{Code: "28P01", Message: "password authentication failed for user \"u\""}, true, "authentication failed (access denied)"},
		{&pgconn.PgError{Code: "3D000", Message: "database \"db\" does not exist"}, false, "database does not exist"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, false, "server unreachable"},
		{context.DeadlineExceeded, false, "server unreachable"},
	} {
		got := explain(cfg, c.err)
		if errors.Is(got, fault.ErrAccessDenied) != c.denied || !strings.Contains(got.Error(), c.text) {
			t.Errorf("explain(%v) = %v; want denied %v and %q", c.err, got, c.denied, c.text)
		}
		if !errors.Is(got, c.err) {
			t.Errorf("explain(%v) = %v: the cause is not in the chain", c.err, got)
		}
	}
}
