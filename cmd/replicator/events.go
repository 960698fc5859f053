package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/replicator/replicator/events"
	"github.com/replicator/replicator/source"
)

// eventsFlags are the flags of `replicator events`.
type eventsFlags struct {
	from     string
	fromNow  bool
	follow   bool
	tables   stringList
	ops      string
	format   string
	limit    int
	serverID uint
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func init() {
	var f eventsFlags
	register(&command{
		name:        "events",
		summary:     "print the decoded change stream (row changes and DDL) as JSON lines or text",
		usage:       "events -c config.toml [--from GTID | --from-now] [--follow] [--tables PATTERN] [--ops insert,update,delete,ddl] [--format json|text] [--limit N]",
		needsConfig: true,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&f.from, "from", "", "start after this GTID set (what the source had already written); reads up to the source's position at start unless --follow")
			fs.BoolVar(&f.fromNow, "from-now", false, "start at the source's current position and follow (the default when --from is not given)")
			fs.BoolVar(&f.follow, "follow", false, "keep streaming until interrupted (SIGINT/SIGTERM)")
			f.tables = nil // Var, unlike StringVar, does not reset it
			fs.Var(&f.tables, "tables", "only these tables: patterns as in [[tables]] source (\"db.table\", \"db.*\"), comma-separated or repeated; within the configured selection")
			fs.StringVar(&f.ops, "ops", events.DefaultOps, "kinds of line to print: insert, update, delete, ddl, commit (the end of a transaction, with the position after it)")
			fs.StringVar(&f.format, "format", "json", "json (one object per line) or text (a readable block per event)")
			fs.IntVar(&f.limit, "limit", 0, "stop after N lines (0: no limit)")
			fs.UintVar(&f.serverID, "server-id", 0, "binlog reader server id (default: derived from the process id, distinct from source.server_id)")
		},
		run: func(ctx context.Context, env *runEnv) error { return runEvents(ctx, env, &f) },
	})
}

func runEvents(ctx context.Context, env *runEnv, f *eventsFlags) error {
	usageErr := func(format string, a ...any) error {
		return exitError{code: 2, err: fmt.Errorf(format, a...)}
	}
	if f.from != "" && f.fromNow {
		return usageErr("--from and --from-now exclude each other")
	}
	if f.format != "json" && f.format != "text" {
		return usageErr("--format %q: use json or text", f.format)
	}
	if f.limit < 0 {
		return usageErr("--limit %d: must be 0 (no limit) or more", f.limit)
	}
	if f.serverID > 1<<32-1 {
		return usageErr("--server-id %d: must fit 32 bits", f.serverID)
	}
	tables, err := events.ParseTables(f.tables)
	if err != nil {
		return usageErr("%v", err)
	}
	ops, err := events.ParseOps(f.ops)
	if err != nil {
		return usageErr("%v", err)
	}
	serverID := uint32(f.serverID)
	if serverID == 0 {
		serverID = eventsServerID(env.cfg.Source.ServerID, os.Getpid())
	}
	// A reader that closes the pipe (| head) must end the run quietly: with SIGPIPE
	// ignored, writes to the closed stdout fail with EPIPE instead of killing the process.
	signal.Ignore(syscall.SIGPIPE)

	sink := &lineSink{w: bufio.NewWriterSize(env.stdout, 64<<10), text: f.format == "text", limit: f.limit}
	err = events.Run(ctx, events.Options{
		Config:   env.cfg,
		Routes:   env.routes,
		Dialer:   source.NewDialer(env.cfg.Source),
		From:     f.from,
		Follow:   f.follow || f.from == "", // from now, there is nothing before the stop position
		ServerID: serverID,
		Filter:   events.Filter{Tables: tables, Ops: ops},
		Log:      env.log,
	}, sink)
	if sink.closed {
		env.log.Debug("stdout closed by the reader; stopping")
	}
	if err != nil && ctx.Err() != nil {
		return nil // interrupted, even before the stream started: a clean stop
	}
	return err
}

// eventsServerID derives the binlog reader's server id: per process, so two event readers
// never disconnect each other, and never the replicator's own id or its probe id.
func eventsServerID(configured uint32, pid int) uint32 {
	id := 2_000_000_000 + uint32(pid%1_000_000_000)
	for id == configured || id == source.ProbeServerID(configured) {
		id++
	}
	return id
}

// lineSink writes records to stdout, counts them against --limit and turns a closed pipe
// into a quiet stop.
type lineSink struct {
	w      *bufio.Writer
	text   bool
	limit  int
	n      int
	buf    []byte
	closed bool // the reader closed stdout
}

func (s *lineSink) Put(r *events.Record) error {
	if s.text {
		s.buf = events.AppendText(s.buf[:0], r)
	} else {
		s.buf = events.AppendJSON(s.buf[:0], r)
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return s.writeErr(err)
	}
	s.n++
	if s.limit > 0 && s.n >= s.limit {
		return events.ErrStop
	}
	return nil
}

func (s *lineSink) Flush() error { return s.writeErr(s.w.Flush()) }

func (s *lineSink) writeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EPIPE), errors.Is(err, os.ErrClosed):
		s.closed = true
		return events.ErrStop
	}
	return fmt.Errorf("write output: %w", err)
}

var _ events.Sink = (*lineSink)(nil)
