// Package transform compiles a [[tables]] rule's column transforms: renamed columns
// (rename), keyed hashes of column values (hash) and metadata columns (metadata). A rule's
// Rules are compiled once; View gives, for each definition of a table, the columns the
// target holds and the row each source row becomes, so every path that writes or compares
// rows (snapshot, stream, online copy, verify) makes the same target row of the same
// source row.
//
// Decisions the package embodies:
//   - Row filters see source values: a View is applied after the filter.
//   - A hashed column may be a key column: the hash is deterministic, so a row's hashed
//     key is the same in every image of it (a delete finds the row an insert wrote).
//   - Transforms name source columns. A RENAME COLUMN at the source of a renamed or
//     hashed column (or onto one) is refused (CheckRename): the rule would silently stop
//     applying, and a hashed value would travel in clear under its new name.
//   - Metadata columns are appended after the source's columns, in the order of
//     Metadata; a source column of a metadata column's name is refused. In the stream
//     they hold the transaction's GTID and commit time; a row a snapshot or an online
//     copy wrote holds the GTID set the copy read at and a NULL commit time (Origin).
//   - The hash key comes from an environment variable, per rule (hash_key_env, default
//     REPLICATOR_HASH_KEY), never from the configuration file; Rules.Secret gives it to
//     the log redactor.
//   - DDL: MapAlter rewrites a source ALTER onto the target's columns, for a target
//     translator running over the target views (View.Table) of the definitions.
package transform

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultHashKeyEnv is the environment variable the hash key is read from when a rule
// sets hash but not hash_key_env.
const DefaultHashKeyEnv = "REPLICATOR_HASH_KEY"

// MetaKind is one of the metadata columns a rule can opt into.
type MetaKind uint8

// Metadata columns: each names its value, in the stream and in a snapshot or online copy.
const (
	// MetaSourceDB is the source database's name.
	MetaSourceDB MetaKind = iota + 1
	// MetaSourceTable is the source table's name.
	MetaSourceTable
	// MetaCommitTime is the commit time of the transaction that wrote the row (the
	// binlog event header's time, whole seconds, UTC); NULL for a row a snapshot or an
	// online copy wrote, which no single transaction did.
	MetaCommitTime
	// MetaGTID is the GTID of the transaction that wrote the row; for a row a snapshot
	// or an online copy wrote, the GTID set of the position the copy read at.
	MetaGTID
	// MetaSource is the fan-in source column of a rule that merges several source
	// tables into one target ("db.table" of the row's source table). Unlike the other
	// kinds it is part of the target's key, its name is configured (source_column) and
	// verify compares by it rather than leaving it out.
	MetaSource
)

// DefaultSourceColumn is the fan-in source column's name when a rule does not set
// source_column.
const DefaultSourceColumn = "replicator_source"

// metaName is a metadata column's name in the configuration and in the target.
type metaName struct {
	kind          MetaKind
	config, field string
}

var metaNames = []metaName{
	{MetaSourceDB, "source_db", "replicator_source_db"},
	{MetaSourceTable, "source_table", "replicator_source_table"},
	{MetaCommitTime, "commit_time", "replicator_commit_time"},
	{MetaGTID, "gtid", "replicator_gtid"},
}

// The metadata columns' names start with "replicator_", not "_": the Elasticsearch
// target refuses field names with a leading underscore (esdoc: Elasticsearch's metadata
// fields are _id, _source, _routing ...; Kibana hides such fields), and one set of names
// serves both targets.

// Field returns the target column (or field) name of a metadata column:
// "replicator_gtid".
func (k MetaKind) Field() string {
	for _, m := range metaNames {
		if m.kind == k {
			return m.field
		}
	}
	return ""
}

// Spec is one [[tables]] rule's transforms as configured, with what validating them
// needs to know of the rule.
type Spec struct {
	// Rule is the rule's position in [[tables]], for messages (tables[Rule].rename).
	Rule int
	// Rename maps source column names to target names.
	Rename map[string]string
	// Hash names the source columns whose values travel as their keyed hash.
	Hash []string
	// HashKeyEnv names the environment variable holding the hash key; "" means
	// DefaultHashKeyEnv.
	HashKeyEnv string
	// Metadata names the metadata columns to add: "source_db", "source_table",
	// "commit_time", "gtid".
	Metadata []string
	// Columns and Exclude are the rule's columns and exclude_columns: a transform of a
	// column that does not travel is refused.
	Columns, Exclude []string
	// Elasticsearch is set for an Elasticsearch target, whose field names must not start
	// with '_'.
	Elasticsearch bool
	// FanIn is the fan-in source column's name when the rule merges several source tables
	// into one target, "" otherwise. The column holds "db.table" and leads the target's
	// key, so equal keys of different source tables stay apart.
	FanIn string
}

// Rules are a rule's compiled transforms. They are immutable and safe for concurrent use.
type Rules struct {
	rule   int
	rename map[string]string // lower-cased source name -> target name
	// renameSrc keeps the configured spelling of each renamed source column, for messages.
	renameSrc map[string]string
	hash      map[string]bool // lower-cased source names
	hashList  []string        // as configured, for messages
	hasher    *Hasher
	meta      []MetaKind
	// source is the fan-in source column, "" for a rule of distinct targets.
	source string
}

