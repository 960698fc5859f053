package mapping

import (
	"strings"

	"github.com/replicator/replicator/config"
)

// PGTarget returns the PostgreSQL schema and table for source table db.table under rule.
// The default is the same schema and table name; "{db}" and "{table}" in the rule's target
// are replaced, and a target table of "*" keeps the source name.
func PGTarget(rule *config.TableRule, db, table string) (string, string) {
	t := rule.Target
	if t == "" {
		t = "{db}.{table}"
	}
	schema, name, _ := strings.Cut(t, ".")
	if name == "*" {
		name = "{table}"
	}
	r := strings.NewReplacer("{db}", db, "{table}", table)
	return r.Replace(schema), r.Replace(name)
}

// ESIndex returns the Elasticsearch index for db.table under rule: by default
// "{db}.{table}" lower-cased, as index names must be lower case.
func ESIndex(rule *config.TableRule, db, table string) string {
	t := rule.Target
	if t == "" {
		t = "{db}.{table}"
	}
	return strings.ToLower(strings.NewReplacer("{db}", db, "{table}", table).Replace(t))
}
