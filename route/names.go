package route

import (
	"strings"

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

// ESIndex returns the Elasticsearch index of the route: by default "{db}.{table}",
// lower-cased, as index names must be lower case.
func (r *Route) ESIndex() string {
	t := r.rule.target
	if t == "" {
		t = "{db}.{table}"
	}
	return strings.ToLower(strings.NewReplacer("{db}", r.db, "{table}", r.table).Replace(t))
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