// Compile validates s and compiles it; lookup reads the hash key's environment variable.
// It returns nil, nil for a rule without transforms. Errors name the key
// ("tables[2].rename: ...") and never show the hash key.
func Compile(s Spec, lookup func(string) (string, bool)) (*Rules, error) {
	if len(s.Rename) == 0 && len(s.Hash) == 0 && len(s.Metadata) == 0 && s.FanIn == "" {
		if s.HashKeyEnv != "" {
			return nil, fmt.Errorf("tables[%d].hash_key_env is set but hash is not: remove it or list the columns to hash", s.Rule)
		}
		return nil, nil
	}
	r := &Rules{rule: s.Rule, rename: map[string]string{}, renameSrc: map[string]string{}, hash: map[string]bool{}, source: s.FanIn}
	if err := r.compileMeta(s); err != nil {
		return nil, err
	}
	if err := r.compileRename(s); err != nil {
		return nil, err
	}
	if err := r.compileHash(s, lookup); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Rules) compileMeta(s Spec) error {
	seen := map[MetaKind]bool{}
	for _, name := range s.Metadata {
		i := slices.IndexFunc(metaNames, func(m metaName) bool { return m.config == name })
		if i < 0 {
			return fmt.Errorf("tables[%d].metadata: %q is not a metadata column; use source_db, source_table, commit_time or gtid", s.Rule, name)
		}
		k := metaNames[i].kind
		if seen[k] {
			return fmt.Errorf("tables[%d].metadata: %q listed twice", s.Rule, name)
		}
		seen[k] = true
		r.meta = append(r.meta, k)
	}
	return nil
}

func (r *Rules) compileRename(s Spec) error {
	key := fmt.Sprintf("tables[%d].rename", s.Rule)
	targets := map[string]string{} // lower-cased target -> source
	// Sorted, so the first error is the same on every run.
	srcs := make([]string, 0, len(s.Rename))
	for src := range s.Rename {
		srcs = append(srcs, src)
	}
	slices.Sort(srcs)
	for _, src := range srcs {
		to := s.Rename[src]
		switch {
		case src == "":
			return fmt.Errorf("%s: empty source column name", key)
		case strings.TrimSpace(to) == "":
			return fmt.Errorf("%s: column %q renamed to an empty name", key, src)
		case len(to) > 63:
			return fmt.Errorf("%s: column %q renamed to %q, longer than the 63 bytes a PostgreSQL identifier holds", key, src, to)
		case r.isMetaField(to):
			return fmt.Errorf("%s: column %q renamed to %q, the name of a metadata column", key, src, to)
		case strings.ContainsAny(to, ".\x00"):
			// An Elasticsearch field name with a dot is an object path, not a field.
			return fmt.Errorf("%s: column %q renamed to %q: a target name must not contain '.'", key, src, to)
		case s.Elasticsearch && strings.HasPrefix(to, "_"):
			return fmt.Errorf("%s: column %q renamed to %q: Elasticsearch field names must not start with '_' (its metadata fields do)", key, src, to)
		}
		if _, dup := r.rename[strings.ToLower(src)]; dup {
			return fmt.Errorf("%s: column %q listed twice (names compare case-insensitively)", key, src)
		}
		if other, dup := targets[strings.ToLower(to)]; dup {
			return fmt.Errorf("%s: columns %q and %q are both renamed to %q", key, other, src, to)
		}
		if excluded(s, src) {
			return fmt.Errorf("%s: column %q is not replicated (columns / exclude_columns)", key, src)
		}
		targets[strings.ToLower(to)] = src
		r.rename[strings.ToLower(src)] = to
		r.renameSrc[strings.ToLower(src)] = src
	}
	return nil
}

func (r *Rules) compileHash(s Spec, lookup func(string) (string, bool)) error {
	key := fmt.Sprintf("tables[%d].hash", s.Rule)
	env := s.HashKeyEnv
	if len(s.Hash) == 0 {
		if env != "" {
			return fmt.Errorf("tables[%d].hash_key_env is set but hash is not: remove it or list the columns to hash", s.Rule)
		}
		return nil
	}
	for _, c := range s.Hash {
		switch {
		case c == "":
			return fmt.Errorf("%s: empty column name", key)
		case r.hash[strings.ToLower(c)]:
			return fmt.Errorf("%s: column %q listed twice", key, c)
		case excluded(s, c):
			return fmt.Errorf("%s: column %q is not replicated (columns / exclude_columns)", key, c)
		}
		r.hash[strings.ToLower(c)] = true
		r.hashList = append(r.hashList, c)
	}
	if env == "" {
		env = DefaultHashKeyEnv
	}
	v, ok := lookup(env)
	if !ok || v == "" {
		return fmt.Errorf("%s: the hash key's environment variable %s is not set (tables[%d].hash_key_env; default %s): set it to a secret of at least %d bytes, the same wherever the hashes must match", key, env, s.Rule, DefaultHashKeyEnv, MinKeyBytes)
	}
	h, err := NewHasher(env, []byte(v))
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	r.hasher = h
	return nil
}

