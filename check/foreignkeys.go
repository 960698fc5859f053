package check

import (
	"fmt"
	"strings"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/finding"
	"github.com/replicator/replicator/schema"
)

// foreignKeys reports foreign keys whose actions change rows without a binary log event:
// InnoDB applies ON DELETE/UPDATE CASCADE and SET NULL inside the storage engine, so the
// binary log holds the change of the referenced (parent) row only. The PostgreSQL target
// and the Elasticsearch target apply the tracked actions themselves when the parent is
// replicated too (schema.FKGraph), so that case is a passing line saying so; a parent
// left out of the selection is a warning with what happens, and so, with Elasticsearch, is
// an action it cannot apply (a cascaded change of a document id, SET DEFAULT), which stops
// the stream.
func foreignKeys(r *finding.Report, name string, t *schema.Table, cfg *config.Config, replicated map[string]bool) {
	tname := t.QualifiedName()
	type group struct{ applied, unselected, es []string }
	var g group
	for _, fk := range t.ForeignKeys {
		var acts []string
		if a := strings.ToUpper(fk.OnDelete); !logged(a) {
			acts = append(acts, "ON DELETE "+a)
		}
		if a := strings.ToUpper(fk.OnUpdate); !logged(a) {
			acts = append(acts, "ON UPDATE "+a)
		}
		if len(acts) == 0 {
			continue
		}
		ref := fk.RefSchema
		if ref == "" {
			ref = t.Schema
		}
		ref += "." + fk.RefTable
		desc := fmt.Sprintf("%s %s to %s", fk.Name, strings.Join(acts, ", "), fk.RefTable)
		switch {
		case cfg.Target.Type != config.TargetPostgres && !esApplies(t, fk):
			g.es = append(g.es, desc)
		case !replicated[strings.ToLower(ref)]:
			g.unselected = append(g.unselected, fmt.Sprintf("%s %s to %s (not replicated)", fk.Name, strings.Join(acts, ", "), ref))
		default:
			g.applied = append(g.applied, desc)
		}
	}
	if len(g.applied) > 0 {
		r.Finding(finding.Pass, name, "source.foreign_keys", tname, tname+" ("+strings.Join(g.applied, "; ")+")",
			"foreign key actions InnoDB does not write to the binary log; the referenced tables are replicated, so the stream applies these actions "+
				"to the target in the transaction of the parent's delete or key change", "")
	}
	if len(g.unselected) > 0 {
		r.Finding(finding.Warn, name, "source.foreign_keys", tname, tname+" ("+strings.Join(g.unselected, "; ")+")",
			"InnoDB applies these foreign key actions without writing them to the binary log, and the referenced tables are not replicated, "+
				"so after a delete or key change there the target keeps these rows as they were; replicator verify lists them",
			"add the referenced tables to the [[tables]] rules: the stream then applies the actions")
	}
	if len(g.es) > 0 {
		r.Finding(finding.Warn, name, "source.foreign_keys", tname, tname+" ("+strings.Join(g.es, "; ")+")",
			"InnoDB applies these foreign key actions to the referencing rows without writing them to the binary log, and Elasticsearch cannot apply them "+
				"(a cascaded change of a column of the document id, the table's key, or SET DEFAULT): the stream stops at such a change with an error",
			"declare the foreign keys ON UPDATE RESTRICT (or RESTRICT) and have the application make those changes, or replicate into PostgreSQL")
	}
}

// logged reports a foreign key action that changes no referencing row (the only ones a
// binary log does not miss).
func logged(action string) bool {
	switch action {
	case "", "RESTRICT", "NO ACTION":
		return true
	}
	return false
}

// esApplies reports whether the Elasticsearch target applies fk's actions: it rewrites
// documents found by their foreign key fields, so it cannot change their _id (a key column
// changed by ON UPDATE CASCADE / SET NULL, or by ON DELETE SET NULL) nor apply SET DEFAULT.
func esApplies(t *schema.Table, fk schema.ForeignKey) bool {
	del, upd := strings.ToUpper(fk.OnDelete), strings.ToUpper(fk.OnUpdate)
	if del == "SET DEFAULT" || upd == "SET DEFAULT" {
		return false
	}
	changesRow := del == "SET NULL" || upd == "CASCADE" || upd == "SET NULL"
	if !changesRow {
		return true
	}
	for _, c := range fk.Columns {
		for _, k := range t.KeyNames() {
			if strings.EqualFold(c, k) {
				return false
			}
		}
	}
	return true
}
