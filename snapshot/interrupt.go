package snapshot

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/replicator/replicator/fault"
	"github.com/replicator/replicator/plan"
	"github.com/replicator/replicator/source"
)

// maxInterruptions bounds how often in a row a snapshot that stored its plan resumes in
// the same process after a failure a later attempt may not meet (interrupted) without
// copying a chunk more in between. With interruptBackoff that is about three minutes of
// an unreachable server before the error reaches the caller.
const maxInterruptions = 8

// interruptBackoff is the pause before the n'th resume in a row: 1 s doubling to 30 s.
func interruptBackoff(n int) time.Duration { return fault.Backoff(n, time.Second, 30*time.Second) }

// interrupted says whether err is a failure a later attempt may not meet: a connection
// to the source or the target lost or refused, a server restarting or overloaded, the
// marks the targets put on such errors. Refused access, a refused certificate, a value the
// target cannot store and every other error stay final: resuming cannot help, and the
// user must see them at once.
func interrupted(err error) bool {
	var me *mysql.MyError
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, fault.ErrAccessDenied), errors.Is(err, fault.ErrCertificate):
		return false
	case errors.Is(err, fault.ErrTransient), errors.Is(err, source.ErrSourceGone):
		return true
	case errors.As(err, &me):
		switch me.Code {
		case 1053, 1927, 2006, 2013: // server shutdown, connection killed, server gone, connection lost
			return true
		}
		return false
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, mysql.ErrBadConn):
		return true
	}
	// go-mysql wraps a broken connection with an errors package that does not always
	// unwrap to its sentinel.
	return strings.Contains(err.Error(), mysql.ErrBadConn.Error())
}

// chunksDone counts the chunks a stored snapshot holds as copied.
func chunksDone(p *plan.Progress) int {
	if p == nil {
		return 0
	}
	n := 0
	for _, t := range p.Tables {
		for _, done := range t.ChunkDone {
			if done {
				n++
			}
		}
	}
	return n
}
