package pipeline

import (
	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/route"
	"github.com/replicator/replicator/schema"
)

// deleteModeOf returns the fold's lookup of a table's delete mode (deletes = "...") in
// routes; a table no rule selects deletes hard. It is asked only for a deleted key (a
// DELETE, an UPDATE that moves a key), and the rule lookup is a match over the rules, so
// it keeps no cache: the batcher and the worker's XA resolution share it without a lock.
func deleteModeOf(routes *route.Set) func(*schema.Table) config.DeleteMode {
	return func(t *schema.Table) config.DeleteMode {
		if routes == nil || t == nil {
			return config.DeletesHard
		}
		if rt := routes.For(t.Schema, t.Name); rt != nil {
			return rt.Deletes()
		}
		return config.DeletesHard
	}
}
