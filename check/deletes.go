package check

import (
	"fmt"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/finding"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// deleteMode checks a table against its rule's delete mode (deletes = "...": a key is
// needed to keep deleted rows, and no source column may be named like a marker) and
// returns the text check shows for the table.
func deleteMode(r *finding.Report, name, tname string, t *schema.Table, rt *route.Route) (string, bool) {
	m := rt.Deletes()
	if m == config.DeletesHard {
		return "", true
	}
	if _, err := rt.Columns(t); err != nil {
		r.Add(finding.Result{Name: name, Table: tname, Status: finding.Fail, Detail: err.Error(),
			Fix: fmt.Sprintf("fix the table or tables[%d].deletes", rt.Index())})
		return "", false
	}
	if m == config.DeletesSoft {
		return fmt.Sprintf(", deletes: soft (rows kept, marked in %s, %s)", config.MarkerDeleted, config.MarkerDeletedAt), true
	}
	return ", deletes: ignore (rows kept as last written)", true
}

// transforms checks that a table fits its rule's column transforms (rename, hash,
// metadata: the columns exist, no name collides) and returns the text check shows for the
// table (", transforms: rename email -> contact_email; hash phone (...)").
func transforms(r *finding.Report, name, tname string, t *schema.Table, rt *route.Route) (string, bool) {
	tr := rt.Transforms()
	if tr == nil {
		return "", true
	}
	if _, err := rt.View(t); err != nil {
		fix := fmt.Sprintf("fix the table or tables[%d].rename / hash / metadata", rt.Index())
		if rt.FanIn() != "" {
			fix = fmt.Sprintf("fix the table or tables[%d].key / source_column / rename / hash / metadata", rt.Index())
		}
		r.Add(finding.Result{Name: name, Table: tname, Status: finding.Fail, Detail: err.Error(), Fix: fix})
		return "", false
	}
	return ", transforms: " + tr.Describe(), true
}
