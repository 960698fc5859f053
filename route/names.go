package route

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/replicator/replicator/config"
)

// PGTarget returns the PostgreSQL schema and table of the route. The default is the
// source's database and table name; "{db}" and "{table}" in the rule's target are
// replaced, and a target table of "*" keeps the source name.
func (r *Route) PGTarget() (schema, table string) {
	t := r.rule.target
	if t == "" {
		t = "{db}.{table}"
	}
	schema, table, _ = strings.Cut(t, ".")
	if table == "*" {
		table = "{table}"
	}
	rep := strings.NewReplacer("{db}", r.db, "{table}", r.table)
	return rep.Replace(schema), rep.Replace(table)
}

// ESIndexWritten returns the route's Elasticsearch index name as the rule writes it: the
// rule's target (default "{db}.{table}") with {db} and {table} replaced, before ESName
// makes it valid. Two tables with the same written name share an index on purpose; two
// whose written names differ but whose ESIndex is the same collide (see ESCollisions).
func (r *Route) ESIndexWritten() string {
	t := r.rule.target
	if t == "" {
		t = "{db}.{table}"
	}
	return strings.NewReplacer("{db}", r.db, "{table}", r.table).Replace(t)
}

// ESIndexShared reports whether the route's index also holds another table's documents:
// another single-table rule names the same index (configuration validation refuses a
// pattern whose target lacks {table}). Such an index cannot be emptied, moved or deleted
// for one of its tables.
func (r *Route) ESIndexShared() bool {
	mine := r.ESIndex()
	for _, o := range r.set.rules {
		if o == r.rule || o.pattern.Wildcard() {
			continue
		}
		first := r.set.For(o.pattern.DB, o.pattern.Table)
		if first == nil || first.rule != o {
			continue // its table goes by an earlier rule
		}
		if first.ESIndex() == mine {
			return true
		}
	}
	return false
}

// ESIndex returns the name readers query for the route's table: ESName of the written
// name. It is an alias of the concrete index that holds the documents (see the
// Elasticsearch target).
func (r *Route) ESIndex() string { return ESName(r.ESIndexWritten()) }

// ESName is the rule that makes an index name valid for Elasticsearch, applied once: the
// name is lower-cased, and each character Elasticsearch refuses in an index name (\ / * ?
// " < > | , # : space and other control or space characters) becomes '_'. Other
// characters, non-ASCII letters included, stay as they are: "shop.Order Items" becomes
// "shop.order_items", "shop.café" stays "shop.café". ESNameProblem says what the rule
// cannot fix.
func ESName(written string) string {
	return strings.Map(func(c rune) rune {
		switch c {
		case '\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ':':
			return '_'
		}
		if unicode.IsSpace(c) || unicode.IsControl(c) {
			return '_'
		}
		return unicode.ToLower(c)
	}, written)
}

// MaxESNameBytes is the longest name ESName may give: Elasticsearch's 255 bytes less the
// generation suffix of concrete index names ("-g000001").
const MaxESNameBytes = 255 - len("-g000001")

// generationSuffix matches the suffix of a concrete index name ("-g" and at least six
// digits): a name that ends so could be taken for another name's concrete index.
var generationSuffix = regexp.MustCompile(`-g[0-9]{6,}$`)

// ESNameProblem says why a name ESName gave cannot be used, or returns "" when it can.
func ESNameProblem(name string) string {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Sprintf("index name %q is not allowed", name)
	case strings.HasPrefix(name, "-") || strings.HasPrefix(name, "_") || strings.HasPrefix(name, "+"):
		return fmt.Sprintf("index name %q starts with %q, which Elasticsearch refuses", name, name[:1])
	case strings.HasPrefix(name, "."):
		return fmt.Sprintf("index name %q starts with '.', which Elasticsearch keeps for hidden and system indexes", name)
	case len(name) > MaxESNameBytes:
		return fmt.Sprintf("index name %q has %d bytes, more than the %d allowed (255 less the generation suffix)", name, len(name), MaxESNameBytes)
	case generationSuffix.MatchString(name):
		return fmt.Sprintf("index name %q ends like a concrete index of another table (-g and six digits)", name)
	}
	return ""
}

// ESCollisions returns, for every index name ESName gives to tables whose written names
// differ (only in case, or in characters the rule replaces), the tables that would share
// it by accident: "Users" and "users" would overwrite each other's documents. Tables
// whose rule names one index on purpose (the same written name) are no collision. tables
// are "db.table" names of selected tables.
func (s *Set) ESCollisions(tables []string) map[string][]string {
	written := map[string]map[string]bool{}
	members := map[string][]string{}
	for _, n := range tables {
		db, tb, _ := strings.Cut(n, ".")
		rt := s.For(db, tb)
		if rt == nil {
			continue
		}
		name := rt.ESIndex()
		if written[name] == nil {
			written[name] = map[string]bool{}
		}
		written[name][rt.ESIndexWritten()] = true
		members[name] = append(members[name], n)
	}
	out := map[string][]string{}
	for name, w := range written {
		if len(w) > 1 {
			out[name] = members[name]
		}
	}
	return out
}

// PGCollisions returns, for every PostgreSQL table ("schema.table") that several of
// tables (selected "db.table" names) would be written to without being the shards of one
// fan-in rule, those tables: "shop_*.orders" into "all.*" sends every shard's orders to
// all.orders under the same keys, so their rows would overwrite each other.
func (s *Set) PGCollisions(tables []string) map[string][]string {
	members := map[string][]string{}
	rules := map[string]map[*rule]bool{}
	fanIn := map[string]bool{}
	for _, n := range tables {
		db, tb, _ := strings.Cut(n, ".")
		rt := s.For(db, tb)
		if rt == nil {
			continue
		}
		sc, t := rt.PGTarget()
		name := sc + "." + t
		members[name] = append(members[name], n)
		if rules[name] == nil {
			rules[name] = map[*rule]bool{}
			fanIn[name] = true
		}
		rules[name][rt.rule] = true
		fanIn[name] = fanIn[name] && rt.FanIn() != ""
	}
	out := map[string][]string{}
	for name, m := range members {
		if len(m) > 1 && !(fanIn[name] && len(rules[name]) == 1) {
			out[name] = m
		}
	}
	return out
}

// TargetName names the destination in the configured target, for messages:
// "schema.table" for PostgreSQL, the index for Elasticsearch.
func (r *Route) TargetName() string {
	if r.set.target == config.TargetPostgres {
		s, n := r.PGTarget()
		return s + "." + n
	}
	return r.ESIndex()
}
