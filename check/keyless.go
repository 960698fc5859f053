package check

import (
	"strings"

	"github.com/replicator/replicator/finding"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// keyless reports a table without a primary key and without a configured key, which the
// PostgreSQL target replicates by full-row match: every streamed update or delete finds
// its row by all its replicated columns, a scan of the target table unless keyless_index
// names columns to index. It returns false (nothing reported) for a table with a key.
func keyless(r *finding.Report, name string, t *schema.Table, rt *route.Route) bool {
	if len(t.Key) > 0 {
		return false
	}
	tname := t.QualifiedName()
	if rt != nil && len(rt.KeylessIndex()) > 0 {
		r.Finding(finding.Pass, name, "source.keyless", tname, tname+" (keyless_index: "+strings.Join(rt.KeylessIndex(), ", ")+")",
			"no primary key: replicated by full-row match; each streamed update or delete finds one row with all its columns equal, through the keyless_index", "")
		return true
	}
	r.Finding(finding.Warn, name, "source.keyless", tname, tname,
		"no primary key: replicated by full-row match (duplicate rows stay apart); each streamed update or delete scans the target table for one row with all its columns equal",
		"add a primary key, or set key = [\"col\", ...] (unique NOT NULL columns) or keyless_index = [\"col\", ...] (selective columns to index in the target) in its [[tables]] rule")
	return true
}
