package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/replicator/replicator/check"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
	"github.com/replicator/replicator/source"
)

// initOptions are the flags of `replicator init`.
type initOptions struct {
	path, source, target, tables string
	serverID                     uint
	force                        bool
}

func init() {
	var o initOptions
	register(&command{
		name:    "init",
		summary: "write a commented configuration from the live source: the tables found, their keys and what check warns about",
		usage:   "init -c config.toml --source mysql://user[:password]@host[:port] --target postgres://...|http://es:9200 --tables 'db.*[,db2.t]' [--force]",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.path, "c", "config.toml", "configuration file to write")
			fs.StringVar(&o.path, "config", "config.toml", "configuration file to write (same as -c)")
			fs.StringVar(&o.source, "source", "", "source server: mysql://user[:password]@host[:port][?tls=disabled|preferred|required&ca=/path/ca.pem] (without a password, ${MYSQL_PASSWORD} is used when set)")
			fs.StringVar(&o.target, "target", "", "target: a postgres:// URL or an Elasticsearch http(s):// address")
			fs.StringVar(&o.tables, "tables", "", "comma-separated table patterns: db.table, db.*, *")
			fs.UintVar(&o.serverID, "server-id", 0, "replica server id for the binary log connection (default: a random number the source does not use)")
			fs.BoolVar(&o.force, "force", false, "overwrite an existing file")
		},
		run: func(ctx context.Context, env *runEnv) error { return runInit(ctx, env, o) },
	})
}

// initSource is the parsed --source.
type initSource struct {
	host, user, password string
	port                 int
	// passwordRef is what the file holds for the password: the literal (only when the URL
	// gave it), a ${MYSQL_PASSWORD} reference, or "" (no password).
	passwordRef string
	// tlsMode and caFile come from the URL's ?tls= and ?ca= ([source.tls] mode, ca_file).
	tlsMode, caFile string
}

func parseInitSource(raw string) (initSource, error) {
	var s initSource
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "mysql" && u.Scheme != "mariadb") || u.Host == "" {
		return s, fmt.Errorf("--source must be mysql://user[:password]@host[:port], got %q", redactURL(raw))
	}
	s.host = u.Hostname()
	s.port = 3306
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil {
			return s, fmt.Errorf("--source port %q: %w", p, err)
		}
	}
	if u.User == nil || u.User.Username() == "" {
		return s, errors.New("--source names no user: mysql://user[:password]@host[:port]")
	}
	s.user = u.User.Username()
	q := u.Query()
	for k := range q {
		if k != "tls" && k != "ca" {
			return s, fmt.Errorf("--source: unknown parameter %q (tls=disabled|preferred|required, ca=/path/to/ca.pem)", k)
		}
	}
	s.tlsMode, s.caFile = q.Get("tls"), q.Get("ca")
	if pw, ok := u.User.Password(); ok {
		s.password, s.passwordRef = pw, pw
	} else if pw, ok := os.LookupEnv("MYSQL_PASSWORD"); ok {
		s.password, s.passwordRef = pw, "${MYSQL_PASSWORD}"
	}
	return s, nil
}

// redactURL hides a URL's password for messages.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// tomlString quotes s as a TOML basic string: JSON's escapes are all valid TOML ones.
func tomlString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(b.String())
}