// excluded reports whether the rule's column lists keep column c from travelling.
func excluded(s Spec, c string) bool {
	if len(s.Columns) > 0 && !slices.ContainsFunc(s.Columns, func(x string) bool { return strings.EqualFold(x, c) }) {
		return true
	}
	return slices.ContainsFunc(s.Exclude, func(x string) bool { return strings.EqualFold(x, c) })
}

// isMetaField reports whether name is any metadata column's target name (whether or not
// the rule adds it: a rule may add it later).
func (r *Rules) isMetaField(name string) bool {
	if r.source != "" && strings.EqualFold(r.source, name) {
		return true
	}
	for _, m := range metaNames {
		if strings.EqualFold(m.field, name) {
			return true
		}
	}
	return false
}

// TargetName returns the target column name of source column c: its rename, or c.
func (r *Rules) TargetName(c string) string {
	if r != nil {
		if to, ok := r.rename[strings.ToLower(c)]; ok {
			return to
		}
	}
	return c
}

// Hashed reports whether source column c travels as its hash.
func (r *Rules) Hashed(c string) bool { return r != nil && r.hash[strings.ToLower(c)] }

// Hasher returns the rule's hasher, nil when it hashes nothing.
func (r *Rules) Hasher() *Hasher {
	if r == nil {
		return nil
	}
	return r.hasher
}

// Metadata returns the metadata columns the rule adds, in order.
func (r *Rules) Metadata() []MetaKind {
	if r == nil {
		return nil
	}
	return r.meta
}

// Added reports whether target column name is one the rule adds (the fan-in source
// column, a metadata column it lists) rather than a source column.
func (r *Rules) Added(name string) bool {
	if r == nil {
		return false
	}
	if r.source != "" && strings.EqualFold(r.source, name) {
		return true
	}
	return slices.ContainsFunc(r.meta, func(k MetaKind) bool { return strings.EqualFold(k.Field(), name) })
}

// Source returns the fan-in source column's name, "" when the rule does not merge
// several source tables into one target.
func (r *Rules) Source() string {
	if r == nil {
		return ""
	}
	return r.source
}

// Secret returns the hash key for the log redactor, "" without one.
func (r *Rules) Secret() string {
	if r == nil || r.hasher == nil {
		return ""
	}
	return r.hasher.Secret()
}

// CheckRename refuses a RENAME COLUMN (or CHANGE) at the source from one name to another
// that concerns a transform: renaming a renamed or hashed column away (the rule names the
// old name, so the target column would lose its name, or the value would travel in clear
// under the new one), or renaming a column onto a name the rule renames or hashes (its
// values would change meaning). The message names the key to change.
func (r *Rules) CheckRename(table, from, to string) error {
	if r == nil || strings.EqualFold(from, to) {
		return nil
	}
	for _, n := range []string{from, to} {
		if src, ok := r.renameSrc[strings.ToLower(n)]; ok {
			return fmt.Errorf("column %s of %s renamed to %s at the source, but tables[%d].rename names %q: change tables[%d].rename to the new source name and copy the table again (replicator resnapshot)", from, table, to, r.rule, src, r.rule)
		}
		if r.hash[strings.ToLower(n)] {
			return fmt.Errorf("column %s of %s renamed to %s at the source, but tables[%d].hash names %q: change tables[%d].hash to the new source name and copy the table again (replicator resnapshot)", from, table, to, r.rule, n, r.rule)
		}
	}
	return nil
}

// Describe says which transforms are in force, for check ("rename email -> contact_email;
// hash phone (HMAC-SHA256, key from $REPLICATOR_HASH_KEY); metadata replicator_gtid,
// replicator_commit_time"), "" for none.
func (r *Rules) Describe() string {
	if r == nil {
		return ""
	}
	var parts []string
	if len(r.rename) > 0 {
		var rs []string
		for l, to := range r.rename {
			rs = append(rs, r.renameSrc[l]+" -> "+to)
		}
		slices.Sort(rs)
		parts = append(parts, "rename "+strings.Join(rs, ", "))
	}
	if r.hasher != nil {
		parts = append(parts, fmt.Sprintf("hash %s (%s)", strings.Join(r.hashList, ", "), r.hasher))
	}
	if r.source != "" {
		parts = append(parts, "fan-in source column "+r.source+" (\"db.table\", leads the key)")
	}
	if len(r.meta) > 0 {
		var ms []string
		for _, k := range r.meta {
			ms = append(ms, k.Field())
		}
		parts = append(parts, "metadata "+strings.Join(ms, ", "))
	}
	return strings.Join(parts, "; ")
}

// SourceName returns the source column whose target name is target: the column renamed
// to it, or target itself.
func (r *Rules) SourceName(target string) string {
	if r != nil {
		for l, to := range r.rename {
			if strings.EqualFold(to, target) {
				return r.renameSrc[l]
			}
		}
	}
	return target
}
