// Package instance names this replicator process (host and pid) for the targets' instance
// locks, and tells a holder that crashed on this host from one that still runs: the
// restart after a kill -9 must not be refused, or wait for a lease, because of itself.
package instance

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Process identifies one replicator process.
type Process struct {
	Host string
	PID  int
}

// Self is the running process.
func Self() Process {
	host, _ := os.Hostname()
	return Process{Host: host, PID: os.Getpid()}
}

// Crashed reports whether p was a process on this host that no longer exists. A process
// on another host, or one whose host is unknown, is never taken for crashed.
func (p Process) Crashed() bool {
	host, err := os.Hostname()
	if err != nil || p.Host == "" || p.Host != host || p.PID <= 0 {
		return false
	}
	err = syscall.Kill(p.PID, 0)
	return err != nil && !errors.Is(err, syscall.EPERM)
}

// tag prefixes the label; a label is "replicator pid=PID host=HOST".
const tag = "replicator pid="

// Label renders p for a place that holds one short string (PostgreSQL's application_name,
// 63 bytes): a host name cut short no longer parses to this host, so a truncated label
// reads as another host's process, never as a crashed one.
func (p Process) Label() string { return fmt.Sprintf("%s%d host=%s", tag, p.PID, p.Host) }

// ParseLabel reads a Label; ok is false for anything else.
func ParseLabel(s string) (p Process, ok bool) {
	rest, found := strings.CutPrefix(s, tag)
	if !found {
		return Process{}, false
	}
	pid, host, found := strings.Cut(rest, " host=")
	n, err := strconv.Atoi(pid)
	if !found || err != nil {
		return Process{}, false
	}
	return Process{Host: host, PID: n}, true
}