func runInit(ctx context.Context, env *runEnv, o initOptions) error {
	if o.source == "" || o.target == "" || o.tables == "" {
		return exitError{2, errors.New("init needs --source, --target and --tables (see replicator init -h)")}
	}
	if _, err := os.Stat(o.path); err == nil && !o.force {
		return fmt.Errorf("%s exists: not overwritten (use --force to replace it)", o.path)
	}
	src, err := parseInitSource(o.source)
	if err != nil {
		return err
	}
	var patterns []string
	for _, p := range strings.Split(o.tables, ",") {
		if p = strings.TrimSpace(p); p != "" {
			patterns = append(patterns, p)
		}
	}
	if o.serverID == 0 {
		// Replica ids must be unique among everything connected to the source; a random
		// one in a range servers rarely use avoids the usual small numbers.
		o.serverID = uint(10000 + rand.IntN(90000))
	}
	g := &initConfig{src: src, target: o.target, serverID: o.serverID}
	for _, p := range patterns {
		g.rules = append(g.rules, initRule{source: p})
	}
	// A first configuration with the patterns as given: it validates the flags and is
	// what the source is read with.
	text, err := g.render()
	if err != nil {
		return err
	}
	cfg, err := parseWithPassword(text, src)
	if err != nil {
		return fmt.Errorf("the flags do not make a valid configuration: %w", err)
	}
	tables, err := inspectTables(ctx, cfg)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return fmt.Errorf("no table on %s:%d matches --tables %q (or the account %q may not SELECT it)", src.host, src.port, o.tables, src.user)
	}
	g.plan(tables)
	if text, err = g.render(); err != nil {
		return err
	}
	if cfg, err = parseWithPassword(text, src); err != nil {
		return fmt.Errorf("generated configuration does not load (a bug, please report it): %w", err)
	}
	routes, err := route.Compile(cfg)
	if err != nil {
		return fmt.Errorf("generated configuration does not compile its [[tables]] (a bug, please report it): %w", err)
	}
	rep := runChecks(ctx, &runEnv{cfg: cfg, routes: routes, log: env.log, stdout: env.stdout}, check.DefaultSampleRows)
	var checkText bytes.Buffer
	_ = rep.WriteText(&checkText)
	g.checkLines = checkText.String()
	if text, err = g.render(); err != nil {
		return err
	}
	if err := writeNew(o.path, text, o.force); err != nil {
		return err
	}
	ready := 0
	for _, t := range g.tables {
		if t.problem == "" {
			ready++
		}
	}
	fmt.Fprintf(env.stdout, "wrote %s (mode 0600): %s to replicate from %s:%d to %s\n", o.path, tableCount(ready), src.host, src.port, redactURL(o.target))
	fmt.Fprintf(env.stdout, "check: %s\n", rep.Summary())
	for _, t := range g.tables {
		if t.problem != "" {
			fmt.Fprintf(env.stdout, "left out %s: %s (see the file)\n", t.name, t.problem)
		}
	}
	if !rep.OK() {
		fmt.Fprintf(env.stdout, "failed checks: %s: run replicator check -c %s for the fixes\n", strings.Join(rep.Failed(), ", "), o.path)
		return errSilent
	}
	fmt.Fprintf(env.stdout, "next: replicator run -c %s\n", o.path)
	return nil
}

// parseWithPassword loads the generated text, the password standing in for its
// ${MYSQL_PASSWORD} reference.
func parseWithPassword(text string, src initSource) (*config.Config, error) {
	return config.Parse(text, func(name string) (string, bool) {
		if name == "MYSQL_PASSWORD" {
			return src.password, true
		}
		return os.LookupEnv(name)
	})
}

// initTable is a selected source table as init found it.
type initTable struct {
	name    string
	table   *schema.Table
	key     []string // a unique NOT NULL index to use as key when there is no primary key
	problem string   // why it cannot be replicated; "" when it can
	fullRow bool     // no key at all: PostgreSQL matches rows by all their columns
}

