// Package config loads and validates the replicator's TOML configuration.
//
// The invariant it protects: a configuration that Load accepts does not fail later for a
// reason that could have been checked without contacting a server. Every error names the
// offending key (and the line, where the TOML decoder reports one).
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/replicator/replicator/filter"
	"github.com/replicator/replicator/transform"
)

// Config is the whole replicator configuration.
type Config struct {
	Source Source      `toml:"source"`
	Target Target      `toml:"target"`
	Tables []TableRule `toml:"tables"`
	// Documents are Elasticsearch documents composed from several tables (documents.go).
	Documents []Document `toml:"documents"`
	Snapshot  Snapshot   `toml:"snapshot"`
	Apply     Apply      `toml:"apply"`
	DDL       DDL        `toml:"ddl"`
	Mapping   Mapping    `toml:"mapping"`
	State     State      `toml:"state"`
	Log       Log        `toml:"log"`
	HTTP      HTTP       `toml:"http"`
	path      string     // file the configuration came from, for messages
}

// Source describes the MySQL or MariaDB server to replicate from.
type Source struct {
	Host           string   `toml:"host"`
	Port           int      `toml:"port"`
	User           string   `toml:"user"`
	Password       string   `toml:"password"`
	PasswordFile   string   `toml:"password_file"`
	ServerID       uint32   `toml:"server_id"`
	Flavor         string   `toml:"flavor"`
	TLS            TLS      `toml:"tls"`
	ConnectTimeout Duration `toml:"connect_timeout"`
	// BinlogReadTimeout is how long the binlog stream may be silent once it is at its
	// start position before the connection counts as lost; the server is asked for a
	// heartbeat every third of it (at most every 5 s).
	BinlogReadTimeout Duration `toml:"binlog_read_timeout"`
	// BinlogSeekTimeout is how long the server may take, silent, to find the start
	// position in its binary log: MariaDB reads the binlog file from its beginning up to
	// the position and sends nothing meanwhile, not even heartbeats.
	BinlogSeekTimeout Duration `toml:"binlog_seek_timeout"`
}

// TLS configures transport security for a connection. Verification is on whenever TLS is
// used; turning it off must be spelled out with insecure_skip_verify.
type TLS struct {
	// Mode is "disabled", "preferred" or "required" (required verifies the certificate).
	Mode               string `toml:"mode"`
	CAFile             string `toml:"ca_file"`
	CertFile           string `toml:"cert_file"`
	KeyFile            string `toml:"key_file"`
	ServerName         string `toml:"server_name"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`
}

// Target chooses and configures the destination.
type Target struct {
	Type          string        `toml:"type"`
	Postgres      Postgres      `toml:"postgres"`
	Elasticsearch Elasticsearch `toml:"elasticsearch"`
}

// Target types.
const (
	TargetPostgres      = "postgres"
	TargetElasticsearch = "elasticsearch"
)

// Postgres configures a PostgreSQL target.
type Postgres struct {
	// URL is a libpq-style connection URL or keyword/value string.
	URL string `toml:"url"`
}

// Elasticsearch configures an Elasticsearch target.
type Elasticsearch struct {
	Addresses []string `toml:"addresses"`
	Username  string   `toml:"username"`
	Password  string   `toml:"password"`
	APIKey    string   `toml:"api_key"`
	CAFile    string   `toml:"ca_file"`
	// ServerName is the host name the cluster's certificate must be valid for, when it is
	// not the host of the addresses (an address by IP, a certificate by name).
	ServerName string `toml:"server_name"`
	// OnDrop is what DROP TABLE (and DROP DATABASE, CREATE OR REPLACE TABLE) does to the
	// table's index: "delete" (default) or "keep" (left as it is, still searchable).
	OnDrop string `toml:"on_drop"`
	// BulkMaxBytes is the largest bulk request body sent: a document that would take a
	// request past it goes in the next request, and a single document (with its action
	// line) larger than it is refused naming the table and _id. It must stay below the
	// cluster's http.max_content_length (100 MB by default). 0 means 64 MiB.
	BulkMaxBytes int `toml:"bulk_max_bytes"`
}

