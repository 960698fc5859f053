package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/replicator/replicator/filter"
)

func (c *Config) validate() error {
	s := c.Source
	if s.Host == "" {
		return fmt.Errorf("source.host is required")
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("source.port = %d: must be 1..65535", s.Port)
	}
	if s.User == "" {
		return fmt.Errorf("source.user is required")
	}
	if s.ServerID == 0 {
		return fmt.Errorf("source.server_id is required: a number 1..4294967295 that no other server or replica of the source uses")
	}
	switch s.Flavor {
	case "", "mysql", "mariadb":
	default:
		return fmt.Errorf("source.flavor = %q: must be \"mysql\" or \"mariadb\" (or absent to auto-detect)", s.Flavor)
	}
	if s.BinlogReadTimeout.Duration < 0 {
		return fmt.Errorf("source.binlog_read_timeout = %s: must be positive (default %s)", s.BinlogReadTimeout.Duration, DefaultBinlogReadTimeout)
	}
	if s.BinlogSeekTimeout.Duration < s.BinlogReadTimeout.Duration {
		return fmt.Errorf("source.binlog_seek_timeout = %s is shorter than source.binlog_read_timeout = %s: the seek may take longer than any silence while streaming; raise it (default %s)",
			s.BinlogSeekTimeout.Duration, s.BinlogReadTimeout.Duration, DefaultBinlogSeekTimeout)
	}
	if err := s.TLS.validate("source.tls"); err != nil {
		return err
	}

	switch c.Target.Type {
	case TargetPostgres:
		if c.Target.Postgres.URL == "" {
			return fmt.Errorf("target.postgres.url is required when target.type = \"postgres\"")
		}
		if _, err := pgx.ParseConfig(c.Target.Postgres.URL); err != nil {
			return fmt.Errorf("target.postgres.url: %s", redactURL(err.Error(), c.Target.Postgres.URL))
		}
	case TargetElasticsearch:
		es := c.Target.Elasticsearch
		if len(es.Addresses) == 0 {
			return fmt.Errorf("target.elasticsearch.addresses is required when target.type = \"elasticsearch\"")
		}
		for i, a := range es.Addresses {
			u, err := url.Parse(a)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				// The address may carry user:password: show it without.
				shown := "(not shown: it does not parse as a URL and may hold a password)"
				if err == nil {
					shown = fmt.Sprintf("%q", u.Redacted())
				} else if !strings.Contains(a, "@") {
					shown = fmt.Sprintf("%q", a)
				}
				return fmt.Errorf("target.elasticsearch.addresses[%d] = %s: must be an http:// or https:// URL", i, shown)
			}
		}
		if es.APIKey != "" && (es.Username != "" || es.Password != "") {
			return fmt.Errorf("target.elasticsearch: set either api_key or username/password, not both")
		}
		if (es.Username == "") != (es.Password == "") {
			return fmt.Errorf("target.elasticsearch: username and password go together")
		}
		if es.OnDrop != "delete" && es.OnDrop != "keep" {
			return fmt.Errorf("target.elasticsearch.on_drop = %q: must be \"delete\" or \"keep\"", es.OnDrop)
		}
		// Below 64 KiB a request holds too few documents to be worth its round trip;
		// Elasticsearch refuses any request above 2 GiB whatever its settings.
		if es.BulkMaxBytes < 64<<10 || es.BulkMaxBytes > 2<<30-1 {
			return fmt.Errorf("target.elasticsearch.bulk_max_bytes = %d: must be between 65536 (64 KiB) and 2147483647, and below the cluster's http.max_content_length (100 MB unless changed)", es.BulkMaxBytes)
		}
	case "":
		return fmt.Errorf("target.type is required: \"postgres\" or \"elasticsearch\"")
	default:
		return fmt.Errorf("target.type = %q: must be \"postgres\" or \"elasticsearch\"", c.Target.Type)
	}

	if len(c.Tables) == 0 {
		return fmt.Errorf("no [[tables]]: add at least one, e.g. [[tables]] source = \"shop.orders\"")
	}
	for i := range c.Tables {
		if err := c.Tables[i].validate(c.Target.Type); err != nil {
			return fmt.Errorf("tables[%d]: %w", i, err)
		}
		if w := c.Tables[i].Where; w != "" {
			e, err := filter.Parse(w)
			if err != nil {
				return fmt.Errorf("tables[%d].where: %w", i, err)
			}
			c.Tables[i].where = e
		}
		if err := c.Tables[i].validateDeletes(i); err != nil {
			return err
		}
	}

	if err := c.validateDocuments(); err != nil {
		return err
	}
	if c.Snapshot.Parallelism < 1 || c.Snapshot.Parallelism > 64 {
		return fmt.Errorf("snapshot.parallelism = %d: must be 1..64", c.Snapshot.Parallelism)
	}
	if c.Snapshot.ChunkRows < 100 {
		return fmt.Errorf("snapshot.chunk_rows = %d: must be at least 100", c.Snapshot.ChunkRows)
	}
	switch c.Snapshot.OnExisting {
	case "error", "truncate", "recreate":
	default:
		return fmt.Errorf("snapshot.on_existing = %q: must be \"error\", \"truncate\" or \"recreate\"", c.Snapshot.OnExisting)
	}
	switch c.Snapshot.OnMissingBinlog {
	case "stop", "resnapshot":
	default:
		return fmt.Errorf("snapshot.on_missing_binlog = %q: must be \"stop\" or \"resnapshot\"", c.Snapshot.OnMissingBinlog)
	}
	if c.Apply.BatchRows < 1 {
		return fmt.Errorf("apply.batch_rows = %d: must be at least 1", c.Apply.BatchRows)
	}
	if c.Apply.Parallelism < 1 || c.Apply.Parallelism > 16 {
		return fmt.Errorf("apply.parallelism = %d: must be 1..16", c.Apply.Parallelism)
	}
	if c.Apply.Parallelism > 1 && c.Target.Type != TargetPostgres {
		// Elasticsearch's bulk requests already spread over the cluster's shards.
		return fmt.Errorf("apply.parallelism = %d: PostgreSQL targets only (target.type = %q)", c.Apply.Parallelism, c.Target.Type)
	}
	if c.Apply.BatchBytes < 1024 {
		return fmt.Errorf("apply.batch_bytes = %d: must be at least 1024", c.Apply.BatchBytes)
	}
	if c.Apply.FlushInterval.Duration < 0 {
		return fmt.Errorf("apply.flush_interval must not be negative")
	}
	switch c.DDL.OnError {
	case "stop", "skip":
	default:
		return fmt.Errorf("ddl.on_error = %q: must be \"stop\" or \"skip\"", c.DDL.OnError)
	}
	if err := c.Mapping.validate(); err != nil {
		return err
	}
	if !isPlainIdent(c.State.Schema) {
		return fmt.Errorf("state.schema = %q: use letters, digits and underscores", c.State.Schema)
	}
	if err := validIndexName(c.State.Index); err != nil {
		return fmt.Errorf("state.index: %w", err)
	}
	if c.State.Name == "" || len(c.State.Name) > 63 {
		return fmt.Errorf("state.name = %q: must be 1..63 characters", c.State.Name)
	}
	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			return fmt.Errorf("http.listen = %q: must be host:port, e.g. \"127.0.0.1:9187\"", c.HTTP.Listen)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level = %q: must be debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		return fmt.Errorf("log.format = %q: must be auto, text or json", c.Log.Format)
	}
	return nil
}