func inspectTables(ctx context.Context, cfg *config.Config) ([]initTable, error) {
	conn, err := source.NewDialer(cfg.Source).Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to the source: %w", err)
	}
	defer conn.Close()
	routes, err := route.Compile(cfg)
	if err != nil {
		return nil, err
	}
	names, err := conn.SelectedTables(ctx, routes)
	if err != nil {
		return nil, fmt.Errorf("list the source tables: %w", err)
	}
	var out []initTable
	for _, n := range names {
		t, err := conn.LoadTable(ctx, n.Schema, n.Name)
		if err != nil || t == nil {
			return nil, fmt.Errorf("read the definition of %s: %w", n, err)
		}
		it := initTable{name: n.String(), table: t}
		if len(t.Key) == 0 {
			if it.key = uniqueNotNull(t); it.key == nil {
				if cfg.Target.Type == config.TargetPostgres {
					// PostgreSQL replicates it by full-row match; check says what it costs.
					it.fullRow = true
				} else {
					it.problem = "no primary key and no unique index on NOT NULL columns: documents cannot be identified for updates and deletes"
				}
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// uniqueNotNull returns the columns of the first unique index whose columns are all NOT
// NULL: an identity the source enforces.
func uniqueNotNull(t *schema.Table) []string {
	for _, ix := range t.Indexes {
		if !ix.Unique {
			continue
		}
		ok := true
		for _, c := range ix.Columns {
			if i := t.ColumnIndex(c); i < 0 || t.Columns[i].Nullable {
				ok = false
			}
		}
		if ok {
			return ix.Columns
		}
	}
	return nil
}

// initConfig renders the file init writes.
type initConfig struct {
	src        initSource
	target     string
	serverID   uint
	rules      []initRule
	tables     []initTable
	checkLines string
}

type initRule struct {
	source  string
	key     []string
	comment string
	off     bool // written commented out
}

// plan turns the patterns into rules: a table without a primary key gets its own rule
// with a key before the patterns; when a table cannot be replicated at all, the patterns
// become one rule per table so it can be left out (a pattern would select it and stop the
// run).
func (g *initConfig) plan(tables []initTable) {
	g.tables = tables
	var keyed []initRule
	bad := false
	for _, t := range tables {
		if t.key != nil {
			keyed = append(keyed, initRule{source: quotePattern(t.table), key: t.key,
				comment: "no primary key: the unique index on NOT NULL columns (" + strings.Join(t.key, ", ") + ") identifies rows"})
		}
		if t.problem != "" {
			bad = true
		}
	}
	if !bad {
		g.rules = append(keyed, g.rules...)
		return
	}
	g.rules = nil
	for _, t := range tables {
		r := initRule{source: quotePattern(t.table), comment: describe(t)}
		if t.key != nil {
			r.key = t.key
		}
		if t.problem != "" {
			r.off, r.comment = true, "left out: "+t.problem+"; add a primary key, or key = [\"col\", ...] naming unique NOT NULL columns, and uncomment"
		}
		g.rules = append(g.rules, r)
	}
}

// quotePattern writes db.table as a pattern selecting exactly that table: glob characters
// and dots in names are quoted with backquotes.
func quotePattern(t *schema.Table) string {
	q := func(s string) string {
		if strings.ContainsAny(s, "*?[]`.") {
			return "`" + strings.ReplaceAll(s, "`", "``") + "`"
		}
		return s
	}
	return q(t.Schema) + "." + q(t.Name)
}

func describe(t initTable) string {
	key := "primary key (" + strings.Join(t.table.KeyNames(), ", ") + ")"
	switch {
	case len(t.table.Key) == 0 && t.key != nil:
		key = "key (" + strings.Join(t.key, ", ") + ") from a unique index"
	case t.fullRow:
		key = "no key: rows matched by all their columns (each streamed update or delete scans the target table; keyless_index = [\"col\", ...] indexes selective columns)"
	}
	return fmt.Sprintf("%d columns, %s, engine %s", len(t.table.Columns), key, t.table.Engine)
}

func (g *initConfig) render() (string, error) {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Written by `replicator init` from the live source. Every key not written here has its\n")
	w("# default (config.example.toml lists them all). Next: replicator run -c <this file>.\n\n")
	w("[source]\n")
	w("host = %s\n", tomlString(g.src.host))
	w("port = %d\n", g.src.port)
	w("user = %s\n", tomlString(g.src.user))
	switch {
	case g.src.passwordRef == "${MYSQL_PASSWORD}":
		w("password = \"${MYSQL_PASSWORD}\"   # read from the environment when the replicator starts\n")
	case g.src.passwordRef != "":
		w("password = %s   # given in --source; this file is readable by its owner only\n", tomlString(g.src.passwordRef))
	default:
		w("# password = \"${MYSQL_PASSWORD}\"   # or password_file = \"/run/secrets/mysql\"\n")
	}
	w("server_id = %d   # this replica's id: no server or other replica of the source may use it\n", g.serverID)
	if g.src.tlsMode != "" || g.src.caFile != "" {
		w("[source.tls]\n")
		if g.src.tlsMode != "" {
			w("mode = %s\n", tomlString(g.src.tlsMode))
		}
		if g.src.caFile != "" {
			w("ca_file = %s\n", tomlString(g.src.caFile))
		}
	} else {
		w("# [source.tls] mode = \"preferred\" (the default: TLS when the server offers it, certificate verified); ca_file = \"...\"\n")
	}
	w("\n")

	w("[target]\n")
	u, err := url.Parse(g.target)
	if err != nil {
		return "", fmt.Errorf("--target %q: %w", redactURL(g.target), err)
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		w("type = \"postgres\"\n[target.postgres]\nurl = %s\n", tomlString(g.target))
	case "http", "https":
		user := u.User
		u.User = nil
		w("type = \"elasticsearch\"\n[target.elasticsearch]\naddresses = [%s]\n", tomlString(u.String()))
		if user != nil {
			w("username = %s\n", tomlString(user.Username()))
			if pw, ok := user.Password(); ok {
				w("password = %s   # given in --target; this file is readable by its owner only\n", tomlString(pw))
			}
		}
	default:
		return "", fmt.Errorf("--target must be a postgres:// URL or an Elasticsearch http(s):// address, got %q", redactURL(g.target))
	}
	w("\n# Tables: the first rule matching a table wins.\n")
	for _, t := range g.tables {
		if t.problem == "" {
			w("# %s: %s\n", t.name, describe(t))
		}
	}
	for _, r := range g.rules {
		prefix := ""
		if r.off {
			prefix = "# "
		}
		w("\n")
		if r.comment != "" {
			w("# %s\n", r.comment)
		}
		w("%s[[tables]]\n%ssource = %s\n", prefix, prefix, tomlString(r.source))
		if r.key != nil {
			keys := make([]string, len(r.key))
			for i, k := range r.key {
				keys[i] = tomlString(k)
			}
			w("%skey = [%s]\n", prefix, strings.Join(keys, ", "))
		}
	}
	if g.checkLines != "" {
		w("\n# What `replicator check` found when this file was written (run it again after a change):\n")
		for _, l := range strings.Split(strings.TrimRight(g.checkLines, "\n"), "\n") {
			if strings.HasPrefix(l, "PASS") {
				continue
			}
			// One check line per finding, whatever its length: wrapped here so the file
			// reads in an editor.
			for i, part := range wrapWords(strings.Join(strings.Fields(l), " "), 96) {
				if i == 0 {
					w("#   %s\n", part)
				} else {
					w("#         %s\n", part)
				}
			}
		}
	}
	return b.String(), nil
}

// writeNew writes the file with mode 0600 (it may hold passwords), never over an existing
// one unless force: the text goes to a temporary file beside it first, so a reader never
// sees half a configuration.
func writeNew(path, text string, force bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".replicator-init-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if force {
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	// A hard link fails when the name exists: no file another process created meanwhile is
	// replaced.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: not overwritten (use --force to replace it)", path)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func tableCount(n int) string {
	if n == 1 {
		return "1 table"
	}
	return fmt.Sprintf("%d tables", n)
}

// wrapWords breaks text into lines of at most width characters at spaces (a longer word
// stays whole).
func wrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