// DefaultBulkMaxBytes is target.elasticsearch.bulk_max_bytes when unset: room for a row
// of 16 MiB LONGBLOB and MEDIUMBLOB values (base64 in JSON), well under the 100 MB of
// Elasticsearch's default http.max_content_length.
const DefaultBulkMaxBytes = 64 << 20

// TableRule selects source tables and says where they go.
type TableRule struct {
	// Source is "db.table", "db.*" or "*".
	Source string `toml:"source"`
	// Target is "schema.table" for PostgreSQL or an index name for Elasticsearch; empty
	// means the default (same schema and table name; index "db.table" lower-cased).
	Target         string   `toml:"target"`
	Columns        []string `toml:"columns"`
	ExcludeColumns []string `toml:"exclude_columns"`
	// Key names the identity columns of a table without a primary key.
	Key []string `toml:"key"`
	// KeylessIndex names columns of a table without a primary key (and without key) to
	// index in the PostgreSQL target: each streamed update or delete of such a table finds
	// its row by all its columns, a scan of the table unless an index narrows it down.
	KeylessIndex []string `toml:"keyless_index"`
	// FieldTypes chooses the Elasticsearch field of string columns (CHAR, VARCHAR, TEXT,
	// ENUM, SET) by name: "text" (full-text search, with a keyword subfield) or "keyword"
	// (exact values only), instead of the default of the column's type.
	FieldTypes map[string]string `toml:"field_types"`
	// Where is a row filter, a MySQL expression over the table's columns: only rows for
	// which it is true are replicated (see the README's "Row filters").
	Where string `toml:"where"`
	// Deletes is what a source DELETE does at the target: "hard" (default: the row is
	// deleted), "soft" (kept, marked in _deleted / _deleted_at) or "ignore" (kept as last
	// written). See the README's "Deletes".
	Deletes string `toml:"deletes"`
	// Rename gives source columns other names in the target: { email = "contact_email" }.
	Rename map[string]string `toml:"rename"`
	// Hash names source columns whose values travel as their keyed HMAC-SHA256 (64
	// hexadecimal digits), the key read from the environment variable HashKeyEnv.
	Hash []string `toml:"hash"`
	// HashKeyEnv names the environment variable holding the hash key (default
	// REPLICATOR_HASH_KEY).
	HashKeyEnv string `toml:"hash_key_env"`
	// Metadata adds columns the replicator fills: "source_db", "source_table",
	// "commit_time", "gtid" (see the README's "Column transforms").
	Metadata []string `toml:"metadata"`
	// SourceColumn names the column a fan-in rule (a pattern source, one fixed target)
	// adds to the target: it holds the row's source table as "db.table" and leads the
	// key. Default "replicator_source"; only for fan-in rules.
	SourceColumn string `toml:"source_column"`

	pattern    Pattern          // parsed Source, set by validation
	index      bool             // the target is Elasticsearch (Target is an index name), set by validation
	where      *filter.Expr     // parsed Where, set by validation
	transforms *transform.Rules // compiled Rename, Hash, Metadata, set by Parse
}

// Pattern returns the parsed source pattern of a validated rule.
func (r *TableRule) Pattern() Pattern { return r.pattern }

// FanIn reports whether the rule merges several source tables into one target: its
// source is a pattern and its target names one table (PostgreSQL: a table part without
// "*" or {table}; Elasticsearch: an index name without {table}). See the README's
// "Fan-in".
func (r *TableRule) FanIn() bool {
	if r.Target == "" {
		return false
	}
	p, err := ParsePattern(r.Source)
	if err != nil || !p.Wildcard() {
		return false
	}
	if r.index {
		return !strings.Contains(r.Target, "{table}")
	}
	_, table, _ := strings.Cut(r.Target, ".")
	return table != "*" && !strings.Contains(table, "{table}")
}