func (t TLS) validate(key string) error {
	switch t.Mode {
	case "disabled", "preferred", "required":
	default:
		return fmt.Errorf("%s.mode = %q: must be \"disabled\", \"preferred\" or \"required\"", key, t.Mode)
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("%s: cert_file and key_file go together", key)
	}
	if t.Mode == "disabled" && (t.CAFile != "" || t.CertFile != "") {
		return fmt.Errorf("%s: certificate files are set but mode = \"disabled\"", key)
	}
	return nil
}

func (r *TableRule) validate(targetType string) error {
	p, err := ParsePattern(r.Source)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	r.pattern = p
	r.index = targetType == TargetElasticsearch
	if r.Target != "" {
		if targetType == TargetPostgres {
			if err := validPGTarget(r.Target); err != nil {
				return fmt.Errorf("target = %q: %w", r.Target, err)
			}
		} else if err := validIndexTemplate(r.Target); err != nil {
			return fmt.Errorf("target = %q: %w", r.Target, err)
		}
	}
	if len(r.Columns) > 0 && len(r.ExcludeColumns) > 0 {
		return fmt.Errorf("columns and exclude_columns are both set: keep one")
	}
	if err := r.validateFanIn(); err != nil {
		return err
	}
	for name, list := range map[string][]string{"columns": r.Columns, "exclude_columns": r.ExcludeColumns, "key": r.Key, "keyless_index": r.KeylessIndex} {
		seen := map[string]bool{}
		for _, col := range list {
			if col == "" {
				return fmt.Errorf("%s: empty column name", name)
			}
			if seen[strings.ToLower(col)] {
				return fmt.Errorf("%s: column %q listed twice", name, col)
			}
			seen[strings.ToLower(col)] = true
		}
	}
	for col, typ := range r.FieldTypes {
		if targetType != TargetElasticsearch {
			return fmt.Errorf("field_types: Elasticsearch targets only (column %q)", col)
		}
		if col == "" {
			return fmt.Errorf("field_types: empty column name")
		}
		if typ != "text" && typ != "keyword" {
			return fmt.Errorf("field_types: column %q = %q: must be \"text\" or \"keyword\"", col, typ)
		}
		for other := range r.FieldTypes {
			if other != col && strings.EqualFold(other, col) {
				return fmt.Errorf("field_types: column %q listed twice", col)
			}
		}
	}
	for _, k := range r.Key {
		for _, x := range r.ExcludeColumns {
			if strings.EqualFold(k, x) {
				return fmt.Errorf("key column %q is also in exclude_columns", k)
			}
		}
		if len(r.Columns) > 0 && !containsFold(r.Columns, k) {
			return fmt.Errorf("key column %q is not in columns", k)
		}
	}
	return nil
}

