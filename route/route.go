// Package route compiles the [[tables]] section of a validated configuration once into
// per-table routes: whether a source table is replicated, where it goes (the PostgreSQL
// schema and table, the Elasticsearch index), which of its columns travel and what
// identifies its rows. Everything that needs to know where a table goes asks its Route,
// so the snapshot, the stream, check and verify cannot disagree about it.
//
// A Route is also where per-table behaviour beyond selection belongs (row filters,
// column renames and hashes, delete handling, several source tables into one target):
// each is compiled into the rule once and answered by the Route, in snapshot and stream
// alike.
package route

import (
	"fmt"
	"os"
	"strings"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/filter"
	"github.com/replicator/replicator/transform"
)

// Set is the compiled [[tables]] section. It is immutable once compiled and safe for
// concurrent use.
type Set struct {
	rules []*rule
	// target is the configured target type: it decides the naming a Route gives by
	// default and whether tables without a key are replicated.
	target string
}

// rule is one compiled [[tables]] entry.
type rule struct {
	index        int // position in [[tables]], for messages and per-rule counts
	source       string
	pattern      config.Pattern
	target       string // the configured target template; "" for the default
	columns      []string
	exclude      []string
	key          []string
	keylessIndex []string
	fieldTypes   map[string]string // field_types by lower-cased column name
	where        *filter.Expr      // the row filter, nil without one
	deletes      config.DeleteMode
	bound        *defCache[*filter.Bound]
	transforms   *transform.Rules // nil: no column transforms
	views        *defCache[*transform.View]
}

// Compile compiles cfg's [[tables]] rules, in order. A configuration that config.Load
// accepted always compiles; the error is for configurations built by hand.
func Compile(cfg *config.Config) (*Set, error) {
	s := &Set{target: cfg.Target.Type, rules: make([]*rule, 0, len(cfg.Tables))}
	for i := range cfg.Tables {
		r := &cfg.Tables[i]
		p, err := config.ParsePattern(r.Source)
		if err != nil {
			return nil, fmt.Errorf("tables[%d] source: %w", i, err)
		}
		s.rules = append(s.rules, &rule{
			index:        i,
			source:       r.Source,
			pattern:      p,
			target:       r.Target,
			columns:      r.Columns,
			exclude:      r.ExcludeColumns,
			key:          r.Key,
			keylessIndex: r.KeylessIndex,
			fieldTypes:   lowerKeys(r.FieldTypes),
			where:        r.Filter(),
			deletes:      r.DeleteMode(),
			bound:        newDefCache[*filter.Bound](),
			transforms:   r.Transforms(),
			views:        newDefCache[*transform.View](),
		})
		if r.Transforms() == nil {
			// A configuration built by hand (tests) was not compiled by config.Parse.
			tr, err := transform.Compile(r.TransformSpec(i, cfg.Target.Type), os.LookupEnv)
			if err != nil {
				return nil, err
			}
			s.rules[len(s.rules)-1].transforms = tr
		}
		if r.Where != "" && r.Filter() == nil {
			e, err := filter.Parse(r.Where)
			if err != nil {
				return nil, fmt.Errorf("tables[%d].where: %w", i, err)
			}
			s.rules[len(s.rules)-1].where = e
		}
	}
	return s, nil
}

// For returns the route of source table db.table, or nil when no rule selects it. The
// first matching rule wins, so a specific rule placed before "db.*" overrides it.
func (s *Set) For(db, table string) *Route {
	for _, r := range s.rules {
		if r.pattern.Match(db, table) {
			return &Route{db: db, table: table, rule: r, set: s}
		}
	}
	return nil
}

// Selects reports whether a rule selects db.table.
func (s *Set) Selects(db, table string) bool { return s.For(db, table) != nil }

// SelectsDB reports whether a rule may select tables of database db (a statement about
// the whole database concerns the replication).
func (s *Set) SelectsDB(db string) bool {
	for _, r := range s.rules {
		if r.pattern.MatchDB(db) {
			return true
		}
	}
	return false
}

// Keyless reports whether the target replicates tables without a primary or configured
// key (PostgreSQL, by full-row match); Elasticsearch needs a key for a document id.
func (s *Set) Keyless() bool { return s.target == config.TargetPostgres }

// PGSchema returns the PostgreSQL schema that holds the tables of source database db,
// when the first rule that may select tables of db sends each database to a schema of its
// own (its target schema contains {db}): a statement about the whole database (CREATE or
// DROP DATABASE) then concerns exactly that schema.
func (s *Set) PGSchema(db string) (string, bool) {
	for _, r := range s.rules {
		if !r.pattern.MatchDB(db) {
			continue
		}
		tmpl := "{db}"
		if r.target != "" {
			tmpl, _, _ = strings.Cut(r.target, ".")
		}
		if !strings.Contains(tmpl, "{db}") {
			return "", false
		}
		return strings.ReplaceAll(tmpl, "{db}", db), true
	}
	return "", false
}

// Route is one selected source table's compiled rule.
type Route struct {
	db, table string
	rule      *rule
	set       *Set
}

// Source returns the [[tables]] source of the rule that selects the table, as configured
// (for messages).
func (r *Route) Source() string { return r.rule.source }

// Index returns the position of the selecting rule in [[tables]], from 0.
func (r *Route) Index() int { return r.rule.index }

// Wildcard reports whether the selecting rule's source is a pattern that can select
// several tables.
func (r *Route) Wildcard() bool { return r.rule.pattern.Wildcard() }

// Key returns the configured key columns (key = [...]), or nil when the table's primary
// key identifies its rows.
func (r *Route) Key() []string { return r.rule.key }

// KeylessIndex returns the columns to index in a PostgreSQL target for a table without a
// key (keyless_index = [...]).
func (r *Route) KeylessIndex() []string { return r.rule.keylessIndex }

// FieldType returns the Elasticsearch field type field_types gives a column ("text" or
// "keyword"), or "" for the default of its type. Names compare case-insensitively.
func (r *Route) FieldType(column string) string { return r.rule.fieldTypes[strings.ToLower(column)] }

func lowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}