// SourceColumnName is the fan-in source column of a fan-in rule (source_column, or
// its default), "" for another rule.
func (r *TableRule) SourceColumnName() string {
	switch {
	case !r.FanIn():
		return ""
	case r.SourceColumn != "":
		return r.SourceColumn
	}
	return transform.DefaultSourceColumn
}

// Filter returns the parsed row filter of a validated rule, nil without one.
func (r *TableRule) Filter() *filter.Expr { return r.where }

// Snapshot tunes the initial copy.
type Snapshot struct {
	// Parallelism is how many chunk readers and COPY streams run at once.
	Parallelism int `toml:"parallelism"`
	// ChunkRows is the target number of rows in one primary-key range.
	ChunkRows int `toml:"chunk_rows"`
	// OnExisting says what to do with a target table that already holds rows:
	// "error", "truncate" or "recreate".
	OnExisting string `toml:"on_existing"`
	// OnMissingBinlog says what 'run' does when the source no longer has the binary logs
	// after the checkpoint: "stop" (the default: exit naming the way out) or "resnapshot"
	// (stream on from the source's current position and copy every table again online).
	OnMissingBinlog string `toml:"on_missing_binlog"`
}

// Apply tunes the streaming batches.
type Apply struct {
	// BatchRows caps a batch's row changes: a full batch waits for the applier at the next
	// transaction end, holding the reader back.
	BatchRows int `toml:"batch_rows"`
	// BatchBytes caps a batch's row images the same way.
	BatchBytes int `toml:"batch_bytes"`
	// FlushInterval is how long a batch gathers transactions before an idle applier takes
	// it. Zero (the default) hands a batch over as soon as the applier is free, so batches
	// grow only while the applier is busy: the lowest lag at any load.
	FlushInterval Duration `toml:"flush_interval"`
	// AccessDeniedRetry is how long streaming retries refused access (a wrong password, a
	// revoked privilege, at the source or the target) before it stops with the reason;
	// default 5m.
	AccessDeniedRetry Duration `toml:"access_denied_retry"`
	// Parallelism is how many PostgreSQL connections apply a streaming batch's row
	// changes. 1 (the default) applies each batch in one transaction with its checkpoint,
	// so readers only ever see the target as of a source transaction boundary. Above 1,
	// the plain upserts and deletes are spread over the connections by key (a table with
	// unique keys besides its key, or with soft deletes, stays on one), each committing
	// its share before the checkpoint: readers may see a batch's tables, or parts of one
	// table, at different points of it, never a row older than one they saw.
	Parallelism int `toml:"parallelism"`
}

// DDL says how schema changes are handled.
type DDL struct {
	// OnError is "stop" or "skip" for statements that cannot be parsed or translated.
	OnError string `toml:"on_error"`
}

// State says where the replicator keeps its checkpoint in the target.
type State struct {
	// Schema is the PostgreSQL schema for checkpoints and schema history.
	Schema string `toml:"schema"`
	// Index is the Elasticsearch index for checkpoints and schema history.
	Index string `toml:"index"`
	// Name distinguishes several replicators sharing one target.
	Name string `toml:"name"`
}

// HTTP configures the metrics and health listener.
type HTTP struct {
	// Listen is host:port for /metrics, /healthz and /readyz; empty turns it off.
	Listen string `toml:"listen"`
	// ReadyMaxLag is the replication lag above which /readyz answers 503.
	ReadyMaxLag Duration `toml:"ready_max_lag"`
}

// Log configures logging.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// Defaults of the binlog stream's timeouts (source.binlog_read_timeout,
// source.binlog_seek_timeout).
const (
	DefaultBinlogReadTimeout = 30 * time.Second
	DefaultBinlogSeekTimeout = 10 * time.Minute
)