// validateFanIn checks the keys of a fan-in rule (FanIn) and refuses source_column on
// another rule.
func (r *TableRule) validateFanIn() error {
	if !r.FanIn() {
		if r.SourceColumn != "" {
			return fmt.Errorf("source_column = %q: only for a rule that merges several source tables into one target (a pattern source with a target table without \"*\" or {table}); remove it", r.SourceColumn)
		}
		return nil
	}
	c := r.SourceColumnName()
	switch {
	case strings.TrimSpace(c) == "" || len(c) > 63 || strings.ContainsAny(c, ".\x00"):
		return fmt.Errorf("source_column = %q: must be a column name of 1..63 bytes without '.'", c)
	case IsMarker(c):
		return fmt.Errorf("source_column = %q: the name of a soft-delete marker column; choose another", c)
	case containsFold(r.Columns, c) || containsFold(r.Key, c) || containsFold(r.ExcludeColumns, c):
		return fmt.Errorf("source_column = %q: the rule also names it as a source column (columns, exclude_columns or key); choose another name", c)
	}
	if len(r.KeylessIndex) > 0 {
		return fmt.Errorf("keyless_index: a fan-in rule (target %q for the tables of %q) needs a key to tell the source tables' rows apart; set key = [...] instead", r.Target, r.Source)
	}
	return nil
}

// validPGTarget accepts "schema.table", "schema.*" and templates using {db} and {table}.
// A pattern source with a target table of neither "*" nor {table} is a fan-in rule
// (TableRule.FanIn).
func validPGTarget(t string) error {
	parts := strings.Split(t, ".")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("must be \"schema.table\" (placeholders {db} and {table} allowed; \"schema.*\" keeps table names)")
	}
	for _, p := range parts {
		if len(p) > 63 && !strings.Contains(p, "{") {
			return fmt.Errorf("PostgreSQL identifiers are at most 63 bytes")
		}
	}
	return nil
}

// validIndexTemplate checks an Elasticsearch index name template. A wildcard source
// with a template without {table} is a fan-in rule (TableRule.FanIn).
func validIndexTemplate(t string) error {
	probe := strings.NewReplacer("{db}", "db", "{table}", "table").Replace(t)
	return validIndexName(probe)
}

// validIndexName applies Elasticsearch's index naming rules.
func validIndexName(n string) error {
	if n == "" {
		return fmt.Errorf("empty index name")
	}
	if n != strings.ToLower(n) {
		return fmt.Errorf("index name %q must be lower case", n)
	}
	if strings.ContainsAny(n, `\/*?"<>| ,#:`) {
		return fmt.Errorf(`index name %q must not contain any of \ / * ? " < > | , # : or a space`, n)
	}
	if strings.IndexAny(n[:1], "-_+") == 0 || n == "." || n == ".." {
		return fmt.Errorf("index name %q must not start with -, _ or +, nor be \".\" or \"..\"", n)
	}
	if len(n) > 255 {
		return fmt.Errorf("index name longer than 255 bytes")
	}
	return nil
}

func isPlainIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// redactURL keeps a connection string's password out of error messages: the userinfo
// password of a URL (also of one that does not parse) and the value of a password=
// keyword. pgconn redacts its own messages; this covers what it misses.
func redactURL(msg, raw string) string {
	// pgconn quotes the whole string it could not parse ("cannot parse `...`: ..."): a
	// mistyped URL (postgres//u:pw@h) is not recognised as one and would show its password.
	if i := strings.Index(msg, "`"); i >= 0 {
		if j := strings.LastIndex(msg, "`"); j > i {
			msg = msg[:i] + "(value not shown)" + msg[j+1:]
		}
	}
	// net/url quotes the part it refused ("invalid percent-encoded token: \"pa%ss@h\""),
	// which may be in the password or be all of it.
	msg = quotedPart.ReplaceAllStringFunc(msg, func(q string) string {
		if part := q[1 : len(q)-1]; part != "" && strings.Contains(raw, part) {
			return "(part of the value, not shown)"
		}
		return q
	})
	var pws []string
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			pws = append(pws, p)
		}
	}
	for _, m := range urlPassword.FindAllStringSubmatch(raw, -1) {
		pws = append(pws, m[1])
	}
	for _, m := range kvPassword.FindAllStringSubmatch(raw, -1) {
		pws = append(pws, strings.Trim(m[1], "'"))
	}
	for _, p := range pws {
		if p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}

var (
	urlPassword = regexp.MustCompile(`://[^:/@]*:([^@]*)@`)
	quotedPart  = regexp.MustCompile(`"[^"]*"`)
	kvPassword  = regexp.MustCompile(`(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
)
