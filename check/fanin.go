package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/replicator/replicator/applier/elastic/esdoc"
	"github.com/replicator/replicator/applier/postgres/pgvalue"
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/finding"
	"github.com/replicator/replicator/mapping"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// fanInCheck compares the source tables merged into each fan-in target (route.Route.FanIn)
// with the first of them, as the snapshot will, and reports the fan-in per target.
type fanInCheck struct {
	typeOf  route.TypeOf             // what the target holds of a column: alike in every source table
	keyWord string                   // what the source column leads: the primary key, the _id
	first   map[string]*schema.Table // target -> its first source table
	members map[string][]string      // target -> its source tables, as checked
	column  map[string]string        // target -> its source column
	refused map[string]bool          // target -> a source table was refused
}

func newFanInCheck(cfg *config.Config) *fanInCheck {
	pol := mapping.NewPolicy(cfg.Mapping)
	typeOf, keyWord := func(c *schema.Column) (string, error) { return pgvalue.Type(pol, c) }, "primary key"
	if cfg.Target.Type == config.TargetElasticsearch {
		keyWord = "document _id ([\"db.table\", key...])"
		// The field mapping; without the cluster's unsigned_long (which only BIGINT
		// UNSIGNED columns would differ by) as the same for every table.
		typeOf = func(c *schema.Column) (string, error) { return esdoc.FieldShape(pol, c, esdoc.Options{}) }
	}
	return &fanInCheck{typeOf: typeOf, keyWord: keyWord,
		first: map[string]*schema.Table{}, members: map[string][]string{}, column: map[string]string{}, refused: map[string]bool{}}
}

// add checks table t of a fan-in rule against the first source table of its target; it
// reports false (with a failure) when the target could not hold both.
func (f *fanInCheck) add(r *finding.Report, name, tname string, t *schema.Table, rt *route.Route) bool {
	if rt.FanIn() == "" {
		return true
	}
	target := rt.TargetName()
	f.column[target] = rt.FanIn()
	first, ok := f.first[target]
	if !ok {
		f.first[target] = t
		f.members[target] = append(f.members[target], tname)
		return true
	}
	if err := rt.SameShape(first, t, f.typeOf); err != nil {
		f.refused[target] = true
		r.Add(finding.Result{Name: name, Table: tname, Status: finding.Fail, Detail: err.Error(),
			Fix: fmt.Sprintf("make %s like %s, leave the differing columns out (tables[%d].exclude_columns), or give it a [[tables]] rule of its own before tables[%d]", tname, first.QualifiedName(), rt.Index(), rt.Index())})
		return false
	}
	f.members[target] = append(f.members[target], tname)
	return true
}

// report adds one line per fan-in target: the source tables merged into it.
func (f *fanInCheck) report(r *finding.Report) {
	targets := make([]string, 0, len(f.members))
	for t := range f.members {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	for _, t := range targets {
		if f.refused[t] {
			continue
		}
		m := f.members[t]
		r.Passf("target.fan_in."+t, "fan-in into %s: %d source tables (%s), told apart by %s = \"db.table\", which leads its %s", t, len(m), strings.Join(m, ", "), f.column[t], f.keyWord)
	}
}