// Duration is a time.Duration written as a Go duration string ("500ms", "2s").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. \"500ms\", \"2s\", \"1m\")", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Path returns the file the configuration was loaded from.
func (c *Config) Path() string { return c.path }

// Load reads, expands, defaults and validates the configuration file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(string(b), os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.path = path
	return c, nil
}

// Parse decodes TOML text, expands ${VAR} references with lookup, reads password files,
// applies defaults and validates.
func Parse(text string, lookup func(string) (string, bool)) (*Config, error) {
	var c Config
	md, err := toml.Decode(text, &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s", strings.TrimSpace(pe.Error()))
		}
		return nil, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown key %s (see config.example.toml for the valid keys)", strings.Join(keys, ", "))
	}
	if err := expandAll(&c, lookup); err != nil {
		return nil, err
	}
	if err := c.readSecrets(); err != nil {
		return nil, err
	}
	c.applyDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	if err := c.compileTransforms(lookup); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) readSecrets() error {
	if c.Source.PasswordFile == "" {
		return nil
	}
	if c.Source.Password != "" {
		return fmt.Errorf("source.password and source.password_file are both set: keep one")
	}
	b, err := os.ReadFile(c.Source.PasswordFile)
	if err != nil {
		return fmt.Errorf("source.password_file: %w", err)
	}
	c.Source.Password = strings.TrimRight(string(b), "\r\n")
	return nil
}

func (c *Config) applyDefaults() {
	s := &c.Source
	if s.Port == 0 {
		s.Port = 3306
	}
	if s.TLS.Mode == "" {
		s.TLS.Mode = "preferred"
	}
	if s.ConnectTimeout.Duration == 0 {
		s.ConnectTimeout.Duration = 10 * time.Second
	}
	if s.BinlogReadTimeout.Duration == 0 {
		s.BinlogReadTimeout.Duration = DefaultBinlogReadTimeout
	}
	if s.BinlogSeekTimeout.Duration == 0 {
		s.BinlogSeekTimeout.Duration = max(DefaultBinlogSeekTimeout, s.BinlogReadTimeout.Duration)
	}
	if c.Snapshot.Parallelism == 0 {
		c.Snapshot.Parallelism = 4
	}
	if c.Snapshot.ChunkRows == 0 {
		c.Snapshot.ChunkRows = 100000
	}
	if c.Snapshot.OnMissingBinlog == "" {
		c.Snapshot.OnMissingBinlog = "stop"
	}
	if c.Snapshot.OnExisting == "" {
		c.Snapshot.OnExisting = "error"
	}
	if c.Apply.Parallelism == 0 {
		c.Apply.Parallelism = 1
	}
	if c.Apply.BatchRows == 0 {
		c.Apply.BatchRows = 10000
	}
	if c.Apply.BatchBytes == 0 {
		c.Apply.BatchBytes = 16 << 20
	}
	if c.Apply.AccessDeniedRetry.Duration <= 0 {
		c.Apply.AccessDeniedRetry.Duration = 5 * time.Minute
	}
	if c.DDL.OnError == "" {
		c.DDL.OnError = "stop"
	}
	if c.Target.Elasticsearch.OnDrop == "" {
		c.Target.Elasticsearch.OnDrop = "delete"
	}
	if c.Target.Elasticsearch.BulkMaxBytes == 0 {
		c.Target.Elasticsearch.BulkMaxBytes = DefaultBulkMaxBytes
	}
	c.Mapping.applyDefaults()
	if c.State.Schema == "" {
		c.State.Schema = "_replicator"
	}
	if c.State.Index == "" {
		c.State.Index = "replicator-state"
	}
	if c.State.Name == "" {
		c.State.Name = "default"
	}
	if c.HTTP.ReadyMaxLag.Duration == 0 {
		c.HTTP.ReadyMaxLag.Duration = 30 * time.Second
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "auto"
	}
}
