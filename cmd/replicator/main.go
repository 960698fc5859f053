// Command replicator keeps PostgreSQL tables and Elasticsearch indexes in sync with a MySQL
// or MariaDB database: a consistent snapshot, then the binary log from exactly its position.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/logging"
	"github.com/replicator/replicator/route"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// command is one subcommand of the CLI.
type command struct {
	name, summary, usage string
	// needsConfig commands get -c, --log-level and --log-format.
	needsConfig bool
	flags       func(fs *flag.FlagSet) // extra flags
	run         func(ctx context.Context, env *runEnv) error
}

// runEnv is what a command runs with.
type runEnv struct {
	cfg *config.Config
	// routes are cfg's [[tables]] rules, compiled once for every part of the command.
	routes *route.Set
	log    *slog.Logger
	stdout io.Writer
	args   []string
	// logOut is the log's destination; a progress display swaps itself in.
	logOut *logging.SwitchWriter
	// terminal is true when stderr is a terminal.
	terminal bool
}

// errSilent means the command already printed its failure (for example a failed check
// list); main exits non-zero without another line.
var errSilent = errors.New("")

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "replicator: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("replicator "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfgPath, logLevel, logFormat string
	if cmd.needsConfig {
		def := os.Getenv("REPLICATOR_CONFIG")
		if def == "" {
			def = "config.toml"
		}
		fs.StringVar(&cfgPath, "c", def, "configuration file (env REPLICATOR_CONFIG)")
		fs.StringVar(&cfgPath, "config", def, "configuration file (same as -c)")
		fs.StringVar(&logLevel, "log-level", "", "debug, info, warn or error (overrides log.level)")
		fs.StringVar(&logFormat, "log-format", "", "auto, text or json (overrides log.format)")
	}
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: replicator %s\n\n%s\n\nflags:\n", cmd.usage, cmd.summary)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	env := &runEnv{stdout: stdout, args: fs.Args(), logOut: logging.NewSwitchWriter(stderr), terminal: logging.IsTerminal(stderr)}
	if cmd.needsConfig {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "replicator: %v\n", err)
			return 1
		}
		routes, err := route.Compile(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "replicator: %v\n", err)
			return 1
		}
		env.routes = routes
		if logLevel != "" {
			cfg.Log.Level = logLevel
		}
		if logFormat != "" {
			cfg.Log.Format = logFormat
		}
		format := cfg.Log.Format
		if format == "auto" && env.terminal {
			format = "text"
		}
		// Every secret of the configuration is blanked out of the log, the command's
		// output and its error line, whatever library put it in a message.
		secrets := cfg.Secrets()
		stdout, stderr = logging.NewRedactor(stdout, secrets...), logging.NewRedactor(stderr, secrets...)
		env.stdout = stdout
		lg, err := logging.New(logging.NewRedactor(env.logOut, secrets...), cfg.Log.Level, format)
		if err != nil {
			fmt.Fprintf(stderr, "replicator: %v\n", err)
			return 2
		}
		env.cfg, env.log = cfg, lg
	} else {
		env.log, _ = logging.New(stderr, "info", "auto")
	}
	slog.SetDefault(env.log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// REPLICATOR_CPUPROFILE=file writes a CPU profile of the command (for go tool pprof).
	if path := os.Getenv("REPLICATOR_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	// REPLICATOR_MEMPROFILE=file writes, at exit, where the command allocated (the allocs
	// profile: go tool pprof -sample_index=alloc_space).
	if path := os.Getenv("REPLICATOR_MEMPROFILE"); path != "" {
		defer func() {
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	err := runGuarded(ctx, cmd, env, stderr)
	switch {
	case err == nil:
		return 0
	case cmd.name == "run" && ctx.Err() != nil:
		// SIGINT/SIGTERM before the stream started (while connecting, say): nothing was
		// left half done, so it is a clean stop like one during streaming.
		env.log.Info("stopped before streaming started", "during", oneLine(err.Error()))
		return 0
	case errors.Is(err, errSilent):
		return 1
	default:
		fmt.Fprintf(stderr, "replicator %s: %s\n", cmd.name, oneLine(err.Error()))
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
}

// runGuarded runs the command; a panic in its goroutine is printed, with the stack,
// through stderr (the redacted writer once the configuration is loaded) instead of by the
// runtime, so a secret in a panic value is blanked like in any other message.
func runGuarded(ctx context.Context, cmd *command, env *runEnv, stderr io.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "panic: %v\n\n%s", p, debug.Stack())
			err = exitError{code: 2, err: fmt.Errorf("internal error (panic): %v", p)}
		}
	}()
	return cmd.run(ctx, env)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func usage(w io.Writer) {
	fmt.Fprintf(w, "replicator keeps PostgreSQL or Elasticsearch in sync with MySQL/MariaDB.\n\nusage: replicator <command> [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'replicator <command> --help' for the flags of a command.\n")
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		return v
	}
	return "(devel)"
}

func init() {
	register(&command{
		name: "version", summary: "print the version", usage: "version",
		run: func(_ context.Context, env *runEnv) error {
			_, err := fmt.Fprintf(env.stdout, "replicator %s\n", versionString())
			return err
		},
	})
}
